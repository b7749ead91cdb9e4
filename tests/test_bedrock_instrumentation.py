"""What a user checks on the Bedrock adapter: spans, token semantics, cost, safety, switches, content capture."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.client
import botocore.config
import botocore.exceptions
import pytest
import wrapt
from botocore.eventstream import EventStream
from botocore.response import StreamingBody

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols
from otel_tokenomics.instrumentation.bedrock import BedrockInstrumentor, bodies, readers
from otel_tokenomics.instrumentation.core import guard

HAIKU_PROFILE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"
HAIKU_ARN = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{HAIKU_PROFILE}"
NOVA_LITE = "us.amazon.nova-lite-v1:0"
QUESTION = "What does a token cost?"
MESSAGES = [{"role": "user", "content": [{"text": QUESTION}]}]
SYSTEM = [{"text": "You are terse."}]
LONG_POLICY = "Tokenomics policy. " * 240  # 1,140 tokens under the fake's 4-characters-a-token rule
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
SESSION_TOKEN = "FwoGZXIvYXdzSESSIONTOKEN0123456789"


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


def client_for(fake: FakeProvider, **credentials: Any) -> Any:
    credentials.setdefault("aws_access_key_id", "test")
    credentials.setdefault("aws_secret_access_key", "test")
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=fake.base_url,
        config=botocore.config.Config(retries={"max_attempts": 0}),
        **credentials,
    )


def only_span(pipeline: Any) -> dict[str, Any]:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return dict(spans[0].attributes or {})


def anthropic_body(**extra: Any) -> str:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    return json.dumps({**body, **extra})


# --- Converse ----------------------------------------------------------------------------------------------
def test_converse_span_carries_request_response_usage_and_cost(
    bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any
) -> None:
    instrument_bedrock()
    response = client_for(bedrock).converse(
        modelId=HAIKU_PROFILE,
        system=SYSTEM,
        messages=MESSAGES,
        inferenceConfig={"maxTokens": 100, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]},
        additionalModelRequestFields={"top_k": 40},
    )
    attributes = only_span(pipeline)
    [span] = pipeline.genai_spans()
    assert span.name == f"chat {HAIKU_PROFILE}"
    assert span.kind.name == "CLIENT"
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert attributes["gen_ai.request.model"] == HAIKU_PROFILE  # the inference profile, kept as given
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == bedrock.port
    assert attributes["gen_ai.request.max_tokens"] == 100
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.top_k"] == 40
    assert attributes["gen_ai.request.stop_sequences"] == ("END",)
    assert attributes["gen_ai.response.finish_reasons"] == (response["stopReason"],)
    assert attributes["gen_ai.usage.input_tokens"] == response["usage"]["inputTokens"]
    assert attributes["gen_ai.usage.output_tokens"] == response["usage"]["outputTokens"]
    assert attributes["tokenomics.cost.status"] == "priced"


@pytest.mark.bedrock_modern  # Converse `cachePoint` blocks: botocore 1.34.x rejects them
def test_converse_prompt_cache_is_counted_and_priced_by_hand(
    bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any
) -> None:
    """Converse's inputTokens EXCLUDES cache reads/writes: the span's input is their sum.

    Catalog rates for aws.bedrock us.anthropic.claude-3-5-haiku-20241022-v1:0, USD per 1M tokens
    (`otel-tokenomics prices ... --provider aws.bedrock`): input 0.8, output 4, cache_read 0.08, cache_write 1.
    """
    bedrock.reset()
    instrument_bedrock()
    client = client_for(bedrock)
    system = [{"text": LONG_POLICY}, {"cachePoint": {"type": "default"}}]
    first = client.converse(modelId=HAIKU_PROFILE, system=system, messages=MESSAGES, inferenceConfig={"maxTokens": 100})
    second = client.converse(
        modelId=HAIKU_PROFILE, system=system, messages=MESSAGES, inferenceConfig={"maxTokens": 100}
    )
    assert first["usage"] == {
        "inputTokens": 12,
        "outputTokens": 62,
        "totalTokens": 1214,
        "cacheReadInputTokens": 0,
        "cacheWriteInputTokens": 1140,
    }
    assert second["usage"]["cacheReadInputTokens"] == 1140
    written, read = (dict(span.attributes) for span in pipeline.genai_spans())
    assert written["gen_ai.usage.input_tokens"] == 12 + 1140
    assert written["gen_ai.usage.cache_creation.input_tokens"] == 1140
    assert written["tokenomics.usage.input_uncached_tokens"] == 12
    assert written["gen_ai.usage.cost.amount"] == pytest.approx((12 * 0.8 + 1140 * 1.0 + 62 * 4) / 1e6)
    assert read["gen_ai.usage.input_tokens"] == 12 + 1140
    assert read["gen_ai.usage.cache_read.input_tokens"] == 1140
    assert "gen_ai.usage.cache_creation.input_tokens" not in read
    assert read["gen_ai.usage.cost.amount"] == pytest.approx((12 * 0.8 + 1140 * 0.08 + 62 * 4) / 1e6)  # 0.0003488


def test_converse_stream_reads_the_metadata_event(
    bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any
) -> None:
    """Catalog rates for amazon.nova-lite-v1:0 (USD per 1M): input 0.06, output 0.24."""
    instrument_bedrock()
    response = client_for(bedrock).converse_stream(modelId=NOVA_LITE, messages=MESSAGES)
    assert isinstance(response["stream"], EventStream)
    events = list(response["stream"])
    assert [next(iter(event)) for event in events][:2] == ["messageStart", "contentBlockDelta"]
    usage = events[-1]["metadata"]["usage"]
    assert usage == {"inputTokens": 12, "outputTokens": 58, "totalTokens": 70}
    attributes = only_span(pipeline)
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == 58
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx((12 * 0.06 + 58 * 0.24) / 1e6)  # 0.00001464
    assert attributes["tokenomics.stream.completed"] is True


def test_arn_model_id_is_kept_and_priced(bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any) -> None:
    instrument_bedrock()
    response = client_for(bedrock).converse(modelId=HAIKU_ARN, messages=MESSAGES)
    assert "%2F" in bedrock.requests[-1].path  # boto3 URL-encodes the ARN into the path; the fake decodes it
    attributes = only_span(pipeline)
    assert attributes["gen_ai.request.model"] == HAIKU_ARN
    usage = response["usage"]
    expected = (usage["inputTokens"] * 0.8 + usage["outputTokens"] * 4) / 1e6
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)


def test_converse_tool_use(bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrument_bedrock()
    tools = {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "inputSchema": {
                        "json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
                    },
                }
            }
        ]
    }
    response = client_for(bedrock).converse(
        modelId=HAIKU_PROFILE,
        messages=[{"role": "user", "content": [{"text": "What is the weather in Paris?"}]}],
        toolConfig=tools,
    )
    assert response["stopReason"] == "tool_use"
    attributes = only_span(pipeline)
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_use",)
    [output] = json.loads(attributes["gen_ai.output.messages"])
    [call] = output["parts"]
    assert call["type"] == "tool_call" and call["name"] == "get_weather" and call["arguments"] == {"city": "Paris"}


# --- InvokeModel -------------------------------------------------------------------------------------------
FAMILY_REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "anthropic": (HAIKU, json.loads(anthropic_body())),
    "meta": ("meta.llama3-1-8b-instruct-v1:0", {"prompt": QUESTION, "max_gen_len": 100}),
    "nova": (
        "amazon.nova-lite-v1:0",
        {"messages": [{"role": "user", "content": [{"text": QUESTION}]}], "inferenceConfig": {"maxTokens": 100}},
    ),
    "titan": ("amazon.titan-text-express-v1", {"inputText": QUESTION, "textGenerationConfig": {"maxTokenCount": 100}}),
    "mistral": ("mistral.mistral-large-2402-v1:0", {"prompt": f"<s>[INST] {QUESTION} [/INST]", "max_tokens": 100}),
    "cohere": ("cohere.command-r-v1:0", {"message": QUESTION, "max_tokens": 100}),
}


@pytest.mark.parametrize("family", sorted(FAMILY_REQUESTS))
def test_invoke_model_usage_per_family_matches_bedrocks_headers(
    bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any, family: str
) -> None:
    """Each family's own body format gives the same counts Bedrock bills in its headers; the app's body is intact."""
    model_id, body = FAMILY_REQUESTS[family]
    expected_body = json.loads(client_for(bedrock).invoke_model(modelId=model_id, body=json.dumps(body))["body"].read())
    instrument_bedrock()
    response = client_for(bedrock).invoke_model(modelId=model_id, body=json.dumps(body))
    assert isinstance(response["body"], StreamingBody)
    assert json.loads(response["body"].read()) == expected_body
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    attributes = only_span(pipeline)
    assert attributes["gen_ai.request.max_tokens"] == 100
    assert attributes["gen_ai.usage.input_tokens"] == int(headers["x-amzn-bedrock-input-token-count"])
    assert attributes["gen_ai.usage.output_tokens"] == int(headers["x-amzn-bedrock-output-token-count"])
    assert attributes["gen_ai.response.finish_reasons"]
    assert attributes["tokenomics.cost.status"] == ("unpriced" if family == "cohere" else "priced")


@pytest.mark.parametrize("family", sorted(FAMILY_REQUESTS))
def test_invoke_stream_uses_invocation_metrics(
    bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any, family: str
) -> None:
    model_id, body = FAMILY_REQUESTS[family]
    instrument_bedrock()
    response = client_for(bedrock).invoke_model_with_response_stream(modelId=model_id, body=json.dumps(body))
    assert isinstance(response["body"], EventStream)
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == metrics["inputTokenCount"]
    assert attributes["gen_ai.usage.output_tokens"] == metrics["outputTokenCount"]
    assert attributes["gen_ai.response.finish_reasons"]
    assert attributes["tokenomics.stream.completed"] is True


def test_mistral_usage_comes_from_headers_priced_by_hand(
    bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any
) -> None:
    """Mistral's body has no usage. Catalog rates for mistral.mistral-large-2402-v1:0: input 4, output 12 per 1M."""
    instrument_bedrock()
    response = client_for(bedrock).invoke_model(
        modelId="mistral.mistral-large-2402-v1:0", body=json.dumps(FAMILY_REQUESTS["mistral"][1])
    )
    assert "usage" not in json.loads(response["body"].read())
    attributes = only_span(pipeline)
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (17, 66)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx((17 * 4 + 66 * 12) / 1e6)  # 0.00086


