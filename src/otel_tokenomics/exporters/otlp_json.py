"""OTLP/JSON encoding of SDK spans, byte-compatible with the OpenTelemetry Collector's `file` exporter.

Why a hand-written encoder: the protobuf `json_format` path renders `traceId`/`spanId` as base64 (the generic
proto3 mapping for `bytes`), whereas the OTLP/JSON spec requires lowercase hex; it is also several times
slower than building plain dicts. The shape follows the Collector's `pdata` JSON marshaler, so a file we
write and a file the Collector writes can be read by the same tools:

* lowerCamelCase field names; ids as lowercase hex; 64-bit integers (`*UnixNano`, `intValue`) as JSON
  strings; enums (`kind`, `status.code`) as integers;
* zero values (empty lists, zero dropped counts, empty strings) are omitted, except `status`, which the
  Collector always writes (`{}` when unset);
* non-finite doubles are written as the proto3 JSON strings `"NaN"`, `"Infinity"`, `"-Infinity"` because
  bare `NaN` is not JSON.

`JsonLinesSpanExporter` writes one `ExportTraceServiceRequest` object per line, one line per `export()`
batch, which is exactly the Collector file exporter's format.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode

__all__ = [
    "JsonLinesSpanExporter",
    "encode_any_value",
    "encode_attributes",
    "encode_spans",
    "encode_spans_json",
]

_logger = logging.getLogger(__name__)

# SDK SpanKind values start at INTERNAL=0; OTLP reserves 0 for UNSPECIFIED, so every kind shifts by one.
_KIND = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
_STATUS = {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}

# SpanFlags (trace.proto): bits 0-7 are the W3C trace flags, bit 8 says whether bit 9 (parent is remote)
# is known. The Python OTLP exporter sets only bits 8-9; we also carry the trace flags as the spec intends.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200

_JSON_SEPARATORS = (",", ":")

_ScopeKey = tuple[str, str, str]


def encode_any_value(value: Any) -> dict[str, Any]:
    """Encode one attribute value as an OTLP `AnyValue` JSON object.

    `bool` is tested before `int` because it is a subclass. `None` (allowed inside SDK sequences) becomes
    the empty `AnyValue` `{}`, as in the protobuf encoding.
    """
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        if math.isfinite(value):
            return {"doubleValue": value}
        return {"doubleValue": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if value is None:
        return {}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": encode_attributes(value)}}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [encode_any_value(item) for item in value]}}
    # Not a valid attribute type; the SDK normally rejects these earlier. Keep the data rather than fail.
    return {"stringValue": str(value)}


def encode_attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Encode an attribute mapping as a list of OTLP `KeyValue` JSON objects (order preserved)."""
    if not attributes:
        return []
    return [{"key": str(key), "value": encode_any_value(value)} for key, value in attributes.items()]


def _flags(trace_flags: int, parent: SpanContext | None) -> int:
    flags = (int(trace_flags) & 0xFF) | _HAS_IS_REMOTE
    if parent is not None and parent.is_remote:
        flags |= _IS_REMOTE
    return flags


def _trace_state(context: SpanContext) -> str:
    state = context.trace_state
    return state.to_header() if state else ""


def _encode_status(status: Status | None) -> dict[str, Any]:
    if status is None:
        return {}
    out: dict[str, Any] = {}
    if status.description:
        out["message"] = status.description
    code = _STATUS.get(status.status_code, 0)
    if code:
        out["code"] = code
    return out


