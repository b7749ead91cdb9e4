"""The conformance matrix for google-genai: {sync, async} x call style x ending, against the fake over a socket.

For every combination the application must get exactly what it gets uninstrumented (same data, same exception
type and code), and exactly one GenAI span must be ended with the right status. The SDK's streams are plain
(async) generators with no `with` support of their own, so the "break inside `with`" case uses the stdlib's
`closing()`/`aclosing()`, which is how such streams are scoped in application code. The SDK's raw form is
`config.should_return_http_response` (no stream variant: the SDK refuses it for streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols

MODEL = "gemini-2.5-flash"
STYLES = ("plain", "raw", "stream", "embed")
FAILURES = ("http_4xx", "http_5xx", "connection_error")
STREAM_ENDINGS = ("early_close", "break_in_with", "gc_unconsumed", "user_exception")
FAULT_HEADERS = {
    "http_4xx": {"x-fake-status": "400"},
    "http_5xx": {"x-fake-status": "500"},
    "connection_error": {"x-fake-fault": "disconnect"},
}


@pytest.fixture(scope="module")
def gemini_fake() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["gemini"])) as server:
        yield server


@pytest.fixture
def instrument_google(pipeline: Any, price_book: Any) -> Iterator[Any]:
    from otel_tokenomics.instrumentation.google_genai import GoogleGenAIInstrumentor

    instrumentor = GoogleGenAIInstrumentor()

    def instrument(**options: Any) -> GoogleGenAIInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "gcp.gemini"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


# Cases using what older releases (google-genai 1.8 to 1.30 at least) lack: `should_return_http_response` (the
# raw style) and `EmbedContentResponse.usage_metadata` (they drop the embedding's usage: nothing to price).
_MODERN = pytest.mark.google_genai_modern


def _cases() -> list[Any]:
    cases = []
    for style in STYLES:
        for ending in ("success", *FAILURES, *(STREAM_ENDINGS if style == "stream" else ())):
            modern = style == "raw" or (style == "embed" and ending == "success")
            cases.append(pytest.param(style, ending, marks=_MODERN) if modern else (style, ending))
    return cases


class UserError(Exception):
    """Raised by 'application code' in the middle of a stream."""


def _http_options(fake: FakeProvider) -> types.HttpOptions:
    # One attempt: without retry options the aiohttp path retries a dropped connection after a 1-10 s sleep.
    # Releases before the retry options (google-genai < 1.30) do not retry at all.
    if hasattr(types, "HttpRetryOptions"):
        return types.HttpOptions(base_url=fake.base_url, retry_options=types.HttpRetryOptions(attempts=1))
    return types.HttpOptions(base_url=fake.base_url)


def _client(fake: FakeProvider) -> genai.Client:
    return genai.Client(api_key="test-key", http_options=_http_options(fake))


def _config(style: str, ending: str) -> Any:
    headers = FAULT_HEADERS.get(ending)
    options = types.HttpOptions(headers=headers) if headers else None
    if style == "embed":
        return types.EmbedContentConfig(http_options=options, output_dimensionality=8)
    if style == "raw":
        return types.GenerateContentConfig(http_options=options, temperature=0.5, should_return_http_response=True)
    return types.GenerateContentConfig(http_options=options, temperature=0.5)


def _dump(item: Any) -> Any:
    return item.model_dump(exclude={"sdk_http_response"})


def _outcome_of_error(error: BaseException) -> tuple[Any, ...]:
    return ("raised", type(error).__name__, getattr(error, "code", None))


def _raw_body(response: Any) -> Any:
    import json

    return json.loads(response.sdk_http_response.body)


# --- sync -------------------------------------------------------------------------------------------------
def _consume_sync(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "early_close":
        seen.append(_dump(next(stream)))
        stream.close()
    elif ending == "break_in_with":
        with contextlib.closing(stream) as entered:
            for chunk in entered:
                seen.append(_dump(chunk))
                break
    elif ending == "gc_unconsumed":
        seen.append(_dump(next(stream)))
        del stream
        gc.collect()
    elif ending == "user_exception":
        with contextlib.closing(stream):
            for chunk in stream:
                seen.append(_dump(chunk))
                raise UserError("application bug")
    else:
        seen.extend(_dump(chunk) for chunk in stream)
    return seen


def run_sync(client: genai.Client, style: str, ending: str) -> tuple[Any, ...]:
    models = client.models
    config = _config(style, ending)
    contents = "Say something about token accounting."
    try:
        if style == "plain":
            return ("ok", _dump(models.generate_content(model=MODEL, contents=contents, config=config)))
        if style == "raw":
            return ("ok", _raw_body(models.generate_content(model=MODEL, contents=contents, config=config)))
        if style == "embed":
            return ("ok", _dump(models.embed_content(model="gemini-embedding-001", contents=[contents], config=config)))
        stream = models.generate_content_stream(model=MODEL, contents=contents, config=config)
        assert isinstance(stream, Iterator)
        return ("ok", _consume_sync(stream, ending))
    except (errors.APIError, UserError) as error:
        return _outcome_of_error(error)
    except Exception as error:  # connection errors: the HTTP library's own type
        return ("raised", type(error).__name__, None)


# --- async ------------------------------------------------------------------------------------------------
async def _consume_async(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "early_close":
        seen.append(_dump(await stream.__anext__()))
        await stream.aclose()
    elif ending == "break_in_with":
        async with contextlib.aclosing(stream) as entered:
            async for chunk in entered:
                seen.append(_dump(chunk))
                break
    elif ending == "gc_unconsumed":
        seen.append(_dump(await stream.__anext__()))
        del stream
        gc.collect()
    elif ending == "user_exception":
        async with contextlib.aclosing(stream):
            async for chunk in stream:
                seen.append(_dump(chunk))
                raise UserError("application bug")
    else:
        seen.extend([_dump(chunk) async for chunk in stream])
    return seen


async def run_async(client: genai.Client, style: str, ending: str) -> tuple[Any, ...]:
    models = client.aio.models
    config = _config(style, ending)
    contents = "Say something about token accounting."
    try:
        if style == "plain":
            return ("ok", _dump(await models.generate_content(model=MODEL, contents=contents, config=config)))
        if style == "raw":
            return ("ok", _raw_body(await models.generate_content(model=MODEL, contents=contents, config=config)))
        if style == "embed":
            response = await models.embed_content(model="gemini-embedding-001", contents=[contents], config=config)
            return ("ok", _dump(response))
        stream = await models.generate_content_stream(model=MODEL, contents=contents, config=config)
        return ("ok", await _consume_async(stream, ending))
    except (errors.APIError, UserError) as error:
        return _outcome_of_error(error)
    except Exception as error:  # connection errors: the HTTP library's own type
        return ("raised", type(error).__name__, None)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, f"expected exactly one GenAI span, got {[s.name for s in spans]}"
    span = spans[0]
    attributes = dict(span.attributes or {})
    embed = style == "embed"
    assert span.name == ("embeddings gemini-embedding-001" if embed else f"generate_content {MODEL}")
    assert attributes["gen_ai.operation.name"] == ("embeddings" if embed else "generate_content")
    assert attributes["gen_ai.provider.name"] == "gcp.gemini"
    if ending in FAILURES:
        assert outcome[0] == "raised"
        assert span.status.status_code.name == "ERROR"
        assert attributes["error.type"] == outcome[1]
        assert "gen_ai.usage.cost.amount" not in attributes
        return
    if ending == "user_exception":
        assert outcome == ("raised", "UserError", None)
    assert span.status.status_code.name == "UNSET"
    assert "error.type" not in attributes
    if style == "stream":
        assert attributes["gen_ai.request.stream"] is True
        assert attributes["tokenomics.stream.completed"] is (ending == "success")
        assert attributes["gen_ai.response.time_to_first_chunk"] > 0
        assert attributes["gen_ai.usage.input_tokens"] > 0  # every Gemini chunk carries the prompt count
    if ending == "success":
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["tokenomics.cost.status"] == "priced"
        assert attributes["gen_ai.usage.cost.amount"] > 0
        if not embed:
            assert attributes["gen_ai.usage.output_tokens"] > 0
            assert attributes["gen_ai.usage.reasoning.output_tokens"] > 0
            assert attributes["gen_ai.response.model"] == MODEL
            assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
            assert attributes["gen_ai.request.temperature"] == 0.5
    else:  # ended early: the final chunk never arrived, so no output was counted
        assert attributes["gen_ai.usage.output_tokens"] == 0
        assert "gen_ai.response.finish_reasons" not in attributes


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_sync_matrix(gemini_fake: Any, pipeline: Any, instrument_google: Any, style: str, ending: str) -> None:
    expected = run_sync(_client(gemini_fake), style, ending)
    instrument_google()
    actual = run_sync(_client(gemini_fake), style, ending)
    gc.collect()
    assert actual == expected
    _check_span(pipeline, style, ending, actual)


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_async_matrix(gemini_fake: Any, pipeline: Any, instrument_google: Any, style: str, ending: str) -> None:
    async def scenario() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        expected = await run_async(_client(gemini_fake), style, ending)
        instrument_google()
        actual = await run_async(_client(gemini_fake), style, ending)
        return expected, actual

    expected, actual = asyncio.run(scenario())
    gc.collect()
    assert actual == expected
    _check_span(pipeline, style, ending, actual)
