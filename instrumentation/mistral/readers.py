"""Readers for Mistral's chat completions (plain and streamed) and embeddings.

Mistral's usage is OpenAI-shaped and inclusive: `prompt_tokens` counts every input token, prompt-cache hits
included; the cache hits are reported as `prompt_tokens_details.cached_tokens` (older responses and some
endpoints use `prompt_token_details` or a top-level `num_cached_tokens`, all read here). Reasoning
(Magistral's thinking) is billed inside `completion_tokens` and has no separate count. Usage objects keep
unknown keys as pydantic extras, so the cache fields are read even when the SDK does not declare them.

Request values may be the SDK's `UNSET` sentinel or None: only real values are recorded.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

from otel_tokenomics.instrumentation.core import Invocation
from otel_tokenomics.instrumentation.hosts import provider_for_host
from otel_tokenomics.instrumentation.mistral import content
from otel_tokenomics.instrumentation.mistral.content import field
from otel_tokenomics.instrumentation.request_params import (
    OPENAI_SAMPLING,
    record_integers,
    record_max_tokens,
    record_numbers,
)
from otel_tokenomics.instrumentation.values import integer as _integer
from otel_tokenomics.instrumentation.values import string as _string
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "PROVIDER",
    "ChatStreamReader",
    "read_chat_request",
    "read_chat_response",
    "read_chat_stream_request",
    "read_embeddings_request",
    "read_embeddings_response",
    "usage_of",
]

PROVIDER = "mistral_ai"
_DEFAULT_SERVER = "https://api.mistral.ai"
_DEFAULT_PORTS = {"https": 443, "http": 80}


@functools.lru_cache(maxsize=64)
def _host_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    return (parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme))


def _server_url(instance: Any, kwargs: dict[str, Any]) -> str:
    """The per-call `server_url`, else the client's configured server (Speakeasy's `get_server_details`)."""
    url = kwargs.get("server_url")
    if isinstance(url, str) and url:
        return url
    configuration = getattr(instance, "sdk_configuration", None)
    details = getattr(configuration, "get_server_details", None)
    if details is None:
        return _DEFAULT_SERVER
    return str(details()[0] or _DEFAULT_SERVER)


def _read_destination(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    host, port = _host_port(_server_url(instance, kwargs))
    provider, self_hosted = provider_for_host(host, port, invocation.telemetry.config.provider_hosts, PROVIDER)
    invocation.provider = provider
    invocation.self_hosted = self_hosted
    invocation.server_address = host or None
    invocation.server_port = port


def usage_of(usage: Any) -> Usage:
    """Mistral's usage (inclusive prompt count, cache hits as a subset)."""
    cached = (
        field(field(usage, "prompt_tokens_details"), "cached_tokens")
        or field(field(usage, "prompt_token_details"), "cached_tokens")
        or field(usage, "num_cached_tokens")
    )
    return Usage.from_inclusive(
        field(usage, "prompt_tokens"), field(usage, "completion_tokens"), cache_read_tokens=cached
    )


def _read_usage(invocation: Invocation, usage: Any) -> None:
    if usage is None:
        return
    invocation.usage = usage_of(usage)
    tier = _string(field(usage, "service_tier"))
    if tier:
        invocation.service_tier = tier


# --- chat --------------------------------------------------------------------------------------------------
def read_chat_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_destination(invocation, instance, kwargs)
    invocation.request_model = _string(kwargs.get("model"))
    attributes = invocation.request_attributes
    record_numbers(attributes, kwargs.get, OPENAI_SAMPLING)
    record_integers(
        attributes, kwargs.get, (("random_seed", attr.GEN_AI_REQUEST_SEED), ("top_k", attr.GEN_AI_REQUEST_TOP_K))
    )
    record_max_tokens(invocation, kwargs.get("max_tokens"))
    choices = _integer(kwargs.get("n"))
    if choices is not None and choices != 1:
        attributes[attr.GEN_AI_REQUEST_CHOICE_COUNT] = choices
    stop = kwargs.get("stop")
    if isinstance(stop, str):
        attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = (stop,)
    elif isinstance(stop, list | tuple) and all(isinstance(item, str) for item in stop):
        attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)
    kind = _string(field(kwargs.get("response_format"), "type"))
    if kind:
        attributes[attr.GEN_AI_OUTPUT_TYPE] = "text" if kind == "text" else "json"
    tier = _string(kwargs.get("service_tier"))
    if tier:
        invocation.service_tier = tier
    if invocation.capture_content:
        system, messages = content.chat_input(kwargs.get("messages"))
        invocation.system_instructions = system or None
        invocation.input_messages = messages


