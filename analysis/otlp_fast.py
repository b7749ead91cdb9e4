"""The fast path of `OtlpReader`: typed msgspec decoding of canonical OTLP/JSON lines.

Why: with the standard `json` module, parsing alone caps the reader near 65k spans/s, before any span is
built. msgspec decodes straight into small typed structs, skips fields nobody reads without building them,
and keeps each span's attribute list as raw bytes (`msgspec.Raw`), so the attributes of a span are only
decoded when someone needs them. A report only needs the attributes of LLM calls (10-20 % of spans), found by
a byte search for `"gen_ai.operation.name"`; the other spans give ids, name and times only.

Only the canonical shape the Collector and our exporter write is handled here (camelCase, hex ids, integers
as strings or numbers, numeric enums). Anything else (snake_case fields, base64 ids, enum names, the pre-1.0
`instrumentationLibrarySpans`, a corrupt line) makes `decode_line` return None and the reader falls back to
its lenient decoder for that line, which also produces the problem messages. Both paths give equal
`SpanRecord`s for the same input; the tests check that.
"""

from __future__ import annotations

from typing import Any

import msgspec

from otel_tokenomics.analysis.otlp_reader import SpanRecord, decode_any_value

__all__ = ["FastDecoder"]

_LLM_KEY = "gen_ai.operation.name"
_LLM_MARKER = b'"gen_ai.operation.name"'
_NO_ATTRIBUTES = msgspec.Raw(b"[]")

_HEX = "0123456789abcdef"

# `gc=False`: these structs live for one line and hold no cycles; tracking them in the garbage collector
# only costs time (a sixth of the decoding time, measured).


class _Status(msgspec.Struct, gc=False):
    code: int = 0
    message: str = ""


class _Span(msgspec.Struct, gc=False):
    # Ids are checked in `_records`, once per line, not with a msgspec `pattern`: the regex cost 60 % of the
    # decoding time.
    traceId: str
    spanId: str
    parentSpanId: str = ""
    name: str = ""
    kind: int = 0
    startTimeUnixNano: int = 0  # `strict=False` accepts the int64-as-string form
    endTimeUnixNano: int = 0
    attributes: msgspec.Raw = _NO_ATTRIBUTES
    status: _Status | None = None


class _AnyValue(msgspec.Struct, gc=False):
    stringValue: str | None = None
    intValue: int | None = None
    doubleValue: float | None = None
    boolValue: bool | None = None
    arrayValue: msgspec.Raw | None = None
    kvlistValue: msgspec.Raw | None = None
    bytesValue: str | None = None


class _KeyValue(msgspec.Struct, gc=False):
    key: str
    value: _AnyValue | None = None


_UNSET = _Status()


class _Scope(msgspec.Struct):
    name: str = ""
    version: str = ""


class _ScopeSpans(msgspec.Struct):
    scope: _Scope | None = None
    spans: list[_Span] = []


class _Resource(msgspec.Struct):
    attributes: msgspec.Raw = _NO_ATTRIBUTES


class _ResourceSpans(msgspec.Struct):
    resource: _Resource | None = None
    scopeSpans: list[_ScopeSpans] = []


class _Request(msgspec.Struct):
    resourceSpans: list[_ResourceSpans] = []


class _NotCanonical(Exception):
    """This line needs the lenient decoder."""


def _nested_value(value: _AnyValue) -> Any:
    """Arrays, maps and bytes are rare: hand them to the lenient `decode_any_value`."""
    if value.arrayValue is not None:
        return decode_any_value({"arrayValue": msgspec.json.decode(value.arrayValue)})
    if value.kvlistValue is not None:
        return decode_any_value({"kvlistValue": msgspec.json.decode(value.kvlistValue)})
    if value.bytesValue is not None:
        return decode_any_value({"bytesValue": value.bytesValue})
    return None


