"""Cost per trace: aggregate span records into per-trace token and cost totals.

The work is split in three layers so that later reports (per user, session, model, service, day; filters;
HTML) reuse the first two and only add a key function or a renderer:

1. `call_cost(record)` decides what one span contributes. Only inference and embeddings spans count
   (`chat`, `text_completion`, `generate_content`, `embeddings`): agent, workflow and tool spans carry usage
   that aggregates their children, and counting them too would bill the same tokens twice.
2. `CostTotals` is a mergeable accumulator of those contributions. `aggregate(records, key)` is the generic
   group-by over it; `build_trace_report()` is the trace-shaped group-by, which also tracks the root span
   and timing.
3. Renderers (`otel_tokenomics.analysis.render`) turn a `TraceReport` into a table, CSV or JSON.

Money is summed as `Decimal` (from the float's shortest repr) so that thousands of sub-cent amounts add up
to the figure a person would compute, and amounts in different currencies are kept apart, never added.
An "unpriced" call (no price known) is counted, not shown as a cost of 0.

Memory does not grow with the input: `aggregate` holds one total per group and a bounded window of recent call
ids (to bill a call read twice once); `build_trace_report` folds traces not seen for a window of spans and keeps
only the most expensive ones for the listing (`_TraceFolder`), so a multi-gigabyte file runs in the same memory
as a small one.
"""

from __future__ import annotations

import functools
import gc
import itertools
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, TypeVar

from otel_tokenomics.analysis.otlp_reader import OtlpReader, ReadProblem, ReadStats, SpanRecord
from otel_tokenomics.semconv.attributes import (
    ERROR_TYPE,
    GEN_AI_OPERATION_NAME,
    GEN_AI_USAGE_COST_AMOUNT,
    GEN_AI_USAGE_COST_CURRENCY,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    TOKENOMICS_COST_STATUS,
    TOKENOMICS_COST_UNPRICED_REASON,
    CostStatus,
    Operation,
    UnpricedReason,
)

__all__ = [
    "DEDUP_WINDOW_CALLS",
    "DEFAULT_FOLD_WINDOW",
    "DEFAULT_TRACE_ROWS",
    "LLM_OPERATIONS",
    "NO_COST_ON_SPAN",
    "NO_CURRENCY",
    "CallCost",
    "CallDeduplicator",
    "CostFunction",
    "CostTotals",
    "TraceReport",
    "TraceSummary",
    "aggregate",
    "build_trace_report",
    "call_cost",
    "fewer_gc_passes",
    "is_llm_call",
]

LLM_OPERATIONS = frozenset(
    {Operation.CHAT, Operation.TEXT_COMPLETION, Operation.GENERATE_CONTENT, Operation.EMBEDDINGS}
)
"""`gen_ai.operation.name` values whose spans are individual model calls (and so are billed)."""

NO_CURRENCY = ""
"""Currency key for an amount recorded without `gen_ai.usage.cost.currency`; rendered as unknown."""

NO_COST_ON_SPAN = "no_cost_on_span"
"""Unpriced reason of a call that reports usage but no cost and no reason (an instrumentation that does not
price); the report's price book (`analysis.pricing.SpanPricer`) prices such calls when it knows the model."""

K = TypeVar("K", bound=Hashable)


class CallCost(NamedTuple):
    """What one LLM call contributes. `amount` is None when the call is unpriced.

    A NamedTuple rather than a frozen dataclass: one is built per call, and the frozen dataclass's
    `__init__` took ten times as long (2.5 µs, measured).
    """

    input_tokens: int
    output_tokens: int
    amount: Decimal | None
    currency: str
    unpriced: bool
    failed: bool = False  # the provider call failed (error.type set) and reported no usage: nothing was billed
    unpriced_reason: str | None = None  # why `unpriced` (a `tokenomics.cost.unpriced_reason` value)
    priced_by_report: bool = False  # the span carried no cost; the report's price book priced it


