"""One streaming pass over span records that gathers everything the HTML report draws.

The HTML report needs several group-bys at once (model, provider, service, time) plus the most expensive
traces *with their individual calls*. Reading the input once per chart would multiply the cost of the slow
part (JSON decoding), so `collect_overview()` builds all of them in a single pass.

Memory stays bounded by what the page shows, not by the input size:

* group-bys keep one `CostTotals` per distinct model/provider/service and per time bucket;
* every trace keeps a small running summary (root span, timing, totals, the ids of its LLM calls so that a
  call read twice is billed once) but never its spans;
* individual calls are kept only for a bounded set of traces: the most recently started ones (whose calls
  may still be arriving) and the most expensive older ones, tracked with a heap (see `_CallKeeper`). A trace
  that climbs into the top after some of its calls were dropped shows the calls that were kept and says how
  many are missing, rather than pretending to be complete.

Costs come from `call_cost()`, the same rule the terminal report uses, so totals agree across formats.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from otel_tokenomics.analysis.otlp_reader import SpanRecord
from otel_tokenomics.analysis.report import CallCost, CostFunction, CostTotals, call_cost, is_llm_call
from otel_tokenomics.semconv.attributes import (
    ERROR_TYPE,
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_SYSTEM,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    TOKENOMICS_COST_UNPRICED_REASON,
)

__all__ = [
    "DEFAULT_TOP",
    "CallStatus",
    "CostOverview",
    "LlmCall",
    "TimeBucket",
    "TraceOverview",
    "UnpricedGroup",
    "collect_overview",
]

DEFAULT_TOP = 20
"""Traces listed (with their calls) when the caller does not say how many."""

UNKNOWN = "(unknown)"
"""Group label for a call that does not say its model, provider or service."""

MISSING_REASON = "unknown"
"""Unpriced reason shown when neither the span nor the cost function gave one."""

_NS_PER_SECOND = 1_000_000_000
_NS_PER_MINUTE = 60 * _NS_PER_SECOND
_NS_PER_HOUR = 60 * _NS_PER_MINUTE
_NS_PER_DAY = 24 * _NS_PER_HOUR
# Finest time granularity whose bucket count stays readable as a column chart (at most ~180 columns).
_SECOND_RANGE_LIMIT = 3 * _NS_PER_MINUTE
_MINUTE_RANGE_LIMIT = 3 * _NS_PER_HOUR
_HOUR_RANGE_LIMIT = 7 * _NS_PER_DAY
# Settled traces whose calls are kept, as a multiple of the traces shown (slack for a trace that ranks
# differently in the final, main-currency order), and the window of most recent traces that always keep theirs.
_CANDIDATE_FACTOR = 4
_MIN_CANDIDATES = 64
RECENT_TRACES = 1000
# Distinct (reason, provider, model) unpriced groups kept; further combinations are folded into one row.
_MAX_UNPRICED_GROUPS = 500


class CallStatus:
    """How a call's cost reads in the drill-down."""

    PRICED = "priced"
    PRICED_BY_REPORT = "priced by report"
    """The span carried no cost; the report's price book priced the call."""
    FREE = "free"
    UNPRICED = "unpriced"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class LlmCall:
    """One LLM call as shown in a trace's drill-down (strings straight from span data: escape them)."""

    span_id: str
    name: str
    start_ns: int
    duration_ns: int
    provider: str
    model: str
    operation: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    amount: Decimal | None
    currency: str
    status: str
    reason: str = ""
    """Unpriced reason or error type; empty for priced and free calls."""


@dataclass(slots=True)
class TraceOverview:
    """A trace of the top list with its calls (sorted by start time)."""

    trace_id: str
    root_name: str
    root_missing: bool
    start_ns: int
    end_ns: int
    totals: CostTotals
    calls: list[LlmCall]

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)

    @property
    def calls_missing(self) -> int:
        """Calls counted in the totals but not kept for the drill-down (see the module docstring)."""
        return self.totals.llm_calls - len(self.calls)


@dataclass(slots=True)
class UnpricedGroup:
    """Unpriced calls sharing a reason, provider and model, with one example to look up."""

    reason: str
    provider: str
    model: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    example_trace_id: str = ""
    example_span_name: str = ""


@dataclass(frozen=True, slots=True)
class TimeBucket:
    start_ns: int
    totals: CostTotals


