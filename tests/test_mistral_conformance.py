"""The Mistral conformance matrix: {sync, async} x {chat, stream, embeddings} x ending, over a real socket.

For every combination the application must get exactly what it gets uninstrumented (same data, same
exception type and status), and exactly one GenAI span must be ended with the right status. The Mistral SDK
has no raw-response API, so there is no raw column.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncGenerator, Generator
from typing import Any

import conformance_support as conformance
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
STYLES = ("plain", "stream", "embeddings")


def _make_instrumentor() -> Any:
    from otel_tokenomics.instrumentation.mistral import MistralInstrumentor

    return MistralInstrumentor()


mistral_fake = conformance.fake_provider_fixture("mistral_fake", "mistral")
instrument_mistral = conformance.instrument_fixture("instrument_mistral", _make_instrumentor, "mistral_ai")

# `with stream:` needs `EventStream`; 1.1.0 (the oldest supported release) streams plain generators. The marker
# deselects these endings for the oldest matrix run.
CONTEXT_MANAGER_ENDINGS = ("break_in_with", "user_exception")


def _cases() -> list[Any]:
    return [
        pytest.param(style, ending, marks=[pytest.mark.mistral_modern] if ending in CONTEXT_MANAGER_ENDINGS else [])
        for style in STYLES
        for ending in conformance.endings_for(style == "stream")
    ]


def _request(style: str, ending: str) -> dict[str, Any]:
    if style == "embeddings":
        kwargs: dict[str, Any] = {"model": EMBED_MODEL, "inputs": ["token accounting", "cost"]}
    else:
        kwargs = {"model": MODEL, "messages": conformance.MESSAGES}
    return kwargs


def _client(fake: Any, ending: str) -> Mistral:
    """The faults ride on client-wide headers: 1.1.0 has no per-call `http_headers`."""
    headers = conformance.FAULT_HEADERS.get(ending, {})
    return Mistral(
        api_key="test-key",
        server_url=f"{fake.base_url}/mistral",
        client=sdk_httpx.Client(headers=headers),
        async_client=sdk_httpx.AsyncClient(headers=headers),
    )


# 1.1.0 streams plain async generators, ended by `aclose()`; `EventStreamAsync` ends by `close()`.
STREAMS = conformance.AppStreams(
    lambda item: item.model_dump(), aclose="aclose" if EventStreamAsync is AsyncGenerator else "close"
)

# 1.1.0 fails a streamed request's HTTP error with `httpx.ResponseNotRead` (it reads the body it did not load):
# an SDK bug the application gets either way, so it is an outcome like any other.
CAUGHT = (*SDK_ERRORS, sdk_httpx.HTTPError, sdk_httpx.ResponseNotRead, conformance.UserError)


# --- sync -------------------------------------------------------------------------------------------------
def run_sync(client: Mistral, style: str, ending: str) -> tuple[Any, ...]:
    kwargs = _request(style, ending)
    try:
        if style == "plain":
            return ("ok", STREAMS.dump(client.chat.complete(**kwargs)))
        if style == "embeddings":
            return ("ok", STREAMS.dump(client.embeddings.create(**kwargs)))
        stream = client.chat.stream(**kwargs)
        assert isinstance(stream, EventStream)
        return ("ok", STREAMS.consume(stream, ending))
    except CAUGHT as error:
        return conformance.outcome_of_error(error)


# --- async ------------------------------------------------------------------------------------------------
async def run_async(client: Mistral, style: str, ending: str) -> tuple[Any, ...]:
    kwargs = _request(style, ending)
    try:
        if style == "plain":
            return ("ok", STREAMS.dump(await client.chat.complete_async(**kwargs)))
        if style == "embeddings":
            return ("ok", STREAMS.dump(await client.embeddings.create_async(**kwargs)))
        stream = await client.chat.stream_async(**kwargs)
        assert isinstance(stream, EventStreamAsync)
        return ("ok", await STREAMS.consume_async(stream, ending))
    except CAUGHT as error:
        return conformance.outcome_of_error(error)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    model = EMBED_MODEL if style == "embeddings" else MODEL
    operation = "embeddings" if style == "embeddings" else "chat"
    call = conformance.CallSpan.only_one(pipeline, operation=operation, model=model, provider="mistral_ai")
    attributes = call.attributes
    if ending in conformance.FAILURES:
        call.check_failed(outcome)
        return
    call.check_not_failed(streaming=style == "stream", ending=ending)
    if style != "stream":
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
        call.check_unpriced_without_usage()


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_sync_matrix(mistral_fake: Any, pipeline: Any, instrument_mistral: Any, style: str, ending: str) -> None:
    actual = conformance.same_as_uninstrumented(
        lambda: run_sync(_client(mistral_fake, ending), style, ending), instrument_mistral
    )
    _check_span(pipeline, style, ending, actual)


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_async_matrix(mistral_fake: Any, pipeline: Any, instrument_mistral: Any, style: str, ending: str) -> None:
    actual = conformance.same_as_uninstrumented_async(
        lambda: run_async(_client(mistral_fake, ending), style, ending), instrument_mistral
    )
    _check_span(pipeline, style, ending, actual)
