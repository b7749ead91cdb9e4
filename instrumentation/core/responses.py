"""What happens to an SDK method's return value: read it, or hand back a transparent proxy.

Raw responses (`with_raw_response`, `with_streaming_response`) are the classic way instrumentations break apps
(`'LegacyAPIResponse' object has no attribute 'model'`): the return value is a wrapper, not the model. We
never touch a raw wrapper's body on our own unless it is already read; otherwise the proxy waits for the user's
`parse()` and observes its result (which may itself be a stream, then proxied in turn).
"""

from __future__ import annotations

from typing import Any

import wrapt

from otel_tokenomics.instrumentation.core.guard import report_internal_error
from otel_tokenomics.instrumentation.core.invocation import Invocation
from otel_tokenomics.instrumentation.core.spec import ProviderAdapter, ResultKind
from otel_tokenomics.instrumentation.core.streams import AsyncStreamProxy, SyncStreamProxy

__all__ = ["AsyncRawResponseProxy", "RawResponseProxy", "handle_result"]


def handle_result(adapter: ProviderAdapter, invocation: Invocation, result: Any) -> Any:
    """Return `result` itself, or a proxy of it; the span is ended now or by the proxy. Never raises."""
    try:
        kind = adapter.classify(result, invocation)
        if kind is ResultKind.RESPONSE:
            _read_and_finish(invocation, result)
            return result
        if kind is ResultKind.STREAM or kind is ResultKind.ASYNC_STREAM:
            factory = invocation.endpoint.new_stream_reader
            invocation.reader = factory(invocation) if factory is not None else None
            proxy = SyncStreamProxy if kind is ResultKind.STREAM else AsyncStreamProxy
            return proxy(result, invocation)
        if kind is ResultKind.EMBEDDED_STREAM or kind is ResultKind.EMBEDDED_ASYNC_STREAM:
            factory = invocation.endpoint.new_stream_reader
            invocation.reader = factory(invocation) if factory is not None else None
            proxy = SyncStreamProxy if kind is ResultKind.EMBEDDED_STREAM else AsyncStreamProxy
            return adapter.embed_stream(result, lambda stream: proxy(stream, invocation))  # type: ignore[attr-defined]
        if kind is ResultKind.RAW_READ:
            _read_and_finish(invocation, result.parse())
            return result
        if kind is ResultKind.RAW_DEFERRED:
            return RawResponseProxy(result, invocation, adapter)
        if kind is ResultKind.RAW_DEFERRED_ASYNC:
            return AsyncRawResponseProxy(result, invocation, adapter)
    except Exception:
        report_internal_error("result handling")
    invocation.finish()
    return result


def _read_and_finish(invocation: Invocation, response: Any) -> None:
    try:
        invocation.endpoint.read_response(invocation, response)
    except Exception:
        report_internal_error("response reader")
    invocation.finish()


def _observe_parsed(proxy: Any, parsed: Any) -> Any:
    """The user parsed a raw response: read it, or proxy the stream it turned out to be."""
    invocation: Invocation = proxy._self_invocation
    if invocation.finished:
        return parsed
    if proxy._self_parsed is not None:  # parse() again returns the same object: keep handing out our proxy
        return proxy._self_parsed
    try:
        observed = handle_result(proxy._self_adapter, invocation, parsed)
    except Exception:  # pragma: no cover - handle_result contains its own errors
        report_internal_error("raw response parse")
        return parsed
    if observed is not parsed:
        proxy._self_parsed = observed
    return observed


class RawResponseProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, response: Any, invocation: Invocation, adapter: ProviderAdapter) -> None:
        super().__init__(response)
        self._self_invocation = invocation
        self._self_adapter = adapter
        self._self_parsed: Any = None

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            parsed = self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_invocation.fail(error)
            raise
        return _observe_parsed(self, parsed)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_invocation.finish(completed=False)

    def __del__(self) -> None:
        if not self._self_invocation.finished:
            self._self_invocation.finish(completed=False)


class AsyncRawResponseProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, response: Any, invocation: Invocation, adapter: ProviderAdapter) -> None:
        super().__init__(response)
        self._self_invocation = invocation
        self._self_adapter = adapter
        self._self_parsed: Any = None

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            parsed = await self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_invocation.fail(error)
            raise
        return _observe_parsed(self, parsed)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_invocation.finish(completed=False)

    def __del__(self) -> None:
        if not self._self_invocation.finished:
            self._self_invocation.finish(completed=False)
