"""`otel-tokenomics collector --upstream file:PATH`: what the collector writes is a file `report` can read."""

from __future__ import annotations

import gzip
import json
import socket
import time
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_tokenomics.analysis.otlp_reader import OtlpReader
from otel_tokenomics.analysis.report import build_trace_report
from otel_tokenomics.collector import Collector, CollectorOptions
from otel_tokenomics.collector.file_upstream import FileUpstream

TRACE_ID = bytes(range(16))
SPAN_ID = bytes(range(8))


def _request() -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name").value.string_value = "checkout"
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = TRACE_ID, SPAN_ID, "POST /buy"
    span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_001_000_000_000
    span.kind = 2
    return request.SerializeToString()


def test_trace_bodies_become_otlp_json_lines_with_hex_ids(tmp_path: Path) -> None:
    out = tmp_path / "spans.jsonl"
    upstream = FileUpstream(f"file:{out}")
    assert upstream.submit("/v1/traces", _request(), spans=1)
    assert upstream.submit("/v1/traces", gzip.compress(_request()), encoding="gzip", spans=1)
    upstream.close()
    lines = out.read_text().splitlines()
    assert len(lines) == 2
    span = json.loads(lines[0])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == TRACE_ID.hex() and span["spanId"] == SPAN_ID.hex()
    assert span["kind"] == 2  # enums as numbers, as OTLP/JSON wants
    records = list(OtlpReader(out, log_problems=False))
    assert [(r.trace_id, r.name, r.resource.get("service.name")) for r in records] == [
        (TRACE_ID.hex(), "POST /buy", "checkout")
    ] * 2
    assert (upstream.stats.forwarded_requests, upstream.stats.forwarded_spans) == (2, 2)


def test_metrics_go_beside_the_traces_and_garbage_is_counted_not_written(tmp_path: Path) -> None:
    upstream = FileUpstream(f"file:{tmp_path / 'out' / 'collected.jsonl'}")
    assert upstream.destination("/v1/metrics") == tmp_path / "out" / "collected.metrics.jsonl"
    assert not upstream.submit("/v1/traces", b"\xff\x00 not protobuf", spans=3)
    upstream.close()
    assert upstream.stats.dropped_spans == 3 and upstream.stats.rejected_reasons == {"undecodable": 1}
    assert not (tmp_path / "out" / "collected.jsonl").exists()


def test_a_directory_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is a directory"):
        FileUpstream(f"file:{tmp_path}")


def test_file_upstream_without_the_relay_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs the roll-up relay"):
        Collector(CollectorOptions(upstream=f"file:{tmp_path / 'x.jsonl'}", rollup=False))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.rotel
def test_collector_writes_priced_rolled_up_spans_the_report_reads(tmp_path: Path) -> None:
    """An OpenInference app → Rotel (priced) → relay (rolled up) → file → `report` gives the same cost."""
    out = tmp_path / "collected.jsonl"
    grpc_port, http_port = _free_port(), _free_port()
    collector = Collector(
        CollectorOptions(
            upstream=f"file:{out}",
            grpc_port=grpc_port,
            http_port=http_port,
            rollup_wait_seconds=0.3,
            log_file=tmp_path / "rotel.log",
        )
    ).start()
    try:
        provider = TracerProvider(resource=Resource.create({"service.name": "rag-app"}))
        provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{http_port}/v1/traces"))
        )
        tracer = provider.get_tracer("openinference.instrumentation.langchain")
        llm = {
            "openinference.span.kind": "LLM",
            "llm.provider": "openai",
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": 1000,
            "llm.token_count.completion": 200,
        }
        with (
            tracer.start_as_current_span("RAG query", attributes={"openinference.span.kind": "CHAIN"}),
            tracer.start_as_current_span("ChatOpenAI", attributes=llm),
        ):
            pass
        provider.shutdown()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and collector.relay.rollup.stats.snapshot()["released_traces"] < 1:
            time.sleep(0.1)
    finally:
        summary = collector.stop()
    assert summary["spans_forwarded"] == 2 and summary["spans_dropped"] == 0
    expected = 1000 * 2.5e-6 + 200 * 10e-6  # gpt-4o list price: $2.50 / $10 per million tokens
    records = {record.name: record for record in OtlpReader(out, log_problems=False)}
    assert records["ChatOpenAI"].attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)
    root = records["RAG query"].attributes
    assert root["tokenomics.trace.cost.amount"] == pytest.approx(expected)
    assert (root["tokenomics.trace.llm_calls"], root["tokenomics.trace.input_tokens"]) == (1, 1000)
    (trace,) = build_trace_report(OtlpReader(out, log_problems=False)).traces
    assert trace.root_name == "RAG query"
    assert float(trace.totals.cost["USD"]) == pytest.approx(expected)
