"""`BudgetGuard`: budgets applied to every instrumented call, through the core's `CallGuard` hook.

Per mode, on each call whose scope a budget applies to:

* **enforce** — before the request: estimate the call (`estimate.py`) and *reserve* the estimate in the ledger
  atomically against the limit; a reservation that would cross the limit raises `BudgetExceededError`, so the
  provider never sees the request. After the call the reservation is settled with the real amount. Because
  every concurrent call reserves before it is sent, concurrent calls cannot overspend by more than the error
  of one estimate.
* **degrade** — before the request: if the window's spend has passed `degrade_at` of the limit, swap the
  request's model for the budget's fallback; the span keeps both models. After: add the real amount.
* **observe** — nothing before; after: add the real amount.

After every call, each threshold the spend crossed becomes a span event, a metric point and a user callback.
Failed calls count 0 (nothing is billed); a stream that ends early without usage is reconciled with what was
seen: the estimated input plus one output token per chunk received.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider, get_meter

from otel_tokenomics.budgets.config import Budget, load_budgets
from otel_tokenomics.budgets.errors import BudgetExceededError, LedgerUnavailable
from otel_tokenomics.budgets.estimate import DEFAULT_OUTPUT_TOKENS, estimate_usage
from otel_tokenomics.budgets.ledger import InProcessLedger, Ledger, Reservation
from otel_tokenomics.budgets.scope import current_scope
from otel_tokenomics.instrumentation.core.guard import logger, report_internal_error
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv import metrics as m
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "ENV_BUDGETS",
    "ENV_BUDGET_FAIL_CLOSED",
    "ENV_BUDGET_REDIS_URL",
    "BudgetEvent",
    "BudgetGuard",
    "guard_from",
]

ENV_BUDGETS = "OTEL_TOKENOMICS_BUDGETS"
ENV_BUDGET_REDIS_URL = "OTEL_TOKENOMICS_BUDGET_REDIS_URL"
ENV_BUDGET_FAIL_CLOSED = "OTEL_TOKENOMICS_BUDGET_FAIL_CLOSED"
_THRESHOLD_EVENT = "tokenomics.budget.threshold"
_SERIES_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class BudgetEvent:
    """What a threshold callback receives."""

    budget: str
    scope: Mapping[str, str]
    window: str
    threshold: float
    spent: float
    limit: float
    unit: str
    currency: str


@dataclass(slots=True)
class _Entry:
    budget: Budget
    series: str
    reservation: Reservation | None


@dataclass(slots=True)
class _CallState:
    scope: Mapping[str, str]  # read-only: `current_scope()` may hand out a shared dict
    trace_id: str | None
    entries: list[_Entry]
    estimate: Usage | None = None
    now: float = 0.0


class BudgetGuard:
    """Applies `budgets` to instrumented calls. One guard (and ledger) may serve every instrumented SDK."""

    refusal_types: tuple[type[BaseException], ...] = (BudgetExceededError, LedgerUnavailable)

    def __init__(
        self,
        budgets: Iterable[Budget],
        *,
        ledger: Ledger | None = None,
        price_book: Any = None,
        clock: Callable[[], float] = time.time,
        default_output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    ) -> None:
        self.budgets = tuple(budgets)
        self.ledger: Ledger = ledger if ledger is not None else InProcessLedger()
        self.price_book = price_book
        self.clock = clock
        self.default_output_tokens = default_output_tokens
        self._instruments: Any = None
        # Only trace windows need the trace id; series names are built once per (budget, scope values).
        self._needs_trace = any(budget.window.kind == "trace" for budget in self.budgets)
        self._series: dict[tuple[int, tuple[str, ...]], str] = {}

    # --- wiring ------------------------------------------------------------------------------------------------
    def bind(self, price_book: Any, meter_provider: MeterProvider | None) -> BudgetGuard:
        """Called by each instrumentor: adopt its price book (if none was given) and create the metrics once."""
        if self.price_book is None:
            self.price_book = price_book
        if self._instruments is None:
            meter = get_meter("otel_tokenomics.budgets", meter_provider=meter_provider)
            self._instruments = (
                meter.create_counter(
                    m.TOKENOMICS_BUDGET_THRESHOLD_CROSSINGS,
                    unit="{crossing}",
                    description="Budget warning thresholds crossed, by budget, scope and threshold.",
                ),
                meter.create_counter(
                    m.TOKENOMICS_BUDGET_REFUSALS,
                    unit="{call}",
                    description="Calls refused before sending because an enforced budget would be exceeded.",
                ),
                meter.create_counter(
                    m.TOKENOMICS_BUDGET_DEGRADATIONS,
                    unit="{call}",
                    description="Calls whose model was swapped for a cheaper fallback by a degrade budget.",
                ),
            )
            unavailable = getattr(self.ledger, "unavailable_count", None)
            if unavailable is not None:
                meter.create_observable_counter(
                    m.TOKENOMICS_BUDGET_LEDGER_UNAVAILABLE,
                    unit="{operation}",
                    description="Ledger operations that could not reach the shared ledger (Redis).",
                    callbacks=[self._observe_unavailable],
                )
        return self

    def _observe_unavailable(self, options: Any = None) -> list[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(int(getattr(self.ledger, "unavailable_count", 0)))]

    # --- before the request ----------------------------------------------------------------------------------
    def before(self, invocation: Any, kwargs: dict[str, Any]) -> None:
        scope = current_scope()
        state: _CallState | None = None
        for budget in self.budgets:
            if not budget.applies_to(scope):
                continue
            if state is None:
                trace_id = _current_trace_id() if self._needs_trace else None
                state = _CallState(scope, trace_id, [], now=self.clock())
                invocation.budget_state = state
            series = self._series_of(budget, scope)
            if budget.mode == "enforce":
                state.entries.append(_Entry(budget, series, self._reserve(invocation, kwargs, state, budget, series)))
            else:
                if budget.mode == "degrade":
                    self._maybe_degrade(invocation, kwargs, state, budget, series)
                state.entries.append(_Entry(budget, series, None))

    def _estimate_amount(self, invocation: Any, kwargs: dict[str, Any], state: _CallState, unit: str) -> float:
        if state.estimate is None:
            state.estimate = estimate_usage(
                kwargs, invocation.endpoint.operation, invocation.request_max_tokens, self.default_output_tokens
            )
        if unit == "tokens":
            return float(state.estimate.total_tokens)
        return self._price(invocation, state.estimate, state.now)

    def _price(self, invocation: Any, usage: Usage, when: float) -> float:
        if self.price_book is None:
            return 0.0
        return invocation.price(self.price_book, usage, when).amount or 0.0

    def _reserve(
        self, invocation: Any, kwargs: dict[str, Any], state: _CallState, budget: Budget, series: str
    ) -> Reservation:
        estimate = self._estimate_amount(invocation, kwargs, state, budget.unit)
        reservation = self.ledger.reserve(
            series, budget.window, estimate, budget.limit, now=state.now, trace_id=state.trace_id
        )
        if reservation.allowed:
            return reservation
        self._release(state)
        invocation.budget_state = None
        invocation.request_attributes[attr.TOKENOMICS_BUDGET_REFUSED_BY] = budget.name
        invocation.request_attributes[attr.TOKENOMICS_BUDGET_ESTIMATE] = estimate
        self._count(1, budget, state.scope)
        raise BudgetExceededError(
            budget=budget.name,
            scope={key: state.scope[key] for key in budget.scope},
            window=budget.window.describe(),
            limit=budget.limit,
            spent=reservation.spent_before,
            estimate=estimate,
            unit=budget.unit,
            currency=self._currency(),
        )

    def _maybe_degrade(
        self, invocation: Any, kwargs: dict[str, Any], state: _CallState, budget: Budget, series: str
    ) -> None:
        at = budget.degrade_at if budget.degrade_at is not None else budget.thresholds[0]
        spent = self.ledger.spent(series, budget.window, now=state.now, trace_id=state.trace_id)
        if spent < at * budget.limit:
            return
        requested = invocation.request_model
        fallback = budget.fallback_for(requested, invocation.provider)
        if not fallback or fallback == requested:
            return
        kwargs[invocation.endpoint.model_param] = fallback
        invocation.request_model = fallback
        invocation.request_attributes[attr.TOKENOMICS_BUDGET_REQUESTED_MODEL] = requested or ""
        invocation.request_attributes[attr.TOKENOMICS_BUDGET_DEGRADED_BY] = budget.name
        self._count(2, budget, state.scope)

    def _release(self, state: _CallState) -> None:
        """Give back what this call reserved before it was refused by a later budget."""
        for entry in state.entries:
            if entry.reservation is not None:
                self.ledger.settle(entry.reservation, 0.0, now=state.now)

    # --- after the call ----------------------------------------------------------------------------------------
    def after(self, invocation: Any, error: BaseException | None) -> None:
        state: _CallState = invocation.budget_state
        invocation.budget_state = None
        usage = self._used(invocation, state, error)
        tokens = float(usage.total_tokens) if usage is not None else 0.0
        cost: float | None = None
        now = self.clock()
        for entry in state.entries:
            budget = entry.budget
            if budget.unit == "tokens":
                amount = tokens
            else:
                if cost is None:
                    cost = self._actual_cost(invocation, usage, state)
                amount = cost
            try:
                if entry.reservation is not None:
                    spent_before = entry.reservation.spent_before
                    spent_after = self.ledger.settle(entry.reservation, amount, now=now)
                else:
                    reservation = self.ledger.reserve(
                        entry.series, budget.window, amount, None, now=now, trace_id=state.trace_id
                    )
                    spent_before = reservation.spent_before
                    spent_after = spent_before + amount
            except LedgerUnavailable:
                continue  # fail-closed ledgers refuse new calls; a finished call's spend cannot be refused
            self._thresholds(invocation, state, budget, spent_before, spent_after)

    def _used(self, invocation: Any, state: _CallState, error: BaseException | None) -> Usage | None:
        if invocation.usage is not None:
            return invocation.usage
        if invocation.chunks_seen:
            # A stream that ended early reported no usage: count what was received.
            estimated_input = state.estimate.input_tokens if state.estimate is not None else 0
            return Usage.from_inclusive(estimated_input, invocation.chunks_seen)
        return None  # failed before any output, or no usage at all: nothing billed that we can know of

    def _actual_cost(self, invocation: Any, usage: Usage | None, state: _CallState) -> float:
        cost = invocation.cost
        if cost is not None and cost.amount is not None:
            return float(cost.amount)
        if usage is None:
            return 0.0
        return self._price(invocation, usage, state.now)

    def _thresholds(
        self, invocation: Any, state: _CallState, budget: Budget, spent_before: float, spent_after: float
    ) -> None:
        for threshold in budget.thresholds:
            level = threshold * budget.limit
            if not spent_before < level <= spent_after:
                continue
            scope = {key: state.scope[key] for key in budget.scope}
            event = BudgetEvent(
                budget.name,
                scope,
                budget.window.describe(),
                threshold,
                spent_after,
                budget.limit,
                budget.unit,
                self._currency(),
            )
            span = invocation.span
            if span is not None:
                span.add_event(
                    _THRESHOLD_EVENT,
                    {
                        attr.TOKENOMICS_BUDGET_NAME: budget.name,
                        attr.TOKENOMICS_BUDGET_SCOPE: _scope_label(scope),
                        attr.TOKENOMICS_BUDGET_THRESHOLD: threshold,
                        attr.TOKENOMICS_BUDGET_SPENT: spent_after,
                        attr.TOKENOMICS_BUDGET_LIMIT: budget.limit,
                        attr.TOKENOMICS_BUDGET_UNIT: budget.unit,
                    },
                )
            self._count(0, budget, state.scope, threshold)
            if budget.on_threshold is not None:
                try:
                    budget.on_threshold(event)
                except Exception:
                    logger.warning("budget %r: the on_threshold callback raised", budget.name, exc_info=True)

    # --- helpers ----------------------------------------------------------------------------------------------
    def _series_of(self, budget: Budget, scope: Mapping[str, str]) -> str:
        key = (id(budget), tuple(scope.get(name, "") for name in budget.scope))
        series = self._series.get(key)
        if series is None:
            series = budget.series(scope)
            if len(self._series) < _SERIES_CACHE_LIMIT:
                self._series[key] = series
        return series

    def _count(self, which: int, budget: Budget, scope: Mapping[str, str], threshold: float | None = None) -> None:
        if self._instruments is None:
            return
        labels: dict[str, Any] = {
            attr.TOKENOMICS_BUDGET_NAME: budget.name,
            attr.TOKENOMICS_BUDGET_SCOPE: _scope_label({key: scope[key] for key in budget.scope if key in scope}),
        }
        if threshold is not None:
            labels[attr.TOKENOMICS_BUDGET_THRESHOLD] = threshold
        try:
            self._instruments[which].add(1, labels)
        except Exception:
            report_internal_error("budget metrics")

    def _currency(self) -> str:
        return str(getattr(self.price_book, "currency", None) or "USD")


def _scope_label(scope: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(scope.items())) or "global"


def _current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


_env_guard: BudgetGuard | None = None


def guard_from(budgets: Any, *, price_book: Any = None, meter_provider: MeterProvider | None = None) -> Any:
    """A bound guard from what the user gave (`BudgetGuard`, `Budget`s, a file) or from the environment.

    The environment's guard is built once per process, so every instrumented SDK shares its ledger.
    """
    global _env_guard
    if budgets is None:
        path = os.environ.get(ENV_BUDGETS)
        if not path:
            return None
        if _env_guard is None:
            _env_guard = BudgetGuard(load_budgets(path), ledger=_ledger_from_env())
        guard = _env_guard
    elif isinstance(budgets, BudgetGuard):
        guard = budgets
    elif isinstance(budgets, str | os.PathLike):
        guard = BudgetGuard(load_budgets(budgets), ledger=_ledger_from_env())
    else:
        guard = BudgetGuard(budgets, ledger=_ledger_from_env())
    return guard.bind(price_book, meter_provider)


def _ledger_from_env() -> Ledger:
    url = os.environ.get(ENV_BUDGET_REDIS_URL)
    if not url:
        return InProcessLedger()
    from otel_tokenomics.budgets.redis_ledger import RedisLedger

    fail_closed = os.environ.get(ENV_BUDGET_FAIL_CLOSED, "").strip().lower() in {"1", "true", "yes", "on"}
    return RedisLedger(url=url, fail_open=not fail_closed)