@dataclass(slots=True)
class CostOverview:
    """Everything the HTML page shows, in display order (most expensive first)."""

    totals: CostTotals
    cached_tokens: int
    trace_count: int
    traces_with_calls: int
    first_ns: int
    last_ns: int
    granularity: str
    """"second", "minute", "hour" or "day": the width of each `over_time` bucket."""
    over_time: list[TimeBucket]
    by_model: list[tuple[str, CostTotals]]
    by_provider: list[tuple[str, CostTotals]]
    by_service: list[tuple[str, CostTotals]]
    top_traces: list[TraceOverview]
    unpriced: list[UnpricedGroup]
    duplicate_calls: int = 0
    """LLM calls read more than once (same trace and span id) and counted once."""
    untimed_calls: int = 0
    """Calls without a start time: in every total but in no time bucket."""

    @property
    def main_currency(self) -> str | None:
        currencies = self.totals.currencies
        return currencies[0] if currencies else None


_NO_CALLS = CostTotals()


class _TraceState:
    """Running state of one trace: a few fields and its LLM call ids, never its spans."""

    __slots__ = ("call_ids", "calls", "first_name", "first_start", "last_end", "root", "totals")

    def __init__(self) -> None:
        # Most traces of a busy service make no LLM call: their id set and totals are only created on the
        # first call (until then `totals` is the shared, never-modified `_NO_CALLS`).
        self.call_ids: set[str] | None = None
        self.totals = _NO_CALLS
        self.calls: list[LlmCall] | None = None  # kept only while the trace is a top candidate
        self.first_start: int | None = None
        self.first_name = ""
        self.last_end = 0
        self.root: tuple[int, int, str] | None = None  # (start, end, name) of the earliest parentless span

    def first_time(self, span_id: str) -> bool:
        """Record the call `span_id`; False if it was read before (billed once)."""
        ids = self.call_ids
        if ids is None:
            self.call_ids, self.totals = {span_id}, CostTotals()
            return True
        if span_id in ids:
            return False
        ids.add(span_id)
        return True

    def see(self, record: SpanRecord) -> None:
        if self.first_start is None or record.start_ns < self.first_start:
            self.first_start = record.start_ns
            self.first_name = record.name
        self.last_end = max(self.last_end, record.end_ns)
        if not record.parent_span_id and (self.root is None or record.start_ns < self.root[0]):
            self.root = (record.start_ns, record.end_ns, record.name)

    def rank(self) -> tuple[float, int]:
        """Candidate ranking while streaming (all currencies together: a heuristic for what to keep only)."""
        totals = self.totals
        return (float(sum(totals.cost.values())), totals.input_tokens + totals.output_tokens)

    def overview(self, trace_id: str) -> TraceOverview:
        calls = sorted(self.calls or (), key=lambda call: (call.start_ns, call.span_id))
        if self.root is not None:
            start, end, name = self.root
            return TraceOverview(trace_id, name, False, start, end, self.totals, calls)
        return TraceOverview(trace_id, self.first_name, True, self.first_start or 0, self.last_end, self.totals, calls)


class _CallKeeper:
    """Keeps the calls of a bounded set of traces: the most recent ones, and the most expensive older ones.

    A trace's cost is only known once all its calls are read, and its spans arrive close together (an
    exporter writes a trace within seconds), so every trace keeps its calls while it is among the last
    `recent` traces seen. When it leaves that window it is settled: it joins the `capacity` most expensive
    settled traces (a lazy min-heap of ranks) if it beats the cheapest of them, else its calls are dropped.
    A call arriving for a trace whose calls were dropped starts a new list; the drill-down then says how
    many calls are missing.
    """

    def __init__(self, capacity: int, recent: int) -> None:
        self.capacity = capacity
        self.recent_limit = recent
        self.recent: OrderedDict[str, _TraceState] = OrderedDict()
        self.holders: dict[str, _TraceState] = {}
        self._heap: list[tuple[tuple[float, int], int, str]] = []
        self._counter = itertools.count()

    def offer(self, trace_id: str, state: _TraceState, call: LlmCall) -> None:
        """Called after `state.totals` counted `call`."""
        if state.calls is not None:
            state.calls.append(call)
            if trace_id in self.holders:
                self._push(trace_id, state)  # its rank grew
            return
        state.calls = [call]
        self.recent[trace_id] = state
        if len(self.recent) > self.recent_limit:
            self._settle(*self.recent.popitem(last=False))

    def _settle(self, trace_id: str, state: _TraceState) -> None:
        if len(self.holders) >= self.capacity:
            weakest = self._weakest()
            if weakest is None or state.rank() <= self.holders[weakest].rank():
                state.calls = None  # not among the most expensive: its calls are not shown
                return
            self.holders.pop(weakest).calls = None
        self.holders[trace_id] = state
        self._push(trace_id, state)

    def _push(self, trace_id: str, state: _TraceState) -> None:
        heapq.heappush(self._heap, (state.rank(), next(self._counter), trace_id))
        if len(self._heap) > 4 * self.capacity + 16:
            self._heap = [(held.rank(), next(self._counter), held_id) for held_id, held in self.holders.items()]
            heapq.heapify(self._heap)

    def _weakest(self) -> str | None:
        heap = self._heap
        while heap:
            rank, _, trace_id = heap[0]
            state = self.holders.get(trace_id)
            if state is not None and state.rank() == rank:
                return trace_id
            heapq.heappop(heap)  # stale: the trace was evicted or has grown since this entry
        return None


