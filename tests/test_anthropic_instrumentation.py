"""What a user checks on the Anthropic adapter: token semantics, cost, providers, helpers, safety and switches."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import pytest
import wrapt
from pydantic import BaseModel

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols
from otel_tokenomics.instrumentation.anthropic import AnthropicInstrumentor
from otel_tokenomics.instrumentation.core import guard

MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "What does a token cost?"}]
SYSTEM = "You are terse."


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["anthropic"])) as server:
        yield server


@pytest.fixture
def instrument_anthropic(pipeline: Any, price_book: Any) -> Iterator[Any]:
    """Instrument into `pipeline`; the loopback fake is priced as Anthropic unless a test says otherwise."""
    instrumentor = AnthropicInstrumentor()

    def instrument(**options: Any) -> AnthropicInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "anthropic"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


def client_for(fake: FakeProvider, **kwargs: Any) -> anthropic.Anthropic:
    kwargs.setdefault("api_key", "sk-ant-test")
    return anthropic.Anthropic(base_url=fake.base_url, max_retries=0, **kwargs)


def only_span(pipeline: Any) -> dict[str, Any]:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return dict(spans[0].attributes or {})


def mock_client(handler: Any, base_url: str = "https://api.anthropic.com", cls: Any = anthropic.Anthropic) -> Any:
    return cls(
        api_key="sk-ant-test",
        base_url=base_url,
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )


def message_body(usage: dict[str, Any], model: str = "claude-sonnet-4-6", **extra: Any) -> dict[str, Any]:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
        **extra,
    }


def sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events)


# --- token semantics and cost ---------------------------------------------------------------------------------
# A realistic prompt-caching response: `input_tokens` EXCLUDES the cache reads and writes.
CACHED_USAGE = {
    "input_tokens": 1_000,
    "cache_read_input_tokens": 20_000,
    "cache_creation_input_tokens": 3_000,
    "cache_creation": {"ephemeral_5m_input_tokens": 2_000, "ephemeral_1h_input_tokens": 1_000},
    "output_tokens": 500,
    "output_tokens_details": {"thinking_tokens": 200},
    "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 0},
    "service_tier": "standard",
}


def test_cache_counts_are_added_to_input_and_priced_by_hand(pipeline: Any, instrument_anthropic: Any) -> None:
    instrument_anthropic(provider_hosts={})
    client = mock_client(lambda request: httpx2.Response(200, json=message_body(CACHED_USAGE)))
    client.messages.create(model="claude-sonnet-4-6", max_tokens=1024, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["server.address"] == "api.anthropic.com"
    assert attributes["gen_ai.usage.input_tokens"] == 24_000  # 1,000 + 20,000 read + 3,000 written
    assert attributes["tokenomics.usage.input_uncached_tokens"] == 1_000
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 20_000
    assert attributes["gen_ai.usage.cache_creation.input_tokens"] == 3_000
    assert attributes["tokenomics.usage.cache_write_1h_tokens"] == 1_000
    assert attributes["gen_ai.usage.output_tokens"] == 500
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 200
    assert attributes["anthropic.usage.server_tool_use.web_search_requests"] == 2
    assert "anthropic.usage.server_tool_use.web_fetch_requests" not in attributes
    # `otel-tokenomics prices claude-sonnet-4-6 --provider anthropic` (genai-prices 0.2.3), per 1M:
    # input 3, cache_read 0.3, cache_write (5m) 3.75, cache_write_1h 6, output 15. Web searches are not priced.
    assert attributes["tokenomics.cost.input"] == pytest.approx(1_000 * 3 / 1e6)  # 0.003
    assert attributes["tokenomics.cost.cache_read"] == pytest.approx(20_000 * 0.3 / 1e6)  # 0.006
    assert attributes["tokenomics.cost.cache_write"] == pytest.approx((2_000 * 3.75 + 1_000 * 6) / 1e6)  # 0.0135
    assert attributes["tokenomics.cost.output"] == pytest.approx(500 * 15 / 1e6)  # 0.0075
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(0.03)
    assert attributes["gen_ai.response.model"] == "claude-sonnet-4-6"
    assert attributes["gen_ai.response.id"] == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)


def test_stream_usage_comes_from_message_start_and_message_delta(pipeline: Any, instrument_anthropic: Any) -> None:
    start_usage = {**CACHED_USAGE, "output_tokens": 1}
    start_usage.pop("output_tokens_details")
    events = [
        {"type": "message_start", "message": {**message_body(start_usage), "content": [], "stop_reason": None}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
            "usage": {"output_tokens": 500, "output_tokens_details": {"thinking_tokens": 200}},
        },
        {"type": "message_stop"},
    ]
    instrument_anthropic(provider_hosts={})

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=sse(events), headers={"content-type": "text/event-stream"})

    client = mock_client(handler)
    with client.messages.stream(model="claude-sonnet-4-6", max_tokens=500, messages=MESSAGES) as stream:
        final = stream.get_final_message()
    assert final.usage.output_tokens == 500
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == 24_000
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 20_000
    assert attributes["tokenomics.usage.cache_write_1h_tokens"] == 1_000
    assert attributes["gen_ai.usage.output_tokens"] == 500
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 200
    assert attributes["gen_ai.response.finish_reasons"] == ("max_tokens",)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(0.03)


def test_cumulative_input_in_message_delta_wins(pipeline: Any, instrument_anthropic: Any) -> None:
    """Newer API versions repeat (possibly updated) input counts in message_delta; they are cumulative."""
    events = [
        {"type": "message_start", "message": {**message_body({"input_tokens": 10, "output_tokens": 1})}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"input_tokens": 12, "cache_read_input_tokens": 100, "output_tokens": 7},
        },
        {"type": "message_stop"},
    ]
    instrument_anthropic(provider_hosts={})
    client = mock_client(lambda request: httpx2.Response(200, content=sse(events)))
    list(client.messages.create(model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, stream=True))
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == 112
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attributes["gen_ai.usage.output_tokens"] == 7


def test_prompt_caching_against_the_fake(
    anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any
) -> None:
    instrument_anthropic()
    anthropic_fake.reset()
    system = [{"type": "text", "text": "A long shared policy manual. " * 300, "cache_control": {"type": "ephemeral"}}]
    client = client_for(anthropic_fake)
    first = client.messages.create(model=MODEL, max_tokens=50, system=system, messages=MESSAGES)
    second = client.messages.create(
        model=MODEL, max_tokens=50, system=system, messages=[{"role": "user", "content": "Another question"}]
    )
    assert first.usage.cache_creation_input_tokens > 0 and second.usage.cache_read_input_tokens > 0
    write_span, read_span = (dict(span.attributes) for span in pipeline.genai_spans())
    written = first.usage.cache_creation_input_tokens
    assert write_span["gen_ai.usage.cache_creation.input_tokens"] == written
    assert write_span["gen_ai.usage.input_tokens"] == first.usage.input_tokens + written
    assert "tokenomics.usage.cache_write_1h_tokens" not in write_span
    read = second.usage.cache_read_input_tokens
    assert read_span["gen_ai.usage.cache_read.input_tokens"] == read
    assert read_span["gen_ai.usage.input_tokens"] == second.usage.input_tokens + read
    # claude-haiku-4-5: cache_write 1.25, cache_read 0.1 per 1M tokens.
    assert write_span["tokenomics.cost.cache_write"] == pytest.approx(written * 1.25 / 1e6)
    assert read_span["tokenomics.cost.cache_read"] == pytest.approx(read * 0.1 / 1e6)


def test_fast_mode_and_batch_tier_are_passed_to_pricing(pipeline: Any, instrument_anthropic: Any) -> None:
    instrument_anthropic(provider_hosts={})
    usage = {"input_tokens": 1_000_000, "output_tokens": 0, "service_tier": "batch"}
    client = mock_client(lambda request: httpx2.Response(200, json=message_body(usage, model="claude-haiku-4-5")))
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)
    # `prices claude-haiku-4-5 --provider anthropic --service-tier batch`: input 0.5 per 1M (half of 1).
    assert only_span(pipeline)["gen_ai.usage.cost.amount"] == pytest.approx(0.5)


# --- providers ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("base_url", "provider"),
    [
        ("https://api.anthropic.com", "anthropic"),
        ("https://api.deepseek.com/anthropic", "deepseek"),
        ("https://gateway.example.com/anthropic", "anthropic"),
    ],
)
def test_provider_is_detected_from_the_base_url(
    pipeline: Any, instrument_anthropic: Any, base_url: str, provider: str
) -> None:
    instrument_anthropic(provider_hosts={})
    usage = {"input_tokens": 10, "output_tokens": 5}
    mock_client(lambda request: httpx2.Response(200, json=message_body(usage)), base_url).messages.create(
        model="m", max_tokens=10, messages=MESSAGES
    )
    assert only_span(pipeline)["gen_ai.provider.name"] == provider


def test_loopback_without_a_host_mapping_is_self_hosted(
    anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any
) -> None:
    instrument_anthropic(provider_hosts={})
    client_for(anthropic_fake).messages.create(model=MODEL, max_tokens=20, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["tokenomics.cost.status"] == "unpriced"
    assert attributes["tokenomics.cost.unpriced_reason"] == "self_hosted"


def test_vertex_client_against_the_fake_is_vertex_and_priced(
    anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any
) -> None:
    instrument_anthropic(provider_hosts={})
    anthropic_fake.reset()
    client = anthropic.AnthropicVertex(
        region="us-east5",
        project_id="my-project",
        access_token="test",
        base_url=f"{anthropic_fake.base_url}/v1",
        max_retries=0,
    )
    model = "claude-haiku-4-5@20251001"
    message = client.messages.create(model=model, max_tokens=30, messages=MESSAGES)
    with client.messages.stream(model=model, max_tokens=30, messages=MESSAGES) as stream:
        streamed = stream.get_final_message()
    beta = client.beta.messages.create(model=model, max_tokens=30, messages=MESSAGES)
    paths = [request.path for request in anthropic_fake.requests]
    assert paths[0].endswith(f"/models/{model}:rawPredict") and paths[1].endswith(":streamRawPredict")
    spans = pipeline.genai_spans()
    assert len(spans) == 3
    for span, result in zip(spans, (message, streamed, beta), strict=True):
        attributes = dict(span.attributes)
        assert attributes["gen_ai.provider.name"] == "gcp.vertex_ai"
        assert attributes["gen_ai.request.model"] == model
        assert attributes["gen_ai.usage.output_tokens"] == result.usage.output_tokens
        # `prices claude-haiku-4-5@20251001 --provider gcp.vertex_ai`: input 1, output 5 per 1M.
        expected = (result.usage.input_tokens * 1 + result.usage.output_tokens * 5) / 1e6
        assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)


def test_bedrock_client_is_aws_bedrock(pipeline: Any, instrument_anthropic: Any) -> None:
    instrument_anthropic(provider_hosts={})
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.path)
        usage = {"input_tokens": 1_000, "output_tokens": 100}
        return httpx2.Response(200, json=message_body(usage, model="claude-haiku-4-5-20251001"))

    client = anthropic.AnthropicBedrock(
        aws_access_key="AKIDEXAMPLE",
        aws_secret_key="secret",
        aws_region="us-east-1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    model = "anthropic.claude-haiku-4-5-20251001-v1:0"
    client.messages.create(model=model, max_tokens=100, messages=MESSAGES)
    assert seen == [f"/model/{model}/invoke"]
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert attributes["server.address"] == "bedrock-runtime.us-east-1.amazonaws.com"
    assert attributes["tokenomics.cost.status"] == "priced"
    assert attributes["tokenomics.cost.provider"] == "aws"


# --- helpers and endpoints ------------------------------------------------------------------------------------
def test_span_carries_request_attributes(
    anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any
) -> None:
    instrument_anthropic()
    message = client_for(anthropic_fake).messages.create(
        model=MODEL,
        max_tokens=64,
        messages=MESSAGES,
        system=SYSTEM,
        extra_body={"temperature": 0.3, "top_p": 0.9, "top_k": 40},  # sampling knobs left the typed API in 2.x
        stop_sequences=["\n\nHuman:"],
    )
    [span] = pipeline.genai_spans()
    assert span.name == f"chat {MODEL}" and span.kind.name == "CLIENT"
    attributes = dict(span.attributes)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == MODEL
    assert attributes["gen_ai.request.max_tokens"] == 64
    assert attributes["gen_ai.request.temperature"] == 0.3
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.top_k"] == 40
    assert attributes["gen_ai.request.stop_sequences"] == ("\n\nHuman:",)
    assert attributes["server.port"] == anthropic_fake.port
    assert attributes["gen_ai.response.finish_reasons"] == (message.stop_reason,)
    assert attributes["gen_ai.usage.input_tokens"] == message.usage.input_tokens


def test_structured_parse_gives_one_span(pipeline: Any, instrument_anthropic: Any) -> None:
    class Answer(BaseModel):
        text: str

    instrument_anthropic(provider_hosts={})
    body = message_body({"input_tokens": 30, "output_tokens": 8})
    body["content"] = [{"type": "text", "text": '{"text": "cheap"}'}]
    client = mock_client(lambda request: httpx2.Response(200, json=body))
    for messages in (client.messages, client.beta.messages):
        parsed = messages.parse(model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, output_format=Answer)
        assert parsed.parsed_output == Answer(text="cheap")
    spans = pipeline.genai_spans()
    assert len(spans) == 2
    for span in spans:
        assert span.attributes["gen_ai.output.type"] == "json"
        assert span.attributes["gen_ai.usage.input_tokens"] == 30


def test_beta_stream_helper_and_tool_use(
    anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any
) -> None:
    instrument_anthropic(capture_content=True)
    tools = [
        {
            "name": "get_weather",
            "description": "Weather by city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }
    ]
    weather = [{"role": "user", "content": "What is the weather in Paris?"}]
    with client_for(anthropic_fake).beta.messages.stream(
        model=MODEL, max_tokens=100, messages=weather, tools=tools
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    attributes = only_span(pipeline)
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert attributes["tokenomics.stream.completed"] is True
    [output] = json.loads(attributes["gen_ai.output.messages"])
    assert output["finish_reason"] == "tool_call"
    [part] = output["parts"]
    assert part["type"] == "tool_call" and part["name"] == "get_weather"
    assert part["arguments"] == {"city": "Paris"}


def test_async_client_works_the_same(anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any) -> None:
    instrument_anthropic()

    async def scenario() -> tuple[Any, Any]:
        client = anthropic.AsyncAnthropic(base_url=anthropic_fake.base_url, api_key="sk-ant-test", max_retries=0)
        plain = await client.beta.messages.create(model=MODEL, max_tokens=40, messages=MESSAGES)
        async with client.messages.stream(model=MODEL, max_tokens=40, messages=MESSAGES) as stream:
            text = "".join([piece async for piece in stream.text_stream])
            final = await stream.get_final_message()
        assert text == final.content[0].text
        return plain, final

    plain, final = asyncio.run(scenario())
    plain_span, stream_span = (dict(span.attributes) for span in pipeline.genai_spans())
    assert plain_span["gen_ai.usage.output_tokens"] == plain.usage.output_tokens
    assert stream_span["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert stream_span["tokenomics.stream.completed"] is True


def test_tool_runner_turns_are_one_span_each(pipeline: Any, instrument_anthropic: Any) -> None:
    """The SDK's tool runner calls the instrumented `create()` once per turn: one span per request."""
    from anthropic import beta_tool

    @beta_tool
    def get_weather(city: str) -> str:
        """Weather by city."""
        return f"Sunny in {city}"

    replies = iter(
        [
            {
                **message_body({"input_tokens": 50, "output_tokens": 20}),
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}],
                "stop_reason": "tool_use",
            },
            message_body({"input_tokens": 80, "output_tokens": 10}),
        ]
    )
    instrument_anthropic(provider_hosts={})
    client = mock_client(lambda request: httpx2.Response(200, json=next(replies)))
    runner = client.beta.messages.tool_runner(
        model="claude-sonnet-4-6", max_tokens=100, messages=MESSAGES, tools=[get_weather]
    )
    final = runner.until_done()
    assert final.stop_reason == "end_turn"
    inputs = [span.attributes["gen_ai.usage.input_tokens"] for span in pipeline.genai_spans()]
    assert inputs == [50, 80]


