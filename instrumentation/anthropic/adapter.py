"""What to wrap in the `anthropic` SDK, and how to tell its return values apart.

`messages.create` and `messages.parse` (and the beta twins) are wrapped at the resource classes, where the
operation is known; `with_raw_response` / `with_streaming_response` and the tool runner's and threads' turns all
call them. The Vertex and Bedrock beta resources copy those functions into their own classes at import time, so
those copies are wrapped too.

`messages.stream()` does NOT call `create()`: it prepares a `client.post` request and sends it when its
manager is entered. The seam is therefore the manager's `__enter__`/`__aenter__`, where the request really
leaves (so the span times the request, and an HTTP error at entry fails it). The `MessageStream` it returns is
handed back unchanged; only its raw event stream is swapped for our proxy, so `text_stream`,
`get_final_message()`, `until_done()`, iteration and `close()` all pass through it. Nested instrumented calls
collapse into the outermost span (core rule), so there is exactly one span per request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from otel_tokenomics.instrumentation.anthropic import readers
from otel_tokenomics.instrumentation.core import Endpoint, Invocation, ResultKind, Target
from otel_tokenomics.semconv.attributes import Operation

__all__ = ["AnthropicAdapter"]

MESSAGES = Endpoint(
    Operation.CHAT, readers.read_message_request, readers.read_message_response, readers.MessageStreamReader
)
STREAM_HELPER = Endpoint(
    Operation.CHAT, readers.read_stream_helper_request, readers.read_message_response, readers.MessageStreamReader
)
_RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"


def _select_stream_helper(
    instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Endpoint | None, dict[str, Any]]:
    """The entered manager's pending request body, or pass-through when it has none we can read."""
    pending = readers.pending_stream_request(instance)
    return (STREAM_HELPER, pending[1]) if pending is not None else (None, {})


def _resource_targets(module: str, sync_class: str, async_class: str) -> tuple[Target, ...]:
    return tuple(
        Target(module, f"{owner}.{method}", MESSAGES, is_async=owner == async_class)
        for owner in (sync_class, async_class)
        for method in ("create", "parse")
    )


def _manager_targets(module: str, sync_class: str, async_class: str) -> tuple[Target, ...]:
    return (
        Target(module, f"{sync_class}.__enter__", select=_select_stream_helper),
        Target(module, f"{async_class}.__aenter__", is_async=True, select=_select_stream_helper),
    )


_TARGETS = (
    *_resource_targets("anthropic.resources.messages", "Messages", "AsyncMessages"),
    *_resource_targets("anthropic.resources.beta.messages", "Messages", "AsyncMessages"),
    *_resource_targets("anthropic.lib.vertex._beta_messages", "Messages", "AsyncMessages"),
    *_resource_targets("anthropic.lib.bedrock._beta_messages", "Messages", "AsyncMessages"),
    *_manager_targets("anthropic.lib.streaming._messages", "MessageStreamManager", "AsyncMessageStreamManager"),
    *_manager_targets(
        "anthropic.lib.streaming._beta_messages", "BetaMessageStreamManager", "BetaAsyncMessageStreamManager"
    ),
)


class AnthropicAdapter:
    name = "anthropic"
    instruments = ("anthropic >= 1.0.0",)
    targets = _TARGETS

    def __init__(self) -> None:
        self._types: tuple[Any, ...] | None = None

    def _load_types(self) -> tuple[Any, ...]:
        import anthropic
        from anthropic._response import APIResponse, AsyncAPIResponse
        from anthropic.lib.streaming import AsyncMessageStream, MessageStream

        sync_helpers: tuple[type, ...] = (MessageStream,)
        async_helpers: tuple[type, ...] = (AsyncMessageStream,)
        try:
            from anthropic.lib.streaming._beta_messages import BetaAsyncMessageStream, BetaMessageStream
        except ImportError:  # pragma: no cover - SDKs before the beta stream helpers
            pass
        else:
            sync_helpers += (BetaMessageStream,)
            async_helpers += (BetaAsyncMessageStream,)
        try:  # 0.x `with_raw_response` returned it (below our 1.0 floor); 1.x/2.x return `APIResponse`
            from anthropic._legacy_response import LegacyAPIResponse
        except ImportError:
            legacy: tuple[type, ...] = ()
        else:
            legacy = (LegacyAPIResponse,)
        self._types = (
            anthropic.Stream,
            anthropic.AsyncStream,
            sync_helpers,
            async_helpers,
            APIResponse,
            AsyncAPIResponse,
            legacy,
        )
        return self._types

    def classify(self, result: Any, invocation: Invocation) -> ResultKind:
        stream, async_stream, helpers, async_helpers, api_response, async_api_response, legacy = (
            self._types or self._load_types()
        )
        if isinstance(result, stream):
            return ResultKind.STREAM
        if isinstance(result, async_stream):
            return ResultKind.ASYNC_STREAM
        if isinstance(result, helpers):
            return ResultKind.EMBEDDED_STREAM
        if isinstance(result, async_helpers):
            return ResultKind.EMBEDDED_ASYNC_STREAM
        if isinstance(result, legacy):
            # A legacy raw response's plain body is read and its parse() cached; a raw stream's is unread.
            return ResultKind.RAW_DEFERRED if invocation.stream else ResultKind.RAW_READ
        if isinstance(result, async_api_response):
            return ResultKind.RAW_DEFERRED_ASYNC
        if isinstance(result, api_response):
            # `with_raw_response` reads a plain body before returning (parse() is then cheap and cached);
            # `with_streaming_response` and raw streams leave the body unread until the user parses.
            mode = result.http_response.request.headers.get(_RAW_RESPONSE_HEADER)
            return ResultKind.RAW_READ if mode == "raw" and not invocation.stream else ResultKind.RAW_DEFERRED
        return ResultKind.RESPONSE

    def embed_stream(self, result: Any, wrap: Callable[[Any], Any]) -> Any:
        """A `MessageStream` helper: proxy the raw event stream it reads, keep the helper itself."""
        result._raw_stream = wrap(result._raw_stream)
        return result
