"""Readers for Groq's OpenAI-shaped chat completions and embeddings.

Where Groq differs from OpenAI: a stream's usage arrives in `x_groq.usage` of the last chunk, which also carries
the last choice's `finish_reason` (so it is never hidden from the caller), or in a top-level `usage` when the
caller asked for `stream_options.include_usage` through `extra_body`; non-streamed responses carry `usage` with
`prompt_tokens_details.cached_tokens` (included in `prompt_tokens`, as with OpenAI) and
`completion_tokens_details.reasoning_tokens` (included in `completion_tokens`). Readers accept SDK models and
plain dicts alike (older SDK releases only expose newer fields as untyped extras). Request values may be the
SDK's `NOT_GIVEN`/`omit` sentinels: only real values are recorded.
"""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.chat_completions import ChatCompletionStreamReader, read_chat_completion
from otel_tokenomics.instrumentation.core import Invocation
from otel_tokenomics.instrumentation.groq import content
from otel_tokenomics.instrumentation.groq.hosts import PROVIDER, client_destination
from otel_tokenomics.instrumentation.request_params import (
    OPENAI_SAMPLING,
    record_integers,
    record_numbers,
    record_stop_sequences,
)
from otel_tokenomics.instrumentation.values import field as _field
from otel_tokenomics.instrumentation.values import integer as _integer
from otel_tokenomics.instrumentation.values import string as _string
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "ChatStreamReader",
    "read_chat_request",
    "read_chat_response",
    "read_embeddings_request",
    "read_embeddings_response",
]


def _read_destination(invocation: Invocation, instance: Any) -> None:
    client = getattr(instance, "_client", None)
    if client is None:
        invocation.provider = PROVIDER
        return
    destination = client_destination(client, invocation.telemetry.config.provider_hosts)
    invocation.provider = destination.provider
    invocation.server_address = destination.address
    invocation.server_port = destination.port
    invocation.self_hosted = destination.self_hosted


def chat_usage(usage: Any) -> Usage:
    """Groq's `CompletionUsage`: inclusive totals with cached and reasoning subsets."""
    return Usage.from_inclusive(
        _field(usage, "prompt_tokens"),
        _field(usage, "completion_tokens"),
        cache_read_tokens=_field(_field(usage, "prompt_tokens_details"), "cached_tokens"),
        reasoning_tokens=_field(_field(usage, "completion_tokens_details"), "reasoning_tokens"),
    )


def _read_identity(invocation: Invocation, response: Any) -> None:
    model = _string(_field(response, "model"))
    if model:
        invocation.response_model = model
    response_id = _string(_field(response, "id"))
    if response_id:
        invocation.attributes[attr.GEN_AI_RESPONSE_ID] = response_id
    tier = _string(_field(response, "service_tier"))
    if tier:
        invocation.service_tier = tier


# --- chat completions --------------------------------------------------------------------------------------
def read_chat_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_destination(invocation, instance)
    invocation.request_model = _string(kwargs.get("model"))
    invocation.stream = kwargs.get("stream") is True
    attributes = invocation.request_attributes
    record_numbers(attributes, kwargs.get, OPENAI_SAMPLING)
    record_integers(attributes, kwargs.get, ((("seed", attr.GEN_AI_REQUEST_SEED),)))
    record_stop_sequences(attributes, kwargs.get("stop"))
    max_tokens = _integer(kwargs.get("max_completion_tokens")) or _integer(kwargs.get("max_tokens"))
    if max_tokens is not None:
        attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        invocation.request_max_tokens = max_tokens
    choices = _integer(kwargs.get("n"))
    if choices is not None and choices != 1:
        attributes[attr.GEN_AI_REQUEST_CHOICE_COUNT] = choices
    response_format = kwargs.get("response_format")
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        if isinstance(kind, str):
            attributes[attr.GEN_AI_OUTPUT_TYPE] = "text" if kind == "text" else "json"
    tier = _string(kwargs.get("service_tier"))
    if tier is not None:
        invocation.service_tier = tier
    if invocation.capture_content:
        system, messages = content.chat_input(kwargs.get("messages"))
        invocation.system_instructions = system or None
        invocation.input_messages = messages


def read_chat_response(invocation: Invocation, response: Any) -> None:
    _read_identity(invocation, response)
    read_chat_completion(invocation, response, chat_usage)


class ChatStreamReader(ChatCompletionStreamReader):
    """Chunks: identity from the first, usage from `usage` or `x_groq.usage` (the last chunk)."""

    __slots__ = ()

    def feed(self, chunk: Any) -> bool:
        invocation = self.invocation
        if invocation.response_model is None:
            _read_identity(invocation, chunk)
        self.feed_choices(chunk)
        usage = _field(chunk, "usage") or _field(_field(chunk, "x_groq"), "usage")
        if usage is not None:
            invocation.usage = chat_usage(usage)
        return False  # we never ask for extra chunks, so none is ours to hide


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
    data = _field(response, "data")
    if data:
        vector = _field(data[0], "embedding")
        if isinstance(vector, list):
            invocation.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)
