"""The Anthropic Messages wire format: ``POST /v1/messages`` (JSON and SSE), token counting, Vertex AI routes.

Shapes follow what api.anthropic.com sends, so the real ``anthropic`` SDK parses them unchanged: a ``Message``
object, or the SSE sequence ``message_start``, ``content_block_start``, ``ping``, ``content_block_delta`` x N,
``content_block_stop``, ``message_delta`` (stop reason and the cumulative ``output_tokens``), ``message_stop``.
Errors use Anthropic's body (``{"type": "error", "error": {"type": ..., "message": ...}}``).

Token accounting mirrors Anthropic's, which is what instrumentation tests exist to check: ``input_tokens``
*excludes* the cache counts. A request that marks blocks with ``cache_control`` (or sets the request-level
``cache_control``) caches the prompt prefix up to the last marked block once it is at least
:data:`~otel_tokenomics.fake_provider.synthesis.MIN_CACHEABLE_TOKENS` long: the first call reports it as
``cache_creation_input_tokens`` (split by TTL in ``usage.cache_creation``), a repeat as
``cache_read_input_tokens``. Other behaviour worth knowing when writing tests:

* aliases answer with a dated snapshot (:data:`SNAPSHOTS`); other models are echoed;
* ``max_tokens`` caps the answer (``stop_reason: "max_tokens"``); a ``stop_sequences`` entry found in the
  answer cuts it there (``"stop_sequence"``);
* with ``tools`` and a last user message mentioning "weather" (or a forcing ``tool_choice``), the answer is a
  ``tool_use`` block;
* Vertex AI's ``/projects/{p}/locations/{r}/publishers/anthropic/models/{model}:rawPredict`` and
  ``:streamRawPredict`` (model in the URL, ``anthropic_version`` in the body) answer the same way.

:func:`message_response` and :func:`message_events` are public so that a Bedrock protocol can answer
``InvokeModel`` for ``anthropic.*`` models with the same bodies inside its own framing.
"""

from __future__ import annotations

import json
import re
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
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD,
    MIN_CACHEABLE_TOKENS,
    count_tokens,
    generate_text,
    seed_of,
    split_chunks,
    stable_id,
    truncate_to_tokens,
)

__all__ = [
    "PROTOCOL",
    "SNAPSHOTS",
    "AnthropicProtocol",
    "message_events",
    "message_response",
    "response_model",
]

#: Aliases the real API resolves to a dated snapshot in its responses.
SNAPSHOTS: dict[str, str] = {
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
    "claude-opus-4-0": "claude-opus-4-20250514",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
}
_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_VERTEX_MESSAGES = (
    r"(?:/v1)?/projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)/publishers/anthropic/models/"
    r"(?P<model>[^/:]+):(?P<specifier>rawPredict|streamRawPredict)"
)


def response_model(model: str) -> str:
    """The model name a response reports for a requested ``model``."""
    return SNAPSHOTS.get(model, model)


class _BadRequest(Exception):
    """A validation failure, answered as a 400 with Anthropic's error body."""


# --------------------------------------------------------------------------------------------------- prompt


def _block_text(block: Any) -> tuple[str, int]:
    """Text that costs tokens in one content block, plus its image count."""
    if isinstance(block, str):
        return block, 0
    if not isinstance(block, dict):
        return json.dumps(block, sort_keys=True, default=str), 0
    kind = block.get("type")
    if kind in ("image", "document"):
        return "", 1
    if isinstance(block.get("text"), str):
        return block["text"], 0
    if kind == "tool_use":
        return str(block.get("name", "")) + json.dumps(block.get("input"), sort_keys=True), 0
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return "".join(_block_text(part)[0] for part in content), 0
        return str(content or ""), 0
    return json.dumps(block, sort_keys=True), 0


def _content_blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return content
    raise _BadRequest("messages: content must be a string or an array of content blocks")


@dataclass
class _Prompt:
    """The prompt as cacheable blocks (tools, system, then message blocks) in Anthropic's cache order."""

    blocks: list[tuple[Any, int]]
    marks: list[tuple[int, str]]  # (block index, ttl) of every cache_control breakpoint
    last_user_text: str

    @property
    def tokens(self) -> int:
        return sum(tokens for _content, tokens in self.blocks)


def _mark(prompt_marks: list[tuple[int, str]], index: int, block: Any) -> None:
    control = block.get("cache_control") if isinstance(block, dict) else None
    if isinstance(control, dict):
        prompt_marks.append((index, "1h" if control.get("ttl") == "1h" else "5m"))


