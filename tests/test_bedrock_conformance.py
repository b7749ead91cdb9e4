"""The Bedrock conformance matrix: operation x ending, boto3 against the fake Bedrock over a real socket.

boto3 is synchronous only, so there is no async half. For every combination the application must get exactly
what it gets uninstrumented (same data, same exception type and error code), and exactly one GenAI span must be
ended with the right status. botocore's `EventStream` has `close()` but is no context manager, so the stream
endings are: `close()` after the first event, `break` out of the loop (then the stream is dropped), dropping an
unconsumed stream, the app's own exception inside the loop, `with stream:` (a TypeError, as uninstrumented); and
the stream failing after it started: the connection dropping, or Bedrock sending a modeled exception event
(botocore raises `EventStreamError`).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
import urllib3.exceptions
from botocore.eventstream import EventStream
from botocore.response import StreamingBody

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols
from otel_tokenomics.instrumentation.bedrock import BedrockInstrumentor

CONVERSE_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
INVOKE_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Say something about token accounting."}]}]
ANTHROPIC_BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "Say something about token accounting."}],
    }
)
STYLES = ("converse", "converse_stream", "invoke_model", "invoke_model_stream")
FAILURES = ("http_4xx", "http_5xx", "connection_error")
STREAM_ENDINGS = ("early_close", "break_loop", "gc_unconsumed", "user_exception", "with_misuse")
FAULT_HEADERS = {
    "http_4xx": {"x-fake-status": "400"},
    "http_5xx": {"x-fake-status": "500"},
    "connection_error": {"x-fake-fault": "disconnect"},
    "disconnect_mid_stream": {"x-fake-fault": "disconnect-mid-stream"},
    "disconnect_mid_body": {"x-fake-fault": "disconnect-mid-stream"},
    "exception_event": {"x-fake-stream-exception": "throttlingException"},
}
# Endings where the call itself failed (the span is an error), beyond the HTTP-level ones.
BROKEN_TRANSFERS = ("disconnect_mid_stream", "disconnect_mid_body", "exception_event")


def _cases() -> list[tuple[str, str]]:
    cases = []
    for style in STYLES:
        endings: tuple[str, ...] = ("success", *FAILURES)
        if style.endswith("stream"):
            endings += (*STREAM_ENDINGS, "disconnect_mid_stream", "exception_event")
        elif style == "invoke_model":
            endings += ("disconnect_mid_body",)
        cases.extend((style, ending) for ending in endings)
    return cases


class UserError(Exception):
    """Raised by 'application code' in the middle of a stream."""


@pytest.fixture(scope="module")
def bedrock() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["bedrock"])) as server:
        yield server


@pytest.fixture
def instrument_bedrock(pipeline: Any, price_book: Any) -> Iterator[Any]:
    instrumentor = BedrockInstrumentor()

    def instrument(**options: Any) -> BedrockInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "aws.bedrock"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


def client_for(fake: FakeProvider, headers: dict[str, str] | None = None) -> Any:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=fake.base_url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=botocore.config.Config(retries={"max_attempts": 0}),
    )
    if headers:

        def add_headers(request: Any, **_: Any) -> None:
            for name, value in headers.items():
                request.headers[name] = value

        client.meta.events.register("before-send.bedrock-runtime.*", add_headers)
    return client


# --- what the application sees ----------------------------------------------------------------------------
def _event(event: dict[str, Any]) -> Any:
    """Events as plain data; InvokeModel chunks' bytes decoded so the comparison reads."""
    chunk = event.get("chunk")
    if chunk is not None:
        return {"chunk": json.loads(chunk["bytes"])}
    return event


def _consume(stream: Any, ending: str, seen: list[Any]) -> None:
    assert isinstance(stream, EventStream)
    if ending == "early_close":
        seen.append(_event(next(iter(stream))))
        stream.close()
    elif ending == "break_loop":
        for event in stream:
            seen.append(_event(event))
            break
    elif ending == "gc_unconsumed":
        seen.append(_event(next(iter(stream))))
        del stream
        gc.collect()
    elif ending == "user_exception":
        for event in stream:
            seen.append(_event(event))
            raise UserError("application bug")
    elif ending == "with_misuse":  # EventStream is no context manager: the app's TypeError must be the same
        try:
            with stream:
                pass
        except TypeError as error:
            raise UserError(str(error)) from error
    else:
        seen.extend(_event(event) for event in stream)


