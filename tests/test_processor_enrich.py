"""SpanEnricher: spans of every dialect priced from the catalog's rates (arithmetic done here), upstream costs
kept, spans priced once, aggregates skipped, and hostile values never raising but counted with a reason."""

from __future__ import annotations

import math
import random

import pytest
from test_processor_dialects import (
    HTTP_SPAN,
    LOGFIRE_OPENAI,
    OPENINFERENCE_ANTHROPIC,
    OPENINFERENCE_EMBEDDING,
    OPENLIT_ANTHROPIC,
    OPENLLMETRY_04_ANTHROPIC,
    OPENLLMETRY_WORKFLOW,
    OTEL_CURRENT_OPENAI,
    VERCEL_4_DO_GENERATE,
    VERCEL_4_GENERATE_TEXT,
)

from otel_tokenomics.processor import Enrichment, SpanEnricher
from otel_tokenomics.processor.stats import OUTCOMES
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.prices import PriceBook

MTOK = 1_000_000
WHEN_NS = 1_750_000_000 * 10**9  # 2025-06-15


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


@pytest.fixture
def enricher(book: PriceBook) -> SpanEnricher:
    return SpanEnricher(book)


def rates(book: PriceBook, provider: str, model: str) -> dict[str, float]:
    """The catalog's per-million rates for a model, as floats (missing ones: None)."""
    record = book.resolve(provider, model, when=WHEN_NS / 1e9)
    assert record is not None, (provider, model)
    return {name: float(value) if value is not None else None for name, value in record.rates().items()} | {
        name: None for name in ("cache_read", "cache_write") if name not in record.rates()
    }


def assert_priced(result: Enrichment, expected: float) -> None:
    assert result.outcome == "priced", result
    assert result.amount == pytest.approx(expected, rel=1e-9)
    added = result.attributes
    assert added[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-9)
    assert added[attr.GEN_AI_USAGE_COST_CURRENCY] == "USD"
    assert added[attr.GEN_AI_USAGE_COST_SOURCE] == "local"
    assert added[attr.TOKENOMICS_COST_STATUS] == "priced"
    parts = sum(
        added[key]
        for key in (
            attr.TOKENOMICS_COST_INPUT,
            attr.TOKENOMICS_COST_CACHE_READ,
            attr.TOKENOMICS_COST_CACHE_WRITE,
            attr.TOKENOMICS_COST_OUTPUT,
        )
    )
    assert math.isclose(parts, expected, rel_tol=1e-9)


# --- priced per dialect -------------------------------------------------------------------------------------


def test_otel_openai_span_priced_with_cache_read_rate(enricher: SpanEnricher, book: PriceBook) -> None:
    r = rates(book, "openai", "gpt-4o-2024-08-06")
    expected = (176 * r["input"] + 1024 * r["cache_read"] + 150 * r["output"]) / MTOK
    result = enricher.enrich(OTEL_CURRENT_OPENAI, start_time_unix_nano=WHEN_NS)
    assert_priced(result, expected)
    assert (result.input_tokens, result.output_tokens, result.llm_call) == (1200, 150, True)
    # The instrumentation's own token attributes are not overwritten; what it lacked is added.
    assert attr.GEN_AI_USAGE_INPUT_TOKENS not in result.attributes
    assert result.attributes[attr.TOKENOMICS_USAGE_INPUT_UNCACHED_TOKENS] == 176
    assert result.attributes[attr.TOKENOMICS_PROCESSOR_DIALECT] == "otel_genai_current"


