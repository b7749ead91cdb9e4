"""FOCUS 1.2 cost-and-usage rows from LLM spans: what a FinOps tool loads next to the cloud bill.

One row per charge period (UTC hour or day), billing currency, provider, model, OTel service and token class
(uncached input, cache read, cache write, output). The spans are read once and folded into a dict keyed by
that row key, so memory grows with the number of rows, not of spans (plus one hash per LLM call, so a call
read twice is billed once, and per distinct trace and user of a row, for `x_TraceCount`/`x_UserCount`).

Costs per class, for each LLM call (`CallPricer`):

* **Contracted** (ContractedCost = BilledCost = EffectiveCost): what the user pays. A price sheet given to
  the export (`PriceBook(sheets=...)`) wins where one of its entries matches the call; otherwise the span's
  own breakdown (`tokenomics.cost.input/cache_read/cache_write/output`, computed by the instrumentation with
  whatever sheets it had); a span without a cost (another instrumentation, or one the instrumentation could
  not price) is priced with the export's price book.
* **List** (ListCost): the same tokens at the genai-prices catalog's public price, in the billing currency.
  When the catalog has no price for the model (a fine-tune, a self-hosted model priced by a sheet) or no
  exchange rate to the billing currency is known, the contracted price is the only one there is and the list
  cost equals it.
* **Unpriced** calls (no price anywhere) are not exported: FOCUS cost columns may not be null, and a 0 would
  claim the call was free. They are counted per provider, model and reason in `FocusExport.unpriced` for the
  caller to report.

Unit prices are per PricingUnit ("1000000 Tokens"): ListUnitPrice = ListCost / PricingQuantity, so the
FOCUS rule ListUnitPrice x PricingQuantity = ListCost holds (exactly when one price applied to the whole row;
to 18 decimal places when the row mixes prices, e.g. tiers or a price change within the period).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import Any

from otel_tokenomics.analysis.focus_identity import model_identity, provider_identity
from otel_tokenomics.analysis.otlp_reader import SpanRecord
from otel_tokenomics.analysis.report import LLM_OPERATIONS, call_cost
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.attributes import CostSource, CostStatus, UnpricedReason
from otel_tokenomics.semconv.prices import Cost, PriceBook, PriceSheet, PriceSheetError
from otel_tokenomics.semconv.prices.catalog import SOURCE as CATALOG_SOURCE
from otel_tokenomics.semconv.prices.currency import is_currency_code
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "FOCUS_VERSION",
    "PERIODS",
    "TOKEN_CLASSES",
    "CallPricer",
    "FocusExport",
    "PricedCall",
    "TokenClass",
    "UnpricedGroup",
]

FOCUS_VERSION = "1.2"
PERIODS: dict[str, int] = {"hour": 3600, "day": 86400}
"""Charge period lengths in seconds; both divide a day, so epoch-aligned buckets are UTC-aligned."""

NO_BREAKDOWN = "cost_without_breakdown"
"""Unpriced reason for a provider-reported total we cannot split into token classes (no catalog price)."""

_MILLION = Decimal(1_000_000)
_SCALE = Decimal("1e-18")  # the decimal places every amount is rounded to (Parquet decimal128(38, 18))
_ZERO4 = (Decimal(0),) * 4


@dataclass(frozen=True, slots=True)
class TokenClass:
    """How one token class appears in FOCUS: its meter (FOCUS working draft: input and output are separate
    SKUs, cached and uncached input share the input meter) and its cache status (FOCUS_Spec #2099)."""

    name: str
    meter: str
    cache_status: str | None
    description: str


TOKEN_CLASSES: tuple[TokenClass, ...] = (
    TokenClass("input", "Input Tokens", "Uncached", "uncached input tokens"),
    TokenClass("cache_read", "Input Tokens", "CacheRead", "cached input tokens (cache read)"),
    TokenClass("cache_write", "Input Tokens", "CacheWrite", "input tokens written to the cache"),
    TokenClass("output", "Output Tokens", None, "output tokens"),
)


@dataclass(frozen=True, slots=True)
class PricedCall:
    """One call's tokens and costs per token class (order of `TOKEN_CLASSES`), in `currency`."""

    currency: str
    source: str
    tokens: tuple[int, int, int, int]
    contracted: tuple[Decimal, Decimal, Decimal, Decimal]
    listed: tuple[Decimal, Decimal, Decimal, Decimal]


@dataclass(slots=True)
class UnpricedGroup:
    """Unpriced calls of one provider, model and reason: left out of the export, reported beside it."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


def _decimal(value: Any) -> Decimal | None:
    """A span attribute as an exact Decimal (a float via its shortest repr); None when not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except ArithmeticError:
        return None
    return number if number.is_finite() and number >= 0 else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


_Four = tuple[Decimal, Decimal, Decimal, Decimal]
# (billing currency, price source, per-class amounts or the reason they cannot be split)
_Amounts = tuple[str, str, _Four | str]


def _breakdown(cost: Cost) -> _Four | None:
    parts = (cost.input, cost.cache_read, cost.cache_write, cost.output)
    if any(part is None for part in parts):
        return None
    return tuple(Decimal(repr(part)) for part in parts)  # type: ignore[return-value]


def _amounts(cost: Cost) -> _Amounts:
    """A priced `Cost` from the book as (currency, source, per-class amounts)."""
    return cost.currency, cost.source or "", _breakdown(cost) or NO_BREAKDOWN


class CallPricer:
    """Contracted and list cost per token class of one span (see the module docstring for the rules).

    `book` prices spans without a cost; its price sheets, if any, override the costs recorded on spans
    wherever one of their entries matches. List prices come from catalog-only books, one per billing
    currency, built on first use.
    """

    def __init__(self, book: PriceBook | None = None) -> None:
        self.book = book if book is not None else PriceBook.default()
        self._list_books: dict[str, PriceBook | None] = {}

    def price(self, record: SpanRecord) -> PricedCall | str | None:
        """A `PricedCall`, an unpriced reason, or None for a span that is not a billed LLM call."""
        call = call_cost(record)
        if call is None or call.failed:
            return None
        attributes = record.attributes
        usage = Usage.from_span_attributes(attributes)
        reason = _text(attributes.get(attr.TOKENOMICS_COST_UNPRICED_REASON))
        request = {
            "provider": _text(attributes.get(attr.GEN_AI_PROVIDER_NAME) or attributes.get(attr.GEN_AI_SYSTEM)),
            "model": _text(attributes.get(attr.GEN_AI_RESPONSE_MODEL)),
            "request_model": _text(attributes.get(attr.GEN_AI_REQUEST_MODEL)),
            "server_address": _text(attributes.get(attr.SERVER_ADDRESS)),
            "service_tier": _text(
                attributes.get(attr.OPENAI_RESPONSE_SERVICE_TIER) or attributes.get(attr.OPENAI_REQUEST_SERVICE_TIER)
            ),
            "when": record.start_ns / 1e9,
            "self_hosted": reason == UnpricedReason.SELF_HOSTED,
        }
        fresh: Cost | None = None
        contracted: _Amounts | None = None
        if self.book.sheets:
            fresh = self.book.cost(usage, **request)
            if fresh.is_priced and (fresh.source or "").startswith("sheet:"):
                contracted = _amounts(fresh)
        if contracted is None:
            contracted = self._recorded(attributes, usage, request)
        if contracted is None:
            fresh = fresh or self.book.cost(usage, **request)
            if not fresh.is_priced:
                return fresh.unpriced_reason or reason or UnpricedReason.ERROR
            contracted = _amounts(fresh)
        currency, source, amounts = contracted
        if isinstance(amounts, str):
            return amounts
        listed = amounts if source == CATALOG_SOURCE else self._list_price(usage, request, currency) or amounts
        tokens = (usage.uncached_input_tokens, usage.cache_read_tokens, usage.cache_write_tokens, usage.output_tokens)
        return PricedCall(currency, source, tokens, amounts, listed)

    def _recorded(self, attributes: dict[str, Any], usage: Usage, request: dict[str, Any]) -> _Amounts | None:
        """The cost the span carries, split by class; None when it carries none we can use."""
        currency = _text(attributes.get(attr.GEN_AI_USAGE_COST_CURRENCY))
        amount = _decimal(attributes.get(attr.GEN_AI_USAGE_COST_AMOUNT))
        status = attributes.get(attr.TOKENOMICS_COST_STATUS)
        if status == CostStatus.UNPRICED:
            return None
        if status == CostStatus.FREE and amount is None:
            amount = Decimal(0)
        if amount is None or currency is None or not is_currency_code(currency.upper()):
            return None  # no usable amount: priced by the book instead
        currency = currency.upper()
        source = (
            _text(attributes.get(attr.TOKENOMICS_PRICE_SOURCE))
            or _text(attributes.get(attr.GEN_AI_USAGE_COST_SOURCE))
            or CostSource.PROVIDER
        )
        names = (
            attr.TOKENOMICS_COST_INPUT,
            attr.TOKENOMICS_COST_CACHE_READ,
            attr.TOKENOMICS_COST_CACHE_WRITE,
            attr.TOKENOMICS_COST_OUTPUT,
        )
        parts = tuple(_decimal(attributes.get(name)) for name in names)
        if all(part is not None for part in parts):
            return currency, source, parts  # type: ignore[return-value]
        if not amount:
            return currency, source, _ZERO4
        # A total without a breakdown (a provider-reported cost): split it as the catalog's price would.
        shares = self._list_price(usage, request, currency)
        total = sum(shares, Decimal(0)) if shares else Decimal(0)
        if not total:
            return currency, source, NO_BREAKDOWN
        split = [amount * share / total for share in shares[:3]]  # type: ignore[index]
        return currency, source, (*split, amount - sum(split, Decimal(0)))

    def _list_price(self, usage: Usage, request: dict[str, Any], currency: str) -> _Four | None:
        book = self._list_book(currency)
        if book is None:
            return None
        cost = book.cost(usage, **request)
        return _breakdown(cost) if cost.is_priced and cost.source == CATALOG_SOURCE else None

    def _list_book(self, currency: str) -> PriceBook | None:
        """A catalog-only book in `currency`, converting with the export sheets' rates (None without one)."""
        if currency not in self._list_books:
            rates = tuple(rate for sheet in self.book.sheets for rate in sheet.rates)
            sheets = [PriceSheet(name="exchange-rates", version="", rates=rates)] if rates else []
            try:
                book: PriceBook | None = PriceBook(sheets, currency=currency)
            except PriceSheetError:
                book = None
            self._list_books[currency] = book
        return self._list_books[currency]


@dataclass(slots=True)
class _RowTotals:
    tokens: int = 0
    contracted: Decimal = Decimal(0)
    listed: Decimal = Decimal(0)
    calls: int = 0
    traces: set[int] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)


