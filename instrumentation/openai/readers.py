"""Readers for the OpenAI API shapes: chat completions, Responses, legacy completions, embeddings.

Readers accept both SDK model objects and plain dicts, because old 1.x releases expose newer usage fields
(`prompt_tokens_details`, ...) only as untyped extras, and OpenAI-compatible providers add their own (OpenRouter's
`usage.cost`). Request values may be the SDK's `NOT_GIVEN`/`omit` sentinels: only real values are recorded.
"""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.chat_completions import ChatCompletionStreamReader
from otel_tokenomics.instrumentation.core import Invocation
from otel_tokenomics.instrumentation.openai import content
from otel_tokenomics.instrumentation.openai.hosts import client_destination
from otel_tokenomics.instrumentation.request_params import (
    OPENAI_SAMPLING,
    record_integers,
    record_numbers,
    record_stop_sequences,
)
from otel_tokenomics.instrumentation.values import field as _field
from otel_tokenomics.instrumentation.values import integer as _integer
from otel_tokenomics.instrumentation.values import number as _number
from otel_tokenomics.instrumentation.values import string as _string
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "ChatStreamReader",
    "CompletionStreamReader",
    "ResponsesStreamReader",
    "inject_stream_usage",
    "read_chat_request",
    "read_chat_response",
    "read_completion_request",
    "read_completion_response",
    "read_embeddings_request",
    "read_embeddings_response",
    "read_responses_request",
    "read_responses_response",
]

# Endpoints known to accept `stream_options.include_usage` (Mistral answers 422, Bedrock rejects the key).
_ACCEPTS_STREAM_USAGE = frozenset(
    {"openai", "azure.ai.openai", "deepseek", "openrouter", "together", "fireworks", "x_ai", "groq"}
)
# Responses API statuses → the conventions' finish reasons.
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _provider_cost(usage: Any) -> float | None:
    cost = _field(usage, "cost")
    return float(cost) if _number(cost) is not None and cost >= 0 else None


def _read_destination(invocation: Invocation, instance: Any) -> None:
    client = getattr(instance, "_client", None)
    if client is None:
        invocation.provider = "openai"
        return
    destination = client_destination(client, invocation.telemetry.config.provider_hosts)
    invocation.provider = destination.provider
    invocation.server_address = destination.address
    invocation.server_port = destination.port
    invocation.self_hosted = destination.self_hosted


def _read_common_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any], api_type: str | None) -> None:
    _read_destination(invocation, instance)
    invocation.request_model = _string(kwargs.get("model"))
    invocation.stream = kwargs.get("stream") is True
    attributes = invocation.request_attributes
    if api_type is not None:
        attributes[attr.OPENAI_API_TYPE] = api_type
    record_numbers(attributes, kwargs.get, OPENAI_SAMPLING)
    record_integers(attributes, kwargs.get, ((("seed", attr.GEN_AI_REQUEST_SEED),)))
    record_stop_sequences(attributes, kwargs.get("stop"))
    tier = _string(kwargs.get("service_tier"))
    if tier is not None:
        invocation.service_tier = tier
        if tier != "auto":
            attributes[attr.OPENAI_REQUEST_SERVICE_TIER] = tier


def _chat_usage(usage: Any) -> Usage:
    prompt_details = _field(usage, "prompt_tokens_details")
    completion_details = _field(usage, "completion_tokens_details")
    return Usage.from_inclusive(
        _field(usage, "prompt_tokens"),
        _field(usage, "completion_tokens"),
        cache_read_tokens=_field(prompt_details, "cached_tokens"),
        cache_write_tokens=_field(prompt_details, "cache_write_tokens"),
        reasoning_tokens=_field(completion_details, "reasoning_tokens"),
        input_audio_tokens=_field(prompt_details, "audio_tokens"),
        output_audio_tokens=_field(completion_details, "audio_tokens"),
    )


def _responses_usage(usage: Any) -> Usage:
    input_details = _field(usage, "input_tokens_details")
    write_details = _field(input_details, "cache_write_tokens_details")
    return Usage.from_inclusive(
        _field(usage, "input_tokens"),
        _field(usage, "output_tokens"),
        cache_read_tokens=_field(input_details, "cached_tokens"),
        cache_write_tokens=_field(input_details, "cache_write_tokens"),
        cache_write_1h_tokens=_field(write_details, "ttl_12h_tokens"),
        reasoning_tokens=_field(_field(usage, "output_tokens_details"), "reasoning_tokens"),
    )


