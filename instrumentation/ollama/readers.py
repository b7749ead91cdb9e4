"""Readers for Ollama's native API: `/api/chat`, `/api/generate`, `/api/embed` and the legacy `/api/embeddings`.

They read the request body the SDK is about to send (a plain dict: the SDK dumps its pydantic request model) and
the SDK's response models (read by attribute, so plain dicts work too). Token counts are `prompt_eval_count`
(input) and `eval_count` (output, thinking included) on the final part (`done: true`); Ollama reports no
cache counts, and omits `prompt_eval_count` when the whole prompt came from its KV cache (read as 0). Durations,
integer nanoseconds on the wire, are recorded in seconds under `ollama.response.*`.
"""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.core import Invocation
from otel_tokenomics.instrumentation.ollama import content
from otel_tokenomics.instrumentation.ollama.hosts import PROVIDER, client_destination
from otel_tokenomics.instrumentation.values import field as _field
from otel_tokenomics.instrumentation.values import integer as _integer
from otel_tokenomics.instrumentation.values import number as _number
from otel_tokenomics.instrumentation.values import string as _string
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "DURATION_ATTRIBUTES",
    "StreamReader",
    "read_chat_request",
    "read_chat_response",
    "read_embed_response",
    "read_embeddings_request",
    "read_generate_request",
    "read_generate_response",
    "read_legacy_embeddings_response",
]

#: Response field (nanoseconds) → span attribute (seconds). Ollama-specific, hence `ollama.*`.
DURATION_ATTRIBUTES = {
    "total_duration": "ollama.response.total_duration",
    "load_duration": "ollama.response.load_duration",
    "prompt_eval_duration": "ollama.response.prompt_eval_duration",
    "eval_duration": "ollama.response.eval_duration",
}
_NUMBER_OPTIONS = (
    ("temperature", attr.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", attr.GEN_AI_REQUEST_TOP_P),
    ("frequency_penalty", attr.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", attr.GEN_AI_REQUEST_PRESENCE_PENALTY),
)


def _read_destination(invocation: Invocation, instance: Any) -> None:
    http_client = getattr(instance, "_client", None)
    invocation.provider = PROVIDER
    invocation.self_hosted = True
    if http_client is None:
        return
    destination = client_destination(http_client, invocation.telemetry.config.provider_hosts)
    invocation.provider = destination.provider
    invocation.server_address = destination.address
    invocation.server_port = destination.port
    invocation.self_hosted = destination.self_hosted


def _read_common_request(invocation: Invocation, instance: Any, params: dict[str, Any]) -> None:
    _read_destination(invocation, instance)
    invocation.request_model = _string(params.get("model"))
    invocation.stream = params.get("stream") is True
    options = params.get("options")
    if isinstance(options, dict):
        attributes = invocation.request_attributes
        for key, name in _NUMBER_OPTIONS:
            value = _number(options.get(key))
            if value is not None:
                attributes[name] = value
        top_k = _number(options.get("top_k"))
        if top_k is not None:
            attributes[attr.GEN_AI_REQUEST_TOP_K] = top_k
        seed = _integer(options.get("seed"))
        if seed is not None:
            attributes[attr.GEN_AI_REQUEST_SEED] = seed
        stop = options.get("stop")
        if isinstance(stop, list | tuple) and all(isinstance(item, str) for item in stop):
            attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)
        max_tokens = _integer(options.get("num_predict"))
        if max_tokens is not None and max_tokens >= 0:  # -1 and -2 mean "no limit" / "fill the context"
            attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
            invocation.request_max_tokens = max_tokens
    output_format = params.get("format")
    if output_format == "json" or isinstance(output_format, dict):
        invocation.request_attributes[attr.GEN_AI_OUTPUT_TYPE] = "json"


def _read_final(invocation: Invocation, part: Any) -> None:
    """The fields of a finished answer (a plain response, or the `done` part of a stream)."""
    model = _string(_field(part, "model"))
    if model:
        invocation.response_model = model
    reason = _string(_field(part, "done_reason"))
    if reason:
        invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]
    prompt_count = _field(part, "prompt_eval_count")
    eval_count = _field(part, "eval_count")
    if prompt_count is not None or eval_count is not None:
        invocation.usage = Usage.from_inclusive(prompt_count, eval_count)
    for field, name in DURATION_ATTRIBUTES.items():
        nanoseconds = _integer(_field(part, field))
        if nanoseconds is not None:
            invocation.attributes[name] = nanoseconds / 1e9


