"""The Groq conformance matrix: {sync, async} x call style x ending, against the fake Groq API over a socket.

For every combination the application must get exactly what it gets uninstrumented (same data, same
exception type and status), and exactly one GenAI span must be ended with the right status.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import groq
import pytest

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols
from otel_tokenomics.instrumentation.groq import GroqInstrumentor

MODEL = "llama-3.3-70b-versatile"
MESSAGES = [{"role": "user", "content": "Say something about token accounting."}]
STYLES = ("plain", "stream", "raw", "raw_stream", "streaming_response", "streaming_response_stream")
FAILURES = ("http_4xx", "http_5xx", "connection_error")
STREAM_ENDINGS = ("early_close", "break_in_with", "gc_unconsumed", "user_exception")
FAULT_HEADERS = {
    "http_4xx": {"x-fake-status": "400"},
    "http_5xx": {"x-fake-status": "500"},
    "connection_error": {"x-fake-fault": "disconnect"},
}


@pytest.fixture(scope="module")
def groq_fake() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["groq"])) as server:
        yield server


@pytest.fixture
def instrument_groq(pipeline: Any, price_book: Any) -> Iterator[Any]:
    instrumentor = GroqInstrumentor()

    def instrument(**options: Any) -> GroqInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "groq"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


def _cases() -> list[tuple[str, str]]:
    cases = []
    for style in STYLES:
        streaming = style.endswith("stream")
        for ending in ("success", *FAILURES, *(STREAM_ENDINGS if streaming else ())):
            cases.append((style, ending))
    return cases


class UserError(Exception):
    """Raised by 'application code' in the middle of a stream."""


def _request(style: str, ending: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": MODEL, "messages": MESSAGES}
    if style.endswith("stream"):
        kwargs["stream"] = True
    if ending in FAULT_HEADERS:
        kwargs["extra_headers"] = FAULT_HEADERS[ending]
    return kwargs


def _dump(item: Any) -> Any:
    return item.model_dump()


def _outcome_of_error(error: BaseException) -> tuple[Any, ...]:
    return ("raised", type(error).__name__, getattr(error, "status_code", None))


# --- sync -------------------------------------------------------------------------------------------------
def _consume_sync(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "early_close":
        seen.append(_dump(next(stream)))
        stream.close()
    elif ending == "break_in_with":
        with stream as entered:
            for chunk in entered:
                seen.append(_dump(chunk))
                break
    elif ending == "gc_unconsumed":
        seen.append(_dump(next(stream)))
        del stream
        gc.collect()
    elif ending == "user_exception":
        with stream:
            for chunk in stream:
                seen.append(_dump(chunk))
                raise UserError("application bug")
    else:
        seen.extend(_dump(chunk) for chunk in stream)
    return seen


def run_sync(client: groq.Groq, style: str, ending: str) -> tuple[Any, ...]:
    completions = client.chat.completions
    kwargs = _request(style, ending)
    try:
        if style == "plain":
            return ("ok", _dump(completions.create(**kwargs)))
        if style == "stream":
            stream = completions.create(**kwargs)
            assert isinstance(stream, groq.Stream)
            return ("ok", _consume_sync(stream, ending))
        if style == "raw":
            raw = completions.with_raw_response.create(**kwargs)
            return ("ok", raw.status_code, raw.headers.get("content-type"), _dump(raw.parse()))
        if style == "raw_stream":
            raw = completions.with_raw_response.create(**kwargs)
            stream = raw.parse()
            assert isinstance(stream, groq.Stream)
            return ("ok", raw.status_code, _consume_sync(stream, ending))
        with completions.with_streaming_response.create(**kwargs) as response:
            parsed = response.parse()
            if style == "streaming_response":
                return ("ok", response.status_code, _dump(parsed))
            return ("ok", response.status_code, _consume_sync(parsed, ending))
    except (groq.APIError, UserError) as error:
        return _outcome_of_error(error)


# --- async ------------------------------------------------------------------------------------------------
async def _consume_async(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "early_close":
        seen.append(_dump(await stream.__anext__()))
        await stream.close()
    elif ending == "break_in_with":
        async with stream as entered:
            async for chunk in entered:
                seen.append(_dump(chunk))
                break
    elif ending == "gc_unconsumed":
        seen.append(_dump(await stream.__anext__()))
        del stream
        gc.collect()
    elif ending == "user_exception":
        async with stream:
            async for chunk in stream:
                seen.append(_dump(chunk))
                raise UserError("application bug")
    else:
        seen.extend([_dump(chunk) async for chunk in stream])
    return seen


async def run_async(client: groq.AsyncGroq, style: str, ending: str) -> tuple[Any, ...]:
    completions = client.chat.completions
    kwargs = _request(style, ending)
    try:
        if style == "plain":
            return ("ok", _dump(await completions.create(**kwargs)))
        if style == "stream":
            stream = await completions.create(**kwargs)
            assert isinstance(stream, groq.AsyncStream)
            return ("ok", await _consume_async(stream, ending))
        if style == "raw":
            raw = await completions.with_raw_response.create(**kwargs)
            return ("ok", raw.status_code, raw.headers.get("content-type"), _dump(await raw.parse()))
        if style == "raw_stream":
            raw = await completions.with_raw_response.create(**kwargs)
            stream = await raw.parse()
            assert isinstance(stream, groq.AsyncStream)
            return ("ok", raw.status_code, await _consume_async(stream, ending))
        async with completions.with_streaming_response.create(**kwargs) as response:
            parsed = await response.parse()
            if style == "streaming_response":
                return ("ok", response.status_code, _dump(parsed))
            return ("ok", response.status_code, await _consume_async(parsed, ending))
    except (groq.APIError, UserError) as error:
        return _outcome_of_error(error)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, f"expected exactly one GenAI span, got {[s.name for s in spans]}"
    span = spans[0]
    attributes = dict(span.attributes or {})
    assert span.name == f"chat {MODEL}"
    assert attributes["gen_ai.provider.name"] == "groq"
    if ending in FAILURES:
        assert span.status.status_code.name == "ERROR"
        assert attributes["error.type"] == outcome[1]
        assert "gen_ai.usage.cost.amount" not in attributes
        return
    assert span.status.status_code.name == "UNSET"
    assert "error.type" not in attributes
    streaming = style.endswith("stream")
    if streaming:
        assert attributes["gen_ai.request.stream"] is True
        assert attributes["tokenomics.stream.completed"] is (ending == "success")
        assert attributes["gen_ai.response.time_to_first_chunk"] > 0
    if ending == "success":
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["gen_ai.usage.output_tokens"] > 0
        assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
        assert attributes["tokenomics.cost.status"] == "priced"
        assert attributes["gen_ai.usage.cost.amount"] > 0
        assert attributes["gen_ai.response.model"] == MODEL
    else:  # ended early: the usage chunk never arrived, so the call is unpriced, not priced at 0
        assert attributes["tokenomics.usage.reported"] is False
        assert attributes["tokenomics.cost.status"] == "unpriced"
        assert attributes["tokenomics.cost.unpriced_reason"] == "no_usage"
        assert "gen_ai.usage.cost.amount" not in attributes


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_sync_matrix(groq_fake: Any, pipeline: Any, instrument_groq: Any, style: str, ending: str) -> None:
    def client() -> groq.Groq:
        return groq.Groq(base_url=groq_fake.base_url, api_key="gsk-test", max_retries=0)

    expected = run_sync(client(), style, ending)
    instrument_groq()
    actual = run_sync(client(), style, ending)
    gc.collect()
    assert actual == expected
    _check_span(pipeline, style, ending, actual)


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_async_matrix(groq_fake: Any, pipeline: Any, instrument_groq: Any, style: str, ending: str) -> None:
    async def scenario() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        def client() -> groq.AsyncGroq:
            return groq.AsyncGroq(base_url=groq_fake.base_url, api_key="gsk-test", max_retries=0)

        expected = await run_async(client(), style, ending)
        instrument_groq()
        actual = await run_async(client(), style, ending)
        return expected, actual

    expected, actual = asyncio.run(scenario())
    gc.collect()
    assert actual == expected
    _check_span(pipeline, style, ending, actual)