def test_anthropic_invoke_cache_counts_are_exclusive(
    bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any
) -> None:
    bedrock.reset()
    instrument_bedrock()
    client = client_for(bedrock)
    system = [{"type": "text", "text": LONG_POLICY, "cache_control": {"type": "ephemeral"}}]
    first = json.loads(client.invoke_model(modelId=HAIKU, body=anthropic_body(system=system))["body"].read())
    stream = client.invoke_model_with_response_stream(modelId=HAIKU, body=anthropic_body(system=system))
    list(stream["body"])
    assert first["usage"] == {
        "input_tokens": 12,
        "cache_creation_input_tokens": 1140,
        "cache_read_input_tokens": 0,
        "output_tokens": 75,
    }
    written, read = (dict(span.attributes) for span in pipeline.genai_spans())
    assert written["gen_ai.usage.input_tokens"] == 1152
    assert written["gen_ai.usage.cache_creation.input_tokens"] == 1140
    assert written["gen_ai.usage.cost.amount"] == pytest.approx((12 * 0.8 + 1140 * 1.0 + 75 * 4) / 1e6)
    assert read["gen_ai.usage.input_tokens"] == 1152
    assert read["gen_ai.usage.cache_read.input_tokens"] == 1140
    assert read["gen_ai.usage.cost.amount"] == pytest.approx((12 * 0.8 + 1140 * 0.08 + 75 * 4) / 1e6)