def _read_usage(invocation: Invocation, usage: Any, convert: Any) -> None:
    if usage is None:
        return
    invocation.usage = convert(usage)
    invocation.provider_cost = _provider_cost(usage)


def _read_response_identity(invocation: Invocation, response: Any) -> None:
    model = _string(_field(response, "model"))
    if model:
        invocation.response_model = model
    response_id = _string(_field(response, "id"))
    if response_id:
        invocation.attributes[attr.GEN_AI_RESPONSE_ID] = response_id
    tier = _string(_field(response, "service_tier"))
    if tier:
        invocation.service_tier = tier
        invocation.attributes[attr.OPENAI_RESPONSE_SERVICE_TIER] = tier
    fingerprint = _string(_field(response, "system_fingerprint"))
    if fingerprint:
        invocation.attributes[attr.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = fingerprint


def inject_stream_usage(invocation: Invocation, kwargs: dict[str, Any]) -> bool:
    """Ask for the usage chunk; True if we changed the request (then the chunk is hidden from the caller)."""
    if invocation.self_hosted or invocation.provider not in _ACCEPTS_STREAM_USAGE:
        return False
    options = kwargs.get("stream_options")
    if isinstance(options, dict):
        if "include_usage" in options:  # the caller decided, either way
            return False
        kwargs["stream_options"] = {**options, "include_usage": True}
        return True
    if options is None or type(options).__name__ in ("NotGiven", "Omit"):
        kwargs["stream_options"] = {"include_usage": True}
        return True
    return False


# --- chat completions --------------------------------------------------------------------------------------
def read_chat_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_common_request(invocation, instance, kwargs, "chat_completions")
    attributes = invocation.request_attributes
    max_tokens = _integer(kwargs.get("max_completion_tokens")) or _integer(kwargs.get("max_tokens"))
    if max_tokens is not None:
        attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        invocation.request_max_tokens = max_tokens
    choices = _integer(kwargs.get("n"))
    if choices is not None and choices != 1:
        attributes[attr.GEN_AI_REQUEST_CHOICE_COUNT] = choices
    response_format = kwargs.get("response_format")
    if response_format is not None:
        kind = _field(response_format, "type") if isinstance(response_format, dict) else "json_schema"
        if isinstance(kind, str):
            attributes[attr.GEN_AI_OUTPUT_TYPE] = "text" if kind == "text" else "json"
    if invocation.capture_content:
        system, messages = content.chat_input(kwargs.get("messages"))
        invocation.system_instructions = system or None
        invocation.input_messages = messages


def read_chat_response(invocation: Invocation, response: Any) -> None:
    _read_response_identity(invocation, response)
    choices = _field(response, "choices") or ()
    reasons = [str(_field(choice, "finish_reason")) for choice in choices if _field(choice, "finish_reason")]
    if reasons:
        invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    _read_usage(invocation, _field(response, "usage"), _chat_usage)
    if invocation.capture_content:
        invocation.output_messages = content.chat_output(choices)


class ChatStreamReader(ChatCompletionStreamReader):
    """Chat and legacy-completion chunks: identity from the first, usage from the last, text only if captured.

    Reads typed SDK chunks by attribute (the hot path of the most used SDK); closing is the shared reader's."""

    __slots__ = ()
    text_of = staticmethod(lambda choice: _field(_field(choice, "delta"), "content"))

    def feed(self, chunk: Any) -> bool:
        invocation = self.invocation
        if invocation.response_model is None:
            _read_response_identity(invocation, chunk)
        choices = chunk.choices
        for choice in choices:
            reason = choice.finish_reason
            if reason:
                self.finish_reasons[choice.index] = reason
            if invocation.capture_content:
                text = self.text_of(choice)
                if text:
                    self.texts.setdefault(choice.index, []).append(text)
        usage = chunk.usage
        if usage is not None:
            _read_usage(invocation, usage, _chat_usage)
            return not choices
        return False


# --- legacy completions ------------------------------------------------------------------------------------
def read_completion_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_common_request(invocation, instance, kwargs, None)
    max_tokens = _integer(kwargs.get("max_tokens"))
    if max_tokens is not None:
        invocation.request_attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        invocation.request_max_tokens = max_tokens
    choices = _integer(kwargs.get("n"))
    if choices is not None and choices != 1:
        invocation.request_attributes[attr.GEN_AI_REQUEST_CHOICE_COUNT] = choices
    if invocation.capture_content:
        prompt = kwargs.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else [p for p in prompt or () if isinstance(p, str)]
        invocation.input_messages = [{"role": "user", "parts": [{"type": "text", "content": text}]} for text in prompts]


def read_completion_response(invocation: Invocation, response: Any) -> None:
    _read_response_identity(invocation, response)
    choices = _field(response, "choices") or ()
    reasons = [str(_field(choice, "finish_reason")) for choice in choices if _field(choice, "finish_reason")]
    if reasons:
        invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    _read_usage(invocation, _field(response, "usage"), _chat_usage)
    if invocation.capture_content:
        invocation.output_messages = content.text_output([_field(c, "text") or "" for c in choices], reasons)


class CompletionStreamReader(ChatStreamReader):
    __slots__ = ()
    text_of = staticmethod(lambda choice: _field(choice, "text"))


# --- Responses API -----------------------------------------------------------------------------------------
def read_responses_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_common_request(invocation, instance, kwargs, "responses")
    max_tokens = _integer(kwargs.get("max_output_tokens"))
    if max_tokens is not None:
        invocation.request_attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        invocation.request_max_tokens = max_tokens
    if invocation.capture_content:
        instructions = kwargs.get("instructions")
        if isinstance(instructions, str):
            invocation.system_instructions = [{"type": "text", "content": instructions}]
        invocation.input_messages = content.responses_input(kwargs.get("input"))


def _responses_finish_reason(response: Any) -> str | None:
    status = _field(response, "status")
    if status == "completed":
        return "stop"
    if status == "incomplete":
        reason = _field(_field(response, "incomplete_details"), "reason")
        return _INCOMPLETE_REASONS.get(reason, str(reason or "incomplete"))
    if status == "failed":
        return "error"
    return None


def read_responses_response(invocation: Invocation, response: Any) -> None:
    _read_response_identity(invocation, response)
    reason = _responses_finish_reason(response)
    if reason:
        invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]
    _read_usage(invocation, _field(response, "usage"), _responses_usage)
    if invocation.capture_content:
        text = _field(response, "output_text")
        if isinstance(text, str):
            invocation.output_messages = content.text_output([text], [reason or ""])


