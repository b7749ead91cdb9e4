"""What to wrap in `litellm`, and how to tell its return values apart.

Seam: the module attributes `litellm.completion`, `acompletion`, `embedding` and `aembedding`, the functions users
call (`litellm.completion(...)`) and LiteLLM's `Router` looks up on every call. A name imported before
`instrument()` (`from litellm import completion`) keeps the unwrapped function: instrument first, or call through
the module. `litellm.main.completion` is left alone on purpose: `acompletion` runs it in a worker thread, and
wrapping it too would only add a nested call for the core to suppress.

Nested calls: LiteLLM reaches many backends through their SDKs (the `openai` SDK for OpenAI and every
OpenAI-compatible provider). When that SDK is instrumented too, its call happens inside ours, so the core's
outermost-call rule leaves exactly one span, LiteLLM's, priced once with the true provider and model; this also
holds while a stream is being read, when LiteLLM may open the backend's stream lazily.

Both sync and async calls return LiteLLM's `CustomStreamWrapper` for `stream=True`; which way it is iterated
follows from which function made it.
"""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.core import Endpoint, Invocation, ResultKind, Target
from otel_tokenomics.instrumentation.litellm import readers
from otel_tokenomics.semconv.attributes import Operation

__all__ = ["ASYNC_CHAT", "CHAT", "EMBEDDINGS", "LiteLLMAdapter"]

CHAT = Endpoint(
    Operation.CHAT,
    readers.read_chat_request,
    readers.read_chat_response,
    readers.ChatStreamReader,
    inject_stream_usage=readers.inject_stream_usage,
)
# The same reading, kept apart only so that `classify` knows the stream is to be iterated with `async for`.
ASYNC_CHAT = Endpoint(
    Operation.CHAT,
    readers.read_chat_request,
    readers.read_chat_response,
    readers.ChatStreamReader,
    inject_stream_usage=readers.inject_stream_usage,
)
EMBEDDINGS = Endpoint(Operation.EMBEDDINGS, readers.read_embeddings_request, readers.read_embeddings_response)


def _selector(endpoint: Endpoint, positional: tuple[str, ...]) -> Any:
    """Calls may pass `model` (and `messages`/`input`) positionally: name them for the readers.

    With keyword arguments only (the usual form), the readers get the call's own kwargs dict, so a budget guard's
    model swap reaches LiteLLM; with positional ones they get a merged copy and a swap cannot be applied.
    """

    def select(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Endpoint, dict[str, Any]]:
        if not args:
            return endpoint, kwargs
        return endpoint, {**dict(zip(positional, args, strict=False)), **kwargs}

    return select


_CHAT_ARGS = ("model", "messages")
_EMBEDDING_ARGS = ("model", "input")
_TARGETS = (
    Target("litellm", "completion", select=_selector(CHAT, _CHAT_ARGS)),
    Target("litellm", "acompletion", is_async=True, select=_selector(ASYNC_CHAT, _CHAT_ARGS)),
    Target("litellm", "embedding", select=_selector(EMBEDDINGS, _EMBEDDING_ARGS)),
    Target("litellm", "aembedding", is_async=True, select=_selector(EMBEDDINGS, _EMBEDDING_ARGS)),
)


class LiteLLMAdapter:
    name = "litellm"
    instruments = ("litellm >= 1.78.0",)
    targets = _TARGETS

    def __init__(self) -> None:
        self._stream_type: Any = None

    def classify(self, result: Any, invocation: Invocation) -> ResultKind:
        stream_type = self._stream_type
        if stream_type is None:
            from litellm import CustomStreamWrapper

            stream_type = self._stream_type = CustomStreamWrapper
        if isinstance(result, stream_type):
            return ResultKind.ASYNC_STREAM if invocation.endpoint is ASYNC_CHAT else ResultKind.STREAM
        return ResultKind.RESPONSE