def test_invoke_model_body_is_still_fully_usable(bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any) -> None:
    """We read InvokeModel's one-shot body; the app gets a fresh StreamingBody over the same bytes."""
    expected = client_for(bedrock).invoke_model(modelId=HAIKU, body=anthropic_body())["body"].read()
    instrument_bedrock()
    client = client_for(bedrock)
    body = client.invoke_model(modelId=HAIKU, body=anthropic_body())["body"]
    assert isinstance(body, StreamingBody)
    assert body.read(10) + body.read() == expected
    assert b"".join(client.invoke_model(modelId=HAIKU, body=anthropic_body())["body"].iter_chunks(7)) == expected
    assert list(client.invoke_model(modelId=HAIKU, body=anthropic_body())["body"].iter_lines()) == [expected]
    assert len(pipeline.genai_spans()) == 3


def test_embeddings_model_is_an_embeddings_span(bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any) -> None:
    instrument_bedrock()
    response = client_for(bedrock).invoke_model(
        modelId="amazon.titan-embed-text-v2:0", body=json.dumps({"inputText": QUESTION, "dimensions": 16})
    )
    vector = json.loads(response["body"].read())["embedding"]
    [span] = pipeline.genai_spans()
    assert span.name == "embeddings amazon.titan-embed-text-v2:0"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == len(vector) == 16
    assert span.attributes["gen_ai.usage.input_tokens"] == 6
    assert span.attributes["tokenomics.cost.status"] == "priced"


