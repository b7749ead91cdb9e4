"""The per-trace report in bounded memory: traces folded after a window of spans, only the top rows kept.

Every expected figure is computed here from the costs the test gives its spans, never taken from the code.
"""

from __future__ import annotations

import json
from decimal import Decimal

from otel_tokenomics.analysis.otlp_reader import SpanRecord
from otel_tokenomics.analysis.render import render_json, render_table
from otel_tokenomics.analysis.report import CallDeduplicator, TraceReport, build_trace_report
from otel_tokenomics.semconv.attributes import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_USAGE_COST_AMOUNT,
    GEN_AI_USAGE_COST_CURRENCY,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
)

T0 = 1_700_000_000_000_000_000
SECOND = 1_000_000_000


def _trace_id(number: int) -> str:
    return f"{number:032x}"


def _root(trace: int, start_s: int, end_s: int, name: str = "POST /ask") -> SpanRecord:
    return SpanRecord(
        _trace_id(trace),
        f"{trace:08x}00000000",
        None,
        name,
        2,
        T0 + start_s * SECOND,
        T0 + end_s * SECOND,
        0,
        {},
        {},
        "t",
    )


def _chat(trace: int, call: int, start_s: int, cost: str, currency: str = "USD", tokens: int = 10) -> SpanRecord:
    attributes = {
        GEN_AI_OPERATION_NAME: "chat",
        GEN_AI_USAGE_INPUT_TOKENS: tokens,
        GEN_AI_USAGE_OUTPUT_TOKENS: 1,
        GEN_AI_USAGE_COST_AMOUNT: float(cost),
        GEN_AI_USAGE_COST_CURRENCY: currency,
    }
    return SpanRecord(
        _trace_id(trace),
        f"{trace:08x}{call:08x}",
        f"{trace:08x}00000000",
        "chat",
        3,
        T0 + start_s * SECOND,
        T0 + (start_s + 1) * SECOND,
        0,
        attributes,
        {},
        "t",
    )


def _filler(first: int, count: int, cost: str = "0.000001") -> list[SpanRecord]:
    """`count` one-call traces, numbered from `first`, each costing `cost` dollars."""
    spans = []
    for trace in range(first, first + count):
        spans += [_root(trace, trace, trace + 2, "GET /health"), _chat(trace, 1, trace, cost)]
    return spans