def test_openinference_anthropic_priced_with_cache_rates(enricher: SpanEnricher, book: PriceBook) -> None:
    r = rates(book, "anthropic", "claude-3-5-sonnet-20241022")
    expected = (100 * r["input"] + 2000 * r["cache_read"] + 500 * r["cache_write"] + 300 * r["output"]) / MTOK
    result = enricher.enrich(OPENINFERENCE_ANTHROPIC, start_time_unix_nano=WHEN_NS)
    assert_priced(result, expected)
    # OpenInference spans get the conventions' token names too, so any GenAI backend can read them.
    assert result.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 2600
    assert result.attributes[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 2000
    assert result.attributes[attr.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 500


def test_openllmetry_and_openlit_anthropic_cost_the_same(enricher: SpanEnricher, book: PriceBook) -> None:
    """OpenLLMetry reports 2600 inclusive, OpenLIT 100 exclusive: the same call, so the same cost."""
    r = rates(book, "anthropic", "claude-3-5-sonnet-20241022")
    expected = (100 * r["input"] + 2000 * r["cache_read"] + 500 * r["cache_write"] + 300 * r["output"]) / MTOK
    assert_priced(enricher.enrich(OPENLLMETRY_04_ANTHROPIC, start_time_unix_nano=WHEN_NS), expected)
    assert_priced(enricher.enrich(OPENLIT_ANTHROPIC, start_time_unix_nano=WHEN_NS), expected)


def test_vercel_do_generate_priced(enricher: SpanEnricher, book: PriceBook) -> None:
    r = rates(book, "openai", "gpt-4o-mini-2024-07-18")
    expected = (420 * r["input"] + 64 * r["output"]) / MTOK
    assert_priced(enricher.enrich(VERCEL_4_DO_GENERATE, start_time_unix_nano=WHEN_NS), expected)


# --- provider cost, already priced, aggregates ----------------------------------------------------------------


def test_upstream_cost_is_kept_not_recomputed(enricher: SpanEnricher) -> None:
    result = enricher.enrich(LOGFIRE_OPENAI)
    assert result.outcome == "provider_cost"
    assert (result.amount, result.currency) == (0.0035, "USD")
    added = result.attributes
    assert added[attr.GEN_AI_USAGE_COST_AMOUNT] == 0.0035
    assert added[attr.GEN_AI_USAGE_COST_SOURCE] == "provider"
    assert added[attr.TOKENOMICS_COST_REPORTED_BY] == "operation.cost"
    assert attr.TOKENOMICS_COST_INPUT not in added  # no breakdown invented for a total we did not compute


def test_openinference_llm_cost_total_is_kept(enricher: SpanEnricher) -> None:
    result = enricher.enrich({**OPENINFERENCE_ANTHROPIC, "llm.cost.total": 0.0123})
    assert (result.outcome, result.amount) == ("provider_cost", 0.0123)


def test_a_span_priced_once_is_not_priced_again(enricher: SpanEnricher) -> None:
    first = enricher.enrich(OTEL_CURRENT_OPENAI, start_time_unix_nano=WHEN_NS)
    exported = {**OTEL_CURRENT_OPENAI, **first.attributes}
    second = enricher.enrich(exported, start_time_unix_nano=WHEN_NS)
    assert second.outcome == "already_priced"
    assert second.attributes == {}
    # ...but a roll-up still counts it.
    assert (second.amount, second.currency, second.input_tokens, second.output_tokens, second.llm_call) == (
        first.amount,
        "USD",
        1200,
        150,
        True,
    )


def test_already_unpriced_span_counts_as_unpriced_call(enricher: SpanEnricher) -> None:
    result = enricher.enrich({**OTEL_CURRENT_OPENAI, "tokenomics.cost.status": "unpriced"})
    assert (result.outcome, result.amount, result.llm_call) == ("already_priced", None, True)


@pytest.mark.parametrize(
    "attributes",
    [
        OPENLLMETRY_WORKFLOW,
        VERCEL_4_GENERATE_TEXT,
        {**OTEL_CURRENT_OPENAI, "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"},
        {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"},
    ],
)
def test_agent_workflow_and_tool_spans_are_skipped(enricher: SpanEnricher, attributes: dict) -> None:
    result = enricher.enrich(attributes)
    assert (result.outcome, result.reason, result.llm_call, result.attributes) == (
        "skipped",
        "not_llm_call",
        False,
        {},
    )


def test_non_genai_span_is_skipped_with_nothing_added(enricher: SpanEnricher) -> None:
    result = enricher.enrich(HTTP_SPAN)
    assert (result.outcome, result.reason, result.attributes) == ("skipped", "not_genai", {})


# --- unpriced with a reason, never a silent 0 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"gen_ai.request.model": None, "gen_ai.response.model": None}, "no_model"),
        ({"gen_ai.request.model": "acme-1", "gen_ai.response.model": "acme-1"}, "unknown_model"),
        (
            {
                "gen_ai.usage.input_tokens": None,
                "gen_ai.usage.output_tokens": None,
                "gen_ai.usage.cache_read.input_tokens": None,
            },
            "no_usage",
        ),
    ],
)
def test_unpriced_calls_carry_a_reason(enricher: SpanEnricher, change: dict, reason: str) -> None:
    attributes = {key: value for key, value in {**OTEL_CURRENT_OPENAI, **change}.items() if value is not None}
    result = enricher.enrich(attributes)
    assert (result.outcome, result.reason, result.amount, result.llm_call) == ("unpriced", reason, None, True)
    assert result.attributes[attr.TOKENOMICS_COST_STATUS] == "unpriced"
    assert result.attributes[attr.TOKENOMICS_COST_UNPRICED_REASON] == reason
    assert attr.GEN_AI_USAGE_COST_AMOUNT not in result.attributes


def test_failed_call_without_usage_is_skipped(enricher: SpanEnricher) -> None:
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "error.type": "RateLimitError",
    }
    assert enricher.enrich(attributes).reason == "failed_call"


