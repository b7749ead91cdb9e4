"""`otel-tokenomics collector`: a real Rotel agent on loopback, fed by the OTel SDK and by raw OTLP, exporting
to a local OTLP/HTTP receiver standing in for the backend.

What a user checks: every span arrives; LLM spans of three dialects carry the cost computed from the
published rates; each trace's root carries the trace's totals; the per-trace cost histogram arrives; hostile
attribute values neither crash the agent nor lose spans; a bad processor or a busy port is reported clearly.
Expected costs are computed here from the providers' list prices (gpt-4o $2.50/$10 per million input/output
tokens, gpt-4o-mini $0.15/$0.60), not read from our own output.

Runs in `make test` (the `collector` extra is part of `all`); skipped only where the Rotel wheel cannot be
installed (it ships Linux x86_64 wheels only).
"""

from __future__ import annotations

import gzip
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

rotel = pytest.importorskip("rotel", reason="Rotel is not installed (the 'collector' extra; Linux x86_64 only)")

from otel_tokenomics.collector import Collector, CollectorOptions, RotelStartError  # noqa: E402
from otel_tokenomics.collector import rotel as rotel_launcher  # noqa: E402
from otel_tokenomics.collector.relay import TraceRelay, UpstreamClient  # noqa: E402

pytestmark = pytest.mark.rotel

GPT_4O = (2.50e-6, 10.00e-6)  # USD per input token, per output token (OpenAI list price)
GPT_4O_MINI = (0.15e-6, 0.60e-6)
SERVER, CLIENT, INTERNAL = 2, 3, 1


