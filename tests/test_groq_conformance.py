"""The Groq conformance matrix: {sync, async} x call style x ending, against the fake Groq API over a socket.

For every combination the application must get exactly what it gets uninstrumented (same data, same
exception type and status), and exactly one GenAI span must be ended with the right status.
"""

from __future__ import annotations

from typing import Any

import conformance_support as conformance
import groq
import pytest

from otel_tokenomics.instrumentation.groq import GroqInstrumentor

MODEL = "llama-3.3-70b-versatile"

groq_fake = conformance.fake_provider_fixture("groq_fake", "groq")
instrument_groq = conformance.instrument_fixture("instrument_groq", GroqInstrumentor, "groq")


def _cases() -> list[tuple[str, str]]:
    return [
        (style, ending)
        for style in conformance.STAINLESS_STYLES
        for ending in conformance.endings_for(style.endswith("stream"))
    ]


def _request(style: str, ending: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": MODEL, "messages": conformance.MESSAGES}
    if style.endswith("stream"):
        kwargs["stream"] = True
    if ending in conformance.FAULT_HEADERS:
        kwargs["extra_headers"] = conformance.FAULT_HEADERS[ending]
    return kwargs


SDK = conformance.StainlessSurface(
    conformance.AppStreams(lambda item: item.model_dump()), groq.Stream, groq.AsyncStream, (groq.APIError,)
)


def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    call = conformance.CallSpan.only_one(pipeline, operation="chat", model=MODEL, provider="groq")
    if ending in conformance.FAILURES:
        call.check_failed(outcome)
        return
    call.check_not_failed(streaming=style.endswith("stream"), ending=ending)
    attributes = call.attributes
    if ending == "success":
        call.check_priced()
        assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
        assert attributes["gen_ai.response.model"] == MODEL
    else:  # ended early: the usage chunk never arrived, so the call is unpriced, not priced at 0
        call.check_unpriced_without_usage()


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_sync_matrix(groq_fake: Any, pipeline: Any, instrument_groq: Any, style: str, ending: str) -> None:
    def run() -> tuple[Any, ...]:
        client = groq.Groq(base_url=groq_fake.base_url, api_key="gsk-test", max_retries=0)
        return SDK.run_sync(client.chat.completions, _request(style, ending), style, ending)

    _check_span(pipeline, style, ending, conformance.same_as_uninstrumented(run, instrument_groq))


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_async_matrix(groq_fake: Any, pipeline: Any, instrument_groq: Any, style: str, ending: str) -> None:
    async def run() -> tuple[Any, ...]:
        client = groq.AsyncGroq(base_url=groq_fake.base_url, api_key="gsk-test", max_retries=0)
        return await SDK.run_async(client.chat.completions, _request(style, ending), style, ending)

    _check_span(pipeline, style, ending, conformance.same_as_uninstrumented_async(run, instrument_groq))