def _int_attr(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _decimal_attr(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        try:
            amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            return None
        return amount if amount.is_finite() else None
    return None


def is_llm_call(record: SpanRecord) -> bool:
    """True for inference and embeddings spans, the ones that are billed (see `LLM_OPERATIONS`)."""
    return record.attributes.get(GEN_AI_OPERATION_NAME) in LLM_OPERATIONS


def call_cost(record: SpanRecord) -> CallCost | None:
    """The cost contribution of `record`, or None if it is not an inference/embeddings span.

    A call is unpriced when the instrumentation said so (`tokenomics.cost.status = unpriced`), or when it
    reports token usage but no cost amount (an instrumentation that does not price at all). A `free` call
    without an amount costs 0 and is priced.
    """
    attributes = record.attributes
    if attributes.get(GEN_AI_OPERATION_NAME) not in LLM_OPERATIONS:
        return None
    input_tokens = _int_attr(attributes.get(GEN_AI_USAGE_INPUT_TOKENS))
    output_tokens = _int_attr(attributes.get(GEN_AI_USAGE_OUTPUT_TOKENS))
    status = attributes.get(TOKENOMICS_COST_STATUS)
    amount = _decimal_attr(attributes.get(GEN_AI_USAGE_COST_AMOUNT))
    currency = attributes.get(GEN_AI_USAGE_COST_CURRENCY)
    currency = currency.strip().upper() if isinstance(currency, str) and currency.strip() else NO_CURRENCY
    has_usage = input_tokens is not None or output_tokens is not None
    if amount is None and not has_usage and (attributes.get(ERROR_TYPE) or record.status_code == 2):
        return CallCost(0, 0, None, currency, False, failed=True)
    unpriced = status == CostStatus.UNPRICED or (amount is None and has_usage and status != CostStatus.FREE)
    reason = None
    if unpriced:
        amount = None
        reason = attributes.get(TOKENOMICS_COST_UNPRICED_REASON)
        if not isinstance(reason, str) or not reason:
            reason = NO_COST_ON_SPAN if has_usage else UnpricedReason.NO_USAGE
    elif amount is None and status == CostStatus.FREE:
        amount = Decimal(0)
    return CallCost(input_tokens or 0, output_tokens or 0, amount, currency, unpriced, unpriced_reason=reason)


@dataclass(slots=True)
class CostTotals:
    """Mergeable sum of LLM calls: counts, tokens, cost per currency, unpriced calls."""

    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)
    priced_calls: dict[str, int] = field(default_factory=dict)
    unpriced_calls: int = 0
    free_calls: int = 0
    failed_calls: int = 0

    def add(self, call: CallCost) -> None:
        self.llm_calls += 1
        self.input_tokens += call.input_tokens
        self.output_tokens += call.output_tokens
        if call.failed:
            self.failed_calls += 1
        elif call.unpriced or call.amount is None:
            self.unpriced_calls += 1
        elif call.currency == NO_CURRENCY and not call.amount:
            self.free_calls += 1  # "free" without an amount: costs nothing in any currency
        else:
            self.cost[call.currency] = self.cost.get(call.currency, Decimal(0)) + call.amount
            self.priced_calls[call.currency] = self.priced_calls.get(call.currency, 0) + 1

    def merge(self, other: CostTotals) -> None:
        self.llm_calls += other.llm_calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.unpriced_calls += other.unpriced_calls
        self.free_calls += other.free_calls
        self.failed_calls += other.failed_calls
        for currency, amount in other.cost.items():
            self.cost[currency] = self.cost.get(currency, Decimal(0)) + amount
        for currency, count in other.priced_calls.items():
            self.priced_calls[currency] = self.priced_calls.get(currency, 0) + count

    @property
    def currencies(self) -> list[str]:
        """Currencies with at least one priced call, most used first (then alphabetical)."""
        return sorted(self.priced_calls, key=lambda currency: (-self.priced_calls[currency], currency))

    @property
    def mixed_currencies(self) -> bool:
        """True when amounts cannot be summed into one figure."""
        return len(self.cost) > 1

    @property
    def fully_unpriced(self) -> bool:
        """Calls were made but none has a price: the cost is unknown, not zero."""
        return self.unpriced_calls > 0 and not self.priced_calls


CostFunction = Callable[[SpanRecord], CallCost | None]
"""What one span contributes: `call_cost`, or a pricer (`analysis.pricing.SpanPricer`) with the same shape."""


@contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """Run the cyclic garbage collector rarely while streaming records.

    Reading creates a million short-lived, acyclic objects per million spans; with the default threshold the
    collector runs every 700 allocations and rescans the long-lived report state each time: a fifth of a
    report's CPU time, measured. Reference counting frees the records anyway; collections still happen,
    just a hundred times less often. The previous thresholds are restored afterwards.
    """
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], 100_000), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


DEDUP_WINDOW_CALLS = 100_000
"""How many recent LLM calls `CallDeduplicator` remembers (two generations of this many, ~25 MB at most)."""


