"""The Ollama wire format: ``/api/chat``, ``/api/generate``, ``/api/embed`` and the legacy ``/api/embeddings``.

Shapes follow what a local ``ollama serve`` answers, so the real ``ollama`` SDK parses them unchanged:

* plain answers are one JSON object; streams (the server's default, ``"stream": true``) are NDJSON — one JSON
  object per line, ``application/x-ndjson`` — whose last line has ``"done": true``, the ``done_reason`` and the
  counts and durations;
* token counts are ``prompt_eval_count`` (input) and ``eval_count`` (output, thinking included); durations are
  integer nanoseconds (``total_duration``, ``load_duration``, ``prompt_eval_duration``, ``eval_duration``),
  deterministic here (a fixed rate per token);
* ``options.num_predict`` caps the output (``done_reason: "length"``); ``think`` on a thinking model
  (:data:`THINKING_MODELS`) adds ``message.thinking`` (chat) or ``thinking`` (generate), counted in ``eval_count``;
* a ``tools`` request whose last user message mentions "weather" answers with a tool call (arguments as an object);
* errors are ``{"error": "..."}``; an unknown route is a 404 with that shape as well.

There is no prompt cache: Ollama reports no cached-token counts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from otel_tokenomics.fake_provider.protocols import FakeRequest, FakeResponse, Protocol, ProviderState, Route
from otel_tokenomics.fake_provider.protocols.openai import _prompt, _tool_call
from otel_tokenomics.fake_provider.synthesis import (
    count_tokens,
    embedding_vector,
    generate_text,
    reasoning_tokens,
    seed_of,
    split_chunks,
    truncate_to_tokens,
)

__all__ = ["CREATED_AT", "EMBEDDING_DIMENSIONS", "PROTOCOL", "THINKING_MODELS", "OllamaProtocol"]

THINKING_MODELS = re.compile(r"^(qwen3|deepseek-r1|gpt-oss|magistral)")
EMBEDDING_DIMENSIONS = 16
#: Every ``created_at`` (the synthesis module's fixed timestamp, 2025-01-01T00:00:00Z, in Ollama's format).
CREATED_AT = "2025-01-01T00:00:00.000000Z"
_LOAD_NS = 2_000_000
_PROMPT_NS_PER_TOKEN = 50_000
_EVAL_NS_PER_TOKEN = 20_000_000
_NDJSON = {"content-type": "application/x-ndjson"}


class _BadRequest(Exception):
    """A validation failure, answered as a 400 ``{"error": ...}``."""


def _require_model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _BadRequest("model is required")
    return model


def _num_predict(body: Mapping[str, Any]) -> int | None:
    options = body.get("options") or {}
    value = options.get("num_predict") if isinstance(options, dict) else None
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _BadRequest("option num_predict must be an integer")
    return value if value >= 0 else None  # -1 means "no limit" to Ollama


def _durations(prompt_tokens: int, eval_tokens: int) -> dict[str, int]:
    prompt_ns = prompt_tokens * _PROMPT_NS_PER_TOKEN
    eval_ns = eval_tokens * _EVAL_NS_PER_TOKEN
    return {
        "total_duration": _LOAD_NS + prompt_ns + eval_ns,
        "load_duration": _LOAD_NS,
        "prompt_eval_duration": prompt_ns,
        "eval_duration": eval_ns,
    }


class _Answer:
    """The text (or tool call) and thinking of one answer, capped at ``num_predict`` tokens."""

    def __init__(self, body: Mapping[str, Any], model: str, seed: int, tool_call: dict[str, Any] | None) -> None:
        cap = _num_predict(body)
        self.thinking: str | None = None
        if body.get("think") and THINKING_MODELS.match(model):
            effort = body["think"] if isinstance(body["think"], str) else None
            planned = reasoning_tokens(seed, effort)
            self.thinking = truncate_to_tokens(generate_text(seed + 1, 200, 260), min(planned, cap or planned))
        thinking_tokens = count_tokens(self.thinking or "")
        self.tool_call = tool_call
        self.done_reason = "stop"
        if tool_call is not None:
            self.text = ""
            self.eval_count = thinking_tokens + count_tokens(json.dumps(tool_call))
            return
        full = generate_text(seed)
        self.text = full if cap is None else truncate_to_tokens(full, max(cap - thinking_tokens, 0))
        if self.text != full:
            self.done_reason = "length"
        self.eval_count = thinking_tokens + count_tokens(self.text)


def _ndjson(parts: Sequence[Mapping[str, Any]]) -> Iterator[bytes]:
    for part in parts:
        yield json.dumps(part, separators=(",", ":")).encode() + b"\n"


class OllamaProtocol(Protocol):
    """Routes under ``/api`` answering like a local Ollama server."""

    name = "ollama"

    def __init__(self) -> None:
        self.routes = (
            Route("POST", r"/api/chat", self._guarded(self.chat)),
            Route("POST", r"/api/generate", self._guarded(self.generate)),
            Route("POST", r"/api/embed", self._guarded(self.embed)),
            Route("POST", r"/api/embeddings", self._guarded(self.embeddings)),
            Route("GET", r"/api/version", self._guarded(self.version)),
        )

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> FakeResponse:
        return FakeResponse.json_body({"error": message}, status, headers)

    def _guarded(self, handler: Any) -> Any:
        def guarded(request: FakeRequest, state: ProviderState) -> FakeResponse:
            if request.method == "POST" and not isinstance(request.json, dict):
                return self.error_response(400, "invalid character looking for beginning of value")
            try:
                return handler(request, state)
            except _BadRequest as error:
                return self.error_response(400, str(error))

        return guarded

    # ----------------------------------------------------------------------------------- chat, generate

    def chat(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        messages = body.get("messages") or []
        if not isinstance(messages, list) or not all(isinstance(message, dict) for message in messages):
            raise _BadRequest("messages must be an array of message objects")
        prompt = _prompt(messages, body.get("tools"))
        seed = seed_of("ollama-chat", model, messages)
        call = _tool_call(body, prompt, seed)
        tool_call = (
            None
            if call is None
            else {
                "function": {"name": call["function"]["name"], "arguments": json.loads(call["function"]["arguments"])}
            }
        )
        answer = _Answer(body, model, seed, tool_call)

        def message(content: str, thinking: str | None = None, with_call: bool = False) -> dict[str, Any]:
            shaped: dict[str, Any] = {"role": "assistant", "content": content}
            if thinking:
                shaped["thinking"] = thinking
            if with_call and answer.tool_call is not None:
                shaped["tool_calls"] = [answer.tool_call]
            return shaped

        final = self._final(answer, prompt.tokens)
        if body.get("stream", True) is False:
            part = {"model": model, "created_at": CREATED_AT, "message": message(answer.text, answer.thinking, True)}
            return FakeResponse.json_body({**part, **final})
        parts: list[dict[str, Any]] = []
        for piece in split_chunks(answer.thinking or "", 5):
            parts.append({"model": model, "created_at": CREATED_AT, "message": message("", piece), "done": False})
        for piece in split_chunks(answer.text):
            parts.append({"model": model, "created_at": CREATED_AT, "message": message(piece), "done": False})
        if answer.tool_call is not None:
            parts.append(
                {"model": model, "created_at": CREATED_AT, "message": message("", with_call=True), "done": False}
            )
        parts.append({"model": model, "created_at": CREATED_AT, "message": message(""), **final})
        return FakeResponse(200, dict(_NDJSON), _ndjson(parts))

    def generate(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        prompt_text = body.get("prompt") or ""
        system = body.get("system") or ""
        if not isinstance(prompt_text, str) or not isinstance(system, str):
            raise _BadRequest("prompt and system must be strings")
        if not prompt_text and not system:  # Ollama just loads the model
            final = {"done": True, "done_reason": "load"}
            part = {"model": model, "created_at": CREATED_AT, "response": "", **final}
            if body.get("stream", True) is False:
                return FakeResponse.json_body(part)
            return FakeResponse(200, dict(_NDJSON), _ndjson([part]))
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt_text})
        prompt_tokens = _prompt(messages).tokens
        answer = _Answer(body, model, seed_of("ollama-generate", model, messages), None)
        context = list(range(1, prompt_tokens + answer.eval_count + 1))[:64]
        final = {**self._final(answer, prompt_tokens), "context": context}
        if body.get("stream", True) is False:
            part: dict[str, Any] = {"model": model, "created_at": CREATED_AT, "response": answer.text}
            if answer.thinking:
                part["thinking"] = answer.thinking
            return FakeResponse.json_body({**part, **final})
        parts: list[dict[str, Any]] = []
        for piece in split_chunks(answer.thinking or "", 5):
            parts.append({"model": model, "created_at": CREATED_AT, "response": "", "thinking": piece, "done": False})
        for piece in split_chunks(answer.text):
            parts.append({"model": model, "created_at": CREATED_AT, "response": piece, "done": False})
        parts.append({"model": model, "created_at": CREATED_AT, "response": "", **final})
        return FakeResponse(200, dict(_NDJSON), _ndjson(parts))

    @staticmethod
    def _final(answer: _Answer, prompt_tokens: int) -> dict[str, Any]:
        """The fields of the last (or only) object: done, reason, durations and counts."""
        return {
            "done": True,
            "done_reason": answer.done_reason,
            **_durations(prompt_tokens, answer.eval_count),
            "prompt_eval_count": prompt_tokens,
            "eval_count": answer.eval_count,
        }

    # ----------------------------------------------------------------------------------- embeddings, version

    def embed(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise _BadRequest("invalid input type")
        dimensions = body.get("dimensions") or EMBEDDING_DIMENSIONS
        tokens = sum(count_tokens(text) for text in texts)
        payload = {
            "model": model,
            "embeddings": [embedding_vector(text, dimensions) for text in texts],
            "total_duration": _LOAD_NS + tokens * _PROMPT_NS_PER_TOKEN,
            "load_duration": _LOAD_NS,
            "prompt_eval_count": tokens,
        }
        return FakeResponse.json_body(payload)

    def embeddings(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        _require_model(body)
        prompt = body.get("prompt") or ""
        vector = embedding_vector(prompt, EMBEDDING_DIMENSIONS) if prompt else []
        return FakeResponse.json_body({"embedding": vector})

    def version(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        return FakeResponse.json_body({"version": "0.12.0"})


PROTOCOL = OllamaProtocol()
