"""The per-trace roll-up stage behind Rotel: an OTLP/HTTP receiver on loopback that holds spans per trace.

Why a separate stage: Rotel's Python processor API is synchronous and edits each batch in place — it has
no timers and cannot hold spans until their trace is complete — so Rotel prices every span (the part that
must scale) and exports to this relay, which groups spans by trace id with `TraceRollup` (wait, bounds,
late and evicted spans counted), puts `tokenomics.trace.*` on each root span, records the
`tokenomics.trace.cost` histogram, and forwards OTLP/HTTP protobuf to the upstream: traces to
`URL/v1/traces`, metrics (Rotel's and ours) to `URL/v1/metrics`, logs to `URL/v1/logs`.

The relay never prices a span itself: it reads back what the Rotel processor wrote (`tokenomics.cost.status`
and the cost/token attributes, via `SpanEnricher`'s already-priced path), so a span the processor rejected
is never counted as a call here. Sending upstream happens on one worker thread with a bounded queue and a
few retries, so Rotel's exporter gets its answer at once; what cannot be delivered is counted and logged.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import logging
import queue
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_tokenomics.processor.enrich import Enrichment, SpanEnricher
from otel_tokenomics.processor.rollup import ReleasedTrace, TraceRollup, TraceTotals
from otel_tokenomics.semconv import attributes as attr

__all__ = ["RelayStats", "TraceRelay", "UpstreamClient", "otlp_base_url"]

_logger = logging.getLogger("otel_tokenomics.collector")

_PROTOBUF = "application/x-protobuf"
_MAX_BODY = 64 * 1024 * 1024
_MAX_SPANS_PER_REQUEST = 4096
_RETRY_DELAYS = (0.25, 1.0, 2.0)
_NOT_A_CALL = Enrichment("skipped", "not_priced_by_processor", {}, None, None, 0, 0, False)
# What the relay reads back from a span the Rotel processor priced.
_READ_BACK = frozenset(
    {
        attr.TOKENOMICS_COST_STATUS,
        attr.GEN_AI_USAGE_COST_AMOUNT,
        attr.GEN_AI_USAGE_COST_CURRENCY,
        attr.GEN_AI_USAGE_INPUT_TOKENS,
        attr.GEN_AI_USAGE_OUTPUT_TOKENS,
    }
)


def otlp_base_url(url: str) -> str:
    """The upstream's base URL: OTLP/HTTP signal paths (`/v1/traces`, ...) are appended to it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"upstream URL must be http(s)://host[:port][/path], got {url!r}")
    path = parts.path.rstrip("/")
    for signal in ("/v1/traces", "/v1/metrics", "/v1/logs"):
        if path.endswith(signal):
            path = path[: -len(signal)]
    return f"{parts.scheme}://{parts.netloc}{path}"


@dataclass
class RelayStats:
    """What went through the relay; `dropped_*` are never silent (also logged)."""

    received_requests: int = 0
    received_spans: int = 0
    bad_requests: int = 0
    forwarded_spans: int = 0
    forwarded_requests: int = 0
    dropped_requests: int = 0
    dropped_spans: int = 0
    passthrough_requests: int = 0
    rejected_reasons: dict[str, int] = field(default_factory=dict)