class CallDeduplicator:
    """Remembers recent LLM calls (trace id + span id) so a call read twice is billed once.

    Memory must not grow with the input, so the memory is generational: calls go into a current set; when it
    holds `window` calls it becomes the previous set and a new one starts. A call repeated within `window` to
    `2 * window` calls (an exporter retry, a file rotated and read again, a small file given twice) is caught;
    the same large file given twice is not, and its calls would be counted twice (the README says so).
    Only calls are remembered, not every span.
    """

    __slots__ = ("_current", "_previous", "_window", "duplicates")

    def __init__(self, window: int = DEDUP_WINDOW_CALLS) -> None:
        self._current: set[str] = set()
        self._previous: set[str] = set()
        self._window = max(1, window)
        self.duplicates = 0

    def first_time(self, record: SpanRecord) -> bool:
        key = record.trace_id + record.span_id
        if key in self._current or key in self._previous:
            self.duplicates += 1
            return False
        if len(self._current) >= self._window:
            self._previous, self._current = self._current, set()
        self._current.add(key)
        return True


def _llm_spans(records: Iterable[SpanRecord]) -> Iterator[SpanRecord]:
    """`records`, or, from an `OtlpReader`, only its LLM spans: the others are then never built (a third faster)."""
    if isinstance(records, OtlpReader):
        for batch in records.batches(llm_spans_only=True):
            yield from batch
    else:
        yield from records


def _batches(records: Iterable[SpanRecord], size: int = 1024) -> Iterator[list[SpanRecord]]:
    """`records` in lists: an `OtlpReader`'s lines, else chunks of `size`."""
    if isinstance(records, OtlpReader):
        yield from records.batches()
        return
    iterator = iter(records)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def aggregate(
    records: Iterable[SpanRecord],
    key: Callable[[SpanRecord], K | None],
    *,
    cost: CostFunction | None = None,
    include: Callable[[SpanRecord], bool] | None = None,
) -> dict[K, CostTotals]:
    """Generic group-by: sum the LLM calls of `records` per `key(record)` (None drops the record).

    Examples: `key=lambda r: r.attributes.get("gen_ai.request.model")` for cost per model,
    `key=lambda r: r.resource.get("service.name")` per service. Only LLM calls contribute, each once (a call
    read twice is billed once, see `CallDeduplicator`). `cost` and `include` are as in `build_trace_report`.
    Memory grows with the number of groups only.
    """
    cost = cost or call_cost
    first_time = CallDeduplicator().first_time
    groups: dict[K, CostTotals] = {}
    operations = LLM_OPERATIONS
    with fewer_gc_passes():
        for record in _llm_spans(records):
            attributes = record.attributes
            # Most spans are not LLM calls and, read with `llm_attributes_only`, have no attributes at all.
            if not attributes or attributes.get(GEN_AI_OPERATION_NAME) not in operations:
                continue
            if include is not None and not include(record):
                continue
            group = key(record)
            if group is None or not first_time(record):
                continue
            call = cost(record)
            if call is None:
                continue
            totals = groups.get(group)
            if totals is None:
                totals = groups[group] = CostTotals()
            totals.add(call)
    return groups


@dataclass(slots=True)
class TraceSummary:
    """One row of the cost-per-trace report.

    `root_name` is the name of the span without a parent. When the trace's root was not captured (a partial
    export, a sampled-out parent), `root_missing` is set and `root_name` is the earliest span's name; the
    duration is then the span of all seen spans rather than the root's own. `span_count` counts the spans
    read; an LLM call read twice (overlapping inputs, an exporter retry) is billed once, but to keep memory
    bounded by traces rather than spans, other spans are not deduplicated.
    """

    trace_id: str
    root_name: str
    root_missing: bool
    start_ns: int
    end_ns: int
    span_count: int
    totals: CostTotals

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)

    @property
    def display_root(self) -> str:
        return f"(root missing) {self.root_name}" if self.root_missing else self.root_name


DEFAULT_TRACE_ROWS = 1_000
"""Traces `build_trace_report` keeps for the listing by default (the most expensive); totals cover all."""

DEFAULT_FOLD_WINDOW = 200_000
"""Spans after which a trace not seen again is taken as complete and folded (see `build_trace_report`)."""


