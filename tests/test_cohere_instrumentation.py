"""What a user checks on the Cohere adapter: spans, billed-token semantics, cost, rerank, safety and switches."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Iterator
from typing import Any

import cohere
import httpx
import pytest
import wrapt
from cohere.v2.client import AsyncV2Client, V2Client
from cohere.v2.raw_client import RawV2Client

from otel_tokenomics.instrumentation.cohere import CohereInstrumentor
from otel_tokenomics.instrumentation.core import guard

# The SDK's own response parsing uses a pydantic-v1 API; its deprecation warning is not ours to assert on.
pytestmark = pytest.mark.filterwarnings("ignore:The `__fields__` attribute is deprecated")

# `max_retries` on the client came after 5.17.0, the oldest supported release (it retries per request there).
NO_RETRIES: dict[str, Any] = (
    {"max_retries": 0} if "max_retries" in inspect.signature(cohere.ClientV2.__init__).parameters else {}
)

MODEL = "command-a-03-2025"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What does a token cost?"},
]
# The catalog's command-a rates (USD per 1M tokens), from
# `otel-tokenomics prices command-a-03-2025 --provider cohere`: input 2.5, output 10 (no cache-read rate).
COMMAND_A_INPUT, COMMAND_A_OUTPUT = 2.5, 10.0
# embed-v4.0: input 0.12 per 1M tokens.
EMBED_INPUT = 0.12

RAW_CLIENTS: tuple[Any, ...] = ((RawV2Client, "embed"),)


@pytest.fixture(scope="module")
def cohere_fake() -> Iterator[Any]:
    from otel_tokenomics.fake_provider import FakeProvider
    from otel_tokenomics.fake_provider.protocols import load_protocols

    with FakeProvider(protocols=load_protocols(["cohere"])) as server:
        yield server


@pytest.fixture
def instrument_cohere(pipeline: Any, price_book: Any) -> Iterator[Any]:
    instrumentor = CohereInstrumentor()

    def instrument(**options: Any) -> CohereInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "cohere"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


def client_for(fake: Any, api_key: str = "test-key") -> cohere.ClientV2:
    return cohere.ClientV2(api_key=api_key, base_url=fake.base_url, **NO_RETRIES)


def mock_client(body: dict[str, Any], status: int = 200, client_class: Any = cohere.ClientV2) -> Any:
    """A client of the real api.cohere.com whose answers are canned (realistic bodies, no network)."""
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    return client_class(
        api_key="test-key",
        base_url="https://api.cohere.com",
        **NO_RETRIES,
        httpx_client=httpx.Client(transport=transport),
    )


def only_span(pipeline: Any) -> dict[str, Any]:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return dict(spans[0].attributes or {})


def chat_body(usage: dict[str, Any], content: Any = None, finish: str = "COMPLETE") -> dict[str, Any]:
    return {
        "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
        "message": {"role": "assistant", "content": content or [{"type": "text", "text": "It depends."}]},
        "finish_reason": finish,
        "usage": usage,
    }


# --- spans and cost ------------------------------------------------------------------------------------------
def test_chat_span_carries_request_response_usage_and_cost(
    cohere_fake: Any, pipeline: Any, instrument_cohere: Any
) -> None:
    instrument_cohere()
    response = client_for(cohere_fake).chat(
        model=MODEL,
        messages=MESSAGES,
        temperature=0.2,
        p=0.9,
        k=40,
        max_tokens=50,
        seed=7,
        stop_sequences=["\n\n"],
        response_format={"type": "json_object"},
    )
    [span] = pipeline.genai_spans()
    assert span.name == f"chat {MODEL}"
    assert span.kind.name == "CLIENT"
    attributes = dict(span.attributes)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "cohere"
    assert attributes["gen_ai.request.model"] == MODEL
    assert "gen_ai.response.model" not in attributes  # Cohere's chat responses name no model
    assert attributes["gen_ai.response.id"] == response.id
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.top_k"] == 40
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["gen_ai.request.seed"] == 7
    assert attributes["gen_ai.request.stop_sequences"] == ("\n\n",)
    assert attributes["gen_ai.output.type"] == "json"
    assert attributes["gen_ai.response.finish_reasons"] == ("length",)  # MAX_TOKENS
    assert response.finish_reason == "MAX_TOKENS"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == cohere_fake.port
    billed = response.usage.billed_units
    assert attributes["gen_ai.usage.input_tokens"] == billed.input_tokens
    assert attributes["gen_ai.usage.output_tokens"] == billed.output_tokens
    expected = (billed.input_tokens * COMMAND_A_INPUT + billed.output_tokens * COMMAND_A_OUTPUT) / 1e6
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)


def test_billed_units_not_processed_tokens_are_reported_and_priced(pipeline: Any, instrument_cohere: Any) -> None:
    """The conventions: when a provider reports used and billable tokens, report billable."""
    instrument_cohere(provider_hosts={})
    usage = {
        "billed_units": {"input_tokens": 17, "output_tokens": 12},
        "tokens": {"input_tokens": 215, "output_tokens": 12},
    }
    mock_client(chat_body(usage)).chat(model=MODEL, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["server.address"] == "api.cohere.com"
    assert attributes["gen_ai.usage.input_tokens"] == 17
    assert attributes["gen_ai.usage.output_tokens"] == 12
    # 17 x 2.5 + 12 x 10 = 42.5 + 120 = 162.5 USD per million tokens
    assert attributes["tokenomics.cost.input"] == pytest.approx(42.5e-6)
    assert attributes["tokenomics.cost.output"] == pytest.approx(120e-6)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(162.5e-6)
    [input_point] = [
        point
        for point in pipeline.metric_points("gen_ai.client.token.usage")
        if point.attributes["gen_ai.token.type"] == "input"
    ]
    assert input_point.sum == 17


def test_processed_tokens_are_the_fallback_without_billed_units(pipeline: Any, instrument_cohere: Any) -> None:
    instrument_cohere(provider_hosts={})
    mock_client(chat_body({"tokens": {"input_tokens": 215, "output_tokens": 12}})).chat(model=MODEL, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == 215
    assert attributes["gen_ai.usage.output_tokens"] == 12


def test_cached_tokens_are_cache_reads_capped_at_the_billed_input(pipeline: Any, instrument_cohere: Any) -> None:
    instrument_cohere(provider_hosts={})
    usage = {
        "billed_units": {"input_tokens": 1500, "output_tokens": 20},
        "tokens": {"input_tokens": 1700, "output_tokens": 20},
        "cached_tokens": 1024,
    }
    mock_client(chat_body(usage)).chat(model=MODEL, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == 1500
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 1024
    assert attributes["tokenomics.usage.input_uncached_tokens"] == 476
    # No cache-read rate in the catalog for command-a: cache reads are charged at the input rate.
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx((1500 * 2.5 + 20 * 10) / 1e6)
    pipeline.exporter.clear()
    usage["cached_tokens"] = 1600  # more than billed (template tokens cached): must not inflate billed input
    mock_client(chat_body(usage)).chat(model=MODEL, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == 1500
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 1500


def test_reasoning_content_is_captured_and_billed_inside_output(
    pipeline: Any, instrument_cohere: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrument_cohere(provider_hosts={})
    content = [{"type": "thinking", "thinking": "Prices vary."}, {"type": "text", "text": "It depends."}]
    usage = {"billed_units": {"input_tokens": 10, "output_tokens": 40}}
    mock_client(chat_body(usage, content)).chat(model="command-a-reasoning-08-2025", messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.output_tokens"] == 40
    assert json.loads(attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "reasoning", "content": "Prices vary."}, {"type": "text", "content": "It depends."}],
            "finish_reason": "stop",
        }
    ]


def test_stream_reads_finish_reason_and_usage_from_message_end(
    cohere_fake: Any, pipeline: Any, instrument_cohere: Any
) -> None:
    instrument_cohere()
    events = list(client_for(cohere_fake).chat_stream(model=MODEL, messages=MESSAGES))
    end = events[-1]
    assert end.type == "message-end"
    attributes = only_span(pipeline)
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["tokenomics.stream.completed"] is True
    assert attributes["gen_ai.response.id"] == events[0].id
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    billed = end.delta.usage.billed_units
    assert attributes["gen_ai.usage.input_tokens"] == billed.input_tokens
    assert attributes["gen_ai.usage.output_tokens"] == billed.output_tokens
    expected = (billed.input_tokens * COMMAND_A_INPUT + billed.output_tokens * COMMAND_A_OUTPUT) / 1e6
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)


def test_embed_span(cohere_fake: Any, pipeline: Any, instrument_cohere: Any) -> None:
    instrument_cohere()
    response = client_for(cohere_fake).embed(
        model="embed-v4.0", texts=["token accounting", "cost"], input_type="search_document", embedding_types=["float"]
    )
    attributes = only_span(pipeline)
    tokens = response.meta.billed_units.input_tokens
    assert attributes["gen_ai.operation.name"] == "embeddings"
    assert attributes["gen_ai.request.encoding_formats"] == ("float",)
    assert attributes["gen_ai.usage.input_tokens"] == tokens
    assert attributes["gen_ai.usage.output_tokens"] == 0
    assert attributes["gen_ai.embeddings.dimension.count"] == len(response.embeddings.float_[0])
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(tokens * EMBED_INPUT / 1e6)


def test_rerank_records_search_units_and_stays_unpriced(
    cohere_fake: Any, pipeline: Any, instrument_cohere: Any
) -> None:
    instrument_cohere()
    documents = [f"document {index} about token cost" for index in range(150)]
    response = client_for(cohere_fake).rerank(model="rerank-v3.5", query="token cost", documents=documents, top_n=3)
    assert response.meta.billed_units.search_units == 2
    [span] = pipeline.genai_spans()
    assert span.name == "rerank rerank-v3.5"
    attributes = dict(span.attributes)
    assert attributes["gen_ai.operation.name"] == "rerank"
    assert attributes["cohere.usage.search_units"] == 2
    assert attributes["gen_ai.response.id"] == response.id
    assert attributes["tokenomics.usage.reported"] is False
    assert "gen_ai.usage.input_tokens" not in attributes
    assert attributes["tokenomics.cost.status"] == "unpriced"
    assert attributes["tokenomics.cost.unpriced_reason"] == "unknown_model"
    assert "gen_ai.usage.cost.amount" not in attributes
    [point] = pipeline.metric_points("tokenomics.client.unpriced_calls")
    assert point.attributes["gen_ai.operation.name"] == "rerank"


def test_async_client_works_the_same(cohere_fake: Any, pipeline: Any, instrument_cohere: Any) -> None:
    instrument_cohere()

    async def scenario() -> Any:
        client = cohere.AsyncClientV2(api_key="test-key", base_url=cohere_fake.base_url, **NO_RETRIES)
        response = await client.chat(model=MODEL, messages=MESSAGES)
        events = [event async for event in client.chat_stream(model=MODEL, messages=MESSAGES)]
        embedding = await client.embed(model="embed-v4.0", texts=["x"], input_type="search_query")
        return response, events, embedding

    response, events, embedding = asyncio.run(scenario())
    chat_span, stream_span, embed_span = (dict(span.attributes) for span in pipeline.genai_spans())
    assert chat_span["gen_ai.usage.input_tokens"] == response.usage.billed_units.input_tokens
    assert stream_span["gen_ai.usage.output_tokens"] == events[-1].delta.usage.billed_units.output_tokens
    assert embed_span["gen_ai.usage.input_tokens"] == embedding.meta.billed_units.input_tokens


def test_v1_client_v2_attribute_is_instrumented_too(cohere_fake: Any, pipeline: Any, instrument_cohere: Any) -> None:
    instrument_cohere()
    client = cohere.Client(api_key="test-key", base_url=cohere_fake.base_url, **NO_RETRIES)
    client.v2.chat(model=MODEL, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["tokenomics.cost.status"] == "priced"


def test_bedrock_client_is_attributed_to_bedrock(pipeline: Any, instrument_cohere: Any) -> None:
    """Cohere's Bedrock client keeps a placeholder api.cohere.com base URL; the call is Bedrock's to price."""

    class BedrockClientV2(cohere.ClientV2):  # the SDK's class needs AWS credentials; its name is what counts
        pass

    instrument_cohere(provider_hosts={})
    usage = {"billed_units": {"input_tokens": 17, "output_tokens": 12}}
    mock_client(chat_body(usage), client_class=BedrockClientV2).chat(model="cohere.command-r-v1:0", messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert "server.address" not in attributes


def test_loopback_without_a_host_map_is_self_hosted_and_unpriced(
    cohere_fake: Any, pipeline: Any, instrument_cohere: Any
) -> None:
    instrument_cohere(provider_hosts={})
    client_for(cohere_fake).chat(model=MODEL, messages=MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == "cohere"
    assert attributes["tokenomics.cost.unpriced_reason"] == "self_hosted"


# --- never break the app ------------------------------------------------------------------------------------
def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault in otel-tokenomics")


READERS = "otel_tokenomics.instrumentation.cohere.readers"
FAULTS = {
    "request reader": (READERS, "provider_for_host"),
    "response reader": (READERS, "_read_id"),
    "usage conversion": (READERS, "usage_of"),
    "chunk reader": (f"{READERS}.ChatStreamReader", "feed"),
    "stream close": (f"{READERS}.ChatStreamReader", "close"),
    "classify": ("otel_tokenomics.instrumentation.cohere.adapter.CohereAdapter", "classify"),
    "pricing": ("otel_tokenomics.instrumentation.core.telemetry.Telemetry", "_cost"),
}


def _resolve(path: str) -> Any:
    import importlib

    module_path, _, attribute = path.rpartition(".")
    try:
        return importlib.import_module(path)
    except ImportError:
        return getattr(importlib.import_module(module_path), attribute)


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("stream", [False, True])
def test_our_faults_never_reach_the_app(
    cohere_fake: Any, pipeline: Any, instrument_cohere: Any, monkeypatch: Any, fault: str, stream: bool
) -> None:
    def call() -> Any:
        client = client_for(cohere_fake)
        if stream:
            return [event.dict() for event in client.chat_stream(model=MODEL, messages=MESSAGES)]
        return client.chat(model=MODEL, messages=MESSAGES).dict()

    expected = call()
    instrument_cohere()
    owner, name = FAULTS[fault]
    monkeypatch.setattr(_resolve(owner), name, _boom)
    before = sum(guard.internal_error_counts.values())
    assert call() == expected
    if fault not in ("chunk reader", "stream close") or stream:
        assert sum(guard.internal_error_counts.values()) > before, "the fault must be logged, not silent"


def test_sdk_exception_is_the_very_same_object(pipeline: Any, instrument_cohere: Any) -> None:
    instrument_cohere(provider_hosts={})
    with pytest.raises(cohere.UnauthorizedError) as info:
        mock_client({"message": "invalid api token"}, 401).chat(model=MODEL, messages=MESSAGES)
    assert info.value.status_code == 401
    attributes = only_span(pipeline)
    assert attributes["error.type"] == "UnauthorizedError"
    assert attributes["http.response.status_code"] == 401


# --- switches -------------------------------------------------------------------------------------------------
def test_double_instrument_is_a_noop_and_uninstrument_restores(
    cohere_fake: Any, pipeline: Any, instrument_cohere: Any
) -> None:
    instrumentor = instrument_cohere()
    instrument_cohere()
    assert CohereInstrumentor() is instrumentor
    client_for(cohere_fake).chat(model=MODEL, messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrumentor.uninstrument()
    for owner, method in (
        (V2Client, "chat"),
        (V2Client, "chat_stream"),
        (AsyncV2Client, "rerank"),
        *RAW_CLIENTS,
    ):
        assert not isinstance(vars(owner)[method], wrapt.ObjectProxy)
    client_for(cohere_fake).chat(model=MODEL, messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrument_cohere()
    client_for(cohere_fake).chat(model=MODEL, messages=MESSAGES)
    assert len(pipeline.genai_spans()) == 2


def test_content_is_not_captured_by_default(cohere_fake: Any, pipeline: Any, instrument_cohere: Any) -> None:
    instrument_cohere()
    client_for(cohere_fake).chat(model=MODEL, messages=MESSAGES)
    list(client_for(cohere_fake).chat_stream(model=MODEL, messages=MESSAGES))
    for span in pipeline.genai_spans():
        attributes = dict(span.attributes)
        assert not [key for key in attributes if "messages" in key or "instructions" in key]
        assert "What does a token cost" not in json.dumps(attributes, default=str)
        assert not span.events


def test_content_capture_opt_in(cohere_fake: Any, pipeline: Any, instrument_cohere: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrument_cohere()
    client = client_for(cohere_fake)
    response = client.chat(model=MODEL, messages=MESSAGES)
    events = list(client.chat_stream(model=MODEL, messages=MESSAGES))
    plain, streamed = (dict(span.attributes) for span in pipeline.genai_spans())
    for attributes in (plain, streamed):
        assert json.loads(attributes["gen_ai.input.messages"]) == [
            {"role": "user", "parts": [{"type": "text", "content": "What does a token cost?"}]}
        ]
        assert json.loads(attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "You are terse."}]
    [output] = json.loads(plain["gen_ai.output.messages"])
    assert output == {
        "role": "assistant",
        "parts": [{"type": "text", "content": response.message.content[0].text}],
        "finish_reason": "stop",
    }
    [streamed_output] = json.loads(streamed["gen_ai.output.messages"])
    text = "".join(event.delta.message.content.text for event in events if event.type == "content-delta")
    assert streamed_output["parts"] == [{"type": "text", "content": text}]


def test_api_key_never_exported(cohere_fake: Any, pipeline: Any, instrument_cohere: Any) -> None:
    secret = "co-SECRET0123456789abcdef"
    instrument_cohere(capture_content=True)
    client = client_for(cohere_fake, api_key=secret)
    client.chat(model=MODEL, messages=MESSAGES)
    list(client.chat_stream(model=MODEL, messages=MESSAGES))
    with pytest.raises(cohere.UnauthorizedError):
        client.chat(model=MODEL, messages=MESSAGES, request_options={"additional_headers": {"x-fake-status": "401"}})
    assert cohere_fake.requests[-1].headers["authorization"] == f"Bearer {secret}"  # the check has teeth
    exported = [span.to_json() for span in pipeline.spans()]
    exported.append(pipeline.reader.get_metrics_data().to_json())
    blob = "\n".join(exported)
    assert "What does a token cost" in blob  # content capture was on
    assert secret not in blob and "SECRET0123" not in blob
