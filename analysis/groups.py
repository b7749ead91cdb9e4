"""Group keys for cost reports (`report --by ...`) and the listing of unpriced calls.

A group key reads one LLM call's span and returns the group it belongs to. Attributes are read from the span
first, then from its resource, so `user.id` set as a resource attribute of a per-tenant service also works.
A call without the attribute goes to `(none)`: it is counted, never dropped, so per-group totals always add
up to the grand total.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from otel_tokenomics.analysis.otlp_reader import SpanRecord
from otel_tokenomics.analysis.report import CallCost, CostFunction
from otel_tokenomics.semconv.attributes import (
    GEN_AI_CONVERSATION_ID,
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_SYSTEM,
)

__all__ = ["GROUP_BYS", "NONE_GROUP", "UnpricedCall", "UnpricedRecorder", "group_key"]

NONE_GROUP = "(none)"
"""The group of calls that lack the grouping attribute."""

GROUP_BYS = ("trace", "user", "session", "service", "provider", "model", "operation", "day")
"""What `report --by` accepts; `trace` is the trace report, the others sum LLM calls per key."""

_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "user": ("user.id", "enduser.id"),
    "session": (GEN_AI_CONVERSATION_ID, "session.id"),
    "service": ("service.name",),
    "provider": (GEN_AI_PROVIDER_NAME, GEN_AI_SYSTEM),
    "model": (GEN_AI_RESPONSE_MODEL, GEN_AI_REQUEST_MODEL),
    "operation": (GEN_AI_OPERATION_NAME,),
}


def _first_attribute(names: tuple[str, ...]) -> Callable[[SpanRecord], str]:
    def key(record: SpanRecord) -> str:
        for name in names:
            value = record.attributes.get(name)
            if value is None or value == "":
                value = record.resource.get(name)
            if value is not None and value != "":
                return str(value)
        return NONE_GROUP

    return key


def _day(record: SpanRecord) -> str:
    if not record.start_ns:
        return NONE_GROUP
    return datetime.fromtimestamp(record.start_ns // 1_000_000_000, UTC).strftime("%Y-%m-%d")


def group_key(by: str) -> Callable[[SpanRecord], str]:
    """The key function for `by` (any of `GROUP_BYS` but `trace`); ValueError otherwise. Days are UTC."""
    if by == "day":
        return _day
    try:
        return _first_attribute(_ATTRIBUTES[by])
    except KeyError:
        raise ValueError(f"unknown group {by!r}; expected one of {', '.join(GROUP_BYS)}") from None


@dataclass(frozen=True, slots=True)
class UnpricedCall:
    """One call without a price, with what a user needs to find it and fix the price book."""

    trace_id: str
    span_id: str
    start_ns: int
    service: str
    provider: str
    model: str
    reason: str
    input_tokens: int
    output_tokens: int


@dataclass
class UnpricedRecorder:
    """Wraps a cost function; keeps the first `limit` unpriced calls and counts all per (provider, model, reason).

    Use `recorder.wrap(cost)` as the `cost` of `build_trace_report`/`aggregate`: the report itself is not
    changed, the recorder just sees every call as it is costed.
    """

    limit: int = 1000
    calls: list[UnpricedCall] = field(default_factory=list)
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    total: int = 0

    def wrap(self, cost: CostFunction) -> CostFunction:
        provider_of = _first_attribute(_ATTRIBUTES["provider"])
        model_of = _first_attribute(_ATTRIBUTES["model"])
        service_of = _first_attribute(_ATTRIBUTES["service"])

        def recording(record: SpanRecord) -> CallCost | None:
            call = cost(record)
            if call is not None and call.unpriced:
                provider, model, reason = provider_of(record), model_of(record), call.unpriced_reason or "unknown"
                self.total += 1
                group = (provider, model, reason)
                self.counts[group] = self.counts.get(group, 0) + 1
                if len(self.calls) < self.limit:
                    self.calls.append(
                        UnpricedCall(
                            record.trace_id,
                            record.span_id,
                            record.start_ns,
                            service_of(record),
                            provider,
                            model,
                            reason,
                            call.input_tokens,
                            call.output_tokens,
                        )
                    )
            return call

        return recording
