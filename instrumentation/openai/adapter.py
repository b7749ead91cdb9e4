"""What to wrap in the `openai` SDK, and how to tell its return values apart.

Wrapped at the resource classes (not the client's private `request()`): that is where the operation is known,
and the `stream()` helpers, `with_raw_response` and `with_streaming_response` all delegate to these methods.
`parse()` is wrapped separately because it posts by itself; when one of these calls another, the nested-call
rule of the core keeps a single span.
"""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.core import Endpoint, Invocation, ResultKind, Target
from otel_tokenomics.instrumentation.openai import readers
from otel_tokenomics.semconv.attributes import Operation

__all__ = ["OpenAIAdapter"]

CHAT = Endpoint(
    Operation.CHAT,
    readers.read_chat_request,
    readers.read_chat_response,
    readers.ChatStreamReader,
    readers.inject_stream_usage,
)
RESPONSES = Endpoint(
    Operation.CHAT,
    readers.read_responses_request,
    readers.read_responses_response,
    readers.ResponsesStreamReader,
)
COMPLETIONS = Endpoint(
    Operation.TEXT_COMPLETION,
    readers.read_completion_request,
    readers.read_completion_response,
    readers.CompletionStreamReader,
    readers.inject_stream_usage,
)
EMBEDDINGS = Endpoint(Operation.EMBEDDINGS, readers.read_embeddings_request, readers.read_embeddings_response)

_CHAT_MODULE = "openai.resources.chat.completions"
_TARGETS = (
    Target(_CHAT_MODULE, "Completions.create", CHAT),
    Target(_CHAT_MODULE, "AsyncCompletions.create", CHAT, is_async=True),
    Target(_CHAT_MODULE, "Completions.parse", CHAT),
    Target(_CHAT_MODULE, "AsyncCompletions.parse", CHAT, is_async=True),
    # openai < 1.92 kept parse() under beta.
    Target("openai.resources.beta.chat.completions", "Completions.parse", CHAT),
    Target("openai.resources.beta.chat.completions", "AsyncCompletions.parse", CHAT, is_async=True),
    Target("openai.resources.responses", "Responses.create", RESPONSES),
    Target("openai.resources.responses", "AsyncResponses.create", RESPONSES, is_async=True),
    Target("openai.resources.responses", "Responses.parse", RESPONSES),
    Target("openai.resources.responses", "AsyncResponses.parse", RESPONSES, is_async=True),
    Target("openai.resources.completions", "Completions.create", COMPLETIONS),
    Target("openai.resources.completions", "AsyncCompletions.create", COMPLETIONS, is_async=True),
    Target("openai.resources.embeddings", "Embeddings.create", EMBEDDINGS),
    Target("openai.resources.embeddings", "AsyncEmbeddings.create", EMBEDDINGS, is_async=True),
)


class OpenAIAdapter:
    name = "openai"
    instruments = ("openai >= 1.40.0",)
    targets = _TARGETS

    def __init__(self) -> None:
        self._types: tuple[Any, ...] | None = None

    def _load_types(self) -> tuple[Any, ...]:
        import openai
        from openai._legacy_response import LegacyAPIResponse
        from openai._response import APIResponse, AsyncAPIResponse

        self._types = (openai.Stream, openai.AsyncStream, LegacyAPIResponse, APIResponse, AsyncAPIResponse)
        return self._types

    def classify(self, result: Any, invocation: Invocation) -> ResultKind:
        stream, async_stream, legacy, api_response, async_api_response = self._types or self._load_types()
        if isinstance(result, stream):
            return ResultKind.STREAM
        if isinstance(result, async_stream):
            return ResultKind.ASYNC_STREAM
        if isinstance(result, legacy):
            # A raw stream's body is unread; a raw plain response's body is read and parse() is cached.
            return ResultKind.RAW_DEFERRED if invocation.stream else ResultKind.RAW_READ
        if isinstance(result, async_api_response):
            return ResultKind.RAW_DEFERRED_ASYNC
        if isinstance(result, api_response):
            return ResultKind.RAW_DEFERRED
        return ResultKind.RESPONSE