HOSTILE = [
    "lots",
    "12.5",
    "",
    " ",
    -5,
    -1.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    1e30,
    2**70,
    True,
    False,
    [1, 2],
    (3,),
    {"a": 1},
    b"12",
    None,
    object(),
    "١٢",
]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_hostile_token_values_are_unpriced_invalid_usage(enricher: SpanEnricher, value: object) -> None:
    result = enricher.enrich({**OTEL_CURRENT_OPENAI, "gen_ai.usage.output_tokens": value})
    assert (result.outcome, result.reason, result.amount) == ("unpriced", "invalid_usage", None)
    assert enricher.stats.snapshot()["unpriced.invalid_usage"] == 1


@pytest.mark.parametrize("value", [value for value in HOSTILE if value != "12.5"], ids=repr)
def test_hostile_upstream_cost_is_ignored_and_the_call_priced(enricher: SpanEnricher, value: object) -> None:
    result = enricher.enrich({**LOGFIRE_OPENAI, "operation.cost": value})
    assert result.outcome == "priced"


def test_stringified_upstream_cost_is_kept(enricher: SpanEnricher) -> None:
    result = enricher.enrich({**LOGFIRE_OPENAI, "operation.cost": "12.5"})
    assert (result.outcome, result.amount) == ("provider_cost", 12.5)


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_hostile_model_and_provider_values_never_raise(enricher: SpanEnricher, value: object) -> None:
    result = enricher.enrich(
        {
            **OTEL_CURRENT_OPENAI,
            "gen_ai.request.model": value,
            "gen_ai.response.model": value,
            "gen_ai.provider.name": value,
            "gen_ai.operation.name": value,
        }
    )
    assert result.outcome in OUTCOMES


@pytest.mark.parametrize(
    "attributes", [None, 42, "gen_ai.x", {1: 2}, {"gen_ai.x": 1, 2: 3}, [("gen_ai.a", 1)]], ids=repr
)
def test_non_mapping_input_is_skipped_as_internal_error(enricher: SpanEnricher, attributes: object) -> None:
    result = enricher.enrich(attributes)  # type: ignore[arg-type]
    assert result.outcome == "skipped"
    assert result.reason in ("internal_error", "not_genai", "no_llm_data")


