"""The Ollama conformance matrix: {sync, async} x {chat, generate} x {plain, stream} x ending, over a socket.

For every combination the application must get exactly what it gets uninstrumented (same data, same
exception type and status), and exactly one GenAI span must be ended with the right status. Ollama's streams
are plain (async) generators, not context managers: the early endings are `close()`/`aclose()`, a `break`
out of the loop, dropping the generator, and an exception in the loop body.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import httpx
import ollama
import pytest

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols
from otel_tokenomics.instrumentation.ollama import OllamaInstrumentor

MODEL = "llama3.2"
MESSAGES = [{"role": "user", "content": "Say something about token accounting."}]
OPERATIONS = ("chat", "generate")
STYLES = ("plain", "stream")
FAILURES = ("http_4xx", "http_5xx", "connection_error")
STREAM_ENDINGS = ("early_close", "break_in_loop", "gc_unconsumed", "user_exception")
FAULT_HEADERS = {
    "http_4xx": {"x-fake-status": "404"},
    "http_5xx": {"x-fake-status": "500"},
    "connection_error": {"x-fake-fault": "disconnect"},
}
SPAN_OPERATION = {"chat": "chat", "generate": "text_completion"}


@pytest.fixture(scope="module")
def ollama_fake() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["ollama"])) as server:
        yield server


@pytest.fixture
def instrument_ollama(pipeline: Any, price_book: Any) -> Iterator[Any]:
    instrumentor = OllamaInstrumentor()

    def instrument(**options: Any) -> OllamaInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "ollama"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for operation in OPERATIONS:
        for style in STYLES:
            endings = ("success", *FAILURES, *(STREAM_ENDINGS if style == "stream" else ()))
            cases.extend((operation, style, ending) for ending in endings)
    return cases


class UserError(Exception):
    """Raised by 'application code' in the middle of a stream."""


def _call(client: Any, operation: str, style: str) -> Any:
    if operation == "chat":
        return client.chat(MODEL, messages=MESSAGES, stream=style == "stream")
    return client.generate(MODEL, "Say something about token accounting.", stream=style == "stream")


def _dump(item: Any) -> Any:
    return item.model_dump()


def _outcome_of_error(error: BaseException) -> tuple[Any, ...]:
    return ("raised", type(error).__name__, getattr(error, "status_code", None))


CAUGHT = (ollama.ResponseError, ConnectionError, httpx.HTTPError, UserError)


# --- sync -------------------------------------------------------------------------------------------------
def _consume_sync(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "early_close":
        seen.append(_dump(next(stream)))
        stream.close()
    elif ending == "break_in_loop":
        for part in stream:
            seen.append(_dump(part))
            break
    elif ending == "gc_unconsumed":
        seen.append(_dump(next(stream)))
        del stream
        gc.collect()
    elif ending == "user_exception":
        for part in stream:
            seen.append(_dump(part))
            raise UserError("application bug")
    else:
        seen.extend(_dump(part) for part in stream)
    return seen


def run_sync(client: ollama.Client, operation: str, style: str, ending: str) -> tuple[Any, ...]:
    try:
        result = _call(client, operation, style)
        if style == "plain":
            return ("ok", _dump(result))
        return ("ok", _consume_sync(result, ending))
    except CAUGHT as error:
        return _outcome_of_error(error)


# --- async ------------------------------------------------------------------------------------------------
async def _consume_async(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "early_close":
        seen.append(_dump(await stream.__anext__()))
        await stream.aclose()
    elif ending == "break_in_loop":
        async for part in stream:
            seen.append(_dump(part))
            break
    elif ending == "gc_unconsumed":
        seen.append(_dump(await stream.__anext__()))
        del stream
        gc.collect()
    elif ending == "user_exception":
        async for part in stream:
            seen.append(_dump(part))
            raise UserError("application bug")
    else:
        seen.extend([_dump(part) async for part in stream])
    return seen


async def run_async(client: ollama.AsyncClient, operation: str, style: str, ending: str) -> tuple[Any, ...]:
    try:
        result = await _call(client, operation, style)
        if style == "plain":
            return ("ok", _dump(result))
        return ("ok", await _consume_async(result, ending))
    except CAUGHT as error:
        return _outcome_of_error(error)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, operation: str, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, f"expected exactly one GenAI span, got {[s.name for s in spans]}"
    span = spans[0]
    attributes = dict(span.attributes or {})
    assert span.name == f"{SPAN_OPERATION[operation]} {MODEL}"
    assert attributes["gen_ai.provider.name"] == "ollama"
    if ending in FAILURES:
        assert span.status.status_code.name == "ERROR"
        assert attributes["error.type"] == outcome[1]
        assert "gen_ai.usage.cost.amount" not in attributes
        return
    assert span.status.status_code.name == "UNSET"
    assert "error.type" not in attributes
    if style == "stream":
        assert attributes["gen_ai.request.stream"] is True
        assert attributes["tokenomics.stream.completed"] is (ending == "success")
        assert attributes["gen_ai.response.time_to_first_chunk"] > 0
    if ending == "success":
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["gen_ai.usage.output_tokens"] > 0
        assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
        assert attributes["gen_ai.response.model"] == MODEL
        assert attributes["tokenomics.cost.status"] == "unpriced"  # self-hosted, and no price sheet
        assert attributes["tokenomics.cost.unpriced_reason"] == "self_hosted"
    else:  # ended early: the final part never arrived, so no usage was reported
        assert attributes["tokenomics.usage.reported"] is False
        assert attributes["tokenomics.cost.status"] == "unpriced"
        assert "gen_ai.usage.cost.amount" not in attributes


@pytest.mark.parametrize(("operation", "style", "ending"), _cases())
def test_sync_matrix(
    ollama_fake: Any, pipeline: Any, instrument_ollama: Any, operation: str, style: str, ending: str
) -> None:
    def client() -> ollama.Client:
        return ollama.Client(host=ollama_fake.base_url, headers=FAULT_HEADERS.get(ending))

    expected = run_sync(client(), operation, style, ending)
    instrument_ollama()
    actual = run_sync(client(), operation, style, ending)
    gc.collect()
    assert actual == expected
    _check_span(pipeline, operation, style, ending, actual)


@pytest.mark.parametrize(("operation", "style", "ending"), _cases())
def test_async_matrix(
    ollama_fake: Any, pipeline: Any, instrument_ollama: Any, operation: str, style: str, ending: str
) -> None:
    async def scenario() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        def client() -> ollama.AsyncClient:
            return ollama.AsyncClient(host=ollama_fake.base_url, headers=FAULT_HEADERS.get(ending))

        expected = await run_async(client(), operation, style, ending)
        instrument_ollama()
        actual = await run_async(client(), operation, style, ending)
        return expected, actual

    expected, actual = asyncio.run(scenario())
    gc.collect()
    assert actual == expected
    _check_span(pipeline, operation, style, ending, actual)