def _first_text(attributes: dict[str, Any], *names: str) -> str:
    for name in names:
        value = attributes.get(name)
        if value not in (None, ""):
            return str(value)
    return UNKNOWN


def _to_call(record: SpanRecord, cost: CallCost) -> LlmCall:
    attributes = record.attributes
    cached = attributes.get(GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)
    if cost.failed:
        status, reason = CallStatus.FAILED, str(attributes.get(ERROR_TYPE) or record.status_message or "error")
    elif cost.unpriced:
        status = CallStatus.UNPRICED
        reason = str(cost.unpriced_reason or attributes.get(TOKENOMICS_COST_UNPRICED_REASON) or MISSING_REASON)
    elif not cost.amount:
        status, reason = CallStatus.FREE, ""
    else:
        status, reason = (CallStatus.PRICED_BY_REPORT if cost.priced_by_report else CallStatus.PRICED), ""
    return LlmCall(
        span_id=record.span_id,
        name=record.name,
        start_ns=record.start_ns,
        duration_ns=max(0, record.end_ns - record.start_ns),
        provider=_first_text(attributes, GEN_AI_PROVIDER_NAME, GEN_AI_SYSTEM),
        model=_first_text(attributes, GEN_AI_RESPONSE_MODEL, GEN_AI_REQUEST_MODEL),
        operation=str(attributes.get(GEN_AI_OPERATION_NAME, "")),
        input_tokens=cost.input_tokens,
        cached_tokens=cached if isinstance(cached, int) and not isinstance(cached, bool) else 0,
        output_tokens=cost.output_tokens,
        amount=cost.amount,
        currency=cost.currency,
        status=status,
        reason=reason,
    )


def _add(groups: dict[Any, CostTotals], key: Any, cost: CallCost) -> None:
    totals = groups.get(key)
    if totals is None:
        totals = groups[key] = CostTotals()
    totals.add(cost)


def _weight(totals: CostTotals, currency: str | None) -> tuple[Decimal, int]:
    cost = totals.cost.get(currency, Decimal(0)) if currency is not None else Decimal(0)
    return (cost, totals.input_tokens + totals.output_tokens)


def _ranked(groups: dict[str, CostTotals], currency: str | None) -> list[tuple[str, CostTotals]]:
    """Most expensive (in `currency`) first, then by tokens, then by name."""
    return sorted(groups.items(), key=lambda item: (*(-value for value in _weight(item[1], currency)), item[0]))


