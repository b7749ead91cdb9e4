"""The Groq wire format: OpenAI-shaped chat completions and embeddings under ``/openai/v1``.

What makes it Groq's rather than OpenAI's (and what the real ``groq`` SDK and our adapter must cope with):

* timing fields in ``usage`` (``queue_time``, ``prompt_time``, ``completion_time``, ``total_time``) and an
  ``x_groq`` object carrying the request id (``req_…``);
* streams put the usage in ``x_groq.usage`` of the **last content chunk** (the one carrying ``finish_reason``),
  not in a separate usage-only chunk; ``stream_options.include_usage`` additionally copies it to a top-level
  ``usage`` on that chunk;
* prompt caching only on some models (:data:`CACHING_MODELS`), reported as
  ``usage.prompt_tokens_details.cached_tokens`` (a subset of ``prompt_tokens``); header
  ``x-fake-cached-tokens: N`` forces the count;
* reasoning models (:data:`REASONING_MODELS`) return their thinking in ``message.reasoning`` (unless
  ``reasoning_format`` is ``hidden``) and count it in ``completion_tokens_details.reasoning_tokens``, a subset of
  ``completion_tokens``;
* only ``n = 1`` is accepted; ``service_tier`` answers ``on_demand`` unless another tier was asked for;
* errors are ``{"error": {"message", "type", "code"}}``.

Prompt token counting, tool-call synthesis and the prompt-cache memory are shared with the OpenAI protocol.
"""

from __future__ import annotations

import re
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
from otel_tokenomics.fake_provider.protocols.openai import _BadRequest, _positive_int, _Prompt, _prompt, _tool_call
from otel_tokenomics.fake_provider.synthesis import (
    FIXED_TIMESTAMP,
    count_tokens,
    embedding_vector,
    generate_text,
    reasoning_tokens,
    seed_of,
    split_chunks,
    stable_id,
    truncate_to_tokens,
)

__all__ = ["CACHING_MODELS", "EMBEDDING_DIMENSIONS", "PROTOCOL", "REASONING_MODELS", "GroqProtocol"]

REASONING_MODELS = re.compile(r"^(openai/gpt-oss|qwen/qwen3|deepseek-r1)")
CACHING_MODELS = re.compile(r"^(openai/gpt-oss|moonshotai/kimi-k2)")
EMBEDDING_DIMENSIONS = 16
_PREFIX = "/openai/v1"
_MODELS = ("llama-3.3-70b-versatile", "llama-3.1-8b-instant", "openai/gpt-oss-120b", "openai/gpt-oss-20b")
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permissions_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", None),
    429: ("tokens", "rate_limit_exceeded"),
    498: ("invalid_request_error", "flex_tier_capacity_exceeded"),
}


def _require_model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _BadRequest("'model' : property 'model' is missing", "model")
    return model


def _headers(request: FakeRequest, stream: bool) -> dict[str, str]:
    headers = {"x-request-id": stable_id("req_", request.path, request.json, length=26)}
    if stream:
        headers.update({"content-type": "text/event-stream", "cache-control": "no-cache"})
    return headers


def _timings(prompt_tokens: int, completion_tokens: int) -> dict[str, float]:
    """Deterministic, plausible timings: ~100k prompt tokens/s and ~500 completion tokens/s."""
    prompt_time = round(prompt_tokens / 100_000, 6)
    completion_time = round(completion_tokens / 500, 6)
    return {
        "queue_time": 0.01,
        "prompt_time": prompt_time,
        "completion_time": completion_time,
        "total_time": round(prompt_time + completion_time, 6),
    }


class _Answer:
    """One chat answer: its visible text or tool call, its reasoning, and what they cost."""

    def __init__(self, body: Mapping[str, Any], model: str, messages: Any, prompt: _Prompt) -> None:
        seed = seed_of("groq-chat", model, messages)
        cap = _positive_int(body, "max_completion_tokens") or _positive_int(body, "max_tokens")
        self.tool_call = _tool_call(body, prompt, seed)
        self.reasoning: str | None = None
        self.reasoning_tokens = 0
        if REASONING_MODELS.match(model):
            planned = reasoning_tokens(seed, body.get("reasoning_effort"))
            thought = truncate_to_tokens(generate_text(seed + 1, 200, 260), min(planned, cap or planned))
            self.reasoning_tokens = count_tokens(thought)
            if body.get("reasoning_format") != "hidden" and body.get("include_reasoning") is not False:
                self.reasoning = thought
        self.text: str | None = None
        self.finish_reason = "stop"
        if self.tool_call is not None:
            self.finish_reason = "tool_calls"
            call = self.tool_call["function"]
            self.visible_tokens = count_tokens(call["name"] + call["arguments"])
            return
        full = generate_text(seed)
        self.text = full
        if cap is not None:
            self.text = truncate_to_tokens(full, max(cap - self.reasoning_tokens, 0))
            if self.text != full:
                self.finish_reason = "length"
        self.visible_tokens = count_tokens(self.text)

    @property
    def completion_tokens(self) -> int:
        return self.reasoning_tokens + self.visible_tokens


