"""TraceRollup with an injected clock: traces released after the wait with totals on the root, late spans
passed on and counted, memory bounds evicting (never losing) traces, missing roots, several currencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from otel_tokenomics.processor import Enrichment, TraceRollup, TraceTotals
from otel_tokenomics.semconv import attributes as attr


@dataclass
class FakeSpan:
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)


def attach(span: FakeSpan, totals: TraceTotals) -> FakeSpan:
    return FakeSpan(span.name, {**span.attributes, **totals.span_attributes()})


def call(amount: float | None, input_tokens: int = 0, output_tokens: int = 0, currency: str = "USD") -> Enrichment:
    outcome = "priced" if amount is not None else "unpriced"
    return Enrichment(
        outcome, None, {}, amount, currency if amount is not None else None, input_tokens, output_tokens, True
    )


NOT_A_CALL = Enrichment("skipped", "not_llm_call", {}, None, None, 0, 0, False)


@pytest.fixture
def rollup() -> TraceRollup[FakeSpan]:
    return TraceRollup(attach, wait_seconds=10, max_traces=3, max_spans_per_trace=5, clock=lambda: 0.0)


def names(released: list) -> list[str]:
    return [span.name for trace in released for span in trace.spans]


def test_trace_released_after_the_wait_with_totals_on_the_root(rollup: TraceRollup[FakeSpan]) -> None:
    assert rollup.add(FakeSpan("llm-1"), "t1", call(0.002, 1000, 100), is_root=False, now=0.0) == []
    assert rollup.add(FakeSpan("agent"), "t1", NOT_A_CALL, is_root=False, now=1.0) == []
    assert rollup.add(FakeSpan("llm-2"), "t1", call(0.0005, 300, 20), is_root=False, now=2.0) == []
    assert rollup.add(FakeSpan("POST /ask"), "t1", NOT_A_CALL, is_root=True, now=3.0) == []
    assert rollup.poll(now=9.9) == []
    released = rollup.poll(now=10.0)
    assert [trace.reason for trace in released] == ["wait"]
    spans = released[0].spans
    assert sorted(span.name for span in spans) == ["POST /ask", "agent", "llm-1", "llm-2"]
    root = spans[0]
    assert root.name == "POST /ask"
    assert root.attributes[attr.TOKENOMICS_TRACE_COST_AMOUNT] == pytest.approx(0.0025)
    assert root.attributes[attr.TOKENOMICS_TRACE_COST_CURRENCY] == "USD"
    assert root.attributes[attr.TOKENOMICS_TRACE_INPUT_TOKENS] == 1300
    assert root.attributes[attr.TOKENOMICS_TRACE_OUTPUT_TOKENS] == 120
    assert root.attributes[attr.TOKENOMICS_TRACE_LLM_CALLS] == 2  # the agent span is not a call
    assert root.attributes[attr.TOKENOMICS_TRACE_UNPRICED_CALLS] == 0
    assert root.attributes[attr.TOKENOMICS_TRACE_SPANS] == 4
    assert all(attr.TOKENOMICS_TRACE_SPANS not in span.attributes for span in spans[1:])
    assert rollup.held_traces == 0


def test_late_span_is_passed_on_at_once_and_counted(rollup: TraceRollup[FakeSpan]) -> None:
    rollup.add(FakeSpan("root"), "t1", NOT_A_CALL, is_root=True, now=0.0)
    rollup.poll(now=10.0)
    late = rollup.add(FakeSpan("late-llm"), "t1", call(0.01, 10, 5), is_root=False, now=11.0)
    assert [(trace.reason, trace.totals) for trace in late] == [("late", None)]
    assert names(late) == ["late-llm"]
    assert late[0].spans[0].attributes == {}  # nothing attached to a late span
    assert rollup.stats.late_spans == 1
    assert rollup.stats.late_cost == {"USD": 0.01}
    assert rollup.held_traces == 0  # a late span does not start a second roll-up of its trace


def test_max_traces_evicts_the_oldest_trace_early(rollup: TraceRollup[FakeSpan]) -> None:
    for index, trace_id in enumerate(["a", "b", "c"]):
        assert rollup.add(FakeSpan(f"root-{trace_id}"), trace_id, call(0.001), is_root=True, now=float(index)) == []
    evicted = rollup.add(FakeSpan("root-d"), "d", call(0.001), is_root=True, now=3.0)
    assert [(trace.trace_id, trace.reason) for trace in evicted] == [("a", "evicted")]
    assert evicted[0].spans[0].attributes[attr.TOKENOMICS_TRACE_LLM_CALLS] == 1
    assert rollup.stats.evicted_traces == 1
    assert rollup.held_traces == 3


def test_max_spans_per_trace_releases_the_trace_and_later_spans_are_late(rollup: TraceRollup[FakeSpan]) -> None:
    released = []
    for index in range(5):
        released += rollup.add(FakeSpan(f"s{index}"), "t", call(0.001), is_root=index == 0, now=0.0)
    assert [trace.reason for trace in released] == ["evicted"]
    assert released[0].spans[0].attributes[attr.TOKENOMICS_TRACE_SPANS] == 5
    assert rollup.stats.evicted_traces == 1
    sixth = rollup.add(FakeSpan("s5"), "t", call(0.001), is_root=False, now=0.0)
    assert [trace.reason for trace in sixth] == ["late"]


def test_missing_root_gives_the_totals_to_the_earliest_span(rollup: TraceRollup[FakeSpan]) -> None:
    rollup.add(FakeSpan("second"), "t", call(0.002), is_root=False, start_time_unix_nano=200, now=0.0)
    rollup.add(FakeSpan("first"), "t", call(0.001), is_root=False, start_time_unix_nano=100, now=0.0)
    rollup.add(FakeSpan("third"), "t", call(0.004), is_root=False, start_time_unix_nano=300, now=0.0)
    (trace,) = rollup.poll(now=10.0)
    assert trace.totals is not None and trace.totals.root_missing
    assert trace.spans[0].name == "first"
    assert trace.spans[0].attributes[attr.TOKENOMICS_TRACE_COST_AMOUNT] == pytest.approx(0.007)
    assert rollup.stats.root_missing == 1


def test_several_currencies_give_parallel_arrays(rollup: TraceRollup[FakeSpan]) -> None:
    rollup.add(FakeSpan("root"), "t", NOT_A_CALL, is_root=True, now=0.0)
    rollup.add(FakeSpan("usd-1"), "t", call(0.25), is_root=False, now=0.0)
    rollup.add(FakeSpan("eur"), "t", call(0.5, currency="EUR"), is_root=False, now=0.0)
    (trace,) = rollup.drain()
    root = trace.spans[0].attributes
    assert root[attr.TOKENOMICS_TRACE_COST_CURRENCY] == ["EUR", "USD"]
    assert root[attr.TOKENOMICS_TRACE_COST_AMOUNT] == [0.5, 0.25]


def test_unpriced_calls_are_counted_and_no_amount_is_invented(rollup: TraceRollup[FakeSpan]) -> None:
    rollup.add(FakeSpan("root"), "t", NOT_A_CALL, is_root=True, now=0.0)
    rollup.add(FakeSpan("llm"), "t", call(None, 50, 5), is_root=False, now=0.0)
    (trace,) = rollup.drain()
    root = trace.spans[0].attributes
    assert root[attr.TOKENOMICS_TRACE_UNPRICED_CALLS] == 1
    assert root[attr.TOKENOMICS_TRACE_LLM_CALLS] == 1
    assert root[attr.TOKENOMICS_TRACE_INPUT_TOKENS] == 50
    assert attr.TOKENOMICS_TRACE_COST_AMOUNT not in root
    assert attr.TOKENOMICS_TRACE_COST_CURRENCY not in root


def test_poll_releases_only_traces_whose_wait_elapsed(rollup: TraceRollup[FakeSpan]) -> None:
    rollup.add(FakeSpan("a"), "a", NOT_A_CALL, is_root=True, now=0.0)
    rollup.add(FakeSpan("b"), "b", NOT_A_CALL, is_root=True, now=5.0)
    assert [trace.trace_id for trace in rollup.poll(now=12.0)] == ["a"]
    assert [trace.trace_id for trace in rollup.poll(now=15.0)] == ["b"]


def test_drain_releases_everything(rollup: TraceRollup[FakeSpan]) -> None:
    rollup.add(FakeSpan("a"), "a", NOT_A_CALL, is_root=True, now=0.0)
    rollup.add(FakeSpan("b"), "b", NOT_A_CALL, is_root=True, now=0.0)
    assert sorted(names(rollup.drain())) == ["a", "b"]
    assert rollup.held_traces == 0
    assert rollup.stats.released_traces == 2


def test_a_failing_attach_loses_no_span() -> None:
    def broken(span: FakeSpan, totals: TraceTotals) -> FakeSpan:
        raise RuntimeError("boom")

    rollup: TraceRollup[FakeSpan] = TraceRollup(broken, wait_seconds=1)
    rollup.add(FakeSpan("root"), "t", NOT_A_CALL, is_root=True, now=0.0)
    rollup.add(FakeSpan("llm"), "t", call(0.1), is_root=False, now=0.0)
    assert sorted(names(rollup.drain())) == ["llm", "root"]
    assert rollup.stats.attach_errors == 1


def test_the_injected_clock_is_used_by_default() -> None:
    now = [0.0]
    rollup: TraceRollup[FakeSpan] = TraceRollup(attach, wait_seconds=5, clock=lambda: now[0])
    rollup.add(FakeSpan("root"), "t", NOT_A_CALL, is_root=True)
    assert rollup.poll() == []
    now[0] = 5.0
    assert names(rollup.poll()) == ["root"]


def test_bad_bounds_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="max_traces"):
        TraceRollup(attach, max_traces=0)