def _encode_event(event: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": str(event.timestamp or 0), "name": event.name}
    if event.attributes:
        out["attributes"] = encode_attributes(event.attributes)
    dropped = getattr(event, "dropped_attributes", 0)
    if dropped:
        out["droppedAttributesCount"] = dropped
    return out


def _encode_link(link: Link) -> dict[str, Any]:
    context = link.context
    out: dict[str, Any] = {
        "traceId": format(context.trace_id, "032x"),
        "spanId": format(context.span_id, "016x"),
    }
    trace_state = _trace_state(context)
    if trace_state:
        out["traceState"] = trace_state
    if link.attributes:
        out["attributes"] = encode_attributes(link.attributes)
    dropped = getattr(link, "dropped_attributes", 0)
    if dropped:
        out["droppedAttributesCount"] = dropped
    out["flags"] = _flags(context.trace_flags, context)
    return out


def _encode_span(span: ReadableSpan) -> dict[str, Any]:
    """Encode one span; field order follows the Collector's marshaler so diffs against its files are clean."""
    context = span.context
    parent = span.parent
    out: dict[str, Any] = {
        "traceId": format(context.trace_id, "032x"),
        "spanId": format(context.span_id, "016x"),
    }
    trace_state = _trace_state(context)
    if trace_state:
        out["traceState"] = trace_state
    if parent is not None:
        out["parentSpanId"] = format(parent.span_id, "016x")
    out["flags"] = _flags(context.trace_flags, parent)
    out["name"] = span.name
    out["kind"] = _KIND.get(span.kind, 0)
    out["startTimeUnixNano"] = str(span.start_time or 0)
    out["endTimeUnixNano"] = str(span.end_time or 0)
    attributes = span.attributes
    if attributes:
        out["attributes"] = encode_attributes(attributes)
    if span.dropped_attributes:
        out["droppedAttributesCount"] = span.dropped_attributes
    events = span.events
    if events:
        out["events"] = [_encode_event(event) for event in events]
    if span.dropped_events:
        out["droppedEventsCount"] = span.dropped_events
    links = span.links
    if links:
        out["links"] = [_encode_link(link) for link in links]
    if span.dropped_links:
        out["droppedLinksCount"] = span.dropped_links
    out["status"] = _encode_status(span.status)
    return out


def _encode_resource(resource: Resource | None) -> dict[str, Any]:
    if resource is None or not resource.attributes:
        return {}
    return {"attributes": encode_attributes(resource.attributes)}


def _encode_scope(scope: InstrumentationScope | None) -> dict[str, Any]:
    if scope is None:
        return {}
    out: dict[str, Any] = {}
    if scope.name:
        out["name"] = scope.name
    if scope.version:
        out["version"] = scope.version
    scope_attributes = getattr(scope, "attributes", None)
    if scope_attributes:
        out["attributes"] = encode_attributes(scope_attributes)
    return out


def encode_spans(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """Encode spans as one `ExportTraceServiceRequest` JSON object (plain dicts, ready for `json.dumps`).

    Spans are grouped by resource, then by instrumentation scope, keeping first-seen order. Resources are
    grouped by identity, not equality: a `TracerProvider` hands the same `Resource` object to every span, and
    hashing a resource means serialising its attributes, which would dominate the cost of a small batch.
    """
    groups: dict[int, tuple[Resource | None, dict[_ScopeKey, tuple[InstrumentationScope | None, list[Any]]]]]
    groups = {}
    for span in spans:
        resource = span.resource
        entry = groups.get(id(resource))
        if entry is None:
            entry = groups[id(resource)] = (resource, {})
        scope = span.instrumentation_scope
        scope_key = (scope.name or "", scope.version or "", scope.schema_url or "") if scope else ("", "", "")
        bucket = entry[1].get(scope_key)
        if bucket is None:
            bucket = entry[1][scope_key] = (scope, [])
        bucket[1].append(_encode_span(span))

    resource_spans = []
    for resource, scopes in groups.values():
        scope_spans = []
        for (_name, _version, scope_schema_url), (scope, encoded) in scopes.items():
            scope_entry: dict[str, Any] = {"scope": _encode_scope(scope), "spans": encoded}
            if scope_schema_url:
                scope_entry["schemaUrl"] = scope_schema_url
            scope_spans.append(scope_entry)
        resource_entry: dict[str, Any] = {"resource": _encode_resource(resource), "scopeSpans": scope_spans}
        if resource is not None and resource.schema_url:
            resource_entry["schemaUrl"] = resource.schema_url
        resource_spans.append(resource_entry)
    return {"resourceSpans": resource_spans}


def encode_spans_json(spans: Sequence[ReadableSpan]) -> str:
    """Encode spans as one compact OTLP/JSON line (no trailing newline)."""
    return json.dumps(encode_spans(spans), separators=_JSON_SEPARATORS, ensure_ascii=False)


class JsonLinesSpanExporter(SpanExporter):
    """Append each exported batch as one OTLP/JSON line, like the Collector's `file` exporter.

    `path_or_textio` is a path (opened lazily in append mode, UTF-8, and closed by `shutdown()`) or an
    already open text stream (flushed but never closed: the caller owns it). Opening lazily means a bad path
    fails exports, reported as `FAILURE` and logged, instead of crashing the application at start-up; the
    exporter retries the open on the next batch. A lock serialises writes so a `BatchSpanProcessor` worker
    and a `force_flush()` from another thread never interleave half-lines.
    """

    def __init__(self, path_or_textio: str | os.PathLike[str] | IO[str]) -> None:
        self._lock = threading.Lock()
        self._shutdown = False
        if isinstance(path_or_textio, str | os.PathLike):
            self._path: str | None = os.fspath(path_or_textio)
            self._stream: IO[str] | None = None
            self._owns_stream = True
        else:
            self._path = None
            self._stream = path_or_textio
            self._owns_stream = False

    def _ensure_stream(self) -> IO[str]:
        if self._stream is None:
            assert self._path is not None
            self._stream = open(self._path, "a", encoding="utf-8")  # noqa: SIM115 - closed in shutdown()
        return self._stream

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Write `spans` as one line and flush; never raises."""
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            line = encode_spans_json(spans) + "\n"
        except Exception:  # a broken span must not take the application down
            _logger.exception("cannot encode %d span(s) as OTLP/JSON", len(spans))
            return SpanExportResult.FAILURE
        with self._lock:
            if self._shutdown:
                _logger.warning("JsonLinesSpanExporter: export called after shutdown")
                return SpanExportResult.FAILURE
            try:
                stream = self._ensure_stream()
                stream.write(line)
                stream.flush()
            except (OSError, ValueError) as error:  # ValueError: I/O on a closed stream
                _logger.warning(
                    "cannot write %d span(s) to %s: %s", len(spans), self._path or "stream", error
                )
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Every batch is already flushed; flush again in case the caller shares the stream."""
        with self._lock:
            if self._stream is None:
                return True
            try:
                self._stream.flush()
            except (OSError, ValueError):
                return False
        return True

    def shutdown(self) -> None:
        """Close the file if we opened it; later exports fail. Idempotent."""
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
            stream, self._stream = self._stream, None
            if stream is None:
                return
            try:
                if self._owns_stream:
                    stream.close()
                else:
                    stream.flush()
            except (OSError, ValueError) as error:
                _logger.warning("error closing %s: %s", self._path or "stream", error)
