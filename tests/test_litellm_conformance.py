"""The LiteLLM conformance matrix: {OpenAI, Anthropic backend} x {sync, async} x {plain, stream} x ending.

LiteLLM is called as users call it (`litellm.completion` / `acompletion`), against fake backends over a socket,
with the OpenAI and Anthropic SDK adapters instrumented as well. For every combination the application must
get what it gets uninstrumented (same answer, same exception type and status) and exactly one GenAI span, the
LiteLLM call's, must end with the right status, provider and model.

LiteLLM's `CustomStreamWrapper` has no `close()` and is no context manager (async streams have `aclose()`), so
a sync stream ends early by being dropped; `break` and an exception in the caller's loop are that same case.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from litellm_support import ANTHROPIC_MODEL, MESSAGES, OPENAI_MODEL, Backends
from litellm_support import backends as backends  # fixtures, used by name
from litellm_support import instrument_litellm as instrument_litellm
from litellm_support import litellm as litellm

pytestmark = pytest.mark.litellm

BACKENDS = ("openai", "anthropic")
MODELS = {"openai": OPENAI_MODEL, "anthropic": ANTHROPIC_MODEL}
FAILURES = ("http_4xx", "http_5xx", "connection_error")
STREAM_ENDINGS = ("early_close", "gc_unconsumed", "user_exception")
FAULT_HEADERS = {
    "http_4xx": {"x-fake-status": "400"},
    "http_5xx": {"x-fake-status": "500"},
    "connection_error": {"x-fake-fault": "disconnect"},
}


class UserError(Exception):
    """Raised by 'application code' in the middle of a stream."""


def _cases() -> list[tuple[str, str, str]]:
    return [
        (backend, style, ending)
        for backend in BACKENDS
        for style in ("plain", "stream")
        for ending in ("success", *FAILURES, *(STREAM_ENDINGS if style == "stream" else ()))
    ]


def _request(backends: Backends, backend: str, style: str, ending: str) -> dict[str, Any]:
    kwargs = {**backends.call_options(backend), "messages": MESSAGES}
    if style == "stream":
        kwargs.update(stream=True, stream_options={"include_usage": True})
    if ending in FAULT_HEADERS:
        kwargs["extra_headers"] = FAULT_HEADERS[ending]
    return kwargs


def _answer(response: Any) -> tuple[Any, ...]:
    """What an application reads from a response or chunk (LiteLLM stamps `created` with the local clock)."""
    choices = [
        (choice.finish_reason, getattr(getattr(choice, "message", None) or choice.delta, "content", None))
        for choice in response.choices
    ]
    usage = getattr(response, "usage", None)
    tokens = (usage.prompt_tokens, usage.completion_tokens) if usage is not None else None
    return (response.model, choices, tokens)


def _outcome_of_error(error: BaseException) -> tuple[Any, ...]:
    return ("raised", type(error).__name__, getattr(error, "status_code", None))


def _consume_sync(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending in ("early_close", "gc_unconsumed"):
        for chunk in stream:
            seen.append(_answer(chunk))
            break
        del stream
        gc.collect()
    elif ending == "user_exception":
        for chunk in stream:
            seen.append(_answer(chunk))
            raise UserError("application bug")
    else:
        seen.extend(_answer(chunk) for chunk in stream)
    return seen


def run_sync(litellm: Any, kwargs: dict[str, Any], style: str, ending: str) -> tuple[Any, ...]:
    try:
        if style == "plain":
            return ("ok", _answer(litellm.completion(**kwargs)))
        stream = litellm.completion(**kwargs)
        assert isinstance(stream, litellm.CustomStreamWrapper)
        return ("ok", _consume_sync(stream, ending))
    except Exception as error:  # LiteLLM maps every backend error to its own types; compare type and status
        return _outcome_of_error(error)


async def _consume_async(stream: Any, ending: str) -> list[Any]:
    seen: list[Any] = []
    if ending == "early_close":
        seen.append(_answer(await stream.__anext__()))
        await stream.aclose()
    elif ending == "gc_unconsumed":
        seen.append(_answer(await stream.__anext__()))
        del stream
        gc.collect()
    elif ending == "user_exception":
        async for chunk in stream:
            seen.append(_answer(chunk))
            raise UserError("application bug")
    else:
        seen.extend([_answer(chunk) async for chunk in stream])
    return seen


async def run_async(litellm: Any, kwargs: dict[str, Any], style: str, ending: str) -> tuple[Any, ...]:
    try:
        if style == "plain":
            return ("ok", _answer(await litellm.acompletion(**kwargs)))
        stream = await litellm.acompletion(**kwargs)
        assert isinstance(stream, litellm.CustomStreamWrapper)
        return ("ok", await _consume_async(stream, ending))
    except Exception as error:  # LiteLLM maps every backend error to its own types; compare type and status
        return _outcome_of_error(error)


def _check_span(pipeline: Any, backend: str, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, f"expected exactly one GenAI span, got {[s.name for s in spans]}"
    span = spans[0]
    attributes = dict(span.attributes or {})
    assert span.instrumentation_scope.name == "otel_tokenomics.instrumentation.litellm"
    assert span.name == f"chat {MODELS[backend]}"
    assert attributes["gen_ai.provider.name"] == backend
    assert attributes["gen_ai.request.model"] == MODELS[backend]
    if ending in FAILURES:
        assert outcome[0] == "raised"
        assert span.status.status_code.name == "ERROR"
        assert attributes["error.type"] == outcome[1]
        assert "gen_ai.usage.cost.amount" not in attributes
        return
    assert span.status.status_code.name == "UNSET"
    assert "error.type" not in attributes
    if style == "stream":
        assert attributes["gen_ai.request.stream"] is True
        assert attributes["tokenomics.stream.completed"] is (ending == "success")
    if ending == "success":
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["gen_ai.usage.output_tokens"] > 0
        assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
        assert attributes["tokenomics.cost.status"] == "priced"
        assert attributes["gen_ai.usage.cost.amount"] > 0
        assert attributes["gen_ai.response.model"].startswith(MODELS[backend])
    else:  # ended early: the usage chunk never arrived, so the call is unpriced, not priced at 0
        assert attributes["tokenomics.usage.reported"] is False
        assert attributes["tokenomics.cost.status"] == "unpriced"
        assert attributes["tokenomics.cost.unpriced_reason"] == "no_usage"


@pytest.mark.parametrize(("backend", "style", "ending"), _cases())
def test_sync_matrix(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any, backend: str, style: str, ending: str
) -> None:
    kwargs = _request(backends, backend, style, ending)
    expected = run_sync(litellm, dict(kwargs), style, ending)
    instrument_litellm()
    actual = run_sync(litellm, dict(kwargs), style, ending)
    gc.collect()
    assert actual == expected
    _check_span(pipeline, backend, style, ending, actual)


@pytest.mark.parametrize(("backend", "style", "ending"), _cases())
def test_async_matrix(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any, backend: str, style: str, ending: str
) -> None:
    kwargs = _request(backends, backend, style, ending)

    async def scenario() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        expected = await run_async(litellm, dict(kwargs), style, ending)
        instrument_litellm()
        actual = await run_async(litellm, dict(kwargs), style, ending)
        return expected, actual

    expected, actual = asyncio.run(scenario())
    gc.collect()
    assert actual == expected
    _check_span(pipeline, backend, style, ending, actual)