def _error_outcome(error: BaseException, seen: list[Any]) -> tuple[Any, ...]:
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return ("raised", type(error).__name__, code, str(error) if isinstance(error, UserError) else None, seen)


def run(client: Any, style: str, ending: str) -> tuple[Any, ...]:
    seen: list[Any] = []
    try:
        if style == "converse":
            response = client.converse(modelId=CONVERSE_MODEL, messages=MESSAGES)
            status = response.pop("ResponseMetadata")["HTTPStatusCode"]
            return ("ok", status, response)
        if style == "converse_stream":
            response = client.converse_stream(modelId=CONVERSE_MODEL, messages=MESSAGES)
            _consume(response["stream"], ending, seen)
            return ("ok", response["ResponseMetadata"]["HTTPStatusCode"], sorted(response), seen)
        if style == "invoke_model":
            response = client.invoke_model(modelId=INVOKE_MODEL, body=ANTHROPIC_BODY)
            body = response["body"]
            assert isinstance(body, StreamingBody)
            data = body.read()
            return ("ok", response["ResponseMetadata"]["HTTPStatusCode"], response["contentType"], json.loads(data))
        response = client.invoke_model_with_response_stream(modelId=INVOKE_MODEL, body=ANTHROPIC_BODY)
        _consume(response["body"], ending, seen)
        return ("ok", response["ResponseMetadata"]["HTTPStatusCode"], response["contentType"], seen)
    except (
        botocore.exceptions.ClientError,
        botocore.exceptions.BotoCoreError,
        urllib3.exceptions.HTTPError,
        UserError,
    ) as error:
        return _error_outcome(error, seen)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, f"expected exactly one GenAI span, got {[s.name for s in spans]}"
    span = spans[0]
    attributes = dict(span.attributes or {})
    model = CONVERSE_MODEL if style.startswith("converse") else INVOKE_MODEL
    assert span.name == f"chat {model}"
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert attributes["gen_ai.request.model"] == model
    if ending in FAILURES or ending in BROKEN_TRANSFERS:
        assert outcome[0] == "raised"
        assert span.status.status_code.name == "ERROR"
        assert attributes["error.type"] == outcome[1]
        assert "gen_ai.usage.cost.amount" not in attributes
        return
    assert span.status.status_code.name == "UNSET"
    assert "error.type" not in attributes
    streaming = style.endswith("stream")
    if streaming:
        assert attributes["gen_ai.request.stream"] is True
        assert attributes["tokenomics.stream.completed"] is (ending == "success")
        if ending != "with_misuse":  # nothing was read there, so there is no first chunk
            assert attributes["gen_ai.response.time_to_first_chunk"] > 0
    if ending == "success":
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["gen_ai.usage.output_tokens"] > 0
        assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
        assert attributes["tokenomics.cost.status"] == "priced"
        assert attributes["gen_ai.usage.cost.amount"] > 0
    else:  # ended early: the usage event never arrived, so the call is unpriced, not priced at 0
        assert attributes["tokenomics.usage.reported"] is False
        assert attributes["tokenomics.cost.status"] == "unpriced"
        assert attributes["tokenomics.cost.unpriced_reason"] == "no_usage"


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_sync_matrix(bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any, style: str, ending: str) -> None:
    headers = FAULT_HEADERS.get(ending)
    expected = run(client_for(bedrock, headers), style, ending)
    gc.collect()
    instrument_bedrock()
    actual = run(client_for(bedrock, headers), style, ending)
    gc.collect()
    assert actual == expected
    if ending in FAILURES or ending in BROKEN_TRANSFERS:
        assert actual[0] == "raised"
    _check_span(pipeline, style, ending, actual)


def test_error_codes_are_bedrocks(bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any) -> None:
    """The fake answers Bedrock's error shape, so boto3 raises its modeled exceptions (and so do we, unchanged)."""
    instrument_bedrock()
    client = client_for(bedrock, {"x-fake-status": "429"})
    with pytest.raises(client.exceptions.ThrottlingException) as info:
        client.converse(modelId=CONVERSE_MODEL, messages=MESSAGES)
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert "Injected fault" in info.value.response["Error"]["Message"]
    [span] = pipeline.genai_spans()
    assert span.attributes["error.type"] == "ThrottlingException"
