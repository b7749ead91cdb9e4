"""Readers for the Anthropic Messages API: request parameters, `Message` responses and raw stream events.

Anthropic's `usage.input_tokens` EXCLUDES cache reads and writes, so usage goes through `Usage.from_exclusive`;
the 1-hour share of cache writes comes from `usage.cache_creation`, thinking tokens (a subset of the output) from
`usage.output_tokens_details`. In a stream, `message_start` carries the input and cache counts and
`message_delta` the cumulative output (newer API versions repeat cumulative input counts there too: the latest
value wins). Readers accept SDK models and plain dicts, and ignore the SDK's `NOT_GIVEN`/`omit` sentinels.
"""

from __future__ import annotations

import functools
import inspect
import json
from typing import Any

from otel_tokenomics.instrumentation.anthropic import content
from otel_tokenomics.instrumentation.anthropic.hosts import client_destination
from otel_tokenomics.instrumentation.core import Invocation
from otel_tokenomics.instrumentation.values import field as _field
from otel_tokenomics.instrumentation.values import integer as _integer
from otel_tokenomics.instrumentation.values import number as _number
from otel_tokenomics.instrumentation.values import string as _string
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "ANTHROPIC_USAGE_WEB_FETCH_REQUESTS",
    "ANTHROPIC_USAGE_WEB_SEARCH_REQUESTS",
    "MessageStreamReader",
    "pending_stream_request",
    "read_message_request",
    "read_message_response",
    "read_stream_helper_request",
]

#: Server-side tool calls Anthropic bills per request, beside tokens (not priced: the price book has no rate).
ANTHROPIC_USAGE_WEB_SEARCH_REQUESTS = "anthropic.usage.server_tool_use.web_search_requests"
ANTHROPIC_USAGE_WEB_FETCH_REQUESTS = "anthropic.usage.server_tool_use.web_fetch_requests"
_SERVER_TOOL_ATTRIBUTES = (
    ("web_search_requests", ANTHROPIC_USAGE_WEB_SEARCH_REQUESTS),
    ("web_fetch_requests", ANTHROPIC_USAGE_WEB_FETCH_REQUESTS),
)
# Cumulative counts a stream's message_delta may repeat; the latest non-null value wins.
_USAGE_COUNTS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")


# --- request -----------------------------------------------------------------------------------------------
def _read_destination(invocation: Invocation, client: Any) -> None:
    if client is None:
        invocation.provider = "anthropic"
        return
    destination = client_destination(client, invocation.telemetry.config.provider_hosts)
    invocation.provider = destination.provider
    invocation.server_address = destination.address
    invocation.server_port = destination.port
    invocation.self_hosted = destination.self_hosted


def _wants_json(params: dict[str, Any]) -> bool:
    output_format = params.get("output_format")
    if isinstance(output_format, type) or isinstance(_field(output_format, "type"), str):
        return True
    output_config = params.get("output_config")
    return isinstance(output_config, dict) and output_config.get("format") is not None


def _read_request(invocation: Invocation, client: Any, params: dict[str, Any]) -> None:
    _read_destination(invocation, client)
    invocation.request_model = _string(params.get("model"))
    invocation.stream = params.get("stream") is True
    attributes = invocation.request_attributes
    max_tokens = _integer(params.get("max_tokens"))
    if max_tokens is not None:
        attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        invocation.request_max_tokens = max_tokens
    # Sampling knobs: typed parameters in 0.x/1.x SDKs, `extra_body` entries since they left the typed API.
    extra = params.get("extra_body")
    sampling = {**extra, **params} if isinstance(extra, dict) else params
    for key, name in (("temperature", attr.GEN_AI_REQUEST_TEMPERATURE), ("top_p", attr.GEN_AI_REQUEST_TOP_P)):
        value = _number(sampling.get(key))
        if value is not None:
            attributes[name] = value
    top_k = _integer(sampling.get("top_k"))
    if top_k is not None:
        attributes[attr.GEN_AI_REQUEST_TOP_K] = top_k
    stop = params.get("stop_sequences")
    if isinstance(stop, list | tuple) and stop and all(isinstance(item, str) for item in stop):
        attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)
    if _wants_json(params):
        attributes[attr.GEN_AI_OUTPUT_TYPE] = "json"
    if invocation.capture_content:
        invocation.system_instructions = content.system_instructions(params.get("system"))
        invocation.input_messages = content.input_messages(params.get("messages"))


