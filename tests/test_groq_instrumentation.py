"""What a user checks on the Groq adapter: spans, token semantics, cost, safety and switches."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import groq
import httpx
import pytest
import wrapt

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols
from otel_tokenomics.instrumentation.core import guard
from otel_tokenomics.instrumentation.groq import GroqInstrumentor

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What does a token cost?"},
]


@pytest.fixture(scope="module")
def groq_fake() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["groq"])) as server:
        yield server


@pytest.fixture
def instrument_groq(pipeline: Any, price_book: Any) -> Iterator[Any]:
    """Instrument `groq` into `pipeline`; the fake on loopback is priced as Groq, as a user would map it."""
    instrumentor = GroqInstrumentor()

    def instrument(**options: Any) -> GroqInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "groq"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


def client_for(fake: Any, **kwargs: Any) -> groq.Groq:
    return groq.Groq(base_url=fake.base_url, api_key="gsk-test", max_retries=0, **kwargs)


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> groq.Groq:
    """A client for the real host whose transport answers with a hand-written body."""
    return groq.Groq(
        api_key="gsk-test", max_retries=0, http_client=httpx.Client(transport=httpx.MockTransport(handler))
    )


def only_span(pipeline: Any) -> dict[str, Any]:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return dict(spans[0].attributes or {})


def chat_body(model: str, usage: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A chat.completion as api.groq.com sends it (timings in usage, x_groq id, service tier)."""
    return {
        "id": "chatcmpl-3f1c",
        "object": "chat.completion",
        "created": 1735689600,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "About a micro-dollar."},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
        "system_fingerprint": "fp_3f1c",
        "x_groq": {"id": "req_01jabc"},
        "service_tier": "on_demand",
        **extra,
    }


# --- spans and token semantics -------------------------------------------------------------------------------
def test_chat_span_carries_request_response_and_usage(groq_fake: Any, pipeline: Any, instrument_groq: Any) -> None:
    instrument_groq()
    response = client_for(groq_fake).chat.completions.create(
        model="llama-3.1-8b-instant",
        messages=MESSAGES,
        temperature=0.2,
        top_p=0.9,
        seed=7,
        stop=["\n\n"],
        max_tokens=200,
    )
    attributes = only_span(pipeline)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "groq"
    assert attributes["gen_ai.request.model"] == "llama-3.1-8b-instant"
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.seed"] == 7
    assert attributes["gen_ai.request.stop_sequences"] == ("\n\n",)
    assert attributes["gen_ai.request.max_tokens"] == 200
    assert attributes["gen_ai.response.id"] == response.id
    assert attributes["gen_ai.response.model"] == "llama-3.1-8b-instant"
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == response.usage.completion_tokens
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == groq_fake.port
    assert attributes["tokenomics.cost.status"] == "priced"


@pytest.mark.groq_modern  # groq 0.4.1 has no `max_completion_tokens` keyword
def test_max_completion_tokens_wins_over_max_tokens(groq_fake: Any, pipeline: Any, instrument_groq: Any) -> None:
    instrument_groq()
    client_for(groq_fake).chat.completions.create(
        model="llama-3.1-8b-instant", messages=MESSAGES, max_completion_tokens=200, max_tokens=300
    )
    assert only_span(pipeline)["gen_ai.request.max_tokens"] == 200


