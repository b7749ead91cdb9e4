"""The Ollama conformance matrix: {sync, async} x {chat, generate} x {plain, stream} x ending, over a socket.

For every combination the application must get exactly what it gets uninstrumented (same data, same
exception type and status), and exactly one GenAI span must be ended with the right status. Ollama's streams
are plain (async) generators, not context managers: the early endings are `close()`/`aclose()`, a `break`
out of the loop, dropping the generator, and an exception in the loop body.
"""

from __future__ import annotations

from typing import Any

import conformance_support as conformance
import httpx
import ollama
import pytest

from otel_tokenomics.instrumentation.ollama import OllamaInstrumentor

MODEL = "llama3.2"
OPERATIONS = ("chat", "generate")
STYLES = ("plain", "stream")
STREAM_ENDINGS = ("early_close", "break_in_loop", "gc_unconsumed", "user_exception")
OLLAMA_FAULT_HEADERS = {**conformance.FAULT_HEADERS, "http_4xx": {"x-fake-status": "404"}}
SPAN_OPERATION = {"chat": "chat", "generate": "text_completion"}

ollama_fake = conformance.fake_provider_fixture("ollama_fake", "ollama")
instrument_ollama = conformance.instrument_fixture("instrument_ollama", OllamaInstrumentor, "ollama")


def _cases() -> list[tuple[str, str, str]]:
    return [
        (operation, style, ending)
        for operation in OPERATIONS
        for style in STYLES
        for ending in conformance.endings_for(style == "stream", STREAM_ENDINGS)
    ]


def _call(client: Any, operation: str, style: str) -> Any:
    if operation == "chat":
        return client.chat(MODEL, messages=conformance.MESSAGES, stream=style == "stream")
    return client.generate(MODEL, "Say something about token accounting.", stream=style == "stream")


STREAMS = conformance.AppStreams(lambda item: item.model_dump(), enter=None, aclose="aclose")
CAUGHT = (ollama.ResponseError, ConnectionError, httpx.HTTPError, conformance.UserError)


def run_sync(client: ollama.Client, operation: str, style: str, ending: str) -> tuple[Any, ...]:
    try:
        result = _call(client, operation, style)
        if style == "plain":
            return ("ok", STREAMS.dump(result))
        return ("ok", STREAMS.consume(result, ending))
    except CAUGHT as error:
        return conformance.outcome_of_error(error)


async def run_async(client: ollama.AsyncClient, operation: str, style: str, ending: str) -> tuple[Any, ...]:
    try:
        result = await _call(client, operation, style)
        if style == "plain":
            return ("ok", STREAMS.dump(result))
        return ("ok", await STREAMS.consume_async(result, ending))
    except CAUGHT as error:
        return conformance.outcome_of_error(error)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, operation: str, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    call = conformance.CallSpan.only_one(pipeline, operation=SPAN_OPERATION[operation], model=MODEL, provider="ollama")
    if ending in conformance.FAILURES:
        call.check_failed(outcome)
        return
    call.check_not_failed(streaming=style == "stream", ending=ending)
    attributes = call.attributes
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
    def run() -> tuple[Any, ...]:
        client = ollama.Client(host=ollama_fake.base_url, headers=OLLAMA_FAULT_HEADERS.get(ending))
        return run_sync(client, operation, style, ending)

    _check_span(pipeline, operation, style, ending, conformance.same_as_uninstrumented(run, instrument_ollama))


@pytest.mark.parametrize(("operation", "style", "ending"), _cases())
def test_async_matrix(
    ollama_fake: Any, pipeline: Any, instrument_ollama: Any, operation: str, style: str, ending: str
) -> None:
    async def run() -> tuple[Any, ...]:
        client = ollama.AsyncClient(host=ollama_fake.base_url, headers=OLLAMA_FAULT_HEADERS.get(ending))
        return await run_async(client, operation, style, ending)

    _check_span(pipeline, operation, style, ending, conformance.same_as_uninstrumented_async(run, instrument_ollama))
