"""What a provider adapter declares. The core does everything else.

An adapter module lists `Target`s (which SDK methods to wrap) and, per kind of request, an `Endpoint` (how to
read the request's parameters, the response and the stream chunks into an `Invocation`). Readers only *read*:
they fill fields and attributes; span lifecycle, metrics, cost, content gating and error isolation are the
core's. A reader that raises is contained by the core, so readers are written plainly, without try/except.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from otel_tokenomics.instrumentation.core.invocation import Invocation
    from otel_tokenomics.semconv.usage import Usage

__all__ = ["CallGuard", "Endpoint", "ProviderAdapter", "ResultKind", "StreamReader", "Target"]


class ResultKind(Enum):
    """What an SDK method returned, as far as the core's handling goes."""

    RESPONSE = "response"  # a parsed response object: read it and end the span now
    STREAM = "stream"  # an iterator of chunks: proxy it, end the span when it ends
    ASYNC_STREAM = "async_stream"
    RAW_READ = "raw_read"  # a raw wrapper whose body is already read; `.parse()` is cheap and cached
    RAW_DEFERRED = "raw_deferred"  # a raw wrapper whose `.parse()` reads the body (or returns a stream) later
    RAW_DEFERRED_ASYNC = "raw_deferred_async"  # same, with an `async def parse()`
    EMBEDDED_STREAM = "embedded_stream"  # a response holding a stream (Bedrock's {"stream": ...}): see below
    EMBEDDED_ASYNC_STREAM = "embedded_async_stream"


class StreamReader(Protocol):
    """Accumulates what a stream tells us; one per stream."""

    def feed(self, chunk: Any) -> bool:
        """Read one chunk; return True to hide it from the caller (a usage chunk we asked for ourselves)."""
        ...

    def close(self) -> None:
        """Write what was accumulated (usage, finish reasons, content) into the invocation."""
        ...


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How to read one kind of call (chat, responses, embeddings, ...)."""

    operation: str
    read_request: Callable[[Invocation, Any, dict[str, Any]], None]
    """(invocation, SDK resource instance, call kwargs): set provider, server, model, request attributes."""
    read_response: Callable[[Invocation, Any], None]
    new_stream_reader: Callable[[Invocation], StreamReader] | None = None
    inject_stream_usage: Callable[[Invocation, dict[str, Any]], bool] | None = None
    """Opt-in: ask the provider for usage in the stream; returns True if the kwargs were changed."""
    model_param: str = "model"
    """The call keyword naming the model: a guard may swap it for a cheaper one before the request is sent."""


@dataclass(frozen=True, slots=True)
class Target:
    """One SDK method to wrap: `module`'s `qualname` (e.g. `Completions.create`).

    `select`, for methods that serve many operations (botocore's `BaseClient._make_api_call`), picks the endpoint
    per call from `(instance, args, kwargs)` and returns it with the request's parameter dict (the very dict that
    is sent, so a guard's model swap reaches the provider); `(None, {})` lets the call pass through untouched.
    Without `select`, every call is `endpoint` and its parameters are the call's keyword arguments.

    `absorb_usage` marks a private per-request method that an SDK may call several times inside one public call
    (Gemini's automatic function calling: ask, run the function, ask again). It never owns a span: run inside an
    instrumented non-stream call, the usage it reads from each response (`absorb_usage(response)`, None when
    there is none) is added to that outer call, which then reports the sum of its round trips and prices each one
    on its own (see wrapper.py). Outside an instrumented call it passes straight through.
    """

    module: str
    qualname: str
    endpoint: Endpoint | None = None
    is_async: bool = False
    select: Callable[[Any, tuple[Any, ...], dict[str, Any]], tuple[Endpoint | None, dict[str, Any]]] | None = None
    absorb_usage: Callable[[Any], Usage | None] | None = None


class CallGuard(Protocol):
    """Acts on a call before it is sent and after it ends (budgets). The core stays ignorant of what it checks.

    `before` may change the request (e.g. swap `kwargs[endpoint.model_param]`, updating
    `invocation.request_model`) or raise one of `refusal_types`, which the core records on the span and raises
    to the caller *instead of sending the request*. Any other exception is our bug: contained and logged.
    `after` runs once when the call ends (success, failure or early end), before the span is ended.
    """

    refusal_types: tuple[type[BaseException], ...]

    def before(self, invocation: Invocation, kwargs: dict[str, Any]) -> None: ...

    def after(self, invocation: Invocation, error: BaseException | None) -> None: ...


class ProviderAdapter(Protocol):
    """The per-SDK module's contract."""

    name: str
    instruments: tuple[str, ...]
    targets: Sequence[Target]

    def classify(self, result: Any, invocation: Invocation) -> ResultKind: ...

    # Only for adapters whose classify() can return EMBEDDED_STREAM / EMBEDDED_ASYNC_STREAM:
    # def embed_stream(self, result: Any, wrap: Callable[[Any], Any]) -> Any
    #     """Read the response's metadata if useful, and return `result` with its stream replaced by wrap(stream)."""
