"""Reading OTLP/JSON trace files and the cost-per-trace report (library, renderers and CLI)."""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import logging
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from otel_tokenomics.analysis.otlp_reader import OtlpReader, SpanRecord
from otel_tokenomics.analysis.render import render_csv, render_json, render_table
from otel_tokenomics.analysis.report import TraceReport, aggregate, build_trace_report, call_cost
from otel_tokenomics.cli import CommandError
from otel_tokenomics.cli import report as report_cli
from otel_tokenomics.semconv.attributes import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_USAGE_COST_AMOUNT,
    GEN_AI_USAGE_COST_CURRENCY,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    TOKENOMICS_COST_STATUS,
    CostStatus,
)

DATA = Path(__file__).parent / "data" / "otlp"
COST_TRACES = DATA / "cost_traces.jsonl"  # hand-written, Collector file-exporter layout (hex ids, string ints)
COST_TRACES_B64 = DATA / "cost_traces_base64.jsonl"  # same spans, base64 ids and numeric int64s
PRETTY = DATA / "pretty_request.json"  # one pretty-printed OTLP/HTTP JSON request body
CORRUPT = DATA / "corrupt.jsonl"  # good lines mixed with corrupt, non-trace and truncated ones

TRACE_A, TRACE_B, TRACE_C, TRACE_D, TRACE_E = (c * 32 for c in "abcde")
T0 = 1_700_000_000_000_000_000
SECOND = 1_000_000_000


def _report(*paths: Path) -> TraceReport:
    reader = OtlpReader(paths, log_problems=False)
    return build_trace_report(reader, stats=reader.stats, problems=reader.problems)


def _by_trace(report: TraceReport) -> dict[str, object]:
    return {summary.trace_id: summary for summary in report.traces}


def _signature(record: SpanRecord) -> tuple[object, ...]:
    return (
        record.trace_id,
        record.span_id,
        record.parent_span_id,
        record.name,
        record.kind,
        record.start_ns,
        record.end_ns,
        record.status_code,
        record.attributes,
        record.resource,
        record.scope_name,
    )


# --- reader ---------------------------------------------------------------------------------------------
def test_reads_collector_file_exporter_lines() -> None:
    reader = OtlpReader(COST_TRACES)
    records = list(reader)
    assert (reader.stats.lines_read, reader.stats.spans_read, reader.stats.lines_skipped) == (6, 16, 0)
    assert reader.problems == []
    chat = next(r for r in records if r.span_id == "a000000000000002")
    assert chat.trace_id == TRACE_A
    assert chat.parent_span_id == "a000000000000001"
    assert chat.kind == 3
    assert (chat.start_ns, chat.end_ns) == (T0 + 100_000_000, T0 + 900_000_000)
    assert chat.attributes[GEN_AI_USAGE_INPUT_TOKENS] == 100
    assert chat.attributes[GEN_AI_USAGE_COST_AMOUNT] == 0.0005
    assert chat.resource == {"service.name": "support-bot", "telemetry.sdk.language": "python"}
    assert chat.scope_name == "otel_tokenomics.instrumentation.openai"
    assert (chat.source, chat.line) == (str(COST_TRACES), 1)
    root = next(r for r in records if r.span_id == "a000000000000001")
    assert root.parent_span_id is None


def test_base64_ids_and_numeric_int64s_normalise_to_the_same_records() -> None:
    hex_records = [_signature(r) for r in OtlpReader(COST_TRACES)]
    base64_records = [_signature(r) for r in OtlpReader(COST_TRACES_B64)]
    assert base64_records == hex_records


def test_pretty_printed_single_document_with_typed_values() -> None:
    reader = OtlpReader(PRETTY)
    chat, server = reader
    assert reader.stats.lines_read == 1 and reader.stats.lines_skipped == 0
    assert chat.trace_id == "5b8efff798038103d269b633813fc60c"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 42
    assert chat.attributes["gen_ai.usage.output_tokens"] == 7  # int64 written as a JSON number
    assert chat.attributes["gen_ai.request.stream"] is True
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("stop", "length")
    assert chat.attributes["tokenomics.example.map"] == {"n": 3}
    assert chat.attributes["tokenomics.example.bytes"] == b"\x00\x01\x02\xff"
    assert (chat.status_code, chat.status_message) == (2, "upstream timeout")
    assert chat.resource["deployment.environment.name"] == "staging"
    assert (server.kind, server.status_code) == (2, 1)  # enum names are accepted too