def _prompt(body: Mapping[str, Any]) -> _Prompt:
    blocks: list[tuple[Any, int]] = []
    marks: list[tuple[int, str]] = []
    for tool in body.get("tools") or []:
        _mark(marks, len(blocks), tool)
        blocks.append((tool, count_tokens(json.dumps(tool, sort_keys=True))))
    system = body.get("system")
    if system is not None:
        for block in _content_blocks(system):
            _mark(marks, len(blocks), block)
            blocks.append((("system", block), count_tokens(_block_text(block)[0])))
    last_user_text = ""
    for message in body["messages"]:
        role = message.get("role")
        content_blocks = _content_blocks(message.get("content"))
        for position, block in enumerate(content_blocks):
            text, images = _block_text(block)
            overhead = MESSAGE_OVERHEAD if position == 0 else 0
            _mark(marks, len(blocks), block)
            blocks.append(((role, block), overhead + count_tokens(text) + images * IMAGE_TOKENS))
        if role == "user":
            last_user_text = "".join(_block_text(block)[0] for block in content_blocks)
    top_level = body.get("cache_control")
    if isinstance(top_level, dict) and blocks:  # automatic caching: breakpoint on the last block
        marks.append((len(blocks) - 1, "1h" if top_level.get("ttl") == "1h" else "5m"))
    return _Prompt(blocks, marks, last_user_text)


@dataclass(frozen=True)
class _CacheUse:
    read: int = 0
    write_5m: int = 0
    write_1h: int = 0


def _cache_use(state: ProviderState, namespace: str, prompt: _Prompt) -> _CacheUse:
    """Anthropic's explicit caching: the prefix up to the last breakpoint is written once, then read."""
    if not prompt.marks:
        return _CacheUse()
    last, ttl = max(prompt.marks)
    prefix = prompt.blocks[: last + 1]
    prefix_tokens = sum(tokens for _content, tokens in prefix)
    if prefix_tokens < MIN_CACHEABLE_TOKENS:
        return _CacheUse()
    # The shared memory answers "seen before?" for a one-block prefix; its OpenAI-style rounding is not used.
    key = [block for block, _tokens in prefix]
    seen = state.prompt_cache.observe(namespace, [(key, prefix_tokens), ("anthropic-tail", 0)], prefix_tokens)
    if seen:
        return _CacheUse(read=prefix_tokens)
    return _CacheUse(write_1h=prefix_tokens) if ttl == "1h" else _CacheUse(write_5m=prefix_tokens)


# --------------------------------------------------------------------------------------------------- answer