def test_fuzzed_spans_never_raise_and_every_span_is_counted(enricher: SpanEnricher) -> None:
    rng = random.Random(20261123)
    keys = sorted(
        {
            *OTEL_CURRENT_OPENAI,
            *OPENINFERENCE_ANTHROPIC,
            *OPENLLMETRY_04_ANTHROPIC,
            *LOGFIRE_OPENAI,
            *VERCEL_4_DO_GENERATE,
            *OPENLIT_ANTHROPIC,
            "tokenomics.cost.status",
            "gen_ai.usage.cost.amount",
            "error.type",
            "http.route",
        }
    )
    values = [*HOSTILE, 0, 1, 100, 10**6, 0.5, "openai", "anthropic", "gpt-4o", "chat", "LLM", "CHAIN", "priced"]
    for _ in range(3000):
        attributes = {rng.choice(keys): rng.choice(values) for _ in range(rng.randint(0, 9))}
        result = enricher.enrich(attributes)
        assert result.outcome in OUTCOMES
        assert (result.amount is None) or (math.isfinite(result.amount) and result.amount >= 0)
    snapshot = enricher.stats.snapshot()
    assert snapshot["seen"] == 3000
    assert sum(snapshot[outcome] for outcome in OUTCOMES) == 3000
    assert "skipped.internal_error" not in snapshot  # hostile values are handled, not caught as our bugs


def test_stats_count_each_outcome_and_reason(enricher: SpanEnricher) -> None:
    enricher.enrich(HTTP_SPAN)
    enricher.enrich(HTTP_SPAN)
    enricher.enrich(OTEL_CURRENT_OPENAI)
    enricher.enrich(LOGFIRE_OPENAI)
    enricher.enrich(OPENLLMETRY_WORKFLOW)
    enricher.enrich({**OTEL_CURRENT_OPENAI, "gen_ai.request.model": "acme-1", "gen_ai.response.model": "acme-1"})
    snapshot = enricher.stats.snapshot()
    assert snapshot["seen"] == 6
    assert snapshot["skipped"] == 3
    assert snapshot["skipped.not_genai"] == 2
    assert snapshot["skipped.not_llm_call"] == 1
    assert snapshot["priced"] == 1
    assert snapshot["provider_cost"] == 1
    assert snapshot["unpriced.unknown_model"] == 1
    labels = {tuple(sorted(labels.items())): value for value, labels in enricher.stats.observations()}
    assert labels[(("tokenomics.processor.outcome", "skipped"), ("tokenomics.processor.reason", "not_genai"))] == 2


# --- compact cost attributes (a host where each written attribute costs) --------------------------------


def test_compact_writes_only_amount_currency_source_status(book: PriceBook) -> None:
    r = rates(book, "openai", "gpt-4o-2024-08-06")
    expected = (176 * r["input"] + 1024 * r["cache_read"] + 150 * r["output"]) / MTOK
    result = SpanEnricher(book, cost_attributes="compact").enrich(OTEL_CURRENT_OPENAI, start_time_unix_nano=WHEN_NS)
    assert result.outcome == "priced"
    assert set(result.attributes) == {
        "gen_ai.usage.cost.amount",
        "gen_ai.usage.cost.currency",
        "gen_ai.usage.cost.source",
        "tokenomics.cost.status",
    }
    assert result.attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected, rel=1e-9)
    assert result.amount == pytest.approx(expected, rel=1e-9)


def test_compact_still_adds_the_conventions_token_counts_a_report_reads(book: PriceBook) -> None:
    # OpenInference writes llm.token_count.*: `otel-tokenomics report` needs gen_ai.usage.input/output_tokens.
    result = SpanEnricher(book, cost_attributes="compact").enrich(OPENINFERENCE_ANTHROPIC, start_time_unix_nano=WHEN_NS)
    added = result.attributes
    assert added["gen_ai.usage.input_tokens"] == 2600
    assert added["gen_ai.usage.output_tokens"] == 300
    assert "tokenomics.usage.input_uncached_tokens" not in added
    assert "tokenomics.cost.input" not in added
    assert added["tokenomics.cost.status"] == "priced"


def test_compact_unpriced_span_says_why(book: PriceBook) -> None:
    span = {**OTEL_CURRENT_OPENAI, "gen_ai.response.model": "no-such-model-xyz", "gen_ai.request.model": "no-such"}
    result = SpanEnricher(book, cost_attributes="compact").enrich(span, start_time_unix_nano=WHEN_NS)
    assert result.outcome == "unpriced"
    assert result.attributes["tokenomics.cost.status"] == "unpriced"
    assert result.attributes["tokenomics.cost.unpriced_reason"] == result.reason
    assert "gen_ai.usage.cost.amount" not in result.attributes


