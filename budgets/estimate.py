"""Estimating a call's tokens before it is sent, so an enforced budget can refuse it while nothing is billed yet.

The heuristic is deliberately simple and provider-independent, so no adapter has to implement it:

* input tokens = ceil(characters of every string in the request / 4) + 4 per message-like item. It walks the
  call's keyword arguments (messages, system prompts, `input`, `prompt`, tool definitions: they are all
  billed as input) and skips the keys that are not sent as text (model, headers, timeouts, ...). English text
  averages about 4 characters a token for the GPT and Claude tokenizers; code and other languages run higher, so
  estimates err on the low side there — which is why the ledger reconciles every call with its real usage.
* output tokens = the request's max output tokens when it sets one (an upper bound), else `default_output_tokens`
  (1024); 0 for embeddings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_tokenomics.semconv.attributes import Operation
from otel_tokenomics.semconv.usage import Usage

__all__ = ["CHARS_PER_TOKEN", "DEFAULT_OUTPUT_TOKENS", "ITEM_OVERHEAD_TOKENS", "estimate_usage", "prompt_size"]

CHARS_PER_TOKEN = 4
ITEM_OVERHEAD_TOKENS = 4
DEFAULT_OUTPUT_TOKENS = 1024
_NOT_PROMPT = frozenset(
    {
        "model",
        "modelId",
        "extra_headers",
        "extra_query",
        "extra_body",
        "timeout",
        "stream",
        "stream_options",
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "temperature",
        "top_p",
        "top_k",
        "n",
        "seed",
        "stop",
        "user",
        "metadata",
        "service_tier",
        "encoding_format",
        "dimensions",
        "response_format",
    }
)
_MAX_DEPTH = 12


def prompt_size(kwargs: Mapping[str, Any]) -> tuple[int, int]:
    """(characters of text, number of message-like items) in a call's keyword arguments."""
    chars = 0
    items = 0
    stack: list[tuple[Any, int]] = [(value, 0) for key, value in kwargs.items() if key not in _NOT_PROMPT]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            chars += len(value)
        elif isinstance(value, Mapping):
            if "role" in value or "content" in value:
                items += 1
            if depth < _MAX_DEPTH:
                stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list | tuple) and depth < _MAX_DEPTH:
            stack.extend((item, depth + 1) for item in value)
    return chars, items


def estimate_usage(
    kwargs: Mapping[str, Any], operation: str, max_output_tokens: int | None, default_output_tokens: int
) -> Usage:
    chars, items = prompt_size(kwargs)
    input_tokens = -(-chars // CHARS_PER_TOKEN) + ITEM_OVERHEAD_TOKENS * items
    if operation == Operation.EMBEDDINGS:
        output_tokens = 0
    else:
        output_tokens = max_output_tokens if max_output_tokens is not None else default_output_tokens
    return Usage.from_inclusive(max(input_tokens, 1), output_tokens)