class _TraceAccumulator:
    """Per-trace running state while streaming: a few fields, never the spans themselves.

    Kept small on purpose: the totals object and the set of call ids (to bill a call read twice once) are only
    created for traces with an LLM call. `last_seen` is the position of the trace's latest span in the input,
    which decides when the trace is folded. `split` marks the part of a trace read after the trace had been
    folded and forgotten.
    """

    __slots__ = (
        "call_ids",
        "counted",
        "first_name",
        "first_start",
        "last_end",
        "last_seen",
        "root_end",
        "root_name",
        "root_start",
        "span_count",
        "split",
        "totals",
    )

    def __init__(self, record: SpanRecord) -> None:
        self.first_start = record.start_ns
        self.first_name = record.name
        self.last_end = record.end_ns
        self.root_start: int | None = None
        self.root_end = 0
        self.root_name = ""
        self.span_count = 0
        self.totals: CostTotals | None = None
        self.call_ids: str | set[str] | None = None  # the span ids of its LLM calls
        self.last_seen = 0
        self.counted = False  # already counted in the report's number of traces
        self.split = False

    def first_time(self, span_id: str) -> bool:
        """False when this LLM call of the trace was already seen (a duplicate)."""
        seen = self.call_ids
        if seen is None:
            self.call_ids = span_id  # most traces have one call: no set for them
            return True
        if isinstance(seen, str):
            if seen == span_id:
                return False
            self.call_ids = {seen, span_id}
            return True
        if span_id in seen:
            return False
        seen.add(span_id)
        return True

    def add_call(self, call: CallCost) -> None:
        if self.totals is None:
            self.totals = CostTotals()
        self.totals.add(call)

    def summary(self, trace_id: str) -> TraceSummary:
        totals = self.totals if self.totals is not None else CostTotals()
        if self.root_start is not None:
            return TraceSummary(
                trace_id, self.root_name, False, self.root_start, self.root_end, self.span_count, totals
            )
        return TraceSummary(trace_id, self.first_name, True, self.first_start, self.last_end, self.span_count, totals)