def read_message_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    """`messages.create` / `messages.parse` (and their beta twins): the resource knows its client."""
    _read_request(invocation, getattr(instance, "_client", None), kwargs)


def pending_stream_request(manager: Any) -> tuple[Any, dict[str, Any]] | None:
    """(client, request body) of a `messages.stream()` manager whose request is not sent yet, else None.

    The helper posts by itself when entered, from a request it prepared at `stream()` time: a
    `functools.partial` of `client.post` (sync) or an unstarted `client.post(...)` coroutine (async). Its
    `body` is the very dict that will be sent. Anything else (a thread's turn, which calls the instrumented
    `create()` itself, or a future SDK layout) answers None and the call is left to the wrapped `create()`.
    """
    request = next((value for name, value in vars(manager).items() if name.endswith("__api_request")), None)
    if isinstance(request, functools.partial):
        client, body = getattr(request.func, "__self__", None), request.keywords.get("body")
    elif inspect.iscoroutine(request) and inspect.getcoroutinestate(request) == inspect.CORO_CREATED:
        arguments = request.cr_frame.f_locals
        client, body = arguments.get("self"), arguments.get("body")
    else:
        return None
    return (client, body) if isinstance(body, dict) else None


def read_stream_helper_request(invocation: Invocation, manager: Any, body: dict[str, Any]) -> None:
    """`messages.stream()` entered: the manager's pending request, read like `create(stream=True)`."""
    pending = pending_stream_request(manager)
    _read_request(invocation, pending[0] if pending else None, body)
    invocation.stream = True


# --- response ----------------------------------------------------------------------------------------------
def _usage(usage: Any) -> Usage:
    creation = _field(usage, "cache_creation")
    write_5m = _integer(_field(creation, "ephemeral_5m_input_tokens")) or 0
    write_1h = _integer(_field(creation, "ephemeral_1h_input_tokens")) or 0
    written = max(_integer(_field(usage, "cache_creation_input_tokens")) or 0, write_5m + write_1h)
    return Usage.from_exclusive(
        _field(usage, "input_tokens"),
        _field(usage, "output_tokens"),
        cache_read_tokens=_field(usage, "cache_read_input_tokens"),
        cache_write_tokens=written,
        cache_write_1h_tokens=write_1h,
        reasoning_tokens=_field(_field(usage, "output_tokens_details"), "thinking_tokens"),
    )


def _read_billing(invocation: Invocation, usage: Any) -> None:
    """The tier that was billed, and server-side tool requests (recorded, not priced)."""
    speed = _field(usage, "speed")
    tier = "fast" if speed == "fast" else _string(_field(usage, "service_tier"))
    if tier:
        invocation.service_tier = tier
    server_tools = _field(usage, "server_tool_use")
    if server_tools is not None:
        for key, name in _SERVER_TOOL_ATTRIBUTES:
            count = _integer(_field(server_tools, key))
            if count:
                invocation.attributes[name] = count


def _read_identity(invocation: Invocation, message: Any) -> None:
    model = _string(_field(message, "model"))
    if model:
        invocation.response_model = model
    message_id = _string(_field(message, "id"))
    if message_id:
        invocation.attributes[attr.GEN_AI_RESPONSE_ID] = message_id


