"""The Cohere conformance matrix: {sync, async} x {chat, chat_stream, raw chat, embed, rerank} x ending.

Against the fake provider over a real socket. For every combination the application must get exactly what it
gets uninstrumented (same data, same exception type and status), and exactly one GenAI span must be ended with
the right status. `chat_stream` returns a (async) generator, so "leaving a with block" is `contextlib.closing`
/ `aclosing` around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import types
from collections.abc import Iterator
from typing import Any

import cohere
import httpx
import pytest
from cohere.core.api_error import ApiError
from cohere.core.http_response import AsyncHttpResponse, HttpResponse

# The SDK's own response parsing uses a pydantic-v1 API; its deprecation warning is not ours to assert on.
pytestmark = pytest.mark.filterwarnings("ignore:The `__fields__` attribute is deprecated")

NO_RETRIES: dict[str, Any] = {"max_retries": 0}

CHAT_MODEL = "command-a-03-2025"
EMBED_MODEL = "embed-v4.0"
RERANK_MODEL = "rerank-v3.5"
MESSAGES = [{"role": "user", "content": "Say something about token accounting."}]
STYLES = ("plain", "stream", "raw", "embed", "rerank")
FAILURES = ("http_4xx", "http_5xx", "connection_error")
STREAM_ENDINGS = ("early_close", "break_in_with", "gc_unconsumed", "user_exception")
FAULT_HEADERS = {
    "http_4xx": {"x-fake-status": "400"},
    "http_5xx": {"x-fake-status": "500"},
    "connection_error": {"x-fake-fault": "disconnect"},
}
MODELS = {"embed": EMBED_MODEL, "rerank": RERANK_MODEL}
OPERATIONS = {"embed": "embeddings", "rerank": "rerank"}


@pytest.fixture(scope="module")
def cohere_fake() -> Iterator[Any]:
    from otel_tokenomics.fake_provider import FakeProvider
    from otel_tokenomics.fake_provider.protocols import load_protocols

    with FakeProvider(protocols=load_protocols(["cohere"])) as server:
        yield server


@pytest.fixture
def instrument_cohere(pipeline: Any, price_book: Any) -> Iterator[Any]:
    from otel_tokenomics.instrumentation.cohere import CohereInstrumentor

    instrumentor = CohereInstrumentor()

    def instrument(**options: Any) -> CohereInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "cohere"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


def _cases() -> list[Any]:
    cases = []
    for style in STYLES:
        for ending in ("success", *FAILURES, *(STREAM_ENDINGS if style == "stream" else ())):
            cases.append(pytest.param(style, ending))
    return cases


class UserError(Exception):
    """Raised by 'application code' in the middle of a stream."""


def _request(style: str, ending: str) -> dict[str, Any]:
    if style == "embed":
        kwargs: dict[str, Any] = {
            "model": EMBED_MODEL,
            "texts": ["token accounting", "cost"],
            "input_type": "search_document",
            "embedding_types": ["float"],
        }
    elif style == "rerank":
        kwargs = {"model": RERANK_MODEL, "query": "token cost", "documents": ["the cost of a token", "weather"]}
    else:
        kwargs = {"model": CHAT_MODEL, "messages": MESSAGES}
    if ending in FAULT_HEADERS:
        kwargs["request_options"] = {"additional_headers": FAULT_HEADERS[ending]}
    return kwargs


def _dump(item: Any) -> Any:
    return item.dict()


def _outcome_of_error(error: BaseException) -> tuple[Any, ...]:
    return ("raised", type(error).__name__, getattr(error, "status_code", None))


CAUGHT = (ApiError, httpx.HTTPError, UserError)


# --- sync -------------------------------------------------------------------------------------------------
def _consume_sync(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "early_close":
        seen.append(_dump(next(stream)))
        stream.close()
    elif ending == "break_in_with":
        with contextlib.closing(stream) as entered:
            for event in entered:
                seen.append(_dump(event))
                break
    elif ending == "gc_unconsumed":
        seen.append(_dump(next(stream)))
        del stream
        gc.collect()
    elif ending == "user_exception":
        with contextlib.closing(stream):
            for event in stream:
                seen.append(_dump(event))
                raise UserError("application bug")
    else:
        seen.extend(_dump(event) for event in stream)
    return seen


def run_sync(client: cohere.ClientV2, style: str, ending: str) -> tuple[Any, ...]:
    kwargs = _request(style, ending)
    try:
        if style == "plain":
            return ("ok", _dump(client.chat(**kwargs)))
        if style == "raw":
            raw = client.with_raw_response.chat(**kwargs)
            assert isinstance(raw, HttpResponse)
            return ("ok", raw.headers.get("content-type"), _dump(raw.data))
        if style == "embed":
            return ("ok", _dump(client.embed(**kwargs)))
        if style == "rerank":
            return ("ok", _dump(client.rerank(**kwargs)))
        stream = client.chat_stream(**kwargs)
        assert isinstance(stream, types.GeneratorType)
        return ("ok", _consume_sync(stream, ending))
    except CAUGHT as error:
        return _outcome_of_error(error)


# --- async ------------------------------------------------------------------------------------------------
async def _consume_async(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "early_close":
        seen.append(_dump(await stream.__anext__()))
        await stream.aclose()
    elif ending == "break_in_with":
        async with contextlib.aclosing(stream) as entered:
            async for event in entered:
                seen.append(_dump(event))
                break
    elif ending == "gc_unconsumed":
        seen.append(_dump(await stream.__anext__()))
        del stream
        gc.collect()
    elif ending == "user_exception":
        async with contextlib.aclosing(stream):
            async for event in stream:
                seen.append(_dump(event))
                raise UserError("application bug")
    else:
        seen.extend([_dump(event) async for event in stream])
    return seen


async def run_async(client: cohere.AsyncClientV2, style: str, ending: str) -> tuple[Any, ...]:
    kwargs = _request(style, ending)
    try:
        if style == "plain":
            return ("ok", _dump(await client.chat(**kwargs)))
        if style == "raw":
            raw = await client.with_raw_response.chat(**kwargs)
            assert isinstance(raw, AsyncHttpResponse)
            return ("ok", raw.headers.get("content-type"), _dump(raw.data))
        if style == "embed":
            return ("ok", _dump(await client.embed(**kwargs)))
        if style == "rerank":
            return ("ok", _dump(await client.rerank(**kwargs)))
        stream = client.chat_stream(**kwargs)
        assert isinstance(stream, types.AsyncGeneratorType)
        return ("ok", await _consume_async(stream, ending))
    except CAUGHT as error:
        return _outcome_of_error(error)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, f"expected exactly one GenAI span, got {[s.name for s in spans]}"
    span = spans[0]
    attributes = dict(span.attributes or {})
    model = MODELS.get(style, CHAT_MODEL)
    operation = OPERATIONS.get(style, "chat")
    assert span.name == f"{operation} {model}"
    assert attributes["gen_ai.operation.name"] == operation
    assert attributes["gen_ai.provider.name"] == "cohere"
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
    if style == "rerank":  # billed per search: recorded, never turned into tokens or a made-up price
        assert attributes["cohere.usage.search_units"] == 1
        assert attributes["tokenomics.usage.reported"] is False
        assert attributes["tokenomics.cost.status"] == "unpriced"
        assert attributes["tokenomics.cost.unpriced_reason"] == "unknown_model"
        return
    if ending == "success":
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["tokenomics.cost.status"] == "priced"
        assert attributes["gen_ai.usage.cost.amount"] > 0
        assert attributes["gen_ai.response.id"]
        if style != "embed":
            assert attributes["gen_ai.usage.output_tokens"] > 0
            assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    else:  # ended early: message-end never arrived, so the call is unpriced, not priced at 0
        assert attributes["tokenomics.usage.reported"] is False
        assert attributes["tokenomics.cost.status"] == "unpriced"
        assert attributes["tokenomics.cost.unpriced_reason"] == "no_usage"
        assert "gen_ai.usage.cost.amount" not in attributes


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_sync_matrix(cohere_fake: Any, pipeline: Any, instrument_cohere: Any, style: str, ending: str) -> None:
    def client() -> cohere.ClientV2:
        return cohere.ClientV2(api_key="test-key", base_url=cohere_fake.base_url, **NO_RETRIES)

    expected = run_sync(client(), style, ending)
    instrument_cohere()
    actual = run_sync(client(), style, ending)
    gc.collect()
    assert actual == expected
    _check_span(pipeline, style, ending, actual)


# An async generator dropped unread is finalized by its event loop; the SDK's `httpx` response then complains
# that the loop is gone. That is the SDK's behaviour with or without us, not something to assert on.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(("style", "ending"), _cases())
def test_async_matrix(cohere_fake: Any, pipeline: Any, instrument_cohere: Any, style: str, ending: str) -> None:
    async def scenario() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        def client() -> cohere.AsyncClientV2:
            return cohere.AsyncClientV2(api_key="test-key", base_url=cohere_fake.base_url, **NO_RETRIES)

        expected = await run_async(client(), style, ending)
        instrument_cohere()
        actual = await run_async(client(), style, ending)
        return expected, actual

    expected, actual = asyncio.run(scenario())
    gc.collect()
    assert actual == expected
    _check_span(pipeline, style, ending, actual)