class GroqProtocol(Protocol):
    """Routes under ``/openai/v1`` answering like api.groq.com."""

    name = "groq"

    def __init__(self) -> None:
        self.routes = (
            Route("POST", rf"{_PREFIX}/chat/completions", self._guarded(self.chat_completions)),
            Route("POST", rf"{_PREFIX}/embeddings", self._guarded(self.embeddings)),
            Route("GET", rf"{_PREFIX}/models", self._guarded(self.list_models)),
        )

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> FakeResponse:
        kind, code = _ERROR_KINDS.get(
            status, ("internal_server_error" if status >= 500 else "invalid_request_error", None)
        )
        error: dict[str, Any] = {"message": message, "type": kind}
        if code is not None:
            error["code"] = code
        return FakeResponse.json_body({"error": error}, status, headers)

    def _guarded(self, handler: Any) -> Any:
        """Validation failures become Groq-shaped 400s, so handlers can simply raise."""

        def guarded(request: FakeRequest, state: ProviderState) -> FakeResponse:
            if request.method == "POST" and not isinstance(request.json, dict):
                return self.error_response(400, "We could not parse the JSON body of your request.")
            try:
                return handler(request, state)
            except _BadRequest as error:
                return self.error_response(400, str(error))

        return guarded

    # ----------------------------------------------------------------------------------- chat completions

    def chat_completions(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise _BadRequest("'messages' : minimum number of items is 1", "messages")
        if (_positive_int(body, "n", 1) or 1) != 1:
            raise _BadRequest("'n' : number must be at most 1", "n")
        prompt = _prompt(messages, body.get("tools"))
        cached = self._cached_tokens(request, state, model, prompt)
        answer = _Answer(body, model, messages, prompt)
        usage: dict[str, Any] = {
            "prompt_tokens": prompt.tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": prompt.tokens + answer.completion_tokens,
            **_timings(prompt.tokens, answer.completion_tokens),
        }
        if CACHING_MODELS.match(model) or cached:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        if answer.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": answer.reasoning_tokens}
        tier = body.get("service_tier")
        common = {
            "id": stable_id("chatcmpl-", body),
            "created": FIXED_TIMESTAMP,
            "model": model,
            "system_fingerprint": stable_id("fp_", model, length=10),
        }
        groq_id = stable_id("req_", body, length=26)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = self._chunks(common, groq_id, answer, usage, include_usage)
            return FakeResponse(200, _headers(request, True), self._sse(chunks))
        message: dict[str, Any] = {"role": "assistant", "content": answer.text}
        if answer.reasoning is not None:
            message["reasoning"] = answer.reasoning
        if answer.tool_call is not None:
            message["tool_calls"] = [answer.tool_call]
        payload = {
            **common,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish_reason}],
            "usage": usage,
            "usage_breakdown": None,
            "x_groq": {"id": groq_id},
            "service_tier": tier if isinstance(tier, str) and tier != "auto" else "on_demand",
        }
        return FakeResponse.json_body(payload, headers=_headers(request, False))

    @staticmethod
    def _cached_tokens(request: FakeRequest, state: ProviderState, model: str, prompt: _Prompt) -> int:
        observed = state.prompt_cache.observe(f"groq:{model}", prompt.blocks, prompt.tokens)
        forced = request.headers.get("x-fake-cached-tokens")
        if forced is not None:
            try:
                return max(0, min(int(forced), prompt.tokens))
            except ValueError:
                raise _BadRequest(f"x-fake-cached-tokens must be an integer, got {forced!r}") from None
        return observed if CACHING_MODELS.match(model) else 0

    @staticmethod
    def _chunks(
        common: Mapping[str, Any], groq_id: str, answer: _Answer, usage: dict[str, Any], include_usage: bool
    ) -> list[dict[str, Any]]:
        """Role chunk, reasoning and content deltas, then the finishing chunk that carries ``x_groq.usage``."""

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**common, "object": "chat.completion.chunk", "choices": [choice]}

        chunks = [{**chunk({"role": "assistant", "content": ""}), "x_groq": {"id": groq_id}}]
        for piece in split_chunks(answer.reasoning or "", 5):
            chunks.append(chunk({"reasoning": piece}))
        for piece in split_chunks(answer.text or ""):
            chunks.append(chunk({"content": piece}))
        if answer.tool_call is not None:
            chunks.append(chunk({"tool_calls": [{"index": 0, **answer.tool_call}]}))
        last = {**chunk({}, answer.finish_reason), "x_groq": {"id": groq_id, "usage": usage}}
        if include_usage:
            last["usage"] = usage
        chunks.append(last)
        return chunks

    @staticmethod
    def _sse(chunks: Sequence[Any]) -> Iterator[bytes]:
        for chunk in chunks:
            yield sse_event(chunk)
        yield sse_event("[DONE]")

    # ----------------------------------------------------------------------------------- embeddings, models

    def embeddings(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not texts or not all(isinstance(text, str) and text for text in texts):
            raise _BadRequest("'input' : must be a non-empty string or array of strings", "input")
        data = [
            {"object": "embedding", "index": index, "embedding": embedding_vector(text, EMBEDDING_DIMENSIONS)}
            for index, text in enumerate(texts)
        ]
        tokens = sum(count_tokens(text) for text in texts)
        payload = {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return FakeResponse.json_body(payload, headers=_headers(request, False))

    def list_models(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        models = [
            {"id": model, "object": "model", "created": FIXED_TIMESTAMP, "owned_by": "Groq", "active": True}
            for model in _MODELS
        ]
        return FakeResponse.json_body({"object": "list", "data": models}, headers=_headers(request, False))


PROTOCOL = GroqProtocol()