def read_chat_stream_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    read_chat_request(invocation, instance, kwargs)
    invocation.stream = kwargs.get("stream") is not False  # `Chat.stream` defaults to True


def _read_identity(invocation: Invocation, response: Any) -> None:
    model = _string(field(response, "model"))
    if model:
        invocation.response_model = model
    response_id = _string(field(response, "id"))
    if response_id:
        invocation.attributes[attr.GEN_AI_RESPONSE_ID] = response_id


def read_chat_response(invocation: Invocation, response: Any) -> None:
    _read_identity(invocation, response)
    choices = field(response, "choices") or ()
    reasons = [str(reason) for choice in choices if (reason := field(choice, "finish_reason"))]
    if reasons:
        invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    _read_usage(invocation, field(response, "usage"))
    if invocation.capture_content:
        invocation.output_messages = content.chat_output(choices)


class ChatStreamReader:
    """`CompletionEvent`s: identity from the first chunk, usage (and finish reason) from the last."""

    __slots__ = ("finish_reasons", "invocation", "parts")

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.finish_reasons: dict[int, str] = {}
        self.parts: dict[int, list[dict[str, Any]]] = {}

    def feed(self, event: Any) -> bool:
        chunk = getattr(event, "data", event)  # 1.x generators yielded events too; be lenient
        invocation = self.invocation
        if invocation.response_model is None:
            _read_identity(invocation, chunk)
        for choice in field(chunk, "choices") or ():
            index = field(choice, "index") or 0
            reason = field(choice, "finish_reason")
            if reason:
                self.finish_reasons[index] = str(reason)
            if invocation.capture_content:
                self._collect(index, field(choice, "delta"))
        usage = field(chunk, "usage")
        if usage is not None:
            _read_usage(invocation, usage)
        return False

    def _collect(self, index: int, delta: Any) -> None:
        parts = self.parts.setdefault(index, [])
        for part in content.message_parts(delta):
            last = parts[-1] if parts else None
            if last is not None and part["type"] in ("text", "reasoning") and last["type"] == part["type"]:
                last["content"] = (last["content"] or "") + (part["content"] or "")
            else:
                parts.append(part)

    def close(self) -> None:
        invocation = self.invocation
        reasons = [self.finish_reasons[index] for index in sorted(self.finish_reasons)]
        if reasons:
            invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
        if invocation.capture_content and self.parts:
            parts = [self.parts[index] for index in sorted(self.parts)]
            invocation.output_messages = content.text_output(parts, reasons)


# --- embeddings --------------------------------------------------------------------------------------------
def read_embeddings_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_destination(invocation, instance, kwargs)
    invocation.request_model = _string(kwargs.get("model"))
    encoding = _string(kwargs.get("encoding_format")) or _string(kwargs.get("output_dtype"))
    if encoding:
        invocation.request_attributes[attr.GEN_AI_REQUEST_ENCODING_FORMATS] = (encoding,)


def read_embeddings_response(invocation: Invocation, response: Any) -> None:
    _read_identity(invocation, response)
    usage = field(response, "usage")
    if usage is not None:
        invocation.usage = Usage.from_inclusive(field(usage, "prompt_tokens"), 0)
    data = field(response, "data")
    if data:
        vector = field(data[0], "embedding")
        if isinstance(vector, list):
            invocation.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)
