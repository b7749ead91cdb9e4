"""The Anthropic conformance matrix: {sync, async} x call style x ending, against the fake provider over a socket.

For every combination the application must get exactly what it gets uninstrumented (same data, same exception
type and status), and exactly one GenAI span must be ended with the right status. `helper` is the SDK's
`messages.stream()` context manager, which posts by itself instead of calling `create()`.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols

MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "Say something about token accounting."}]
STYLES = ("plain", "stream", "helper", "raw", "raw_stream", "streaming_response", "streaming_response_stream")
STREAMING = ("stream", "helper", "raw_stream", "streaming_response_stream")
FAILURES = ("http_4xx", "http_5xx", "connection_error")
STREAM_ENDINGS = ("early_close", "break_in_with", "gc_unconsumed", "user_exception")
FAULT_HEADERS = {
    "http_4xx": {"x-fake-status": "400"},
    "http_5xx": {"x-fake-status": "500"},
    "connection_error": {"x-fake-fault": "disconnect"},
}


def _cases() -> list[tuple[str, str]]:
    cases = []
    for style in STYLES:
        for ending in ("success", *FAILURES, *(STREAM_ENDINGS if style in STREAMING else ())):
            cases.append((style, ending))
    return cases


class UserError(Exception):
    """Raised by 'application code' in the middle of a stream."""


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["anthropic"])) as server:
        yield server


@pytest.fixture
def instrument_anthropic(pipeline: Any, price_book: Any) -> Iterator[Any]:
    from otel_tokenomics.instrumentation.anthropic import AnthropicInstrumentor

    instrumentor = AnthropicInstrumentor()

    def instrument(**options: Any) -> AnthropicInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "anthropic"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


def _request(style: str, ending: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": 200, "messages": MESSAGES}
    if style in STREAMING and style != "helper":
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


def _consume_helper(manager: Any, ending: str) -> list[Any]:
    """`messages.stream()` as applications use it: inside `with`, or entered by hand and dropped."""
    seen: list[Any] = []
    if ending == "gc_unconsumed":
        stream = manager.__enter__()
        assert isinstance(stream, anthropic.MessageStream)
        seen.append(_dump(next(stream)))
        del stream, manager
        gc.collect()
        return seen
    with manager as stream:
        assert isinstance(stream, anthropic.MessageStream)
        if ending == "success":
            seen.extend(_dump(event) for event in stream)
            seen.append(_dump(stream.get_final_message()))
        elif ending == "early_close":
            seen.append(_dump(next(stream)))
            stream.close()
        else:
            for event in stream:
                seen.append(_dump(event))
                if ending == "user_exception":
                    raise UserError("application bug")
                break
    return seen


def run_sync(client: anthropic.Anthropic, style: str, ending: str) -> tuple[Any, ...]:
    messages = client.messages
    kwargs = _request(style, ending)
    try:
        if style == "plain":
            return ("ok", _dump(messages.create(**kwargs)))
        if style == "stream":
            stream = messages.create(**kwargs)
            assert isinstance(stream, anthropic.Stream)
            return ("ok", _consume_sync(stream, ending))
        if style == "helper":
            return ("ok", _consume_helper(messages.stream(**kwargs), ending))
        if style == "raw":
            raw = messages.with_raw_response.create(**kwargs)
            assert isinstance(raw, anthropic.APIResponse)
            return ("ok", raw.status_code, raw.headers.get("content-type"), _dump(raw.parse()))
        if style == "raw_stream":
            raw = messages.with_raw_response.create(**kwargs)
            stream = raw.parse()
            assert isinstance(stream, anthropic.Stream)
            return ("ok", raw.status_code, _consume_sync(stream, ending))
        with messages.with_streaming_response.create(**kwargs) as response:
            assert isinstance(response, anthropic.APIResponse)
            parsed = response.parse()
            if style == "streaming_response":
                return ("ok", response.status_code, _dump(parsed))
            return ("ok", response.status_code, _consume_sync(parsed, ending))
    except (anthropic.APIError, UserError) as error:
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


async def _consume_async_helper(manager: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "gc_unconsumed":
        stream = await manager.__aenter__()
        assert isinstance(stream, anthropic.AsyncMessageStream)
        seen.append(_dump(await stream.__anext__()))
        del stream, manager
        gc.collect()
        return seen
    async with manager as stream:
        assert isinstance(stream, anthropic.AsyncMessageStream)
        if ending == "success":
            seen.extend([_dump(event) async for event in stream])
            seen.append(_dump(await stream.get_final_message()))
        elif ending == "early_close":
            seen.append(_dump(await stream.__anext__()))
            await stream.close()
        else:
            async for event in stream:
                seen.append(_dump(event))
                if ending == "user_exception":
                    raise UserError("application bug")
                break
    return seen


async def run_async(client: anthropic.AsyncAnthropic, style: str, ending: str) -> tuple[Any, ...]:
    messages = client.messages
    kwargs = _request(style, ending)
    try:
        if style == "plain":
            return ("ok", _dump(await messages.create(**kwargs)))
        if style == "stream":
            stream = await messages.create(**kwargs)
            assert isinstance(stream, anthropic.AsyncStream)
            return ("ok", await _consume_async(stream, ending))
        if style == "helper":
            return ("ok", await _consume_async_helper(messages.stream(**kwargs), ending))
        if style == "raw":
            raw = await messages.with_raw_response.create(**kwargs)
            assert isinstance(raw, anthropic.AsyncAPIResponse)
            return ("ok", raw.status_code, raw.headers.get("content-type"), _dump(await raw.parse()))
        if style == "raw_stream":
            raw = await messages.with_raw_response.create(**kwargs)
            stream = await raw.parse()
            assert isinstance(stream, anthropic.AsyncStream)
            return ("ok", raw.status_code, await _consume_async(stream, ending))
        async with messages.with_streaming_response.create(**kwargs) as response:
            assert isinstance(response, anthropic.AsyncAPIResponse)
            parsed = await response.parse()
            if style == "streaming_response":
                return ("ok", response.status_code, _dump(parsed))
            return ("ok", response.status_code, await _consume_async(parsed, ending))
    except (anthropic.APIError, UserError) as error:
        return _outcome_of_error(error)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, f"expected exactly one GenAI span, got {[s.name for s in spans]}"
    span = spans[0]
    attributes = dict(span.attributes or {})
    assert span.name == f"chat {MODEL}"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.request.max_tokens"] == 200
    if ending in FAILURES:
        assert span.status.status_code.name == "ERROR"
        assert attributes["error.type"] == outcome[1]
        assert "gen_ai.usage.cost.amount" not in attributes
        return
    assert span.status.status_code.name == "UNSET"
    assert "error.type" not in attributes
    if style in STREAMING:
        assert attributes["gen_ai.request.stream"] is True
        assert attributes["tokenomics.stream.completed"] is (ending == "success")
        assert attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert attributes["gen_ai.response.model"] == "claude-haiku-4-5-20251001"
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["tokenomics.cost.status"] == "priced"
    if ending == "success":
        assert attributes["gen_ai.usage.output_tokens"] > 1
        assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
        rate = (attributes["gen_ai.usage.input_tokens"] * 1.0 + attributes["gen_ai.usage.output_tokens"] * 5.0) / 1e6
        assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(rate)
    else:
        # Ended after message_start: the input it announced was billed; the output is what it announced so far.
        assert attributes["gen_ai.usage.output_tokens"] == 1
        assert "gen_ai.response.finish_reasons" not in attributes


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_sync_matrix(
    anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any, style: str, ending: str
) -> None:
    def client() -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=anthropic_fake.base_url, api_key="sk-ant-test", max_retries=0)

    expected = run_sync(client(), style, ending)
    instrument_anthropic()
    actual = run_sync(client(), style, ending)
    gc.collect()
    assert actual == expected
    _check_span(pipeline, style, ending, actual)


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_async_matrix(
    anthropic_fake: FakeProvider, pipeline: Any, instrument_anthropic: Any, style: str, ending: str
) -> None:
    async def scenario() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        def client() -> anthropic.AsyncAnthropic:
            return anthropic.AsyncAnthropic(base_url=anthropic_fake.base_url, api_key="sk-ant-test", max_retries=0)

        expected = await run_async(client(), style, ending)
        instrument_anthropic()
        actual = await run_async(client(), style, ending)
        return expected, actual

    expected, actual = asyncio.run(scenario())
    gc.collect()
    assert actual == expected
    _check_span(pipeline, style, ending, actual)
