"""`Cost`: the priced (or explicitly unpriced) result for one call, and the span attributes it maps to.

Why a `NamedTuple`: the hot path builds one per call, and a tuple is the cheapest immutable, `__dict__`-less
object Python can build (~0.4 µs against ~1.4 µs for a frozen slotted dataclass with as many fields).

An unpriced cost carries `amount=None`, never a silent 0, and `span_attributes()` then emits no amount at all.
"""

from __future__ import annotations

from typing import NamedTuple

from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.attributes import CostSource, CostStatus

__all__ = ["Cost"]


class Cost(NamedTuple):
    """The cost of one call in the report `currency`.

    `input` (uncached input, incl. input audio and any per-request fee), `cache_read`, `cache_write`
    (5-minute and 1-hour writes) and `output` (incl. reasoning and output audio) do not overlap and sum to
    `amount`.
    """

    status: str
    unpriced_reason: str | None
    amount: float | None
    currency: str
    input: float | None = None
    cache_read: float | None = None
    cache_write: float | None = None
    output: float | None = None
    source: str | None = None
    source_version: str | None = None
    catalog_provider: str | None = None
    catalog_model: str | None = None

    @classmethod
    def _make_priced(
        cls,
        status: str,
        amount: float,
        currency: str,
        input: float,
        cache_read: float,
        cache_write: float,
        output: float,
        source: str | None,
        source_version: str | None,
        catalog_provider: str | None,
        catalog_model: str | None,
        _new=tuple.__new__,
    ) -> Cost:
        """Positional fast constructor for the hot path (skips the keyword handling of `Cost(...)`)."""
        return _new(
            cls,
            (
                status,
                None,
                amount,
                currency,
                input,
                cache_read,
                cache_write,
                output,
                source,
                source_version,
                catalog_provider,
                catalog_model,
            ),
        )

    @classmethod
    def unpriced(
        cls,
        reason: str,
        currency: str = "USD",
        *,
        source: str | None = None,
        source_version: str | None = None,
        catalog_provider: str | None = None,
        catalog_model: str | None = None,
    ) -> Cost:
        """A cost that could not be computed, with its `UnpricedReason`."""
        return cls(
            CostStatus.UNPRICED,
            reason,
            None,
            currency,
            source=source,
            source_version=source_version,
            catalog_provider=catalog_provider,
            catalog_model=catalog_model,
        )

    @classmethod
    def reported_by_provider(cls, amount: float, currency: str = "USD") -> Cost:
        """A cost the provider computed itself (OpenRouter's `usage.cost`): kept as is, not re-priced."""
        return cls(CostStatus.PRICED, None, amount, currency, source=CostSource.PROVIDER)

    @property
    def is_priced(self) -> bool:
        """True when `amount` is a number (status `priced` or `free`)."""
        return self.amount is not None

    def span_attributes(self) -> dict[str, str | float]:
        """The attributes to set on the call's span (names from `semconv.attributes`)."""
        attributes: dict[str, str | float] = {attr.TOKENOMICS_COST_STATUS: self.status}
        if self.amount is None:
            attributes[attr.TOKENOMICS_COST_UNPRICED_REASON] = (
                self.unpriced_reason or attr.UnpricedReason.ERROR
            )
        else:
            attributes[attr.GEN_AI_USAGE_COST_AMOUNT] = self.amount
            attributes[attr.GEN_AI_USAGE_COST_CURRENCY] = self.currency
            if self.source == CostSource.PROVIDER:  # no breakdown: the provider reports only a total
                attributes[attr.GEN_AI_USAGE_COST_SOURCE] = CostSource.PROVIDER
            else:
                attributes[attr.GEN_AI_USAGE_COST_SOURCE] = CostSource.LOCAL
                attributes[attr.TOKENOMICS_COST_INPUT] = self.input or 0.0
                attributes[attr.TOKENOMICS_COST_CACHE_READ] = self.cache_read or 0.0
                attributes[attr.TOKENOMICS_COST_CACHE_WRITE] = self.cache_write or 0.0
                attributes[attr.TOKENOMICS_COST_OUTPUT] = self.output or 0.0
        if self.catalog_provider:
            attributes[attr.TOKENOMICS_COST_PROVIDER] = self.catalog_provider
        if self.catalog_model:
            attributes[attr.TOKENOMICS_COST_MODEL] = self.catalog_model
        if self.source:
            attributes[attr.TOKENOMICS_PRICE_SOURCE] = self.source
        if self.source_version:
            attributes[attr.TOKENOMICS_PRICE_VERSION] = self.source_version
        return attributes
