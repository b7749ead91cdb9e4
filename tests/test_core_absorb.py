"""The core's absorbed round trips (`Target.absorb_usage`), on a toy SDK that sends several requests per call.

The toy stands for any SDK whose public method loops over a private per-request method (Gemini's automatic
function calling): the public call owns the span, every request it sent is billed, each one priced on its own.
Prices are the catalog's gemini-2.5-pro rates (`otel-tokenomics prices gemini-2.5-pro`): input $1.25, output $10
per 1M tokens up to 200,000 input tokens per request, $2.50 and $15 above.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from otel_tokenomics.instrumentation.core import Endpoint, GenAIInstrumentor, Invocation, ResultKind, Target
from otel_tokenomics.semconv.usage import Usage

PER_MILLION = 1_000_000
INPUT, OUTPUT = 1.25, 10.0  # gemini-2.5-pro, up to 200k input tokens per request
MODEL = "gemini-2.5-pro"
reads: list[Any] = []  # responses the round-trip reader was asked to read


class ToyClient:
    """`ask` sends `rounds` requests through `_send` and returns the last response, like an SDK's tool loop."""

    def __init__(self, *replies: tuple[int, int] | BaseException) -> None:
        self.replies = list(replies)
        self.sent: list[dict[str, Any]] = []

    def _send(self, *, model: str) -> dict[str, Any]:
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        response = {"model": model, "usage": reply}
        self.sent.append(response)
        return response

    def ask(self, *, model: str, rounds: int) -> dict[str, Any]:
        response: dict[str, Any] = {}
        for _ in range(rounds):
            response = self._send(model=model)
        return response

    def ask_stream(self, *, model: str) -> Iterator[dict[str, Any]]:
        return iter([self._send(model=model)])


class AsyncToyClient(ToyClient):
    """Its `_send` delegates to the (also wrapped) sync one: a round trip inside a round trip, to be counted once."""

    async def _send(self, *, model: str) -> dict[str, Any]:  # type: ignore[override]
        return ToyClient._send(self, model=model)

    async def ask(self, *, model: str, rounds: int) -> dict[str, Any]:  # type: ignore[override]
        response: dict[str, Any] = {}
        for _ in range(rounds):
            response = await self._send(model=model)
        return response


def read_toy_usage(response: dict[str, Any]) -> Usage:
    reads.append(response)
    return Usage.from_inclusive(*response["usage"])


def _read_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    invocation.provider = "gcp.gemini"
    invocation.request_model = kwargs["model"]


def _read_stream_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    invocation.stream = True
    _read_request(invocation, instance, kwargs)


def _read_response(invocation: Invocation, response: dict[str, Any]) -> None:
    invocation.response_model = response["model"]
    invocation.usage = Usage.from_inclusive(*response["usage"])


class _ChunkReader:
    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation

    def feed(self, chunk: dict[str, Any]) -> bool:
        _read_response(self.invocation, chunk)
        return False

    def close(self) -> None:
        pass


ASK = Endpoint("generate_content", _read_request, _read_response)
ASK_STREAM = Endpoint("generate_content", _read_stream_request, _read_response, _ChunkReader)


def _absorb(response: Any) -> Any:
    return read_toy_usage(response)  # looked up per call, so a test can break it


class ToyAdapter:
    name = "toy"
    instruments: tuple[str, ...] = ()
    targets = (
        Target(__name__, "ToyClient.ask", ASK),
        Target(__name__, "ToyClient.ask_stream", ASK_STREAM),
        Target(__name__, "ToyClient._send", absorb_usage=_absorb),
        Target(__name__, "AsyncToyClient.ask", ASK, is_async=True),
        Target(__name__, "AsyncToyClient._send", is_async=True, absorb_usage=_absorb),
    )

    def classify(self, result: Any, invocation: Invocation) -> ResultKind:
        return ResultKind.STREAM if invocation.stream else ResultKind.RESPONSE


class ToyInstrumentor(GenAIInstrumentor):
    adapter = ToyAdapter()


@pytest.fixture
def toy(pipeline: Any, price_book: Any) -> Iterator[ToyInstrumentor]:
    reads.clear()
    instrumentor = ToyInstrumentor()
    instrumentor.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, price_book=price_book
    )
    yield instrumentor
    instrumentor.uninstrument()


def _only_span(pipeline: Any) -> Any:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


