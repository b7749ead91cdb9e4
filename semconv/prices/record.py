"""Compiled price records: everything needed to price one call, resolved once and reused.

Why: genai-prices spends 100-225 µs per `calc_price` re-resolving its unit registry. Here a lookup is done
once per (provider, model, server, tier) and frozen into a `PriceRecord` (per-million rates, tiers, validity
window); `compile_pricer` then turns the record into a closure doing a handful of integer multiplications.

Exactness: every rate is turned into a `Fraction`, all rates of a record share one integer denominator, and a
call's cost is an exact integer numerator. `int / int` in Python is correctly rounded, so each float handed
out is the nearest float to the exact value; the four breakdown buckets sum to `amount` up to one float
rounding each.

Fallbacks for rates the source does not give (they reproduce genai-prices' decomposition, where an unpriced
sub-unit is simply not subtracted from its parent):

* `cache_read` missing → cache reads are billed at the `input` rate;
* `cache_write` missing → cache writes are billed at the `input` rate;
* `cache_write_1h` missing → 1-hour writes are billed at the `cache_write` rate (or `input`, see above);
* `input_audio` missing → input audio is billed at the `input` rate (and reported in the `input` bucket);
* `output_audio` / `output_reasoning` missing → billed at the `output` rate (reported in the `output` bucket);
* `output` missing (embedding models) → output tokens cost 0, as in genai-prices.

A per-request price (`per_request`, genai-prices' `requests_kcount / 1000`) is charged once per call and
reported in the `input` bucket, so that the four buckets still sum to the amount.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from otel_tokenomics.semconv.attributes import CostStatus
from otel_tokenomics.semconv.prices.cost import Cost
from otel_tokenomics.semconv.usage import Usage

__all__ = ["RATE_FIELDS", "PriceRecord", "PriceTier", "Pricer", "compile_pricer"]

#: Per-million-token rate names, in display order.
RATE_FIELDS: tuple[str, ...] = (
    "input",
    "output",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "input_audio",
    "output_audio",
    "output_reasoning",
)

Pricer = Callable[[Usage], Cost]

_EMPTY: Mapping[str, Decimal] = MappingProxyType({})
_MTOK = 1_000_000


@dataclass(frozen=True, slots=True)
class PriceTier:
    """From `start` on (total input tokens strictly greater than `start`, genai-prices' `>`), `rates` replace
    the base rates of the same name for *every* token of the call ("cliff" tiers). Tiers are cumulative: a
    rate changed by a lower tier stays changed unless a higher tier changes it again."""

    start: int
    rates: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class PriceRecord:
    """One model's prices, as they apply during [`valid_from`, `valid_until`) (epoch seconds).

    Rates are per million tokens in `currency` (already converted to the report currency), `None` where the
    source has none (see the module docstring for the fallbacks). `free` marks an explicit zero price.
    """

    provider: str | None
    model: str | None
    source: str
    source_version: str
    currency: str = "USD"
    input: Decimal | None = None
    output: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None
    input_audio: Decimal | None = None
    output_audio: Decimal | None = None
    output_reasoning: Decimal | None = None
    tiers: tuple[PriceTier, ...] = ()
    per_request: Decimal | None = None
    free: bool = False
    valid_from: float = -math.inf
    valid_until: float = math.inf

    def rates(self) -> dict[str, Decimal]:
        """The base rates that are set, by name."""
        return {name: value for name in RATE_FIELDS if (value := getattr(self, name)) is not None}

    def scaled(self, factor: Decimal) -> PriceRecord:
        """This record with every price multiplied by `factor` (a negotiated discount or a currency rate)."""

        def mul(value: Decimal | None) -> Decimal | None:
            return None if value is None else value * factor

        changes: dict[str, object] = {name: mul(getattr(self, name)) for name in RATE_FIELDS}
        changes["tiers"] = tuple(
            PriceTier(tier.start, MappingProxyType({k: v * factor for k, v in tier.rates.items()}))
            for tier in self.tiers
        )
        changes["per_request"] = mul(self.per_request)
        return _replace(self, **changes)

    def with_provenance(self, **changes: object) -> PriceRecord:
        """A copy with other provenance/validity fields (source, currency, valid_from, ...)."""
        return _replace(self, **changes)


def _replace(record: PriceRecord, **changes: object) -> PriceRecord:
    values = {name: getattr(record, name) for name in PriceRecord.__dataclass_fields__}
    values.update(changes)
    return PriceRecord(**values)  # type: ignore[arg-type]


# --- compilation -------------------------------------------------------------------------------------------


def _fraction(value: Decimal | None) -> Fraction | None:
    return None if value is None else Fraction(value)


def _band_rates(base: dict[str, Fraction | None]) -> tuple[Fraction, ...]:
    """The eight effective rates of one band, fallbacks applied (order: in, out, cr, cw, cw1h, ia, oa, or)."""
    zero = Fraction(0)
    inp = base["input"] if base["input"] is not None else zero
    out = base["output"] if base["output"] is not None else zero
    cr = base["cache_read"] if base["cache_read"] is not None else inp
    cw = base["cache_write"] if base["cache_write"] is not None else inp
    cw1h = base["cache_write_1h"] if base["cache_write_1h"] is not None else cw
    ia = base["input_audio"] if base["input_audio"] is not None else inp
    oa = base["output_audio"] if base["output_audio"] is not None else out
    orr = base["output_reasoning"] if base["output_reasoning"] is not None else out
    return (inp, out, cr, cw, cw1h, ia, oa, orr)


def compile_pricer(record: PriceRecord) -> Pricer:
    """A function pricing a `Usage` with `record`: exact integer arithmetic, one allocation (the `Cost`)."""
    status = CostStatus.FREE if record.free else CostStatus.PRICED
    currency = record.currency
    source, version = record.source, record.source_version
    provider, model = record.provider, record.model
    new = Cost._make_priced

    if record.free:
        free_cost = new(status, 0.0, currency, 0.0, 0.0, 0.0, 0.0, source, version, provider, model)
        return lambda usage: free_cost

    base: dict[str, Fraction | None] = {name: _fraction(getattr(record, name)) for name in RATE_FIELDS}
    bands_fr: list[tuple[int, tuple[Fraction, ...]]] = [(-1, _band_rates(base))]
    current = dict(base)
    for tier in sorted(record.tiers, key=lambda t: t.start):
        current.update({k: Fraction(v) for k, v in tier.rates.items()})
        bands_fr.append((tier.start, _band_rates(current)))
    request_fee = Fraction(record.per_request) * _MTOK if record.per_request is not None else Fraction(0)

    denominators = [r.denominator for _, rates in bands_fr for r in rates] + [request_fee.denominator]
    common = math.lcm(*denominators)
    denom = common * _MTOK
    fee = int(request_fee * common)
    # Highest threshold first: the first band whose start the input exceeds applies.
    bands = tuple((start, tuple(int(r * common) for r in rates)) for start, rates in reversed(bands_fr))

    def price(usage: Usage) -> Cost:
        total_in = usage.input_tokens
        for start, rates in bands:  # noqa: B007 - the last band (start -1) always applies
            if total_in > start:
                break
        r_in, r_out, r_cr, r_cw, r_cw1h, r_ia, r_oa, r_or = rates
        cr = usage.cache_read_tokens
        cw = usage.cache_write_tokens
        cw1h = usage.cache_write_1h_tokens
        if cw1h > cw:
            cw1h = cw
        uncached = total_in - cr - cw
        if uncached < 0:
            uncached = 0
        audio_in = usage.input_audio_tokens
        if audio_in > uncached:
            audio_in = uncached
        out = usage.output_tokens
        reasoning = usage.reasoning_tokens
        audio_out = usage.output_audio_tokens
        if reasoning > out:
            reasoning = out
        if audio_out > out - reasoning:
            audio_out = out - reasoning
        n_in = (uncached - audio_in) * r_in + audio_in * r_ia + fee
        n_cr = cr * r_cr
        n_cw = (cw - cw1h) * r_cw + cw1h * r_cw1h
        n_out = (out - reasoning - audio_out) * r_out + reasoning * r_or + audio_out * r_oa
        return new(
            status,
            (n_in + n_cr + n_cw + n_out) / denom,
            currency,
            n_in / denom,
            n_cr / denom,
            n_cw / denom,
            n_out / denom,
            source,
            version,
            provider,
            model,
        )

    return price
