"""The fake provider's `anthropic` protocol: what the real SDK sees, without any instrumentation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import pytest

from otel_tokenomics.fake_provider import FakeProvider, mock_transport
from otel_tokenomics.fake_provider.protocols import load_protocols
from otel_tokenomics.fake_provider.protocols.anthropic import message_events

MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "Tell me about prompt caching."}]
LONG_SYSTEM = "A long shared policy manual. " * 300


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["anthropic"])) as fake:
        yield fake


@pytest.fixture
def client(server: FakeProvider) -> anthropic.Anthropic:
    server.reset()
    return anthropic.Anthropic(base_url=server.base_url, api_key="sk-ant-test", max_retries=0)


def test_message_shape_and_usage(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=500, messages=MESSAGES)
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "claude-haiku-4-5-20251001"
    assert message.id.startswith("msg_")
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.usage.cache_read_input_tokens == 0 == message.usage.cache_creation_input_tokens
    assert message.usage.service_tier == "standard"
    again = client.messages.create(model=MODEL, max_tokens=500, messages=MESSAGES)
    assert again.model_dump() == message.model_dump(), "the same request gets the same answer"


def test_max_tokens_and_stop_sequences_end_the_answer(client: anthropic.Anthropic) -> None:
    capped = client.messages.create(model=MODEL, max_tokens=5, messages=MESSAGES)
    assert capped.stop_reason == "max_tokens" and capped.usage.output_tokens == 5
    full = client.messages.create(model=MODEL, max_tokens=500, messages=MESSAGES).content[0].text
    word = full.split()[3]
    stopped = client.messages.create(model=MODEL, max_tokens=500, messages=MESSAGES, stop_sequences=[word])
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == word
    assert word not in stopped.content[0].text


def test_stream_event_sequence_matches_the_message(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=500, messages=MESSAGES)
    events = list(client.messages.create(model=MODEL, max_tokens=500, messages=MESSAGES, stream=True))
    kinds = [event.type for event in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [event for event in events if event.type == "content_block_delta"]
    assert 10 <= len(deltas) <= 25
    assert "".join(event.delta.text for event in deltas) == message.content[0].text
    start, delta = events[0], events[-2]
    assert start.message.usage.input_tokens == message.usage.input_tokens
    assert start.message.usage.output_tokens == 1
    assert delta.usage.output_tokens == message.usage.output_tokens
    assert delta.delta.stop_reason == "end_turn"


def test_raw_sse_framing(server: FakeProvider) -> None:
    body = {"model": MODEL, "max_tokens": 50, "messages": MESSAGES, "stream": True}
    response = httpx2.post(f"{server.base_url}/v1/messages", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [frame for frame in response.text.split("\n\n") if frame]
    names = [frame.splitlines()[0] for frame in frames]
    assert names[0] == "event: message_start" and names[-1] == "event: message_stop"
    assert "event: ping" in names
    for frame in frames:
        event_line, data_line = frame.splitlines()
        assert json.loads(data_line.removeprefix("data: "))["type"] == event_line.removeprefix("event: ")


def test_prompt_caching_writes_then_reads(client: anthropic.Anthropic) -> None:
    system: Any = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    first = client.messages.create(model=MODEL, max_tokens=20, system=system, messages=MESSAGES)
    second = client.messages.create(
        model=MODEL, max_tokens=20, system=system, messages=[{"role": "user", "content": "Different question"}]
    )
    written = first.usage.cache_creation_input_tokens
    assert written >= 1024
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == written
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == 0
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == written
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens < 20, "input_tokens excludes the cached prefix"
    uncached = client.messages.create(model=MODEL, max_tokens=20, system=LONG_SYSTEM, messages=MESSAGES)
    assert uncached.usage.cache_read_input_tokens == 0 == uncached.usage.cache_creation_input_tokens
    assert uncached.usage.input_tokens == first.usage.input_tokens + written


def test_short_prefixes_are_not_cached(client: anthropic.Anthropic) -> None:
    system: Any = [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]
    for _ in range(2):
        usage = client.messages.create(model=MODEL, max_tokens=5, system=system, messages=MESSAGES).usage
        assert usage.cache_creation_input_tokens == 0 == usage.cache_read_input_tokens


def test_tool_use_answer(client: anthropic.Anthropic) -> None:
    tools: Any = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {}}}}]
    message = client.messages.create(
        model=MODEL, max_tokens=50, tools=tools, messages=[{"role": "user", "content": "weather in Lima?"}]
    )
    assert message.stop_reason == "tool_use"
    assert message.content[0].type == "tool_use" and message.content[0].input == {"city": "Lima"}
    forced = client.messages.create(
        model=MODEL, max_tokens=50, tools=tools, tool_choice={"type": "any"}, messages=MESSAGES
    )
    assert forced.stop_reason == "tool_use"


@pytest.mark.parametrize(
    ("status", "error_class", "kind"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_error_body_shape(client: anthropic.Anthropic, status: int, error_class: type, kind: str) -> None:
    with pytest.raises(error_class) as caught:
        client.messages.create(
            model=MODEL, max_tokens=5, messages=MESSAGES, extra_headers={"x-fake-status": str(status)}
        )
    body: Any = caught.value.body
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert caught.value.status_code == status


def test_magic_model_and_validation_errors(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model="fake-error-429", max_tokens=5, messages=MESSAGES)
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        client.messages.create(model=MODEL, max_tokens=5, messages=MESSAGES, extra_body={"max_tokens": 0})
    with pytest.raises(anthropic.BadRequestError, match="messages"):
        client.messages.create(model=MODEL, max_tokens=5, messages=[])


def test_count_tokens(client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(model=MODEL, messages=MESSAGES)
    assert (
        counted.input_tokens == client.messages.create(model=MODEL, max_tokens=5, messages=MESSAGES).usage.input_tokens
    )


def test_vertex_routes(server: FakeProvider) -> None:
    server.reset()
    client = anthropic.AnthropicVertex(
        region="europe-west1", project_id="proj", access_token="test", base_url=f"{server.base_url}/v1", max_retries=0
    )
    model = "claude-haiku-4-5@20251001"
    message = client.messages.create(model=model, max_tokens=20, messages=MESSAGES)
    assert message.model == model
    events = list(client.messages.create(model=model, max_tokens=20, messages=MESSAGES, stream=True))
    assert events[-1].type == "message_stop"
    assert client.messages.count_tokens(model=model, messages=MESSAGES).input_tokens > 0
    paths = [request.path for request in server.requests]
    prefix = "/v1/projects/proj/locations/europe-west1/publishers/anthropic/models/"
    assert paths == [
        f"{prefix}{model}:rawPredict",
        f"{prefix}{model}:streamRawPredict",
        f"{prefix}count-tokens:rawPredict",
    ]
    assert isinstance(server.requests[0].json["anthropic_version"], str)
    assert "model" not in server.requests[0].json
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model="fake-error-429", max_tokens=5, messages=MESSAGES)


def test_mock_transport_without_sockets() -> None:
    fake = FakeProvider(protocols=load_protocols(["anthropic"]))
    client = anthropic.Anthropic(
        base_url="https://api.anthropic.com",
        api_key="sk-ant-test",
        max_retries=0,
        http_client=httpx2.Client(transport=mock_transport(httpx2, fake)),
    )
    with client.messages.stream(model=MODEL, max_tokens=30, messages=MESSAGES) as stream:
        text = stream.get_final_text()
    assert text and fake.requests[0].path == "/v1/messages"


def test_message_events_are_reusable_by_other_framings() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": "Hello there, world."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 5},
    }
    names = [name for name, _data in message_events(message)]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert message_events(message)[-2][1]["usage"] == {"output_tokens": 5}
