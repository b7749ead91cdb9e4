"""The `gemini` fake protocol: Google's routes, bodies, SSE framing, usage and error shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols
from otel_tokenomics.fake_provider.protocols.gemini import EXPLICIT_CACHE_TOKENS, TOOL_USE_PROMPT_TOKENS

BODY = {"contents": [{"role": "user", "parts": [{"text": "Tell me about token accounting."}]}]}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["openai", "gemini"])) as fake:
        yield fake


def post(server: FakeProvider, path: str, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(server.base_url + path, json=body, headers=headers, timeout=10)


def test_generate_content_shape(server: FakeProvider) -> None:
    response = post(server, "/v1beta/models/gemini-2.0-flash:generateContent", BODY)
    assert response.status_code == 200
    data = response.json()
    candidate = data["candidates"][0]
    assert candidate["content"]["role"] == "model"
    assert candidate["finishReason"] == "STOP"
    assert data["modelVersion"] == "gemini-2.0-flash"
    usage = data["usageMetadata"]
    assert usage["promptTokenCount"] == 8  # ceil(31 chars / 4)
    assert "thoughtsTokenCount" not in usage  # not a thinking model
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]


def test_thinking_models_report_thoughts_beside_the_output(server: FakeProvider) -> None:
    usage = post(server, "/v1beta/models/gemini-2.5-flash:generateContent", BODY).json()["usageMetadata"]
    assert usage["thoughtsTokenCount"] > 0
    assert usage["totalTokenCount"] == (
        usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
    )
    no_thinking = {**BODY, "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}}
    usage = post(server, "/v1beta/models/gemini-2.5-flash:generateContent", no_thinking).json()["usageMetadata"]
    assert "thoughtsTokenCount" not in usage


def test_max_output_tokens_caps_thoughts_and_answer_together(server: FakeProvider) -> None:
    body = {**BODY, "generationConfig": {"maxOutputTokens": 100}}
    data = post(server, "/v1beta/models/gemini-2.5-pro:generateContent", body).json()
    usage = data["usageMetadata"]
    assert usage["candidatesTokenCount"] + usage["thoughtsTokenCount"] == 100
    assert data["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_cached_content_is_inside_the_prompt_count(server: FakeProvider) -> None:
    plain = post(server, "/v1beta/models/gemini-2.5-flash:generateContent", BODY).json()["usageMetadata"]
    body = {**BODY, "cachedContent": "cachedContents/abc"}
    cached = post(server, "/v1beta/models/gemini-2.5-flash:generateContent", body).json()["usageMetadata"]
    assert cached["cachedContentTokenCount"] == EXPLICIT_CACHE_TOKENS
    assert cached["promptTokenCount"] == plain["promptTokenCount"] + EXPLICIT_CACHE_TOKENS


def test_repeated_long_prompt_is_cached_implicitly(server: FakeProvider) -> None:
    server.reset()
    long_body = {
        "systemInstruction": {"parts": [{"text": "rules " * 1200}]},
        "contents": [{"role": "user", "parts": [{"text": "first question"}]}],
    }
    first = post(server, "/v1beta/models/gemini-2.5-flash:generateContent", long_body).json()["usageMetadata"]
    assert "cachedContentTokenCount" not in first
    long_body["contents"][0]["parts"][0]["text"] = "second question"
    second = post(server, "/v1beta/models/gemini-2.5-flash:generateContent", long_body).json()["usageMetadata"]
    assert second["cachedContentTokenCount"] == 1792  # the 1800-token system prefix, in 128-token blocks


def test_builtin_tools_add_tool_use_prompt_tokens(server: FakeProvider) -> None:
    body = {**BODY, "tools": [{"googleSearch": {}}]}
    usage = post(server, "/v1beta/models/gemini-2.0-flash:generateContent", body).json()["usageMetadata"]
    assert usage["toolUsePromptTokenCount"] == TOOL_USE_PROMPT_TOKENS


def test_function_declarations_and_weather_give_a_function_call(server: FakeProvider) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "What is the weather in Rome?"}]}],
        "tools": [{"functionDeclarations": [{"name": "get_weather", "parameters": {"properties": {"city": {}}}}]}],
    }
    part = post(server, "/v1beta/models/gemini-2.0-flash:generateContent", body).json()["candidates"][0]["content"]
    assert part["parts"][0]["functionCall"] == {"name": "get_weather", "args": {"city": "Rome"}}


def test_stream_is_sse_of_whole_responses(server: FakeProvider) -> None:
    response = post(server, "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", BODY)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[len("data: ") :]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert len(events) > 1
    assert all(event["usageMetadata"]["promptTokenCount"] == 8 for event in events)
    assert "candidatesTokenCount" not in events[0]["usageMetadata"]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    text = "".join(event["candidates"][0]["content"]["parts"][0]["text"] for event in events)
    plain = post(server, "/v1beta/models/gemini-2.0-flash:generateContent", BODY).json()
    assert text == plain["candidates"][0]["content"]["parts"][0]["text"]
    assert events[-1]["usageMetadata"] == plain["usageMetadata"]


def test_vertex_routes(server: FakeProvider) -> None:
    path = "/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent"
    data = post(server, path, BODY).json()
    assert data["usageMetadata"]["trafficType"] == "ON_DEMAND"
    predict = "/v1/projects/p/locations/us-central1/publishers/google/models/text-embedding-005:predict"
    data = post(server, predict, {"instances": [{"content": "hello world"}]}).json()
    assert data["predictions"][0]["embeddings"]["statistics"]["token_count"] == 3
    assert data["metadata"]["billableCharacterCount"] == 11


def test_embeddings(server: FakeProvider) -> None:
    body = {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "abcd"}]},
                "outputDimensionality": 4,
            },
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "abcdefgh"}]}},
        ]
    }
    data = post(server, "/v1beta/models/gemini-embedding-001:batchEmbedContents", body).json()
    assert [len(item["values"]) for item in data["embeddings"]] == [4, 16]
    assert data["usageMetadata"]["promptTokenCount"] == 1 + 2
    single = post(
        server, "/v1beta/models/gemini-embedding-001:embedContent", {"content": {"parts": [{"text": "abcd"}]}}
    )
    assert len(single.json()["embedding"]["values"]) == 16


@pytest.mark.parametrize(
    ("status", "name"), [(400, "INVALID_ARGUMENT"), (429, "RESOURCE_EXHAUSTED"), (503, "UNAVAILABLE")]
)
def test_google_error_body(server: FakeProvider, status: int, name: str) -> None:
    response = post(server, "/v1beta/models/gemini-2.0-flash:generateContent", BODY, **{"x-fake-status": str(status)})
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (status, name)
    assert error["message"]
    magic = post(server, "/v1beta/models/fake-error-404:generateContent", BODY)
    assert magic.json()["error"]["status"] == "NOT_FOUND"


def test_validation_errors(server: FakeProvider) -> None:
    response = post(server, "/v1beta/models/gemini-2.0-flash:generateContent", {"contents": []})
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_no_collision_with_openai_routes(server: FakeProvider) -> None:
    listed = httpx.get(server.base_url + "/v1/models", timeout=10).json()
    assert listed["object"] == "list"
    chat = post(
        server, "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert chat.json()["object"] == "chat.completion"
    gemini = post(server, "/v1/models/gemini-2.0-flash:generateContent", BODY)
    assert "candidates" in gemini.json()