# --- chat ----------------------------------------------------------------------------------------------------
def read_chat_request(invocation: Invocation, instance: Any, params: dict[str, Any]) -> None:
    _read_common_request(invocation, instance, params)
    if invocation.capture_content:
        system, messages = content.chat_input(params.get("messages"))
        invocation.system_instructions = system or None
        invocation.input_messages = messages


def read_chat_response(invocation: Invocation, response: Any) -> None:
    _read_final(invocation, response)
    if invocation.capture_content:
        reason = _string(_field(response, "done_reason"))
        invocation.output_messages = content.message_output(_field(response, "message"), reason)


# --- generate ------------------------------------------------------------------------------------------------
def read_generate_request(invocation: Invocation, instance: Any, params: dict[str, Any]) -> None:
    _read_common_request(invocation, instance, params)
    if invocation.capture_content:
        system, messages = content.prompt_input(params.get("prompt"), params.get("system"))
        invocation.system_instructions = system or None
        invocation.input_messages = messages


def read_generate_response(invocation: Invocation, response: Any) -> None:
    _read_final(invocation, response)
    if invocation.capture_content:
        reason = _string(_field(response, "done_reason"))
        text = _string(_field(response, "response")) or ""
        invocation.output_messages = content.text_output(text, _string(_field(response, "thinking")) or "", reason)


class StreamReader:
    """Parts of a chat or generate stream: text deltas until the `done` part, which carries counts and reason."""

    __slots__ = ("invocation", "reason", "texts", "thinking", "tool_calls")

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.texts: list[str] = []
        self.thinking: list[str] = []
        self.tool_calls: list[Any] = []
        self.reason: str | None = None

    def feed(self, part: Any) -> bool:
        invocation = self.invocation
        if invocation.capture_content:
            message = _field(part, "message")
            source = part if message is None else message
            text = _field(source, "content") if message is not None else _field(part, "response")
            if isinstance(text, str) and text:
                self.texts.append(text)
            thinking = _field(source, "thinking")
            if isinstance(thinking, str) and thinking:
                self.thinking.append(thinking)
            self.tool_calls.extend(_field(message, "tool_calls") or ())
        if _field(part, "done") is True:
            _read_final(invocation, part)
            self.reason = _string(_field(part, "done_reason"))
        elif invocation.response_model is None:
            model = _string(_field(part, "model"))
            if model:
                invocation.response_model = model
        return False

    def close(self) -> None:
        invocation = self.invocation
        if invocation.capture_content and (self.texts or self.thinking or self.tool_calls):
            message = {
                "content": "".join(self.texts),
                "thinking": "".join(self.thinking),
                "tool_calls": self.tool_calls,
            }
            invocation.output_messages = content.message_output(message, self.reason)


# --- embeddings ----------------------------------------------------------------------------------------------
def read_embeddings_request(invocation: Invocation, instance: Any, params: dict[str, Any]) -> None:
    _read_destination(invocation, instance)
    invocation.request_model = _string(params.get("model"))


def read_embed_response(invocation: Invocation, response: Any) -> None:
    model = _string(_field(response, "model"))
    if model:
        invocation.response_model = model
    count = _field(response, "prompt_eval_count")
    if count is not None:
        invocation.usage = Usage.from_inclusive(count, 0)
    embeddings = _field(response, "embeddings")
    if embeddings:
        invocation.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(embeddings[0])
    for field, name in DURATION_ATTRIBUTES.items():
        nanoseconds = _integer(_field(response, field))
        if nanoseconds is not None:
            invocation.attributes[name] = nanoseconds / 1e9


def read_legacy_embeddings_response(invocation: Invocation, response: Any) -> None:
    """`/api/embeddings` (deprecated) reports neither model nor counts: the span has tokens unreported."""
    vector = _field(response, "embedding")
    if vector:
        invocation.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)
