"""`TraceRollup`: the cost and tokens of a whole trace, put on its root span.

Why hold spans: a trace's root span usually ends *last*, but its children's costs are only known as they end,
so the roll-up waits `wait_seconds` after a trace's first span (as the Collector's groupbytrace processor
does), then releases the trace with its root span carrying `tokenomics.trace.*`. Only calls count
(`Enrichment.llm_call`): agent and workflow spans sum their children and would count everything twice.

What can go wrong, and what happens then — never a lost span:

* a span arrives after its trace was released → passed on at once, counted in `late_spans` (its cost is in
  `late_cost`, not on the root: the root already left);
* more than `max_traces` traces held → the oldest is released early (`evicted_traces`);
* a trace reaches `max_spans_per_trace` → it is released early (`evicted_traces`); later spans are late;
* no root span (it ended in another process, or was dropped) → the earliest span gets the totals
  (`root_missing`);
* costs in several currencies → the amount and currency attributes become parallel arrays, one per currency.

Generic over the host's span type: the host gives the per-span facts (trace id, is_root, start time, the
span's `Enrichment`) and an `attach(root_span, totals)` callback that returns the root with the totals' span
attributes (an SDK `ReadableSpan` is immutable, an OTLP protobuf span is edited in place). Works behind the
load-balancing exporter routing by trace id: each collector then sees every span of its traces.
Thread-safe: `add` (export thread) and `poll` (timer thread) may run concurrently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from otel_tokenomics.processor.enrich import Enrichment
from otel_tokenomics.semconv import attributes as attr

__all__ = [
    "DEFAULT_MAX_SPANS_PER_TRACE",
    "DEFAULT_MAX_TRACES",
    "DEFAULT_WAIT_SECONDS",
    "ReleasedTrace",
    "RollupStats",
    "TraceRollup",
    "TraceTotals",
]

DEFAULT_WAIT_SECONDS = 10.0
DEFAULT_MAX_TRACES = 10_000
DEFAULT_MAX_SPANS_PER_TRACE = 1_000

S = TypeVar("S")
_logger = logging.getLogger("otel_tokenomics.processor")


@dataclass(slots=True)
class TraceTotals:
    """The sums over one trace's spans. `amounts` holds one total per currency; the amount is a lower bound
    when `unpriced_calls` > 0."""

    trace_id: Hashable
    amounts: dict[str, float] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    unpriced_calls: int = 0
    spans: int = 0
    root_missing: bool = False

    def add(self, enrichment: Enrichment) -> None:
        self.spans += 1
        if not enrichment.llm_call:
            return
        self.llm_calls += 1
        self.input_tokens += enrichment.input_tokens
        self.output_tokens += enrichment.output_tokens
        amount = enrichment.amount
        if amount is None:
            self.unpriced_calls += 1
        elif enrichment.currency is None and not amount:
            pass  # free without a currency: adds nothing in any currency
        else:
            currency = enrichment.currency or "USD"
            self.amounts[currency] = self.amounts.get(currency, 0.0) + amount

    def span_attributes(self) -> dict[str, str | int | float | list[str] | list[float]]:
        """The `tokenomics.trace.*` attributes for the root span. No amount at all when nothing was priced
        (never a silent 0); several currencies give parallel arrays sorted by currency."""
        attributes: dict[str, str | int | float | list[str] | list[float]] = {
            attr.TOKENOMICS_TRACE_INPUT_TOKENS: self.input_tokens,
            attr.TOKENOMICS_TRACE_OUTPUT_TOKENS: self.output_tokens,
            attr.TOKENOMICS_TRACE_LLM_CALLS: self.llm_calls,
            attr.TOKENOMICS_TRACE_UNPRICED_CALLS: self.unpriced_calls,
            attr.TOKENOMICS_TRACE_SPANS: self.spans,
        }
        if len(self.amounts) == 1:
            ((currency, amount),) = self.amounts.items()
            attributes[attr.TOKENOMICS_TRACE_COST_AMOUNT] = amount
            attributes[attr.TOKENOMICS_TRACE_COST_CURRENCY] = currency
        elif self.amounts:
            currencies = sorted(self.amounts)
            attributes[attr.TOKENOMICS_TRACE_COST_AMOUNT] = [self.amounts[c] for c in currencies]
            attributes[attr.TOKENOMICS_TRACE_COST_CURRENCY] = currencies
        return attributes


@dataclass(slots=True)
class ReleasedTrace(Generic[S]):
    """Spans ready to be passed on. `reason`: `wait` (the wait elapsed), `evicted` (memory bound), `drain`
    (flush/shutdown) — then `totals` is set and `spans[0]` is the root, already carrying them — or `late`
    (one span of a trace released before; `totals` is None)."""

    trace_id: Hashable
    spans: list[S]
    totals: TraceTotals | None
    reason: str


@dataclass(slots=True)
class RollupStats:
    """Counters of the roll-up, for self-telemetry."""

    released_traces: int = 0
    evicted_traces: int = 0
    late_spans: int = 0
    root_missing: int = 0
    attach_errors: int = 0
    late_cost: dict[str, float] = field(default_factory=dict)

    def snapshot(self) -> dict[str, int]:
        return {
            "released_traces": self.released_traces,
            "evicted_traces": self.evicted_traces,
            "late_spans": self.late_spans,
            "root_missing": self.root_missing,
            "attach_errors": self.attach_errors,
        }


class _Held(Generic[S]):
    __slots__ = ("deadline", "earliest", "earliest_start", "root", "spans", "totals")

    def __init__(self, trace_id: Hashable, deadline: float) -> None:
        self.deadline = deadline
        self.spans: list[S] = []
        self.root = -1
        self.earliest = 0
        self.earliest_start: int | None = None
        self.totals = TraceTotals(trace_id)


class TraceRollup(Generic[S]):
    """Holds spans per trace id, then releases each trace with its totals on the root (see module doc).

    `attach(root, totals)` returns the root span carrying `totals.span_attributes()`. `clock` is a monotonic
    seconds clock (injectable for tests). `released_memory` is how many released trace ids are remembered to
    recognise late spans (default 4 * `max_traces`).
    """

    def __init__(
        self,
        attach: Callable[[S, TraceTotals], S],
        *,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        max_traces: int = DEFAULT_MAX_TRACES,
        max_spans_per_trace: int = DEFAULT_MAX_SPANS_PER_TRACE,
        released_memory: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if wait_seconds < 0 or max_traces < 1 or max_spans_per_trace < 1:
            raise ValueError(
                "TraceRollup: wait_seconds must be >= 0, max_traces and max_spans_per_trace >= 1 "
                f"(got {wait_seconds}, {max_traces}, {max_spans_per_trace})"
            )
        self._attach = attach
        self.wait_seconds = float(wait_seconds)
        self.max_traces = max_traces
        self.max_spans_per_trace = max_spans_per_trace
        self._released_memory = released_memory if released_memory is not None else 4 * max_traces
        self._clock = clock
        self._held: OrderedDict[Hashable, _Held[S]] = OrderedDict()  # in arrival order = deadline order
        self._released: OrderedDict[Hashable, None] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = RollupStats()

    @property
    def held_traces(self) -> int:
        return len(self._held)

    def add(
        self,
        span: S,
        trace_id: Hashable,
        enrichment: Enrichment,
        *,
        is_root: bool,
        start_time_unix_nano: int = 0,
        now: float | None = None,
    ) -> list[ReleasedTrace[S]]:
        """Holds `span`; returns what must be passed on now: the span itself if it is late, and traces
        released early to keep memory bounded."""
        if now is None:
            now = self._clock()
        out: list[ReleasedTrace[S]] = []
        with self._lock:
            held = self._held.get(trace_id)
            if held is None:
                if trace_id in self._released:
                    self._count_late(enrichment)
                    return [ReleasedTrace(trace_id, [span], None, "late")]
                while len(self._held) >= self.max_traces:
                    oldest_id, oldest = self._held.popitem(last=False)
                    out.append(self._pop_locked(oldest_id, oldest, "evicted"))
                held = self._held[trace_id] = _Held(trace_id, now + self.wait_seconds)
            index = len(held.spans)
            held.spans.append(span)
            held.totals.add(enrichment)
            if is_root and held.root < 0:
                held.root = index
            if held.earliest_start is None or start_time_unix_nano < held.earliest_start:
                held.earliest_start = start_time_unix_nano
                held.earliest = index
            if len(held.spans) >= self.max_spans_per_trace:
                del self._held[trace_id]
                out.append(self._pop_locked(trace_id, held, "evicted"))
        return [self._finish(released) for released in out]

    def poll(self, now: float | None = None) -> list[ReleasedTrace[S]]:
        """Releases every trace whose wait has elapsed at `now`."""
        if now is None:
            now = self._clock()
        out: list[ReleasedTrace[S]] = []
        with self._lock:
            held = self._held
            while held:
                trace_id, first = next(iter(held.items()))
                if first.deadline > now:
                    break
                del held[trace_id]
                out.append(self._pop_locked(trace_id, first, "wait"))
        return [self._finish(released) for released in out]

    def drain(self) -> list[ReleasedTrace[S]]:
        """Releases every held trace now (flush, shutdown)."""
        with self._lock:
            items = list(self._held.items())
            self._held.clear()
            out = [self._pop_locked(trace_id, held, "drain") for trace_id, held in items]
        return [self._finish(released) for released in out]

    # --- internals ----------------------------------------------------------------------------------------
    def _count_late(self, enrichment: Enrichment) -> None:
        stats = self.stats
        stats.late_spans += 1
        if enrichment.llm_call and enrichment.amount is not None:
            currency = enrichment.currency or "USD"
            stats.late_cost[currency] = stats.late_cost.get(currency, 0.0) + enrichment.amount

    def _pop_locked(self, trace_id: Hashable, held: _Held[S], reason: str) -> ReleasedTrace[S]:
        """Books the release (under the lock); the root is attached in `_finish`, outside it."""
        stats = self.stats
        stats.released_traces += 1
        if reason == "evicted":
            stats.evicted_traces += 1
        totals = held.totals
        if held.root < 0:
            totals.root_missing = True
            stats.root_missing += 1
        released = self._released
        released[trace_id] = None
        while len(released) > self._released_memory:
            released.popitem(last=False)
        root = held.root if held.root >= 0 else held.earliest
        spans = held.spans  # the root goes first; `_finish` replaces it with the one carrying the totals
        spans[0], spans[root] = spans[root], spans[0]
        return ReleasedTrace(trace_id, spans, totals, reason)

    def _finish(self, released: ReleasedTrace[S]) -> ReleasedTrace[S]:
        """Attaches the totals to the root; a failing `attach` keeps the root as it was (logged once)."""
        if released.totals is not None and released.spans:
            try:
                released.spans[0] = self._attach(released.spans[0], released.totals)
            except Exception:
                self.stats.attach_errors += 1
                if self.stats.attach_errors == 1:
                    _logger.warning(
                        "otel-tokenomics: attaching trace totals failed; spans passed on without them", exc_info=True
                    )
        return released
