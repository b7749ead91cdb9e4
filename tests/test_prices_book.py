"""PriceBook against the bundled genai-prices catalog: usage shapes, tiers, history, service tiers, provider
mapping, model preference, unpriced reasons, caching and the never-raise guarantee."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime

import pytest

from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.attributes import CostStatus, UnpricedReason
from otel_tokenomics.semconv.prices import OTEL_TO_CATALOG, Cost, PriceBook, PriceRecord
from otel_tokenomics.semconv.usage import Usage


def at(text: str) -> float:
    """Epoch seconds of an ISO date-time in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


NOW = at("2026-11-23T12:00:00")


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


def assert_breakdown_sums(cost: Cost) -> None:
    assert cost.amount is not None
    parts = cost.input + cost.cache_read + cost.cache_write + cost.output
    assert math.isclose(parts, cost.amount, rel_tol=1e-12, abs_tol=1e-15)


# --- usage shapes -------------------------------------------------------------------------------------------


def test_openai_shaped_usage_bills_cached_subset_at_cache_rate(book: PriceBook) -> None:
    usage = Usage.from_inclusive(10_000, 1_000, cache_read_tokens=4_000)  # prompt_tokens includes cached
    cost = book.cost(usage, provider="openai", model="gpt-4o-2024-08-06", when=NOW)
    assert cost.status == CostStatus.PRICED
    assert cost.amount == pytest.approx(0.030, rel=1e-12)  # 6k x $2.50 + 4k x $1.25 + 1k x $10 per M
    assert cost.input == pytest.approx(0.015)
    assert cost.cache_read == pytest.approx(0.005)
    assert cost.cache_write == 0
    assert cost.output == pytest.approx(0.010)
    assert (cost.catalog_provider, cost.catalog_model) == ("openai", "gpt-4o")
    assert cost.currency == "USD"
    assert_breakdown_sums(cost)


def test_anthropic_shaped_usage_prices_5m_and_1h_writes_apart(book: PriceBook) -> None:
    usage = Usage.from_exclusive(
        1_000, 500, cache_read_tokens=10_000, cache_write_tokens=2_000, cache_write_1h_tokens=500
    )
    cost = book.cost(usage, provider="anthropic", model="claude-sonnet-4-20250514", when=NOW)
    # $3 input, $0.30 read, $3.75 5-minute write, $6 1-hour write, $15 output per M.
    assert cost.input == pytest.approx(0.003)
    assert cost.cache_read == pytest.approx(0.003)
    assert cost.cache_write == pytest.approx(1_500 * 3.75e-6 + 500 * 6e-6)
    assert cost.output == pytest.approx(0.0075)
    assert cost.amount == pytest.approx(0.022125, rel=1e-12)
    assert_breakdown_sums(cost)

    all_5m = Usage.from_exclusive(1_000, 500, cache_read_tokens=10_000, cache_write_tokens=2_000)
    assert book.cost(
        all_5m, provider="anthropic", model="claude-sonnet-4-20250514", when=NOW
    ).cache_write == (pytest.approx(0.0075))


def test_reasoning_is_billed_as_output(book: PriceBook) -> None:
    with_reasoning = Usage.from_inclusive(5_000, 3_000, reasoning_tokens=2_500)
    cost = book.cost(with_reasoning, provider="openai", model="o3", when=NOW)
    assert cost.amount == pytest.approx(0.034, rel=1e-12)  # $2 / $8 per M since 2025-06-10
    assert cost.output == pytest.approx(0.024)
    plain = book.cost(Usage.from_inclusive(5_000, 3_000), provider="openai", model="o3", when=NOW)
    assert plain.amount == cost.amount


def test_gemini_reasoning_reported_beside_output_is_added(book: PriceBook) -> None:
    usage = Usage.from_separate_reasoning(1_000, 200, 800)
    cost = book.cost(usage, provider="gcp.gemini", model="gemini-2.5-pro", when=NOW)
    assert cost.output == pytest.approx(1_000 * 10e-6)


def test_per_request_fee_is_charged_once_in_the_input_bucket(book: PriceBook) -> None:
    cost = book.cost(Usage.from_inclusive(1_000, 500), provider="perplexity", model="sonar", when=NOW)
    assert cost.amount == pytest.approx(0.001 + 0.0005 + 12 / 1000)
    assert cost.input == pytest.approx(0.001 + 0.012)
    assert_breakdown_sums(cost)


