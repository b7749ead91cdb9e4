"""The fake LLM provider, driven by the real openai SDK — over a socket and through ``mock_transport``.

These tests are the contract other tests, the demo and the benchmarks rely on: exact OpenAI wire shapes,
deterministic usage numbers, and faults that surface as the SDK's own exception classes. They run against
whatever openai SDK is installed (3.x on ``httpx2``, 1.x on ``httpx``); parts needing a specific HTTP
library skip when it is absent.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import importlib
import json
import math
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import openai._base_client
import pytest

from otel_tokenomics.fake_provider import FakeProvider, FakeResponse, Protocol, Route, mock_transport
from otel_tokenomics.fake_provider.protocols import sse_event
from otel_tokenomics.fake_provider.synthesis import count_tokens

#: The HTTP library the installed openai SDK is built on (``httpx2`` for 3.x, ``httpx`` for 1.x).
SDK_HTTPX: Any = getattr(openai._base_client, "httpx2", None) or openai._base_client.httpx
MODES = ("socket", "mock")
MOCK_URL = "http://fake.invalid/v1"  # never resolved: mock_transport answers before any DNS or socket
HELLO = [{"role": "user", "content": "Say hello to the fake provider."}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["location", "unit"],
        },
    },
}
MID_STREAM = {"x-fake-fault": "disconnect-mid-stream"}
LONG_SYSTEM = "You are a meticulous assistant. " * 160  # 5120 characters -> 1280 tokens


# ------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeProvider) -> FakeProvider:
    server.reset()
    return server


def sync_client(mode: str, fake: FakeProvider, **options: Any) -> openai.OpenAI:
    if mode == "socket":
        return openai.OpenAI(base_url=fake.openai_base_url, api_key="test-key", max_retries=0, **options)
    http_client = SDK_HTTPX.Client(transport=mock_transport(SDK_HTTPX, fake))
    return openai.OpenAI(
        base_url="http://fake.invalid/v1",
        api_key="test-key",
        max_retries=0,
        http_client=http_client,
        **options,
    )


def async_client(mode: str, fake: FakeProvider, **options: Any) -> openai.AsyncOpenAI:
    if mode == "socket":
        return openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="test-key", max_retries=0, **options)
    http_client = SDK_HTTPX.AsyncClient(transport=mock_transport(SDK_HTTPX, fake))
    return openai.AsyncOpenAI(
        base_url="http://fake.invalid/v1",
        api_key="test-key",
        max_retries=0,
        http_client=http_client,
        **options,
    )


@pytest.fixture(params=MODES)
def client(request: pytest.FixtureRequest, fake: FakeProvider) -> Iterator[openai.OpenAI]:
    with sync_client(request.param, fake) as opened:
        yield opened


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def detail(usage: Any, group: str, name: str) -> Any:
    """A usage detail, whether this SDK models it (3.x) or keeps it as a raw extra dict (1.40)."""
    details = getattr(usage, group)
    return details[name] if isinstance(details, dict) else getattr(details, name)


def expected_prompt_tokens(messages: list[dict[str, str]]) -> int:
    """The documented heuristic: ceil(chars/4) per text, +3 per message, +3 for the reply."""
    return 3 + sum(3 + count_tokens(message["content"]) for message in messages)


# ------------------------------------------------------------ chat


def test_chat_completion_is_deterministic_with_heuristic_usage(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    again = client.chat.completions.create(model="gpt-4o", messages=HELLO)

    choice = first.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content and choice.finish_reason == "stop"
    assert first.id.startswith("chatcmpl-") and first.system_fingerprint
    assert first.model == "gpt-4o-2024-08-06"
    assert first.usage is not None
    assert first.usage.prompt_tokens == expected_prompt_tokens(HELLO)
    assert first.usage.completion_tokens == count_tokens(choice.message.content)
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens
    assert detail(first.usage, "prompt_tokens_details", "cached_tokens") == 0
    assert detail(first.usage, "completion_tokens_details", "reasoning_tokens") == 0
    assert (again.id, again.choices[0].message.content) == (first.id, choice.message.content)


def test_chat_stream_without_include_usage_has_no_usage(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))

    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert all(chunk.usage is None for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    content = [chunk.choices[0].delta.content for chunk in chunks if chunk.choices[0].delta.content]
    assert len(content) >= 10, "a typical answer streams as many small deltas"
    assert "".join(content) == plain.choices[0].message.content
    assert {chunk.model for chunk in chunks} == {"gpt-4o-mini-2024-07-18"}


def test_chat_stream_with_include_usage_ends_with_usage_only_chunk(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    final = chunks[-1]
    assert final.choices == []
    assert final.usage is not None and plain.usage is not None
    assert final.usage.model_dump() == plain.usage.model_dump()
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_n_choices_are_distinct_and_all_billed(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model="gpt-4o", messages=HELLO, n=3)

    assert [choice.index for choice in response.choices] == [0, 1, 2]
    texts = [choice.message.content or "" for choice in response.choices]
    assert len(set(texts)) == 3
    assert response.usage is not None
    assert response.usage.completion_tokens == sum(count_tokens(text) for text in texts)


@pytest.mark.parametrize("cap_field", ["max_tokens", "max_completion_tokens"])
def test_token_cap_truncates_with_finish_reason_length(client: openai.OpenAI, cap_field: str) -> None:
    # extra_body: openai 1.40 predates the max_completion_tokens keyword; the wire field is the same.
    response = client.chat.completions.create(model="gpt-4o", messages=HELLO, extra_body={cap_field: 5})

    assert response.choices[0].finish_reason == "length"
    assert response.usage is not None and response.usage.completion_tokens == 5
    full = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert (full.choices[0].message.content or "").startswith(response.choices[0].message.content or "")


def test_weather_question_with_tools_returns_tool_call(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "What is the weather in Paris today?"}]
    response = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL])

    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.id.startswith("call_") and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Paris", "unit": "c"}

    stream = client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=[WEATHER_TOOL], stream=True
    )
    streamed = "".join(
        tool.function.arguments or ""
        for chunk in stream
        for tool in (chunk.choices[0].delta.tool_calls or [])
        if tool.function is not None
    )
    assert streamed == call.function.arguments

    no_weather = client.chat.completions.create(model="gpt-4o", messages=HELLO, tools=[WEATHER_TOOL])
    assert no_weather.choices[0].finish_reason == "stop" and no_weather.choices[0].message.tool_calls is None


def test_repeated_long_prompt_reports_cached_tokens(client: openai.OpenAI, fake: FakeProvider) -> None:
    messages = [{"role": "system", "content": LONG_SYSTEM}, {"role": "user", "content": "First question?"}]
    first = client.chat.completions.create(model="gpt-4o", messages=messages)
    second = client.chat.completions.create(model="gpt-4o", messages=messages)

    assert first.usage is not None and second.usage is not None
    assert first.usage.prompt_tokens >= 1024
    assert detail(first.usage, "prompt_tokens_details", "cached_tokens") == 0
    cached = detail(second.usage, "prompt_tokens_details", "cached_tokens")
    assert cached == 1280, "the system message (1283 tokens) rounded down to a multiple of 128"
    assert second.usage.prompt_tokens == first.usage.prompt_tokens

    short = client.chat.completions.create(model="gpt-4o", messages=HELLO * 2)
    assert short.usage is not None and detail(short.usage, "prompt_tokens_details", "cached_tokens") == 0

    fake.reset()
    after_reset = client.chat.completions.create(model="gpt-4o", messages=messages)
    assert (
        after_reset.usage is not None
        and detail(after_reset.usage, "prompt_tokens_details", "cached_tokens") == 0
    )


def test_cached_tokens_header_forces_value(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="gpt-4o", messages=HELLO, extra_headers={"x-fake-cached-tokens": "4"}
    )
    assert (
        response.usage is not None and detail(response.usage, "prompt_tokens_details", "cached_tokens") == 4
    )


def test_reasoning_models_report_reasoning_tokens(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model="o3-mini", messages=HELLO)

    assert response.model == "o3-mini-2025-01-31"
    assert response.usage is not None
    reasoning = detail(response.usage, "completion_tokens_details", "reasoning_tokens")
    assert reasoning > 0
    visible = count_tokens(response.choices[0].message.content or "")
    assert response.usage.completion_tokens == reasoning + visible

    gpt5 = client.chat.completions.create(model="gpt-5-mini", messages=HELLO)
    assert gpt5.usage is not None and detail(gpt5.usage, "completion_tokens_details", "reasoning_tokens") > 0


@pytest.mark.parametrize(
    ("requested", "reported"),
    [
        ("gpt-4o", "gpt-4o-2024-08-06"),
        ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("o3-mini", "o3-mini-2025-01-31"),
        ("gpt-4.1", "gpt-4.1-2025-04-14"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        ("my-custom-model", "my-custom-model"),
    ],
)
def test_response_model_is_the_dated_snapshot(client: openai.OpenAI, requested: str, reported: str) -> None:
    assert client.chat.completions.create(model=requested, messages=HELLO).model == reported


def test_service_tier_is_echoed(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model="gpt-4o", messages=HELLO, service_tier="flex")
    assert response.service_tier == "flex"


# ------------------------------------------------------------ responses API


@pytest.mark.responses_api
def test_responses_create(client: openai.OpenAI) -> None:
    response = client.responses.create(model="gpt-4.1", input="Describe tracing.", instructions="Be brief.")

    assert response.object == "response" and response.status == "completed"
    assert response.model == "gpt-4.1-2025-04-14"
    assert response.output_text
    assert response.output[-1].type == "message"
    usage = response.usage
    assert usage is not None
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Describe tracing."}]
    assert usage.input_tokens == expected_prompt_tokens(messages)
    assert usage.output_tokens == count_tokens(response.output_text)
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


@pytest.mark.responses_api
def test_responses_max_output_tokens_makes_it_incomplete(client: openai.OpenAI) -> None:
    response = client.responses.create(model="o3-mini", input="Think hard.", max_output_tokens=50)

    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None and response.usage.output_tokens == 50
    assert response.usage.output_tokens_details.reasoning_tokens == 50


@pytest.mark.responses_api
def test_responses_stream_event_sequence(client: openai.OpenAI) -> None:
    plain = client.responses.create(model="gpt-4o", input="Stream please.")
    events = list(client.responses.create(model="gpt-4o", input="Stream please.", stream=True))

    types = [event.type for event in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert len(deltas) >= 10 and "".join(deltas) == plain.output_text
    completed = events[-1].response
    assert completed.usage is not None and plain.usage is not None
    assert completed.usage.model_dump() == plain.usage.model_dump()


@pytest.mark.responses_api
def test_responses_stream_helper(client: openai.OpenAI) -> None:
    with client.responses.stream(model="gpt-4o", input="Use the helper.") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert final.output_text == "".join(deltas)
    assert final.usage is not None and final.usage.output_tokens == count_tokens(final.output_text)


# ------------------------------------------------------------ completions, embeddings


def test_legacy_completions_plain_and_streamed(client: openai.OpenAI) -> None:
    plain = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Once upon a time", max_tokens=200
    )
    assert plain.object == "text_completion"
    assert plain.choices[0].finish_reason == "stop" and plain.choices[0].text
    assert plain.usage is not None and plain.usage.prompt_tokens == count_tokens("Once upon a time")

    default_cap = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Once upon a time")
    assert default_cap.choices[0].finish_reason == "length"
    assert default_cap.usage is not None and default_cap.usage.completion_tokens == 16

    chunks = list(
        client.completions.create(
            model="gpt-3.5-turbo-instruct",
            prompt="Once upon a time",
            max_tokens=200,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices) == plain.choices[0].text
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.model_dump() == plain.usage.model_dump()


@pytest.mark.parametrize("encoding_format", ["float", "base64", None])
def test_embeddings(client: openai.OpenAI, encoding_format: str | None) -> None:
    options = {} if encoding_format is None else {"encoding_format": encoding_format}
    response = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], **options)
    reference = client.embeddings.create(
        model="text-embedding-3-small", input="alpha", encoding_format="float"
    )

    vectors = [item.embedding for item in response.data]
    if encoding_format == "base64":  # the SDK hands base64 back undecoded when asked for it explicitly
        vectors = [list(struct.unpack("<16f", base64.b64decode(item))) for item in vectors]  # type: ignore[arg-type]
    assert [len(vector) for vector in vectors] == [16, 16]
    assert math.isclose(sum(value * value for value in vectors[0]), 1.0, rel_tol=1e-5)
    assert vectors[0] == pytest.approx(reference.data[0].embedding, rel=1e-6)
    assert vectors[0] != pytest.approx(vectors[1])
    assert response.usage.prompt_tokens == response.usage.total_tokens == 2 + 1  # ceil(5/4) + ceil(4/4)
    sized = client.embeddings.create(model="text-embedding-3-small", input="alpha", dimensions=64)
    assert len(sized.data[0].embedding) == 64


def test_models_list(client: openai.OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert "gpt-4o" in ids and "text-embedding-3-small" in ids


# ------------------------------------------------------------ faults

FAULT_STATUSES = [
    (400, openai.BadRequestError),
    (401, openai.AuthenticationError),
    (404, openai.NotFoundError),
    (429, openai.RateLimitError),
    (500, openai.InternalServerError),
    (503, openai.InternalServerError),
]


@pytest.mark.parametrize(("status", "exception"), FAULT_STATUSES)
@pytest.mark.parametrize("via", ["header", "model"])
def test_injected_status_raises_matching_exception(
    client: openai.OpenAI, status: int, exception: type[Exception], via: str
) -> None:
    model, headers = (
        ("gpt-4o", {"x-fake-status": str(status)}) if via == "header" else (f"fake-error-{status}", {})
    )
    with pytest.raises(exception) as raised:
        client.chat.completions.create(model=model, messages=HELLO, extra_headers=headers)

    error = raised.value
    assert isinstance(error, openai.APIStatusError) and error.status_code == status
    assert isinstance(error.body, dict) and {"message", "type", "param", "code"} <= set(error.body)
    if status == 429:
        assert error.response.headers["retry-after"] == "1"


def test_disconnect_raises_connection_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError) as raised:
        client.chat.completions.create(
            model="gpt-4o", messages=HELLO, extra_headers={"x-fake-fault": "disconnect"}
        )
    assert not isinstance(raised.value, openai.APITimeoutError)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="fake-disconnect", messages=HELLO)


def test_slow_answer_raises_timeout(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.2).chat.completions.create(
            model="gpt-4o", messages=HELLO, extra_headers={"x-fake-delay": "5"}
        )


def test_short_delay_still_answers(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="gpt-4o", messages=HELLO, extra_headers={"x-fake-delay": "0.01"}
    )
    assert response.choices[0].message.content


def test_mid_stream_disconnect_raises_during_iteration(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o", messages=HELLO, stream=True, extra_headers=MID_STREAM
    )
    received = []
    with pytest.raises((openai.APIConnectionError, SDK_HTTPX.TransportError)):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 3, "the chunks sent before the drop are delivered"


def test_malformed_fault_header_is_a_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="x-fake-status"):
        client.chat.completions.create(
            model="gpt-4o", messages=HELLO, extra_headers={"x-fake-status": "teapot"}
        )


def test_invalid_request_is_rejected_like_openai(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[])
    assert isinstance(raised.value.body, dict) and raised.value.body["param"] == "messages"


# ------------------------------------------------------------ recording


def test_requests_are_recorded(client: openai.OpenAI, fake: FakeProvider) -> None:
    client.chat.completions.create(model="gpt-4o", messages=HELLO, extra_headers={"X-Custom-Tag": "demo"})
    client.embeddings.create(model="text-embedding-3-small", input="alpha")

    chat, embedding = fake.requests
    assert (chat.method, chat.path) == ("POST", "/v1/chat/completions")
    assert chat.headers["authorization"] == "Bearer test-key"
    assert chat.headers["x-custom-tag"] == "demo"
    assert chat.json == {"model": "gpt-4o", "messages": HELLO}
    assert embedding.path == "/v1/embeddings" and embedding.json["input"] == "alpha"
    fake.reset()
    assert fake.requests == []


# ------------------------------------------------------------ async


def test_async_client_end_to_end(mode: str, fake: FakeProvider) -> None:
    async def scenario() -> None:
        async with async_client(mode, fake) as client:
            plain = await client.chat.completions.create(model="gpt-4o", messages=HELLO)
            assert plain.usage is not None and plain.choices[0].message.content

            stream = await client.chat.completions.create(
                model="gpt-4o", messages=HELLO, stream=True, stream_options={"include_usage": True}
            )
            chunks = [chunk async for chunk in stream]
            assert chunks[-1].choices == [] and chunks[-1].usage is not None
            assert chunks[-1].usage.model_dump() == plain.usage.model_dump()

            if hasattr(client, "responses"):
                async with client.responses.stream(model="gpt-4o", input="async helper") as events:
                    async for _event in events:
                        pass
                    final = await events.get_final_response()
                assert final.output_text and final.usage is not None

            with pytest.raises(openai.RateLimitError):
                await client.chat.completions.create(model="fake-error-429", messages=HELLO)

            with pytest.raises(openai.APITimeoutError):
                await client.with_options(timeout=0.2).chat.completions.create(
                    model="gpt-4o", messages=HELLO, extra_headers={"x-fake-delay": "5"}
                )

            broken = await client.chat.completions.create(
                model="gpt-4o",
                messages=HELLO,
                stream=True,
                extra_headers={"x-fake-fault": "disconnect-mid-stream"},
            )
            with pytest.raises((openai.APIConnectionError, SDK_HTTPX.TransportError)):
                async for _chunk in broken:
                    pass

    asyncio.run(scenario())


# ------------------------------------------------------------ transports


@pytest.mark.parametrize("module_name", ["httpx", pytest.param("httpx2", marks=pytest.mark.httpx2)])
def test_mock_transport_streams_sse_sync_and_async(module_name: str) -> None:
    httpx_module = importlib.import_module(module_name)
    body = {"model": "gpt-4o", "messages": HELLO, "stream": True}
    url = "http://fake.invalid/v1/chat/completions"

    with httpx_module.Client(transport=mock_transport(httpx_module)) as sync:
        assert isinstance(sync._transport, httpx_module.MockTransport)
        with sync.stream("POST", url, json=body) as response:
            lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert lines[-1] == "data: [DONE]" and len(lines) > 10

    async def read_async() -> list[str]:
        async with (
            httpx_module.AsyncClient(transport=mock_transport(httpx_module)) as client,
            client.stream("POST", url, json=body) as streamed,
        ):
            return [line async for line in streamed.aiter_lines() if line.startswith("data: ")]

    assert asyncio.run(read_async()) == lines


def test_keep_alive_reuses_one_connection(fake: FakeProvider) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    body = json.dumps({"model": "gpt-4o", "messages": HELLO})
    try:
        for _ in range(3):
            connection.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
            sock = connection.sock
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read())["object"] == "chat.completion"
            assert not response.will_close
            assert connection.sock is sock, "the same TCP connection serves the next request"
    finally:
        connection.close()


class _GatedProtocol(Protocol):
    """A minimal extra protocol: proves routes plug in without server changes, that streams are delivered
    chunk by chunk (its second chunk is only produced after the client got the first) and that other
    requests are served meanwhile."""

    name = "gated"

    def __init__(self) -> None:
        self.first_chunk_seen = threading.Event()
        self.routes = (
            Route("POST", r"/gated/(?P<model>[^/]+)", self.stream),
            Route("GET", r"/ping", lambda request, state: FakeResponse.json_body({"pong": True})),
        )

    def stream(self, request: Any, state: Any) -> FakeResponse:
        def chunks() -> Iterator[bytes]:
            yield sse_event({"part": 1})
            assert self.first_chunk_seen.wait(5), "client never saw the first chunk"
            yield sse_event({"part": 2})

        return FakeResponse(200, {"content-type": "text/event-stream"}, chunks())


def test_custom_protocol_streams_incrementally_and_concurrently() -> None:
    gated = _GatedProtocol()
    with FakeProvider(protocols=[gated]) as fake:
        connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
        connection.request("POST", "/gated/some-model", b"{}", {"content-type": "application/json"})
        response = connection.getresponse()
        assert response.getheader("transfer-encoding") == "chunked"
        first = response.readline()
        other = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
        other.request("GET", "/ping")
        assert json.loads(other.getresponse().read()) == {"pong": True}, "served while a stream is open"
        other.close()
        gated.first_chunk_seen.set()
        rest = response.read()
        connection.close()
        assert first == b'data: {"part":1}\n'
        assert b'data: {"part":2}' in rest
        assert fake.requests[0].path_params == {"model": "some-model"}

        magic = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
        magic.request("POST", "/gated/fake-error-503", b"{}")
        assert magic.getresponse().status == 503, "magic model names work for URL-borne models too"
        magic.close()


# ------------------------------------------------------------ CLI


def test_cli_serves_until_terminated(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    command = [
        sys.executable,
        "-m",
        "otel_tokenomics.cli.fake_provider",
        "--port",
        "0",
        "--port-file",
        str(port_file),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the CLI never wrote its port file"
            time.sleep(0.05)
        port = int(port_file.read_text())
        with openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="secret-key", max_retries=0
        ) as client:
            assert client.chat.completions.create(model="gpt-4o", messages=HELLO).choices[0].message.content
        os.kill(process.pid, signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert f"http://127.0.0.1:{port}" in stdout
    assert "POST /v1/chat/completions -> 200" in stderr
    assert "secret-key" not in stdout + stderr, "request headers (API keys) are never logged"


def test_cli_reports_port_in_use(fake: FakeProvider, capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module("otel_tokenomics.cli.fake_provider")
    assert module.main(["--port", str(fake.port), "--quiet"]) == 2
    assert f"port {fake.port} on 127.0.0.1 is already in use" in capsys.readouterr().err