def test_unknown_cost_attributes_mode_is_refused_by_name(book: PriceBook) -> None:
    with pytest.raises(ValueError, match="cost_attributes must be one of full, compact, got 'small'"):
        SpanEnricher(book, cost_attributes="small")


def test_values_outside_value_keys_are_not_needed(enricher: SpanEnricher, book: PriceBook) -> None:
    # The Rotel host reads only VALUE_KEYS' values and passes None for the other keys: same verdict.
    from otel_tokenomics.processor.dialects import VALUE_KEYS

    placeholders = {key: (value if key in VALUE_KEYS else None) for key, value in OTEL_CURRENT_OPENAI.items()}
    assert placeholders["server.port"] is None
    full = enricher.enrich(OTEL_CURRENT_OPENAI, start_time_unix_nano=WHEN_NS)
    partial = enricher.enrich(placeholders, start_time_unix_nano=WHEN_NS)
    assert partial == full


@pytest.mark.parametrize(
    ("attributes", "operation"),
    [(OPENINFERENCE_ANTHROPIC, "chat"), (OPENINFERENCE_EMBEDDING, "embeddings"), (VERCEL_4_DO_GENERATE, "chat")],
)
def test_calls_without_an_operation_name_get_the_conventions_one(
    enricher: SpanEnricher, attributes: dict, operation: str
) -> None:
    """Reports, dashboards and stored-trace queries select calls by gen_ai.operation.name: every dialect's
    calls must carry it after enrichment, in compact mode too."""
    assert "gen_ai.operation.name" not in attributes
    assert enricher.enrich(attributes).attributes["gen_ai.operation.name"] == operation
    compact = SpanEnricher(enricher.price_book, cost_attributes="compact")
    assert compact.enrich(attributes).attributes["gen_ai.operation.name"] == operation


def test_an_operation_name_already_on_the_span_is_never_overwritten(enricher: SpanEnricher) -> None:
    assert "gen_ai.operation.name" in OTEL_CURRENT_OPENAI
    assert "gen_ai.operation.name" not in enricher.enrich(OTEL_CURRENT_OPENAI).attributes


def test_an_agent_span_carrying_its_calls_cost_is_not_a_call(enricher: SpanEnricher) -> None:
    """Agent frameworks put the summed cost of their calls on `invoke_agent`; a roll-up that counted it as a
    call would bill the trace twice."""
    agent = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 300,
        "gen_ai.usage.cost.amount": 0.0015,
        "gen_ai.usage.cost.currency": "USD",
        "tokenomics.cost.status": "priced",
    }
    verdict = enricher.enrich(agent)
    assert (verdict.outcome, verdict.reason, verdict.llm_call, verdict.attributes) == (
        "skipped",
        "not_llm_call",
        False,
        {},
    )


def test_a_free_call_without_an_amount_adds_nothing_and_is_not_unpriced(enricher: SpanEnricher) -> None:
    """Self-hosted calls marked free carry no amount: the trace roll-up must neither call them unpriced nor
    invent a currency for them."""
    from otel_tokenomics.processor.rollup import TraceTotals

    free = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": "llama3",
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 2,
        "tokenomics.cost.status": "free",
    }
    euro = {
        **free,
        "gen_ai.provider.name": "openai",
        "tokenomics.cost.status": "priced",
        "gen_ai.usage.cost.amount": 0.25,
        "gen_ai.usage.cost.currency": "EUR",
    }
    totals = TraceTotals("t")
    totals.add(enricher.enrich(free))
    totals.add(enricher.enrich(euro))
    assert (totals.llm_calls, totals.unpriced_calls, totals.amounts) == (2, 0, {"EUR": 0.25})
    assert totals.span_attributes()["tokenomics.trace.cost.currency"] == "EUR"
