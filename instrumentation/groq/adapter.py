"""What to wrap in the `groq` SDK, and how to tell its return values apart.

The SDK is Stainless-generated like `openai`: wrapped at the resource classes, where the operation is known and
through which `with_raw_response` and `with_streaming_response` delegate. Groq's raw wrappers are the newer
`APIResponse`/`AsyncAPIResponse` (no `LegacyAPIResponse`): a sync raw response whose body is already read
(`with_raw_response`, not streamed) is read at once through its cached `parse()`; every other raw wrapper is
observed when the user calls `parse()`. Audio endpoints are left out: they bill per second of audio, not per
token. Releases as old as 0.4.1 have no `embeddings` resource (and no `max_completion_tokens` keyword): that target
is then absent and skipped, and their newer response fields (`x_groq.usage`, token details) arrive as untyped dict
extras, which the readers accept.
"""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.core import Endpoint, Invocation, ResultKind, Target
from otel_tokenomics.instrumentation.groq import readers
from otel_tokenomics.semconv.attributes import Operation

__all__ = ["CHAT", "EMBEDDINGS", "GroqAdapter"]

CHAT = Endpoint(Operation.CHAT, readers.read_chat_request, readers.read_chat_response, readers.ChatStreamReader)
EMBEDDINGS = Endpoint(Operation.EMBEDDINGS, readers.read_embeddings_request, readers.read_embeddings_response)

_TARGETS = (
    Target("groq.resources.chat.completions", "Completions.create", CHAT),
    Target("groq.resources.chat.completions", "AsyncCompletions.create", CHAT, is_async=True),
    Target("groq.resources.embeddings", "Embeddings.create", EMBEDDINGS),
    Target("groq.resources.embeddings", "AsyncEmbeddings.create", EMBEDDINGS, is_async=True),
)


class GroqAdapter:
    name = "groq"
    instruments = ("groq >= 0.4.1",)
    targets = _TARGETS

    def __init__(self) -> None:
        self._types: tuple[Any, ...] | None = None

    def _load_types(self) -> tuple[Any, ...]:
        import groq
        from groq._response import APIResponse, AsyncAPIResponse

        self._types = (groq.Stream, groq.AsyncStream, APIResponse, AsyncAPIResponse)
        return self._types

    def classify(self, result: Any, invocation: Invocation) -> ResultKind:
        stream, async_stream, api_response, async_api_response = self._types or self._load_types()
        if isinstance(result, stream):
            return ResultKind.STREAM
        if isinstance(result, async_stream):
            return ResultKind.ASYNC_STREAM
        if isinstance(result, async_api_response):
            return ResultKind.RAW_DEFERRED_ASYNC
        if isinstance(result, api_response):
            # `with_raw_response` of a plain call has read and closed the body: parse() is cheap and cached.
            read = not invocation.stream and getattr(result.http_response, "is_closed", False) is True
            return ResultKind.RAW_READ if read else ResultKind.RAW_DEFERRED
        return ResultKind.RESPONSE