# --- never break the app --------------------------------------------------------------------------------------
def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault in otel-tokenomics")


_READERS = "otel_tokenomics.instrumentation.anthropic.readers"
FAULTS = {
    "request reader": (_READERS, "client_destination"),
    "pending stream request": (_READERS, "pending_stream_request"),
    "usage conversion": ("otel_tokenomics.semconv.usage.Usage", "from_exclusive"),
    "response reader": (_READERS, "_read_identity"),
    "chunk reader": (f"{_READERS}.MessageStreamReader", "feed"),
    "stream close": (f"{_READERS}.MessageStreamReader", "close"),
    "classify": ("otel_tokenomics.instrumentation.anthropic.adapter.AnthropicAdapter", "classify"),
    "embed stream": ("otel_tokenomics.instrumentation.anthropic.adapter.AnthropicAdapter", "embed_stream"),
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
@pytest.mark.parametrize("style", ["plain", "stream", "helper"])
def test_our_faults_never_reach_the_app(
    anthropic_fake: FakeProvider,
    pipeline: Any,
    instrument_anthropic: Any,
    monkeypatch: Any,
    fault: str,
    style: str,
) -> None:
    def call() -> Any:
        client = client_for(anthropic_fake)
        kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": 100, "messages": MESSAGES}
        if style == "stream":
            return [event.model_dump() for event in client.messages.create(**kwargs, stream=True)]
        if style == "helper":
            with client.messages.stream(**kwargs) as stream:
                return [event.model_dump() for event in stream], stream.get_final_text()
        return client.messages.create(**kwargs).model_dump()

    expected = call()
    instrument_anthropic()
    owner, name = FAULTS[fault]
    monkeypatch.setattr(_resolve(owner), name, _boom)
    before = sum(guard.internal_error_counts.values())
    assert call() == expected
    relevant = {
        "pending stream request": style == "helper",
        "chunk reader": style != "plain",
        "stream close": style != "plain",
        "embed stream": style == "helper",
    }.get(fault, True)
    if relevant:
        assert sum(guard.internal_error_counts.values()) > before, "the fault must be logged, not silent"


# --- content, secrets, switches, types ------------------------------------------------------------------------
def test_content_is_not_captured_by_default(
    anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any
) -> None:
    instrument_anthropic()
    client_for(anthropic_fake).messages.create(model=MODEL, max_tokens=20, system=SYSTEM, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert not [key for key in attributes if "messages" in key or "instructions" in key]
    assert "What does a token cost" not in json.dumps(attributes, default=str)


@pytest.mark.parametrize("stream", [False, True])
def test_content_capture_opt_in(
    anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any, monkeypatch: Any, stream: bool
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrument_anthropic()
    client = client_for(anthropic_fake)
    kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": 200, "system": SYSTEM, "messages": MESSAGES}
    if stream:
        with client.messages.stream(**kwargs) as helper:
            text = helper.get_final_text()
    else:
        text = client.messages.create(**kwargs).content[0].text
    attributes = only_span(pipeline)
    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "What does a token cost?"}]}
    ]
    assert json.loads(attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": SYSTEM}]
    assert json.loads(attributes["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "stop"}
    ]


def test_api_keys_never_exported(anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any) -> None:
    secret = "sk-ant-api03-SECRET0123456789abcdef"
    instrument_anthropic(capture_content=True)
    client = client_for(anthropic_fake, api_key=secret, default_headers={"X-Extra-Key": "HEADER-SECRET-42"})
    client.messages.create(model=MODEL, max_tokens=20, messages=MESSAGES)
    with client.messages.stream(model=MODEL, max_tokens=20, messages=MESSAGES) as stream:
        stream.until_done()
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model=MODEL, max_tokens=20, messages=MESSAGES, extra_headers={"x-fake-status": "401"})
    blob = "\n".join(span.to_json() for span in pipeline.spans()) + pipeline.reader.get_metrics_data().to_json()
    assert "What does a token cost" in blob  # content capture was on, so the check has teeth
    assert "SECRET0123" not in blob and "HEADER-SECRET" not in blob


def test_double_instrument_is_a_noop_and_uninstrument_restores(
    anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any
) -> None:
    from anthropic.lib.streaming import MessageStreamManager
    from anthropic.resources.messages import Messages

    instrumentor = instrument_anthropic()
    instrument_anthropic()
    assert AnthropicInstrumentor() is instrumentor
    client = client_for(anthropic_fake)
    client.messages.create(model=MODEL, max_tokens=20, messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrumentor.uninstrument()
    assert not isinstance(vars(Messages)["create"], wrapt.ObjectProxy)
    assert not isinstance(vars(MessageStreamManager)["__enter__"], wrapt.ObjectProxy)
    client.messages.create(model=MODEL, max_tokens=20, messages=MESSAGES)
    with client.messages.stream(model=MODEL, max_tokens=20, messages=MESSAGES) as stream:
        stream.until_done()
    assert len(pipeline.genai_spans()) == 1
    instrument_anthropic()
    client.messages.create(model=MODEL, max_tokens=20, messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 2


def test_sdk_types_still_hold(anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any) -> None:
    instrument_anthropic()
    client = client_for(anthropic_fake)
    kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": 20, "messages": MESSAGES}
    assert isinstance(client.messages.create(**kwargs), anthropic.types.Message)
    stream = client.messages.create(**kwargs, stream=True)
    assert isinstance(stream, anthropic.Stream)
    stream.close()
    manager = client.messages.stream(**kwargs)
    assert isinstance(manager, anthropic.MessageStreamManager)
    with manager as helper:
        assert type(helper) is anthropic.MessageStream
        assert helper.response.status_code == 200 and helper.request_id
    raw = client.messages.with_raw_response.create(**kwargs)
    assert isinstance(raw, anthropic.APIResponse)
    assert isinstance(raw.parse(), anthropic.types.Message)
    assert len(pipeline.genai_spans()) == 4


def test_bedrock_client_over_the_bedrock_protocol(pipeline: Any, instrument_anthropic: Any) -> None:
    """AnthropicBedrock against the fake's `bedrock` protocol (InvokeModel JSON and AWS event-stream framing)."""
    instrument_anthropic(provider_hosts={})
    model = "anthropic.claude-haiku-4-5-20251001-v1:0"
    with FakeProvider(protocols=load_protocols(["anthropic", "bedrock"])) as fake:
        client = anthropic.AnthropicBedrock(
            aws_access_key="AKIDEXAMPLE", aws_secret_key="secret", aws_region="us-east-1", base_url=fake.base_url
        )
        plain = client.messages.create(model=model, max_tokens=50, messages=MESSAGES)
        events = list(client.messages.create(model=model, max_tokens=50, messages=MESSAGES, stream=True))
        with client.messages.stream(model=model, max_tokens=50, messages=MESSAGES) as stream:
            final = stream.get_final_message()
        paths = [request.path for request in fake.requests]
    assert paths == [f"/model/{model}/invoke", *[f"/model/{model}/invoke-with-response-stream"] * 2]
    assert events[-1].type == "message_stop"
    spans = [dict(span.attributes) for span in pipeline.genai_spans()]
    assert len(spans) == 3
    for attributes, usage in zip(spans, (plain.usage, plain.usage, final.usage), strict=True):
        assert attributes["gen_ai.provider.name"] == "aws.bedrock"
        assert attributes["gen_ai.usage.output_tokens"] == usage.output_tokens
        # `prices anthropic.claude-haiku-4-5-20251001-v1:0 --provider aws.bedrock`: input 1.1, output 5.5 per 1M.
        expected = (usage.input_tokens * 1.1 + usage.output_tokens * 5.5) / 1e6
        assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)