# Row key: (period start epoch s, currency, provider id, model, OTel service, token class index)
_RowKey = tuple[int, str, str, str, str, int]


class FocusExport:
    """Streaming accumulator of FOCUS rows: `consume(records)`, then `rows()`.

    `billing_account_id`/`billing_account_name` label every row; by default each provider's rows carry the
    provider id as their account (the spans do not know the real account, and one account per provider is
    how those bills arrive).
    """

    def __init__(
        self,
        *,
        period: str = "day",
        pricer: CallPricer | None = None,
        billing_account_id: str | None = None,
        billing_account_name: str | None = None,
    ) -> None:
        if period not in PERIODS:
            raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
        self.period = period
        self._seconds = PERIODS[period]
        self.pricer = pricer if pricer is not None else CallPricer()
        self.billing_account_id = billing_account_id
        self.billing_account_name = billing_account_name
        self._rows: dict[_RowKey, _RowTotals] = {}
        self.unpriced: dict[tuple[str, str, str], UnpricedGroup] = {}
        self.priced_calls = 0
        self.duplicate_calls = 0
        self._seen_calls: set[int] = set()

    @property
    def unpriced_calls(self) -> int:
        return sum(group.calls for group in self.unpriced.values())

    def consume(self, records: Iterable[SpanRecord]) -> FocusExport:
        for record in records:
            self.add(record)
        return self

    def add(self, record: SpanRecord) -> None:
        if record.attributes.get(attr.GEN_AI_OPERATION_NAME) not in LLM_OPERATIONS:
            return  # most spans: decided before any pricing work
        priced = self.pricer.price(record)
        if priced is None:
            return
        call_id = hash((record.trace_id, record.span_id))
        if call_id in self._seen_calls:  # overlapping inputs, an exporter retry: bill the call once
            self.duplicate_calls += 1
            return
        self._seen_calls.add(call_id)
        attributes = record.attributes
        provider = str(attributes.get(attr.GEN_AI_PROVIDER_NAME) or attributes.get(attr.GEN_AI_SYSTEM) or "unknown")
        model = str(
            attributes.get(attr.GEN_AI_RESPONSE_MODEL) or attributes.get(attr.GEN_AI_REQUEST_MODEL) or "unknown"
        )
        if isinstance(priced, str):
            group = self.unpriced.setdefault((provider, model, priced), UnpricedGroup())
            group.calls += 1
            group.input_tokens += _int(attributes.get(attr.GEN_AI_USAGE_INPUT_TOKENS))
            group.output_tokens += _int(attributes.get(attr.GEN_AI_USAGE_OUTPUT_TOKENS))
            return
        self.priced_calls += 1
        start = record.start_ns // 1_000_000_000
        period_start = start - start % self._seconds
        service = str(record.resource.get("service.name") or "unknown_service")
        user = attributes.get("user.id") or attributes.get("enduser.id")
        trace = hash(record.trace_id)
        for index in range(4):
            tokens, contracted, listed = priced.tokens[index], priced.contracted[index], priced.listed[index]
            if not (tokens or contracted or listed):
                continue
            key = (period_start, priced.currency, provider, model, service, index)
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = _RowTotals()
            row.tokens += tokens
            row.contracted += contracted
            row.listed += listed
            row.calls += 1
            row.traces.add(trace)
            if user:
                row.users.add(str(user))
            row.sources.add(priced.source)

    def rows(self) -> list[dict[str, Any]]:
        """The FOCUS rows (column name → Decimal, datetime, str, int or None), in a stable order."""
        out = []
        for key in sorted(self._rows):
            out.append(self._row(key, self._rows[key]))
        return out

    def _row(self, key: _RowKey, totals: _RowTotals) -> dict[str, Any]:
        period_start, currency, provider, model, service, index = key
        token_class = TOKEN_CLASSES[index]
        names = provider_identity(provider)
        identity = model_identity(model)
        charge_start = datetime.fromtimestamp(period_start, UTC)
        charge_end = datetime.fromtimestamp(period_start + self._seconds, UTC)
        billing_start = charge_start.replace(day=1, hour=0)
        billing_end = (billing_start.replace(day=28) + _FOUR_DAYS).replace(day=1)
        quantity = Decimal(totals.tokens).scaleb(-6)
        contracted = _round(totals.contracted)
        listed = _round(totals.listed)
        details: dict[str, Any] = {"ModelId": identity.model_id, "ModelFamily": identity.family}
        if identity.developer:
            details["ModelDeveloper"] = identity.developer
        if identity.version:
            details["ModelVersion"] = identity.version
        details["x_TokenClass"] = token_class.name
        if token_class.cache_status:
            details["x_CacheStatus"] = token_class.cache_status
        sku = f"{provider}:{model}:{'output' if token_class.name == 'output' else 'input'}"
        return {
            "BilledCost": contracted,
            "BillingAccountId": self.billing_account_id or provider,
            "BillingAccountName": self.billing_account_name,
            "BillingCurrency": currency,
            "BillingPeriodStart": billing_start,
            "BillingPeriodEnd": billing_end,
            "ChargeCategory": "Usage",
            "ChargeClass": None,
            "ChargeDescription": f"{model} {token_class.description} on {names.service}",
            "ChargeFrequency": "Usage-Based",
            "ChargePeriodStart": charge_start,
            "ChargePeriodEnd": charge_end,
            "ConsumedQuantity": Decimal(totals.tokens),
            "ConsumedUnit": "Tokens",
            "ContractedCost": contracted,
            "ContractedUnitPrice": _unit_price(contracted, quantity),
            "EffectiveCost": contracted,
            "HostProviderName": names.host,
            "InvoiceIssuerName": names.provider,
            "ListCost": listed,
            "ListUnitPrice": _unit_price(listed, quantity),
            "PricingCategory": "Standard",
            "PricingQuantity": quantity,
            "PricingUnit": "1000000 Tokens",
            "ProviderName": names.provider,
            "PublisherName": identity.developer or names.provider,
            "ServiceCategory": "AI and Machine Learning",
            "ServiceName": names.service,
            "ServiceProviderName": names.provider,
            "ServiceSubcategory": "Generative AI",
            "SkuId": sku,
            "SkuMeter": token_class.meter,
            "SkuPriceDetails": json.dumps(details, separators=(",", ":")),
            "SkuPriceId": f"{provider}:{model}:{token_class.name}",
            "Tags": json.dumps({"service.name": service}, separators=(",", ":")),
            "x_ServiceName": service,
            "x_ProviderId": provider,
            "x_ModelId": model,
            "x_TokenClass": token_class.name,
            "x_PriceSource": ";".join(sorted(totals.sources)),
            "x_CallCount": totals.calls,
            "x_TraceCount": len(totals.traces),
            "x_UserCount": len(totals.users),
        }


_FOUR_DAYS = datetime(2000, 1, 5) - datetime(2000, 1, 1)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _round(amount: Decimal) -> Decimal:
    """Rounded to 18 decimal places (what Parquet's decimal128(38, 18) holds), trailing zeros dropped."""
    with localcontext() as context:
        context.prec = 38
        rounded = amount.quantize(_SCALE)
    return rounded.normalize() if rounded else Decimal(0)


def _unit_price(cost: Decimal, quantity: Decimal) -> Decimal | None:
    """Price per PricingUnit; null when nothing was consumed (a per-request fee alone)."""
    if not quantity:
        return None
    with localcontext() as context:
        context.prec = 38
        return _round(cost / quantity)