def _rows(report: TraceReport) -> list[tuple[str, str, int, dict[str, Decimal], int, int]]:
    return [
        (t.trace_id, t.root_name, t.span_count, t.totals.cost, t.totals.llm_calls, t.duration_ns // SECOND)
        for t in report.traces
    ]


def test_a_trace_split_far_apart_in_the_input_gives_the_same_row() -> None:
    # Trace 1: root and one call at the start of the input, a second call 200 spans later.
    head = [_root(1, 0, 60), _chat(1, 1, 5, "0.25")]
    tail = [_chat(1, 2, 50, "0.5")]
    filler = _filler(100, 100)
    apart = build_trace_report([*head, *filler, *tail], top=5, window=10)
    together = build_trace_report([*head, *tail, *filler], top=None, window=None)
    assert apart.traces[0].trace_id == _trace_id(1)
    assert apart.traces[0].totals.cost == {"USD": Decimal("0.75")}  # 0.25 + 0.5
    assert apart.traces[0].span_count == 3 and apart.traces[0].root_name == "POST /ask"
    assert apart.traces[0].duration_ns == 60 * SECOND
    assert _rows(apart) == _rows(together)[:5]
    assert apart.totals.cost == {"USD": Decimal("0.75") + 100 * Decimal("0.000001")}
    assert apart.total_traces == 101 and apart.split_traces == 0
    assert "Showing top 5 of 101 traces" in render_table(apart)


def test_only_the_top_rows_are_kept_and_they_are_the_most_expensive() -> None:
    # 300 one-call traces with distinct costs, interleaved: a small window folds them all along the way.
    costs = {trace: Decimal((trace * 37) % 300 + 1) / 10_000 for trace in range(300)}
    spans = []
    for trace, cost in costs.items():
        spans += [_root(trace, trace, trace + 1), _chat(trace, 1, trace, str(cost))]
    report = build_trace_report(spans, top=5, window=8)
    expected = sorted(costs, key=lambda trace: -costs[trace])[:5]
    assert [t.trace_id for t in report.traces] == [_trace_id(trace) for trace in expected]
    assert [t.totals.cost["USD"] for t in report.traces] == [costs[trace] for trace in expected]
    assert report.total_traces == 300
    assert report.totals.cost == {"USD": sum(costs.values(), Decimal(0))}
    assert report.totals.llm_calls == 300


def test_the_main_currency_is_decided_at_the_end_even_after_rows_were_dropped() -> None:
    # First 50 traces cost EUR 1 each; then 60 traces in USD, cheapest first: USD has more calls and is the
    # main currency, so the listing is by USD cost although the EUR traces looked the most expensive early on.
    spans = []
    for trace in range(50):
        spans += [_root(trace, trace, trace + 1), _chat(trace, 1, trace, "1", "EUR")]
    for trace in range(50, 110):
        spans += [_root(trace, trace, trace + 1), _chat(trace, 1, trace, str(Decimal(trace) / 1000))]
    report = build_trace_report(spans, top=3, window=6)
    assert report.main_currency == "USD"
    assert [t.trace_id for t in report.traces] == [_trace_id(109), _trace_id(108), _trace_id(107)]
    assert report.totals.cost == {
        "EUR": Decimal(50),
        "USD": sum((Decimal(t) / 1000 for t in range(50, 110)), Decimal(0)),
    }


def test_a_late_part_of_a_dropped_trace_is_counted_and_said() -> None:
    # Trace 7 is the cheapest and has the fewest tokens: folded and dropped from the rows under any ranking.
    # Its second call arrives long after.
    late = _chat(7, 2, 9, "0.000003", tokens=1)
    spans = [_root(7, 0, 10), _chat(7, 1, 1, "0.000002", tokens=1), *_filler(100, 50, "0.01"), late]
    report = build_trace_report(spans, top=2, window=10)
    assert _trace_id(7) not in [t.trace_id for t in report.traces]
    assert report.late_spans == 1 and report.split_traces == 1
    assert report.total_traces == 51  # trace 7 is counted once
    assert report.totals.llm_calls == 52
    assert report.totals.cost == {"USD": Decimal("0.000005") + 50 * Decimal("0.01")}
    assert "1 span of 1 trace came long after" in render_table(report)
    document = json.loads(render_json(report))
    assert document["input"]["late_spans"] == 1 and document["input"]["split_traces"] == 1
    assert document["totals"]["traces"] == 51


def test_a_call_read_again_within_the_window_is_billed_once() -> None:
    call = _chat(1, 1, 1, "0.25")
    report = build_trace_report([_root(1, 0, 5), call, *_filler(100, 3), call], top=5, window=100)
    assert report.duplicate_spans == 1
    assert report.traces[0].totals.cost == {"USD": Decimal("0.25")}


def test_the_call_deduplicator_forgets_only_after_two_generations() -> None:
    seen = CallDeduplicator(window=2)
    calls = [_chat(1, call, 0, "0.1") for call in range(5)]
    assert [seen.first_time(c) for c in calls[:3]] == [True, True, True]
    assert not seen.first_time(calls[0])  # within two generations: still a duplicate
    assert [seen.first_time(c) for c in calls[3:]] == [True, True]
    assert seen.first_time(calls[0])  # four calls later: forgotten, billed again (documented limit)
    assert seen.duplicates == 1


def _otlp_line(trace: int) -> str:
    """One OTLP/JSON export request: a root span and one priced chat call costing `trace` micro-dollars."""
    trace_id = _trace_id(trace)
    start = 1_763_900_000_000_000_000 + trace * 1_000_000

    def span(span_id: str, parent: str, name: str, attributes: dict[str, object]) -> dict[str, object]:
        values = [
            {"key": key, "value": {"doubleValue": value} if isinstance(value, float) else {"stringValue": value}}
            for key, value in attributes.items()
        ]
        return {
            "traceId": trace_id,
            "spanId": span_id,
            "parentSpanId": parent,
            "name": name,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + 500_000),
            "attributes": values,
        }

    chat = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.cost.amount": trace / 1e6,
        "gen_ai.usage.cost.currency": "USD",
    }
    spans = [span(f"{trace:016x}", "", "POST /ask", {}), span(f"{trace + 1:016x}", f"{trace:016x}", "chat", chat)]
    return json.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": spans}]}]})


def test_cli_lists_1000_traces_by_default_and_every_trace_with_all_traces(tmp_path, capsys) -> None:
    """A user listing 1,200 traces gets the 1,000 most expensive by default, all 1,200 with --all-traces, and
    N with --top N."""
    from otel_tokenomics.cli import main

    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(_otlp_line(trace) for trace in range(1, 1201)) + "\n")

    def traces(*options: str) -> list[dict[str, object]]:
        assert main(["report", str(path), "--format", "json", "--no-progress", *options]) == 0
        return json.loads(capsys.readouterr().out)["traces"]

    default = traces()
    assert len(default) == 1000
    assert default[0]["trace_id"] == _trace_id(1200)  # the most expensive first
    assert len(traces("--all-traces")) == 1200
    assert len(traces("--top", "1100")) == 1100
