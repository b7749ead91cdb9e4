"""What every SDK's conformance matrix shares: the endings, the application's ways of reading a stream, the
"same result as uninstrumented" run, and the checks every call's span must pass.

Each `tests/test_<sdk>_conformance.py` keeps what is its SDK's own (how it calls the API, what it catches, what
its spans report on success); this module holds the logic that is the same for all of them. It imports no SDK,
so it loads in every test venv, including the oldest-release and single-SDK matrix ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

__all__ = [
    "FAILURES",
    "FAULT_HEADERS",
    "MESSAGES",
    "STAINLESS_STYLES",
    "STREAM_ENDINGS",
    "AppStreams",
    "CallSpan",
    "StainlessSurface",
    "UserError",
    "endings_for",
    "fake_provider_fixture",
    "first_in_loop",
    "instrument_fixture",
    "outcome_of_error",
    "same_as_uninstrumented",
    "same_as_uninstrumented_async",
]

MESSAGES = [{"role": "user", "content": "Say something about token accounting."}]
FAILURES = ("http_4xx", "http_5xx", "connection_error")
# `early_close`: close() after the first chunk; `break_in_with`: break out of a loop inside `with`;
# `gc_unconsumed`: drop a stream after its first chunk; `user_exception`: the app's own error inside the loop.
STREAM_ENDINGS = ("early_close", "break_in_with", "gc_unconsumed", "user_exception")
# The fake provider's fault switches, sent as request headers.
FAULT_HEADERS = {
    "http_4xx": {"x-fake-status": "400"},
    "http_5xx": {"x-fake-status": "500"},
    "connection_error": {"x-fake-fault": "disconnect"},
}
# A `break` out of a bare loop, for SDKs whose streams are no context managers (the suites name it their own way).
_BARE_LOOP_BREAKS = ("break_in_loop", "break_loop")


class UserError(Exception):
    """Raised by 'application code' in the middle of a stream."""


def endings_for(streaming: bool, stream_endings: tuple[str, ...] = STREAM_ENDINGS) -> tuple[str, ...]:
    """Every call can succeed or fail; only a stream can also be left early."""
    return ("success", *FAILURES, *(stream_endings if streaming else ()))


def outcome_of_error(error: BaseException) -> tuple[Any, ...]:
    """What the application can tell of a failure: its type and, for HTTP errors, the status."""
    return ("raised", type(error).__name__, getattr(error, "status_code", None))


def first_in_loop(stream: Any) -> Any:
    """The first item of an iterable that is no iterator itself (botocore's EventStream, LiteLLM's wrapper)."""
    return next(iter(stream))


# --- reading a stream as applications do -------------------------------------------------------------------
@dataclass(frozen=True)
class AppStreams:
    """How applications read one SDK's streams: what they keep of a chunk and how they leave a stream early.

    `enter` is what `with` goes around: "itself" (the stream is its context manager), "closing"
    (`contextlib.closing`/`aclosing` around a generator), or None (no `with`: the app breaks out of a bare loop).
    `close`/`aclose` name the method that ends it early (None: it has none, so it is dropped instead).
    """

    dump: Callable[[Any], Any]
    enter: str | None = "itself"
    first: Callable[[Any], Any] = next
    close: str | None = "close"
    aclose: str = "close"

    def _within(self, stream: Any) -> Any:
        if self.enter == "closing":
            return contextlib.closing(stream)
        return stream if self.enter == "itself" else contextlib.nullcontext(stream)

    def _within_async(self, stream: Any) -> Any:
        if self.enter == "closing":
            return contextlib.aclosing(stream)
        return stream if self.enter == "itself" else contextlib.nullcontext(stream)

    def consume(self, stream: Any, ending: str, seen: list[Any] | None = None) -> list[Any]:
        """Read `stream` to `ending`, returning what the app kept (appended to `seen` when given, so a caller
        whose stream fails half-way still has what was read before)."""
        seen = [] if seen is None else seen
        if ending in ("early_close", "gc_unconsumed"):
            seen.append(self.dump(self.first(stream)))
            if ending == "early_close" and self.close is not None:
                getattr(stream, self.close)()
            else:
                del stream
                gc.collect()
        elif ending == "break_in_with" or ending in _BARE_LOOP_BREAKS:
            within = self._within(stream) if ending == "break_in_with" else contextlib.nullcontext(stream)
            with within as entered:
                # `with` hands back the stream itself (instrumented: a proxy of the same SDK stream)
                assert entered is stream or entered.__wrapped__ is stream.__wrapped__
                for chunk in entered:
                    seen.append(self.dump(chunk))
                    break
        elif ending == "user_exception":
            with self._within(stream):
                for chunk in stream:
                    seen.append(self.dump(chunk))
                    raise UserError("application bug")
        else:
            seen.extend(self.dump(chunk) for chunk in stream)
        return seen

    async def consume_async(self, stream: Any, ending: str) -> list[Any]:
        """`consume` for an async stream: `__anext__`, `async with` and an awaited close."""
        seen: list[Any] = []
        if ending in ("early_close", "gc_unconsumed"):
            seen.append(self.dump(await stream.__anext__()))
            if ending == "early_close":
                await getattr(stream, self.aclose)()
            else:
                del stream
                gc.collect()
        elif ending == "break_in_with" or ending in _BARE_LOOP_BREAKS:
            within = self._within_async(stream) if ending == "break_in_with" else contextlib.nullcontext(stream)
            async with within as entered:
                async for chunk in entered:
                    seen.append(self.dump(chunk))
                    break
        elif ending == "user_exception":
            async with self._within_async(stream):
                async for chunk in stream:
                    seen.append(self.dump(chunk))
                    raise UserError("application bug")
        else:
            seen.extend([self.dump(chunk) async for chunk in stream])
        return seen


# --- the SDKs Stainless generates (openai, anthropic, groq): the same six call styles ---------------------------
STAINLESS_STYLES = ("plain", "stream", "raw", "raw_stream", "streaming_response", "streaming_response_stream")


@dataclass(frozen=True)
class StainlessSurface:
    """What differs between Stainless-generated SDKs for the call styles they share.

    `raw_parse_awaited`: whether an async client's `with_raw_response` result has an awaitable `parse()` (openai's
    is its legacy response, parsed synchronously). `response_types`: the (sync, async) classes the raw and
    streaming responses must be, where a suite checks them.
    """

    streams: AppStreams
    stream_type: type
    async_stream_type: type
    caught: tuple[type[BaseException], ...]
    raw_parse_awaited: bool = True
    response_types: tuple[type, type] | None = None

    def _check_response(self, response: Any, asynchronous: bool) -> None:
        if self.response_types is not None:
            assert isinstance(response, self.response_types[asynchronous])

    def run_sync(self, resource: Any, kwargs: dict[str, Any], style: str, ending: str) -> tuple[Any, ...]:
        """One call to `resource.create` in `style`, read to `ending`; what the application ends up with."""
        dump, consume = self.streams.dump, self.streams.consume
        try:
            if style == "plain":
                return ("ok", dump(resource.create(**kwargs)))
            if style == "stream":
                stream = resource.create(**kwargs)
                assert isinstance(stream, self.stream_type)
                return ("ok", consume(stream, ending))
            if style == "raw":
                raw = resource.with_raw_response.create(**kwargs)
                self._check_response(raw, asynchronous=False)
                return ("ok", raw.status_code, raw.headers.get("content-type"), dump(raw.parse()))
            if style == "raw_stream":
                raw = resource.with_raw_response.create(**kwargs)
                stream = raw.parse()
                assert isinstance(stream, self.stream_type)
                return ("ok", raw.status_code, consume(stream, ending))
            with resource.with_streaming_response.create(**kwargs) as response:
                self._check_response(response, asynchronous=False)
                parsed = response.parse()
                if style == "streaming_response":
                    return ("ok", response.status_code, dump(parsed))
                return ("ok", response.status_code, consume(parsed, ending))
        except (*self.caught, UserError) as error:
            return outcome_of_error(error)

    async def run_async(self, resource: Any, kwargs: dict[str, Any], style: str, ending: str) -> tuple[Any, ...]:
        """`run_sync` on an async client."""
        dump, consume = self.streams.dump, self.streams.consume_async
        try:
            if style == "plain":
                return ("ok", dump(await resource.create(**kwargs)))
            if style == "stream":
                stream = await resource.create(**kwargs)
                assert isinstance(stream, self.async_stream_type)
                return ("ok", await consume(stream, ending))
            if style == "raw":
                raw = await resource.with_raw_response.create(**kwargs)
                self._check_response(raw, asynchronous=True)
                parsed = await raw.parse() if self.raw_parse_awaited else raw.parse()
                return ("ok", raw.status_code, raw.headers.get("content-type"), dump(parsed))
            if style == "raw_stream":
                raw = await resource.with_raw_response.create(**kwargs)
                stream = await raw.parse() if self.raw_parse_awaited else raw.parse()
                assert isinstance(stream, self.async_stream_type)
                return ("ok", raw.status_code, await consume(stream, ending))
            async with resource.with_streaming_response.create(**kwargs) as response:
                self._check_response(response, asynchronous=True)
                parsed = await response.parse()
                if style == "streaming_response":
                    return ("ok", response.status_code, dump(parsed))
                return ("ok", response.status_code, await consume(parsed, ending))
        except (*self.caught, UserError) as error:
            return outcome_of_error(error)


# --- the run: uninstrumented, then instrumented, the same ---------------------------------------------------
def same_as_uninstrumented(run: Callable[[], tuple[Any, ...]], instrument: Callable[[], Any]) -> tuple[Any, ...]:
    """Run the scenario bare, instrument, run it again: the application must get exactly the same result.

    `run` builds its own client each time, so the second one is built after instrumenting, as in an app.
    """
    expected = run()
    gc.collect()
    instrument()
    actual = run()
    gc.collect()  # finalizes dropped streams, whose spans end then
    assert actual == expected
    return actual


def same_as_uninstrumented_async(
    run: Callable[[], Awaitable[tuple[Any, ...]]], instrument: Callable[[], Any]
) -> tuple[Any, ...]:
    """`same_as_uninstrumented` for an async scenario, both runs on one event loop."""

    async def scenario() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        expected = await run()
        gc.collect()
        instrument()
        return expected, await run()

    expected, actual = asyncio.run(scenario())
    gc.collect()
    assert actual == expected
    return actual


# --- the span every call must leave -------------------------------------------------------------------------
@dataclass(frozen=True)
class CallSpan:
    """The one GenAI span a call ended, with the checks every suite makes on it."""

    span: Any
    attributes: dict[str, Any]

    @classmethod
    def only_one(cls, pipeline: Any, *, operation: str, model: str, provider: str) -> CallSpan:
        """The pipeline's single GenAI span, named `{operation} {model}` as the semantic conventions say."""
        spans = pipeline.genai_spans()
        assert len(spans) == 1, f"expected exactly one GenAI span, got {[s.name for s in spans]}"
        span = spans[0]
        attributes = dict(span.attributes or {})
        assert span.name == f"{operation} {model}", span.name
        assert attributes["gen_ai.operation.name"] == operation, attributes
        assert attributes["gen_ai.provider.name"] == provider, attributes
        return cls(span, attributes)

    def check_failed(self, outcome: tuple[Any, ...], *, http_status: bool = True) -> None:
        """A failed call: an error span named after the exception the app got, never a cost. `http_status`: the
        outcome's third item is the HTTP status the span must carry (when the failure had one)."""
        attributes = self.attributes
        assert outcome[0] == "raised", outcome
        assert self.span.status.status_code.name == "ERROR", self.span.status
        assert attributes["error.type"] == outcome[1], attributes
        if http_status and outcome[2] is not None:
            assert attributes["http.response.status_code"] == outcome[2], attributes
        assert "gen_ai.usage.cost.amount" not in attributes, attributes

    def check_not_failed(self, *, streaming: bool, ending: str, first_chunk: bool = True) -> None:
        """A call the app did not see fail (a stream it left early included): no error; a stream says whether it
        was read to the end and, when something was read (`first_chunk`), when its first chunk came."""
        attributes = self.attributes
        assert self.span.status.status_code.name == "UNSET", self.span.status
        assert "error.type" not in attributes, attributes
        if streaming:
            assert attributes["gen_ai.request.stream"] is True, attributes
            assert attributes["tokenomics.stream.completed"] is (ending == "success"), attributes
            if first_chunk:
                assert attributes["gen_ai.response.time_to_first_chunk"] > 0, attributes

    def check_priced(self) -> None:
        """A call read to the end: its tokens both ways and a cost from the catalog."""
        attributes = self.attributes
        assert attributes["gen_ai.usage.input_tokens"] > 0, attributes
        assert attributes["gen_ai.usage.output_tokens"] > 0, attributes
        assert attributes["tokenomics.cost.status"] == "priced", attributes
        assert attributes["gen_ai.usage.cost.amount"] > 0, attributes

    def check_unpriced_without_usage(self) -> None:
        """A stream left before its usage arrived is unpriced, and says why; never priced at 0."""
        attributes = self.attributes
        assert attributes["tokenomics.usage.reported"] is False, attributes
        assert attributes["tokenomics.cost.status"] == "unpriced", attributes
        assert attributes["tokenomics.cost.unpriced_reason"] == "no_usage", attributes
        assert "gen_ai.usage.cost.amount" not in attributes, attributes