class FastDecoder:
    """Decode one JSON line into `SpanRecord`s, or None when the lenient decoder must handle it.

    `llm_attributes_only=True` leaves `attributes` empty (`{}`) on spans that are not GenAI operations: the
    cost reports never look at them, and skipping them is most of the speed-up.
    """

    def __init__(self, *, llm_attributes_only: bool = False) -> None:
        self._decoder = msgspec.json.Decoder(_Request, strict=False)
        self._attributes = msgspec.json.Decoder(list[_KeyValue], strict=False)
        self._llm_only = llm_attributes_only
        self._resources: dict[bytes, dict[str, Any]] = {}  # the same resource repeats on every line

    def _decode_attributes(self, raw: msgspec.Raw) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in self._attributes.decode(raw):
            value = item.value
            if value is None:
                out[item.key] = None
            elif value.stringValue is not None:
                out[item.key] = value.stringValue
            elif value.intValue is not None:
                out[item.key] = value.intValue
            elif value.doubleValue is not None:
                out[item.key] = value.doubleValue
            elif value.boolValue is not None:
                out[item.key] = value.boolValue
            else:
                out[item.key] = _nested_value(value)
        return out

    def _resource(self, raw: msgspec.Raw) -> dict[str, Any]:
        key = bytes(raw)
        resource = self._resources.get(key)
        if resource is None:
            if len(self._resources) > 1024:  # many distinct resources: stop caching rather than grow
                self._resources.clear()
            resource = self._resources[key] = self._decode_attributes(raw)
        return resource

    def decode_line(
        self, line: bytes, source: str, line_no: int, *, llm_spans_only: bool = False
    ) -> tuple[list[SpanRecord], int] | None:
        """The line's records and its number of spans, or None for the lenient decoder.

        `llm_spans_only=True` builds records only for spans that mark a GenAI operation (for reports that
        read nothing else, like the per-model one); the span count still covers every span.
        """
        try:
            request = self._decoder.decode(line)
            if not request.resourceSpans:
                return None
            return self._records(request, source, line_no, llm_spans_only)
        except (msgspec.DecodeError, msgspec.ValidationError, _NotCanonical, ValueError, TypeError, KeyError):
            return None

    def _records(
        self, request: _Request, source: str, line_no: int, llm_spans_only: bool
    ) -> tuple[list[SpanRecord], int]:
        records: list[SpanRecord] = []
        append = records.append
        record = SpanRecord
        llm_only = self._llm_only or llm_spans_only
        span_count = 0
        decode_attributes = self._decode_attributes
        ids: list[str] = []  # every id of the line, checked for hex digits at once at the end
        last_trace = ""
        for entry in request.resourceSpans:
            if not entry.scopeSpans:
                raise _NotCanonical  # maybe `instrumentationLibrarySpans` or snake_case
            resource = self._resource(entry.resource.attributes) if entry.resource is not None else {}
            for scope_spans in entry.scopeSpans:
                scope = scope_spans.scope
                scope_name = scope.name if scope is not None else ""
                scope_version = scope.version if scope is not None else ""
                spans = scope_spans.spans
                span_count += len(spans)
                for span in spans:
                    trace_id = span.traceId
                    span_id = span.spanId
                    parent = span.parentSpanId
                    if trace_id != last_trace:  # spans of one trace come together
                        if len(trace_id) != 32:
                            raise _NotCanonical
                        ids.append(trace_id)
                        last_trace = trace_id
                    if len(span_id) != 16 or (parent and len(parent) != 16):
                        raise _NotCanonical
                    ids.append(span_id)
                    ids.append(parent)
                    raw = span.attributes
                    if llm_only and _LLM_MARKER not in bytes(raw):
                        if llm_spans_only:
                            continue
                        attributes: dict[str, Any] = {}
                    else:
                        attributes = decode_attributes(raw)
                        if llm_spans_only and _LLM_KEY not in attributes:
                            continue  # the marker was inside a value
                    status = span.status or _UNSET
                    append(
                        record(
                            trace_id,
                            span_id,
                            parent or None,
                            span.name,
                            span.kind,
                            span.startTimeUnixNano,
                            span.endTimeUnixNano,
                            status.code,
                            attributes,
                            resource,
                            scope_name,
                            status.message,
                            scope_version,
                            source,
                            line_no,
                        )
                    )
        # Uppercase or base64 ids go to the lenient decoder, which normalises them. One `strip` over the
        # joined ids is empty exactly when every character is a lowercase hex digit.
        if "".join(ids).strip(_HEX):
            raise _NotCanonical
        return records, span_count
