"""Price, at report time, the LLM calls whose spans carry no cost.

Spans from other instrumentations (or ours with an unknown model at the time) report tokens but no
`gen_ai.usage.cost.amount`. The report prices those with the same `PriceBook` the instrumentation uses (the
genai-prices catalog plus `--price-sheet` files), at the call's own start time, so a price change between the
call and the report does not rewrite history. Spans that already carry an amount keep it: the cost recorded
when the call was made is the one that was billed.

Why a class: the book resolves a (provider, model) once and caches it, so a million spans of six models cost
six catalog look-ups; `SpanPricer` adds only the attribute reads.
"""

from __future__ import annotations

from decimal import Decimal

from otel_tokenomics.analysis.otlp_reader import SpanRecord
from otel_tokenomics.analysis.report import NO_COST_ON_SPAN, CallCost, call_cost
from otel_tokenomics.semconv.attributes import (
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_SYSTEM,
    OPENAI_RESPONSE_SERVICE_TIER,
    SERVER_ADDRESS,
    CostStatus,
    UnpricedReason,
)
from otel_tokenomics.semconv.prices import PriceBook
from otel_tokenomics.semconv.usage import Usage

__all__ = ["SpanPricer"]

# Reasons a price book can overturn: the span had no cost because nobody (or an older catalog or sheet)
# knew the price. `no_usage` and `pricing_error`-free failures stay as they are.
_REPRICEABLE = frozenset(
    {
        NO_COST_ON_SPAN,
        UnpricedReason.UNKNOWN_MODEL,
        UnpricedReason.UNKNOWN_PROVIDER,
        UnpricedReason.SELF_HOSTED,
        UnpricedReason.ERROR,
    }
)


class SpanPricer:
    """`pricer(record)` → the record's `CallCost` (like `call_cost`), pricing calls that lack a cost.

    `book=None` uses `PriceBook.default()` (catalog + `OTEL_TOKENOMICS_PRICE_SHEET`). `reprice=False`
    turns pricing off and behaves exactly like `call_cost`.
    """

    def __init__(self, book: PriceBook | None = None, *, reprice: bool = True) -> None:
        self._book = book
        self._reprice = reprice
        self.priced_by_report = 0  # calls this pricer priced (for the summary line)

    @property
    def book(self) -> PriceBook:
        if self._book is None:
            self._book = PriceBook.default()
        return self._book

    def __call__(self, record: SpanRecord) -> CallCost | None:
        call = call_cost(record)
        if call is None or not self._reprice or not call.unpriced or call.unpriced_reason not in _REPRICEABLE:
            return call
        attributes = record.attributes
        usage = Usage.from_span_attributes(attributes)
        provider = attributes.get(GEN_AI_PROVIDER_NAME) or attributes.get(GEN_AI_SYSTEM)
        cost = self.book.cost(
            usage,
            provider=_text(provider),
            model=_text(attributes.get(GEN_AI_RESPONSE_MODEL)),
            request_model=_text(attributes.get(GEN_AI_REQUEST_MODEL)),
            server_address=_text(attributes.get(SERVER_ADDRESS)),
            service_tier=_text(attributes.get(OPENAI_RESPONSE_SERVICE_TIER)),
            when=record.start_ns / 1e9 if record.start_ns else None,
            # A self-hosted model must not get a public catalog price; only a sheet may price it.
            self_hosted=call.unpriced_reason == UnpricedReason.SELF_HOSTED,
        )
        if cost.amount is None:
            # Keep the span's own reason unless it had none: it knew more about the call than we do now.
            reason = cost.unpriced_reason if call.unpriced_reason == NO_COST_ON_SPAN else call.unpriced_reason
            return CallCost(call.input_tokens, call.output_tokens, None, call.currency, True, unpriced_reason=reason)
        self.priced_by_report += 1
        amount = Decimal(repr(cost.amount))
        if cost.status == CostStatus.FREE and not amount:
            amount = Decimal(0)
        return CallCost(call.input_tokens, call.output_tokens, amount, cost.currency, False, priced_by_report=True)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