class ResponsesStreamReader:
    """Responses API events: the terminal event carries the whole response, usage included."""

    __slots__ = ("invocation", "texts")

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.texts: list[str] = []

    def feed(self, event: Any) -> bool:
        kind = _field(event, "type")
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            read_responses_response(self.invocation, _field(event, "response"))
        elif kind == "response.created":
            _read_response_identity(self.invocation, _field(event, "response"))
        elif kind == "response.output_text.delta" and self.invocation.capture_content:
            self.texts.append(_field(event, "delta") or "")
        return False

    def close(self) -> None:
        invocation = self.invocation
        if invocation.capture_content and self.texts and invocation.output_messages is None:
            invocation.output_messages = content.text_output(["".join(self.texts)], [])


# --- embeddings --------------------------------------------------------------------------------------------
def read_embeddings_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_destination(invocation, instance)
    invocation.request_model = _string(kwargs.get("model"))
    encoding = _string(kwargs.get("encoding_format"))
    if encoding:
        invocation.request_attributes[attr.GEN_AI_REQUEST_ENCODING_FORMATS] = (encoding,)


def read_embeddings_response(invocation: Invocation, response: Any) -> None:
    model = _string(_field(response, "model"))
    if model:
        invocation.response_model = model
    usage = _field(response, "usage")
    if usage is not None:
        invocation.usage = Usage.from_inclusive(_field(usage, "prompt_tokens"), 0)
        invocation.provider_cost = _provider_cost(usage)
    data = _field(response, "data")
    if data:
        vector = _field(data[0], "embedding")
        if isinstance(vector, list):
            invocation.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)