# --- fixtures ------------------------------------------------------------------------------------------------
def fake_provider_fixture(name: str, protocol: str) -> Any:
    """A module-scoped fixture `name`: a fake provider on loopback speaking `protocol` only."""

    @pytest.fixture(scope="module", name=name)
    def fake_provider() -> Iterator[Any]:
        from otel_tokenomics.fake_provider import FakeProvider
        from otel_tokenomics.fake_provider.protocols import load_protocols

        with FakeProvider(protocols=load_protocols([protocol])) as server:
            yield server

    return fake_provider


def instrument_fixture(name: str, make_instrumentor: Callable[[], Any], provider: str) -> Any:
    """A fixture `name`: a callable instrumenting one SDK into the test's `pipeline`, undone afterwards.

    The fake provider listens on 127.0.0.1, self-hosted by default; it is mapped to `provider` so calls are priced
    from the catalog, as a user would with OTEL_TOKENOMICS_PROVIDER_HOSTS.
    """

    @pytest.fixture(name=name)
    def instrument_sdk(pipeline: Any, price_book: Any) -> Iterator[Callable[..., Any]]:
        instrumentor = make_instrumentor()

        def instrument(**options: Any) -> Any:
            options.setdefault("provider_hosts", {"127.0.0.1": provider})
            options.setdefault("price_book", price_book)
            instrumentor.instrument(
                tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
            )
            return instrumentor

        yield instrument
        instrumentor.uninstrument()

    return instrument_sdk
