"""The OpenAI chat-completions response shape, read once for every SDK that copies it (Groq, LiteLLM, ...).

What differs between those SDKs is small and stays in their adapters: how usage is spelled (Groq's
`x_groq.usage`, LiteLLM's cache-write details), what else the identity carries (service tier, a provider prefix on
the model), and whether a usage-only chunk is ours to hide. The choices, finish reasons and streamed text are the
same everywhere, and so is this code. Readers accept SDK models and plain dicts alike (`values.field`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from otel_tokenomics.instrumentation import chat_messages
from otel_tokenomics.instrumentation.core import Invocation
from otel_tokenomics.instrumentation.values import field
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.usage import Usage

__all__ = ["ChatCompletionStreamReader", "read_chat_completion"]


def read_chat_completion(invocation: Invocation, response: Any, usage_of: Callable[[Any], Usage]) -> None:
    """Finish reasons, usage (parsed by the SDK's `usage_of`) and, if captured, the output messages."""
    choices = field(response, "choices") or ()
    reasons = [str(field(choice, "finish_reason")) for choice in choices if field(choice, "finish_reason")]
    if reasons:
        invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    usage = field(response, "usage")
    if usage is not None:
        invocation.usage = usage_of(usage)
    if invocation.capture_content:
        invocation.output_messages = chat_messages.chat_output(choices)


class ChatCompletionStreamReader:
    """Chunks: finish reasons per choice and, if captured, the text; the SDK's reader adds identity and usage."""

    __slots__ = ("finish_reasons", "invocation", "texts")

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.finish_reasons: dict[int, str] = {}
        self.texts: dict[int, list[str]] = {}

    def feed_choices(self, chunk: Any) -> bool:
        """Reads the chunk's choices; True if it carried a finish reason or text (so it is not usage-only)."""
        carries_content = False
        capture = self.invocation.capture_content
        for choice in field(chunk, "choices") or ():
            index = field(choice, "index") or 0
            reason = field(choice, "finish_reason")
            if reason:
                self.finish_reasons[index] = reason
                carries_content = True
            text = field(field(choice, "delta"), "content")
            if text:
                carries_content = True
                if capture:
                    self.texts.setdefault(index, []).append(text)
        return carries_content

    def close(self) -> None:
        invocation = self.invocation
        reasons = [self.finish_reasons[index] for index in sorted(self.finish_reasons)]
        if reasons:
            invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
        if invocation.capture_content and self.texts:
            texts = ["".join(self.texts[index]) for index in sorted(self.texts)]
            invocation.output_messages = chat_messages.text_output(texts, reasons)