def test_cached_and_reasoning_tokens_priced_by_hand(pipeline: Any, instrument_groq: Any) -> None:
    """gpt-oss-120b on Groq (genai-prices 0.2.3): input 0.15, cache read 0.075, output 0.6 USD per 1M tokens."""
    instrument_groq()
    usage = {
        "queue_time": 0.02,
        "prompt_tokens": 2000,
        "prompt_time": 0.01,
        "completion_tokens": 500,
        "completion_time": 0.9,
        "total_tokens": 2500,
        "total_time": 0.91,
        "prompt_tokens_details": {"cached_tokens": 1536},
        "completion_tokens_details": {"reasoning_tokens": 200},
    }
    client = mock_client(lambda request: httpx.Response(200, json=chat_body("openai/gpt-oss-120b", usage)))
    client.chat.completions.create(model="openai/gpt-oss-120b", messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["server.address"] == "api.groq.com"
    assert attributes["server.port"] == 443
    assert attributes["gen_ai.usage.input_tokens"] == 2000  # cached tokens are part of prompt_tokens
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 1536
    assert attributes["tokenomics.usage.input_uncached_tokens"] == 464
    assert attributes["gen_ai.usage.output_tokens"] == 500  # reasoning is part of completion_tokens
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 200
    expected = 464 * 0.15e-6 + 1536 * 0.075e-6 + 500 * 0.6e-6  # = 0.0004848
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(0.0004848)
    assert attributes["tokenomics.cost.cache_read"] == pytest.approx(1536 * 0.075e-6)
    [point] = pipeline.metric_points("tokenomics.client.cost")
    assert point.value == pytest.approx(0.0004848)


def test_stream_usage_comes_from_x_groq(groq_fake: Any, pipeline: Any, instrument_groq: Any) -> None:
    instrument_groq()
    chunks = list(
        client_for(groq_fake).chat.completions.create(model="openai/gpt-oss-20b", messages=MESSAGES, stream=True)
    )
    last = chunks[-1].model_dump()  # old SDKs type neither `usage` nor `x_groq.usage`: read the dump
    usage = last["x_groq"]["usage"]
    assert last.get("usage") is None and usage is not None
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == usage["completion_tokens_details"]["reasoning_tokens"]
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["tokenomics.stream.completed"] is True
    assert attributes["tokenomics.cost.status"] == "priced"


def test_stream_with_include_usage_counts_once_and_keeps_every_chunk(
    groq_fake: Any, pipeline: Any, instrument_groq: Any
) -> None:
    kwargs = {
        "model": "llama-3.3-70b-versatile",
        "messages": MESSAGES,
        "stream": True,
        "extra_body": {"stream_options": {"include_usage": True}},
    }
    expected = [c.model_dump() for c in client_for(groq_fake).chat.completions.create(**kwargs)]
    instrument_groq()
    actual = [c.model_dump() for c in client_for(groq_fake).chat.completions.create(**kwargs)]
    assert actual == expected
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == expected[-1]["usage"]["prompt_tokens"]


def test_fake_prompt_cache_reports_cached_tokens(groq_fake: Any, pipeline: Any, instrument_groq: Any) -> None:
    instrument_groq()
    response = client_for(groq_fake).chat.completions.create(
        model="openai/gpt-oss-120b", messages=MESSAGES, extra_headers={"x-fake-cached-tokens": "8"}
    )
    assert response.model_dump()["usage"]["prompt_tokens_details"]["cached_tokens"] == 8  # untyped in old SDKs
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 8
    assert attributes["tokenomics.cost.cache_read"] > 0


@pytest.mark.groq_modern  # groq 0.4.1 has no `embeddings` resource
def test_embeddings(groq_fake: Any, pipeline: Any, instrument_groq: Any) -> None:
    instrument_groq()
    response = client_for(groq_fake).embeddings.create(model="nomic-embed-text-v1_5", input=["a b c", "d"])
    attributes = only_span(pipeline)
    assert attributes["gen_ai.operation.name"] == "embeddings"
    assert attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == 0
    assert attributes["gen_ai.embeddings.dimension.count"] == len(response.data[0].embedding)


def test_async_plain_and_stream(groq_fake: Any, pipeline: Any, instrument_groq: Any) -> None:
    instrument_groq()

    async def scenario() -> tuple[Any, list[Any]]:
        client = groq.AsyncGroq(base_url=groq_fake.base_url, api_key="gsk-test", max_retries=0)
        plain = await client.chat.completions.create(model="llama-3.1-8b-instant", messages=MESSAGES)
        stream = await client.chat.completions.create(model="llama-3.1-8b-instant", messages=MESSAGES, stream=True)
        assert isinstance(stream, groq.AsyncStream)
        return plain, [chunk async for chunk in stream]

    plain, chunks = asyncio.run(scenario())
    plain_span, stream_span = (dict(s.attributes) for s in pipeline.genai_spans())
    assert plain_span["gen_ai.usage.output_tokens"] == plain.usage.completion_tokens
    assert stream_span["gen_ai.usage.output_tokens"] == chunks[-1].model_dump()["x_groq"]["usage"]["completion_tokens"]


def test_sdk_types_survive_instrumentation(groq_fake: Any, pipeline: Any, instrument_groq: Any) -> None:
    from groq._response import APIResponse

    instrument_groq()
    client = client_for(groq_fake)
    stream = client.chat.completions.create(model="llama-3.1-8b-instant", messages=MESSAGES, stream=True)
    assert isinstance(stream, groq.Stream)
    assert stream.response.status_code == 200  # SDK attributes pass through the proxy
    list(stream)
    raw = client.chat.completions.with_raw_response.create(model="llama-3.1-8b-instant", messages=MESSAGES)
    assert isinstance(raw, APIResponse)
    assert isinstance(raw.parse(), groq.types.chat.ChatCompletion)
    assert len(pipeline.genai_spans()) == 2


def test_loopback_without_a_mapping_is_self_hosted(groq_fake: Any, pipeline: Any, instrument_groq: Any) -> None:
    instrument_groq(provider_hosts={})
    client_for(groq_fake).chat.completions.create(model="llama-3.1-8b-instant", messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == "groq"
    assert attributes["tokenomics.cost.status"] == "unpriced"
    assert attributes["tokenomics.cost.unpriced_reason"] == "self_hosted"
    assert attributes["gen_ai.usage.input_tokens"] > 0


# --- never break the app ------------------------------------------------------------------------------------
def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault in otel-tokenomics")


FAULTS = {
    "request reader": ("otel_tokenomics.instrumentation.groq.readers", "client_destination"),
    "response identity": ("otel_tokenomics.instrumentation.groq.readers", "_read_identity"),
    "usage conversion": ("otel_tokenomics.semconv.usage.Usage", "from_inclusive"),
    "chunk reader": ("otel_tokenomics.instrumentation.groq.readers.ChatStreamReader", "feed"),
    "stream close": ("otel_tokenomics.instrumentation.groq.readers.ChatStreamReader", "close"),
    "classify": ("otel_tokenomics.instrumentation.groq.adapter.GroqAdapter", "classify"),
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
    groq_fake: Any, pipeline: Any, instrument_groq: Any, monkeypatch: Any, fault: str, stream: bool
) -> None:
    def call() -> Any:
        kwargs: dict[str, Any] = {"model": "llama-3.1-8b-instant", "messages": MESSAGES}
        if stream:
            return [c.model_dump() for c in client_for(groq_fake).chat.completions.create(stream=True, **kwargs)]
        return client_for(groq_fake).chat.completions.create(**kwargs).model_dump()

    expected = call()
    instrument_groq()
    owner, name = FAULTS[fault]
    monkeypatch.setattr(_resolve(owner), name, _boom)
    before = sum(guard.internal_error_counts.values())
    assert call() == expected
    stream_only = ("chunk reader", "stream close")
    if fault not in stream_only or stream:
        assert sum(guard.internal_error_counts.values()) > before, "the fault must be logged, not silent"


# --- content and secrets --------------------------------------------------------------------------------------
def test_content_is_not_captured_by_default(groq_fake: Any, pipeline: Any, instrument_groq: Any) -> None:
    instrument_groq()
    client_for(groq_fake).chat.completions.create(model="llama-3.1-8b-instant", messages=MESSAGES)
    attributes = only_span(pipeline)
    assert not [key for key in attributes if "messages" in key or "instructions" in key]
    assert "What does a token cost" not in json.dumps(attributes, default=str)


@pytest.mark.parametrize("stream", [False, True])
def test_content_capture_opt_in(
    groq_fake: Any, pipeline: Any, instrument_groq: Any, monkeypatch: Any, stream: bool
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrument_groq()
    client = client_for(groq_fake)
    if stream:
        chunks = list(client.chat.completions.create(model="openai/gpt-oss-20b", messages=MESSAGES, stream=True))
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    else:
        response = client.chat.completions.create(model="openai/gpt-oss-20b", messages=MESSAGES)
        text = response.choices[0].message.content
    attributes = only_span(pipeline)
    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "What does a token cost?"}]}
    ]
    assert json.loads(attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "You are terse."}]
    [output] = json.loads(attributes["gen_ai.output.messages"])
    assert output["finish_reason"] == "stop"
    assert output["parts"][-1] == {"type": "text", "content": text}
    if not stream:
        assert output["parts"][0] == {"type": "reasoning", "content": response.choices[0].message.reasoning}


