"""The benchmark's stand-in for the OpenAI API: real `openai` clients over `httpx2.MockTransport`, canned bytes.

Why this shape: the quantity we want is what an instrumentation adds to a real SDK call, so the SDK must run its
whole request/response path (option building, request serialization, header handling, JSON/SSE parsing, pydantic
models) exactly as in production, while the "network" must cost as little as possible and the same for every
configuration. A `MockTransport` handler that wraps pre-built bytes in a fresh `httpx2.Response` does that: no
sockets, no JSON encoding per call, and nothing the instrumentations could notice or influence.

The bodies imitate what api.openai.com returns for `gpt-4o-mini` (response model `gpt-4o-mini-2024-07-18`), with
cached prompt tokens so cost computation takes its cache-read branch.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai

__all__ = [
    "BASE_URL",
    "CONTENT_CHUNKS",
    "REQUEST_MODEL",
    "RESPONSE_MODEL",
    "STREAM_CHUNKS_YIELDED",
    "STREAM_OUTPUT_TOKENS",
    "SYNC_INPUT_TOKENS",
    "SYNC_OUTPUT_TOKENS",
    "Clients",
    "chat_kwargs",
    "make_clients",
    "stream_kwargs",
]

BASE_URL = "https://api.openai.com/v1"  # the real host, so our instrumentation prices with the real catalog
REQUEST_MODEL = "gpt-4o-mini"
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
CONTENT_CHUNKS = 20
# 20 content chunks + the finish_reason chunk + the usage chunk (choices == []); `[DONE]` yields nothing.
STREAM_CHUNKS_YIELDED = CONTENT_CHUNKS + 2
SYNC_INPUT_TOKENS = 1_250
SYNC_OUTPUT_TOKENS = 87
CACHED_TOKENS = 1_024
STREAM_OUTPUT_TOKENS = CONTENT_CHUNKS

_ID = "chatcmpl-BZ7qX2mKc9vYt3LrN4pQe8sHw1Af"
_CREATED = 1_747_000_000
_FINGERPRINT = "fp_34a54ae93c"
_MESSAGES = (
    {"role": "system", "content": "You are a concise assistant for a travel booking site."},
    {"role": "user", "content": "Which documents do I need to fly from Lisbon to Toronto next month?"},
)


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": CACHED_TOKENS, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _completion_body() -> bytes:
    answer = (
        "For a flight from Lisbon to Toronto you need a valid passport and, depending on your citizenship, "
        "either an eTA (Electronic Travel Authorization) or a visitor visa. EU citizens need an eTA, which you "
        "can apply for online; it costs CAD 7 and is usually approved within minutes. Also check that your "
        "passport is valid for the whole stay."
    )
    body = {
        "id": _ID,
        "object": "chat.completion",
        "created": _CREATED,
        "model": RESPONSE_MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(SYNC_INPUT_TOKENS, SYNC_OUTPUT_TOKENS),
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }
    return json.dumps(body).encode()


def _sse_body() -> bytes:
    def event(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        chunk = {
            "id": _ID,
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": RESPONSE_MODEL,
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
            "choices": choices,
            "usage": usage,  # null on every chunk but the last when include_usage is set, as the API does
        }
        return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    words = [f"word{i} " for i in range(CONTENT_CHUNKS)]
    events = [event([choice({"role": "assistant", "content": words[0], "refusal": None})])]
    events += [event([choice({"content": word})]) for word in words[1:]]
    events.append(event([choice({}, "stop")]))
    events.append(event([], _usage(SYNC_INPUT_TOKENS, STREAM_OUTPUT_TOKENS)))
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


def _responder(content_type: bytes, body: bytes) -> Any:
    """A handler doing the minimum per call: one `Response` around bytes built once, headers built once."""
    headers = [
        (b"content-type", content_type),
        (b"x-request-id", b"req_8f3c0d6a2b1e4f5a9c7d"),
        (b"openai-processing-ms", b"412"),
    ]
    response_class = httpx2.Response

    def handler(request: httpx2.Request) -> httpx2.Response:
        return response_class(200, headers=headers, content=body)

    return handler


class Clients:
    """One client per scenario, so each handler returns one canned body and never inspects the request."""

    def __init__(self) -> None:
        completion, sse = _completion_body(), _sse_body()
        self.sync = openai.OpenAI(
            api_key="sk-bench",
            base_url=BASE_URL,
            max_retries=0,
            http_client=httpx2.Client(transport=httpx2.MockTransport(_responder(b"application/json", completion))),
        )
        self.stream = openai.OpenAI(
            api_key="sk-bench",
            base_url=BASE_URL,
            max_retries=0,
            http_client=httpx2.Client(transport=httpx2.MockTransport(_responder(b"text/event-stream", sse))),
        )
        self.async_ = openai.AsyncOpenAI(
            api_key="sk-bench",
            base_url=BASE_URL,
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(_responder(b"application/json", completion))),
        )


def make_clients() -> Clients:
    return Clients()


def chat_kwargs() -> dict[str, Any]:
    """A typical non-streaming request: system + user message, a couple of sampling parameters."""
    return {"model": REQUEST_MODEL, "messages": list(_MESSAGES), "temperature": 0.2, "max_tokens": 512}


def stream_kwargs() -> dict[str, Any]:
    """The same request streamed, with usage asked for by the caller (so no instrumentation injects it)."""
    return {**chat_kwargs(), "stream": True, "stream_options": {"include_usage": True}}
