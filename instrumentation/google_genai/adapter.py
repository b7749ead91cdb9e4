"""What to wrap in the `google-genai` SDK, and how to tell its return values apart.

Spans are made at the public `Models`/`AsyncModels` methods (`client.models.*`, `client.aio.models.*`), the seam
where one user call is one operation; `Chat.send_message*` delegates to them, so chats are covered too. But
`generate_content` may send several requests through the private `_generate_content` (automatic function
calling: the model asks for a function call, the SDK runs it and asks again; automatic continuation), and its
final response reports the usage of the last request only. So `_generate_content` is wrapped as well, as an
*absorbing* target (`Target.absorb_usage`, see the core's wrapper.py): no span of its own, each response's usage
added to the public call's, which reports the sum and `tokenomics.usage.requests`. Both names exist from the
floor (1.8.0) to the current 3.x. Streams are not absorbed: `GenerateStreamReader` sums the round trips it sees
in the chunks (`_generate_content_stream` stays unwrapped, so nothing is counted twice). Chats on 3.x run the
function-calling loop themselves, one public `generate_content` per request: a span per request there, each with
its own usage, so totals agree; older chats (1.8 among them) leave the loop to `generate_content` (one span).

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
    Target(_MODULE, "Models._generate_content", absorb_usage=readers.generate_usage),
    Target(_MODULE, "AsyncModels._generate_content", is_async=True, absorb_usage=readers.generate_usage),
)


class GoogleGenAIAdapter:
    name = "google_genai"
    instruments = ("google-genai >= 1.8.0",)
    targets = _TARGETS

    def classify(self, result: Any, invocation: Invocation) -> ResultKind:
        if not invocation.stream:
            return ResultKind.RESPONSE
        return ResultKind.ASYNC_STREAM if hasattr(result, "__anext__") else ResultKind.STREAM