# --- token semantics on realistic bodies (no network) ------------------------------------------------------
def test_usage_shapes_of_every_family() -> None:
    anthropic = {
        "usage": {
            "input_tokens": 21,
            "cache_creation_input_tokens": 188,
            "cache_read_input_tokens": 1024,
            "cache_creation": {"ephemeral_5m_input_tokens": 88, "ephemeral_1h_input_tokens": 100},
            "output_tokens": 393,
        }
    }
    usage = bodies.usage(anthropic)
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (21 + 188 + 1024, 1024, 188)
    assert (usage.cache_write_1h_tokens, usage.uncached_input_tokens, usage.output_tokens) == (100, 21, 393)
    nova = {
        "usage": {
            "inputTokens": 5,
            "outputTokens": 40,
            "totalTokens": 1545,
            "cacheReadInputTokenCount": 1500,
            "cacheWriteInputTokenCount": 0,
        }
    }
    usage = bodies.usage(nova)
    assert (usage.input_tokens, usage.cache_read_tokens, usage.uncached_input_tokens) == (1505, 1500, 5)
    llama = {"generation": "Hi", "prompt_token_count": 18, "generation_token_count": 211, "stop_reason": "stop"}
    assert (bodies.usage(llama).input_tokens, bodies.usage(llama).output_tokens) == (18, 211)
    titan = {
        "inputTextTokenCount": 9,
        "results": [
            {"tokenCount": 30, "outputText": "a", "completionReason": "FINISH"},
            {"tokenCount": 12, "outputText": "b", "completionReason": "LENGTH"},
        ],
    }
    assert (bodies.usage(titan).input_tokens, bodies.usage(titan).output_tokens) == (9, 42)
    assert bodies.finish_reasons(titan) == ["FINISH", "LENGTH"]
    cohere = {
        "text": "x",
        "finish_reason": "COMPLETE",
        "meta": {"billed_units": {"input_tokens": 7, "output_tokens": 3}},
    }
    assert (bodies.usage(cohere).input_tokens, bodies.usage(cohere).output_tokens) == (7, 3)
    assert bodies.usage({"outputs": [{"text": "x", "stop_reason": "stop"}]}) is None  # Mistral: headers only
    headers = {
        "x-amzn-bedrock-input-token-count": "30",
        "x-amzn-bedrock-output-token-count": "5",
        "x-amzn-bedrock-cache-read-input-token-count": "1000",
    }
    usage = bodies.header_usage(headers)
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens) == (1030, 1000, 5)


