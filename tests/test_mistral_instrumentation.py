"""What a user checks on the Mistral adapter: spans, token semantics, cost, safety and switches."""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import AsyncGenerator, Generator, Iterator
from typing import Any

import pytest
import wrapt
from pydantic import BaseModel

from otel_tokenomics.instrumentation.core import guard
from otel_tokenomics.instrumentation.mistral import MistralInstrumentor

MODEL = "mistral-small-latest"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What does a token cost?"},
]
# The catalog's mistral-small-latest rates (USD per 1M tokens), from
# `otel-tokenomics prices mistral-small-latest --provider mistral_ai`: input 0.15, output 0.6, cache read 0.015.
SMALL_INPUT, SMALL_OUTPUT, SMALL_CACHE_READ = 0.15, 0.6, 0.015
# mistral-embed: input 0.1 per 1M tokens.
EMBED_INPUT = 0.1

# 3.x moved the SDK under `mistralai.client` (and onto httpx2); 1.x keeps it at the top level, on httpx, with its
# errors in `mistralai.models` and (before `EventStream` existed) streams returned as plain generators.
try:
    from mistralai.client import Mistral, errors

    SDK = "mistralai.client"
except ImportError:
    from mistralai import Mistral
    from mistralai import models as errors

    SDK = "mistralai"
Chat = importlib.import_module(f"{SDK}.chat").Chat
Embeddings = importlib.import_module(f"{SDK}.embeddings").Embeddings
ChatCompletionResponse = importlib.import_module(f"{SDK}.models").ChatCompletionResponse
EmbeddingResponse = importlib.import_module(f"{SDK}.models").EmbeddingResponse
_eventstreaming = importlib.import_module(f"{SDK}.utils.eventstreaming")
EventStream = getattr(_eventstreaming, "EventStream", Generator)
EventStreamAsync = getattr(_eventstreaming, "EventStreamAsync", AsyncGenerator)
sdk_httpx = importlib.import_module(f"{SDK}.httpclient").httpx  # the HTTP library the SDK's clients come from
# Tests of what the oldest supported release (1.1.0) lacks: unknown usage keys kept as extras (it drops the cache
# fields), thinking chunks, `chat.parse()`, per-call `http_headers`. Deselected for the oldest matrix run.
modern = pytest.mark.mistral_modern


@pytest.fixture(scope="module")
def mistral_fake() -> Iterator[Any]:
    from otel_tokenomics.fake_provider import FakeProvider
    from otel_tokenomics.fake_provider.protocols import load_protocols

    with FakeProvider(protocols=load_protocols(["mistral"])) as server:
        yield server


@pytest.fixture
def instrument_mistral(pipeline: Any, price_book: Any) -> Iterator[Any]:
    instrumentor = MistralInstrumentor()

    def instrument(**options: Any) -> MistralInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "mistral_ai"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


def client_for(fake: Any, api_key: str = "test-key", headers: dict[str, str] | None = None) -> Mistral:
    """A client of the fake; `headers` go on every request (1.1.0 has no per-call `http_headers`)."""
    if not headers:
        return Mistral(api_key=api_key, server_url=f"{fake.base_url}/mistral")
    return Mistral(
        api_key=api_key,
        server_url=f"{fake.base_url}/mistral",
        client=sdk_httpx.Client(headers=headers),
        async_client=sdk_httpx.AsyncClient(headers=headers),
    )


def mock_client(body: dict[str, Any] | bytes, status: int = 200, stream: bool = False) -> Mistral:
    """A client of the real api.mistral.ai host whose answers are canned (realistic bodies, no network)."""

    def handler(request: sdk_httpx.Request) -> sdk_httpx.Response:
        if stream:
            return sdk_httpx.Response(status, content=body, headers={"content-type": "text/event-stream"})
        return sdk_httpx.Response(status, json=body)

    transport = sdk_httpx.MockTransport(handler)
    return Mistral(
        api_key="test-key",
        client=sdk_httpx.Client(transport=transport),
        async_client=sdk_httpx.AsyncClient(transport=transport),
    )


