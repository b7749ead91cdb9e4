"""Readers for LiteLLM's OpenAI-shaped `ModelResponse`, stream chunks and `EmbeddingResponse`.

Token semantics: LiteLLM normalizes every backend to OpenAI's inclusive counts, so `prompt_tokens` already
contains cache reads (`prompt_tokens_details.cached_tokens`) and, for Anthropic-backed calls, cache writes
(`prompt_tokens_details.cache_creation_tokens`, with the 1-hour share in `cache_creation_token_details`);
`completion_tokens` contains reasoning tokens. One reader therefore serves every backend. (Releases before 1.78
left Anthropic's cache writes out of `prompt_tokens`: that is why the adapter's floor is 1.78.0.)

The true provider and model: the request's model string is routed with LiteLLM's own `get_llm_provider`; the
response's `model` is the one that answered. (With `fallbacks=`, LiteLLM's response does not say which backend
answered — its `_hidden_params` still describe the first — so the span keeps the first model's provider; a
fallback model unknown to that provider is then unpriced, not mispriced.)

LiteLLM's own cost estimate (`_hidden_params["response_cost"]`) is recorded beside ours as
`tokenomics.litellm.response_cost` for comparison; it decides the amount only if the user chose it
(`LiteLLMInstrumentor().instrument(cost_source="litellm")`).
"""

from __future__ import annotations

import functools
from typing import Any

from otel_tokenomics.instrumentation import chat_messages
from otel_tokenomics.instrumentation.chat_completions import ChatCompletionStreamReader, read_chat_completion
from otel_tokenomics.instrumentation.core import Invocation
from otel_tokenomics.instrumentation.litellm.routing import (
    resolve_route,
    route_destination,
    strip_provider_prefix,
)
from otel_tokenomics.instrumentation.request_params import (
    OPENAI_SAMPLING,
    record_integers,
    record_max_tokens,
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
    "LITELLM_RESPONSE_COST",
    "ChatStreamReader",
    "CostSource",
    "inject_stream_usage",
    "read_chat_request",
    "read_chat_response",
    "read_embeddings_request",
    "read_embeddings_response",
    "usage_from",
]

LITELLM_RESPONSE_COST = "tokenomics.litellm.response_cost"


class CostSource:
    """Who decides a LiteLLM call's amount: our price book (default) or LiteLLM's `response_cost`."""

    PRICE_BOOK = "price_book"
    LITELLM = "litellm"
    current = PRICE_BOOK


def usage_from(usage: Any) -> Usage:
    """LiteLLM's `Usage` (OpenAI-inclusive for every backend) → the canonical `Usage`."""
    prompt_details = _field(usage, "prompt_tokens_details")
    output_details = _field(usage, "completion_tokens_details")
    cache_read = _field(prompt_details, "cached_tokens") or _field(usage, "cache_read_input_tokens")
    cache_write = _field(prompt_details, "cache_creation_tokens") or _field(usage, "cache_creation_input_tokens")
    cache_write_1h = _field(_field(prompt_details, "cache_creation_token_details"), "ephemeral_1h_input_tokens")
    return Usage.from_inclusive(
        _field(usage, "prompt_tokens"),
        _field(usage, "completion_tokens"),
        cache_read_tokens=cache_read or 0,
        cache_write_tokens=cache_write or 0,
        cache_write_1h_tokens=cache_write_1h or 0,
        reasoning_tokens=_field(output_details, "reasoning_tokens") or 0,
        input_audio_tokens=_field(prompt_details, "audio_tokens") or 0,
        output_audio_tokens=_field(output_details, "audio_tokens") or 0,
    )


# --- request side --------------------------------------------------------------------------------------------
def _api_base(kwargs: dict[str, Any]) -> str | None:
    return _string(kwargs.get("api_base")) or _string(kwargs.get("base_url"))


def _read_route(invocation: Invocation, kwargs: dict[str, Any]) -> None:
    model = _string(kwargs.get("model"))
    if model is None:
        return
    route = resolve_route(model, _string(kwargs.get("custom_llm_provider")), _api_base(kwargs))
    provider, address, port, self_hosted = route_destination(route, invocation.telemetry.config.provider_hosts)
    invocation.provider = provider
    invocation.server_address = address
    invocation.server_port = port
    invocation.self_hosted = self_hosted
    invocation.request_model = route.model or model


