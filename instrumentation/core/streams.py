"""Transparent stream proxies that end the call's span exactly once, however the stream ends.

A stream can end by exhaustion, by an error, by `close()`/`aclose()`, by leaving a `with` block (also when the
user's own code raises or `break`s inside it), or by being dropped unread. Peers that only watch for
`StopIteration` lose the span (and the cost) in all the other cases. The proxy is a `wrapt.ObjectProxy`, so
`isinstance(stream, openai.Stream)` still holds and every attribute the SDK offers (`.response`, helpers)
passes through; `__enter__` returns the proxy, not the bare stream, so the `with` form is observed too.
"""

from __future__ import annotations

from typing import Any

import wrapt

from otel_tokenomics.instrumentation.core.guard import report_internal_error
from otel_tokenomics.instrumentation.core.invocation import Invocation

__all__ = ["AsyncStreamProxy", "SyncStreamProxy"]


def _finish_on_gc(invocation: Invocation) -> None:
    if not invocation.finished:
        try:
            invocation.finish(completed=False)
        except Exception:
            report_internal_error("stream finalizer")


class SyncStreamProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, stream: Any, invocation: Invocation) -> None:
        super().__init__(stream)
        self._self_invocation = invocation

    def __iter__(self) -> SyncStreamProxy:
        return self

    def __next__(self) -> Any:
        invocation = self._self_invocation
        while True:
            try:
                chunk = self.__wrapped__.__next__()
            except StopIteration:
                invocation.finish(completed=True)
                raise
            except BaseException as error:
                invocation.fail(error)
                raise
            if not invocation.on_chunk(chunk):
                return chunk

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_invocation.finish(completed=False)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_invocation.finish(completed=False)

    def __del__(self) -> None:
        _finish_on_gc(self._self_invocation)


class AsyncStreamProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, stream: Any, invocation: Invocation) -> None:
        super().__init__(stream)
        self._self_invocation = invocation

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        invocation = self._self_invocation
        while True:
            try:
                chunk = await self.__wrapped__.__anext__()
            except StopAsyncIteration:
                invocation.finish(completed=True)
                raise
            except BaseException as error:
                invocation.fail(error)
                raise
            if not invocation.on_chunk(chunk):
                return chunk

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_invocation.finish(completed=False)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_invocation.finish(completed=False)

    async def aclose(self) -> None:
        try:
            closer = getattr(self.__wrapped__, "aclose", None) or self.__wrapped__.close
            await closer()
        finally:
            self._self_invocation.finish(completed=False)

    def __del__(self) -> None:
        _finish_on_gc(self._self_invocation)
