"""The LiteLLM conformance matrix: {OpenAI, Anthropic backend} x {sync, async} x {plain, stream} x ending.

LiteLLM is called as users call it (`litellm.completion` / `acompletion`), against fake backends over a socket,
with the OpenAI and Anthropic SDK adapters instrumented as well. For every combination the application must
get what it gets uninstrumented (same answer, same exception type and status) and exactly one GenAI span, the
LiteLLM call's, must end with the right status, provider and model.

LiteLLM's `CustomStreamWrapper` has no `close()` and is no context manager (async streams have `aclose()`), so
a sync stream ends early by being dropped; `break` and an exception in the caller's loop are that same case.
"""

from __future__ import annotations

from typing import Any

import conformance_support as conformance
import pytest
from litellm_support import ANTHROPIC_MODEL, MESSAGES, OPENAI_MODEL, Backends
from litellm_support import backends as backends  # fixtures, used by name
from litellm_support import instrument_litellm as instrument_litellm
from litellm_support import litellm as litellm

pytestmark = pytest.mark.litellm

BACKENDS = ("openai", "anthropic")
MODELS = {"openai": OPENAI_MODEL, "anthropic": ANTHROPIC_MODEL}
STREAM_ENDINGS = ("early_close", "gc_unconsumed", "user_exception")


def _cases() -> list[tuple[str, str, str]]:
    return [
        (backend, style, ending)
        for backend in BACKENDS
        for style in ("plain", "stream")
        for ending in conformance.endings_for(style == "stream", STREAM_ENDINGS)
    ]


def _request(backends: Backends, backend: str, style: str, ending: str) -> dict[str, Any]:
    kwargs = {**backends.call_options(backend), "messages": MESSAGES}
    if style == "stream":
        kwargs.update(stream=True, stream_options={"include_usage": True})
    if ending in conformance.FAULT_HEADERS:
        kwargs["extra_headers"] = conformance.FAULT_HEADERS[ending]
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


# A sync stream has no close(): it ends early by being dropped.
STREAMS = conformance.AppStreams(_answer, enter=None, first=conformance.first_in_loop, close=None, aclose="aclose")


def run_sync(litellm: Any, kwargs: dict[str, Any], style: str, ending: str) -> tuple[Any, ...]:
    try:
        if style == "plain":
            return ("ok", _answer(litellm.completion(**kwargs)))
        stream = litellm.completion(**kwargs)
        assert isinstance(stream, litellm.CustomStreamWrapper)
        return ("ok", STREAMS.consume(stream, ending))
    except Exception as error:  # LiteLLM maps every backend error to its own types; compare type and status
        return conformance.outcome_of_error(error)


async def run_async(litellm: Any, kwargs: dict[str, Any], style: str, ending: str) -> tuple[Any, ...]:
    try:
        if style == "plain":
            return ("ok", _answer(await litellm.acompletion(**kwargs)))
        stream = await litellm.acompletion(**kwargs)
        assert isinstance(stream, litellm.CustomStreamWrapper)
        return ("ok", await STREAMS.consume_async(stream, ending))
    except Exception as error:  # LiteLLM maps every backend error to its own types; compare type and status
        return conformance.outcome_of_error(error)


def _check_span(pipeline: Any, backend: str, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    call = conformance.CallSpan.only_one(pipeline, operation="chat", model=MODELS[backend], provider=backend)
    attributes = call.attributes
    assert call.span.instrumentation_scope.name == "otel_tokenomics.instrumentation.litellm"
    assert attributes["gen_ai.request.model"] == MODELS[backend]
    if ending in conformance.FAILURES:
        call.check_failed(outcome)
        return
    call.check_not_failed(streaming=style == "stream", ending=ending)
    if ending == "success":
        call.check_priced()
        assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
        assert attributes["gen_ai.response.model"].startswith(MODELS[backend])
    else:  # ended early: the usage chunk never arrived, so the call is unpriced, not priced at 0
        call.check_unpriced_without_usage()


@pytest.mark.parametrize(("backend", "style", "ending"), _cases())
def test_sync_matrix(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any, backend: str, style: str, ending: str
) -> None:
    kwargs = _request(backends, backend, style, ending)
    actual = conformance.same_as_uninstrumented(
        lambda: run_sync(litellm, dict(kwargs), style, ending), instrument_litellm
    )
    _check_span(pipeline, backend, style, ending, actual)


@pytest.mark.parametrize(("backend", "style", "ending"), _cases())
def test_async_matrix(
    litellm: Any, backends: Backends, pipeline: Any, instrument_litellm: Any, backend: str, style: str, ending: str
) -> None:
    kwargs = _request(backends, backend, style, ending)
    actual = conformance.same_as_uninstrumented_async(
        lambda: run_async(litellm, dict(kwargs), style, ending), instrument_litellm
    )
    _check_span(pipeline, backend, style, ending, actual)