class _TimeSeries:
    """Cost per second, minute, hour and day; a finer series is dropped once the range makes it unreadable.

    The range is unknown until the stream ends, so all series start together and the fine ones are given up
    as soon as the calls seen so far span more than they can show: memory stays at a few hundred buckets
    for the fine series, one per day for the coarsest.
    """

    _SERIES = (
        ("second", _NS_PER_SECOND, _SECOND_RANGE_LIMIT),
        ("minute", _NS_PER_MINUTE, _MINUTE_RANGE_LIMIT),
        ("hour", _NS_PER_HOUR, _HOUR_RANGE_LIMIT),
        ("day", _NS_PER_DAY, None),
    )

    def __init__(self) -> None:
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.series: list[dict[int, CostTotals] | None] = [{} for _ in self._SERIES]

    def add(self, start_ns: int, cost: CallCost) -> None:
        if self.first_ns is None or start_ns < self.first_ns:
            self.first_ns = start_ns
        if self.last_ns is None or start_ns > self.last_ns:
            self.last_ns = start_ns
        span = self.last_ns - self.first_ns
        for index, (_, width, limit) in enumerate(self._SERIES):
            buckets = self.series[index]
            if buckets is None:
                continue
            if limit is not None and span > limit:
                self.series[index] = None
                continue
            _add(buckets, start_ns // width, cost)

    def buckets(self) -> tuple[str, list[TimeBucket]]:
        """The finest kept series, with empty buckets filled in so the time axis is linear."""
        for (name, width, _), buckets in zip(self._SERIES, self.series, strict=True):
            if buckets is None:
                continue
            if not buckets:
                return name, []
            first, last = min(buckets), max(buckets)
            return name, [
                TimeBucket(index * width, buckets.get(index) or CostTotals()) for index in range(first, last + 1)
            ]
        raise AssertionError("the day series is always kept")


class _Collector:
    def __init__(self, top: int, cost: CostFunction, include: Callable[[SpanRecord], bool] | None) -> None:
        self.top = top
        self.cost = cost
        self.include = include
        self.traces: dict[str, _TraceState] = {}
        self.keeper = _CallKeeper(max(_MIN_CANDIDATES, _CANDIDATE_FACTOR * top), RECENT_TRACES)
        self.cached_tokens = 0
        # One accumulator per (model, provider, service): a single add per call; the three group-bys and the
        # grand total are rolled up from it at the end (a few dozen combinations, not one per call).
        self.combinations: dict[tuple[str, str, str], CostTotals] = {}
        self.time = _TimeSeries()
        self.unpriced: dict[tuple[str, str, str], UnpricedGroup] = {}
        self.duplicate_calls = 0
        self.untimed_calls = 0

    def add(self, record: SpanRecord) -> None:
        state = self.traces.get(record.trace_id)
        if state is None:
            state = self.traces[record.trace_id] = _TraceState()
        state.see(record)
        if not is_llm_call(record) or (self.include is not None and not self.include(record)):
            return
        if not state.first_time(record.span_id):
            self.duplicate_calls += 1
            return
        cost = self.cost(record)
        if cost is None:
            return
        state.totals.add(cost)
        call = _to_call(record, cost)
        self.keeper.offer(record.trace_id, state, call)

        self.cached_tokens += call.cached_tokens
        _add(self.combinations, (call.model, call.provider, str(record.resource.get("service.name") or UNKNOWN)), cost)
        if record.start_ns > 0:
            self.time.add(record.start_ns, cost)
        else:
            self.untimed_calls += 1
        if call.status == CallStatus.UNPRICED:
            self._add_unpriced(record.trace_id, call)

    def _add_unpriced(self, trace_id: str, call: LlmCall) -> None:
        key = (call.reason, call.provider, call.model)
        group = self.unpriced.get(key)
        if group is None:
            if len(self.unpriced) >= _MAX_UNPRICED_GROUPS:
                key = ("(other reasons)", "", "")
                group = self.unpriced.get(key)
            if group is None:
                group = self.unpriced[key] = UnpricedGroup(*key, example_trace_id=trace_id,
                                                          example_span_name=call.name)
        group.calls += 1
        group.input_tokens += call.input_tokens
        group.output_tokens += call.output_tokens

    def _roll_up(self) -> tuple[CostTotals, list[dict[str, CostTotals]]]:
        totals = CostTotals()
        groups: list[dict[str, CostTotals]] = [{}, {}, {}]  # by model, provider, service
        for names, combination in self.combinations.items():
            totals.merge(combination)
            for name, group in zip(names, groups, strict=True):
                rolled = group.get(name)
                if rolled is None:
                    rolled = group[name] = CostTotals()
                rolled.merge(combination)
        return totals, groups

    def result(self) -> CostOverview:
        totals, (by_model, by_provider, by_service) = self._roll_up()
        currencies = totals.currencies
        main = currencies[0] if currencies else None
        with_calls = [(trace_id, state) for trace_id, state in self.traces.items() if state.totals.llm_calls]

        def trace_order(item: tuple[str, _TraceState]) -> tuple[Decimal, int, int, str]:
            trace_id, state = item
            cost, tokens = _weight(state.totals, main)
            start = state.root[0] if state.root is not None else (state.first_start or 0)
            return (-cost, -tokens, start, trace_id)

        top = heapq.nsmallest(self.top, with_calls, key=trace_order)
        granularity, buckets = self.time.buckets()
        return CostOverview(
            totals=totals,
            cached_tokens=self.cached_tokens,
            trace_count=len(self.traces),
            traces_with_calls=len(with_calls),
            first_ns=self.time.first_ns or 0,
            last_ns=self.time.last_ns or 0,
            granularity=granularity,
            over_time=buckets,
            by_model=_ranked(by_model, main),
            by_provider=_ranked(by_provider, main),
            by_service=_ranked(by_service, main),
            top_traces=[state.overview(trace_id) for trace_id, state in top],
            unpriced=sorted(self.unpriced.values(), key=lambda g: (-g.calls, g.reason, g.provider, g.model)),
            duplicate_calls=self.duplicate_calls,
            untimed_calls=self.untimed_calls,
        )


def collect_overview(
    records: Iterable[SpanRecord],
    *,
    top: int | None = None,
    cost: CostFunction = call_cost,
    include: Callable[[SpanRecord], bool] | None = None,
) -> CostOverview:
    """Consume `records` once and return what the HTML report shows (`top` traces, default `DEFAULT_TOP`).

    `cost` and `include` work as in `build_trace_report`: `cost` decides what a call contributes (a
    `SpanPricer` also prices calls without a cost on the span), `include` (a `SpanFilter`) selects the LLM
    calls counted while every span still shapes its trace (root name, duration). Traces without a selected
    call are not listed.
    """
    collector = _Collector(DEFAULT_TOP if top is None else max(0, top), cost, include)
    for record in records:
        collector.add(record)
    return collector.result()