class _ForgottenTraces:
    """Which traces were folded and then dropped from memory: a fixed-size Bloom filter (8 MB, 4 probes).

    Used only to notice that a span belongs to such a trace (to count it as split, not as a new trace).
    A false positive (about 1 in 100,000 with a million dropped traces) makes a new trace count as split.
    """

    _BITS = 1 << 26

    __slots__ = ("_bits",)

    def __init__(self) -> None:
        self._bits = bytearray(self._BITS // 8)

    def _probes(self, trace_id: str) -> tuple[int, int, int, int]:
        digest = hash(trace_id) & 0xFFFFFFFFFFFFFFFF
        first, second = digest & 0xFFFFFFFF, (digest >> 32) | 1  # double hashing from one 64-bit hash
        mask = self._BITS - 1
        return (first & mask, (first + second) & mask, (first + 2 * second) & mask, (first + 3 * second) & mask)

    def add(self, trace_id: str) -> None:
        bits = self._bits
        for probe in self._probes(trace_id):
            bits[probe >> 3] |= 1 << (probe & 7)

    def __contains__(self, trace_id: str) -> bool:
        bits = self._bits
        return all(bits[probe >> 3] & (1 << (probe & 7)) for probe in self._probes(trace_id))


_ZERO = Decimal(0)


@functools.cache
def _rank(currency: str | None) -> Callable[[tuple[str, _TraceAccumulator]], tuple[Decimal, int, int, str]]:
    """The listing's sort key when `currency` is the report's main currency (None: no priced call)."""

    def key(item: tuple[str, _TraceAccumulator]) -> tuple[Decimal, int, int, str]:
        trace_id, accumulator = item
        start = accumulator.root_start if accumulator.root_start is not None else accumulator.first_start
        row = accumulator.totals
        if row is None:
            return (_ZERO, 0, start, trace_id)
        cost = row.cost.get(currency, _ZERO) if currency is not None else _ZERO
        return (-cost, -(row.input_tokens + row.output_tokens), start, trace_id)

    return key


@dataclass(slots=True)
class TraceReport:
    """The most expensive traces (most expensive first), grand totals over all, and what the reader skipped.

    Sorting: by cost in `main_currency` (the currency of most priced calls), then by tokens, then by start
    time. Traces whose only cost is in another currency therefore sort after those with a main-currency
    cost; they are never converted. `traces` holds at most the rows `build_trace_report` kept;
    `trace_count` is the number of traces in the totals.
    """

    traces: list[TraceSummary]
    totals: CostTotals
    main_currency: str | None
    stats: ReadStats | None = None
    problems: list[ReadProblem] = field(default_factory=list)
    duplicate_spans: int = 0
    """LLM calls read more than once (same trace and span id) and billed once."""
    trace_count: int | None = None
    """Traces in the totals (None: `len(traces)`)."""
    late_spans: int = 0
    """Spans read after their trace had been folded and dropped from the listing (see `build_trace_report`)."""
    split_traces: int = 0
    """Traces those late spans belonged to (a trace split twice counts twice): in the totals, not listed."""

    def top(self, limit: int | None) -> list[TraceSummary]:
        """The first `limit` rows (all when `limit` is None)."""
        return self.traces if limit is None else self.traces[: max(0, limit)]

    @property
    def total_traces(self) -> int:
        return len(self.traces) if self.trace_count is None else self.trace_count

    @property
    def lines_skipped(self) -> int:
        return self.stats.lines_skipped if self.stats else 0


class _TraceFolder:
    """The state of `build_trace_report`: open traces, the folded traces worth listing, and the counters.

    Why folding: a file holds millions of traces, and keeping one accumulator per trace made memory grow with
    the file. Exporters write spans soon after they end, so a trace's spans sit close together in the input;
    a trace not seen for `window` spans is taken as complete. Its calls are already in the grand totals (they
    are added as they are read); folding only decides whether it stays for the listing. Only the `top` most
    expensive folded traces are kept -- for every currency that could turn out to be the main one -- so
    memory depends on `window` and `top`, not on the input size.

    A span of a folded trace that is still kept reopens it: the rows shown stay exact. A span of a folded
    trace that was dropped starts a "split" part: its calls count in the totals, the part is never listed
    (its own totals would be partial), and the report says how many spans and traces were split.
    """

    def __init__(self, top: int | None, window: int | None, include: bool) -> None:
        self.top = top
        self.window = window
        self.include = include
        self.open: dict[str, _TraceAccumulator] = {}
        self.kept: dict[str, _TraceAccumulator] = {}
        # Per ranking, the key of the `top`-th row at the last prune: a folded trace behind every cut can
        # never be listed (cuts only move up), so it is forgotten at once instead of waiting for a prune.
        self.cuts: dict[str | None, tuple[Decimal, int, int, str]] = {}
        self.forgotten: _ForgottenTraces | None = None
        self.currencies: set[str] = set()
        self.trace_count = 0
        self.late_spans = 0
        self.split_traces = 0

    def start(self, record: SpanRecord) -> _TraceAccumulator:
        """The accumulator for a trace id not open now: a new trace, a kept one reopened, or a split part."""
        trace_id = record.trace_id
        accumulator = self.kept.pop(trace_id, None)
        if accumulator is None:
            accumulator = _TraceAccumulator(record)
            if self.forgotten is not None and trace_id in self.forgotten:
                accumulator.split = True
                self.split_traces += 1
        self.open[trace_id] = accumulator
        return accumulator

    def fold_idle(self, position: int) -> None:
        """Fold every open trace whose latest span is more than `window` spans behind `position`."""
        assert self.window is not None
        horizon = position - self.window
        idle = [trace_id for trace_id, accumulator in self.open.items() if accumulator.last_seen <= horizon]
        for trace_id in idle:
            self._fold(trace_id, self.open.pop(trace_id))
        if self.top is not None and len(self.kept) > 4 * self.top:  # amortised: a few sorts per 3 * top folds
            self._prune()

    def fold_all(self) -> None:
        for trace_id, accumulator in self.open.items():
            self._fold(trace_id, accumulator)
        self.open.clear()
        if self.top is not None and len(self.kept) > self.top:
            self._prune()

    def _fold(self, trace_id: str, accumulator: _TraceAccumulator) -> None:
        if accumulator.split:
            return  # its calls are in the totals; a partial row is never listed
        if self.include and accumulator.totals is None:
            self._forget(trace_id)  # no selected call: not in the report
            return
        if not accumulator.counted:
            accumulator.counted = True
            self.trace_count += 1
        if accumulator.totals is not None:
            self.currencies.update(accumulator.totals.cost)
        if self.cuts and self._behind_every_cut(trace_id, accumulator):
            self._forget(trace_id)
            return
        self.kept[trace_id] = accumulator

    def _behind_every_cut(self, trace_id: str, accumulator: _TraceAccumulator) -> bool:
        item = (trace_id, accumulator)
        for currency in (None, *self.currencies):
            cut = self.cuts.get(currency)
            if cut is None or _rank(currency)(item) <= cut:
                return False
        return True

    def _prune(self) -> None:
        """Keep the `top` first traces under every ranking the final report might use; forget the rest."""
        assert self.top is not None
        items = list(self.kept.items())
        keep: set[str] = set()
        for currency in (None, *self.currencies):
            key = _rank(currency)
            items.sort(key=key)
            keep.update(trace_id for trace_id, _ in items[: self.top])
            if len(items) >= self.top:
                self.cuts[currency] = key(items[self.top - 1])
        for trace_id, _ in items:
            if trace_id not in keep:
                del self.kept[trace_id]
                self._forget(trace_id)

    def _forget(self, trace_id: str) -> None:
        if self.window is None:
            return  # nothing is folded before the end: nothing can come back
        if self.forgotten is None:
            self.forgotten = _ForgottenTraces()
        self.forgotten.add(trace_id)


def _consume(
    records: Iterable[SpanRecord],
    folder: _TraceFolder,
    totals: CostTotals,
    cost: CostFunction,
    include: Callable[[SpanRecord], bool] | None,
) -> int:
    """The streaming loop of `build_trace_report`; returns the number of duplicate calls skipped."""
    open_traces = folder.open
    duplicates = 0
    operations = LLM_OPERATIONS
    sweep_every = max(1, folder.window // 4) if folder.window is not None else 0
    next_sweep = sweep_every if sweep_every else float("inf")
    position = 0  # spans read to the end of the current batch: the window counts whole batches (input lines)
    chunk = max(1, min(1024, sweep_every // 2)) if sweep_every else 1024
    for batch in _batches(records, chunk):  # nested loops: no generator step per span
        if position >= next_sweep:
            folder.fold_idle(position)
            next_sweep = position + sweep_every
        position += len(batch)
        for record in batch:
            accumulator = open_traces.get(record.trace_id)
            if accumulator is None:
                accumulator = folder.start(record)
            accumulator.last_seen = position
            # Inlined, not a method of the accumulator: this runs for every span.
            accumulator.span_count += 1
            start = record.start_ns
            if start < accumulator.first_start:
                accumulator.first_start = start
                accumulator.first_name = record.name
            if record.end_ns > accumulator.last_end:
                accumulator.last_end = record.end_ns
            if not record.parent_span_id and (accumulator.root_start is None or start < accumulator.root_start):
                accumulator.root_start, accumulator.root_end, accumulator.root_name = start, record.end_ns, record.name
            if accumulator.split:
                folder.late_spans += 1
            attributes = record.attributes
            if not attributes or attributes.get(GEN_AI_OPERATION_NAME) not in operations:
                continue
            if include is not None and not include(record):
                continue
            if not accumulator.first_time(record.span_id):
                duplicates += 1
                continue
            call = cost(record)
            if call is None:
                continue
            accumulator.add_call(call)
            totals.add(call)
    return duplicates


def build_trace_report(
    records: Iterable[SpanRecord],
    *,
    stats: ReadStats | None = None,
    problems: list[ReadProblem] | None = None,
    cost: CostFunction = call_cost,
    include: Callable[[SpanRecord], bool] | None = None,
    top: int | None = DEFAULT_TRACE_ROWS,
    window: int | None = DEFAULT_FOLD_WINDOW,
) -> TraceReport:
    """Consume `records` (once, streaming) into a `TraceReport`.

    Pass the reader's `stats`/`problems` to carry "N lines skipped" into the output; they are read after
    the records are consumed, so a live `OtlpReader`'s counters are complete. `cost` decides what a span
    contributes (default `call_cost`; a `SpanPricer` also prices calls without a cost). `include` (e.g. a
    `SpanFilter`) selects the LLM calls counted; with it, traces without a selected call are left out, while
    root name and duration still come from all of a trace's spans.

    Memory is bounded by `top` (rows kept for the listing; None keeps every trace) and `window` (a trace not
    seen for that many spans is folded, see `_TraceFolder`; None folds only at the end), not by the input.
    """
    folder = _TraceFolder(top, window, include is not None)
    totals = CostTotals()
    with fewer_gc_passes():
        duplicates = _consume(records, folder, totals, cost, include)
    folder.fold_all()

    currencies = totals.currencies
    main_currency = currencies[0] if currencies else None
    kept = sorted(folder.kept.items(), key=_rank(main_currency))[:top]
    summaries = [accumulator.summary(trace_id) for trace_id, accumulator in kept]
    return TraceReport(
        summaries,
        totals,
        main_currency,
        stats,
        list(problems or ()),
        duplicates,
        trace_count=folder.trace_count,
        late_spans=folder.late_spans,
        split_traces=folder.split_traces,
    )
