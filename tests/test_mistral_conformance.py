"""The Mistral conformance matrix: {sync, async} x {chat, stream, embeddings} x ending, over a real socket.

For every combination the application must get exactly what it gets uninstrumented (same data, same
exception type and status), and exactly one GenAI span must be ended with the right status. The Mistral SDK
has no raw-response API, so there is no raw column.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
from collections.abc import AsyncGenerator, Generator, Iterator
from typing import Any

import pytest

# 3.x moved the SDK under `mistralai.client` (and onto httpx2); 1.x keeps it at the top level, on httpx, with its
# errors in `mistralai.models` and (before `EventStream` existed) streams returned as plain generators.
try:
    from mistralai.client import Mistral, errors

    SDK = "mistralai.client"
except ImportError:
    from mistralai import Mistral
    from mistralai import models as errors

    SDK = "mistralai"
_eventstreaming = importlib.import_module(f"{SDK}.utils.eventstreaming")
EventStream = getattr(_eventstreaming, "EventStream", Generator)
EventStreamAsync = getattr(_eventstreaming, "EventStreamAsync", AsyncGenerator)
sdk_httpx = importlib.import_module(f"{SDK}.httpclient").httpx  # the HTTP library the SDK's clients come from
# 3.x errors share a `MistralError` base; 1.x raises `SDKError` or `HTTPValidationError`, both bare Exceptions.
SDK_ERRORS = (
    (errors.MistralError,) if hasattr(errors, "MistralError") else (errors.SDKError, errors.HTTPValidationError)
)

MODEL = "mistral-small-latest"
EMBED_MODEL = "mistral-embed"
MESSAGES = [{"role": "user", "content": "Say something about token accounting."}]
STYLES = ("plain", "stream", "embeddings")
FAILURES = ("http_4xx", "http_5xx", "connection_error")
STREAM_ENDINGS = ("early_close", "break_in_with", "gc_unconsumed", "user_exception")
FAULT_HEADERS = {
    "http_4xx": {"x-fake-status": "400"},
    "http_5xx": {"x-fake-status": "500"},
    "connection_error": {"x-fake-fault": "disconnect"},
}


@pytest.fixture(scope="module")
def mistral_fake() -> Iterator[Any]:
    from otel_tokenomics.fake_provider import FakeProvider
    from otel_tokenomics.fake_provider.protocols import load_protocols

    with FakeProvider(protocols=load_protocols(["mistral"])) as server:
        yield server


@pytest.fixture
def instrument_mistral(pipeline: Any, price_book: Any) -> Iterator[Any]:
    from otel_tokenomics.instrumentation.mistral import MistralInstrumentor

    instrumentor = MistralInstrumentor()

    def instrument(**options: Any) -> MistralInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "mistral_ai"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


# `with stream:` needs `EventStream`; 1.1.0 (the oldest supported release) streams plain generators. The marker
# deselects these endings for the oldest matrix run.
CONTEXT_MANAGER_ENDINGS = ("break_in_with", "user_exception")


def _cases() -> list[Any]:
    cases = []
    for style in STYLES:
        for ending in ("success", *FAILURES, *(STREAM_ENDINGS if style == "stream" else ())):
            marks = [pytest.mark.mistral_modern] if ending in CONTEXT_MANAGER_ENDINGS else []
            cases.append(pytest.param(style, ending, marks=marks))
    return cases


class UserError(Exception):
    """Raised by 'application code' in the middle of a stream."""


def _request(style: str, ending: str) -> dict[str, Any]:
    if style == "embeddings":
        kwargs: dict[str, Any] = {"model": EMBED_MODEL, "inputs": ["token accounting", "cost"]}
    else:
        kwargs = {"model": MODEL, "messages": MESSAGES}
    return kwargs


def _client(fake: Any, ending: str) -> Mistral:
    """The faults ride on client-wide headers: 1.1.0 has no per-call `http_headers`."""
    headers = FAULT_HEADERS.get(ending, {})
    return Mistral(
        api_key="test-key",
        server_url=f"{fake.base_url}/mistral",
        client=sdk_httpx.Client(headers=headers),
        async_client=sdk_httpx.AsyncClient(headers=headers),
    )


def _dump(item: Any) -> Any:
    return item.model_dump()


def _outcome_of_error(error: BaseException) -> tuple[Any, ...]:
    return ("raised", type(error).__name__, getattr(error, "status_code", None))


# 1.1.0 fails a streamed request's HTTP error with `httpx.ResponseNotRead` (it reads the body it did not load):
# an SDK bug the application gets either way, so it is an outcome like any other.
CAUGHT = (*SDK_ERRORS, sdk_httpx.HTTPError, sdk_httpx.ResponseNotRead, UserError)


# --- sync -------------------------------------------------------------------------------------------------
def _consume_sync(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "early_close":
        seen.append(_dump(next(stream)))
        stream.close()
    elif ending == "break_in_with":
        with stream as entered:
            for event in entered:
                seen.append(_dump(event))
                break
    elif ending == "gc_unconsumed":
        seen.append(_dump(next(stream)))
        del stream
        gc.collect()
    elif ending == "user_exception":
        with stream:
            for event in stream:
                seen.append(_dump(event))
                raise UserError("application bug")
    else:
        seen.extend(_dump(event) for event in stream)
    return seen


def run_sync(client: Mistral, style: str, ending: str) -> tuple[Any, ...]:
    kwargs = _request(style, ending)
    try:
        if style == "plain":
            return ("ok", _dump(client.chat.complete(**kwargs)))
        if style == "embeddings":
            return ("ok", _dump(client.embeddings.create(**kwargs)))
        stream = client.chat.stream(**kwargs)
        assert isinstance(stream, EventStream)
        return ("ok", _consume_sync(stream, ending))
    except CAUGHT as error:
        return _outcome_of_error(error)


# --- async ------------------------------------------------------------------------------------------------
async def _consume_async(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "early_close":
        seen.append(_dump(await stream.__anext__()))
        await (stream.aclose() if EventStreamAsync is AsyncGenerator else stream.close())  # 1.1.0: a generator
    elif ending == "break_in_with":
        async with stream as entered:
            async for event in entered:
                seen.append(_dump(event))
                break
    elif ending == "gc_unconsumed":
        seen.append(_dump(await stream.__anext__()))
        del stream
        gc.collect()
    elif ending == "user_exception":
        async with stream:
            async for event in stream:
                seen.append(_dump(event))
                raise UserError("application bug")
    else:
        seen.extend([_dump(event) async for event in stream])
    return seen


async def run_async(client: Mistral, style: str, ending: str) -> tuple[Any, ...]:
    kwargs = _request(style, ending)
    try:
        if style == "plain":
            return ("ok", _dump(await client.chat.complete_async(**kwargs)))
        if style == "embeddings":
            return ("ok", _dump(await client.embeddings.create_async(**kwargs)))
        stream = await client.chat.stream_async(**kwargs)
        assert isinstance(stream, EventStreamAsync)
        return ("ok", await _consume_async(stream, ending))
    except CAUGHT as error:
        return _outcome_of_error(error)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, f"expected exactly one GenAI span, got {[s.name for s in spans]}"
    span = spans[0]
    attributes = dict(span.attributes or {})
    model = EMBED_MODEL if style == "embeddings" else MODEL
    operation = "embeddings" if style == "embeddings" else "chat"
    assert span.name == f"{operation} {model}"
    assert attributes["gen_ai.operation.name"] == operation
    assert attributes["gen_ai.provider.name"] == "mistral_ai"
    if ending in FAILURES:
        assert span.status.status_code.name == "ERROR"
        assert attributes["error.type"] == outcome[1]
        if outcome[2] is not None:
            assert attributes["http.response.status_code"] == outcome[2]
        assert "gen_ai.usage.cost.amount" not in attributes
        return
    assert span.status.status_code.name == "UNSET"
    assert "error.type" not in attributes
    if style == "stream":
        assert attributes["gen_ai.request.stream"] is True
        assert attributes["tokenomics.stream.completed"] is (ending == "success")
        assert attributes["gen_ai.response.time_to_first_chunk"] > 0
    else:
        assert "gen_ai.request.stream" not in attributes
    if ending == "success":
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["tokenomics.cost.status"] == "priced"
        assert attributes["gen_ai.usage.cost.amount"] > 0
        assert attributes["gen_ai.response.model"] == model
        if style != "embeddings":
            assert attributes["gen_ai.usage.output_tokens"] > 0
            assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    else:  # ended early: the usage chunk never arrived, so the call is unpriced, not priced at 0
        assert attributes["tokenomics.usage.reported"] is False
        assert attributes["tokenomics.cost.status"] == "unpriced"
        assert attributes["tokenomics.cost.unpriced_reason"] == "no_usage"
        assert "gen_ai.usage.cost.amount" not in attributes


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_sync_matrix(mistral_fake: Any, pipeline: Any, instrument_mistral: Any, style: str, ending: str) -> None:
    expected = run_sync(_client(mistral_fake, ending), style, ending)
    instrument_mistral()
    actual = run_sync(_client(mistral_fake, ending), style, ending)
    gc.collect()
    assert actual == expected
    _check_span(pipeline, style, ending, actual)


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_async_matrix(mistral_fake: Any, pipeline: Any, instrument_mistral: Any, style: str, ending: str) -> None:
    async def scenario() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        expected = await run_async(_client(mistral_fake, ending), style, ending)
        instrument_mistral()
        actual = await run_async(_client(mistral_fake, ending), style, ending)
        return expected, actual

    expected, actual = asyncio.run(scenario())
    gc.collect()
    assert actual == expected
    _check_span(pipeline, style, ending, actual)
