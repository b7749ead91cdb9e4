"""`SpanEnricher`: one span's attributes in, the cost attributes to add out. Pure, and never raises.

Every host (the in-app exporter, the Rotel collector, tests) calls this one function, so a span gets the same
cost attributes whoever prices it — and the same ones our own instrumentation writes (`Cost.span_attributes`,
`Usage.span_attributes`). The decision per span:

1. no key with a GenAI prefix → `skipped/not_genai` (one `str.startswith` per key: 90 % of spans stop here);
2. `tokenomics.cost.status` already set → `already_priced`: nothing added, never priced twice, but its amount
   and tokens are read back so that a trace roll-up still counts it;
3. agent / workflow / tool / chain span → `skipped/not_llm_call`: its children carry the cost;
4. a cost computed upstream (`operation.cost`, `llm.cost.total`, `gen_ai.usage.cost[.amount]`) → kept as is,
   `provider_cost`;
5. otherwise the normalized usage is priced by the `PriceBook` → `priced`, or `unpriced` with a reason
   (`invalid_usage`, `no_usage`, `no_model`, `unknown_model`, ...). Never a silent 0.

What is written (`cost_attributes`): `full` (default) is every cost attribute our instrumentation writes —
amount, currency, source, status, the per-class breakdown `tokenomics.cost.input/cache_read/cache_write/
output`, the catalog entry and price source, the dialect — plus the token attributes the span lacks.
`compact` writes only `gen_ai.usage.cost.amount`, `.currency`, `.source`, `tokenomics.cost.status` (and the
unpriced reason) plus any missing `gen_ai.usage.*_tokens`: what `otel-tokenomics report` needs. It is for a
host where every attribute written is expensive (Rotel: ~1 µs each); `focus` then re-prices the breakdown.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from otel_tokenomics.processor.dialects import (
    CANONICAL_OPERATIONS,
    LLM_OPERATIONS,
    MAX_TOKENS,
    NormalizedCall,
    looks_like_genai,
    normalize,
)
from otel_tokenomics.processor.stats import (
    ALREADY_PRICED,
    PRICED,
    PROVIDER_COST,
    SKIPPED,
    UNPRICED,
    EnrichmentStats,
    SkipReason,
)
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.attributes import CostStatus, UnpricedReason
from otel_tokenomics.semconv.prices import Cost, PriceBook
from otel_tokenomics.semconv.usage import Usage

__all__ = ["COST_ATTRIBUTE_MODES", "Enrichment", "SpanEnricher"]

_logger = logging.getLogger("otel_tokenomics.processor")

AttributeValue = str | int | float | bool
_EMPTY_USAGE = Usage()  # priced as unpriced/no_usage by the book, never as 0

#: What `SpanEnricher(cost_attributes=...)` accepts (see the module docstring).
COST_ATTRIBUTE_MODES: tuple[str, ...] = ("full", "compact")
_COMPACT_COST_KEYS: tuple[str, ...] = (
    attr.TOKENOMICS_COST_STATUS,
    attr.TOKENOMICS_COST_UNPRICED_REASON,
    attr.GEN_AI_USAGE_COST_AMOUNT,
    attr.GEN_AI_USAGE_COST_CURRENCY,
    attr.GEN_AI_USAGE_COST_SOURCE,
)
_COMPACT_USAGE_PREFIX = "gen_ai.usage."


class Enrichment(NamedTuple):
    """The verdict on one span. `attributes` are to be SET on the span (empty when nothing is added; shared
    between spans for the common verdicts, so hosts must not mutate it). `llm_call` marks inference and
    embedding spans, the ones a trace roll-up counts as calls; `amount` is None for an unpriced call.

    A NamedTuple, not a frozen dataclass: one is built per GenAI span, at a third of the cost."""

    outcome: str
    reason: str | None
    attributes: dict[str, AttributeValue]
    amount: float | None
    currency: str | None
    input_tokens: int
    output_tokens: int
    llm_call: bool


def _skipped(reason: str) -> Enrichment:
    return Enrichment(SKIPPED, reason, {}, None, None, 0, 0, False)


_NOT_GENAI = _skipped(SkipReason.NOT_GENAI)
_NOT_LLM_CALL = _skipped(SkipReason.NOT_LLM_CALL)
_FAILED_CALL = _skipped(SkipReason.FAILED_CALL)
_NO_LLM_DATA = _skipped(SkipReason.NO_LLM_DATA)
_INTERNAL_ERROR = _skipped(SkipReason.INTERNAL_ERROR)


def _read_count(value: Any) -> int:
    """A count read back from an already-priced span; junk counts as 0 (the span was priced by us)."""
    if type(value) is int and 0 <= value <= MAX_TOKENS:
        return value
    if isinstance(value, float) and math.isfinite(value) and 0 <= value <= MAX_TOKENS:
        return int(value)
    return 0


class SpanEnricher:
    """Prices spans of any instrumentation dialect (see `dialects.py`). One per host; not shared between
    threads (its counters are plain integers).

    `price_book` None means `PriceBook.default()` (the bundled catalog plus `OTEL_TOKENOMICS_PRICE_SHEET`);
    `cost_attributes` is "full" or "compact" (see the module docstring).
    """

    def __init__(self, price_book: PriceBook | None = None, *, cost_attributes: str = "full") -> None:
        if cost_attributes not in COST_ATTRIBUTE_MODES:
            raise ValueError(
                f"cost_attributes must be one of {', '.join(COST_ATTRIBUTE_MODES)}, got {cost_attributes!r}"
            )
        self.price_book = price_book if price_book is not None else PriceBook.default()
        self.stats = EnrichmentStats()
        self.compact = cost_attributes == "compact"
        self._logged_error = False

    def enrich(
        self,
        attributes: Mapping[str, Any],
        *,
        name: str = "",
        kind: int = 0,
        start_time_unix_nano: int = 0,
    ) -> Enrichment:
        """The verdict and the attributes to add for one span. Never raises, whatever the input."""
        stats = self.stats
        stats.seen += 1
        try:
            if not looks_like_genai(attributes):
                stats.not_genai += 1
                return _NOT_GENAI
            result = self._enrich(attributes, start_time_unix_nano)
        except Exception:
            if not self._logged_error:
                self._logged_error = True
                _logger.warning(
                    "otel-tokenomics could not enrich span %r; further errors are only counted", name, exc_info=True
                )
            result = _INTERNAL_ERROR
        stats.count(result.outcome, result.reason)
        return result

    def _enrich(self, attributes: Mapping[str, Any], start_time_unix_nano: int) -> Enrichment:
        if attr.TOKENOMICS_COST_STATUS in attributes:
            operation = attributes.get(attr.GEN_AI_OPERATION_NAME)
            if isinstance(operation, str) and operation.lower() not in LLM_OPERATIONS:
                return _NOT_LLM_CALL  # e.g. an invoke_agent span summing its calls' cost: never counted again
            return _already_priced(attributes)
        call = normalize(attributes, genai_checked=True)
        if call is None:
            return _NOT_GENAI
        if not call.llm_call:
            return _NOT_LLM_CALL
        if call.reported_cost is not None:
            cost = Cost.reported_by_provider(call.reported_cost, call.reported_cost_currency or "USD")
            added = self._attributes(attributes, call, cost)
            if not self.compact:
                added[attr.TOKENOMICS_COST_REPORTED_BY] = call.reported_cost_key or ""
            return self._verdict(PROVIDER_COST, None, added, cost, call)
        if call.invalid_usage is not None:
            cost = Cost.unpriced(UnpricedReason.INVALID_USAGE, self.price_book.currency)
            return self._verdict(
                UNPRICED, UnpricedReason.INVALID_USAGE, self._attributes(attributes, call, cost), cost, call
            )
        if call.usage is None:
            if call.failed:
                return _FAILED_CALL
            if call.operation is None and call.request_model is None and call.response_model is None:
                return _NO_LLM_DATA
        when = (
            start_time_unix_nano / 1e9 if isinstance(start_time_unix_nano, int) and start_time_unix_nano > 0 else None
        )
        cost = self.price_book.cost(
            call.usage or _EMPTY_USAGE,
            provider=call.provider,
            model=call.response_model,
            request_model=call.request_model,
            server_address=call.server_address,
            service_tier=call.service_tier,
            when=when,
        )
        added = self._attributes(attributes, call, cost)
        if cost.amount is None:
            return self._verdict(UNPRICED, cost.unpriced_reason or UnpricedReason.ERROR, added, cost, call)
        return self._verdict(PRICED, None, added, cost, call)

    def _attributes(self, attributes: Mapping[str, Any], call: NormalizedCall, cost: Cost) -> dict[str, AttributeValue]:
        """Cost attributes, plus the conventions' token attributes and operation name the span does not carry yet
        (never overwriting what an instrumentation wrote), plus the dialect the span was read in (full mode)."""
        added: dict[str, AttributeValue] = {}
        compact = self.compact
        if call.usage is not None:
            for key, value in call.usage.span_attributes().items():
                if key not in attributes and (not compact or key.startswith(_COMPACT_USAGE_PREFIX)):
                    added[key] = value
        if attr.GEN_AI_OPERATION_NAME not in attributes:
            operation = CANONICAL_OPERATIONS.get(call.operation.lower()) if call.operation else None
            added[attr.GEN_AI_OPERATION_NAME] = operation or attr.Operation.CHAT
        costs = cost.span_attributes()
        if compact:
            for key in _COMPACT_COST_KEYS:
                if key in costs:
                    added[key] = costs[key]
            return added
        added.update(costs)
        added[attr.TOKENOMICS_PROCESSOR_DIALECT] = call.dialect
        return added

    @staticmethod
    def _verdict(
        outcome: str, reason: str | None, added: dict[str, AttributeValue], cost: Cost, call: NormalizedCall
    ) -> Enrichment:
        usage = call.usage
        return Enrichment(
            outcome,
            reason,
            added,
            cost.amount,
            cost.currency if cost.amount is not None else None,
            usage.input_tokens if usage is not None else 0,
            usage.output_tokens if usage is not None else 0,
            True,
        )


def _already_priced(attributes: Mapping[str, Any]) -> Enrichment:
    amount = attributes.get(attr.GEN_AI_USAGE_COST_AMOUNT)
    status = attributes.get(attr.TOKENOMICS_COST_STATUS)
    currency = attributes.get(attr.GEN_AI_USAGE_COST_CURRENCY)
    currency = currency if isinstance(currency, str) and currency else None
    priced = (
        status in (CostStatus.PRICED, CostStatus.FREE)
        and isinstance(amount, int | float)
        and not isinstance(amount, bool)
        and math.isfinite(amount)
        and amount >= 0
    )
    if priced:
        value: float | None = float(amount)  # type: ignore[arg-type]
        currency = currency or "USD"
    elif status == CostStatus.FREE and amount is None:
        value = 0.0  # free without an amount (self-hosted): costs nothing in any currency, and is not unpriced
    else:
        value, currency = None, None
    return Enrichment(
        ALREADY_PRICED,
        None,
        {},
        value,
        currency,
        _read_count(attributes.get(attr.GEN_AI_USAGE_INPUT_TOKENS)),
        _read_count(attributes.get(attr.GEN_AI_USAGE_OUTPUT_TOKENS)),
        True,
    )
    currency = attributes.get(attr.GEN_AI_USAGE_COST_CURRENCY)
    return Enrichment(
        ALREADY_PRICED,
        None,
        {},
        float(amount) if priced else None,  # type: ignore[arg-type]
        (currency if isinstance(currency, str) and currency else "USD") if priced else None,
        _read_count(attributes.get(attr.GEN_AI_USAGE_INPUT_TOKENS)),
        _read_count(attributes.get(attr.GEN_AI_USAGE_OUTPUT_TOKENS)),
        True,
    )
