"""What a user checks on the OpenAI adapter: every endpoint's span, metrics, cost, safety and switches."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest
import wrapt
from pydantic import BaseModel

from otel_tokenomics.instrumentation.core import guard
from otel_tokenomics.instrumentation.openai import OpenAIInstrumentor

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What does a token cost?"},
]


def _sdk_httpx() -> Any:
    """The HTTP library the installed openai SDK is built on: httpx2 for 3.x, httpx for 1.x."""
    import importlib

    return importlib.import_module(openai.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])


httpx2 = _sdk_httpx()
needs_responses_api = pytest.mark.responses_api


def detail(obj: Any, *path: str) -> Any:
    """Usage details are typed in new SDKs and plain dicts in old ones."""
    for name in path:
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name)
    return obj


def chat_helpers(client: Any) -> Any:
    """`parse()`/`stream()` moved from `beta.chat.completions` to `chat.completions` in openai 1.92."""
    return (
        client.chat.completions if hasattr(client.chat.completions, "parse") else client.beta.chat.completions
    )


def client_for(fake: Any, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0, **kwargs)


def attributes_of(span: Any) -> dict[str, Any]:
    return dict(span.attributes or {})


def only_span(pipeline: Any) -> dict[str, Any]:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return attributes_of(spans[0])


# --- endpoints ---------------------------------------------------------------------------------------------
def test_chat_span_carries_request_response_usage_and_cost(
    fake: Any, pipeline: Any, instrument_openai: Any
) -> None:
    instrument_openai()
    response = client_for(fake).chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        seed=7,
        stop=["\n\n"],
    )
    [span] = pipeline.genai_spans()
    assert span.name == "chat gpt-4o"
    assert span.kind.name == "CLIENT"
    attributes = attributes_of(span)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    assert attributes["gen_ai.response.model"] == response.model == "gpt-4o-2024-08-06"
    assert attributes["gen_ai.response.id"] == response.id
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["gen_ai.request.seed"] == 7
    assert attributes["gen_ai.request.stop_sequences"] == ("\n\n",)
    assert attributes["gen_ai.response.finish_reasons"] == (response.choices[0].finish_reason,)
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == fake.port
    assert attributes["openai.api.type"] == "chat_completions"
    assert attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == response.usage.completion_tokens
    # The cost is the catalog's gpt-4o price for exactly these tokens.
    assert attributes["tokenomics.cost.status"] == "priced"
    assert attributes["gen_ai.usage.cost.currency"] == "USD"
    assert attributes["gen_ai.usage.cost.source"] == "local"
    expected = (response.usage.prompt_tokens * 2.5 + response.usage.completion_tokens * 10) / 1e6
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)
    breakdown = sum(
        attributes[f"tokenomics.cost.{part}"] for part in ("input", "cache_read", "cache_write", "output")
    )
    assert breakdown == pytest.approx(attributes["gen_ai.usage.cost.amount"])


def test_cached_prompt_is_priced_at_the_cache_rate(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai()
    long_context = "A long shared system prompt about invoices. " * 200
    messages = [{"role": "system", "content": long_context}, {"role": "user", "content": "first question"}]
    client = client_for(fake)
    client.chat.completions.create(model="gpt-4o", messages=messages)
    second = client.chat.completions.create(
        model="gpt-4o", messages=[*messages[:1], {"role": "user", "content": "second question"}]
    )
    cached = detail(second.usage, "prompt_tokens_details", "cached_tokens")
    assert cached > 0
    attributes = attributes_of(pipeline.genai_spans()[-1])
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == cached
    assert attributes["tokenomics.usage.input_uncached_tokens"] == second.usage.prompt_tokens - cached
    assert attributes["tokenomics.cost.cache_read"] == pytest.approx(cached * 1.25 / 1e6)
    assert attributes["tokenomics.cost.input"] == pytest.approx(
        (second.usage.prompt_tokens - cached) * 2.5 / 1e6
    )


def test_reasoning_tokens_are_a_subset_of_output(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai()
    response = client_for(fake).chat.completions.create(model="o3-mini", messages=MESSAGES)
    attributes = only_span(pipeline)
    reasoning = detail(response.usage, "completion_tokens_details", "reasoning_tokens")
    assert reasoning > 0
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == reasoning
    assert attributes["gen_ai.usage.output_tokens"] == response.usage.completion_tokens


@needs_responses_api
def test_responses_api_plain_and_stream_helper(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai()
    client = client_for(fake)
    response = client.responses.create(
        model="gpt-4.1", input="Hello", instructions="Be brief", max_output_tokens=40
    )
    with client.responses.stream(model="gpt-4.1", input="Hello again") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    plain, streamed = pipeline.genai_spans()
    for span, result in ((plain, response), (streamed, final)):
        attributes = attributes_of(span)
        assert span.name == "chat gpt-4.1"
        assert attributes["openai.api.type"] == "responses"
        assert attributes["gen_ai.response.model"] == result.model
        assert attributes["gen_ai.usage.input_tokens"] == result.usage.input_tokens
        assert attributes["gen_ai.usage.output_tokens"] == result.usage.output_tokens
        expected_reason = "stop" if result.status == "completed" else "length"
        assert attributes["gen_ai.response.finish_reasons"] == (expected_reason,)
        assert attributes["tokenomics.cost.status"] == "priced"
    assert attributes_of(plain)["gen_ai.request.max_tokens"] == 40
    assert response.status == "incomplete"  # 40 output tokens are not enough for the fake's answer
    assert attributes_of(streamed)["tokenomics.stream.completed"] is True


def test_legacy_completions_and_embeddings(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai()
    client = client_for(fake)
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Once upon", max_tokens=10)
    embedding = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    text_span, embeddings_span = pipeline.genai_spans()
    assert text_span.name == "text_completion gpt-3.5-turbo-instruct"
    assert attributes_of(text_span)["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    attributes = attributes_of(embeddings_span)
    assert embeddings_span.name == "embeddings text-embedding-3-small"
    assert attributes["gen_ai.operation.name"] == "embeddings"
    assert attributes["gen_ai.usage.input_tokens"] == embedding.usage.prompt_tokens
    assert attributes["gen_ai.embeddings.dimension.count"] == len(embedding.data[0].embedding)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(embedding.usage.prompt_tokens * 0.02 / 1e6)


def test_structured_parse_gives_one_span(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    class Answer(BaseModel):
        text: str

    instrument_openai(provider_hosts={})
    body = _chat_body("gpt-4o-2024-08-06", {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38})
    body["choices"][0]["message"]["content"] = '{"text": "cheap"}'
    client = _mock_client(lambda request: httpx2.Response(200, json=body), "https://api.openai.com/v1")
    parsed = chat_helpers(client).parse(model="gpt-4o", messages=MESSAGES, response_format=Answer)
    assert parsed.choices[0].message.parsed == Answer(text="cheap")
    attributes = only_span(pipeline)
    assert attributes["gen_ai.output.type"] == "json"
    assert attributes["gen_ai.usage.input_tokens"] == 30
    assert attributes["tokenomics.cost.status"] == "priced"


def test_chat_stream_helper(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai()
    with chat_helpers(client_for(fake)).stream(
        model="gpt-4o", messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        for _ in stream:
            pass
        completion = stream.get_final_completion()
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert attributes["tokenomics.stream.completed"] is True


# --- stream usage injection -----------------------------------------------------------------------------------
def test_injected_stream_usage_is_recorded_and_hidden_from_the_caller(
    fake: Any, pipeline: Any, instrument_openai: Any
) -> None:
    instrument_openai(inject_stream_usage=True)
    fake.reset()
    chunks = list(client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert fake.requests[-1].json["stream_options"] == {"include_usage": True}
    assert all(chunk.choices for chunk in chunks), "the usage-only chunk we asked for must not reach the app"
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["tokenomics.cost.status"] == "priced"


def test_user_requested_stream_usage_chunk_is_kept(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai(inject_stream_usage=True)
    chunks = list(
        client_for(fake).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_without_injection_a_stream_without_usage_is_unpriced_not_zero(
    fake: Any, pipeline: Any, instrument_openai: Any
) -> None:
    instrument_openai()
    list(client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    attributes = only_span(pipeline)
    assert attributes["tokenomics.cost.status"] == "unpriced"
    assert attributes["tokenomics.cost.unpriced_reason"] == "no_usage"
    assert "gen_ai.usage.cost.amount" not in attributes
    [point] = pipeline.metric_points("tokenomics.client.unpriced_calls")
    assert point.value == 1
    assert point.attributes["tokenomics.cost.unpriced_reason"] == "no_usage"


# --- metrics ----------------------------------------------------------------------------------------------
def test_metrics_follow_the_conventions(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai()
    client = client_for(fake)
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-fake-status": "429"}
        )
    span_costs = [attributes_of(s).get("gen_ai.usage.cost.amount", 0.0) for s in pipeline.genai_spans()]

    duration = pipeline.metric("gen_ai.client.operation.duration")
    assert duration.unit == "s"
    assert list(duration.data.data_points[0].explicit_bounds)[:3] == [0.01, 0.02, 0.04]
    errors = [p for p in duration.data.data_points if p.attributes.get("error.type") == "RateLimitError"]
    assert len(errors) == 1 and errors[0].count == 1

    tokens = pipeline.metric("gen_ai.client.token.usage")
    assert tokens.unit == "{token}"
    assert {p.attributes["gen_ai.token.type"] for p in tokens.data.data_points} == {"input", "output"}
    assert list(tokens.data.data_points[0].explicit_bounds)[:3] == [1, 4, 16]

    counter = pipeline.metric("tokenomics.client.cost")
    assert counter.data.is_monotonic
    assert sum(p.value for p in counter.data.data_points) == pytest.approx(sum(span_costs))
    histogram = pipeline.metric("gen_ai.client.operation.cost")
    assert sum(p.sum for p in histogram.data.data_points) == pytest.approx(sum(span_costs))
    assert min(histogram.data.data_points[0].explicit_bounds) < 0.0001  # sub-cent buckets
    for point in counter.data.data_points:
        assert point.attributes["gen_ai.usage.cost.currency"] == "USD"
        # Low cardinality: a host, never a URL or an id.
        assert set(point.attributes) <= {
            "gen_ai.operation.name",
            "gen_ai.provider.name",
            "gen_ai.request.model",
            "gen_ai.response.model",
            "server.address",
            "server.port",
            "gen_ai.usage.cost.currency",
        }


def test_time_to_first_chunk_metric(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai()
    list(client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    [point] = pipeline.metric_points("gen_ai.client.operation.time_to_first_chunk")
    assert point.count == 1 and point.sum > 0


# --- providers ----------------------------------------------------------------------------------------------
def _mock_client(handler: Any, base_url: str, cls: Any = openai.OpenAI, **kwargs: Any) -> Any:
    return cls(
        api_key="sk-test",
        base_url=base_url,
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
        **kwargs,
    )


def _chat_body(model: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": usage,
    }


@pytest.mark.parametrize(
    ("base_url", "provider"),
    [
        ("https://api.openai.com/v1", "openai"),
        ("https://api.deepseek.com/v1", "deepseek"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.x.ai/v1", "x_ai"),
        ("https://openrouter.ai/api/v1", "openrouter"),
        ("https://api.together.xyz/v1", "together"),
        ("https://api.fireworks.ai/inference/v1", "fireworks"),
        ("https://api.mistral.ai/v1", "mistral_ai"),
        ("https://api.perplexity.ai", "perplexity"),
        ("https://notgroq.com/v1", "openai"),
    ],
)
def test_provider_is_detected_from_the_base_url(
    pipeline: Any, instrument_openai: Any, base_url: str, provider: str
) -> None:
    instrument_openai(provider_hosts={})
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    client = _mock_client(lambda request: httpx2.Response(200, json=_chat_body("m", usage)), base_url)
    client.chat.completions.create(model="m", messages=MESSAGES)
    assert only_span(pipeline)["gen_ai.provider.name"] == provider


def test_deepseek_via_openai_client_is_priced_as_deepseek(pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai(provider_hosts={})
    usage = {"prompt_tokens": 10_000, "completion_tokens": 1_000, "total_tokens": 11_000}
    client = _mock_client(
        lambda request: httpx2.Response(200, json=_chat_body("deepseek-chat", usage)),
        "https://api.deepseek.com",
    )
    client.chat.completions.create(model="deepseek-chat", messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["tokenomics.cost.status"] == "priced"
    assert attributes["tokenomics.cost.provider"] == "deepseek"


def test_azure_prices_the_response_model_not_the_deployment(pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai(provider_hosts={})
    usage = {"prompt_tokens": 10_000, "completion_tokens": 1_000, "total_tokens": 11_000}

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=_chat_body("gpt-4o-2024-08-06", usage))

    client = openai.AzureOpenAI(
        api_key="k",
        api_version="2024-10-21",
        azure_endpoint="https://myres.openai.azure.com",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    client.chat.completions.create(model="prod-4o-deployment", messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == "azure.ai.openai"
    assert attributes["gen_ai.request.model"] == "prod-4o-deployment"
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(0.035)


def test_provider_reported_cost_is_kept(pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai(provider_hosts={})
    usage = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110, "cost": 0.000123}
    client = _mock_client(
        lambda request: httpx2.Response(200, json=_chat_body("openai/gpt-4o", usage)),
        "https://openrouter.ai/api/v1",
    )
    client.chat.completions.create(model="openai/gpt-4o", messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.cost.source"] == "provider"
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(0.000123)


def test_self_hosted_server_is_unpriced_without_a_sheet(
    fake: Any, pipeline: Any, instrument_openai: Any
) -> None:
    instrument_openai(provider_hosts={})
    client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["tokenomics.cost.status"] == "unpriced"
    assert attributes["tokenomics.cost.unpriced_reason"] == "self_hosted"


def test_unknown_model_is_unpriced_and_counted(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai()
    client_for(fake).chat.completions.create(model="my-finetune-xyz", messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["tokenomics.cost.status"] == "unpriced"
    assert attributes["tokenomics.cost.unpriced_reason"] == "unknown_model"
    assert "gen_ai.usage.cost.amount" not in attributes
    [point] = pipeline.metric_points("tokenomics.client.unpriced_calls")
    assert point.attributes["tokenomics.cost.unpriced_reason"] == "unknown_model"


# --- never break the app ------------------------------------------------------------------------------------
def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault in otel-tokenomics")


FAULTS = {
    "request reader": ("otel_tokenomics.instrumentation.openai.readers", "client_destination"),
    "usage conversion": ("otel_tokenomics.semconv.usage.Usage", "from_inclusive"),
    "chunk reader": ("otel_tokenomics.instrumentation.openai.readers.ChatStreamReader", "feed"),
    "stream close": ("otel_tokenomics.instrumentation.openai.readers.ChatStreamReader", "close"),
    "pricing": ("otel_tokenomics.instrumentation.core.telemetry.Telemetry", "_cost"),
    "metric attributes": ("otel_tokenomics.instrumentation.core.telemetry.Telemetry", "_metric_attribute_set"),
    "metric totals": ("otel_tokenomics.instrumentation.core.totals.RunningTotals", "add"),
    "histogram record": ("opentelemetry.sdk.metrics._internal.instrument.Histogram", "record"),
    "span start": ("opentelemetry.sdk.trace.Tracer", "start_span"),
    "span attributes": ("opentelemetry.sdk.trace.Span", "set_attributes"),
    "span end": ("opentelemetry.sdk.trace.Span", "end"),
    "classify": ("otel_tokenomics.instrumentation.openai.adapter.OpenAIAdapter", "classify"),
}


def _resolve(path: str) -> Any:
    import importlib

    module_path, _, attribute = path.rpartition(".")
    try:
        return importlib.import_module(path)
    except ImportError:
        return getattr(importlib.import_module(module_path), attribute)


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("stream", [False, True])
def test_our_faults_never_reach_the_app(
    fake: Any, pipeline: Any, instrument_openai: Any, monkeypatch: Any, fault: str, stream: bool
) -> None:
    def call() -> Any:
        kwargs: dict[str, Any] = {"model": "gpt-4o", "messages": MESSAGES}
        if stream:
            kwargs.update(stream=True, stream_options={"include_usage": True})
            return [
                c.model_dump(exclude={"created"}) for c in client_for(fake).chat.completions.create(**kwargs)
            ]
        return client_for(fake).chat.completions.create(**kwargs).model_dump(exclude={"created"})

    expected = call()
    instrument_openai()
    owner, name = FAULTS[fault]
    monkeypatch.setattr(_resolve(owner), name, _boom)
    before = sum(guard.internal_error_counts.values())
    assert call() == expected
    if fault not in ("chunk reader", "stream close") or stream:
        assert sum(guard.internal_error_counts.values()) > before, "the fault must be logged, not silent"


def test_sdk_exception_is_the_very_same_object(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai()
    caught: list[BaseException] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    client = _mock_client(handler, "https://api.openai.com/v1")
    with pytest.raises(openai.APIConnectionError) as info:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    caught.append(info.value)
    assert isinstance(info.value.__cause__, httpx2.ConnectError)
    attributes = only_span(pipeline)
    assert attributes["error.type"] == "APIConnectionError"


# --- switches -------------------------------------------------------------------------------------------------
def test_double_instrument_is_a_noop_and_uninstrument_restores(
    fake: Any, pipeline: Any, instrument_openai: Any
) -> None:
    instrumentor = instrument_openai()
    instrument_openai()
    assert OpenAIInstrumentor() is instrumentor
    client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrumentor.uninstrument()
    assert not isinstance(vars(openai.resources.chat.completions.Completions)["create"], wrapt.ObjectProxy)
    client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrument_openai()
    client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 2


def test_nested_instrumented_calls_give_one_span(pipeline: Any, instrument_openai: Any) -> None:
    """A client whose transport itself calls another instrumented client (a gateway, LiteLLM): one span."""
    instrument_openai(provider_hosts={})
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    inner = _mock_client(
        lambda request: httpx2.Response(200, json=_chat_body("gpt-4o", usage)), "https://api.openai.com/v1"
    )

    def outer_handler(request: httpx2.Request) -> httpx2.Response:
        inner.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        return httpx2.Response(200, json=_chat_body("gpt-4o", usage))

    outer = _mock_client(outer_handler, "https://api.openai.com/v1")
    outer.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    [point] = pipeline.metric_points("tokenomics.client.cost")
    assert point.value == pytest.approx((10 * 2.5 + 5 * 10) / 1e6)


def test_content_is_not_captured_by_default(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai()
    client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    attributes = only_span(pipeline)
    assert not [key for key in attributes if "messages" in key or "instructions" in key]
    assert "What does a token cost" not in json.dumps(attributes, default=str)


@pytest.mark.parametrize("mode", ["true", "SPAN_ONLY", "span_and_event", "EVENT_ONLY"])
def test_content_capture_opt_in(
    fake: Any, pipeline: Any, instrument_openai: Any, monkeypatch: Any, mode: str
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", mode)
    instrument_openai()
    response = client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    [span] = pipeline.genai_spans()
    on_span = mode.lower() != "event_only"
    sources = [dict(span.attributes)] if on_span else [dict(event.attributes) for event in span.events]
    assert sources, "content must be somewhere when opted in"
    source = sources[0]
    messages = json.loads(source["gen_ai.input.messages"])
    assert messages == [{"role": "user", "parts": [{"type": "text", "content": "What does a token cost?"}]}]
    assert json.loads(source["gen_ai.system_instructions"]) == [{"type": "text", "content": "You are terse."}]
    output = json.loads(source["gen_ai.output.messages"])
    assert output[0]["parts"][0]["content"] == response.choices[0].message.content
    assert ("gen_ai.input.messages" in span.attributes) is on_span
    assert bool(span.events) is (mode.lower() in ("span_and_event", "event_only"))


def test_api_keys_and_auth_headers_never_exported(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    secret = "sk-proj-SECRET0123456789abcdef"
    header_secret = "Bearer HEADER-SECRET-42"
    instrument_openai(capture_content=True)
    client = openai.OpenAI(
        base_url=fake.openai_base_url,
        api_key=secret,
        max_retries=0,
        default_headers={"X-Api-Key": header_secret},
    )
    client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, extra_headers={"Authorization": header_secret}
    )
    list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-fake-status": "401"}
        )
    exported = []
    for span in pipeline.spans():
        exported.append(span.to_json())
    exported.append(pipeline.reader.get_metrics_data().to_json())
    blob = "\n".join(exported)
    assert "What does a token cost" in blob  # content capture was on, so the check has teeth
    assert secret not in blob and "SECRET0123" not in blob
    assert "HEADER-SECRET" not in blob


@needs_responses_api
def test_async_client_works_the_same(fake: Any, pipeline: Any, instrument_openai: Any) -> None:
    instrument_openai()

    async def scenario() -> Any:
        client = openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0)
        response = await client.responses.create(model="gpt-4.1", input="hi")
        embedding = await client.embeddings.create(model="text-embedding-3-small", input="x")
        return response, embedding

    response, embedding = asyncio.run(scenario())
    responses_span, embeddings_span = pipeline.genai_spans()
    assert attributes_of(responses_span)["gen_ai.usage.input_tokens"] == response.usage.input_tokens
    assert attributes_of(embeddings_span)["gen_ai.usage.input_tokens"] == embedding.usage.prompt_tokens


def test_instrument_handle_covers_installed_sdks(fake: Any, pipeline: Any) -> None:
    import otel_tokenomics

    handle = otel_tokenomics.instrument(
        tracer_provider=pipeline.tracer_provider,
        meter_provider=pipeline.meter_provider,
        provider_hosts={"127.0.0.1": "openai"},
    )
    try:
        import importlib.util

        from otel_tokenomics.instrumentation import SUPPORTED_SDKS, _installed

        assert "openai" in handle.sdks
        assert handle.sdks == sorted(sdk for sdk in SUPPORTED_SDKS if _installed(sdk))
        assert importlib.util.find_spec("openai") is not None
        client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert len(pipeline.genai_spans()) == 1
    finally:
        handle.uninstrument()
    client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1


def test_a_malformed_price_sheet_fails_instrument_loudly(tmp_path: Any, monkeypatch: Any, pipeline: Any) -> None:
    """Bad configuration is an error at start-up naming file and key, not a silent mispricing later."""
    from otel_tokenomics.semconv.prices import PriceBook, PriceSheetError

    sheet = tmp_path / "contract.toml"
    sheet.write_text('[[models]]\nmodel = "gpt-4o"\ninput = "cheap"\noutput = 1\n')
    monkeypatch.setenv("OTEL_TOKENOMICS_PRICE_SHEET", str(sheet))
    PriceBook.clear_default()
    instrumentor = OpenAIInstrumentor()
    try:
        with pytest.raises(PriceSheetError, match=r"contract\.toml: models\[0\]\.input: expected a number"):
            instrumentor.instrument(tracer_provider=pipeline.tracer_provider)
        assert not instrumentor.is_instrumented_by_opentelemetry
        assert not isinstance(vars(openai.resources.chat.completions.Completions)["create"], wrapt.ObjectProxy)
    finally:
        PriceBook.clear_default()