def read_chat_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_route(invocation, kwargs)
    invocation.stream = kwargs.get("stream") is True
    attributes = invocation.request_attributes
    record_numbers(attributes, kwargs.get, OPENAI_SAMPLING)
    record_integers(attributes, kwargs.get, (("seed", attr.GEN_AI_REQUEST_SEED),))
    record_stop_sequences(attributes, kwargs.get("stop"))
    record_max_tokens(invocation, kwargs.get("max_completion_tokens") or kwargs.get("max_tokens"))
    choices = _integer(kwargs.get("n"))
    if choices is not None and choices != 1:
        attributes[attr.GEN_AI_REQUEST_CHOICE_COUNT] = choices
    if invocation.capture_content:
        system, messages = chat_messages.chat_input(kwargs.get("messages"))
        invocation.system_instructions = system or None
        invocation.input_messages = messages


@functools.lru_cache(maxsize=256)
def _accepts_stream_options(model: str, litellm_provider: str | None) -> bool:
    import litellm

    try:
        supported = litellm.get_supported_openai_params(model=model, custom_llm_provider=litellm_provider)
    except Exception:
        return False
    return "stream_options" in (supported or ())


def inject_stream_usage(invocation: Invocation, kwargs: dict[str, Any]) -> bool:
    """Ask for the usage chunk, only where LiteLLM says the backend takes `stream_options` (others reject it)."""
    if kwargs.get("stream_options") is not None:
        return False
    model = _string(kwargs.get("model"))
    if model is None:
        return False
    route = resolve_route(model, _string(kwargs.get("custom_llm_provider")), _api_base(kwargs))
    if not _accepts_stream_options(route.model or model, route.litellm_provider):
        return False
    kwargs["stream_options"] = {"include_usage": True}
    return True


# --- response side -------------------------------------------------------------------------------------------
def _read_response_cost(invocation: Invocation, response: Any) -> None:
    hidden = getattr(response, "_hidden_params", None)
    if not isinstance(hidden, dict):
        return
    cost = _number(hidden.get("response_cost"))
    if cost is not None:
        invocation.attributes[LITELLM_RESPONSE_COST] = cost
        # A 0 is not taken as a price: it is what a model missing from LiteLLM's map can look like.
        if cost > 0 and CostSource.current == CostSource.LITELLM:
            invocation.provider_cost = cost


def _read_identity(invocation: Invocation, response: Any) -> None:
    model = _string(_field(response, "model"))
    if model:
        invocation.response_model = strip_provider_prefix(model)
    response_id = _string(_field(response, "id"))
    if response_id:
        invocation.attributes[attr.GEN_AI_RESPONSE_ID] = response_id


def read_chat_response(invocation: Invocation, response: Any) -> None:
    _read_identity(invocation, response)
    read_chat_completion(invocation, response, usage_from)
    _read_response_cost(invocation, response)


class ChatStreamReader(ChatCompletionStreamReader):
    """`ModelResponseStream` chunks: identity from the first, usage from the last."""

    __slots__ = ()

    def feed(self, chunk: Any) -> bool:
        invocation = self.invocation
        if invocation.response_model is None:
            _read_identity(invocation, chunk)
        carries_content = self.feed_choices(chunk)
        usage = _field(chunk, "usage")
        if usage is None:
            return False
        invocation.usage = usage_from(usage)
        return not carries_content  # the usage-only chunk: hidden only if we asked for it (the core decides)


# --- embeddings ----------------------------------------------------------------------------------------------
def read_embeddings_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    _read_route(invocation, kwargs)
    encoding = _string(kwargs.get("encoding_format"))
    if encoding:
        invocation.request_attributes[attr.GEN_AI_REQUEST_ENCODING_FORMATS] = (encoding,)


def read_embeddings_response(invocation: Invocation, response: Any) -> None:
    _read_identity(invocation, response)
    usage = _field(response, "usage")
    if usage is not None:
        invocation.usage = usage_from(usage)
    data = _field(response, "data")
    if data:
        vector = _field(data[0], "embedding")
        if isinstance(vector, list):
            invocation.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)
    _read_response_cost(invocation, response)
