"""The contract between the protocol-agnostic fake server and one provider's wire format.

A protocol is a module in this package that exposes ``PROTOCOL``, an instance of :class:`Protocol`. It
declares its routes; each route's handler receives a parsed :class:`FakeRequest` plus the server's shared
:class:`ProviderState` and returns a :class:`FakeResponse` whose body is either ``bytes`` or an iterable of
byte chunks (a stream: SSE, NDJSON, AWS event-stream frames...). The server and ``mock_transport`` never look
inside a body, so a new wire format needs no change outside its own module plus one name in
:data:`BUILTIN_PROTOCOLS`.

Faults (injected status codes, delays, disconnects) are applied *around* the handler by the server, so a
protocol only has to say what its error body looks like (:meth:`Protocol.error_response`) and where its
model name lives (:meth:`Protocol.model_of`, used for the ``fake-error-<status>`` magic models).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from otel_tokenomics.fake_provider.synthesis import PromptCache

__all__ = [
    "BUILTIN_PROTOCOLS",
    "Body",
    "FakeRequest",
    "FakeResponse",
    "Handler",
    "Protocol",
    "ProviderState",
    "Route",
    "load_protocols",
    "sse_event",
]

#: Modules of this package loaded by default, in routing order (first matching route wins).
BUILTIN_PROTOCOLS: tuple[str, ...] = (
    "openai",
    "anthropic",
    "gemini",
    "bedrock",
    "mistral",
    "cohere",
    "groq",
    "ollama",
)

#: A response body: complete bytes, or byte chunks sent (and flushed) one by one as a stream.
Body = bytes | Iterable[bytes]


@dataclass(frozen=True)
class FakeRequest:
    """One request as the fake server saw it; also what ``FakeProvider.requests`` records.

    ``headers`` keys are lower-cased. ``json`` is the parsed body, or ``None`` when the body is empty or not
    JSON (the raw bytes stay in ``body`` for binary protocols). ``path_params`` holds the named groups of
    the route pattern that matched (e.g. ``model`` for providers that put it in the URL).
    """

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any = None
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)
    path_params: Mapping[str, str] = field(default_factory=dict)

    @property
    def json_object(self) -> dict[str, Any]:
        """The body as a dict, or ``{}``: handlers validate fields instead of guarding against lists."""
        return self.json if isinstance(self.json, dict) else {}


@dataclass
class FakeResponse:
    """What a handler answers. ``body`` being anything but ``bytes`` marks a streamed response."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""

    @property
    def is_stream(self) -> bool:
        return not isinstance(self.body, bytes | bytearray)

    @classmethod
    def json_body(cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> FakeResponse:
        """A compact JSON response, the shape nearly every provider uses for non-streamed answers."""
        merged = {"content-type": "application/json", **(headers or {})}
        data = json.dumps(payload, separators=(",", ":")).encode()
        return cls(status=status, headers=merged, body=data)


@dataclass
class ProviderState:
    """Memory shared by every protocol of one fake server; cleared by ``FakeProvider.reset()``."""

    prompt_cache: PromptCache = field(default_factory=PromptCache)

    def reset(self) -> None:
        self.prompt_cache.clear()


#: Turns a parsed request into a response; may raise nothing but bugs (validation errors are responses).
Handler = Callable[[FakeRequest, ProviderState], FakeResponse]


@dataclass(frozen=True)
class Route:
    """``pattern`` is a regular expression matched against the whole path (no query string)."""

    method: str
    pattern: str
    handler: Handler

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method.upper() != self.method.upper():
            return None
        found = re.fullmatch(self.pattern, path)
        return None if found is None else found.groupdict()


class Protocol:
    """Base class for one provider's wire format; subclasses set ``name`` and ``routes``."""

    name: str = "protocol"
    routes: Sequence[Route] = ()

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> FakeResponse:
        """The provider's error body for ``status``; override to match the real provider's shape."""
        return FakeResponse.json_body({"error": {"message": message, "code": status}}, status, headers)

    def model_of(self, request: FakeRequest) -> str | None:
        """The requested model, wherever this provider carries it (URL or body)."""
        model = request.path_params.get("model") or request.json_object.get("model")
        return model if isinstance(model, str) else None


def sse_event(data: Any, event: str | None = None) -> bytes:
    """One Server-Sent Event: an optional ``event:`` line and a ``data:`` line (JSON unless already a
    string, e.g. OpenAI's ``[DONE]``), terminated by the blank line SSE parsers wait for."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {payload}\n\n".encode()


def load_protocols(names: Iterable[str] = BUILTIN_PROTOCOLS) -> list[Protocol]:
    """Import ``PROTOCOL`` from each named module of this package (imported lazily, on first server)."""
    return [importlib.import_module(f"{__name__}.{name}").PROTOCOL for name in names]
