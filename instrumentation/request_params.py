"""Request parameters → the conventions' `gen_ai.request.*` attributes, shared by every adapter.

SDKs name the same knobs differently (`top_p` / `p`, `seed` / `random_seed`, `stop` / `stop_sequences`, keyword
arguments / a config object), but the rules are one: record only real numbers (never the SDK's NOT_GIVEN sentinels),
stop sequences as a tuple of strings, and max output tokens also on the invocation for the budget estimate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from otel_tokenomics.instrumentation.core import Invocation
from otel_tokenomics.instrumentation.values import integer, number
from otel_tokenomics.semconv import attributes as attr

__all__ = ["OPENAI_SAMPLING", "record_integers", "record_max_tokens", "record_numbers", "record_stop_sequences"]

# The OpenAI-style names most SDKs use for the numeric sampling parameters.
OPENAI_SAMPLING: tuple[tuple[str, str], ...] = (
    ("temperature", attr.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", attr.GEN_AI_REQUEST_TOP_P),
    ("frequency_penalty", attr.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", attr.GEN_AI_REQUEST_PRESENCE_PENALTY),
)


def record_numbers(attributes: dict[str, Any], get: Callable[[str], Any], names: Iterable[tuple[str, str]]) -> None:
    """For each (parameter, attribute) pair: the parameter's value if it is a real number."""
    for key, name in names:
        value = number(get(key))
        if value is not None:
            attributes[name] = value


def record_integers(attributes: dict[str, Any], get: Callable[[str], Any], names: Iterable[tuple[str, str]]) -> None:
    for key, name in names:
        value = integer(get(key))
        if value is not None:
            attributes[name] = value


def record_stop_sequences(attributes: dict[str, Any], stop: Any) -> None:
    """A single stop string or a list of strings, as the conventions' string array."""
    if isinstance(stop, str):
        attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = (stop,)
    elif isinstance(stop, list | tuple) and all(isinstance(item, str) for item in stop):
        attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)


def record_max_tokens(invocation: Invocation, value: Any) -> None:
    """Max output tokens, on the span and on the invocation (a budget's estimate uses it)."""
    max_tokens = integer(value)
    if max_tokens is not None:
        invocation.request_attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        invocation.request_max_tokens = max_tokens
