"""The OpenAI wire format: chat completions, Responses API, legacy completions, embeddings, models.

Shapes follow what api.openai.com sends (field names, ``null`` fields, SSE framing, usage-only final chunk),
because the point of the fake is that the *real* SDK and real instrumentation parse it unchanged. Answers are
deterministic (see :mod:`otel_tokenomics.fake_provider.synthesis` for the token heuristic); only the prompt
cache memory makes a repeated request differ from its first occurrence, exactly as with the real service.

Behaviour worth knowing when writing tests:

* a request for a model alias answers with a dated snapshot (:data:`SNAPSHOTS`); other models are echoed;
* models matching ``^(o\\d|gpt-5)`` spend hidden reasoning tokens, counted inside the completion tokens;
* with ``tools`` and a final user message mentioning "weather", chat answers with a tool call;
* header ``x-fake-cached-tokens: N`` forces the reported cached input tokens;
* legacy completions default to ``max_tokens=16``, as the real endpoint does.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
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
    count_tokens,
    embedding_vector,
    generate_text,
    message_tokens,
    reasoning_tokens,
    seed_of,
    split_chunks,
    stable_id,
    truncate_to_tokens,
)

__all__ = [
    "DEFAULT_EMBEDDING_DIMENSIONS",
    "PROTOCOL",
    "REASONING_MODELS",
    "SNAPSHOTS",
    "OpenAIProtocol",
    "response_model",
]

#: Aliases the real API resolves to a dated snapshot in its responses.
SNAPSHOTS: dict[str, str] = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4-turbo": "gpt-4-turbo-2024-04-09",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "o1": "o1-2024-12-17",
    "o3": "o3-2025-04-16",
    "o3-mini": "o3-mini-2025-01-31",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
}
REASONING_MODELS = re.compile(r"^(o\d|gpt-5)")
DEFAULT_EMBEDDING_DIMENSIONS = 16
_LEGACY_DEFAULT_MAX_TOKENS = 16
_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini", "gpt-3.5-turbo-instruct", "text-embedding-3-small")
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    409: ("invalid_request_error", "conflict"),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


def response_model(model: str) -> str:
    """The model name a response reports for a requested ``model``."""
    return SNAPSHOTS.get(model, model)


class _BadRequest(Exception):
    """A validation failure, answered as a 400 with OpenAI's error body."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


# --------------------------------------------------------------------------------------------------- helpers


def _text_and_images(content: Any) -> tuple[str, int]:
    """Flatten message content (a string or content parts of either API) into text plus an image count."""
    if content is None:
        return "", 0
    if isinstance(content, str):
        return content, 0
    if isinstance(content, list):
        texts: list[str] = []
        images = 0
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type") in ("image_url", "input_image", "image"):
                images += 1
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict):
                texts.append(json.dumps(part, sort_keys=True))
        return "".join(texts), images
    return json.dumps(content, sort_keys=True), 0


def _message_text(message: Mapping[str, Any]) -> tuple[str, int]:
    """Everything in a message that costs tokens: content, tool calls, tool outputs."""
    text, images = _text_and_images(message.get("content"))
    for key in ("tool_calls", "function_call", "arguments", "output", "name"):
        if message.get(key) is not None:
            extra = message[key]
            text += extra if isinstance(extra, str) else json.dumps(extra, sort_keys=True)
    return text, images


@dataclass
class _Prompt:
    """A normalized prompt: its cache blocks (tools then messages) and its token count."""

    blocks: list[tuple[Any, int]]
    last_user_text: str | None

    @property
    def tokens(self) -> int:
        return REPLY_PRIMING + sum(tokens for _content, tokens in self.blocks)


def _prompt(messages: Sequence[Mapping[str, Any]], tools: Any = None) -> _Prompt:
    blocks: list[tuple[Any, int]] = []
    if tools:
        blocks.append((tools, count_tokens(json.dumps(tools, sort_keys=True))))
    for message in messages:
        text, images = _message_text(message)
        blocks.append((message, message_tokens(text, images)))
    last = messages[-1] if messages else {}
    last_user = _text_and_images(last.get("content"))[0] if last.get("role", "user") == "user" else None
    return _Prompt(blocks, last_user)