def only_span(pipeline: Any) -> dict[str, Any]:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return dict(spans[0].attributes or {})


def chat_body(usage: dict[str, Any], content: Any = "Tokens cost money.", model: str = MODEL) -> dict[str, Any]:
    return {
        "id": "cmpl-e5cc70bb28c444948073e77776eb30ef",
        "object": "chat.completion",
        "model": model,
        "created": 1702256327,
        "usage": usage,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "tool_calls": None, "prefix": False},
                "finish_reason": "stop",
            }
        ],
    }


# --- spans and cost ------------------------------------------------------------------------------------------
def test_chat_span_carries_request_response_usage_and_cost(
    mistral_fake: Any, pipeline: Any, instrument_mistral: Any
) -> None:
    instrument_mistral()
    response = client_for(mistral_fake).chat.complete(
        model=MODEL,
        messages=MESSAGES,
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        random_seed=7,
        stop=["\n\n"],
        response_format={"type": "json_object"},
    )
    [span] = pipeline.genai_spans()
    assert span.name == f"chat {MODEL}"
    assert span.kind.name == "CLIENT"
    attributes = dict(span.attributes)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "mistral_ai"
    assert attributes["gen_ai.request.model"] == MODEL
    assert attributes["gen_ai.response.model"] == response.model == MODEL
    assert attributes["gen_ai.response.id"] == response.id
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["gen_ai.request.seed"] == 7
    assert attributes["gen_ai.request.stop_sequences"] == ("\n\n",)
    assert attributes["gen_ai.output.type"] == "json"
    assert attributes["gen_ai.response.finish_reasons"] == (response.choices[0].finish_reason,)
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == mistral_fake.port
    assert attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == response.usage.completion_tokens
    assert attributes["tokenomics.cost.status"] == "priced"
    assert attributes["gen_ai.usage.cost.currency"] == "USD"
    expected = (response.usage.prompt_tokens * SMALL_INPUT + response.usage.completion_tokens * SMALL_OUTPUT) / 1e6
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)