def _positive_int(body: Mapping[str, Any], name: str, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise _BadRequest(f"{name}: Field required")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _BadRequest(f"{name}: Input should be a valid integer greater than or equal to 1")
    return value


def _validate(body: Mapping[str, Any]) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise _BadRequest("messages: at least one message is required")
    for message in messages:
        if message.get("role") not in ("user", "assistant"):
            raise _BadRequest("messages: roles must be 'user' or 'assistant'")
    _positive_int(body, "max_tokens", required=True)


def _tool_use(body: Mapping[str, Any], prompt: _Prompt, seed: int) -> dict[str, Any] | None:
    tools = [tool for tool in body.get("tools") or [] if isinstance(tool, dict) and tool.get("name")]
    choice = body.get("tool_choice") or {"type": "auto"}
    kind = choice.get("type") if isinstance(choice, dict) else "auto"
    if not tools or kind == "none":
        return None
    if kind == "tool":
        tools = [tool for tool in tools if tool.get("name") == choice.get("name")] or tools
    elif kind != "any" and not re.search(r"\bweather\b", prompt.last_user_text, re.IGNORECASE):
        return None
    tool = tools[0]
    schema = tool.get("input_schema") or {}
    names = schema.get("required") or list(schema.get("properties") or {})
    found = re.search(r"\bin ([A-Z][\w-]*(?: [A-Z][\w-]*)*)", prompt.last_user_text)
    arguments = {name: (found.group(1) if found else "San Francisco") for name in names}
    return {"type": "tool_use", "id": stable_id("toolu_", seed, tool["name"]), "name": tool["name"], "input": arguments}


def _answer(body: Mapping[str, Any], model: str, prompt: _Prompt) -> tuple[list[dict[str, Any]], str, Any, int]:
    """(content blocks, stop_reason, stop_sequence, output tokens) for a validated request."""
    cap = _positive_int(body, "max_tokens", required=True) or 1
    seed = seed_of("anthropic", model, body.get("system"), body["messages"])
    call = _tool_use(body, prompt, seed)
    if call is not None:
        tokens = count_tokens(call["name"] + json.dumps(call["input"]))
        return [call], "tool_use", None, tokens
    text = generate_text(seed)
    stop_reason, stop_sequence = "end_turn", None
    for sequence in body.get("stop_sequences") or []:
        if isinstance(sequence, str) and sequence and sequence in text:
            text = text[: text.index(sequence)]
            stop_reason, stop_sequence = "stop_sequence", sequence
    capped = truncate_to_tokens(text, cap)
    if capped != text:
        text, stop_reason, stop_sequence = capped, "max_tokens", None
    return [{"type": "text", "text": text}], stop_reason, stop_sequence, count_tokens(text)


def message_response(body: Mapping[str, Any], model: str, state: ProviderState) -> dict[str, Any]:
    """The complete ``Message`` answering a Messages request ``body`` for ``model``.

    Raises ``ValueError`` (with the API's message) for an invalid request; also used by other protocols that
    carry Anthropic bodies (Bedrock ``InvokeModel``).
    """
    try:
        _validate(body)
        prompt = _prompt(body)
        cache = _cache_use(state, f"anthropic:{model}", prompt)
        content, stop_reason, stop_sequence, output_tokens = _answer(body, model, prompt)
    except _BadRequest as error:
        raise ValueError(str(error)) from None
    written = cache.write_5m + cache.write_1h
    usage = {
        "input_tokens": prompt.tokens - cache.read - written,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cache.read,
        "cache_creation": {"ephemeral_5m_input_tokens": cache.write_5m, "ephemeral_1h_input_tokens": cache.write_1h},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }
    return {
        "id": stable_id("msg_", model, dict(body)),
        "type": "message",
        "role": "assistant",
        "model": response_model(model),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }


def message_events(message: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The ``(event name, data)`` pairs that stream ``message``, as the Messages API sends them."""
    usage = dict(message["usage"])
    opening = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    opening["usage"] = {**usage, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": opening})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            pieces = [{"type": "text_delta", "text": piece} for piece in split_chunks(block["text"])]
        else:
            start = {**block, "input": {}}
            arguments = json.dumps(block["input"])
            pieces = [{"type": "input_json_delta", "partial_json": p} for p in split_chunks(arguments, 5)]
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}))
        if index == 0:
            events.append(("ping", {"type": "ping"}))
        for delta in pieces:
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    closing_delta = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
    events.append(
        (
            "message_delta",
            {"type": "message_delta", "delta": closing_delta, "usage": {"output_tokens": usage["output_tokens"]}},
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _sse(events: Sequence[tuple[str, dict[str, Any]]]) -> Iterator[bytes]:
    for name, data in events:
        yield sse_event(data, event=name)


# --------------------------------------------------------------------------------------------------- protocol


class AnthropicProtocol(Protocol):
    """Routes answering like api.anthropic.com, plus Anthropic-on-Vertex ``rawPredict`` routes."""

    name = "anthropic"

    def __init__(self) -> None:
        self.routes = (
            Route("POST", r"/v1/messages", self._guarded(self.messages)),
            Route("POST", r"/v1/messages/count_tokens", self._guarded(self.count_tokens)),
            Route(
                "POST",
                r"(?:/v1)?/projects/[^/]+/locations/[^/]+/publishers/anthropic/models/count-tokens:rawPredict",
                self._guarded(self.count_tokens),
            ),
            Route("POST", _VERTEX_MESSAGES, self._guarded(self.vertex_messages)),
        )

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> FakeResponse:
        kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": stable_id("req_", message)}
        return FakeResponse.json_body(body, status, headers)

    def _guarded(self, handler: Any) -> Any:
        """Turn validation failures into Anthropic-shaped 400s so handlers can simply raise."""

        def guarded(request: FakeRequest, state: ProviderState) -> FakeResponse:
            if not isinstance(request.json, dict):
                return self.error_response(400, "There was an issue with the format of your request: invalid JSON")
            try:
                return handler(request, state)
            except (_BadRequest, ValueError) as error:
                return self.error_response(400, str(error))

        return guarded

    @staticmethod
    def _headers(request: FakeRequest, stream: bool) -> dict[str, str]:
        headers = {"request-id": stable_id("req_", request.path, request.json)}
        if stream:
            headers.update({"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"})
        return headers

    def _respond(self, request: FakeRequest, state: ProviderState, body: Mapping[str, Any], model: str) -> FakeResponse:
        message = message_response(body, model, state)
        if body.get("stream"):
            return FakeResponse(200, self._headers(request, True), _sse(message_events(message)))
        return FakeResponse.json_body(message, headers=self._headers(request, False))

    def messages(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _BadRequest("model: Field required")
        return self._respond(request, state, body, model)

    def vertex_messages(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        if "model" in body:
            raise _BadRequest("model: Extra inputs are not permitted")
        if not isinstance(body.get("anthropic_version"), str):
            raise _BadRequest("anthropic_version: Field required")
        streaming = request.path_params.get("specifier") == "streamRawPredict"
        if bool(body.get("stream")) != streaming:
            raise _BadRequest("stream must be true with streamRawPredict and absent with rawPredict")
        return self._respond(request, state, body, request.path_params["model"])

    def count_tokens(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        _validate({**body, "max_tokens": 1})
        return FakeResponse.json_body({"input_tokens": _prompt(body).tokens}, headers=self._headers(request, False))


PROTOCOL = AnthropicProtocol()