def _cached_tokens(request: FakeRequest, state: ProviderState, model: str, prompt: _Prompt) -> int:
    observed = state.prompt_cache.observe(f"openai:{model}", prompt.blocks, prompt.tokens)
    forced = request.headers.get("x-fake-cached-tokens")
    if forced is None:
        return observed
    try:
        return max(0, min(int(forced), prompt.tokens))
    except ValueError:
        raise _BadRequest(f"x-fake-cached-tokens must be an integer, got {forced!r}") from None


def _positive_int(body: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _BadRequest(f"Invalid '{name}': expected an integer >= 1, got {value!r}.", name)
    return value


def _require_model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _BadRequest("you must provide a model parameter", "model")
    return model


def _headers(request: FakeRequest, stream: bool) -> dict[str, str]:
    headers = {
        "x-request-id": stable_id("req_", request.path, request.json),
        "openai-processing-ms": "1",
        "openai-version": "2020-10-01",
    }
    if stream:
        headers.update({"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"})
    return headers


def _sse(chunks: Sequence[Any], done: bool = True) -> Iterator[bytes]:
    for chunk in chunks:
        yield sse_event(chunk)
    if done:
        yield sse_event("[DONE]")


@dataclass
class _Generation:
    """One answer (a chat choice, a Responses output, a completion choice) and what it cost."""

    text: str | None
    finish_reason: str
    reasoning: int = 0
    tool_call: dict[str, Any] | None = None

    @property
    def completion_tokens(self) -> int:
        visible = count_tokens(self.text or "")
        if self.tool_call is not None:
            visible += count_tokens(self.tool_call["function"]["name"] + self.tool_call["function"]["arguments"])
        return self.reasoning + visible


def _generate(seed: int, model: str, cap: int | None, effort: str | None = None) -> _Generation:
    """A deterministic answer capped at ``cap`` completion tokens (reasoning included, as OpenAI counts)."""
    full = generate_text(seed)
    planned_reasoning = reasoning_tokens(seed, effort) if REASONING_MODELS.match(model) else 0
    if cap is None:
        return _Generation(full, "stop", planned_reasoning)
    reasoning = min(planned_reasoning, cap)
    text = truncate_to_tokens(full, cap - reasoning)
    truncated = reasoning < planned_reasoning or text != full
    return _Generation(text, "length" if truncated else "stop", reasoning)


def _argument_value(name: str, schema: Mapping[str, Any], prompt: str) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    if name.lower() in ("location", "city", "place", "where"):
        found = re.search(r"\bin ([A-Z][\w-]*(?: [A-Z][\w-]*)*)", prompt)
        return found.group(1) if found else "San Francisco"
    return "fake"


def _tool_call(body: Mapping[str, Any], prompt: _Prompt, seed: int) -> dict[str, Any] | None:
    """The tool call chat answers with, or ``None``: forced by ``tool_choice`` or triggered by "weather"."""
    functions = [
        tool["function"]
        for tool in body.get("tools") or []
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("function"), dict)
    ]
    choice = body.get("tool_choice", "auto")
    if not functions or choice == "none":
        return None
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        functions = [function for function in functions if function.get("name") == wanted] or functions
    elif choice != "required" and not re.search(r"\bweather\b", prompt.last_user_text or "", re.IGNORECASE):
        return None
    function = functions[0]
    parameters = function.get("parameters") or {}
    properties = parameters.get("properties") or {}
    names = parameters.get("required") or list(properties)
    text = prompt.last_user_text or ""
    arguments = {name: _argument_value(name, properties.get(name) or {}, text) for name in names}
    return {
        "id": stable_id("call_", seed, function.get("name")),
        "type": "function",
        "function": {"name": str(function.get("name")), "arguments": json.dumps(arguments)},
    }


def _chat_usage(prompt_tokens: int, cached: int, generations: Sequence[_Generation]) -> dict[str, Any]:
    completion = sum(generation.completion_tokens for generation in generations)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": sum(generation.reasoning for generation in generations),
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _service_tier(body: Mapping[str, Any]) -> str:
    tier = body.get("service_tier")
    return tier if isinstance(tier, str) and tier != "auto" else "default"


# --------------------------------------------------------------------------------------------------- protocol