@modern
def test_hand_computed_price_with_a_cache_hit(pipeline: Any, instrument_mistral: Any) -> None:
    """Mistral's documented cache example: prompt_tokens 1013 of which 1008 cached, 30 completion tokens."""
    instrument_mistral(provider_hosts={})
    usage = {
        "prompt_tokens": 1013,
        "total_tokens": 1043,
        "completion_tokens": 30,
        "prompt_tokens_details": {"cached_tokens": 1008},
    }
    mock_client(chat_body(usage)).chat.complete(model=MODEL, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == "mistral_ai"
    assert attributes["server.address"] == "api.mistral.ai"
    assert attributes["server.port"] == 443
    assert attributes["gen_ai.usage.input_tokens"] == 1013  # inclusive: cached tokens are part of the prompt
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 1008
    assert attributes["tokenomics.usage.input_uncached_tokens"] == 5
    assert attributes["gen_ai.usage.output_tokens"] == 30
    # 5 x 0.15 + 1008 x 0.015 + 30 x 0.6 = 0.75 + 15.12 + 18 = 33.87 USD per million = 0.00003387 USD
    assert attributes["tokenomics.cost.input"] == pytest.approx(0.75e-6)
    assert attributes["tokenomics.cost.cache_read"] == pytest.approx(15.12e-6)
    assert attributes["tokenomics.cost.output"] == pytest.approx(18e-6)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(33.87e-6)


@modern
@pytest.mark.parametrize(
    "cache_field",
    [
        {"prompt_token_details": {"cached_tokens": 512}},
        {"num_cached_tokens": 512},
    ],
)
def test_alternative_cache_fields_are_read(pipeline: Any, instrument_mistral: Any, cache_field: Any) -> None:
    instrument_mistral(provider_hosts={})
    usage = {"prompt_tokens": 600, "completion_tokens": 10, "total_tokens": 610, **cache_field}
    mock_client(chat_body(usage)).chat.complete(model=MODEL, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == 600
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 512


@modern
def test_cache_hit_from_the_fake_provider(mistral_fake: Any, pipeline: Any, instrument_mistral: Any) -> None:
    instrument_mistral()
    response = client_for(mistral_fake).chat.complete(
        model=MODEL, messages=MESSAGES, http_headers={"x-fake-cached-tokens": "8"}
    )
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 8
    uncached = response.usage.prompt_tokens - 8
    assert attributes["tokenomics.cost.input"] == pytest.approx(uncached * SMALL_INPUT / 1e6)
    assert attributes["tokenomics.cost.cache_read"] == pytest.approx(8 * SMALL_CACHE_READ / 1e6)


@modern
def test_reasoning_is_billed_inside_completion_tokens(pipeline: Any, instrument_mistral: Any, monkeypatch: Any) -> None:
    """Magistral's thinking arrives as a content chunk; its tokens are already in `completion_tokens`."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrument_mistral(provider_hosts={})
    content = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "The user asks about cost."}]},
        {"type": "text", "text": "It depends on the model."},
    ]
    usage = {"prompt_tokens": 20, "completion_tokens": 40, "total_tokens": 60}
    mock_client(chat_body(usage, content, "magistral-medium-2509")).chat.complete(
        model="magistral-medium-latest", messages=MESSAGES
    )
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.output_tokens"] == 40
    assert "gen_ai.usage.reasoning.output_tokens" not in attributes  # not reported separately by Mistral
    output = json.loads(attributes["gen_ai.output.messages"])
    assert output[0]["parts"] == [
        {"type": "reasoning", "content": "The user asks about cost."},
        {"type": "text", "content": "It depends on the model."},
    ]


def test_stream_reads_usage_and_finish_reason_from_the_last_chunk(
    mistral_fake: Any, pipeline: Any, instrument_mistral: Any
) -> None:
    instrument_mistral(inject_stream_usage=True)
    stream = client_for(mistral_fake).chat.stream(model=MODEL, messages=MESSAGES)
    assert isinstance(stream, EventStream)
    events = list(stream)
    usage = events[-1].data.usage
    assert usage is not None
    # Mistral rejects OpenAI's `stream_options` with a 422: we must never send it, even when asked to inject.
    assert "stream_options" not in mistral_fake.requests[-1].json
    attributes = only_span(pipeline)
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["tokenomics.stream.completed"] is True
    assert attributes["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.response.id"] == events[0].data.id
    expected = (usage.prompt_tokens * SMALL_INPUT + usage.completion_tokens * SMALL_OUTPUT) / 1e6
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)


def test_embeddings_span(mistral_fake: Any, pipeline: Any, instrument_mistral: Any) -> None:
    instrument_mistral()
    response = client_for(mistral_fake).embeddings.create(model="mistral-embed", inputs=["token accounting", "cost"])
    assert isinstance(response, EmbeddingResponse)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.operation.name"] == "embeddings"
    assert attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == 0
    assert attributes["gen_ai.embeddings.dimension.count"] == len(response.data[0].embedding)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(response.usage.prompt_tokens * EMBED_INPUT / 1e6)


def test_async_client_works_the_same(mistral_fake: Any, pipeline: Any, instrument_mistral: Any) -> None:
    instrument_mistral()

    async def scenario() -> Any:
        client = client_for(mistral_fake)
        response = await client.chat.complete_async(model=MODEL, messages=MESSAGES)
        stream = await client.chat.stream_async(model=MODEL, messages=MESSAGES)
        assert isinstance(stream, EventStreamAsync)
        events = [event async for event in stream]
        embedding = await client.embeddings.create_async(model="mistral-embed", inputs="x")
        return response, events, embedding

    response, events, embedding = asyncio.run(scenario())
    assert isinstance(response, ChatCompletionResponse)
    chat_span, stream_span, embeddings_span = (dict(span.attributes) for span in pipeline.genai_spans())
    assert chat_span["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert stream_span["gen_ai.usage.output_tokens"] == events[-1].data.usage.completion_tokens
    assert embeddings_span["gen_ai.usage.input_tokens"] == embedding.usage.prompt_tokens


@modern
def test_structured_parse_gives_one_span(mistral_fake: Any, pipeline: Any, instrument_mistral: Any) -> None:
    class Answer(BaseModel):
        text: str

    instrument_mistral()
    client = client_for(mistral_fake)
    with pytest.raises(Exception):  # noqa: B017 - the fake answers prose, not JSON; the span is what matters
        client.chat.parse(response_format=Answer, model=MODEL, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.output.type"] == "json"
    assert attributes["gen_ai.usage.input_tokens"] > 0


def test_loopback_without_a_host_map_is_self_hosted_and_unpriced(
    mistral_fake: Any, pipeline: Any, instrument_mistral: Any
) -> None:
    instrument_mistral(provider_hosts={})
    client_for(mistral_fake).chat.complete(model=MODEL, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == "mistral_ai"
    assert attributes["tokenomics.cost.status"] == "unpriced"
    assert attributes["tokenomics.cost.unpriced_reason"] == "self_hosted"


def test_per_call_server_url_is_the_destination(mistral_fake: Any, pipeline: Any, instrument_mistral: Any) -> None:
    instrument_mistral()
    client = Mistral(api_key="test-key")  # configured for api.mistral.ai ...
    client.chat.complete(model=MODEL, messages=MESSAGES, server_url=f"{mistral_fake.base_url}/mistral")
    attributes = only_span(pipeline)  # ... but this call went to the fake
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == mistral_fake.port


# --- never break the app ------------------------------------------------------------------------------------
def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault in otel-tokenomics")


READERS = "otel_tokenomics.instrumentation.mistral.readers"
FAULTS = {
    "request reader": (READERS, "provider_for_host"),
    "response reader": (READERS, "_read_identity"),
    "usage conversion": (READERS, "usage_of"),
    "chunk reader": (f"{READERS}.ChatStreamReader", "feed"),
    "stream close": (f"{READERS}.ChatStreamReader", "close"),
    "classify": ("otel_tokenomics.instrumentation.mistral.adapter.MistralAdapter", "classify"),
    "pricing": ("otel_tokenomics.instrumentation.core.telemetry.Telemetry", "_cost"),
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
    mistral_fake: Any, pipeline: Any, instrument_mistral: Any, monkeypatch: Any, fault: str, stream: bool
) -> None:
    def call() -> Any:
        client = client_for(mistral_fake)
        if stream:
            return [event.model_dump() for event in client.chat.stream(model=MODEL, messages=MESSAGES)]
        return client.chat.complete(model=MODEL, messages=MESSAGES).model_dump()

    expected = call()
    instrument_mistral()
    owner, name = FAULTS[fault]
    monkeypatch.setattr(_resolve(owner), name, _boom)
    before = sum(guard.internal_error_counts.values())
    assert call() == expected
    if fault not in ("chunk reader", "stream close") or stream:
        assert sum(guard.internal_error_counts.values()) > before, "the fault must be logged, not silent"


def test_sdk_exception_is_the_very_same_object(pipeline: Any, instrument_mistral: Any) -> None:
    instrument_mistral(provider_hosts={})
    client = mock_client({"object": "error", "message": "Unauthorized", "type": "unauthorized", "code": "1"}, 401)
    with pytest.raises(errors.SDKError) as info:
        client.chat.complete(model=MODEL, messages=MESSAGES)
    assert info.value.status_code == 401
    attributes = only_span(pipeline)
    assert attributes["error.type"] == "SDKError"
    assert attributes["http.response.status_code"] == 401


# --- switches -------------------------------------------------------------------------------------------------
def test_double_instrument_is_a_noop_and_uninstrument_restores(
    mistral_fake: Any, pipeline: Any, instrument_mistral: Any
) -> None:
    instrumentor = instrument_mistral()
    instrument_mistral()
    assert MistralInstrumentor() is instrumentor
    client_for(mistral_fake).chat.complete(model=MODEL, messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrumentor.uninstrument()
    for owner, method in ((Chat, "complete"), (Chat, "stream_async"), (Embeddings, "create")):
        assert not isinstance(vars(owner)[method], wrapt.ObjectProxy)
    client_for(mistral_fake).chat.complete(model=MODEL, messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrument_mistral()
    client_for(mistral_fake).chat.complete(model=MODEL, messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 2


def test_content_is_not_captured_by_default(mistral_fake: Any, pipeline: Any, instrument_mistral: Any) -> None:
    instrument_mistral()
    client_for(mistral_fake).chat.complete(model=MODEL, messages=MESSAGES)
    list(client_for(mistral_fake).chat.stream(model=MODEL, messages=MESSAGES))
    for span in pipeline.genai_spans():
        attributes = dict(span.attributes)
        assert not [key for key in attributes if "messages" in key or "instructions" in key]
        assert "What does a token cost" not in json.dumps(attributes, default=str)
        assert not span.events


def test_content_capture_opt_in(mistral_fake: Any, pipeline: Any, instrument_mistral: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrument_mistral()
    client = client_for(mistral_fake)
    response = client.chat.complete(model=MODEL, messages=MESSAGES)
    events = list(client.chat.stream(model=MODEL, messages=MESSAGES))
    plain, streamed = (dict(span.attributes) for span in pipeline.genai_spans())
    for attributes in (plain, streamed):
        assert json.loads(attributes["gen_ai.input.messages"]) == [
            {"role": "user", "parts": [{"type": "text", "content": "What does a token cost?"}]}
        ]
        assert json.loads(attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "You are terse."}]
    [output] = json.loads(plain["gen_ai.output.messages"])
    assert output == {
        "role": "assistant",
        "parts": [{"type": "text", "content": response.choices[0].message.content}],
        "finish_reason": "stop",
    }
    [streamed_output] = json.loads(streamed["gen_ai.output.messages"])
    text = "".join(event.data.choices[0].delta.content for event in events)
    assert streamed_output["parts"] == [{"type": "text", "content": text}]
    assert streamed_output["finish_reason"] == "stop"


def test_a_generator_of_messages_is_not_consumed_by_capture(
    mistral_fake: Any, pipeline: Any, instrument_mistral: Any
) -> None:
    instrument_mistral(capture_content=True)
    client_for(mistral_fake).chat.complete(model=MODEL, messages=(message for message in MESSAGES))
    assert len(mistral_fake.requests[-1].json["messages"]) == 2
    assert only_span(pipeline)["gen_ai.usage.input_tokens"] > 0


def test_api_key_never_exported(mistral_fake: Any, pipeline: Any, instrument_mistral: Any) -> None:
    secret = "mistral-SECRET0123456789abcdef"
    instrument_mistral(capture_content=True)
    client = client_for(mistral_fake, api_key=secret)
    client.chat.complete(model=MODEL, messages=MESSAGES)
    list(client.chat.stream(model=MODEL, messages=MESSAGES))
    with pytest.raises(errors.SDKError):
        client_for(mistral_fake, secret, {"x-fake-status": "401"}).chat.complete(model=MODEL, messages=MESSAGES)
    assert mistral_fake.requests[-1].headers["authorization"] == f"Bearer {secret}"  # the check has teeth
    exported = [span.to_json() for span in pipeline.spans()]
    exported.append(pipeline.reader.get_metrics_data().to_json())
    blob = "\n".join(exported)
    assert "What does a token cost" in blob  # content capture was on
    assert secret not in blob and "SECRET0123" not in blob
