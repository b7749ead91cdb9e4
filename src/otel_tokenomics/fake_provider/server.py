"""The protocol-agnostic side of the fake provider: routing, request recording, fault injection, HTTP.

:class:`Dispatcher` turns a raw request into a :class:`Plan` (a response plus the faults to apply while
delivering it) and is shared by the socket server here and by ``mock_transport``, so both behave the same.
:class:`FakeProvider` serves a dispatcher over real HTTP/1.1 on a background thread: keep-alive for ordinary
responses (a benchmark loop reuses connections instead of exhausting ephemeral ports) and chunked transfer
encoding, flushed chunk by chunk, for streams (so SDKs really read them incrementally).

Faults are requested per call, by header or — where a caller cannot set headers — by magic model name:

==============================  ==============================  ==========================================
header                          model                           effect
==============================  ==============================  ==========================================
``x-fake-status: 429``          ``fake-error-429``              that status with the protocol's error body
                                                                (``retry-after: 1`` on 429)
``x-fake-delay: 2.5``           ``fake-delay-2.5``              wait that many seconds before answering
``x-fake-fault: disconnect``    ``fake-disconnect``             close the socket without any response
``x-fake-fault:                 ``fake-disconnect-mid-stream``  send :data:`MID_STREAM_CHUNKS` chunks (or
disconnect-mid-stream``                                         half a plain body), then close the socket
==============================  ==============================  ==========================================

Request headers are recorded in memory for tests but never logged: they carry API keys. Logged lines carry
no query string either (some providers put the key there).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from otel_tokenomics.fake_provider.protocols import (
    FakeRequest,
    FakeResponse,
    Protocol,
    ProviderState,
    load_protocols,
)

__all__ = [
    "DISCONNECT",
    "DISCONNECT_MID_STREAM",
    "MID_STREAM_CHUNKS",
    "Dispatcher",
    "FakeProvider",
    "Plan",
]

DISCONNECT = "disconnect"
DISCONNECT_MID_STREAM = "disconnect-mid-stream"
#: Chunks delivered before a ``disconnect-mid-stream`` fault drops the connection.
MID_STREAM_CHUNKS = 3

_FAULTS = (DISCONNECT, DISCONNECT_MID_STREAM)
_MAGIC_MODEL = re.compile(r"fake-(?:error-(?P<status>\d{3})|delay-(?P<delay>\d+(?:\.\d+)?)|(?P<fault>disconnect.*))")
_logger = logging.getLogger(__name__)


@dataclass
class Plan:
    """How to deliver one answer: ``response`` is ``None`` when the fault is to answer nothing at all."""

    response: FakeResponse | None
    delay: float = 0.0
    fault: str | None = None


class _FaultError(Exception):
    """A malformed ``x-fake-*`` header: answered as a 400 so the test author sees the typo at once."""


class Dispatcher:
    """Routes requests to protocols, records them and decides the faults; knows nothing about sockets."""

    def __init__(self, protocols: Iterable[Protocol], log: Callable[[str], None] | None = None) -> None:
        self.protocols = list(protocols)
        self.state = ProviderState()
        self._log = log
        self._requests: list[FakeRequest] = []
        self._lock = threading.Lock()

    @property
    def requests(self) -> list[FakeRequest]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
        self.state.reset()

    def dispatch(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Plan:
        """Answer one request; ``target`` is the request target (path plus optional query string)."""
        split = urlsplit(target)
        headers = {name.lower(): value for name, value in headers.items()}
        parsed: Any = None
        if body:
            with contextlib.suppress(ValueError):
                parsed = json.loads(body)
        base = FakeRequest(method.upper(), split.path, headers, parsed, body, dict(parse_qsl(split.query)))
        protocol, route, params = self._route(base)
        request = dataclasses.replace(base, path_params=params or {})
        with self._lock:
            self._requests.append(request)
        if protocol is None or route is None:
            plan = Plan(_unknown_route(request))
        else:
            plan = self._plan(protocol, route.handler, request)
        if self._log is not None:
            outcome = plan.fault if plan.response is None else str(plan.response.status)
            self._log(f"{request.method} {request.path} -> {outcome}{' (' + plan.fault + ')' if plan.fault else ''}")
        return plan

    def _route(self, request: FakeRequest) -> tuple[Protocol | None, Any, dict[str, str] | None]:
        for protocol in self.protocols:
            for route in protocol.routes:
                params = route.match(request.method, request.path)
                if params is not None:
                    return protocol, route, params
        return None, None, None

    def _plan(self, protocol: Protocol, handler: Any, request: FakeRequest) -> Plan:
        try:
            status, delay, fault = _requested_faults(request.headers, protocol.model_of(request))
        except _FaultError as error:
            return Plan(protocol.error_response(400, str(error)))
        if fault == DISCONNECT:
            return Plan(None, delay, fault)
        if status is not None:
            extra = {"retry-after": "1"} if status == 429 else {}
            message = f"Injected fault: HTTP {status} from the fake provider."
            return Plan(protocol.error_response(status, message, extra), delay, fault)
        try:
            response = handler(request, self.state)
        except Exception:
            _logger.exception("fake provider handler failed for %s %s", request.method, request.path)
            response = protocol.error_response(500, "The fake provider failed to handle this request.")
        return Plan(response, delay, fault)


def _unknown_route(request: FakeRequest) -> FakeResponse:
    message = f"Unknown request URL: {request.method} {request.path}."
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": "unknown_url"}}
    return FakeResponse.json_body(body, 404)


def _requested_faults(headers: Mapping[str, str], model: str | None) -> tuple[int | None, float, str | None]:
    """``(status, delay seconds, fault)`` asked for by ``x-fake-*`` headers, else by a magic model name."""
    status_text = headers.get("x-fake-status")
    delay_text = headers.get("x-fake-delay")
    fault = headers.get("x-fake-fault")
    magic = _MAGIC_MODEL.fullmatch(model or "")
    if magic is not None:
        status_text = status_text or magic.group("status")
        delay_text = delay_text or magic.group("delay")
        fault = fault or magic.group("fault")
    status = None
    if status_text is not None:
        if not status_text.strip().isdigit() or not 400 <= int(status_text) <= 599:
            raise _FaultError(f"x-fake-status must be an HTTP error status (400-599), got {status_text!r}.")
        status = int(status_text)
    delay = 0.0
    if delay_text is not None:
        try:
            delay = float(delay_text)
        except ValueError:
            raise _FaultError(f"x-fake-delay must be a number of seconds, got {delay_text!r}.") from None
        if not 0 <= delay <= 3600:
            raise _FaultError(f"x-fake-delay must be between 0 and 3600 seconds, got {delay_text!r}.")
    if fault is not None and fault not in _FAULTS:
        raise _FaultError(f"x-fake-fault must be one of {', '.join(_FAULTS)}, got {fault!r}.")
    return status, delay, fault


# --------------------------------------------------------------------------------------------------- HTTP


class _Server(ThreadingHTTPServer):
    """A threading server that can be stopped while clients still hold keep-alive connections open."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, active: bool) -> None:
        with self._connections_lock:
            if active:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (reset, broken pipe) is routine here; anything else goes to logging, not a bare
        traceback on stderr."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        _logger.exception("fake provider connection from %s failed", client_address[0])

    def close_connections(self) -> None:
        """Wake every handler thread blocked on an idle keep-alive connection so it exits now."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle's algorithm holds the body behind the headers until the client's delayed ACK
        # (~40 ms a request): fatal for a benchmark loop and for streams meant to arrive chunk by chunk.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default access log: the dispatcher logs its own lines, without query strings."""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "Malformed request body")
            return
        plan = self.server.dispatcher.dispatch(self.command, self.path, dict(self.headers.items()), body)
        if plan.delay and self.server.stopping.wait(plan.delay):
            self._drop()
            return
        if plan.response is None:
            self._drop()
            return
        try:
            if plan.response.is_stream:
                self._send_stream(plan.response, plan.fault == DISCONNECT_MID_STREAM)
            else:
                self._send_bytes(plan.response, plan.fault == DISCONNECT_MID_STREAM)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-answer (e.g. broke out of a stream)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _start(self, response: FakeResponse, extra: Mapping[str, str]) -> None:
        self.send_response(response.status)
        for name, value in {**response.headers, **extra}.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_bytes(self, response: FakeResponse, cut: bool) -> None:
        data = bytes(response.body)  # type: ignore[arg-type]
        self._start(response, {"content-length": str(len(data))})
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self._drop()
            return
        self.wfile.write(data)

    def _send_stream(self, response: FakeResponse, cut: bool) -> None:
        self._start(response, {"transfer-encoding": "chunked"})
        for sent, chunk in enumerate(response.body):
            if (cut and sent == MID_STREAM_CHUNKS) or self.server.stopping.is_set():
                self._drop()
                return
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def _drop(self) -> None:
        """End the connection without (the rest of) an answer, as a crashed upstream or a proxy would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)


class FakeProvider:
    """A fake LLM provider on a local port, served from a background thread.

    Constructing it binds nothing; :meth:`start` (or ``with``) does. An unstarted instance still records
    what :func:`~otel_tokenomics.fake_provider.mock_transport` sends through it, so tests can share one
    recording API between socket and socket-less runs.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        protocols: Iterable[Protocol] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.dispatcher = Dispatcher(load_protocols() if protocols is None else protocols, log)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind and serve; raises ``OSError`` if the port is taken."""
        if self._server is not None:
            return self
        server_class = _Server6 if ":" in self.host else _Server
        self._server = server_class((self.host, self._requested_port), self.dispatcher)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-provider",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open connections, interrupting delays and streams in progress."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeProvider is not started; use start() or a with-block")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def requests(self) -> list[FakeRequest]:
        """Requests received so far, oldest first (a snapshot; safe to use while requests continue)."""
        return self.dispatcher.requests

    def reset(self) -> None:
        """Forget recorded requests and the prompt-cache memory, e.g. between tests sharing a server."""
        self.dispatcher.reset()