# --- tiers, history, time of day, service tiers -------------------------------------------------------------


def test_gemini_25_pro_cliff_tier_starts_above_200k(book: PriceBook) -> None:
    at_threshold = book.cost(
        Usage.from_inclusive(200_000, 2_000), provider="gcp.gemini", model="gemini-2.5-pro", when=NOW
    )
    above = book.cost(
        Usage.from_inclusive(200_001, 2_000), provider="gcp.gemini", model="gemini-2.5-pro", when=NOW
    )
    assert at_threshold.amount == pytest.approx(200_000 * 1.25e-6 + 2_000 * 10e-6)  # `>`: 200k stays on base
    assert above.amount == pytest.approx(200_001 * 2.5e-6 + 2_000 * 15e-6)  # every token at the tier rate


def test_gemini_25_pro_tier_applies_to_cache_reads(book: PriceBook) -> None:
    usage = Usage.from_inclusive(250_000, 2_000, cache_read_tokens=200_000)
    cost = book.cost(usage, provider="gcp.gemini", model="gemini-2.5-pro", when=NOW)
    assert cost.amount == pytest.approx(0.205)  # 50k x $2.50 + 200k x $0.25 + 2k x $15


def test_o3_price_history_before_and_after_2025_06_10(book: PriceBook) -> None:
    usage = Usage.from_inclusive(5_000, 3_000, reasoning_tokens=2_500)
    before = book.cost(usage, provider="openai", model="o3", when=at("2025-06-01T12:00:00"))
    after = book.cost(usage, provider="openai", model="o3", when=at("2025-06-11T12:00:00"))
    again_before = book.cost(usage, provider="openai", model="o3", when=at("2025-06-09T23:59:59"))
    assert before.amount == pytest.approx(0.17)
    assert after.amount == pytest.approx(0.034)
    assert again_before.amount == pytest.approx(0.17)


def test_resolved_record_knows_its_validity_window(book: PriceBook) -> None:
    record = book.resolve("openai", "o3", when=at("2025-06-01T00:00:00"))
    assert isinstance(record, PriceRecord)
    assert record.valid_until == at("2025-06-10T00:00:00")
    assert record.input == 10


def test_deepseek_time_of_day_prices(book: PriceBook) -> None:
    usage = Usage.from_inclusive(1_000, 500)
    peak = book.cost(usage, provider="deepseek", model="deepseek-chat", when=at("2026-11-23T12:00:00"))
    off_peak = book.cost(usage, provider="deepseek", model="deepseek-chat", when=at("2026-11-23T20:00:00"))
    next_day_peak = book.cost(
        usage, provider="deepseek", model="deepseek-chat", when=at("2026-11-24T12:00:00")
    )
    assert peak.amount == pytest.approx(0.00082)
    assert off_peak.amount == pytest.approx(0.00041)
    assert next_day_peak.amount == pytest.approx(0.00082)


@pytest.mark.parametrize(
    ("tier", "expected"),
    [(None, 0.006), ("default", 0.006), ("flex", 0.003), ("priority", 0.0105), ("batch", 0.003)],
)
def test_service_tier_selects_price_variants(book: PriceBook, tier: str | None, expected: float) -> None:
    cost = book.cost(
        Usage.from_inclusive(1_000, 500), provider="openai", model="o3", service_tier=tier, when=NOW
    )
    assert cost.amount == pytest.approx(expected)


# --- provider mapping ---------------------------------------------------------------------------------------

PROVIDER_CASES = [
    ("openai", "gpt-4o", "openai"),
    ("azure.ai.openai", "gpt-4o-2024-08-06", "azure"),
    ("azure.ai.inference", "gpt-4o", "azure"),
    ("anthropic", "claude-3-5-sonnet-20241022", "anthropic"),
    ("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", "aws"),
    ("gcp.gemini", "gemini-2.5-pro", "google"),
    ("gcp.vertex_ai", "gemini-2.5-pro", "google"),
    ("gcp.gen_ai", "gemini-2.5-flash", "google"),
    ("x_ai", "grok-4", "x-ai"),
    ("mistral_ai", "mistral-large-2411", "mistral"),
    ("cohere", "command-r-plus", "cohere"),
    ("deepseek", "deepseek-chat", "deepseek"),
    ("groq", "llama-3.3-70b-versatile", "groq"),
    ("perplexity", "sonar", "perplexity"),
    ("openrouter", "openai/gpt-4o", "openrouter"),
    ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "together"),
    ("fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct", "fireworks"),
    ("ibm.watsonx.ai", "ibm/granite-3-8b-instruct", None),
]