def read_message_response(invocation: Invocation, message: Any) -> None:
    _read_identity(invocation, message)
    stop_reason = _string(_field(message, "stop_reason"))
    if stop_reason:
        invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [stop_reason]
    usage = _field(message, "usage")
    if usage is not None:
        invocation.usage = _usage(usage)
        _read_billing(invocation, usage)
    if invocation.capture_content:
        invocation.output_messages = content.output_message(
            content.output_parts(_field(message, "content")), stop_reason
        )


def _json_or_text(text: str) -> Any:
    """Streamed tool arguments as the object a plain response carries, or the raw text if cut short."""
    try:
        return json.loads(text)
    except ValueError:
        return text


class MessageStreamReader:
    """Raw Messages stream events (`message_start` ... `message_stop`), whoever iterates them.

    Usage is assembled at close from the counts seen so far, so a stream ended early still reports the input
    it was billed for (its output is then only what `message_start` announced).
    """

    __slots__ = ("blocks", "counts", "invocation", "start_usage", "stop_reason")

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.start_usage: Any = None
        self.counts: dict[str, Any] = {}
        self.stop_reason: str | None = None
        self.blocks: dict[int, dict[str, Any]] = {}

    def _merge_usage(self, usage: Any) -> None:
        for key in _USAGE_COUNTS:
            value = _field(usage, key)
            if value is not None:
                self.counts[key] = value
        details = _field(usage, "output_tokens_details")
        if details is not None:
            self.counts["output_tokens_details"] = details
        if _field(usage, "server_tool_use") is not None:
            self.counts["server_tool_use"] = _field(usage, "server_tool_use")

    def feed(self, event: Any) -> bool:
        kind = _field(event, "type")
        if kind == "message_start":
            message = _field(event, "message")
            _read_identity(self.invocation, message)
            self.start_usage = _field(message, "usage")
            if self.start_usage is not None:
                self._merge_usage(self.start_usage)
        elif kind == "message_delta":
            self.stop_reason = _string(_field(_field(event, "delta"), "stop_reason")) or self.stop_reason
            usage = _field(event, "usage")
            if usage is not None:
                self._merge_usage(usage)
        elif self.invocation.capture_content and kind in ("content_block_start", "content_block_delta"):
            self._capture(kind, event)
        return False

    def _capture(self, kind: str, event: Any) -> None:
        index = _field(event, "index") or 0
        if kind == "content_block_start":
            self.blocks[index] = {"block": _field(event, "content_block"), "text": [], "json": []}
            return
        entry = self.blocks.setdefault(index, {"block": None, "text": [], "json": []})
        delta = _field(event, "delta")
        delta_type = _field(delta, "type")
        if delta_type == "text_delta":
            entry["text"].append(_field(delta, "text") or "")
        elif delta_type == "thinking_delta":
            entry["text"].append(_field(delta, "thinking") or "")
        elif delta_type == "input_json_delta":
            entry["json"].append(_field(delta, "partial_json") or "")

    def _output_parts(self) -> list[dict[str, Any]]:
        parts = []
        for index in sorted(self.blocks):
            entry = self.blocks[index]
            part = content.output_parts([entry["block"]])[0] if entry["block"] is not None else {"type": "text"}
            if part["type"] in ("text", "reasoning"):
                part["content"] = "".join(entry["text"])
            elif part["type"] == "tool_call" and entry["json"]:
                part["arguments"] = _json_or_text("".join(entry["json"]))
            parts.append(part)
        return parts

    def close(self) -> None:
        invocation = self.invocation
        if self.stop_reason:
            invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [self.stop_reason]
        if self.counts:
            usage = {**self.counts, "cache_creation": _field(self.start_usage, "cache_creation")}
            for key in ("service_tier", "speed"):
                usage[key] = _field(self.start_usage, key)
            invocation.usage = _usage(usage)
            _read_billing(invocation, usage)
        if invocation.capture_content and self.blocks:
            invocation.output_messages = content.output_message(self._output_parts(), self.stop_reason)
