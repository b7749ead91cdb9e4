"""The Mistral AI wire format (La Plateforme): chat completions (JSON and SSE) and embeddings.

Mistral's API is OpenAI-like but its paths are the same as OpenAI's (``/v1/chat/completions``,
``/v1/embeddings``), so this protocol serves them under the :data:`PATH_PREFIX` ``/mistral``; point the SDK at
``Mistral(server_url=f"{fake.base_url}/mistral")``.

Shapes follow what api.mistral.ai sends, and where it differs from OpenAI:

* the response ``model`` echoes the requested name (aliases such as ``mistral-small-latest`` are not resolved);
* ``usage`` has ``prompt_tokens``/``completion_tokens``/``total_tokens``, plus
  ``prompt_tokens_details.cached_tokens`` only on a prompt-cache hit (cached tokens are part of
  ``prompt_tokens``); header ``x-fake-cached-tokens: N`` forces the cached count;
* a stream's *last content chunk* carries ``finish_reason`` and ``usage`` together (Mistral always sends usage
  in streams and rejects OpenAI's ``stream_options``), then ``data: [DONE]``;
* errors are ``{"object": "error", "message": ..., "type": ..., "param": null, "code": ...}``; request
  validation failures are 422s, as Mistral answers them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from otel_tokenomics.fake_provider.protocols import (
    FakeRequest,
    FakeResponse,
    Protocol,
    ProviderState,
    Route,
    sse_event,
)
from otel_tokenomics.fake_provider.synthesis import (
    FIXED_TIMESTAMP,
    REPLY_PRIMING,
    content_text,
    count_tokens,
    embedding_vector,
    generate_text,
    message_tokens,
    seed_of,
    split_chunks,
    stable_id,
    truncate_to_tokens,
)

__all__ = ["EMBEDDING_DIMENSIONS", "PATH_PREFIX", "PROTOCOL", "MistralProtocol"]

PATH_PREFIX = "/mistral"
#: Mistral's embeddings are 1024-dimensional; the fake keeps them short (tests only count them).
EMBEDDING_DIMENSIONS = 16
_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    422: "invalid_request_message_order",
    429: "rate_limit_exceeded",
}


class _Invalid(Exception):
    """A validation failure, answered as a 422 with Mistral's error body."""


def _require_model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _Invalid("Field 'model' is required.")
    return model


def _usage(prompt_tokens: int, completion_tokens: int, cached: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens": completion_tokens,
    }
    if cached:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return usage


def _headers(request: FakeRequest, stream: bool) -> dict[str, str]:
    headers = {"mistral-correlation-id": stable_id("", request.path, request.json, length=32)}
    if stream:
        headers.update({"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"})
    return headers


class MistralProtocol(Protocol):
    """Routes under ``/mistral/v1`` answering like api.mistral.ai."""

    name = "mistral"

    def __init__(self) -> None:
        self.routes = (
            Route("POST", rf"{PATH_PREFIX}/v1/chat/completions", self._guarded(self.chat_completions)),
            Route("POST", rf"{PATH_PREFIX}/v1/embeddings", self._guarded(self.embeddings)),
        )

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> FakeResponse:
        kind = _ERROR_TYPES.get(status, "internal_server_error" if status >= 500 else "invalid_request_error")
        body = {"object": "error", "message": message, "type": kind, "param": None, "code": str(status)}
        return FakeResponse.json_body(body, status, headers)

    def _guarded(self, handler: Any) -> Any:
        def guarded(request: FakeRequest, state: ProviderState) -> FakeResponse:
            if not isinstance(request.json, dict):
                return self.error_response(400, "Invalid JSON body.")
            try:
                return handler(request, state)
            except _Invalid as error:
                return self.error_response(422, str(error))

        return guarded

    # ----------------------------------------------------------------------------------- chat completions

    def chat_completions(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise _Invalid("Field 'messages' must be a non-empty list of messages.")
        if "stream_options" in body:  # what the real API does with OpenAI's usage switch
            raise _Invalid("Extra inputs are not permitted: stream_options")
        blocks = [(message, message_tokens(content_text(message.get("content")))) for message in messages]
        prompt_tokens = REPLY_PRIMING + sum(tokens for _message, tokens in blocks)
        cached = self._cached(request, state, model, blocks, prompt_tokens)
        cap = body.get("max_tokens")
        text = generate_text(seed_of("mistral-chat", model, messages))
        finish = "stop"
        if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
            capped = truncate_to_tokens(text, cap)
            finish = "length" if capped != text else "stop"
            text = capped
        usage = _usage(prompt_tokens, count_tokens(text), cached)
        common = {"id": stable_id("", body, length=32), "created": FIXED_TIMESTAMP, "model": model}
        if body.get("stream"):
            return FakeResponse(200, _headers(request, True), self._chunks(common, text, finish, usage))
        payload = {
            **common,
            "object": "chat.completion",
            "usage": usage,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "tool_calls": None, "prefix": False},
                    "finish_reason": finish,
                }
            ],
        }
        return FakeResponse.json_body(payload, headers=_headers(request, False))

    @staticmethod
    def _cached(
        request: FakeRequest, state: ProviderState, model: str, blocks: Sequence[tuple[Any, int]], total: int
    ) -> int:
        observed = state.prompt_cache.observe(f"mistral:{model}", blocks, total)
        forced = request.headers.get("x-fake-cached-tokens")
        if forced is None:
            return observed
        if not forced.strip().isdigit():
            raise _Invalid(f"x-fake-cached-tokens must be an integer, got {forced!r}")
        return min(int(forced), total)

    @staticmethod
    def _chunks(common: Mapping[str, Any], text: str, finish: str, usage: dict[str, Any]) -> Iterator[bytes]:
        """Role chunk, content chunks, a last chunk with finish reason *and* usage, then ``[DONE]``."""

        def chunk(delta: dict[str, Any], reason: str | None = None, **extra: Any) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": reason}
            return sse_event({**common, "object": "chat.completion.chunk", "choices": [choice], **extra})

        yield chunk({"role": "assistant", "content": ""})
        pieces = split_chunks(text)
        for piece in pieces[:-1]:
            yield chunk({"content": piece})
        yield chunk({"content": pieces[-1] if pieces else ""}, finish, usage=usage)
        yield sse_event("[DONE]")

    # ----------------------------------------------------------------------------------- embeddings

    def embeddings(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        raw = body.get("input", body.get("inputs"))
        if isinstance(raw, str) and raw:
            texts = [raw]
        elif isinstance(raw, list) and raw and all(isinstance(item, str) and item for item in raw):
            texts = list(raw)
        else:
            raise _Invalid("Field 'input' must be a non-empty string or list of strings.")
        dimension = body.get("output_dimension")
        dimensions = dimension if isinstance(dimension, int) and dimension > 0 else EMBEDDING_DIMENSIONS
        tokens = sum(count_tokens(text) for text in texts)
        payload = {
            "id": stable_id("", body, length=32),
            "object": "list",
            "data": [
                {"object": "embedding", "embedding": embedding_vector(text, dimensions), "index": index}
                for index, text in enumerate(texts)
            ],
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0},
        }
        return FakeResponse.json_body(payload, headers=_headers(request, False))


PROTOCOL = MistralProtocol()
