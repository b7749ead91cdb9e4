"""What a user checks on the LiteLLM adapter: one span per request, the true provider and model, cost counted once.

Rates used below (genai-prices 0.2.3, USD per 1M tokens): gpt-4o-mini input 0.15, output 0.6;
text-embedding-3-small input 0.02; claude-3-5-haiku input 0.8, cache write (5 min) 1.0, cache read 0.08, output 4.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litellm_support import ANTHROPIC_MODEL, MESSAGES, OPENAI_MODEL, Backends
from litellm_support import backends as backends  # fixtures, used by name
from litellm_support import instrument_litellm as instrument_litellm
from litellm_support import litellm as litellm

import otel_tokenomics
from otel_tokenomics.instrumentation import SUPPORTED_SDKS
from otel_tokenomics.instrumentation.litellm import LiteLLMInstrumentor

pytestmark = pytest.mark.litellm

PER_MILLION = 1_000_000


def only_span(pipeline: Any) -> dict[str, Any]:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, [(s.name, s.instrumentation_scope.name) for s in spans]
    return dict(spans[0].attributes or {})


def cost_counter_total(pipeline: Any) -> float:
    """The monotonic cost counter, summed over every series: what a dashboard's total spend shows."""
    return sum(point.value for point in pipeline.metric_points("tokenomics.client.cost"))


