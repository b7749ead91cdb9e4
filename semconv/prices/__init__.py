"""Prices for LLM calls: the genai-prices catalog, your price sheets on top, and fast cached lookups.

Usage::

    from otel_tokenomics.semconv.prices import PriceBook
    cost = PriceBook.default().cost(usage, provider="openai", model="gpt-4o-2024-08-06", when=started_at)
    span.set_attributes(cost.span_attributes())

Importing this package is cheap: genai-prices (0.25-0.5 s to import) is loaded on the first lookup.
Modules: `book` (lookup order and caching), `catalog` (genai-prices adapter), `sheet` (price sheet format),
`record` (compiled prices and fallbacks), `cost` (the result), `providers` (OTel → catalog ids),
`currency` (report currency and exchange rates), `validity` (time windows).
"""

from otel_tokenomics.semconv.prices.book import (
    ENV_AUTO_UPDATE,
    ENV_CURRENCY,
    ENV_PRICE_SHEET,
    PriceBook,
    normalize_model,
)
from otel_tokenomics.semconv.prices.compare import ModelQuote, cheapest, rank_by_cost
from otel_tokenomics.semconv.prices.cost import Cost
from otel_tokenomics.semconv.prices.currency import ExchangeRate, RateTable
from otel_tokenomics.semconv.prices.providers import OTEL_TO_CATALOG, catalog_provider_id, price_context
from otel_tokenomics.semconv.prices.record import RATE_FIELDS, PriceRecord, PriceTier
from otel_tokenomics.semconv.prices.sheet import PriceSheet, PriceSheetError, SheetEntry

__all__ = [
    "ENV_AUTO_UPDATE",
    "ENV_CURRENCY",
    "ENV_PRICE_SHEET",
    "OTEL_TO_CATALOG",
    "RATE_FIELDS",
    "Cost",
    "ExchangeRate",
    "ModelQuote",
    "PriceBook",
    "PriceRecord",
    "PriceSheet",
    "PriceSheetError",
    "PriceTier",
    "RateTable",
    "SheetEntry",
    "catalog_provider_id",
    "cheapest",
    "normalize_model",
    "price_context",
    "rank_by_cost",
]
