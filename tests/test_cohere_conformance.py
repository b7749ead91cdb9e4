"""The Cohere conformance matrix: {sync, async} x {chat, chat_stream, raw chat, embed, rerank} x ending.

Against the fake provider over a real socket. For every combination the application must get exactly what it
gets uninstrumented (same data, same exception type and status), and exactly one GenAI span must be ended with
the right status. `chat_stream` returns a (async) generator, so "leaving a with block" is `contextlib.closing`
/ `aclosing` around it.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

import cohere
import conformance_support as conformance
import httpx
import pytest
from cohere.core.api_error import ApiError
from cohere.core.http_response import AsyncHttpResponse, HttpResponse

# The SDK's own response parsing uses a pydantic-v1 API; its deprecation warning is not ours to assert on.
pytestmark = pytest.mark.filterwarnings("ignore:The `__fields__` attribute is deprecated")

# `max_retries` on the client came after 5.17.0, the oldest supported release (it retries per request there).
NO_RETRIES: dict[str, Any] = (
    {"max_retries": 0} if "max_retries" in inspect.signature(cohere.ClientV2.__init__).parameters else {}
)

CHAT_MODEL = "command-a-03-2025"
EMBED_MODEL = "embed-v4.0"
RERANK_MODEL = "rerank-v3.5"
STYLES = ("plain", "stream", "raw", "embed", "rerank")
MODELS = {"embed": EMBED_MODEL, "rerank": RERANK_MODEL}
OPERATIONS = {"embed": "embeddings", "rerank": "rerank"}


def _make_instrumentor() -> Any:
    from otel_tokenomics.instrumentation.cohere import CohereInstrumentor

    return CohereInstrumentor()


cohere_fake = conformance.fake_provider_fixture("cohere_fake", "cohere")
instrument_cohere = conformance.instrument_fixture("instrument_cohere", _make_instrumentor, "cohere")


def _cases() -> list[Any]:
    return [pytest.param(style, ending) for style in STYLES for ending in conformance.endings_for(style == "stream")]


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
        kwargs = {"model": CHAT_MODEL, "messages": conformance.MESSAGES}
    if ending in conformance.FAULT_HEADERS:
        kwargs["request_options"] = {"additional_headers": conformance.FAULT_HEADERS[ending]}
    return kwargs


# `chat_stream` returns (async) generators: "leaving a with block" is `closing`/`aclosing` around them.
STREAMS = conformance.AppStreams(lambda item: item.dict(), enter="closing", aclose="aclose")
CAUGHT = (ApiError, httpx.HTTPError, conformance.UserError)


# --- sync -------------------------------------------------------------------------------------------------
def run_sync(client: cohere.ClientV2, style: str, ending: str) -> tuple[Any, ...]:
    kwargs = _request(style, ending)
    dump = STREAMS.dump
    try:
        if style == "plain":
            return ("ok", dump(client.chat(**kwargs)))
        if style == "raw":
            raw = client.with_raw_response.chat(**kwargs)
            assert isinstance(raw, HttpResponse)
            return ("ok", raw.headers.get("content-type"), dump(raw.data))
        if style == "embed":
            return ("ok", dump(client.embed(**kwargs)))
        if style == "rerank":
            return ("ok", dump(client.rerank(**kwargs)))
        stream = client.chat_stream(**kwargs)
        assert isinstance(stream, types.GeneratorType)
        return ("ok", STREAMS.consume(stream, ending))
    except CAUGHT as error:
        return conformance.outcome_of_error(error)


# --- async ------------------------------------------------------------------------------------------------
async def run_async(client: cohere.AsyncClientV2, style: str, ending: str) -> tuple[Any, ...]:
    kwargs = _request(style, ending)
    dump = STREAMS.dump
    try:
        if style == "plain":
            return ("ok", dump(await client.chat(**kwargs)))
        if style == "raw":
            raw = await client.with_raw_response.chat(**kwargs)
            assert isinstance(raw, AsyncHttpResponse)
            return ("ok", raw.headers.get("content-type"), dump(raw.data))
        if style == "embed":
            return ("ok", dump(await client.embed(**kwargs)))
        if style == "rerank":
            return ("ok", dump(await client.rerank(**kwargs)))
        stream = client.chat_stream(**kwargs)
        assert isinstance(stream, types.AsyncGeneratorType)
        return ("ok", await STREAMS.consume_async(stream, ending))
    except CAUGHT as error:
        return conformance.outcome_of_error(error)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    model = MODELS.get(style, CHAT_MODEL)
    operation = OPERATIONS.get(style, "chat")
    call = conformance.CallSpan.only_one(pipeline, operation=operation, model=model, provider="cohere")
    attributes = call.attributes
    if ending in conformance.FAILURES:
        call.check_failed(outcome)
        return
    call.check_not_failed(streaming=style == "stream", ending=ending)
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
        call.check_unpriced_without_usage()


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_sync_matrix(cohere_fake: Any, pipeline: Any, instrument_cohere: Any, style: str, ending: str) -> None:
    def run() -> tuple[Any, ...]:
        return run_sync(cohere.ClientV2(api_key="test-key", base_url=cohere_fake.base_url, **NO_RETRIES), style, ending)

    _check_span(pipeline, style, ending, conformance.same_as_uninstrumented(run, instrument_cohere))


# An async generator dropped unread is finalized by its event loop; the SDK's `httpx` response then complains
# that the loop is gone. That is the SDK's behaviour with or without us, not something to assert on.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(("style", "ending"), _cases())
def test_async_matrix(cohere_fake: Any, pipeline: Any, instrument_cohere: Any, style: str, ending: str) -> None:
    async def run() -> tuple[Any, ...]:
        client = cohere.AsyncClientV2(api_key="test-key", base_url=cohere_fake.base_url, **NO_RETRIES)
        return await run_async(client, style, ending)

    _check_span(pipeline, style, ending, conformance.same_as_uninstrumented_async(run, instrument_cohere))