def test_converse_cache_details_split_one_hour_writes() -> None:
    usage = readers.converse_usage(
        {
            "inputTokens": 4,
            "outputTokens": 10,
            "totalTokens": 2014,
            "cacheReadInputTokens": 0,
            "cacheWriteInputTokens": 2000,
            "cacheDetails": [{"ttl": "1h", "inputTokens": 1500}, {"ttl": "5m", "inputTokens": 500}],
        }
    )
    assert (usage.input_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (2004, 2000, 1500)
    assert usage.cache_write_5m_tokens == 500


# --- never break the app, never touch other AWS calls ------------------------------------------------------
def test_non_bedrock_call_is_untouched(pipeline: Any, instrument_bedrock: Any) -> None:
    def list_buckets() -> BaseException:
        s3 = boto3.client(
            "s3",
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=botocore.config.Config(retries={"max_attempts": 0}, connect_timeout=1),
        )
        with pytest.raises(botocore.exceptions.BotoCoreError) as info:
            s3.list_buckets()
        return info.value

    expected = list_buckets()
    instrument_bedrock()
    actual = list_buckets()
    assert type(actual) is type(expected) is botocore.exceptions.EndpointConnectionError
    assert str(actual) == str(expected)
    assert pipeline.genai_spans() == []
    assert pipeline.spans() == []


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault in otel-tokenomics")


FAULTS = {
    "endpoint selection": ("otel_tokenomics.instrumentation.bedrock.adapter", "_is_embedding_model"),
    "request reader": ("otel_tokenomics.instrumentation.bedrock.readers", "destination"),
    "converse usage": ("otel_tokenomics.instrumentation.bedrock.readers", "converse_usage"),
    "body usage": ("otel_tokenomics.instrumentation.bedrock.bodies", "usage"),
    "body parsing": ("otel_tokenomics.instrumentation.bedrock.readers", "_parsed_body"),
    "converse chunk": ("otel_tokenomics.instrumentation.bedrock.readers.ConverseStreamReader", "feed"),
    "invoke chunk": ("otel_tokenomics.instrumentation.bedrock.readers.InvokeStreamReader", "feed"),
    "stream close": ("otel_tokenomics.instrumentation.bedrock.readers.InvokeStreamReader", "close"),
    "classify": ("otel_tokenomics.instrumentation.bedrock.adapter.BedrockAdapter", "classify"),
    "embed stream": ("otel_tokenomics.instrumentation.bedrock.adapter.BedrockAdapter", "embed_stream"),
    "pricing": ("otel_tokenomics.instrumentation.core.telemetry.Telemetry", "_cost"),
    "span start": ("opentelemetry.sdk.trace.Tracer", "start_span"),
}


def _resolve(path: str) -> Any:
    import importlib

    module_path, _, attribute = path.rpartition(".")
    try:
        return importlib.import_module(path)
    except ImportError:
        return getattr(importlib.import_module(module_path), attribute)


def _every_operation(fake: FakeProvider) -> list[Any]:
    client = client_for(fake)
    converse = client.converse(modelId=HAIKU_PROFILE, messages=MESSAGES)
    converse.pop("ResponseMetadata")
    stream = list(client.converse_stream(modelId=HAIKU_PROFILE, messages=MESSAGES)["stream"])
    invoke = client.invoke_model(modelId=HAIKU, body=anthropic_body())
    invoke_body = (type(invoke["body"]), invoke["body"].read())
    chunks = list(client.invoke_model_with_response_stream(modelId=HAIKU, body=anthropic_body())["body"])
    return [converse, stream, invoke_body, chunks]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_our_faults_never_reach_the_app(
    bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any, monkeypatch: Any, fault: str
) -> None:
    expected = _every_operation(bedrock)
    instrument_bedrock()
    owner, name = FAULTS[fault]
    monkeypatch.setattr(_resolve(owner), name, _boom)
    before = sum(guard.internal_error_counts.values())
    assert _every_operation(bedrock) == expected
    assert sum(guard.internal_error_counts.values()) > before, "the fault must be logged, not silent"


# --- switches ------------------------------------------------------------------------------------------------
def test_double_instrument_is_a_noop_and_uninstrument_restores(
    bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any
) -> None:
    instrumentor = instrument_bedrock()
    instrument_bedrock()
    assert BedrockInstrumentor() is instrumentor
    client_for(bedrock).converse(modelId=HAIKU_PROFILE, messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrumentor.uninstrument()
    assert not isinstance(vars(botocore.client.BaseClient)["_make_api_call"], wrapt.ObjectProxy)
    client_for(bedrock).converse(modelId=HAIKU_PROFILE, messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrument_bedrock()
    client_for(bedrock).converse(modelId=HAIKU_PROFILE, messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 2


def test_content_is_not_captured_by_default(bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any) -> None:
    instrument_bedrock()
    client = client_for(bedrock)
    client.converse(modelId=HAIKU_PROFILE, system=SYSTEM, messages=MESSAGES)
    client.invoke_model(modelId=HAIKU, body=anthropic_body())["body"].read()
    for span in pipeline.genai_spans():
        attributes = dict(span.attributes)
        assert not [key for key in attributes if "messages" in key or "instructions" in key]
        assert QUESTION not in json.dumps(attributes, default=str)


@pytest.mark.parametrize("mode", ["true", "span_and_event", "EVENT_ONLY"])
def test_content_capture_opt_in(
    bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any, monkeypatch: Any, mode: str
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", mode)
    instrument_bedrock()
    client = client_for(bedrock)
    response = client.converse(modelId=HAIKU_PROFILE, system=SYSTEM, messages=MESSAGES)
    stream = client.converse_stream(modelId=HAIKU_PROFILE, system=SYSTEM, messages=MESSAGES)
    streamed = "".join(e["contentBlockDelta"]["delta"]["text"] for e in stream["stream"] if "contentBlockDelta" in e)
    invoked = json.loads(client.invoke_model(modelId=HAIKU, body=anthropic_body(system="Be brief."))["body"].read())
    on_span = mode.lower() != "event_only"
    sources = []
    for span in pipeline.genai_spans():
        sources.append(dict(span.attributes) if on_span else dict(span.events[0].attributes))
        assert bool(span.events) is (mode.lower() != "true")
    plain, streamed_span, invoke_span = sources
    user = [{"role": "user", "parts": [{"type": "text", "content": QUESTION}]}]
    assert json.loads(plain["gen_ai.input.messages"]) == user
    assert json.loads(plain["gen_ai.system_instructions"]) == [{"type": "text", "content": "You are terse."}]
    output = json.loads(plain["gen_ai.output.messages"])
    assert output[0]["parts"][0]["content"] == response["output"]["message"]["content"][0]["text"]
    assert output[0]["finish_reason"] == "end_turn"
    assert json.loads(streamed_span["gen_ai.output.messages"])[0]["parts"][0]["content"] == streamed
    assert json.loads(invoke_span["gen_ai.input.messages"]) == user
    assert json.loads(invoke_span["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(invoke_span["gen_ai.output.messages"])[0]["parts"][0]["content"] == invoked["content"][0]["text"]


def test_aws_credentials_never_exported(bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any) -> None:
    instrument_bedrock(capture_content=True)
    client = client_for(
        bedrock,
        aws_access_key_id="AKIAEXAMPLEKEYID0001",
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN,
    )
    client.converse(modelId=HAIKU_PROFILE, messages=MESSAGES)
    list(client.converse_stream(modelId=HAIKU_PROFILE, messages=MESSAGES)["stream"])
    client.invoke_model(modelId=HAIKU, body=anthropic_body())["body"].read()
    with pytest.raises(client.exceptions.ValidationException):
        client.converse(modelId="fake-error-400", messages=MESSAGES)
    assert "authorization" in bedrock.requests[-1].headers  # the signed requests really carried credentials
    blob = "\n".join(span.to_json() for span in pipeline.spans()) + pipeline.reader.get_metrics_data().to_json()
    assert QUESTION in blob  # content capture was on, so the check has teeth
    assert SECRET_KEY not in blob and "SECRETKEY" not in blob
    assert SESSION_TOKEN not in blob and "AKIAEXAMPLEKEYID0001" not in blob


def test_host_port_map_prices_the_fake_and_metrics_follow_the_conventions(
    bedrock: FakeProvider, pipeline: Any, price_book: Any
) -> None:
    """A `host:port` provider map (as in OTEL_TOKENOMICS_PROVIDER_HOSTS) prices the loopback fake as Bedrock."""
    instrumentor = BedrockInstrumentor()
    instrumentor.instrument(
        tracer_provider=pipeline.tracer_provider,
        meter_provider=pipeline.meter_provider,
        price_book=price_book,
        provider_hosts={f"127.0.0.1:{bedrock.port}": "aws.bedrock"},
    )
    try:
        client_for(bedrock).converse(modelId=HAIKU_PROFILE, messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    attributes = only_span(pipeline)
    assert attributes["tokenomics.cost.status"] == "priced"
    [point] = pipeline.metric_points("gen_ai.client.operation.duration")
    assert point.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert point.attributes["gen_ai.request.model"] == HAIKU_PROFILE


def test_loopback_without_a_host_map_is_self_hosted(
    bedrock: FakeProvider, pipeline: Any, instrument_bedrock: Any
) -> None:
    instrument_bedrock(provider_hosts={})
    client_for(bedrock).converse(modelId=HAIKU_PROFILE, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert attributes["tokenomics.cost.status"] == "unpriced"
    assert attributes["tokenomics.cost.unpriced_reason"] == "self_hosted"
