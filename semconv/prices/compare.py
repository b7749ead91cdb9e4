"""Ranking models by what an expected usage would cost, so an app can pick the cheapest model that fits.

The same price book as the spans use (sheets, then catalog), so a negotiated discount changes the ranking the way
it changes the bill. Models that cannot be priced are listed last with their reason, never ranked as free.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from otel_tokenomics.semconv.prices.cost import Cost
from otel_tokenomics.semconv.usage import Usage

__all__ = ["ModelQuote", "cheapest", "rank_by_cost"]


@dataclass(frozen=True, slots=True)
class ModelQuote:
    model: str
    provider: str | None
    cost: Cost


def rank_by_cost(
    models: Iterable[str],
    usage: Usage,
    *,
    book: Any = None,
    provider: str | None = None,
    when: float | None = None,
    service_tier: str | None = None,
) -> list[ModelQuote]:
    """Quotes for `usage` on each model, cheapest first; unpriced models last, in the order given."""
    if book is None:
        from otel_tokenomics.semconv.prices.book import PriceBook

        book = PriceBook.default()
    quotes = [
        ModelQuote(
            model, provider, book.cost(usage, provider=provider, model=model, when=when, service_tier=service_tier)
        )
        for model in models
    ]
    priced = sorted((q for q in quotes if q.cost.amount is not None), key=lambda q: q.cost.amount)
    return priced + [q for q in quotes if q.cost.amount is None]


def cheapest(models: Iterable[str], usage: Usage, **options: Any) -> ModelQuote | None:
    """The cheapest model that can be priced, or None if none can."""
    ranked = rank_by_cost(models, usage, **options)
    return ranked[0] if ranked and ranked[0].cost.amount is not None else None
