"""What to wrap in the `google-genai` SDK, and how to tell its return values apart.

Wrapped at the public `Models`/`AsyncModels` methods (`client.models.*`, `client.aio.models.*`), the seam where
one user call is one operation: `generate_content` may send several requests through the private
`_generate_content` (automatic function calling, automatic continuation), and wrapping that instead would give
one span per round trip. `Chat.send_message*` delegates to these methods, so chats are covered too. Only the
public methods are wrapped, so the nested-call rule of the core never has to drop an inner span.

Streams: the sync `generate_content_stream` is a generator function and the async one returns an async
generator; neither sends anything until iterated, so request errors surface inside the stream proxy, which
ends the span with them.
"""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.core import Endpoint, Invocation, ResultKind, Target
from otel_tokenomics.instrumentation.google_genai import readers
from otel_tokenomics.semconv.attributes import Operation

__all__ = ["EMBED", "GENERATE", "GENERATE_STREAM", "GoogleGenAIAdapter"]

GENERATE = Endpoint(Operation.GENERATE_CONTENT, readers.read_generate_request, readers.read_generate_response)
GENERATE_STREAM = Endpoint(
    Operation.GENERATE_CONTENT,
    readers.read_generate_stream_request,
    readers.read_generate_response,
    readers.GenerateStreamReader,
)
EMBED = Endpoint(Operation.EMBEDDINGS, readers.read_embed_request, readers.read_embed_response)

_MODULE = "google.genai.models"
_TARGETS = (
    Target(_MODULE, "Models.generate_content", GENERATE),
    Target(_MODULE, "Models.generate_content_stream", GENERATE_STREAM),
    Target(_MODULE, "Models.embed_content", EMBED),
    Target(_MODULE, "AsyncModels.generate_content", GENERATE, is_async=True),
    Target(_MODULE, "AsyncModels.generate_content_stream", GENERATE_STREAM, is_async=True),
    Target(_MODULE, "AsyncModels.embed_content", EMBED, is_async=True),
)


class GoogleGenAIAdapter:
    name = "google_genai"
    instruments = ("google-genai >= 1.8.0",)
    targets = _TARGETS

    def classify(self, result: Any, invocation: Invocation) -> ResultKind:
        if not invocation.stream:
            return ResultKind.RESPONSE
        return ResultKind.ASYNC_STREAM if hasattr(result, "__anext__") else ResultKind.STREAM