class OpenAIProtocol(Protocol):
    """Routes under ``/v1`` answering like api.openai.com."""

    name = "openai"

    def __init__(self) -> None:
        self.routes = (
            Route("POST", r"/v1/chat/completions", self._guarded(self.chat_completions)),
            Route("POST", r"/v1/responses", self._guarded(self.responses)),
            Route("POST", r"/v1/completions", self._guarded(self.completions)),
            Route("POST", r"/v1/embeddings", self._guarded(self.embeddings)),
            Route("GET", r"/v1/models", self._guarded(self.list_models)),
            Route("GET", r"/v1/models/(?P<model_id>[^/]+)", self._guarded(self.retrieve_model)),
        )

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> FakeResponse:
        return self._error(status, message, None, headers)

    def _error(
        self, status: int, message: str, param: str | None, headers: Mapping[str, str] | None = None
    ) -> FakeResponse:
        kind, code = _ERROR_KINDS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
        body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
        return FakeResponse.json_body(body, status, headers)

    def _guarded(self, handler: Any) -> Any:
        """Turn validation failures into OpenAI-shaped 400s so handlers can simply raise."""

        def guarded(request: FakeRequest, state: ProviderState) -> FakeResponse:
            if request.method == "POST" and not isinstance(request.json, dict):
                return self._error(400, "We could not parse the JSON body of your request.", None)
            try:
                return handler(request, state)
            except _BadRequest as error:
                return self._error(400, str(error), error.param)

        return guarded

    # ----------------------------------------------------------------------------------- chat completions

    def chat_completions(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise _BadRequest("'messages' must be a non-empty array of message objects.", "messages")
        n = _positive_int(body, "n", 1) or 1
        cap = _positive_int(body, "max_completion_tokens") or _positive_int(body, "max_tokens")
        effort = body.get("reasoning_effort")
        prompt = _prompt(messages, body.get("tools"))
        cached = _cached_tokens(request, state, model, prompt)
        generations: list[_Generation] = []
        for index in range(n):
            seed = seed_of("chat", model, messages, index)
            call = _tool_call(body, prompt, seed)
            if call is None:
                generations.append(_generate(seed, model, cap, effort))
            else:
                generations.append(_Generation(None, "tool_calls", tool_call=call))
        usage = _chat_usage(prompt.tokens, cached, generations)
        common = {
            "id": stable_id("chatcmpl-", body),
            "created": FIXED_TIMESTAMP,
            "model": response_model(model),
            "service_tier": _service_tier(body),
            "system_fingerprint": stable_id("fp_", model, length=10),
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = self._chat_chunks(common, generations, usage if include_usage else None)
            return FakeResponse(200, _headers(request, True), _sse(chunks))
        choices = []
        for index, generation in enumerate(generations):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": generation.text,
                "refusal": None,
                "annotations": [],
            }
            if generation.tool_call is not None:
                message["tool_calls"] = [generation.tool_call]
            choices.append(
                {
                    "index": index,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": generation.finish_reason,
                }
            )
        payload = {"object": "chat.completion", **common, "choices": choices, "usage": usage}
        return FakeResponse.json_body(payload, headers=_headers(request, False))

    @staticmethod
    def _chat_chunks(
        common: Mapping[str, Any], generations: Sequence[_Generation], usage: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """``chat.completion.chunk`` objects: role, deltas, finish per choice, then the usage-only chunk."""

        def chunk(choices: list[dict[str, Any]]) -> dict[str, Any]:
            shaped = {**common, "object": "chat.completion.chunk", "choices": choices}
            if usage is not None:
                shaped["usage"] = None
            return shaped

        def delta(index: int, content: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"index": index, "delta": content, "logprobs": None, "finish_reason": finish}

        chunks: list[dict[str, Any]] = []
        for index, generation in enumerate(generations):
            chunks.append(chunk([delta(index, {"role": "assistant", "content": "", "refusal": None})]))
            for piece in split_chunks(generation.text or ""):
                chunks.append(chunk([delta(index, {"content": piece})]))
            if generation.tool_call is not None:
                call = generation.tool_call
                head = {"index": 0, "id": call["id"], "type": "function"}
                head["function"] = {"name": call["function"]["name"], "arguments": ""}
                chunks.append(chunk([delta(index, {"tool_calls": [head]})]))
                for piece in split_chunks(call["function"]["arguments"], 5):
                    tail = {"index": 0, "function": {"arguments": piece}}
                    chunks.append(chunk([delta(index, {"tool_calls": [tail]})]))
            chunks.append(chunk([delta(index, {}, generation.finish_reason)]))
        if usage is not None:
            chunks.append({**common, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        return chunks

    # ----------------------------------------------------------------------------------- responses API

    def responses(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        raw_input = body.get("input")
        if isinstance(raw_input, str):
            items: list[dict[str, Any]] = [{"role": "user", "content": raw_input}]
        elif isinstance(raw_input, list) and raw_input and all(isinstance(item, dict) for item in raw_input):
            items = list(raw_input)
        else:
            raise _BadRequest("'input' must be a string or a non-empty array of input items.", "input")
        instructions = body.get("instructions")
        messages = ([{"role": "system", "content": instructions}] if instructions else []) + items
        prompt = _prompt(messages, body.get("tools"))
        cached = _cached_tokens(request, state, model, prompt)
        cap = _positive_int(body, "max_output_tokens")
        effort = (body.get("reasoning") or {}).get("effort")
        seed = seed_of("responses", model, messages)
        generation = _generate(seed, model, cap, effort)
        response_id = stable_id("resp_", body, length=48)
        message_item = {
            "id": stable_id("msg_", response_id, length=48),
            "type": "message",
            "status": "completed" if generation.finish_reason == "stop" else "incomplete",
            "role": "assistant",
            "content": [{"type": "output_text", "text": generation.text, "annotations": [], "logprobs": []}],
        }
        output: list[dict[str, Any]] = []
        if REASONING_MODELS.match(model):
            output.append({"id": stable_id("rs_", response_id, length=48), "type": "reasoning", "summary": []})
        output.append(message_item)
        usage = {
            "input_tokens": prompt.tokens,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": generation.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": generation.reasoning},
            "total_tokens": prompt.tokens + generation.completion_tokens,
        }
        complete = generation.finish_reason == "stop"
        final = {
            "id": response_id,
            "object": "response",
            "created_at": FIXED_TIMESTAMP,
            "status": "completed" if complete else "incomplete",
            "background": False,
            "error": None,
            "incomplete_details": None if complete else {"reason": "max_output_tokens"},
            "instructions": instructions,
            "max_output_tokens": cap,
            "model": response_model(model),
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": effort, "summary": None},
            "service_tier": _service_tier(body),
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": body.get("metadata") or {},
        }
        if body.get("stream"):
            return FakeResponse(200, _headers(request, True), self._response_events(final))
        return FakeResponse.json_body(final, headers=_headers(request, False))

    @staticmethod
    def _response_events(final: dict[str, Any]) -> Iterator[bytes]:
        """The Responses API event sequence: SSE ``event:`` + ``data:`` pairs with sequence numbers."""
        pending = {**final, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": pending},
            {"type": "response.in_progress", "response": pending},
        ]
        for output_index, item in enumerate(final["output"]):
            if item["type"] != "message":
                events.append({"type": "response.output_item.added", "output_index": output_index, "item": item})
                events.append({"type": "response.output_item.done", "output_index": output_index, "item": item})
                continue
            text = item["content"][0]["text"]
            where = {"item_id": item["id"], "output_index": output_index, "content_index": 0}
            empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            opened = {**item, "status": "in_progress", "content": []}
            events.append({"type": "response.output_item.added", "output_index": output_index, "item": opened})
            events.append({"type": "response.content_part.added", **where, "part": empty_part})
            for piece in split_chunks(text):
                events.append({"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []})
            events.append({"type": "response.output_text.done", **where, "text": text, "logprobs": []})
            events.append({"type": "response.content_part.done", **where, "part": item["content"][0]})
            events.append({"type": "response.output_item.done", "output_index": output_index, "item": item})
        closing = "response.completed" if final["status"] == "completed" else "response.incomplete"
        events.append({"type": closing, "response": final})
        for number, event in enumerate(events):
            yield sse_event({"type": event["type"], "sequence_number": number, **event}, event=event["type"])

    # ----------------------------------------------------------------------------------- legacy completions

    def completions(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        prompts = self._legacy_prompts(body.get("prompt"))
        n = _positive_int(body, "n", 1) or 1
        cap = _positive_int(body, "max_tokens", _LEGACY_DEFAULT_MAX_TOKENS)
        prompt_tokens = sum(tokens for _text, tokens in prompts)
        choices: list[tuple[int, _Generation]] = []
        for prompt_index, (text, _tokens) in enumerate(prompts):
            for index in range(n):
                generation = _generate(seed_of("completion", model, text, index), model, cap)
                choices.append((prompt_index * n + index, generation))
        generations = [generation for _index, generation in choices]
        completion_tokens = sum(generation.completion_tokens for generation in generations)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        common = {
            "id": stable_id("cmpl-", body),
            "object": "text_completion",
            "created": FIXED_TIMESTAMP,
            "model": response_model(model),
            "system_fingerprint": None,
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks: list[dict[str, Any]] = []
            for index, generation in choices:
                pieces = split_chunks(generation.text or "")
                for number, piece in enumerate(pieces):
                    finish = generation.finish_reason if number == len(pieces) - 1 else None
                    choice = {"text": piece, "index": index, "logprobs": None, "finish_reason": finish}
                    chunks.append({**common, "choices": [choice]})
                if not pieces:
                    choice = {
                        "text": "",
                        "index": index,
                        "logprobs": None,
                        "finish_reason": generation.finish_reason,
                    }
                    chunks.append({**common, "choices": [choice]})
            if include_usage:
                chunks = [{**chunk, "usage": None} for chunk in chunks]
                chunks.append({**common, "choices": [], "usage": usage})
            return FakeResponse(200, _headers(request, True), _sse(chunks))
        payload = {
            **common,
            "choices": [
                {
                    "text": generation.text,
                    "index": index,
                    "logprobs": None,
                    "finish_reason": generation.finish_reason,
                }
                for index, generation in choices
            ],
            "usage": usage,
        }
        return FakeResponse.json_body(payload, headers=_headers(request, False))

    @staticmethod
    def _legacy_prompts(prompt: Any) -> list[tuple[Any, int]]:
        """``(content, tokens)`` per prompt: a string, strings, a token array or token arrays."""
        if isinstance(prompt, str):
            return [(prompt, count_tokens(prompt))]
        if isinstance(prompt, list) and prompt:
            if all(isinstance(item, int) for item in prompt):
                return [(prompt, len(prompt))]
            if all(isinstance(item, str) for item in prompt):
                return [(item, count_tokens(item)) for item in prompt]
            if all(isinstance(item, list) for item in prompt):
                return [(item, len(item)) for item in prompt]
        raise _BadRequest("'prompt' must be a string, strings, or token arrays.", "prompt")

    # ----------------------------------------------------------------------------------- embeddings, models

    def embeddings(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        raw = body.get("input")
        texts: list[tuple[str, int]]
        if isinstance(raw, str) and raw:
            texts = [(raw, count_tokens(raw))]
        elif isinstance(raw, list) and raw and all(isinstance(item, int) for item in raw):
            texts = [(json.dumps(raw), len(raw))]
        elif isinstance(raw, list) and raw and all(isinstance(item, str) and item for item in raw):
            texts = [(item, count_tokens(item)) for item in raw]
        elif isinstance(raw, list) and raw and all(isinstance(item, list) and item for item in raw):
            texts = [(json.dumps(item), len(item)) for item in raw]
        else:
            raise _BadRequest("'input' must be a non-empty string, strings, or token arrays.", "input")
        dimensions = _positive_int(body, "dimensions", DEFAULT_EMBEDDING_DIMENSIONS) or 1
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise _BadRequest("'encoding_format' must be 'float' or 'base64'.", "encoding_format")
        data = []
        for index, (text, _tokens) in enumerate(texts):
            vector = embedding_vector(text, dimensions)
            encoded: Any = vector
            if encoding == "base64":
                encoded = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(count for _text, count in texts)
        payload = {
            "object": "list",
            "data": data,
            "model": response_model(model),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return FakeResponse.json_body(payload, headers=_headers(request, False))

    @staticmethod
    def _model_entry(model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": FIXED_TIMESTAMP, "owned_by": "system"}

    def list_models(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        payload = {"object": "list", "data": [self._model_entry(model) for model in _MODELS]}
        return FakeResponse.json_body(payload, headers=_headers(request, False))

    def retrieve_model(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        model = request.path_params["model_id"]
        if model not in _MODELS and model not in SNAPSHOTS.values():
            return self._error(404, f"The model '{model}' does not exist", "model")
        return FakeResponse.json_body(self._model_entry(model), headers=_headers(request, False))


PROTOCOL = OpenAIProtocol()
