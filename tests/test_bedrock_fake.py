"""The fake Bedrock and the AWS event-stream encoder, checked with botocore's own decoder and parsers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.session
import pytest
from botocore.eventstream import ChecksumMismatch, EventStream, EventStreamBuffer
from botocore.exceptions import EventStreamError
from botocore.parsers import EventStreamJSONParser

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.aws_eventstream import (
    CONTENT_TYPE,
    encode_message,
    event_message,
    exception_message,
)
from otel_tokenomics.fake_provider.protocols import load_protocols
from otel_tokenomics.fake_provider.protocols.bedrock import base_model_id, model_family

MESSAGES = [{"role": "user", "content": [{"text": "Hello"}]}]


@pytest.fixture(scope="module")
def bedrock() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["bedrock"])) as server:
        yield server


def client_for(fake: FakeProvider) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=fake.base_url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=botocore.config.Config(retries={"max_attempts": 0}),
    )


# --- the encoder -------------------------------------------------------------------------------------------
def _decode(data: bytes) -> list[Any]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_event_message_round_trips_through_botocore() -> None:
    [message] = _decode(event_message("contentBlockDelta", {"delta": {"text": "Hi"}}))
    assert message.headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert json.loads(message.payload) == {"delta": {"text": "Hi"}}
    assert CONTENT_TYPE == "application/vnd.amazon.eventstream"


def test_every_header_type_and_raw_payloads() -> None:
    headers = {"yes": True, "no": False, "small": -7, "large": 2**40, "raw": b"\x00\x01", "text": "é"}
    [message] = _decode(encode_message(headers, b"\xffpayload"))
    assert message.headers == headers
    assert message.payload == b"\xffpayload"
    frames = event_message("a", b"one") + event_message("b", b"two")
    assert [m.payload for m in _decode(frames)] == [b"one", b"two"]


def test_a_corrupted_frame_fails_botocores_crc_check() -> None:
    frame = bytearray(event_message("chunk", {"bytes": "aGk="}))
    frame[-6] ^= 0xFF  # inside the payload: the message CRC no longer matches
    with pytest.raises(ChecksumMismatch):
        _decode(bytes(frame))


def test_header_limits_are_enforced() -> None:
    with pytest.raises(ValueError):
        encode_message({"": "x"})
    with pytest.raises(TypeError):
        encode_message({"x": 1.5})  # type: ignore[dict-item]


def test_exception_message_is_raised_by_botocore_mid_stream() -> None:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    shape = model.operation_model("ConverseStream").output_shape.members["stream"]

    class Raw:
        def stream(self) -> Iterator[bytes]:
            yield event_message("messageStart", {"role": "assistant"})
            yield exception_message("throttlingException", "Too many tokens, please wait.")

        def close(self) -> None:
            pass

    events = EventStream(Raw(), shape, EventStreamJSONParser(), "ConverseStream")
    iterator = iter(events)
    assert next(iterator) == {"messageStart": {"role": "assistant"}}
    with pytest.raises(EventStreamError) as info:
        next(iterator)
    assert info.value.response["Error"] == {"Code": "throttlingException", "Message": "Too many tokens, please wait."}


# --- the protocol ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model_id", "base", "family"),
    [
        ("anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic"),
        ("eu.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0", "anthropic"),
        ("apac.amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0", "nova"),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-8b-instruct-v1:0",
            "meta.llama3-1-8b-instruct-v1:0",
            "meta",
        ),
        ("amazon.titan-text-express-v1", "amazon.titan-text-express-v1", "titan"),
        ("amazon.titan-embed-text-v2:0", "amazon.titan-embed-text-v2:0", "titan-embed"),
        ("mistral.mistral-large-2402-v1:0", "mistral.mistral-large-2402-v1:0", "mistral"),
        ("cohere.command-r-v1:0", "cohere.command-r-v1:0", "cohere"),
        ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", "a1b2c3", "anthropic"),
    ],
)
def test_model_families(model_id: str, base: str, family: str) -> None:
    assert base_model_id(model_id) == base
    assert model_family(model_id) == family


def test_answers_are_deterministic(bedrock: FakeProvider) -> None:
    client = client_for(bedrock)
    first = client.converse(modelId="us.amazon.nova-lite-v1:0", messages=MESSAGES)
    second = client.converse(modelId="us.amazon.nova-lite-v1:0", messages=MESSAGES)
    assert first["output"] == second["output"] and first["usage"] == second["usage"]
    streamed = client.converse_stream(modelId="us.amazon.nova-lite-v1:0", messages=MESSAGES)["stream"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in streamed if "contentBlockDelta" in e)
    assert text == first["output"]["message"]["content"][0]["text"]


def test_errors_have_bedrocks_shape(bedrock: FakeProvider) -> None:
    client = client_for(bedrock)
    with pytest.raises(client.exceptions.ValidationException) as info:
        client.converse(modelId="us.amazon.nova-lite-v1:0", messages=[])
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "must start with a user message" in info.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.ServiceUnavailableException):
        client.converse(modelId="fake-error-503", messages=MESSAGES)  # magic model, decoded from the path
    with pytest.raises(client.exceptions.ValidationException, match="max_tokens"):
        client.invoke_model(modelId="anthropic.claude-3-5-haiku-20241022-v1:0", body=json.dumps({"messages": MESSAGES}))


def test_max_tokens_caps_the_answer(bedrock: FakeProvider) -> None:
    response = client_for(bedrock).converse(
        modelId="us.amazon.nova-lite-v1:0", messages=MESSAGES, inferenceConfig={"maxTokens": 5}
    )
    assert response["stopReason"] == "max_tokens"
    assert response["usage"]["outputTokens"] == 5


def test_invoke_model_usage_headers(bedrock: FakeProvider) -> None:
    response = client_for(bedrock).invoke_model(
        modelId="meta.llama3-1-8b-instruct-v1:0", body=json.dumps({"prompt": "Hello", "max_gen_len": 20})
    )
    body = json.loads(response["body"].read())
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert int(headers["x-amzn-bedrock-input-token-count"]) == body["prompt_token_count"]
    assert int(headers["x-amzn-bedrock-output-token-count"]) == body["generation_token_count"] == 20
