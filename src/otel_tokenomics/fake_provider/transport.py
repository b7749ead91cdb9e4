"""The fake provider as an httpx transport: same protocols and faults as the server, no sockets.

Unit tests and benchmarks use it to measure instrumentation overhead without loopback-network noise. It is
written against whichever httpx-like module the caller passes (``httpx`` for openai 1.x, ``httpx2`` for
openai 3.x) because those modules' classes are distinct: a stream must subclass *that* module's
``SyncByteStream``/``AsyncByteStream`` or its clients refuse to iterate it.

Faults map onto what httpx itself raises for the real thing: ``disconnect`` → ``RemoteProtocolError``
before any response, ``disconnect-mid-stream`` → ``RemoteProtocolError`` while reading the body, and a delay
at least as long as the request's read timeout → ``ReadTimeout`` after waiting that timeout.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

from otel_tokenomics.fake_provider.server import DISCONNECT_MID_STREAM, MID_STREAM_CHUNKS, Dispatcher, Plan

__all__ = ["mock_transport"]

_NO_RESPONSE = "Server disconnected without sending a response."
_CUT_BODY = "peer closed connection without sending complete message body (incomplete chunked read)"


def mock_transport(httpx_module: ModuleType, provider: Any = None) -> Any:
    """Return ``httpx_module.MockTransport`` answering like the fake provider.

    ``provider`` may be a :class:`~otel_tokenomics.fake_provider.FakeProvider` (started or not) or a
    :class:`Dispatcher` to share its recorded requests and prompt-cache memory; by default the transport
    gets a private one.
    """
    if provider is None:
        from otel_tokenomics.fake_provider.protocols import load_protocols

        dispatcher = Dispatcher(load_protocols())
    else:
        dispatcher = provider if isinstance(provider, Dispatcher) else provider.dispatcher
    return _classes(httpx_module)[0](dispatcher)


@functools.cache
def _classes(httpx: ModuleType) -> tuple[type, type]:
    """The transport and byte-stream classes built on ``httpx``'s own base classes (once per module)."""

    class FakeByteStream(httpx.SyncByteStream, httpx.AsyncByteStream):  # type: ignore[misc,name-defined]
        """Yields the body's chunks; raises like a dropped connection after ``cut_after`` chunks."""

        def __init__(self, chunks: Any, cut_after: int | None, request: Any) -> None:
            self._chunks = chunks
            self._cut_after = cut_after
            self._request = request

        def _items(self) -> Iterator[bytes]:
            for sent, chunk in enumerate(self._chunks):
                if sent == self._cut_after:
                    raise httpx.RemoteProtocolError(_CUT_BODY, request=self._request)
                yield chunk

        def __iter__(self) -> Iterator[bytes]:
            yield from self._items()

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in self._items():
                yield chunk

        def close(self) -> None:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()

        async def aclose(self) -> None:
            self.close()

    class FakeTransport(httpx.MockTransport):  # type: ignore[misc,name-defined]
        """A ``MockTransport`` whose delays sleep without blocking the event loop in async clients."""

        def __init__(self, dispatcher: Dispatcher) -> None:
            super().__init__(self._respond)
            self.dispatcher = dispatcher

        def _plan(self, request: Any) -> tuple[Plan, float, bool]:
            plan = self.dispatcher.dispatch(
                request.method,
                request.url.raw_path.decode("ascii"),
                dict(request.headers.items()),
                request.content,
            )
            timeout = (request.extensions.get("timeout") or {}).get("read")
            times_out = timeout is not None and plan.delay >= timeout
            return plan, (timeout if times_out else plan.delay), times_out

        def _respond(self, request: Any, plan: Plan | None = None, times_out: bool = False) -> Any:
            if plan is None:  # called as a plain MockTransport handler
                plan, _wait, times_out = self._plan(request)
            if times_out:
                raise httpx.ReadTimeout("timed out", request=request)
            if plan.response is None:
                raise httpx.RemoteProtocolError(_NO_RESPONSE, request=request)
            response = plan.response
            cut = plan.fault == DISCONNECT_MID_STREAM
            headers = list(response.headers.items())
            if not response.is_stream and not cut:
                return httpx.Response(response.status, headers=headers, content=response.body, request=request)
            if response.is_stream:
                chunks, cut_after = response.body, MID_STREAM_CHUNKS if cut else None
            else:
                data = bytes(response.body)  # type: ignore[arg-type]
                chunks, cut_after = [data[: len(data) // 2], data[len(data) // 2 :]], 1
            stream = FakeByteStream(iter(chunks), cut_after, request)
            return httpx.Response(response.status, headers=headers, stream=stream, request=request)

        def handle_request(self, request: Any) -> Any:
            request.read()
            plan, wait, times_out = self._plan(request)
            if wait:
                time.sleep(wait)
            return self._respond(request, plan, times_out)

        async def handle_async_request(self, request: Any) -> Any:
            await request.aread()
            plan, wait, times_out = self._plan(request)
            if wait:
                await asyncio.sleep(wait)
            return self._respond(request, plan, times_out)

    return FakeTransport, FakeByteStream
