"""The dialect table: each instrumentation's span attributes (as that instrumentation really writes them,
versions noted) are detected and normalized to the canonical Usage with the right token semantics."""

from __future__ import annotations

import pytest

from otel_tokenomics.processor import DIALECTS, detect, looks_like_genai, normalize
from otel_tokenomics.processor.dialects import LLM_OPERATIONS, by_name, canonical_provider
from otel_tokenomics.semconv.usage import Usage

HTTP_SPAN = {"http.request.method": "GET", "url.path": "/cart", "http.response.status_code": 200}

# --- realistic attribute sets, one per dialect/version -------------------------------------------------------

# OTel GenAI semconv 1.41 (contrib util-genai / our conventions): input includes the 1024 cached tokens.
OTEL_CURRENT_OPENAI = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 150,
    "gen_ai.usage.cache_read.input_tokens": 1024,
    "server.address": "api.openai.com",
    "server.port": 443,
}
# semconv 1.26 (first GenAI spans): gen_ai.system, prompt/completion tokens, no operation name.
OTEL_126 = {
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.prompt_tokens": 50,
    "gen_ai.usage.completion_tokens": 10,
}
# semconv 1.30: legacy provider value az.ai.openai.
OTEL_130_AZURE = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "az.ai.openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 10,
    "gen_ai.usage.output_tokens": 2,
}
# OpenLLMetry with semantic-conventions-ai 0.4.x, Anthropic: CamelCase system, underscore cache names,
# input already summed with the cache (its Anthropic instrumentation adds them in).
OPENLLMETRY_04_ANTHROPIC = {
    "llm.request.type": "chat",
    "gen_ai.system": "Anthropic",
    "gen_ai.request.model": "claude-3-5-sonnet-20241022",
    "gen_ai.response.model": "claude-3-5-sonnet-20241022",
    "gen_ai.usage.prompt_tokens": 2600,
    "gen_ai.usage.completion_tokens": 300,
    "gen_ai.usage.cache_read_input_tokens": 2000,
    "gen_ai.usage.cache_creation_input_tokens": 500,
    "llm.usage.total_tokens": 2900,
    "traceloop.entity.path": "answer",
}
OPENLLMETRY_WORKFLOW = {
    "traceloop.span.kind": "workflow",
    "traceloop.workflow.name": "rag",
    "traceloop.entity.name": "rag",
}
# OpenInference (openinference-instrumentation-anthropic): prompt count includes cache read/write.
OPENINFERENCE_ANTHROPIC = {
    "openinference.span.kind": "LLM",
    "llm.provider": "anthropic",
    "llm.system": "anthropic",
    "llm.model_name": "claude-3-5-sonnet-20241022",
    "llm.token_count.prompt": 2600,
    "llm.token_count.completion": 300,
    "llm.token_count.total": 2900,
    "llm.token_count.prompt_details.cache_read": 2000,
    "llm.token_count.prompt_details.cache_write": 500,
}
OPENINFERENCE_CHAIN = {"openinference.span.kind": "CHAIN", "llm.token_count.prompt": 5000, "input.value": "q"}
OPENINFERENCE_EMBEDDING = {
    "openinference.span.kind": "EMBEDDING",
    "embedding.model_name": "text-embedding-3-small",
    "llm.model_name": "text-embedding-3-small",
    "llm.provider": "openai",
    "llm.token_count.prompt": 800,
    "llm.token_count.total": 800,
}
# OpenLIT 1.x, Anthropic: raw provider counts, input EXCLUDES the cache; 0.0 cost = OpenLIT's pricing miss.
OPENLIT_ANTHROPIC = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "anthropic",
    "gen_ai.request.model": "claude-3-5-sonnet-20241022",
    "gen_ai.response.model": "claude-3-5-sonnet-20241022",
    "gen_ai.usage.input_tokens": 100,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read_input_tokens": 2000,
    "gen_ai.usage.cache_creation_input_tokens": 500,
    "gen_ai.usage.total_tokens": 400,
    "gen_ai.usage.cost": 0.0,
    "gen_ai.sdk.version": "1.34.0",
    "gen_ai.application_name": "default",
}
OPENLIT_OPENAI_WITH_COST = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 1000,
    "gen_ai.usage.output_tokens": 100,
    "gen_ai.usage.cost": 0.0035,
    "gen_ai.sdk.version": "1.34.0",
}
# Logfire instrument_openai / Pydantic AI: semconv tokens plus operation.cost (genai-prices, USD).
LOGFIRE_OPENAI = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 1000,
    "gen_ai.usage.output_tokens": 100,
    "operation.cost": 0.0035,
    "logfire.msg": "Chat Completion with 'gpt-4o'",
    "logfire.span_type": "span",
}
PYDANTIC_AI_AGENT_RUN = {
    "agent_name": "support",
    "model_name": "gpt-4o",
    "gen_ai.usage.input_tokens": 3000,
    "gen_ai.usage.output_tokens": 400,
    "logfire.msg": "support run",
}
# Vercel AI SDK 4.x: the provider call span (doGenerate) and the outer generateText span that sums it.
VERCEL_4_DO_GENERATE = {
    "ai.operationId": "ai.generateText.doGenerate",
    "operation.name": "ai.generateText.doGenerate",
    "ai.model.provider": "openai.chat",
    "ai.model.id": "gpt-4o-mini",
    "ai.response.model": "gpt-4o-mini-2024-07-18",
    "ai.usage.promptTokens": 420,
    "ai.usage.completionTokens": 64,
    "gen_ai.system": "openai.chat",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 420,
    "gen_ai.usage.output_tokens": 64,
}
VERCEL_4_GENERATE_TEXT = {
    "ai.operationId": "ai.generateText",
    "ai.model.provider": "openai.chat",
    "ai.model.id": "gpt-4o-mini",
    "ai.usage.promptTokens": 420,
    "ai.usage.completionTokens": 64,
}
# Vercel AI SDK 5.x with @ai-sdk/anthropic: inputTokens is Anthropic's input_tokens (cache reads excluded).
VERCEL_5_ANTHROPIC = {
    "ai.operationId": "ai.streamText.doStream",
    "ai.model.provider": "anthropic.messages",
    "ai.model.id": "claude-3-5-sonnet-20241022",
    "ai.usage.inputTokens": 100,
    "ai.usage.outputTokens": 300,
    "ai.usage.cachedInputTokens": 2000,
    "ai.usage.reasoningTokens": 0,
}
# Our own instrumentation's span.
TOKENOMICS_SPAN = {
    **OTEL_CURRENT_OPENAI,
    "tokenomics.usage.reported": True,
    "tokenomics.cost.status": "priced",
    "gen_ai.usage.cost.amount": 0.00324,
}


