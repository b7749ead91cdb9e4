"""The fast (msgspec) and pure-Python readers agree on every input format; progress and attribute skipping."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from otel_tokenomics.analysis.otlp_reader import OtlpReader
from otel_tokenomics.analysis.report import build_trace_report

DATA = Path(__file__).parent / "data" / "otlp"
COST_TRACES = DATA / "cost_traces.jsonl"
FIXTURES = ["cost_traces.jsonl", "cost_traces_base64.jsonl", "pretty_request.json", "corrupt.jsonl"]


def _records(path: Path, **options: object) -> tuple[list[tuple[object, ...]], OtlpReader]:
    reader = OtlpReader(path, log_problems=False, **options)  # type: ignore[arg-type]
    rows = [
        (r.trace_id, r.span_id, r.parent_span_id, r.name, r.kind, r.start_ns, r.end_ns, r.status_code,
         r.status_message, r.attributes, r.resource, r.scope_name, r.scope_version, r.source, r.line)
        for r in reader
    ]  # fmt: skip
    return rows, reader


@pytest.mark.parametrize("name", FIXTURES)
def test_fast_and_pure_python_paths_give_the_same_records_and_problems(name: str) -> None:
    pytest.importorskip("msgspec", reason="msgspec (the `report` extra) is not installed; CI installs it")
    fast, fast_reader = _records(DATA / name)
    slow, slow_reader = _records(DATA / name, fast=False)
    assert fast == slow
    assert fast_reader.stats == slow_reader.stats
    assert fast_reader.problems == slow_reader.problems


def test_uppercase_ids_and_enum_names_take_the_lenient_path(tmp_path: Path) -> None:
    line = json.loads(COST_TRACES.read_text(encoding="utf-8").splitlines()[0])
    span = line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["traceId"] = span["traceId"].upper()
    span["kind"] = "SPAN_KIND_CLIENT"
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    first = next(iter(OtlpReader(path)))
    assert first.trace_id == "a" * 32 and first.kind == 3


def test_llm_attributes_only_keeps_what_reports_need() -> None:
    records = list(OtlpReader(COST_TRACES, llm_attributes_only=True))
    chat = next(r for r in records if r.span_id == "a000000000000002")
    server = next(r for r in records if r.span_id == "b000000000000001")  # POST /chat: no gen_ai attributes
    assert chat.attributes["gen_ai.usage.input_tokens"] == 100
    assert server.attributes == {} and server.name == "POST /chat"
    # The report is the same either way.
    lean = build_trace_report(iter(records))
    full = build_trace_report(OtlpReader(COST_TRACES))
    assert [(t.trace_id, t.totals.cost, t.root_name, t.duration_ns) for t in lean.traces] == [
        (t.trace_id, t.totals.cost, t.root_name, t.duration_ns) for t in full.traces
    ]


def test_progress_runs_up_to_the_total_bytes(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(COST_TRACES.read_bytes() * 10)
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(COST_TRACES.read_bytes() * 10))
    seen: list[int] = []
    reader = OtlpReader(tmp_path, progress=seen.append)
    assert sum(1 for _ in reader) == 16 * 20
    assert seen == sorted(seen) and seen[-1] == reader.total_bytes()
    assert len(seen) > 2  # reported during the read, not only per file


def test_collector_file_exporter_directory_with_rotated_gzip_files(tmp_path: Path) -> None:
    """The Collector's file exporter rotates into `name-<time>.jsonl.gz` next to the live file."""
    shutil.copy(COST_TRACES, tmp_path / "traces.jsonl")
    (tmp_path / "traces-2025-11-23T10-00-00.000.jsonl.gz").write_bytes(gzip.compress(COST_TRACES.read_bytes()))
    reader = OtlpReader(tmp_path)
    report = build_trace_report(reader, stats=reader.stats)
    assert reader.stats.files_read == 2 and reader.stats.spans_read == 32
    assert report.duplicate_spans == 11  # same calls in both files: billed once
    assert report.totals.llm_calls == 11


def test_sdk_written_file_reads_the_same_on_both_paths(tmp_path: Path) -> None:
    """Our own exporter's output (OpenTelemetry SDK spans) through both decoders."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_tokenomics.exporters import JsonLinesSpanExporter

    path = tmp_path / "sdk.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(path)))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("POST /ask"), tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.usage.input_tokens": 12,
                "gen_ai.response.finish_reasons": ("stop",),
                "gen_ai.request.temperature": 0.5,
                "gen_ai.request.stream": True,
            }
        )
    provider.shutdown()
    fast, _ = _records(path)
    slow, _ = _records(path, fast=False)
    assert fast == slow
    chat = next(iter(r for r in OtlpReader(path) if r.name == "chat gpt-4o"))
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert chat.attributes["gen_ai.request.temperature"] == 0.5 and chat.attributes["gen_ai.request.stream"] is True