# --- one span, the true provider and model, priced once -------------------------------------------------------
def test_openai_backend_one_span_priced_once_by_hand(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    instrument_litellm()  # the OpenAI SDK, which LiteLLM calls underneath, is instrumented too
    response = litellm.completion(**backends.call_options("openai"), messages=MESSAGES, temperature=0.3, max_tokens=90)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == OPENAI_MODEL  # not LiteLLM's "openai/gpt-4o-mini"
    assert attributes["gen_ai.response.model"] == response.model == "gpt-4o-mini-2024-07-18"
    assert attributes["gen_ai.request.temperature"] == 0.3
    assert attributes["gen_ai.request.max_tokens"] == 90
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == backends.openai.port
    usage = response.usage
    assert attributes["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == usage.completion_tokens
    expected = (usage.prompt_tokens * 0.15 + usage.completion_tokens * 0.6) / PER_MILLION
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)
    assert cost_counter_total(pipeline) == pytest.approx(expected)  # counted once, not once per layer


def test_anthropic_backend_true_provider_and_cache_tokens_priced_by_hand(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    """LiteLLM folds Anthropic's cache writes and reads into `prompt_tokens`; each is priced at its own rate."""
    instrument_litellm()
    long_context = "Budgets bound the spend of every tenant. " * 600
    messages = [
        {"role": "system", "content": [{"type": "text", "text": long_context, "cache_control": {"type": "ephemeral"}}]},
        {"role": "user", "content": "Summarize."},
    ]
    options = backends.call_options("anthropic")
    first = litellm.completion(**options, messages=messages)
    second = litellm.completion(**options, messages=messages)
    spans = pipeline.genai_spans()
    assert len(spans) == 2
    written, read = (dict(span.attributes or {}) for span in spans)
    for attributes in (written, read):
        assert attributes["gen_ai.provider.name"] == "anthropic"
        assert attributes["gen_ai.response.model"] == ANTHROPIC_MODEL
    creation = first.usage.cache_creation_input_tokens
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert creation > 0 and cached == creation
    assert written["gen_ai.usage.cache_creation.input_tokens"] == creation
    assert read["gen_ai.usage.cache_read.input_tokens"] == cached
    assert written["gen_ai.usage.input_tokens"] == first.usage.prompt_tokens  # inclusive, as the conventions say
    uncached = first.usage.prompt_tokens - creation
    assert written["gen_ai.usage.cost.amount"] == pytest.approx(
        (uncached * 0.8 + creation * 1.0 + first.usage.completion_tokens * 4.0) / PER_MILLION
    )
    assert read["gen_ai.usage.cost.amount"] == pytest.approx(
        (uncached * 0.8 + cached * 0.08 + second.usage.completion_tokens * 4.0) / PER_MILLION
    )


def test_without_litellm_instrumented_the_sdk_span_remains(
    litellm: Any, backends: Backends, pipeline: Any, price_book: Any
) -> None:
    """The contrast: only the OpenAI adapter on, LiteLLM's call is still seen, once, through the SDK it uses."""
    from otel_tokenomics.instrumentation.openai import OpenAIInstrumentor

    # LiteLLM caches its SDK clients, whose raw-response helpers bound `create` before this instrumentation.
    litellm.in_memory_llm_clients_cache.flush_cache()
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=pipeline.tracer_provider,
        meter_provider=pipeline.meter_provider,
        price_book=price_book,
        provider_hosts=backends.provider_hosts,
    )
    try:
        litellm.completion(**backends.call_options("openai"), messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    [span] = pipeline.genai_spans()
    assert span.instrumentation_scope.name == "otel_tokenomics.instrumentation.openai"


def test_async_and_streamed_calls_are_priced_once(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    instrument_litellm()
    options = {**backends.call_options("openai"), "messages": MESSAGES}

    async def calls() -> list[Any]:
        plain = await litellm.acompletion(**options)
        stream = await litellm.acompletion(**options, stream=True, stream_options={"include_usage": True})
        chunks = [chunk async for chunk in stream]
        return [plain.usage, chunks[-1].usage]

    usages = asyncio.run(calls())
    spans = pipeline.genai_spans()
    assert len(spans) == 2
    expected = sum((usage.prompt_tokens * 0.15 + usage.completion_tokens * 0.6) / PER_MILLION for usage in usages)
    assert sum(span.attributes["gen_ai.usage.cost.amount"] for span in spans) == pytest.approx(expected)
    assert cost_counter_total(pipeline) == pytest.approx(expected)


def test_stream_without_usage_is_unpriced_not_zero(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    instrument_litellm()
    chunks = list(litellm.completion(**backends.call_options("openai"), messages=MESSAGES, stream=True))
    assert chunks
    attributes = only_span(pipeline)
    assert attributes["tokenomics.stream.completed"] is True
    assert attributes["tokenomics.cost.status"] == "unpriced"
    assert attributes["tokenomics.cost.unpriced_reason"] == "no_usage"


def test_injected_stream_usage_is_priced_and_hidden_from_the_caller(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    options = {**backends.call_options("openai"), "messages": MESSAGES, "stream": True}
    bare = [chunk.choices[0].delta.content for chunk in litellm.completion(**options)]
    instrument_litellm(inject_stream_usage=True)
    seen = [chunk.choices[0].delta.content for chunk in litellm.completion(**options)]
    assert seen == bare  # the usage chunk we asked for is not passed on
    attributes = only_span(pipeline)
    assert attributes["tokenomics.cost.status"] == "priced"
    assert attributes["gen_ai.usage.output_tokens"] > 0


def test_embeddings_sync_and_async_priced_by_hand(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    instrument_litellm()
    options = {
        **backends.call_options("openai"),
        "model": "openai/text-embedding-3-small",
        "input": ["token accounting", "cost per trace"],
        "encoding_format": "float",
    }
    responses = [litellm.embedding(**options), asyncio.run(litellm.aembedding(**options))]
    spans = pipeline.genai_spans()
    assert len(spans) == 2
    for span, response in zip(spans, responses, strict=True):
        attributes = dict(span.attributes or {})
        assert span.name == "embeddings text-embedding-3-small"
        assert attributes["gen_ai.provider.name"] == "openai"
        assert attributes["gen_ai.embeddings.dimension.count"] == len(response.data[0]["embedding"])
        assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(
            response.usage.prompt_tokens * 0.02 / PER_MILLION
        )


# --- LiteLLM's own cost ---------------------------------------------------------------------------------------
def test_litellm_response_cost_is_recorded_beside_ours(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    instrument_litellm()
    response = litellm.completion(**backends.call_options("openai"), messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["tokenomics.litellm.response_cost"] == response._hidden_params["response_cost"]
    assert attributes["gen_ai.usage.cost.source"] == "local"  # our price book decided the amount


def test_cost_source_litellm_lets_litellm_decide(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    instrument_litellm(cost_source="litellm")
    response = litellm.completion(**backends.call_options("openai"), messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.cost.amount"] == response._hidden_params["response_cost"]
    assert attributes["gen_ai.usage.cost.source"] == "provider"


def test_cost_source_litellm_does_not_take_a_zero_as_a_price(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    """A model missing from LiteLLM's map can come back as 0: the price book decides then, never a silent 0."""
    instrument_litellm(cost_source="litellm")
    response = litellm.completion(
        **backends.call_options("anthropic"), messages=MESSAGES, input_cost_per_token=0, output_cost_per_token=0
    )
    attributes = only_span(pipeline)
    assert attributes["tokenomics.litellm.response_cost"] == response._hidden_params["response_cost"] == 0
    usage = response.usage
    assert attributes["gen_ai.usage.cost.source"] == "local"
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(
        (usage.prompt_tokens * 0.8 + usage.completion_tokens * 4.0) / PER_MILLION
    )


def test_bad_cost_source_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TOKENOMICS_LITELLM_COST_SOURCE", "cheapest")
    instrumentor = LiteLLMInstrumentor()
    with pytest.raises(ValueError, match=r"OTEL_TOKENOMICS_LITELLM_COST_SOURCE.*'cheapest'"):
        instrumentor.instrument()
    assert not instrumentor.is_instrumented_by_opentelemetry


# --- content, routing, switches -------------------------------------------------------------------------------
def test_content_is_off_by_default_and_on_when_asked(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    instrument_litellm()
    litellm.completion(**backends.call_options("anthropic"), messages=MESSAGES)
    attributes = only_span(pipeline)
    assert not any(name.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.system")) for name in attributes)
    LiteLLMInstrumentor().uninstrument()
    pipeline.exporter.clear()
    LiteLLMInstrumentor().instrument(
        tracer_provider=pipeline.tracer_provider, provider_hosts=backends.provider_hosts, capture_content=True
    )
    response = litellm.completion(**backends.call_options("anthropic"), messages=MESSAGES)
    attributes = only_span(pipeline)
    assert MESSAGES[0]["content"] in attributes["gen_ai.input.messages"]
    assert response.choices[0].message.content in attributes["gen_ai.output.messages"]


def test_positional_model_and_messages_are_read(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    instrument_litellm()
    options = backends.call_options("openai")
    model = options.pop("model")
    litellm.completion(model, MESSAGES, **options)
    assert only_span(pipeline)["gen_ai.request.model"] == OPENAI_MODEL


def test_loopback_backend_without_a_mapping_is_self_hosted(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any
) -> None:
    """An `api_base` on the user's own machine is not priced at OpenAI's list price unless mapped."""
    instrument_litellm(provider_hosts={})
    litellm.completion(**backends.call_options("openai"), messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["tokenomics.cost.status"] == "unpriced"
    assert attributes["tokenomics.cost.unpriced_reason"] == "self_hosted"


def test_unroutable_model_fails_as_litellm_does_and_is_recorded(
    litellm: Any, pipeline: Any, instrument_litellm: Any
) -> None:
    instrument_litellm()
    with pytest.raises(litellm.BadRequestError):
        litellm.completion(model="no-such-model-anywhere", messages=MESSAGES, api_key="sk-test")
    [span] = pipeline.genai_spans()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "BadRequestError"


def test_uninstrument_restores_the_module_functions(litellm: Any, instrument_litellm: Any) -> None:
    originals = {name: getattr(litellm, name) for name in ("completion", "acompletion", "embedding", "aembedding")}
    instrumentor = instrument_litellm(sdk_adapters=False)
    assert all(getattr(litellm, name) is not function for name, function in originals.items())
    instrumentor.uninstrument()
    assert all(getattr(litellm, name) is function for name, function in originals.items())


def test_instrument_picks_up_litellm(litellm: Any, pipeline: Any) -> None:
    assert SUPPORTED_SDKS["litellm"] == "otel_tokenomics.instrumentation.litellm:LiteLLMInstrumentor"
    handle = otel_tokenomics.instrument(sdks=["litellm"], tracer_provider=pipeline.tracer_provider)
    try:
        assert handle.sdks == ["litellm"]
    finally:
        handle.uninstrument()