def test_api_keys_never_exported(groq_fake: Any, pipeline: Any, instrument_groq: Any) -> None:
    secret = "gsk_SECRET0123456789abcdef"
    instrument_groq(capture_content=True)
    client = groq.Groq(base_url=groq_fake.base_url, api_key=secret, max_retries=0)
    client.chat.completions.create(model="llama-3.1-8b-instant", messages=MESSAGES)
    list(client.chat.completions.create(model="llama-3.1-8b-instant", messages=MESSAGES, stream=True))
    with pytest.raises(groq.AuthenticationError):
        client.chat.completions.create(
            model="llama-3.1-8b-instant", messages=MESSAGES, extra_headers={"x-fake-status": "401"}
        )
    blob = "\n".join(span.to_json() for span in pipeline.spans())
    blob += pipeline.reader.get_metrics_data().to_json()
    assert "What does a token cost" in blob  # content capture was on, so the check has teeth
    assert "SECRET0123" not in blob


# --- switches -------------------------------------------------------------------------------------------------
def test_double_instrument_is_a_noop_and_uninstrument_restores(
    groq_fake: Any, pipeline: Any, instrument_groq: Any
) -> None:
    instrumentor = instrument_groq()
    instrument_groq()
    assert GroqInstrumentor() is instrumentor
    client_for(groq_fake).chat.completions.create(model="llama-3.1-8b-instant", messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrumentor.uninstrument()
    assert not isinstance(vars(groq.resources.chat.completions.Completions)["create"], wrapt.ObjectProxy)
    client_for(groq_fake).chat.completions.create(model="llama-3.1-8b-instant", messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrument_groq()
    client_for(groq_fake).chat.completions.create(model="llama-3.1-8b-instant", messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 2
