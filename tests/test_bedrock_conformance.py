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

import json
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import conformance_support as conformance
import pytest
import urllib3.exceptions
from botocore.eventstream import EventStream
from botocore.response import StreamingBody

from otel_tokenomics.fake_provider import FakeProvider
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
STREAM_ENDINGS = ("early_close", "break_loop", "gc_unconsumed", "user_exception", "with_misuse")
BEDROCK_FAULT_HEADERS = {
    **conformance.FAULT_HEADERS,
    "disconnect_mid_stream": {"x-fake-fault": "disconnect-mid-stream"},
    "disconnect_mid_body": {"x-fake-fault": "disconnect-mid-stream"},
    "exception_event": {"x-fake-stream-exception": "throttlingException"},
}
# Endings where the call itself failed (the span is an error), beyond the HTTP-level ones.
BROKEN_TRANSFERS = ("disconnect_mid_stream", "disconnect_mid_body", "exception_event")

bedrock = conformance.fake_provider_fixture("bedrock", "bedrock")
instrument_bedrock = conformance.instrument_fixture("instrument_bedrock", BedrockInstrumentor, "aws.bedrock")


def _cases() -> list[tuple[str, str]]:
    cases = []
    for style in STYLES:
        endings = conformance.endings_for(
            style.endswith("stream"), (*STREAM_ENDINGS, "disconnect_mid_stream", "exception_event")
        )
        if style == "invoke_model":
            endings += ("disconnect_mid_body",)
        cases.extend((style, ending) for ending in endings)
    return cases


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


STREAMS = conformance.AppStreams(_event, enter=None, first=conformance.first_in_loop)


def _consume(stream: Any, ending: str, seen: list[Any]) -> None:
    assert isinstance(stream, EventStream)
    if ending == "with_misuse":  # EventStream is no context manager: the app's TypeError must be the same
        try:
            with stream:
                pass
        except TypeError as error:
            raise conformance.UserError(str(error)) from error
    else:
        STREAMS.consume(stream, ending, seen)


def _error_outcome(error: BaseException, seen: list[Any]) -> tuple[Any, ...]:
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return (
        "raised",
        type(error).__name__,
        code,
        str(error) if isinstance(error, conformance.UserError) else None,
        seen,
    )


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
        conformance.UserError,
    ) as error:
        return _error_outcome(error, seen)


# --- the matrix -------------------------------------------------------------------------------------------
def _check_span(pipeline: Any, style: str, ending: str, outcome: tuple[Any, ...]) -> None:
    model = CONVERSE_MODEL if style.startswith("converse") else INVOKE_MODEL
    call = conformance.CallSpan.only_one(pipeline, operation="chat", model=model, provider="aws.bedrock")
    attributes = call.attributes
    assert attributes["gen_ai.request.model"] == model
    if ending in conformance.FAILURES or ending in BROKEN_TRANSFERS:
        call.check_failed(outcome, http_status=False)  # the outcome carries Bedrock's error code, not a status
        return
    # nothing was read in `with_misuse`, so there is no first chunk
    call.check_not_failed(streaming=style.endswith("stream"), ending=ending, first_chunk=ending != "with_misuse")
    if ending == "success":
        call.check_priced()
        assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    else:  # ended early: the usage event never arrived, so the call is unpriced, not priced at 0
        call.check_unpriced_without_usage()


@pytest.mark.parametrize(("style", "ending"), _cases())
def test_sync_matrix(bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any, style: str, ending: str) -> None:
    headers = BEDROCK_FAULT_HEADERS.get(ending)
    actual = conformance.same_as_uninstrumented(
        lambda: run(client_for(bedrock, headers), style, ending), instrument_bedrock
    )
    if ending in conformance.FAILURES or ending in BROKEN_TRANSFERS:
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