@pytest.mark.parametrize(("otel", "model", "catalog_provider"), PROVIDER_CASES)
def test_otel_provider_names_map_to_catalog_providers(
    book: PriceBook, otel: str, model: str, catalog_provider: str | None
) -> None:
    cost = book.cost(Usage.from_inclusive(1_000, 100), provider=otel, model=model, when=NOW)
    if catalog_provider is None:
        assert cost.status == CostStatus.UNPRICED
        assert cost.unpriced_reason == UnpricedReason.UNKNOWN_PROVIDER
    else:
        assert cost.status == CostStatus.PRICED, cost
        assert cost.catalog_provider == catalog_provider
        assert cost.amount > 0


def test_every_mapped_provider_name_is_covered_by_the_table() -> None:
    assert {otel for otel, _, _ in PROVIDER_CASES} == set(OTEL_TO_CATALOG)


def test_bedrock_claude_id_is_not_routed_to_anthropic(book: PriceBook) -> None:
    cost = book.cost(
        Usage.from_inclusive(10_000, 1_000),
        provider="aws.bedrock",
        model="us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        when=NOW,
    )
    assert cost.catalog_provider == "aws"
    assert cost.amount == pytest.approx(0.045)


def test_server_address_identifies_an_openai_compatible_host(book: PriceBook) -> None:
    cost = book.cost(
        Usage.from_inclusive(1_000, 100),
        provider="openai",
        model="llama-3.3-70b-versatile",
        server_address="api.groq.com",
        when=NOW,
    )
    assert cost.catalog_provider == "groq"


def test_unknown_provider_with_a_vendor_model_name_is_priced_at_the_vendor_list_price(
    book: PriceBook,
) -> None:
    cost = book.cost(Usage.from_inclusive(10_000, 1_000), provider="my-gateway", model="gpt-4o", when=NOW)
    assert (cost.catalog_provider, cost.amount) == ("openai", pytest.approx(0.035))


@pytest.mark.parametrize("provider", ["my-gateway", None])
def test_unknown_provider_and_unroutable_model_is_unknown_provider(
    book: PriceBook, provider: str | None
) -> None:
    cost = book.cost(Usage.from_inclusive(10, 10), provider=provider, model="house-llm-7b", when=NOW)
    assert (cost.status, cost.unpriced_reason, cost.amount) == (
        CostStatus.UNPRICED,
        UnpricedReason.UNKNOWN_PROVIDER,
        None,
    )


def test_known_provider_unknown_model_is_unknown_model(book: PriceBook) -> None:
    cost = book.cost(Usage.from_inclusive(10, 10), provider="openai", model="gpt-nonexistent-9", when=NOW)
    assert (cost.status, cost.unpriced_reason, cost.amount) == (
        CostStatus.UNPRICED,
        UnpricedReason.UNKNOWN_MODEL,
        None,
    )
    assert attr.GEN_AI_USAGE_COST_AMOUNT not in cost.span_attributes()


# --- response vs request model ------------------------------------------------------------------------------


def test_response_model_is_preferred_over_request_model(book: PriceBook) -> None:
    usage = Usage.from_inclusive(10_000, 1_000)
    cost = book.cost(usage, provider="openai", model="gpt-4o-2024-05-13", request_model="gpt-4o", when=NOW)
    assert cost.amount == pytest.approx(0.065)  # the 2024-05-13 snapshot's own $5/$15


def test_request_model_is_used_when_response_model_is_unknown(book: PriceBook) -> None:
    usage = Usage.from_inclusive(10_000, 1_000)
    deployment = book.cost(
        usage, provider="azure.ai.openai", model="prod-4o-deployment", request_model="gpt-4o", when=NOW
    )
    missing_response = book.cost(usage, provider="openai", model=None, request_model="gpt-4o", when=NOW)
    assert deployment.amount == pytest.approx(0.035)
    assert missing_response.amount == pytest.approx(0.035)