@pytest.mark.parametrize(
    ("attributes", "dialect"),
    [
        (OTEL_CURRENT_OPENAI, "otel_genai_current"),
        (OTEL_126, "otel_genai_legacy"),
        (OTEL_130_AZURE, "otel_genai_legacy"),
        (OPENLLMETRY_04_ANTHROPIC, "openllmetry"),
        (OPENLLMETRY_WORKFLOW, "openllmetry"),
        (OPENINFERENCE_ANTHROPIC, "openinference"),
        (OPENINFERENCE_CHAIN, "openinference"),
        (OPENLIT_ANTHROPIC, "openlit"),
        (LOGFIRE_OPENAI, "logfire"),
        (VERCEL_4_DO_GENERATE, "vercel_ai"),
        (VERCEL_5_ANTHROPIC, "vercel_ai"),
        (TOKENOMICS_SPAN, "tokenomics"),
    ],
)
def test_detects_the_dialect(attributes: dict, dialect: str) -> None:
    found = detect(attributes)
    assert found is not None and found.name == dialect
    call = normalize(attributes)
    assert call is not None and call.dialect == dialect


def test_a_span_without_genai_keys_is_not_genai() -> None:
    assert not looks_like_genai(HTTP_SPAN)
    assert not looks_like_genai(list(HTTP_SPAN))
    assert detect(HTTP_SPAN) is None
    assert normalize(HTTP_SPAN) is None
    assert looks_like_genai(["http.route", "llm.token_count.prompt"])


def test_otel_current_input_includes_cache() -> None:
    call = normalize(OTEL_CURRENT_OPENAI)
    assert call is not None and call.llm_call
    assert call.usage == Usage(input_tokens=1200, output_tokens=150, cache_read_tokens=1024)
    assert call.usage.uncached_input_tokens == 176
    assert (call.provider, call.request_model, call.response_model) == ("openai", "gpt-4o", "gpt-4o-2024-08-06")
    assert call.server_address == "api.openai.com"


def test_semconv_126_prompt_and_completion_tokens_without_operation_is_a_call() -> None:
    call = normalize(OTEL_126)
    assert call is not None and call.llm_call and call.operation is None
    assert call.usage == Usage(input_tokens=50, output_tokens=10)
    assert call.provider == "openai"


def test_legacy_provider_values_are_mapped() -> None:
    call = normalize(OTEL_130_AZURE)
    assert call is not None and call.provider == "azure.ai.openai"
    assert canonical_provider("xai") == "x_ai"
    assert canonical_provider("vertex_ai") == "gcp.vertex_ai"
    assert canonical_provider("MistralAI") == "mistral_ai"
    assert canonical_provider("openai.chat") == "openai"
    assert canonical_provider("amazon-bedrock") == "aws.bedrock"
    assert canonical_provider("azure.ai.inference") == "azure.ai.inference"
    assert canonical_provider(42) is None
    assert canonical_provider("  ") is None