def test_truncated_pretty_document_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_bytes(PRETTY.read_bytes()[:700])
    reader = OtlpReader(path, log_problems=False)
    assert list(reader) == []
    [problem] = reader.problems
    assert problem.path == str(path)
    assert "truncated JSON document" in problem.message
    assert reader.stats.lines_skipped == 1


def test_gzip_is_detected_by_magic_bytes(tmp_path: Path) -> None:
    plain = [_signature(r) for r in OtlpReader(COST_TRACES)]
    named_gz = tmp_path / "traces.jsonl.gz"
    unnamed = tmp_path / "traces.log"  # compressed, but nothing in the name says so
    for path in (named_gz, unnamed):
        path.write_bytes(gzip.compress(COST_TRACES.read_bytes()))
        assert [_signature(r) for r in OtlpReader(path)] == plain
    pretty_gz = tmp_path / "request.json.gz"
    pretty_gz.write_bytes(gzip.compress(PRETTY.read_bytes()))
    assert len(list(OtlpReader(pretty_gz))) == 2


def test_truncated_gzip_keeps_what_was_readable(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    payload = COST_TRACES.read_bytes() * 50  # large enough that a cut leaves whole lines before it
    path.write_bytes(gzip.compress(payload)[: len(gzip.compress(payload)) // 2])
    reader = OtlpReader(path, log_problems=False)
    records = list(reader)
    assert records, "lines before the cut are read"
    assert any("truncated gzip" in p.message and p.path == str(path) for p in reader.problems)


def test_directory_is_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b-later").mkdir()
    shutil.copy(PRETTY, tmp_path / "b-later" / "request.json")
    (tmp_path / "a-first.jsonl.gz").write_bytes(gzip.compress(COST_TRACES.read_bytes()))
    (tmp_path / ".partial.jsonl").write_text("garbage\n")  # hidden: ignored
    reader = OtlpReader(tmp_path)
    assert [p.name for p in reader.files()] == ["a-first.jsonl.gz", "request.json"]
    records = list(reader)
    assert len(records) == 16 + 2
    assert records[0].trace_id == TRACE_A and records[-1].trace_id == "5b8efff798038103d269b633813fc60c"
    assert reader.stats.files_read == 2 and reader.problems == []


def test_corrupt_and_truncated_lines_are_reported_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="otel_tokenomics.analysis.otlp_reader"):
        reader = OtlpReader(CORRUPT)
        records = list(reader)
    # Lines 1, 3 and 6 are good (6 has one malformed span among three); 2, 5 and 7 are skipped.
    assert [(r.line, r.span_id) for r in records] == [
        (1, "a000000000000002"),
        (1, "a000000000000003"),
        (1, "a000000000000004"),
        (3, "a000000000000001"),
        (6, "d000000000000002"),
    ]
    assert reader.stats.lines_read == 6  # the blank line 4 is not a record
    assert reader.stats.lines_skipped == 3
    assert reader.stats.spans_skipped == 1
    where = [(p.line, p.message) for p in reader.problems]
    assert where[0][0] == 2 and where[0][1].startswith("invalid JSON")
    assert where[1][0] == 5 and "resourceLogs" in where[1][1]
    assert where[2][0] == 6 and "spanId 'not-an-id'" in where[2][1]
    assert where[3][0] == 7 and where[3][1].startswith("truncated JSON record")
    assert str(reader.problems[0]).startswith(f"{CORRUPT}:2: ")
    assert f"{CORRUPT}:7: truncated" in caplog.text


def test_truncated_first_line_does_not_hide_the_rest(tmp_path: Path) -> None:
    """A JSON-lines file whose first line was cut right after a `{` is not mistaken for one document."""
    good = COST_TRACES.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "t.jsonl"
    path.write_text('{"resourceSpans":[{\n' + "\n".join(good[:2]) + "\n", encoding="utf-8")
    reader = OtlpReader(path, log_problems=False)
    assert len(list(reader)) == 4
    assert reader.stats.lines_skipped == 1 and reader.problems[0].line == 1


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(FileNotFoundError) as caught:
        OtlpReader([COST_TRACES, missing])
    assert caught.value.filename == str(missing)


# --- cost per trace -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report() -> TraceReport:
    return _report(COST_TRACES)


def test_costs_sum_only_inference_and_embeddings_spans(report: TraceReport) -> None:
    agent = _by_trace(report)[TRACE_A]
    # The invoke_agent root repeats its children's 300/60 tokens and $0.0015: counted once, via the chats.
    assert agent.root_name == "invoke_agent support-bot"
    assert agent.totals.llm_calls == 2
    assert (agent.totals.input_tokens, agent.totals.output_tokens) == (300, 60)
    assert agent.totals.cost == {"USD": Decimal("0.0015")}
    assert agent.span_count == 4
    assert (agent.start_ns, agent.duration_ns) == (T0, 2_500_000_000)


def test_unpriced_calls_are_counted_not_costed(report: TraceReport) -> None:
    http = _by_trace(report)[TRACE_B]
    # One priced chat, one chat marked unpriced, one embeddings call with usage but no cost attribute.
    assert http.totals.llm_calls == 3
    assert http.totals.unpriced_calls == 2
    assert http.totals.cost == {"USD": Decimal("0.000123")}
    assert (http.totals.input_tokens, http.totals.output_tokens) == (1550, 110)
    assert http.duration_ns == 1_065_000_000


def test_several_currencies_are_kept_apart(report: TraceReport) -> None:
    batch = _by_trace(report)[TRACE_C]
    assert batch.totals.cost == {"USD": Decimal("0.003"), "EUR": Decimal("0.002")}
    assert report.totals.mixed_currencies
    assert report.totals.cost == {"USD": Decimal("0.034823"), "EUR": Decimal("0.002")}


def test_missing_root_uses_earliest_span_and_full_extent(report: TraceReport) -> None:
    orphan = _by_trace(report)[TRACE_D]
    assert orphan.root_missing
    assert orphan.display_root == "(root missing) chat gpt-4.1"
    assert (orphan.start_ns, orphan.duration_ns) == (T0 + 30 * SECOND, 6 * SECOND)


def test_free_call_costs_zero_and_is_not_unpriced(report: TraceReport) -> None:
    local = _by_trace(report)[TRACE_E]
    assert local.totals.unpriced_calls == 0
    assert local.totals.free_calls == 1
    assert local.totals.cost == {"USD": Decimal("0.0002")}


def test_sorted_by_cost_with_grand_totals(report: TraceReport) -> None:
    assert [s.trace_id for s in report.traces] == [TRACE_D, TRACE_C, TRACE_A, TRACE_E, TRACE_B]
    totals = report.totals
    assert (totals.llm_calls, totals.input_tokens, totals.output_tokens) == (11, 4930, 690)
    assert totals.unpriced_calls == 2
    assert report.main_currency == "USD"


def _record(trace_id: str, span_id: str, parent: str | None, **attributes: object) -> SpanRecord:
    return SpanRecord(trace_id, span_id, parent, "span", 3, 0, 0, 0, dict(attributes), {}, "test")


def test_call_cost_rules() -> None:
    usage = {GEN_AI_USAGE_INPUT_TOKENS: 10, GEN_AI_USAGE_OUTPUT_TOKENS: 2}
    agent = _record("1" * 32, "1" * 16, None, **{GEN_AI_OPERATION_NAME: "invoke_agent"}, **usage)
    tool = _record("1" * 32, "2" * 16, None, **{GEN_AI_OPERATION_NAME: "execute_tool"})
    assert call_cost(agent) is None and call_cost(tool) is None
    no_instrumentation_price = call_cost(_record("1" * 32, "3" * 16, None, **{GEN_AI_OPERATION_NAME: "chat"}, **usage))
    assert no_instrumentation_price is not None and no_instrumentation_price.unpriced
    marked = call_cost(
        _record(
            "1" * 32,
            "4" * 16,
            None,
            **{GEN_AI_OPERATION_NAME: "chat", TOKENOMICS_COST_STATUS: CostStatus.UNPRICED},
        )
    )
    assert marked is not None and marked.unpriced and marked.amount is None
    priced = call_cost(
        _record(
            "1" * 32,
            "5" * 16,
            None,
            **{
                GEN_AI_OPERATION_NAME: "embeddings",
                GEN_AI_USAGE_COST_AMOUNT: 1e-7,
                GEN_AI_USAGE_COST_CURRENCY: "usd",
            },
            **usage,
        )
    )
    assert priced is not None and not priced.unpriced
    assert (priced.amount, priced.currency) == (Decimal("1e-7"), "USD")


def test_fully_unpriced_trace_is_never_shown_as_zero() -> None:
    records = [
        _record(TRACE_A, "1" * 16, None, **{GEN_AI_OPERATION_NAME: "chat", GEN_AI_USAGE_INPUT_TOKENS: 5}),
    ]
    report = build_trace_report(records)
    table = render_table(report)
    row = next(line for line in table.splitlines() if line.startswith(TRACE_A))
    assert "unpriced" in row and "$0" not in row
    assert "1 unpriced call" in table
    [csv_row] = csv.DictReader(io.StringIO(render_csv(report)))
    assert csv_row["unpriced_calls"] == "1"
    assert json.loads(render_json(report))["traces"][0]["cost"] == {}


def test_generic_group_by_reuses_the_call_rules() -> None:
    """The same aggregation a per-model report would use; the agent span is not counted."""
    per_model = aggregate(OtlpReader(COST_TRACES), key=lambda r: r.attributes.get(GEN_AI_REQUEST_MODEL))
    assert per_model["gpt-4o-mini"].llm_calls == 2
    assert per_model["gpt-4o-mini"].cost == {"USD": Decimal("0.0015")}
    assert per_model["gpt-4.1"].input_tokens == 3000


# --- renderers ------------------------------------------------------------------------------------------
def test_table_is_aligned_with_sub_cent_costs_and_footnotes(report: TraceReport) -> None:
    table = render_table(report)
    lines = table.splitlines()
    header = lines[0]
    assert header.split()[:3] == ["TRACE", "ID", "ROOT"]
    rows = {line[:32]: line for line in lines if line[:32] in {TRACE_A, TRACE_B, TRACE_C, TRACE_D, TRACE_E}}
    assert "$0.000123*" in rows[TRACE_B]  # sub-cent precision, lower bound flagged
    assert "$0.003000 + €0.002000" in rows[TRACE_C]
    assert "(root missing) chat gpt-4.1" in rows[TRACE_D]
    # Right-aligned cost column: every cost ends where the COST header ends.
    cost_end = header.index("COST") + len("COST")
    for trace_id, cost in [(TRACE_A, "$0.001500"), (TRACE_D, "$0.030000"), (TRACE_E, "$0.000200")]:
        assert rows[trace_id].index(cost) + len(cost) == cost_end
    total = next(line for line in lines if line.startswith("TOTAL"))
    assert "TOTAL (5 traces)" in total and "$0.034823 + €0.002000*" in total
    assert "2 unpriced calls" in table
    assert "several currencies (USD, EUR)" in table


def test_top_n_keeps_totals_over_all_traces(report: TraceReport) -> None:
    table = render_table(report, top=2)
    shown = [line[:32] for line in table.splitlines() if line[:1] in "abcde" and len(line) > 32]
    assert shown == [TRACE_D, TRACE_C]
    assert "Showing top 2 of 5 traces" in table
    assert "TOTAL (5 traces)" in table


def test_csv_output(report: TraceReport) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert [row["trace_id"] for row in rows] == [TRACE_D, TRACE_C, TRACE_A, TRACE_E, TRACE_B]
    by_id = {row["trace_id"]: row for row in rows}
    assert by_id[TRACE_B]["cost_USD"] == "0.000123" and by_id[TRACE_B]["unpriced_calls"] == "2"
    assert (by_id[TRACE_C]["cost_USD"], by_id[TRACE_C]["cost_EUR"]) == ("0.003", "0.002")
    assert by_id[TRACE_D]["cost_EUR"] == ""  # no EUR call: empty, not 0
    assert by_id[TRACE_D]["root_missing"] == "true"
    assert by_id[TRACE_A]["start_time"] == "2023-11-14T22:13:20.000000Z"
    assert float(by_id[TRACE_A]["duration_seconds"]) == 2.5


def test_json_output(report: TraceReport) -> None:
    document = json.loads(render_json(report, top=3))
    assert [t["trace_id"] for t in document["traces"]] == [TRACE_D, TRACE_C, TRACE_A]
    assert document["traces"][1]["cost"] == {"USD": 0.003, "EUR": 0.002}
    assert document["totals"]["traces"] == 5
    assert document["totals"]["cost"] == {"USD": 0.034823, "EUR": 0.002}
    assert document["totals"]["unpriced_calls"] == 2
    assert document["mixed_currencies"] is True
    assert document["input"]["lines_skipped"] == 0


def test_spans_read_twice_are_billed_once(tmp_path: Path) -> None:
    """Overlapping inputs (a directory and a file in it, an exporter retry) must not double the cost."""
    copy = tmp_path / "again.jsonl"
    shutil.copy(COST_TRACES, copy)
    twice = _report(COST_TRACES, copy)
    assert twice.totals.cost == {"USD": Decimal("0.034823"), "EUR": Decimal("0.002")}
    assert twice.totals.llm_calls == 11
    assert twice.duplicate_spans == 11  # the LLM calls, each billed once
    assert "11 duplicate LLM calls ignored" in render_table(twice)


def test_skipped_lines_reach_the_report() -> None:
    report = _report(CORRUPT)
    assert "3 lines skipped" in render_table(report)
    assert json.loads(render_json(report))["input"]["lines_skipped"] == 3


# --- CLI ------------------------------------------------------------------------------------------------
def _run_cli(*argv: str) -> int:
    """Run `report` through a parser holding only our subcommand (other subcommands may not exist yet)."""
    parser = argparse.ArgumentParser(prog="otel-tokenomics")
    report_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", *argv])
    return args.handler(args)


def test_cli_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli(str(COST_TRACES), "--top", "1") == 0
    out = capsys.readouterr().out
    assert TRACE_D in out and TRACE_A not in out
    assert "TOTAL (5 traces)" in out


def test_cli_csv_to_file(tmp_path: Path) -> None:
    output = tmp_path / "report.csv"
    assert _run_cli(str(DATA / "cost_traces.jsonl"), "--format", "csv", "--output", str(output)) == 0
    rows = list(csv.DictReader(output.open(encoding="utf-8")))
    assert len(rows) == 5 and rows[0]["trace_id"] == TRACE_D


def test_cli_json_reports_problems_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli(str(CORRUPT), "--format", "json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["input"]["lines_skipped"] == 3
    assert f"{CORRUPT}:2: invalid JSON" in captured.err


def test_cli_missing_path_is_a_user_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(CommandError, match=r"missing\.jsonl"):
        _run_cli(str(missing))


def test_cli_rejects_non_positive_top(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _run_cli(str(COST_TRACES), "--top", "0")
    assert "must be at least 1" in capsys.readouterr().err


def test_a_failed_call_is_counted_but_neither_priced_nor_unpriced(tmp_path: Path) -> None:
    """A provider error bills nothing: it must not show up as an unpriced call (which means 'cost unknown')."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    from otel_tokenomics.analysis.otlp_reader import read_spans
    from otel_tokenomics.analysis.report import build_trace_report
    from otel_tokenomics.exporters import JsonLinesSpanExporter

    path = tmp_path / "spans.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(path)))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("POST /summarize"):
        with tracer.start_as_current_span("chat gpt-4o") as failed:
            failed.set_attributes({"gen_ai.operation.name": "chat", "error.type": "InternalServerError"})
            failed.set_status(Status(StatusCode.ERROR, "InternalServerError"))
        with tracer.start_as_current_span("chat gpt-4o") as retried:
            retried.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.usage.input_tokens": 10,
                    "gen_ai.usage.output_tokens": 5,
                    "gen_ai.usage.cost.amount": 0.0001,
                    "gen_ai.usage.cost.currency": "USD",
                    "tokenomics.cost.status": "priced",
                }
            )
    provider.shutdown()
    [trace] = build_trace_report(read_spans([path])).traces
    assert trace.totals.llm_calls == 2
    assert trace.totals.failed_calls == 1
    assert trace.totals.unpriced_calls == 0
    assert str(trace.totals.cost["USD"]) == "0.0001"


def test_report_by_provider_and_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_tokenomics.cli import main
    from otel_tokenomics.exporters import JsonLinesSpanExporter

    path = tmp_path / "spans.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(path)))
    tracer = provider.get_tracer("t")
    calls = [("openai", "gpt-4o", 0.002), ("anthropic", "claude-sonnet-4", 0.005), ("openai", "gpt-4o-mini", 0.001)]
    with tracer.start_as_current_span("POST /agent"):
        for name, model, amount in calls:
            with tracer.start_as_current_span(f"chat {model}") as span:
                span.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": name,
                        "gen_ai.response.model": model,
                        "gen_ai.usage.input_tokens": 100,
                        "gen_ai.usage.output_tokens": 10,
                        "gen_ai.usage.cost.amount": amount,
                        "gen_ai.usage.cost.currency": "USD",
                        "tokenomics.cost.status": "priced",
                    }
                )
    provider.shutdown()
    assert main(["report", str(path), "--by", "provider", "--format", "json"]) == 0
    groups = {row["provider"]: row for row in json.loads(capsys.readouterr().out)["groups"]}
    assert groups["openai"]["llm_calls"] == 2
    assert groups["openai"]["cost"]["USD"] == pytest.approx(0.003)
    assert groups["anthropic"]["cost"]["USD"] == pytest.approx(0.005)
    assert main(["report", str(path), "--by", "model"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[0] == "MODEL"
    assert [line.split()[0] for line in table[2:]] == ["claude-sonnet-4", "gpt-4o", "gpt-4o-mini"]