def test_models_prefix_is_stripped(book: PriceBook) -> None:
    cost = book.cost(
        Usage.from_inclusive(1_000, 100), provider="gcp.gemini", model="models/gemini-2.5-pro", when=NOW
    )
    assert cost.catalog_model == "gemini-2.5-pro"


def test_no_model_and_no_usage(book: PriceBook) -> None:
    no_model = book.cost(Usage.from_inclusive(10, 10), provider="openai", model=None, request_model=None)
    no_usage = book.cost(Usage(), provider="openai", model="gpt-4o")
    assert (no_model.unpriced_reason, no_model.amount) == (UnpricedReason.NO_MODEL, None)
    assert (no_usage.unpriced_reason, no_usage.amount) == (UnpricedReason.NO_USAGE, None)


def test_catalog_entry_without_prices_is_free_not_unpriced(book: PriceBook) -> None:
    cost = book.cost(
        Usage.from_inclusive(1_000, 100),
        provider="openrouter",
        model="agentica-org/deepcoder-14b-preview:free",
        when=NOW,
    )
    assert (cost.status, cost.amount) == (CostStatus.FREE, 0.0)


def test_model_priced_only_in_non_token_units_is_unpriced(book: PriceBook) -> None:
    cost = book.cost(Usage.from_inclusive(1_000, 100), provider="openai", model="whisper-1", when=NOW)
    assert (cost.status, cost.unpriced_reason) == (CostStatus.UNPRICED, UnpricedReason.UNKNOWN_MODEL)


def test_self_hosted_calls_never_use_the_catalog(book: PriceBook) -> None:
    cost = book.cost(
        Usage.from_inclusive(1_000, 100),
        provider="openai",
        model="gpt-4o",
        server_address="localhost:8000",
        self_hosted=True,
        when=NOW,
    )
    assert (cost.status, cost.unpriced_reason, cost.amount) == (
        CostStatus.UNPRICED,
        UnpricedReason.SELF_HOSTED,
        None,
    )


# --- caching ------------------------------------------------------------------------------------------------