def _cost(rates: tuple[float, float], input_tokens: int, output_tokens: int) -> float:
    return rates[0] * input_tokens + rates[1] * output_tokens


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _plain(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_plain(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


@dataclass
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    scope: str
    service: str
    attributes: dict[str, Any]
    keys: tuple[str, ...] = ()  # every attribute key in wire order (a repeated key shows here only)


@dataclass
class Upstream:
    """The backend: an OTLP/HTTP receiver that decodes what it gets (gzip or not)."""

    spans: list[ReceivedSpan] = field(default_factory=list)
    metrics: list[ExportMetricsServiceRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def wait_for(self, count: int, timeout: float = 30.0) -> list[ReceivedSpan]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.spans) >= count:
                    break
            time.sleep(0.05)
        with self.lock:
            return list(self.spans)

    def metric_points(self, name: str) -> list[Any]:
        points = []
        with self.lock:
            for request in self.metrics:
                for resource_metrics in request.resource_metrics:
                    for scope_metrics in resource_metrics.scope_metrics:
                        for metric in scope_metrics.metrics:
                            if metric.name == name:
                                points.extend(metric.histogram.data_points)
        return points


def _upstream_handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                received = _decode_spans(ExportTraceServiceRequest.FromString(body))
                with upstream.lock:
                    upstream.spans.extend(received)
            elif self.path == "/v1/metrics":
                with upstream.lock:
                    upstream.metrics.append(ExportMetricsServiceRequest.FromString(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _decode_spans(request: ExportTraceServiceRequest) -> list[ReceivedSpan]:
    out = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _plain(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                out.append(
                    ReceivedSpan(
                        span.name,
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.parent_span_id.hex(),
                        scope_spans.scope.name,
                        str(resource.get("service.name")),
                        {kv.key: _plain(kv.value) for kv in span.attributes},
                        tuple(kv.key for kv in span.attributes),
                    )
                )
    return out


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    sink = Upstream()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _upstream_handler(sink))
    server.daemon_threads = True
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sink
    server.shutdown()
    server.server_close()


@pytest.fixture
def start_collector(upstream: Upstream, tmp_path: Path) -> Iterator[Callable[..., Collector]]:
    started: list[Collector] = []

    def start(**overrides: Any) -> Collector:
        options = CollectorOptions(
            upstream=upstream.url,
            grpc_port=_free_port(),
            http_port=_free_port(),
            rollup_wait_seconds=0.5,
            log_file=tmp_path / "rotel.log",
            metrics_interval_seconds=3600,
            stats_interval_seconds=0.5,
        )
        for key, value in overrides.items():
            setattr(options, key, value)
        collector = Collector(options).start()
        started.append(collector)
        return collector

    yield start
    for collector in started:
        collector.stop()


# --- the app side: the OTel SDK over OTLP/HTTP and OTLP/gRPC ----------------------------------------------
LLM_CALLS = {
    # OTel GenAI semantic conventions >= 1.37, as the official openai-v2 instrumentation writes them
    "otel_genai": (
        "opentelemetry.instrumentation.openai_v2",
        "chat gpt-4o",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 200,
        },
        _cost(GPT_4O, 1000, 200),
    ),
    # Traceloop OpenLLMetry
    "openllmetry": (
        "opentelemetry.instrumentation.openai.v1",
        "openai.chat",
        {
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.usage.prompt_tokens": 2000,
            "gen_ai.usage.completion_tokens": 100,
            "llm.usage.total_tokens": 2100,
        },
        _cost(GPT_4O_MINI, 2000, 100),
    ),
    # Arize OpenInference
    "openinference": (
        "openinference.instrumentation.openai",
        "ChatCompletion",
        {
            "openinference.span.kind": "LLM",
            "llm.provider": "openai",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": 500,
            "llm.token_count.completion": 50,
            "llm.token_count.total": 550,
        },
        _cost(GPT_4O_MINI, 500, 50),
    ),
}


def _sdk_provider(exporter: Any, service: str) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _run_app(provider: Any, requests: int) -> list[str]:
    """Each request: a server span, an agent span (not a call), the three LLM calls, an HTTP client call."""
    from opentelemetry.trace import SpanKind

    server = provider.get_tracer("opentelemetry.instrumentation.flask")
    agent = provider.get_tracer("myapp")
    http = provider.get_tracer("opentelemetry.instrumentation.httpx")
    trace_ids = []
    for _ in range(requests):
        with server.start_as_current_span("POST /ask", kind=SpanKind.SERVER) as root:
            trace_ids.append(format(root.get_span_context().trace_id, "032x"))
            with agent.start_as_current_span(
                "invoke_agent helper", attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "h"}
            ):
                for scope, name, attributes, _ in LLM_CALLS.values():
                    with provider.get_tracer(scope).start_as_current_span(name, kind=SpanKind.CLIENT) as span:
                        span.set_attributes(attributes)
            with http.start_as_current_span("GET", kind=SpanKind.CLIENT, attributes={"http.method": "GET"}):
                pass
    provider.force_flush()
    provider.shutdown()
    return trace_ids


SPANS_PER_REQUEST = 1 + 1 + len(LLM_CALLS) + 1
COST_PER_REQUEST = sum(expected for *_, expected in LLM_CALLS.values())


def _check_priced_and_rolled_up(spans: list[ReceivedSpan], trace_ids: list[str]) -> None:
    assert sorted({s.trace_id for s in spans}) == sorted(trace_ids)
    assert len(spans) == len(trace_ids) * SPANS_PER_REQUEST
    for dialect, (scope, _, _, expected) in LLM_CALLS.items():
        calls = [s for s in spans if s.scope == scope]
        assert len(calls) == len(trace_ids), dialect
        for call in calls:
            assert call.attributes["tokenomics.cost.status"] == "priced", (dialect, call.attributes)
            assert call.attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected, rel=1e-9), dialect
            assert call.attributes["gen_ai.usage.cost.currency"] == "USD"
    for span in spans:
        if span.scope in ("myapp", "opentelemetry.instrumentation.flask", "opentelemetry.instrumentation.httpx"):
            assert "gen_ai.usage.cost.amount" not in span.attributes, span.name  # not calls: never priced
    roots = [s for s in spans if not s.parent_span_id]
    assert len(roots) == len(trace_ids)
    for root in roots:
        assert root.name == "POST /ask"
        totals = root.attributes
        assert totals["tokenomics.trace.cost.amount"] == pytest.approx(COST_PER_REQUEST, rel=1e-9)
        assert totals["tokenomics.trace.cost.currency"] == "USD"
        assert totals["tokenomics.trace.llm_calls"] == 3
        assert totals["tokenomics.trace.unpriced_calls"] == 0
        assert totals["tokenomics.trace.input_tokens"] == 1000 + 2000 + 500
        assert totals["tokenomics.trace.output_tokens"] == 200 + 100 + 50
        assert totals["tokenomics.trace.spans"] == SPANS_PER_REQUEST
    children = [s for s in spans if s.parent_span_id]
    assert not any("tokenomics.trace.cost.amount" in s.attributes for s in children)


def test_sdk_app_over_http_three_dialects_priced_and_rolled_up(start_collector, upstream: Upstream) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    collector = start_collector()
    endpoint = f"http://{collector.agent.settings.http_endpoint}/v1/traces"
    trace_ids = _run_app(_sdk_provider(OTLPSpanExporter(endpoint=endpoint), "app-http"), requests=4)

    spans = upstream.wait_for(4 * SPANS_PER_REQUEST)
    _check_priced_and_rolled_up(spans, trace_ids)
    assert {s.service for s in spans} == {"app-http"}

    collector.stop()  # flushes the per-trace cost histogram
    points = upstream.metric_points("tokenomics.trace.cost")
    assert sum(p.count for p in points) == 4
    assert sum(p.sum for p in points) == pytest.approx(4 * COST_PER_REQUEST, rel=1e-9)
    assert {kv.value.string_value for p in points for kv in p.attributes} == {"USD"}


def test_sdk_app_over_grpc_three_dialects_priced_and_rolled_up(start_collector, upstream: Upstream) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    collector = start_collector()
    exporter = OTLPSpanExporter(endpoint=collector.agent.settings.grpc_endpoint, insecure=True)
    trace_ids = _run_app(_sdk_provider(exporter, "app-grpc"), requests=3)

    _check_priced_and_rolled_up(upstream.wait_for(3 * SPANS_PER_REQUEST), trace_ids)


def test_no_rollup_prices_spans_and_exports_straight_upstream(start_collector, upstream: Upstream) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    collector = start_collector(rollup=False)
    assert collector.relay is None
    endpoint = f"http://{collector.agent.settings.http_endpoint}/v1/traces"
    _run_app(_sdk_provider(OTLPSpanExporter(endpoint=endpoint), "app"), requests=2)

    spans = upstream.wait_for(2 * SPANS_PER_REQUEST)
    assert len(spans) == 2 * SPANS_PER_REQUEST
    priced = [s for s in spans if "gen_ai.usage.cost.amount" in s.attributes]
    assert sum(s.attributes["gen_ai.usage.cost.amount"] for s in priced) == pytest.approx(2 * COST_PER_REQUEST)
    assert not any("tokenomics.trace.spans" in s.attributes for s in spans)


# --- raw OTLP: hostile values, load ---------------------------------------------------------------------
def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(_value(v) for v in value)
        return out
    if isinstance(value, dict):
        out = AnyValue()
        for key, item in value.items():
            out.kvlist_value.values.add(key=key).value.CopyFrom(_value(item))
        return out
    return AnyValue(string_value=value)


def _request(spans: list[tuple[bytes, bytes, bytes, str, int, dict[str, Any]]], scope: str = "raw") -> bytes:
    """spans: (trace_id, span_id, parent_id, name, kind, attributes) in one ResourceSpans/ScopeSpans."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name").value.string_value = "raw-app"
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = scope
    for trace_id, span_id, parent, name, kind, attributes in spans:
        span = scope_spans.spans.add(trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=name, kind=kind)
        span.start_time_unix_nano = span.end_time_unix_nano = time.time_ns()
        for key, value in attributes.items():
            span.attributes.add(key=key).value.CopyFrom(_value(value))
    return request.SerializeToString()


def _post(collector: Collector, body: bytes, path: str = "/v1/traces") -> int:
    return _post_to(f"http://{collector.agent.settings.http_endpoint}{path}", body)[0]


def _post_to(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/x-protobuf", **(headers or {})}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


GPT_4O_CALL = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 1000,
    "gen_ai.usage.output_tokens": 200,
}
HOSTILE_ATTRIBUTES = [
    {**GPT_4O_CALL, "gen_ai.usage.input_tokens": "a lot"},
    {**GPT_4O_CALL, "gen_ai.usage.input_tokens": -5},
    {**GPT_4O_CALL, "gen_ai.usage.output_tokens": 2**63 - 1},
    {**GPT_4O_CALL, "gen_ai.usage.output_tokens": math.nan},
    {**GPT_4O_CALL, "gen_ai.usage.input_tokens": math.inf},
    {**GPT_4O_CALL, "gen_ai.usage.input_tokens": [1, 2, 3]},
    {**GPT_4O_CALL, "gen_ai.usage.input_tokens": {"nested": {"deeper": [1.5, "x", b"\x00"]}}},
    {**GPT_4O_CALL, "gen_ai.usage.input_tokens": b"\xff\xfe"},
    {**GPT_4O_CALL, "gen_ai.request.model": "m" * 200_000},
    {**GPT_4O_CALL, "gen_ai.request.model": "\u202e\U0001f4a5\x00 gpt-4o"},
    {**GPT_4O_CALL, "gen_ai.provider.name": 42, "gen_ai.request.model": True},
    {**GPT_4O_CALL, "gen_ai.usage.cost.amount": "free!", "tokenomics.cost.status": 7},
    {**GPT_4O_CALL, "llm.cost.total": -1.0, "openinference.span.kind": ["LLM"]},
    {"gen_ai.": None, "": "", "gen_ai.operation.name": ""},
    {f"gen_ai.k{i}": i for i in range(2000)},
    {**GPT_4O_CALL, "operation.cost": math.inf, "gen_ai.usage.cost": -0.0},
]


def test_hostile_attribute_values_keep_the_agent_up_and_lose_no_span(start_collector, upstream: Upstream) -> None:
    collector = start_collector()
    trace_id = os.urandom(16)
    hostile = [
        (trace_id, os.urandom(8), b"\x01" * 8, f"hostile {i}", CLIENT, attributes)
        for i, attributes in enumerate(HOSTILE_ATTRIBUTES)
    ]
    for chunk in (hostile[:8], hostile[8:]):
        assert _post(collector, _request(chunk)) == 200
    # Not OTLP at all, and OTLP with broken ids: refused by Rotel, which stays up.
    assert _post(collector, b"\x0a\xff\xff\xff\xff garbage") in (400, 415, 422, 500)
    assert _post(collector, _request([(b"\x01", b"\x02", b"", "short ids", CLIENT, GPT_4O_CALL)])) == 200
    # After all that, a normal call in a normal trace is still priced and rolled up.
    normal_trace = os.urandom(16)
    assert _post(collector, _request([(normal_trace, os.urandom(8), b"", "chat gpt-4o", CLIENT, GPT_4O_CALL)])) == 200

    spans = upstream.wait_for(len(HOSTILE_ATTRIBUTES) + 2)
    assert collector.alive(), collector.log_file.read_text()[-2000:]
    assert len(spans) == len(HOSTILE_ATTRIBUTES) + 2
    by_name = {s.name: s for s in spans}
    for i in range(len(HOSTILE_ATTRIBUTES)):
        assert f"hostile {i}" in by_name
    normal = by_name["chat gpt-4o"]
    assert normal.attributes["gen_ai.usage.cost.amount"] == pytest.approx(_cost(GPT_4O, 1000, 200))
    assert normal.attributes["tokenomics.trace.cost.amount"] == pytest.approx(_cost(GPT_4O, 1000, 200))
    # Unusable counts are unpriced and say why, never a silent 0.
    for i in (0, 1, 2, 3, 4):
        attributes = by_name[f"hostile {i}"].attributes
        assert attributes.get("tokenomics.cost.status") == "unpriced", (i, attributes)
        assert attributes.get("tokenomics.cost.unpriced_reason") == "invalid_usage"
        assert "gen_ai.usage.cost.amount" not in attributes
    huge_trace = [s for s in spans if s.trace_id == trace_id.hex()]
    assert len(huge_trace) == len(HOSTILE_ATTRIBUTES)
    assert not any(v == 0 for s in huge_trace for k, v in s.attributes.items() if k == "gen_ai.usage.cost.amount")
    log = collector.log_file.read_text()
    assert "panicked" not in log


COMPACT_COST_KEYS = {
    "gen_ai.usage.cost.amount",
    "gen_ai.usage.cost.currency",
    "gen_ai.usage.cost.source",
    "tokenomics.cost.status",
}


def test_compact_cost_attributes_write_four_keys_with_the_same_amount(start_collector, upstream: Upstream) -> None:
    collector = start_collector(rollup=False, extra_environment={"OTEL_TOKENOMICS_COST_ATTRIBUTES": "compact"})
    call = (os.urandom(16), os.urandom(8), b"", "chat gpt-4o", CLIENT, GPT_4O_CALL)
    assert _post(collector, _request([call])) == 200
    (span,) = upstream.wait_for(1)
    assert set(span.attributes) - set(GPT_4O_CALL) == COMPACT_COST_KEYS
    assert span.attributes["gen_ai.usage.cost.amount"] == pytest.approx(_cost(GPT_4O, 1000, 200))
    assert span.attributes["gen_ai.usage.cost.currency"] == "USD"


def test_unknown_cost_attributes_mode_stops_the_start_and_names_the_variable(start_collector) -> None:
    with pytest.raises(RotelStartError, match="OTEL_TOKENOMICS_COST_ATTRIBUTES: cost_attributes must be one of"):
        start_collector(extra_environment={"OTEL_TOKENOMICS_COST_ATTRIBUTES": "tiny"})


def test_cost_keys_the_span_already_has_are_replaced_never_repeated(start_collector, upstream: Upstream) -> None:
    # Junk under two of our keys: one whose value the processor never reads (cost.source), one it reads but
    # cannot use (an array currency). Both must end up once, with our value.
    junk = {**GPT_4O_CALL, "gen_ai.usage.cost.source": ["x"], "gen_ai.usage.cost.currency": ["EUR"]}
    collector = start_collector(rollup=False)
    assert _post(collector, _request([(os.urandom(16), os.urandom(8), b"", "chat gpt-4o", CLIENT, junk)])) == 200
    (span,) = upstream.wait_for(1)
    assert span.keys.count("gen_ai.usage.cost.source") == 1
    assert span.keys.count("gen_ai.usage.cost.currency") == 1
    assert span.attributes["gen_ai.usage.cost.source"] == "local"
    assert span.attributes["gen_ai.usage.cost.currency"] == "USD"
    assert span.attributes["gen_ai.usage.cost.amount"] == pytest.approx(_cost(GPT_4O, 1000, 200))


def test_stopping_sends_the_traces_still_held(start_collector, upstream: Upstream) -> None:
    collector = start_collector(rollup_wait_seconds=3600)
    trace_id, root = os.urandom(16), os.urandom(8)
    spans = [
        (trace_id, root, b"", "POST /ask", SERVER, {}),
        (trace_id, os.urandom(8), root, "chat gpt-4o", CLIENT, GPT_4O_CALL),
    ]
    assert _post(collector, _request(spans)) == 200
    deadline = time.monotonic() + 30
    while collector.relay.stats.received_spans < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.spans == []  # held: the trace's wait is an hour

    summary = collector.stop()  # Rotel first (it flushes into the relay), then the relay drains

    assert summary["spans_forwarded"] == 2
    by_name = {s.name: s for s in upstream.spans}
    assert by_name["POST /ask"].attributes["tokenomics.trace.cost.amount"] == pytest.approx(_cost(GPT_4O, 1000, 200))
    assert by_name["POST /ask"].attributes["tokenomics.trace.llm_calls"] == 1


def _load_requests(traces: int, spans_per_trace: int, per_request: int) -> tuple[list[bytes], int, float]:
    """Pre-encoded requests: every trace has a root server span and children; every 10th span is a gpt-4o
    call of a known size. Returns the bodies, the number of calls and their total cost."""
    rows: list[tuple[bytes, bytes, bytes, str, int, dict[str, Any]]] = []
    calls = 0
    total = 0.0
    for t in range(traces):
        trace_id = t.to_bytes(4, "big") + os.urandom(12)
        root = os.urandom(8)
        rows.append((trace_id, root, b"", "GET /items", SERVER, {"http.route": "/items", "http.status_code": 200}))
        for s in range(1, spans_per_trace):
            if (t * spans_per_trace + s) % 10 == 0:
                tokens = 100 + s
                attributes = {**GPT_4O_CALL, "gen_ai.usage.input_tokens": tokens, "gen_ai.usage.output_tokens": 10}
                calls += 1
                total += _cost(GPT_4O, tokens, 10)
                rows.append((trace_id, os.urandom(8), root, "chat gpt-4o", CLIENT, attributes))
            else:
                rows.append((trace_id, os.urandom(8), root, "SELECT", CLIENT, {"db.system": "postgresql"}))
    bodies = [_request(rows[i : i + per_request], scope="load") for i in range(0, len(rows), per_request)]
    return bodies, calls, total


def test_load_100k_spans_all_arrive_priced_and_rolled_up(start_collector, upstream: Upstream) -> None:
    traces, per_trace = 10_000, 10
    bodies, calls, total_cost = _load_requests(traces, per_trace, per_request=1000)
    collector = start_collector(max_traces=20_000, rollup_wait_seconds=2.0)

    errors: list[int] = []

    def send(share: list[bytes]) -> None:
        for body in share:
            status = _post(collector, body)
            if status != 200:
                errors.append(status)

    senders = [threading.Thread(target=send, args=(bodies[i::2],)) for i in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    spans = upstream.wait_for(traces * per_trace, timeout=60)

    assert errors == []
    assert collector.alive()
    assert len(spans) == traces * per_trace
    assert len({s.span_id for s in spans}) == traces * per_trace  # every span exactly once
    priced = [s for s in spans if s.attributes.get("tokenomics.cost.status") == "priced"]
    assert len(priced) == calls
    assert sum(s.attributes["gen_ai.usage.cost.amount"] for s in priced) == pytest.approx(total_cost, rel=1e-9)
    # Rotel re-batches spans, so a trace can reach the relay in two parts; a part that comes after its trace
    # was released is passed on at once as a late span (counted, its cost in late_cost), never lost.
    rollup = collector.relay.rollup.stats
    late_spans, late_cost = rollup.late_spans, sum(rollup.late_cost.values())
    carriers = [s for s in spans if "tokenomics.trace.spans" in s.attributes]
    assert len(carriers) == traces  # each trace released once, with its totals on one span
    assert sum(c.attributes["tokenomics.trace.spans"] for c in carriers) + late_spans == traces * per_trace
    rolled_up = sum(c.attributes.get("tokenomics.trace.cost.amount", 0.0) for c in carriers)
    assert rolled_up + late_cost == pytest.approx(total_cost, rel=1e-9)
    roots = [s for s in spans if not s.parent_span_id]
    assert len(roots) == traces
    assert sum("tokenomics.trace.spans" not in r.attributes for r in roots) <= late_spans
    summary = collector.stop()
    assert summary["evicted_traces"] == 0 and summary["spans_dropped"] == 0


# --- failure modes ------------------------------------------------------------------------------------------
def test_missing_processor_file_is_reported(start_collector, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "processor.py"
    with pytest.raises(RotelStartError, match=r"processor file .*nowhere/processor.py does not exist"):
        start_collector(processor=missing)


def test_processor_with_syntax_error_is_reported_with_the_log(start_collector, tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def process_spans(resource_spans)\n    pass\n")
    with pytest.raises(RotelStartError) as raised:
        start_collector(processor=broken)
    message = str(raised.value)
    assert "Rotel failed to start" in message
    assert str(tmp_path / "rotel.log") in message
    assert "syntax error" in message or "exited early" in message


def test_processor_that_cannot_import_our_package_is_reported(start_collector) -> None:
    with pytest.raises(RotelStartError, match="pricing processor failed to load: ModuleNotFoundError"):
        start_collector(extra_environment={rotel_launcher.SITE_ENV: "/nonexistent"})


def test_port_in_use_is_reported(start_collector) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RotelStartError, match=f"OTLP gRPC port 127.0.0.1:{port} is already in use"):
            start_collector(grpc_port=port)


def test_failed_start_leaves_nothing_running(start_collector, upstream: Upstream) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        options = CollectorOptions(upstream=upstream.url, grpc_port=_free_port(), http_port=busy.getsockname()[1])
        collector = Collector(options)
        with pytest.raises(RotelStartError, match="HTTP port"):
            collector.start()
    assert collector.agent is None or not collector.agent.alive()
    assert collector.relay is None


def test_missing_libpython_is_explained() -> None:
    settings = rotel_launcher.RotelSettings()
    log = "rotel-agent: error while loading shared libraries: libpython3.11.so.1.0: cannot open shared object file"
    assert "install Debian's libpython3.11" in rotel_launcher._explain(log, settings, 127)


def test_missing_rotel_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rotel_launcher.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RotelStartError, match=r"pip install 'otel-tokenomics\[collector\]'"):
        rotel_launcher.agent_binary()


# --- the relay on its own ----------------------------------------------------------------------------------
@pytest.fixture
def relay(upstream: Upstream) -> Iterator[TraceRelay]:
    relay = TraceRelay(UpstreamClient(upstream.url), rollup_wait_seconds=0.1, max_traces=10, max_spans_per_trace=10)
    yield relay.start()
    relay.stop()


def test_relay_refuses_what_is_not_otlp_and_says_why(relay: TraceRelay) -> None:
    status, message = _post_to(f"{relay.endpoint}/v1/traces", b"\x0a\xff\xff\xff\xff", {"Content-Encoding": "gzip"})
    assert status == 400 and "not an OTLP ExportTraceServiceRequest" in message
    status, message = _post_to(f"{relay.endpoint}/v1/spans", b"")
    assert status == 404 and "expected /v1/traces, /v1/metrics or /v1/logs" in message
    assert relay.stats.bad_requests == 2


def test_relay_passes_metrics_through(relay: TraceRelay, upstream: Upstream) -> None:
    request = ExportMetricsServiceRequest()
    request.resource_metrics.add().scope_metrics.add().metrics.add(name="app.requests")
    body = gzip.compress(request.SerializeToString())
    assert _post_to(f"{relay.endpoint}/v1/metrics", body, {"Content-Encoding": "gzip"})[0] == 200
    deadline = time.monotonic() + 30
    while not upstream.metrics and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.metrics == [request]


def test_unreachable_upstream_is_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    client = UpstreamClient(f"http://127.0.0.1:{_free_port()}", retry_delays=(0.0,))
    client.submit("/v1/traces", b"spans", spans=7)
    client.close()
    assert client.stats.dropped_spans == 7 and client.stats.forwarded_spans == 0
    assert "giving up on /v1/traces after 2 tries" in caplog.text


# --- the command ----------------------------------------------------------------------------------------------
def test_cli_runs_until_sigterm_and_reports(upstream: Upstream, tmp_path: Path) -> None:
    grpc_port, http_port = _free_port(), _free_port()
    command = [
        sys.executable, "-m", "otel_tokenomics", "collector", "--upstream", upstream.url,
        "--grpc-port", str(grpc_port), "--http-port", str(http_port), "--rollup-wait", "0.2",
        "--log-file", str(tmp_path / "cli-rotel.log"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline() if process.stdout else ""
        assert "Rotel running" in banner, process.stderr.read() if process.stderr else ""
        trace_id = os.urandom(16)
        body = _request([(trace_id, os.urandom(8), b"", "chat gpt-4o", CLIENT, GPT_4O_CALL)])
        assert _post_to(f"http://127.0.0.1:{http_port}/v1/traces", body)[0] == 200
        (span,) = upstream.wait_for(1)
        assert span.attributes["tokenomics.trace.cost.amount"] == pytest.approx(_cost(GPT_4O, 1000, 200))
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped; spans received 1, spans forwarded 1, spans dropped 0" in err
    assert not rotel_launcher.port_in_use("127.0.0.1", http_port)  # Rotel is gone


def test_cli_reports_busy_port_and_exits_2(upstream: Upstream) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "otel_tokenomics", "collector", "--upstream", upstream.url,
             "--http-port", str(port), "--grpc-port", str(_free_port())],
            capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 2
    assert f"OTLP HTTP port 127.0.0.1:{port} is already in use" in result.stderr