def test_openllmetry_legacy_names_inclusive_input() -> None:
    call = normalize(OPENLLMETRY_04_ANTHROPIC)
    assert call is not None and call.llm_call and call.provider == "anthropic"
    # 2600 already includes the 2000 read + 500 written: 100 uncached.
    assert call.usage == Usage(input_tokens=2600, output_tokens=300, cache_read_tokens=2000, cache_write_tokens=500)
    assert call.usage.uncached_input_tokens == 100


def test_openllmetry_workflow_span_is_not_a_call() -> None:
    call = normalize(OPENLLMETRY_WORKFLOW)
    assert call is not None and not call.llm_call


def test_openinference_prompt_includes_cache() -> None:
    call = normalize(OPENINFERENCE_ANTHROPIC)
    assert call is not None and call.llm_call
    assert call.usage == Usage(input_tokens=2600, output_tokens=300, cache_read_tokens=2000, cache_write_tokens=500)
    assert (call.provider, call.response_model) == ("anthropic", "claude-3-5-sonnet-20241022")


def test_openinference_chain_is_not_a_call_and_embedding_is() -> None:
    chain = normalize(OPENINFERENCE_CHAIN)
    assert chain is not None and not chain.llm_call
    embedding = normalize(OPENINFERENCE_EMBEDDING)
    assert embedding is not None and embedding.llm_call
    assert embedding.usage == Usage(input_tokens=800)


def test_openlit_anthropic_input_excludes_cache_and_zero_cost_is_a_miss() -> None:
    call = normalize(OPENLIT_ANTHROPIC)
    assert call is not None and call.llm_call
    # 100 uncached + 2000 read + 500 written = 2600 in total.
    assert call.usage == Usage(input_tokens=2600, output_tokens=300, cache_read_tokens=2000, cache_write_tokens=500)
    assert call.reported_cost is None


def test_openlit_positive_cost_is_reported() -> None:
    call = normalize(OPENLIT_OPENAI_WITH_COST)
    assert call is not None
    assert (call.reported_cost, call.reported_cost_currency, call.reported_cost_key) == (
        0.0035,
        "USD",
        "gen_ai.usage.cost",
    )


def test_logfire_operation_cost_is_reported() -> None:
    call = normalize(LOGFIRE_OPENAI)
    assert call is not None and call.llm_call
    assert (call.reported_cost, call.reported_cost_key) == (0.0035, "operation.cost")
    assert call.usage == Usage(input_tokens=1000, output_tokens=100)


def test_pydantic_ai_agent_run_is_an_aggregate() -> None:
    call = normalize(PYDANTIC_AI_AGENT_RUN)
    assert call is not None and not call.llm_call


def test_vercel_do_generate_is_a_call_and_generate_text_is_not() -> None:
    call = normalize(VERCEL_4_DO_GENERATE)
    assert call is not None and call.llm_call
    assert call.usage == Usage(input_tokens=420, output_tokens=64)
    assert (call.provider, call.request_model, call.response_model) == (
        "openai",
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
    )
    outer = normalize(VERCEL_4_GENERATE_TEXT)
    assert outer is not None and not outer.llm_call


def test_vercel_5_anthropic_input_excludes_cache_reads() -> None:
    call = normalize(VERCEL_5_ANTHROPIC)
    assert call is not None and call.provider == "anthropic"
    assert call.usage == Usage(input_tokens=2100, output_tokens=300, cache_read_tokens=2000)


def test_string_digits_are_counts_and_junk_is_flagged() -> None:
    call = normalize({**OTEL_CURRENT_OPENAI, "gen_ai.usage.input_tokens": "1200"})
    assert call is not None and call.usage is not None and call.usage.input_tokens == 1200
    bad = normalize({**OTEL_CURRENT_OPENAI, "gen_ai.usage.output_tokens": "lots"})
    assert bad is not None and bad.usage is None and bad.invalid_usage == "gen_ai.usage.output_tokens"


def test_the_table_is_complete_pure_data() -> None:
    names = [dialect.name for dialect in DIALECTS]
    assert names == [
        "tokenomics",
        "openinference",
        "vercel_ai",
        "logfire",
        "openlit",
        "openllmetry",
        "otel_genai_legacy",
        "otel_genai_current",
    ]
    for dialect in DIALECTS:
        assert dialect.input_tokens and dialect.output_tokens and dialect.provider, dialect.name
        for field in ("provider", "request_model", "response_model", "operation", "input_tokens", "cost"):
            assert all(isinstance(key, str) for key in getattr(dialect, field)), (dialect.name, field)
        assert by_name(dialect.name) is dialect
    assert {"chat", "embeddings", "llm"} <= LLM_OPERATIONS