def test_misses_and_hits_are_resolved_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from genai_prices.data_snapshot import DataSnapshot

    calls: list[str] = []
    original = DataSnapshot.find_provider_model

    def counting(self, model_ref, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(model_ref)
        return original(self, model_ref, *args, **kwargs)

    monkeypatch.setattr(DataSnapshot, "find_provider_model", counting)
    book = PriceBook()
    usage = Usage.from_inclusive(100, 10)
    first_miss = book.cost(usage, provider="openai", model="no-such-model", when=NOW)
    after_miss = len(calls)
    assert after_miss > 0
    second_miss = book.cost(usage, provider="openai", model="no-such-model", when=NOW + 3600)
    assert len(calls) == after_miss
    assert first_miss == second_miss

    book.cost(usage, provider="openai", model="gpt-4o", when=NOW)
    after_hit = len(calls)
    book.cost(usage, provider="openai", model="gpt-4o", when=NOW + 60)
    assert len(calls) == after_hit


def test_a_new_price_period_is_resolved_again_and_old_periods_stay_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from otel_tokenomics.semconv.prices.catalog import Catalog

    calls: list[float] = []
    original = Catalog.record

    def counting(self, match, when, service_tier):  # type: ignore[no-untyped-def]
        calls.append(when)
        return original(self, match, when, service_tier)

    monkeypatch.setattr(Catalog, "record", counting)
    book = PriceBook()
    usage = Usage.from_inclusive(1_000, 500)
    for when in ("2026-11-23T12:00:00", "2026-11-23T13:00:00", "2026-11-23T20:00:00", "2026-11-23T12:30:00"):
        book.cost(usage, provider="deepseek", model="deepseek-chat", when=at(when))
    assert len(calls) == 2  # one peak window, one off-peak window; revisiting the peak window is cached


# --- robustness and attributes ------------------------------------------------------------------------------


def test_cost_never_raises_and_logs_each_distinct_error_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from otel_tokenomics.semconv.prices.catalog import Catalog

    def broken(self, provider_id, model):  # type: ignore[no-untyped-def]
        raise RuntimeError("catalog exploded")

    monkeypatch.setattr(Catalog, "find", broken)
    book = PriceBook()
    with caplog.at_level(logging.WARNING, logger="otel_tokenomics"):
        costs = [
            book.cost(Usage.from_inclusive(1, 1), provider="openai", model=f"m{i % 2}") for i in range(4)
        ]
        garbage = book.cost(None, provider="openai", model="gpt-4o")  # type: ignore[arg-type]
    assert {(c.status, c.unpriced_reason, c.amount) for c in [*costs, garbage]} == {
        (CostStatus.UNPRICED, UnpricedReason.ERROR, None)
    }
    messages = [r.getMessage() for r in caplog.records if r.name == "otel_tokenomics"]
    assert sum("catalog exploded" in m for m in messages) == 1
    assert len(messages) == 2  # plus the one for `None` usage


def test_when_accepts_datetimes(book: PriceBook) -> None:
    usage = Usage.from_inclusive(5_000, 3_000)
    as_datetime = book.cost(usage, provider="openai", model="o3", when=datetime(2025, 6, 1, tzinfo=UTC))  # type: ignore[arg-type]
    assert as_datetime.amount == pytest.approx(0.17)


def test_span_attributes_of_a_priced_cost(book: PriceBook) -> None:
    cost = book.cost(
        Usage.from_inclusive(10_000, 1_000, cache_read_tokens=4_000),
        provider="openai",
        model="gpt-4o",
        when=NOW,
    )
    attributes = cost.span_attributes()
    assert attributes[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(0.03)
    assert attributes[attr.GEN_AI_USAGE_COST_CURRENCY] == "USD"
    assert attributes[attr.GEN_AI_USAGE_COST_SOURCE] == "local"
    assert attributes[attr.TOKENOMICS_COST_CACHE_READ] == pytest.approx(0.005)
    assert attributes[attr.TOKENOMICS_COST_STATUS] == "priced"
    assert attributes[attr.TOKENOMICS_COST_PROVIDER] == "openai"
    assert attributes[attr.TOKENOMICS_COST_MODEL] == "gpt-4o"
    assert attributes[attr.TOKENOMICS_PRICE_SOURCE] == "genai-prices"
    assert attributes[attr.TOKENOMICS_PRICE_VERSION] == book.catalog_version
    assert attr.TOKENOMICS_COST_UNPRICED_REASON not in attributes
    assert all(isinstance(value, str | float) for value in attributes.values())


def test_span_attributes_of_an_unpriced_cost_have_no_amounts() -> None:
    attributes = Cost.unpriced(UnpricedReason.UNKNOWN_MODEL).span_attributes()
    assert attributes == {
        attr.TOKENOMICS_COST_STATUS: "unpriced",
        attr.TOKENOMICS_COST_UNPRICED_REASON: "unknown_model",
    }


def test_cost_is_immutable(book: PriceBook) -> None:
    cost = book.cost(Usage.from_inclusive(10, 10), provider="openai", model="gpt-4o", when=NOW)
    with pytest.raises(AttributeError):
        cost.amount = 0.0  # type: ignore[misc]
    assert not hasattr(cost, "__dict__")


def test_importing_the_package_does_not_import_genai_prices() -> None:
    import subprocess
    import sys

    code = "import sys, otel_tokenomics.semconv.prices; print('genai_prices' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_auto_update_is_started_only_on_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    import genai_prices

    started: list[bool] = []
    monkeypatch.setattr(genai_prices.UpdatePrices, "start", lambda self, wait=True: started.append(wait))
    monkeypatch.setattr(genai_prices.UpdatePrices, "stop", lambda self: None)
    PriceBook().cost(Usage.from_inclusive(10, 10), provider="openai", model="gpt-4o", when=NOW)
    assert started == []
    opted_in = PriceBook(auto_update=True)
    cost = opted_in.cost(Usage.from_inclusive(10_000, 1_000), provider="openai", model="gpt-4o", when=NOW)
    opted_in.close()
    assert started == [False]  # started in the background, never blocking the first span
    assert cost.amount == pytest.approx(0.035)


def test_warm_loads_the_catalog_ahead_of_the_first_call() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from otel_tokenomics.semconv.prices import PriceBook\n"
        "book = PriceBook()\n"
        "book.warm()\n"
        "print('genai_prices.data' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
