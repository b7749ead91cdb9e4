"""Readers for Cohere's v2 chat (plain and streamed), embed and rerank.

Token semantics: Cohere reports two counts, `billed_units` (what the customer is charged) and `tokens` (what
the model processed, including the prompt template Cohere adds). The conventions say to report the billable
count when a provider reports both, so `billed_units` is used, falling back to `tokens` only when a response has
no billed counts. `cached_tokens` (prompt tokens served from Cohere's cache) is reported as cache reads; Cohere
does not document whether it is a subset of the *billed* input, so it is capped at the billed input rather than
allowed to inflate it.

Rerank is billed per search (`billed_units.search_units`), not per token: the count is recorded as
`cohere.usage.search_units` and no token usage is invented, so the price book (which prices tokens) leaves the
call unpriced with its own reason (`unknown_model` for the catalog's rerank-less Cohere entry) rather than
priced at 0 or at a made-up rate.

Raw clients return an `HttpResponse` wrapper: readers look through it at its already-parsed `.data`.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

from otel_tokenomics.instrumentation.cohere import content
from otel_tokenomics.instrumentation.cohere.content import field
from otel_tokenomics.instrumentation.core import Invocation
from otel_tokenomics.instrumentation.hosts import provider_for_host
from otel_tokenomics.instrumentation.request_params import record_integers, record_max_tokens, record_numbers
from otel_tokenomics.instrumentation.values import number as _number
from otel_tokenomics.instrumentation.values import string as _string
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "COHERE_USAGE_SEARCH_UNITS",
    "PROVIDER",
    "ChatStreamReader",
    "read_chat_request",
    "read_chat_response",
    "read_chat_stream_request",
    "read_embed_request",
    "read_embed_response",
    "read_rerank_request",
    "read_rerank_response",
    "usage_of",
]

PROVIDER = "cohere"
#: Search units billed for a rerank call (Cohere's unit of rerank billing).
COHERE_USAGE_SEARCH_UNITS = "cohere.usage.search_units"
_DEFAULT_SERVER = "https://api.cohere.com"
_DEFAULT_PORTS = {"https": 443, "http": 80}
_RAW_RESPONSES = frozenset({"HttpResponse", "AsyncHttpResponse"})
# Clients of the SDK that send Cohere requests to another platform (request URLs are rewritten by hooks, the
# base URL is a placeholder): (provider, self_hosted). SageMaker/OCI endpoints are not billed per token by
# Cohere, so they are left to price sheets (self-hosted) instead of being priced at api.cohere.com rates.
_PLATFORM_CLIENTS = {
    "BedrockClient": ("aws.bedrock", False),
    "BedrockClientV2": ("aws.bedrock", False),
    "SagemakerClient": (PROVIDER, True),
    "SagemakerClientV2": (PROVIDER, True),
    "OciClient": (PROVIDER, True),
    "OciClientV2": (PROVIDER, True),
}


def _data(response: Any) -> Any:
    return response.data if type(response).__name__ in _RAW_RESPONSES else response


@functools.lru_cache(maxsize=64)
def _host_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    return (parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme))


def _base_url(instance: Any) -> str:
    wrapper = getattr(instance, "_client_wrapper", None)
    if wrapper is None:  # `Client().v2`: the wrapper lives on its raw client
        wrapper = getattr(getattr(instance, "_raw_client", None), "_client_wrapper", None)
    get_base_url = getattr(wrapper, "get_base_url", None)
    return str(get_base_url() or _DEFAULT_SERVER) if get_base_url is not None else _DEFAULT_SERVER


def _read_destination(invocation: Invocation, instance: Any) -> None:
    platform = _PLATFORM_CLIENTS.get(type(instance).__name__)
    if platform is not None:
        invocation.provider, invocation.self_hosted = platform
        return
    host, port = _host_port(_base_url(instance))
    provider, self_hosted = provider_for_host(host, port, invocation.telemetry.config.provider_hosts, PROVIDER)
    invocation.provider = provider
    invocation.self_hosted = self_hosted
    invocation.server_address = host or None
    invocation.server_port = port


def _count(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def usage_of(usage: Any) -> Usage | None:
    """Billed input/output (else processed), cache reads capped at the input; None without token counts."""
    billed, processed = field(usage, "billed_units"), field(usage, "tokens")
    input_tokens = _count(field(billed, "input_tokens"))
    output_tokens = _count(field(billed, "output_tokens"))
    if input_tokens is None and output_tokens is None:
        input_tokens = _count(field(processed, "input_tokens"))
        output_tokens = _count(field(processed, "output_tokens"))
    if input_tokens is None and output_tokens is None:
        return None
    cached = min(_count(field(usage, "cached_tokens")) or 0, input_tokens or 0)
    return Usage.from_inclusive(input_tokens, output_tokens, cache_read_tokens=cached)


def _read_id(invocation: Invocation, response: Any) -> None:
    response_id = _string(field(response, "id"))
    if response_id:
        invocation.attributes[attr.GEN_AI_RESPONSE_ID] = response_id


# --- chat --------------------------------------------------------------------------------------------------
def read_chat_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_destination(invocation, instance)
    invocation.request_model = _string(kwargs.get("model"))
    attributes = invocation.request_attributes
    record_numbers(
        attributes,
        kwargs.get,
        (
            ("temperature", attr.GEN_AI_REQUEST_TEMPERATURE),
            ("p", attr.GEN_AI_REQUEST_TOP_P),
            ("frequency_penalty", attr.GEN_AI_REQUEST_FREQUENCY_PENALTY),
            ("presence_penalty", attr.GEN_AI_REQUEST_PRESENCE_PENALTY),
        ),
    )
    record_integers(attributes, kwargs.get, (("seed", attr.GEN_AI_REQUEST_SEED), ("k", attr.GEN_AI_REQUEST_TOP_K)))
    record_max_tokens(invocation, kwargs.get("max_tokens"))
    stop = kwargs.get("stop_sequences")
    if isinstance(stop, list | tuple) and all(isinstance(item, str) for item in stop):
        attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)
    kind = _string(field(kwargs.get("response_format"), "type"))
    if kind:
        attributes[attr.GEN_AI_OUTPUT_TYPE] = "text" if kind == "text" else "json"
    if invocation.capture_content:
        system, messages = content.chat_input(kwargs.get("messages"))
        invocation.system_instructions = system or None
        invocation.input_messages = messages


def read_chat_stream_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    read_chat_request(invocation, instance, kwargs)
    invocation.stream = True


def _read_finish(invocation: Invocation, reason: Any) -> str | None:
    mapped = content.finish_reason(reason)
    if mapped:
        invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [mapped]
    return mapped


def read_chat_response(invocation: Invocation, response: Any) -> None:
    response = _data(response)
    _read_id(invocation, response)
    reason = _read_finish(invocation, field(response, "finish_reason"))
    usage = field(response, "usage")
    if usage is not None:
        invocation.usage = usage_of(usage)
    if invocation.capture_content:
        invocation.output_messages = content.output_message(content.message_parts(field(response, "message")), reason)


class ChatStreamReader:
    """v2 stream events: the id from `message-start`, finish reason and usage from `message-end`."""

    __slots__ = ("calls", "invocation", "parts", "reason")

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.reason: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.calls: dict[int, dict[str, Any]] = {}

    def feed(self, event: Any) -> bool:
        kind = field(event, "type")
        if kind == "message-end":
            delta = field(event, "delta")
            self.reason = content.finish_reason(field(delta, "finish_reason"))
            usage = field(delta, "usage")
            if usage is not None:
                self.invocation.usage = usage_of(usage)
        elif kind == "message-start":
            _read_id(self.invocation, event)
        elif self.invocation.capture_content:
            self._collect(kind, event)
        return False

    def _collect(self, kind: Any, event: Any) -> None:
        message = field(field(event, "delta"), "message")
        if kind == "content-delta":
            delta = field(message, "content")
            for part_type, text in (("reasoning", field(delta, "thinking")), ("text", field(delta, "text"))):
                if text:
                    self._append(part_type, text)
        elif kind == "tool-call-start":
            call = field(message, "tool_calls")
            function = field(call, "function")
            self.calls[field(event, "index") or 0] = {
                "type": "tool_call",
                "id": field(call, "id"),
                "name": field(function, "name"),
                "arguments": field(function, "arguments") or "",
            }
        elif kind == "tool-call-delta":
            found = self.calls.get(field(event, "index") or 0)
            piece = field(field(field(message, "tool_calls"), "function"), "arguments")
            if found is not None and piece:
                found["arguments"] += piece

    def _append(self, part_type: str, text: str) -> None:
        last = self.parts[-1] if self.parts else None
        if last is not None and last["type"] == part_type:
            last["content"] += text
        else:
            self.parts.append({"type": part_type, "content": text})

    def close(self) -> None:
        invocation = self.invocation
        if self.reason:
            invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [self.reason]
        if invocation.capture_content and (self.parts or self.calls):
            parts = self.parts + [self.calls[index] for index in sorted(self.calls)]
            invocation.output_messages = content.output_message(parts, self.reason)


# --- embed -------------------------------------------------------------------------------------------------
def read_embed_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_destination(invocation, instance)
    invocation.request_model = _string(kwargs.get("model"))
    kinds = kwargs.get("embedding_types")
    if isinstance(kinds, list | tuple) and kinds and all(isinstance(kind, str) for kind in kinds):
        invocation.request_attributes[attr.GEN_AI_REQUEST_ENCODING_FORMATS] = tuple(kinds)


def read_embed_response(invocation: Invocation, response: Any) -> None:
    response = _data(response)
    _read_id(invocation, response)
    meta = field(response, "meta")
    if meta is not None:
        invocation.usage = usage_of(meta)
    embeddings = field(response, "embeddings")
    if isinstance(embeddings, list):  # the v1 "embeddings_floats" shape
        vectors = embeddings
    else:
        vectors = field(embeddings, "float_") or field(embeddings, "float") or field(embeddings, "int8") or []
    if vectors and isinstance(vectors[0], list):
        invocation.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vectors[0])


# --- rerank ------------------------------------------------------------------------------------------------
def read_rerank_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_destination(invocation, instance)
    invocation.request_model = _string(kwargs.get("model"))


def read_rerank_response(invocation: Invocation, response: Any) -> None:
    response = _data(response)
    _read_id(invocation, response)
    search_units = _count(field(field(field(response, "meta"), "billed_units"), "search_units"))
    if search_units is not None:
        invocation.attributes[COHERE_USAGE_SEARCH_UNITS] = search_units