def _assert_two_round_trips_billed(pipeline: Any) -> None:
    attributes = _only_span(pipeline).attributes
    assert attributes["tokenomics.usage.requests"] == 2
    assert attributes["gen_ai.usage.input_tokens"] == 150_000 + 160_000
    assert attributes["gen_ai.usage.output_tokens"] == 100 + 40
    # Each request is below the 200k tier; their sum is not, and must not be priced as if it were one request.
    expected = ((150_000 + 160_000) * INPUT + (100 + 40) * OUTPUT) / PER_MILLION  # = 0.3889
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected, rel=1e-12)
    assert attributes["tokenomics.cost.input"] == pytest.approx(310_000 * INPUT / PER_MILLION, rel=1e-12)
    assert attributes["tokenomics.cost.output"] == pytest.approx(140 * OUTPUT / PER_MILLION, rel=1e-12)
    [counted] = pipeline.metric_points("tokenomics.client.cost")
    assert counted.value == pytest.approx(expected, rel=1e-12)


def test_round_trips_are_summed_and_priced_one_by_one(pipeline: Any, toy: Any) -> None:
    client = ToyClient((150_000, 100), (160_000, 40))
    result = client.ask(model=MODEL, rounds=2)
    assert result is client.sent[-1]
    _assert_two_round_trips_billed(pipeline)


def test_async_round_trips_are_summed_and_priced_one_by_one(pipeline: Any, toy: Any) -> None:
    client = AsyncToyClient((150_000, 100), (160_000, 40))
    result = asyncio.run(client.ask(model=MODEL, rounds=2))
    assert result is client.sent[-1]
    _assert_two_round_trips_billed(pipeline)


def test_a_single_round_trip_is_the_call_itself(pipeline: Any, toy: Any) -> None:
    ToyClient((1_000, 10)).ask(model=MODEL, rounds=1)
    attributes = _only_span(pipeline).attributes
    assert attributes["tokenomics.usage.requests"] == 1
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (1_000, 10)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx((1_000 * INPUT + 10 * OUTPUT) / PER_MILLION)


def test_the_private_method_alone_passes_through(pipeline: Any, toy: Any) -> None:
    client = ToyClient((1_000, 10))
    assert client._send(model=MODEL) is client.sent[0]
    assert pipeline.genai_spans() == []
    assert reads == []  # nothing of ours ran: no outer call to add to


def test_a_streamed_call_is_left_to_its_stream_reader(pipeline: Any, toy: Any) -> None:
    client = ToyClient((1_000, 10))
    chunks = list(client.ask_stream(model=MODEL))
    assert chunks == client.sent
    attributes = _only_span(pipeline).attributes
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (1_000, 10)
    assert "tokenomics.usage.requests" not in attributes
    assert reads == []


def test_round_trips_before_a_failure_are_still_billed(pipeline: Any, toy: Any) -> None:
    client = ToyClient((1_000, 10), ConnectionError("second request lost"))
    with pytest.raises(ConnectionError):
        client.ask(model=MODEL, rounds=2)
    span = _only_span(pipeline)
    assert span.attributes["error.type"] == "ConnectionError"
    assert span.attributes["tokenomics.usage.requests"] == 1
    assert span.attributes["gen_ai.usage.input_tokens"] == 1_000
    expected = (1_000 * INPUT + 10 * OUTPUT) / PER_MILLION
    assert span.attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected, rel=1e-12)
    [counted] = pipeline.metric_points("tokenomics.client.cost")
    assert counted.value == pytest.approx(expected, rel=1e-12)


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("absorption bug")


@pytest.mark.parametrize(("owner", "name"), [(sys.modules[__name__], "read_toy_usage"), (Invocation, "absorb")])
def test_a_failing_absorption_never_reaches_the_app(
    pipeline: Any, toy: Any, monkeypatch: Any, owner: Any, name: str
) -> None:
    monkeypatch.setattr(owner, name, _boom)
    client = ToyClient((150_000, 100), (160_000, 40))
    assert client.ask(model=MODEL, rounds=2) is client.sent[-1]
    async_client = AsyncToyClient((150_000, 100), (160_000, 40))
    assert asyncio.run(async_client.ask(model=MODEL, rounds=2)) is async_client.sent[-1]
    spans = pipeline.genai_spans()
    assert len(spans) == 2
    assert all(span.end_time is not None for span in spans)