class UpstreamClient:
    """POSTs OTLP/HTTP bodies to the upstream from one worker thread (order kept, keep-alive connection)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        max_queue: int = 4096,
        gzip_level: int = 1,
        retry_delays: tuple[float, ...] = _RETRY_DELAYS,
    ) -> None:
        self.base_url = otlp_base_url(base_url)
        self._retry_delays = retry_delays
        parts = urlsplit(self.base_url)
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._prefix = parts.path
        self._timeout = timeout
        self._gzip_level = gzip_level
        self._queue: queue.Queue[tuple[str, bytes, str | None, int] | None] = queue.Queue(max_queue)
        self._connection: http.client.HTTPConnection | None = None
        self.stats = RelayStats()
        self._stats_lock = threading.Lock()  # submit() runs on the receiver's threads, sending on the worker
        self._errors_logged = 0
        self._thread = threading.Thread(target=self._run, name="otel-tokenomics-upstream", daemon=True)
        self._thread.start()

    def submit(self, path: str, body: bytes, *, encoding: str | None = None, spans: int = 0) -> bool:
        """Queues one request; False (and counted) when the queue is full because the upstream is too slow."""
        if encoding is None and self._gzip_level:
            body, encoding = gzip.compress(body, self._gzip_level), "gzip"
        try:
            self._queue.put_nowait((path, body, encoding, spans))
        except queue.Full:
            self._dropped(spans, "queue_full", f"upstream queue full, {spans} spans dropped")
            return False
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Sends what is queued (up to `timeout`), then stops the worker."""
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)
        if self._connection is not None:
            self._connection.close()

    def _dropped(self, spans: int, reason: str, message: str) -> None:
        with self._stats_lock:
            stats = self.stats
            stats.dropped_requests += 1
            stats.dropped_spans += spans
            stats.rejected_reasons[reason] = stats.rejected_reasons.get(reason, 0) + 1
            self._errors_logged += 1
        if self._errors_logged <= 20:
            _logger.error("otel-tokenomics collector: %s (upstream %s)", message, self.base_url)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            path, body, encoding, spans = item
            try:
                self._send(path, body, encoding, spans)
            except Exception as error:  # the worker must survive anything
                self._dropped(spans, "error", f"could not send {path}: {error!r}")

    def _send(self, path: str, body: bytes, encoding: str | None, spans: int) -> None:
        headers = {"Content-Type": _PROTOBUF}
        if encoding:
            headers["Content-Encoding"] = encoding
        last = ""
        for delay in (*self._retry_delays, None):
            try:
                status = self._post(self._prefix + path, body, headers)
            except (OSError, http.client.HTTPException) as error:
                self._reset()
                last = f"{type(error).__name__}: {error}"
            else:
                if 200 <= status < 300:
                    with self._stats_lock:
                        self.stats.forwarded_requests += 1
                        self.stats.forwarded_spans += spans
                    return
                last = f"HTTP {status}"
                if status not in (408, 429) and status < 500:
                    self._dropped(spans, f"http_{status}", f"upstream refused {path} with HTTP {status}")
                    return
            if delay is None:
                break
            time.sleep(delay)
        tries = len(self._retry_delays) + 1
        self._dropped(spans, "unreachable", f"giving up on {path} after {tries} tries ({last})")

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self._connection is None:
            factory = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = factory(self._netloc, timeout=self._timeout)
        self._connection.request("POST", path, body=body, headers=headers)
        response = self._connection.getresponse()
        response.read()
        if response.will_close:
            self._reset()
        return response.status

    def _reset(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _Held:
    """A span waiting for its trace, with the resource and scope it came with (shared, never copied)."""

    __slots__ = ("group", "resource", "scope", "span")

    def __init__(self, group: tuple[bytes, bytes], resource: Any, scope: Any, span: Span) -> None:
        self.group = group
        self.resource = resource
        self.scope = scope
        self.span = span


def _set_attributes(span: Span, values: dict[str, Any]) -> None:
    """Sets (replacing any same-named) attributes on an OTLP protobuf span."""
    kept = [kv for kv in span.attributes if kv.key not in values]
    del span.attributes[:]
    span.attributes.extend(kept)
    for key, value in values.items():
        kv = span.attributes.add(key=key)
        _set_any_value(kv, value)


def _set_any_value(kv: KeyValue, value: Any) -> None:
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    elif isinstance(value, list | tuple):
        array = kv.value.array_value
        for item in value:
            element = array.values.add()
            if isinstance(item, float):
                element.double_value = item
            else:
                element.string_value = str(item)
    else:
        kv.value.string_value = str(value)


def _attach(held: _Held, totals: TraceTotals) -> _Held:
    _set_attributes(held.span, totals.span_attributes())
    return held


def _any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind in ("string_value", "int_value", "double_value", "bool_value") else None


class TraceRelay:
    """The OTLP/HTTP receiver Rotel exports to (see the module docstring). `start()` binds; `port` is the
    bound port (pass 0 for a free one); `stop()` drains every held trace to the upstream."""

    def __init__(
        self,
        upstream: UpstreamClient,
        *,
        rollup_wait_seconds: float,
        max_traces: int,
        max_spans_per_trace: int,
        host: str = "127.0.0.1",
        port: int = 0,
        record_trace_cost: Callable[[float, str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstream = upstream
        self.rollup: TraceRollup[_Held] = TraceRollup(
            _attach,
            wait_seconds=rollup_wait_seconds,
            max_traces=max_traces,
            max_spans_per_trace=max_spans_per_trace,
            clock=clock,
        )
        self._enricher = SpanEnricher()
        self._enricher_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._record_trace_cost = record_trace_cost
        self.stats = upstream.stats
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._poll_interval = min(max(rollup_wait_seconds / 4, 0.05), 0.5)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> TraceRelay:
        for target, name in ((self._server.serve_forever, "serve"), (self._poll_loop, "rollup")):
            thread = threading.Thread(target=target, name=f"otel-tokenomics-relay-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stops receiving, releases every held trace, and waits (up to `timeout`) until it is sent."""
        self._server.shutdown()
        self._server.server_close()
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)
        self._forward(self.rollup.drain())
        self.upstream.close(timeout)

    # --- receiving ------------------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                status, message = relay._receive(self)
                body = ExportTraceServiceResponse().SerializeToString() if status == 200 else message.encode()
                self.send_response(status)
                self.send_header("Content-Type", _PROTOBUF if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def _receive(self, request: BaseHTTPRequestHandler) -> tuple[int, str]:
        length = int(request.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            request.close_connection = True
            return self._bad(413, f"body of {length} bytes is over the {_MAX_BODY}-byte limit")
        body = request.rfile.read(length)
        encoding = (request.headers.get("Content-Encoding") or "").strip().lower() or None
        path = request.path.split("?", 1)[0]
        if path in ("/v1/metrics", "/v1/logs"):
            with self._stats_lock:
                self.stats.passthrough_requests += 1
            self.upstream.submit(path, body, encoding=encoding)
            return 200, ""
        if path != "/v1/traces":
            return self._bad(404, f"unknown path {path}; expected /v1/traces, /v1/metrics or /v1/logs")
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding not in (None, "identity"):
                return self._bad(415, f"unsupported Content-Encoding {encoding!r}")
            export = ExportTraceServiceRequest.FromString(body)
        except (OSError, EOFError, zlib.error, ValueError) as error:
            return self._bad(400, f"not an OTLP ExportTraceServiceRequest: {error}")
        self._take(export)
        return 200, ""

    def _bad(self, status: int, message: str) -> tuple[int, str]:
        with self._stats_lock:
            self.stats.bad_requests += 1
        _logger.error("otel-tokenomics collector relay: %s", message)
        return status, message

    def _take(self, export: ExportTraceServiceRequest) -> None:
        rollup = self.rollup
        passed: list[ReleasedTrace[_Held]] = []
        received = 0
        for resource_spans in export.resource_spans:
            resource = (resource_spans.resource, resource_spans.schema_url)
            resource_key = resource_spans.resource.SerializeToString(deterministic=True)
            for scope_spans in resource_spans.scope_spans:
                scope = (scope_spans.scope, scope_spans.schema_url)
                group = (resource_key + resource_spans.schema_url.encode(),
                         scope_spans.scope.SerializeToString(deterministic=True) + scope_spans.schema_url.encode())
                received += len(scope_spans.spans)
                for span in scope_spans.spans:
                    passed.extend(
                        rollup.add(
                            _Held(group, resource, scope, span),
                            span.trace_id,
                            self._facts(span),
                            is_root=not span.parent_span_id,
                            start_time_unix_nano=span.start_time_unix_nano,
                        )
                    )
        with self._stats_lock:  # handler threads run concurrently; the counts must add up
            self.stats.received_requests += 1
            self.stats.received_spans += received
        if passed:
            self._forward(passed)

    def _facts(self, span: Span) -> Enrichment:
        """The span's cost facts as the Rotel processor wrote them; spans it did not price are not calls."""
        values = {}
        for kv in span.attributes:
            if kv.key in _READ_BACK:
                values[kv.key] = _any_value(kv.value)
        if attr.TOKENOMICS_COST_STATUS not in values:
            return _NOT_A_CALL
        with self._enricher_lock:
            return self._enricher.enrich(values)

    # --- releasing ------------------------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._stopping.wait(self._poll_interval):
            try:
                self._forward(self.rollup.poll())
            except Exception:  # keep releasing whatever happens to one batch
                _logger.exception("otel-tokenomics collector relay: releasing traces failed")

    def _forward(self, released: Iterable[ReleasedTrace[_Held]]) -> None:
        batch: list[_Held] = []
        for trace in released:
            if trace.totals is not None and self._record_trace_cost is not None:
                for currency, amount in trace.totals.amounts.items():
                    self._record_trace_cost(amount, currency)
            batch.extend(trace.spans)
            if len(batch) >= _MAX_SPANS_PER_REQUEST:
                self._send(batch)
                batch = []
        if batch:
            self._send(batch)

    def _send(self, held: list[_Held]) -> None:
        export = ExportTraceServiceRequest()
        resources: dict[bytes, Any] = {}
        scopes: dict[tuple[bytes, bytes], Any] = {}
        for item in held:
            resource_key = item.group[0]
            scope_spans = scopes.get(item.group)
            if scope_spans is None:
                resource_spans = resources.get(resource_key)
                if resource_spans is None:
                    resource_spans = resources[resource_key] = export.resource_spans.add()
                    resource, schema_url = item.resource
                    resource_spans.resource.CopyFrom(resource)
                    resource_spans.schema_url = schema_url
                scope_spans = scopes[item.group] = resource_spans.scope_spans.add()
                scope, schema_url = item.scope
                scope_spans.scope.CopyFrom(scope)
                scope_spans.schema_url = schema_url
            scope_spans.spans.append(item.span)
        self.upstream.submit("/v1/traces", export.SerializeToString(), spans=len(held))
