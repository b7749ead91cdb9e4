"""Agreement with genai-prices' own `calc_price`, the reference, across the whole bundled catalog.

For every (provider, model) entry, several usage shapes and request times (price history, time of day,
scheduled 2027 changes), and every service tier for models with price variants, our total must equal
`calc_price`'s to 1e-9 relative and match the same catalog entry.

Deliberate differences, asserted explicitly below rather than skipped silently:

1. A model priced only in units a token usage does not carry (audio hours, pages, characters: whisper, OCR,
   TTS): genai-prices returns 0; we return unpriced `unknown_model`, because 0 would be a silent false zero.
2. A model whose catalog entry has no prices at all (OpenRouter `:free`, subscription-included models):
   genai-prices returns 0; we return the same 0 but with status `free`.
3. Input audio together with cache reads on a model that prices cached audio separately (Gemini):
   genai-prices raises `ValueError` (it wants `cache_audio_read_tokens`, which our `Usage` does not carry);
   we price the cache reads as text cache reads.
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime

import pytest

from otel_tokenomics.semconv.attributes import CostStatus, UnpricedReason
from otel_tokenomics.semconv.prices import PriceBook, price_context
from otel_tokenomics.semconv.usage import Usage

genai_prices = pytest.importorskip("genai_prices")

SHAPES = {
    "plain": Usage.from_inclusive(10_000, 1_000),
    "cached+reasoning": Usage.from_inclusive(
        13_000,
        500,
        cache_read_tokens=10_000,
        cache_write_tokens=2_000,
        cache_write_1h_tokens=500,
        reasoning_tokens=100,
    ),
    "long-context": Usage.from_inclusive(250_000, 3_000, cache_read_tokens=100_000, reasoning_tokens=1_000),
    "audio": Usage.from_inclusive(5_000, 1_500, input_audio_tokens=1_000, output_audio_tokens=200),
}
AUDIO_AND_CACHE = Usage.from_inclusive(5_000, 1_500, input_audio_tokens=1_000, cache_read_tokens=1_000)
TIMES = [
    datetime(2025, 6, 1, 12, tzinfo=UTC),
    datetime(2026, 11, 23, 12, tzinfo=UTC),
    datetime(2026, 11, 23, 20, tzinfo=UTC),  # DeepSeek off-peak
    datetime(2027, 2, 1, 3, tzinfo=UTC),  # changes scheduled for 2027-01-01
]
TIERS = ["flex", "priority", "default", "batch", "fast"]


def reference_usage(usage: Usage) -> object:
    values = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "output_reasoning_tokens": usage.reasoning_tokens,
        "input_audio_tokens": usage.input_audio_tokens,
        "output_audio_tokens": usage.output_audio_tokens,
    }
    return genai_prices.Usage(**{key: value for key, value in values.items() if value})


def reference(usage: Usage, provider_id: str, model: str, moment: datetime, tier: str | None):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return genai_prices.calc_price(
            reference_usage(usage),
            model,
            provider_id=provider_id,
            genai_request_timestamp=moment,
            price_context=price_context(tier),
        )


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


def catalog_cases() -> list[tuple[str, str, bool]]:
    from genai_prices.data import providers

    return [(p.id, m.id, bool(m.price_variants)) for p in providers for m in p.models]


def test_catalog_is_broad_enough_for_the_agreement_test() -> None:
    cases = catalog_cases()
    assert len(cases) > 2_000
    assert len({provider for provider, _, _ in cases}) > 40


def test_totals_agree_with_calc_price_across_the_catalog(book: PriceBook) -> None:
    compared = 0
    mismatches: list[tuple] = []
    differences: dict[str, set[tuple[str, str]]] = {
        "non_token_units": set(),
        "free": set(),
        "reference_error": set(),
    }
    for provider_id, model, has_variants in catalog_cases():
        for moment in TIMES:
            for tier in [None, *TIERS] if has_variants else [None]:
                for shape, usage in SHAPES.items():
                    if tier is not None and shape != "cached+reasoning":
                        continue
                    ours = book.cost(
                        usage, provider=provider_id, model=model, when=moment.timestamp(), service_tier=tier
                    )
                    try:
                        theirs = reference(usage, provider_id, model, moment, tier)
                    except LookupError:  # an entry whose match clause does not accept its own id
                        assert ours.unpriced_reason == UnpricedReason.UNKNOWN_MODEL, (provider_id, model)
                        continue
                    except ValueError:
                        differences["reference_error"].add((provider_id, model))
                        assert ours.status == CostStatus.PRICED
                        continue
                    total = float(theirs.total_price)
                    if ours.status == CostStatus.UNPRICED:
                        assert ours.unpriced_reason == UnpricedReason.UNKNOWN_MODEL, (provider_id, model)
                        assert total == 0
                        differences["non_token_units"].add((provider_id, model))
                        continue
                    if ours.status == CostStatus.FREE:
                        assert total == 0 and ours.amount == 0
                        differences["free"].add((provider_id, model))
                        continue
                    compared += 1
                    if (ours.catalog_provider, ours.catalog_model) != (
                        theirs.provider.id,
                        theirs.model.id,
                    ) or not (math.isclose(ours.amount, total, rel_tol=1e-9, abs_tol=1e-15)):
                        mismatches.append((provider_id, model, moment, tier, shape, ours, total))
                    parts = ours.input + ours.cache_read + ours.cache_write + ours.output
                    assert math.isclose(parts, ours.amount, rel_tol=1e-12, abs_tol=1e-15)
    assert not mismatches, mismatches[:5]
    assert compared > 10_000
    # The deliberate differences stay what the module docstring says they are.
    assert {model for _, model in differences["non_token_units"]} >= {"whisper-1", "tts-1"}
    assert len(differences["non_token_units"]) < 40
    assert any(model.endswith(":free") for _, model in differences["free"])
    assert {provider for provider, _ in differences["reference_error"]} <= {"google", "openrouter"}


def test_audio_with_cache_reads_is_priced_where_calc_price_refuses(book: PriceBook) -> None:
    moment = TIMES[1]
    with pytest.raises(ValueError, match="cache_audio_read_tokens"):
        reference(AUDIO_AND_CACHE, "google", "gemini-2.5-flash", moment, None)
    ours = book.cost(
        AUDIO_AND_CACHE, provider="gcp.gemini", model="gemini-2.5-flash", when=moment.timestamp()
    )
    record = book.resolve("gcp.gemini", "gemini-2.5-flash", when=moment.timestamp())
    assert record is not None and record.input_audio is not None and record.cache_read is not None
    expected = (
        3_000 * record.input + 1_000 * record.input_audio + 1_000 * record.cache_read + 1_500 * record.output
    ) / 1_000_000
    assert ours.amount == pytest.approx(float(expected), rel=1e-12)
