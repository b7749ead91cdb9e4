"""What to wrap in the `cohere` SDK (v2 API), and how to tell its return values apart.

The seam is `cohere.v2.client.V2Client`/`AsyncV2Client`: `ClientV2`/`AsyncClientV2` inherit their v2 methods
from them and `Client().v2` is an instance of them, so one class-level wrapper covers every way to reach the v2
API, and one user call is one wrapped call. The raw clients (`client.with_raw_response.chat(...)`) are wrapped
too, for users who call them directly; when the high-level client delegates to them the core's nested-call rule
keeps a single span.

`chat_stream` is a generator function (an *async* generator function on the async client): calling it sends
nothing and returns the generator, so it is wrapped with a *sync* wrapper on both clients and the generator is
proxied; the request is sent, and fails, on first iteration, which the stream proxy observes. The raw
`with_raw_response.chat_stream(...)` is a context manager yielding an `HttpResponse` whose `.data` is the
stream; it is not wrapped, because `V2Client.chat_stream` enters it lazily, outside the wrapper's call, and
wrapping both would give two spans for one high-level call.

Operation names: `chat`, `embeddings`, and `rerank` for rerank (not in the conventions' enum, which has no
ranking operation).
"""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.cohere import readers
from otel_tokenomics.instrumentation.core import Endpoint, Invocation, ResultKind, Target
from otel_tokenomics.semconv.attributes import Operation

__all__ = ["CHAT", "CHAT_STREAM", "EMBEDDINGS", "RERANK", "RERANK_OPERATION", "CohereAdapter"]

RERANK_OPERATION = "rerank"

CHAT = Endpoint(Operation.CHAT, readers.read_chat_request, readers.read_chat_response)
CHAT_STREAM = Endpoint(
    Operation.CHAT, readers.read_chat_stream_request, readers.read_chat_response, readers.ChatStreamReader
)
EMBEDDINGS = Endpoint(Operation.EMBEDDINGS, readers.read_embed_request, readers.read_embed_response)
RERANK = Endpoint(RERANK_OPERATION, readers.read_rerank_request, readers.read_rerank_response)

_CLIENT = "cohere.v2.client"
_RAW = "cohere.v2.raw_client"
_TARGETS = (
    Target(_CLIENT, "V2Client.chat", CHAT),
    Target(_CLIENT, "V2Client.chat_stream", CHAT_STREAM),
    Target(_CLIENT, "V2Client.embed", EMBEDDINGS),
    Target(_CLIENT, "V2Client.rerank", RERANK),
    Target(_CLIENT, "AsyncV2Client.chat", CHAT, is_async=True),
    Target(_CLIENT, "AsyncV2Client.chat_stream", CHAT_STREAM),  # returns an async generator: not awaited
    Target(_CLIENT, "AsyncV2Client.embed", EMBEDDINGS, is_async=True),
    Target(_CLIENT, "AsyncV2Client.rerank", RERANK, is_async=True),
    Target(_RAW, "RawV2Client.chat", CHAT),
    Target(_RAW, "RawV2Client.embed", EMBEDDINGS),
    Target(_RAW, "RawV2Client.rerank", RERANK),
    Target(_RAW, "AsyncRawV2Client.chat", CHAT, is_async=True),
    Target(_RAW, "AsyncRawV2Client.embed", EMBEDDINGS, is_async=True),
    Target(_RAW, "AsyncRawV2Client.rerank", RERANK, is_async=True),
)


class CohereAdapter:
    name = "cohere"
    instruments = ("cohere >= 5.17.0",)
    targets = _TARGETS

    def classify(self, result: Any, invocation: Invocation) -> ResultKind:
        if invocation.stream:
            if hasattr(result, "__anext__"):
                return ResultKind.ASYNC_STREAM
            if hasattr(result, "__next__"):
                return ResultKind.STREAM
        # Raw clients return an `HttpResponse` whose `.data` is already parsed: the readers unwrap it.
        return ResultKind.RESPONSE
