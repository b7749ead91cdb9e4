"""The conformance matrix: {sync, async} x call style x ending, against the fake provider over a real socket.

For every combination the application must get exactly what it gets uninstrumented (same data, same
exception type and status), and exactly one GenAI span must be ended with the right status.
"""

from __future__ import annotations

from typing import Any

import conformance_support as conformance
import openai
import pytest


def _cases() -> list[tuple[str, str]]:
    return [
        (style, ending)
        for style in conformance.STAINLESS_STYLES
        for ending in conformance.endings_for(style.endswith("stream"))
    ]


def _request(style: str, ending: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": "gpt-4o-mini", "messages": conformance.MESSAGES}
    if style.endswith("stream"):
        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
    if ending in conformance.FAULT_HEADERS:
        kwargs["extra_headers"] = conformance.FAULT_HEADERS[ending]
    return kwargs


def _dump(item: Any) -> Any:
    data = item.model_dump()
    data.pop("created", None)
    return data


# `with_raw_response` gives openai's legacy response, whose `parse()` is synchronous even on an async client.
SDK = conformance.StainlessSurface(
    conformance.AppStreams(_dump), openai.Stream, openai.AsyncStream, (openai.APIError,), raw_parse_awaited=False
)


def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    call = conformance.CallSpan.only_one(pipeline, operation="chat", model="gpt-4o-mini", provider="openai")
    if ending in conformance.FAILURES:
        call.check_failed(outcome)
        return
    call.check_not_failed(streaming=style.endswith("stream"), ending=ending)
    attributes = call.attributes
    if ending == "success":
        call.check_priced()
        assert attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    else:  # ended early: the usage chunk never arrived, so the call is unpriced, not priced at 0
        call.check_unpriced_without_usage()


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_sync_matrix(fake: Any, pipeline: Any, instrument_openai: Any, style: str, ending: str) -> None:
    def run() -> tuple[Any, ...]:
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0)
        return SDK.run_sync(client.chat.completions, _request(style, ending), style, ending)

    _check_span(pipeline, style, ending, conformance.same_as_uninstrumented(run, instrument_openai))


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_async_matrix(fake: Any, pipeline: Any, instrument_openai: Any, style: str, ending: str) -> None:
    async def run() -> tuple[Any, ...]:
        client = openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0)
        return await SDK.run_async(client.chat.completions, _request(style, ending), style, ending)

    _check_span(pipeline, style, ending, conformance.same_as_uninstrumented_async(run, instrument_openai))
