"""The Anthropic conformance matrix: {sync, async} x call style x ending, against the fake provider over a socket.

For every combination the application must get exactly what it gets uninstrumented (same data, same exception
type and status), and exactly one GenAI span must be ended with the right status. `helper` is the SDK's
`messages.stream()` context manager, which posts by itself instead of calling `create()`.
"""

from __future__ import annotations

import gc
from typing import Any

import anthropic
import conformance_support as conformance
import pytest

from otel_tokenomics.instrumentation.anthropic import AnthropicInstrumentor

MODEL = "claude-haiku-4-5"
STYLES = (*conformance.STAINLESS_STYLES[:2], "helper", *conformance.STAINLESS_STYLES[2:])
STREAMING = ("stream", "helper", "raw_stream", "streaming_response_stream")

anthropic_fake = conformance.fake_provider_fixture("anthropic_fake", "anthropic")
instrument_anthropic = conformance.instrument_fixture("instrument_anthropic", AnthropicInstrumentor, "anthropic")


def _cases() -> list[tuple[str, str]]:
    return [(style, ending) for style in STYLES for ending in conformance.endings_for(style in STREAMING)]


def _request(style: str, ending: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": 200, "messages": conformance.MESSAGES}
    if style in STREAMING and style != "helper":
        kwargs["stream"] = True
    if ending in conformance.FAULT_HEADERS:
        kwargs["extra_headers"] = conformance.FAULT_HEADERS[ending]
    return kwargs


def _dump(item: Any) -> Any:
    return item.model_dump()


SDK = conformance.StainlessSurface(
    conformance.AppStreams(_dump),
    anthropic.Stream,
    anthropic.AsyncStream,
    (anthropic.APIError,),
    response_types=(anthropic.APIResponse, anthropic.AsyncAPIResponse),
)


# --- sync -------------------------------------------------------------------------------------------------
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
                    raise conformance.UserError("application bug")
                break
    return seen


def run_sync(client: anthropic.Anthropic, style: str, ending: str) -> tuple[Any, ...]:
    kwargs = _request(style, ending)
    if style != "helper":
        return SDK.run_sync(client.messages, kwargs, style, ending)
    try:
        return ("ok", _consume_helper(client.messages.stream(**kwargs), ending))
    except (anthropic.APIError, conformance.UserError) as error:
        return conformance.outcome_of_error(error)


# --- async ------------------------------------------------------------------------------------------------
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
                    raise conformance.UserError("application bug")
                break
    return seen


async def run_async(client: anthropic.AsyncAnthropic, style: str, ending: str) -> tuple[Any, ...]:
    kwargs = _request(style, ending)
    if style != "helper":
        return await SDK.run_async(client.messages, kwargs, style, ending)
    try:
        return ("ok", await _consume_async_helper(client.messages.stream(**kwargs), ending))
    except (anthropic.APIError, conformance.UserError) as error:
        return conformance.outcome_of_error(error)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    call = conformance.CallSpan.only_one(pipeline, operation="chat", model=MODEL, provider="anthropic")
    attributes = call.attributes
    assert attributes["gen_ai.request.max_tokens"] == 200
    if ending in conformance.FAILURES:
        call.check_failed(outcome)
        return
    call.check_not_failed(streaming=style in STREAMING, ending=ending)
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
def test_sync_matrix(anthropic_fake: Any, pipeline: Any, instrument_anthropic: Any, style: str, ending: str) -> None:
    def run() -> tuple[Any, ...]:
        client = anthropic.Anthropic(base_url=anthropic_fake.base_url, api_key="sk-ant-test", max_retries=0)
        return run_sync(client, style, ending)

    _check_span(pipeline, style, ending, conformance.same_as_uninstrumented(run, instrument_anthropic))


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_async_matrix(anthropic_fake: Any, pipeline: Any, instrument_anthropic: Any, style: str, ending: str) -> None:
    async def run() -> tuple[Any, ...]:
        client = anthropic.AsyncAnthropic(base_url=anthropic_fake.base_url, api_key="sk-ant-test", max_retries=0)
        return await run_async(client, style, ending)

    _check_span(pipeline, style, ending, conformance.same_as_uninstrumented_async(run, instrument_anthropic))
