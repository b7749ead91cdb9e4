"""google-genai instrumentation: token semantics, prices, backends, content capture, fault isolation, lifecycle.

Calls go to the `gemini` fake provider over loopback (mapped to `gcp.gemini` so the catalog prices them, as a
user would with OTEL_TOKENOMICS_PROVIDER_HOSTS); token counts of the fake are deterministic, so the numbers
below are exact.
"""

from __future__ import annotations

import asyncio
import collections.abc
import inspect
import json
import types as pytypes
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols
from otel_tokenomics.instrumentation.google_genai import GoogleGenAIInstrumentor, readers
from otel_tokenomics.instrumentation.google_genai.hosts import client_destination
from otel_tokenomics.semconv.usage import Usage

SECRET = "AIzaSyD-planted-secret-key-0123456789"
PER_MILLION = 1_000_000


@pytest.fixture(scope="module")
def gemini_fake() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["gemini"])) as server:
        yield server


@pytest.fixture
def instrument_google(pipeline: Any, price_book: Any) -> Iterator[Any]:
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


def _options(fake: FakeProvider) -> types.HttpOptions:
    # Releases before the retry options (google-genai < 1.30) do not retry at all.
    if hasattr(types, "HttpRetryOptions"):
        return types.HttpOptions(base_url=fake.base_url, retry_options=types.HttpRetryOptions(attempts=1))
    return types.HttpOptions(base_url=fake.base_url)


def gemini_client(fake: FakeProvider, api_key: str = "test-key") -> genai.Client:
    return genai.Client(api_key=api_key, http_options=_options(fake))


def vertex_client(fake: FakeProvider) -> genai.Client:
    return genai.Client(
        vertexai=True,
        project="my-project",
        location="us-central1",
        credentials=Credentials(token="ya29.fake-access-token"),
        http_options=_options(fake),
    )


def only_span(pipeline: Any) -> dict[str, Any]:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return dict(spans[0].attributes or {})


# --- token semantics --------------------------------------------------------------------------------------
def test_usage_metadata_semantics() -> None:
    """prompt includes cache; thoughts beside output but billed as output; tool-use prompt is extra input."""
    metadata = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=1000,
        cached_content_token_count=600,
        candidates_token_count=200,
        thoughts_token_count=300,
        tool_use_prompt_token_count=50,
        total_token_count=1550,
        prompt_tokens_details=[
            types.ModalityTokenCount(modality=types.MediaModality.TEXT, token_count=900),
            types.ModalityTokenCount(modality=types.MediaModality.AUDIO, token_count=100),
        ],
    )
    usage = readers.gemini_usage(metadata)
    assert usage == Usage(
        input_tokens=1050,
        output_tokens=500,
        cache_read_tokens=600,
        reasoning_tokens=300,
        input_audio_tokens=100,
    )
    assert usage.uncached_input_tokens == 450
    assert usage.total_tokens == 1550  # matches Gemini's own total_token_count


def test_usage_of_a_non_thinking_model_without_optional_counts() -> None:
    metadata = types.GenerateContentResponseUsageMetadata(prompt_token_count=12, candidates_token_count=30)
    assert readers.gemini_usage(metadata) == Usage(input_tokens=12, output_tokens=30)


def test_request_model_without_prefixes() -> None:
    assert readers.model_name("gemini-2.5-flash") == "gemini-2.5-flash"
    assert readers.model_name("models/gemini-2.5-flash") == "gemini-2.5-flash"
    assert readers.model_name("projects/p/locations/l/publishers/google/models/gemini-2.5-pro") == "gemini-2.5-pro"
    assert readers.model_name("tunedModels/my-tune-123") == "tunedModels/my-tune-123"


def test_finish_reasons_map_to_the_conventions() -> None:
    assert readers.finish_reason(types.FinishReason.STOP) == "stop"
    assert readers.finish_reason(types.FinishReason.MAX_TOKENS) == "length"
    assert readers.finish_reason(types.FinishReason.SAFETY) == "content_filter"
    assert readers.finish_reason("LANGUAGE") == "language"
    assert readers.finish_reason(None) is None


def test_cached_content_priced_by_hand(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    """gemini-2.5-flash in the catalog: input $0.30, cache read $0.03, output $2.50 per 1M tokens."""
    instrument_google()
    client = gemini_client(gemini_fake)
    response = client.models.generate_content(
        model="models/gemini-2.5-flash",
        contents="Summarize the cached report.",
        config=types.GenerateContentConfig(cached_content="cachedContents/report-1"),
    )
    metadata = response.usage_metadata
    assert (metadata.prompt_token_count, metadata.cached_content_token_count) == (4103, 4096)
    assert (metadata.candidates_token_count, metadata.thoughts_token_count) == (68, 128)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.request.model"] == "gemini-2.5-flash"
    assert attributes["gen_ai.usage.input_tokens"] == 4103
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 4096
    assert attributes["tokenomics.usage.input_uncached_tokens"] == 7
    assert attributes["gen_ai.usage.output_tokens"] == 196
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 128
    expected = (7 * 0.30 + 4096 * 0.03 + 196 * 2.50) / PER_MILLION  # = 0.00061498
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected, rel=1e-9)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(0.00061498, rel=1e-9)
    assert attributes["gen_ai.usage.cost.currency"] == "USD"


def test_long_context_tier_priced_by_hand(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    """gemini-2.5-pro above 200k prompt tokens: input $2.50, output $15 per 1M (not $1.25/$10)."""
    instrument_google()
    client = gemini_client(gemini_fake)
    response = client.models.generate_content(model="gemini-2.5-pro", contents="word " * 168_000)
    metadata = response.usage_metadata
    assert metadata.prompt_token_count == 210_000
    assert (metadata.candidates_token_count, metadata.thoughts_token_count) == (82, 256)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == 210_000
    assert attributes["gen_ai.usage.output_tokens"] == 338
    expected = (210_000 * 2.50 + 338 * 15.0) / PER_MILLION  # = 0.53007
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected, rel=1e-9)


def test_tool_use_prompt_tokens_count_as_input(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    """gemini-2.0-flash: input $0.10, output $0.40 per 1M; search results fed back are billed input."""
    instrument_google()
    client = gemini_client(gemini_fake)
    response = client.models.generate_content(
        model="gemini-2.0-flash",
        contents="Find the news.",
        config=types.GenerateContentConfig(tools=[types.Tool(google_search=types.GoogleSearch())]),
    )
    assert response.usage_metadata.tool_use_prompt_token_count == 64
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == 10 + 64
    assert attributes["gen_ai.usage.output_tokens"] == 71
    assert "gen_ai.usage.reasoning.output_tokens" not in attributes
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx((74 * 0.10 + 71 * 0.40) / PER_MILLION, rel=1e-9)


def test_request_attributes(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    instrument_google()
    client = gemini_client(gemini_fake)
    response = client.models.generate_content(
        model="gemini-2.5-flash",
        contents="Hello",
        config={
            "temperature": 0.2,
            "top_p": 0.9,
            "top_k": 40,
            "max_output_tokens": 150,
            "stop_sequences": ["END"],
            "seed": 7,
            "response_mime_type": "application/json",
        },
    )
    attributes = only_span(pipeline)
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.top_k"] == 40
    assert attributes["gen_ai.request.max_tokens"] == 150
    assert attributes["gen_ai.request.stop_sequences"] == ("END",)
    assert attributes["gen_ai.request.seed"] == 7
    assert attributes["gen_ai.output.type"] == "json"
    # Older releases (google-genai 1.8 among them) drop `responseId`: then there is no id to report.
    assert attributes.get("gen_ai.response.id") == response.response_id
    # thoughts and answer share the cap: the fake cut the answer, as Gemini does
    assert attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert attributes["gen_ai.usage.output_tokens"] == 150
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == gemini_fake.port


def test_stream_usage_and_metrics(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    instrument_google()
    client = gemini_client(gemini_fake)
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi"))
    final = chunks[-1].usage_metadata
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == final.prompt_token_count
    assert attributes["gen_ai.usage.output_tokens"] == final.candidates_token_count + final.thoughts_token_count
    assert attributes["tokenomics.stream.completed"] is True
    points = pipeline.metric_points("gen_ai.client.token.usage")
    by_type = {dict(point.attributes)["gen_ai.token.type"]: point.sum for point in points}
    assert by_type == {"input": final.prompt_token_count, "output": attributes["gen_ai.usage.output_tokens"]}


@pytest.mark.google_genai_modern  # `EmbedContentResponse.usage_metadata`: older releases drop the usage
def test_embeddings(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    """gemini-embedding-001: input $0.15 per 1M."""
    instrument_google()
    client = gemini_client(gemini_fake)
    response = client.models.embed_content(model="gemini-embedding-001", contents=["first text", "second text!"])
    assert len(response.embeddings) == 2
    attributes = only_span(pipeline)
    assert attributes["gen_ai.operation.name"] == "embeddings"
    assert attributes["gen_ai.usage.input_tokens"] == 3 + 3
    assert attributes["gen_ai.embeddings.dimension.count"] == len(response.embeddings[0].values)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(6 * 0.15 / PER_MILLION, rel=1e-9)


# --- automatic function calling and chats -----------------------------------------------------------------
def get_weather(location: str) -> str:
    """Returns the weather in a place."""
    return f"Sunny in {location}"


# Real types, not the strings of `from __future__ import annotations`: older releases (google-genai 1.8) do not
# resolve string annotations when they build the function declaration for automatic function calling.
get_weather.__annotations__ = {"location": str, "return": str}


WEATHER_QUESTION = "What is the weather in Paris?"
# gemini-2.5-flash in the catalog (`otel-tokenomics prices gemini-2.5-flash`): input $0.30, output $2.50 per 1M.
FLASH_INPUT, FLASH_OUTPUT = 0.30, 2.50


def billed_round_trips(fake: FakeProvider) -> list[tuple[int, int]]:
    """(input, output) tokens the fake billed for each request the SDK sent, oldest first.

    The fake answers deterministically, so sending the recorded request bodies again (after a reset, so its
    prompt-cache memory starts out the same) returns the very usage each original request got.
    """
    sent = fake.requests
    fake.reset()
    billed = []
    for request in sent:
        answer = httpx.post(
            fake.base_url.rstrip("/") + request.path,
            content=request.body,
            headers={"content-type": "application/json"},
        )
        usage = answer.json()["usageMetadata"]
        assert "cachedContentTokenCount" not in usage  # the hand-computed price below has no cache rate
        billed.append(
            (
                usage["promptTokenCount"] + usage.get("toolUsePromptTokenCount", 0),
                usage["candidatesTokenCount"] + usage.get("thoughtsTokenCount", 0),
            )
        )
    return billed


def assert_round_trips_counted(fake: FakeProvider, pipeline: Any, final: Any, spans: int = 1) -> None:
    """Every round trip counted once, priced per request; the metrics agree with the span(s).

    `Models.generate_content` gives one span for all its round trips; `spans=2` is for chats on releases whose
    `Chat.send_message` runs the function-calling loop itself, one public `generate_content` per round trip.
    """
    billed = billed_round_trips(fake)
    assert len(billed) == 2  # the function-call round trip, then the answer
    assert billed[0] != billed[1]
    last = final.usage_metadata  # the SDK's own answer reports only the last request
    assert (last.prompt_token_count, last.candidates_token_count + last.thoughts_token_count) == billed[-1]
    found = [dict(span.attributes or {}) for span in pipeline.genai_spans()]
    assert len(found) == spans
    assert sum(attributes["tokenomics.usage.requests"] for attributes in found) == 2
    input_tokens = sum(attributes["gen_ai.usage.input_tokens"] for attributes in found)
    output_tokens = sum(attributes["gen_ai.usage.output_tokens"] for attributes in found)
    assert (input_tokens, output_tokens) == (billed[0][0] + billed[1][0], billed[0][1] + billed[1][1])
    assert found[-1]["gen_ai.response.finish_reasons"] == ("stop",)
    expected = sum(tokens_in * FLASH_INPUT + tokens_out * FLASH_OUTPUT for tokens_in, tokens_out in billed)
    cost = sum(attributes["gen_ai.usage.cost.amount"] for attributes in found)
    assert cost == pytest.approx(expected / PER_MILLION, rel=1e-9)
    [counted] = pipeline.metric_points("tokenomics.client.cost")
    assert counted.value == pytest.approx(cost, rel=1e-12)
    points = pipeline.metric_points("gen_ai.client.token.usage")
    by_type = {dict(point.attributes)["gen_ai.token.type"]: point.sum for point in points}
    assert by_type == {"input": input_tokens, "output": output_tokens}


def test_automatic_function_calling_counts_every_round_trip(
    gemini_fake: Any, pipeline: Any, instrument_google: Any
) -> None:
    instrument_google()
    client = gemini_client(gemini_fake)
    gemini_fake.reset()
    response = client.models.generate_content(
        model="gemini-2.5-flash", contents=WEATHER_QUESTION, config=types.GenerateContentConfig(tools=[get_weather])
    )
    assert response.text
    assert_round_trips_counted(gemini_fake, pipeline, response)


def test_automatic_function_calling_async_counts_every_round_trip(
    gemini_fake: Any, pipeline: Any, instrument_google: Any
) -> None:
    instrument_google()
    client = gemini_client(gemini_fake)
    gemini_fake.reset()
    response = asyncio.run(
        client.aio.models.generate_content(
            model="gemini-2.5-flash",
            contents=WEATHER_QUESTION,
            config=types.GenerateContentConfig(tools=[get_weather]),
        )
    )
    assert_round_trips_counted(gemini_fake, pipeline, response)


def test_chat_with_automatic_function_calling_counts_every_round_trip(
    gemini_fake: Any, pipeline: Any, instrument_google: Any
) -> None:
    instrument_google()
    client = gemini_client(gemini_fake)
    gemini_fake.reset()
    chat = client.chats.create(model="gemini-2.5-flash", config=types.GenerateContentConfig(tools=[get_weather]))
    response = chat.send_message(WEATHER_QUESTION)
    # Older releases (1.8 among them) hand the whole loop to `generate_content`; newer ones loop in the chat.
    chat_loops = "remaining_remote_calls_afc" in inspect.getsource(genai.chats.Chat.send_message)
    assert_round_trips_counted(gemini_fake, pipeline, response, spans=2 if chat_loops else 1)


def test_a_plain_call_is_one_round_trip(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    instrument_google()
    client = gemini_client(gemini_fake)
    response = client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    attributes = only_span(pipeline)
    assert attributes["tokenomics.usage.requests"] == 1
    assert attributes["gen_ai.usage.input_tokens"] == response.usage_metadata.prompt_token_count


def test_a_failing_round_trip_reader_never_reaches_the_app(
    gemini_fake: Any, pipeline: Any, instrument_google: Any, monkeypatch: Any
) -> None:
    def ask() -> Any:
        client = gemini_client(gemini_fake)
        config = types.GenerateContentConfig(tools=[get_weather])
        response = client.models.generate_content(model="gemini-2.5-flash", contents=WEATHER_QUESTION, config=config)
        assert type(response) is types.GenerateContentResponse
        return response.model_dump(exclude={"sdk_http_response"})

    expected = ask()
    instrument_google()
    monkeypatch.setattr(readers, "gemini_usage", _boom)  # what the round-trip reader and the final reader call
    assert ask() == expected
    [span] = pipeline.genai_spans()
    assert span.end_time is not None
    assert span.attributes["tokenomics.usage.requests"] == 2  # the round trips still happened
    assert span.attributes["tokenomics.usage.reported"] is False


# Releases up to at least google-genai 1.30 do not yield the function-call chunks of a streamed automatic function
# calling request, so the usage of that round trip never reaches the public method this adapter wraps.
@pytest.mark.google_genai_modern
def test_automatic_function_calling_stream_sums_requests(
    gemini_fake: Any, pipeline: Any, instrument_google: Any
) -> None:
    instrument_google()
    client = gemini_client(gemini_fake)
    chunks = list(
        client.models.generate_content_stream(
            model="gemini-2.5-flash",
            contents="What is the weather in Paris?",
            config=types.GenerateContentConfig(tools=[get_weather]),
        )
    )
    ends = [chunk.usage_metadata for chunk in chunks if chunk.candidates[0].finish_reason]
    assert len(ends) == 2  # one finished request per round trip
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == sum(end.prompt_token_count for end in ends)
    assert attributes["gen_ai.usage.output_tokens"] == sum(
        end.candidates_token_count + end.thoughts_token_count for end in ends
    )


def test_chat_send_message_is_instrumented(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    instrument_google()
    client = gemini_client(gemini_fake)
    chat = client.chats.create(model="gemini-2.0-flash")
    chat.send_message("Hello")
    chat.send_message("And again")
    spans = pipeline.genai_spans()
    assert [span.name for span in spans] == ["generate_content gemini-2.0-flash"] * 2
    assert all(span.attributes["tokenomics.cost.status"] == "priced" for span in spans)


# --- backends ---------------------------------------------------------------------------------------------
def test_backend_detection_from_the_client() -> None:
    gemini = genai.Client(api_key="k")
    vertex = genai.Client(vertexai=True, project="p", location="us-central1", credentials=Credentials(token="t"))
    assert client_destination(gemini._api_client, None, {}) == (
        "gcp.gemini",
        "generativelanguage.googleapis.com",
        443,
        False,
    )
    assert client_destination(vertex._api_client, None, {}) == (
        "gcp.vertex_ai",
        "us-central1-aiplatform.googleapis.com",
        443,
        False,
    )
    express = genai.Client(vertexai=True, api_key="k")
    assert client_destination(express._api_client, None, {}).provider == "gcp.vertex_ai"
    per_request = {"http_options": {"base_url": "https://europe-west4-aiplatform.googleapis.com/"}}
    assert client_destination(vertex._api_client, per_request, {}).address == "europe-west4-aiplatform.googleapis.com"


def test_loopback_keeps_the_backend_but_is_self_hosted(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    instrument_google(provider_hosts={})
    client = gemini_client(gemini_fake)
    vertex = vertex_client(gemini_fake)
    client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    vertex.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    providers = [span.attributes["gen_ai.provider.name"] for span in pipeline.genai_spans()]
    assert providers == ["gcp.gemini", "gcp.vertex_ai"]
    assert {span.attributes["tokenomics.cost.unpriced_reason"] for span in pipeline.genai_spans()} == {"self_hosted"}


def test_vertex_ai_over_the_fake(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    """gemini-2.5-flash on Vertex AI: input $0.30, output $2.50 per 1M."""
    instrument_google(provider_hosts={"127.0.0.1": "gcp.vertex_ai"})
    gemini_fake.reset()
    client = vertex_client(gemini_fake)
    response = client.models.generate_content(model="publishers/google/models/gemini-2.5-flash", contents="Hello")
    assert gemini_fake.requests[-1].path.endswith(
        "/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    )
    client.models.embed_content(model="text-embedding-005", contents=["alpha", "beta gamma"])
    generate, embed = (dict(span.attributes) for span in pipeline.genai_spans())
    assert generate["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert generate["gen_ai.request.model"] == "gemini-2.5-flash"
    metadata = response.usage_metadata
    output = metadata.candidates_token_count + metadata.thoughts_token_count
    expected = (metadata.prompt_token_count * 0.30 + output * 2.50) / PER_MILLION
    assert generate["gen_ai.usage.cost.amount"] == pytest.approx(expected, rel=1e-9)
    assert embed["gen_ai.operation.name"] == "embeddings"
    assert embed["gen_ai.usage.input_tokens"] == 2 + 3  # from the per-embedding statistics of :predict


# --- content capture and secrets --------------------------------------------------------------------------
def _all_exported_text(pipeline: Any) -> str:
    texts = [json.dumps(dict(span.attributes or {}), default=str) for span in pipeline.spans()]
    texts += [
        json.dumps([dict(event.attributes or {}) for event in span.events], default=str) for span in pipeline.spans()
    ]
    data = pipeline.reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                texts.extend(json.dumps(dict(point.attributes), default=str) for point in metric.data.data_points)
    return "\n".join(texts)


def test_content_not_captured_by_default(
    gemini_fake: Any, pipeline: Any, instrument_google: Any, monkeypatch: Any
) -> None:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    instrument_google()
    client = gemini_client(gemini_fake, api_key=SECRET)
    client.models.generate_content(
        model="gemini-2.5-flash",
        contents="My private question",
        config=types.GenerateContentConfig(system_instruction="Be terse."),
    )
    attributes = only_span(pipeline)
    assert not any(key.startswith(("gen_ai.input", "gen_ai.output.messages", "gen_ai.system")) for key in attributes)
    exported = _all_exported_text(pipeline)
    assert "My private question" not in exported
    assert SECRET not in exported


def test_content_captured_when_enabled(
    gemini_fake: Any, pipeline: Any, instrument_google: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrument_google()
    client = gemini_client(gemini_fake, api_key=SECRET)
    response = client.models.generate_content(
        model="gemini-2.5-flash",
        contents=[
            types.Content(role="user", parts=[types.Part.from_text(text="Hi")]),
            types.Content(role="model", parts=[types.Part.from_text(text="Hello!")]),
            "Tell me more",
        ],
        config=types.GenerateContentConfig(system_instruction="Be terse."),
    )
    chunks = list(client.models.generate_content_stream(model="gemini-2.0-flash", contents="Stream it"))
    plain, streamed = (dict(span.attributes) for span in pipeline.genai_spans())
    assert json.loads(plain["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be terse."}]
    assert json.loads(plain["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Hi"}]},
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello!"}]},
        {"role": "user", "parts": [{"type": "text", "content": "Tell me more"}]},
    ]
    assert json.loads(plain["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": response.text}], "finish_reason": "stop"}
    ]
    streamed_text = "".join(chunk.text for chunk in chunks)
    assert json.loads(streamed["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": streamed_text}], "finish_reason": "stop"}
    ]
    assert SECRET not in _all_exported_text(pipeline)


def test_vertex_credentials_never_exported(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    instrument_google()
    vertex = vertex_client(gemini_fake)
    vertex.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert "ya29.fake-access-token" not in _all_exported_text(pipeline)


# --- fault isolation --------------------------------------------------------------------------------------
def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("reader bug")


@pytest.mark.parametrize(
    ("target", "name"),
    [
        (readers, "gemini_usage"),
        (readers, "model_name"),
        (readers, "client_destination"),
        (readers, "_finish_reasons"),
        (readers.GenerateStreamReader, "feed"),
        (readers.GenerateStreamReader, "close"),
    ],
)
def test_reader_failures_never_reach_the_app(
    gemini_fake: Any, pipeline: Any, instrument_google: Any, monkeypatch: Any, target: Any, name: str
) -> None:
    def run() -> Any:
        client = gemini_client(gemini_fake)
        plain = client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
        streamed = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi"))
        embedded = client.models.embed_content(model="gemini-embedding-001", contents="Hi")

        async def run_async() -> Any:
            models = client.aio.models
            plain = await models.generate_content(model="gemini-2.5-flash", contents="Hi")
            stream = await models.generate_content_stream(model="gemini-2.5-flash", contents="Hi")
            return plain, [chunk async for chunk in stream]

        dump = [item.model_dump(exclude={"sdk_http_response"}) for item in (plain, *streamed, embedded)]
        async_plain, async_streamed = asyncio.run(run_async())
        dump += [item.model_dump(exclude={"sdk_http_response"}) for item in (async_plain, *async_streamed)]
        return dump

    expected = run()
    instrument_google()
    monkeypatch.setattr(target, name, _boom)
    assert run() == expected
    for span in pipeline.genai_spans():
        assert span.end_time is not None


# --- lifecycle and types ----------------------------------------------------------------------------------
def test_uninstrument_and_double_instrument(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    instrumentor = instrument_google()
    instrument_google()  # a second instrument() is a no-op, not a second wrapper
    client = gemini_client(gemini_fake)
    client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert len(pipeline.genai_spans()) == 1
    instrumentor.uninstrument()
    assert not hasattr(genai.models.Models.generate_content, "__wrapped__")
    assert not hasattr(genai.models.AsyncModels.generate_content_stream, "__wrapped__")
    client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert len(pipeline.genai_spans()) == 1
    instrument_google()
    client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert len(pipeline.genai_spans()) == 2


def test_sdk_types_are_preserved(gemini_fake: Any, pipeline: Any, instrument_google: Any) -> None:
    instrument_google()
    client = gemini_client(gemini_fake)
    response = client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert type(response) is types.GenerateContentResponse
    stream = client.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi")
    assert isinstance(stream, pytypes.GeneratorType)
    assert isinstance(stream, collections.abc.Iterator)
    assert all(isinstance(chunk, types.GenerateContentResponse) for chunk in stream)
    embedded = client.models.embed_content(model="gemini-embedding-001", contents="Hi")
    assert type(embedded) is types.EmbedContentResponse

    async def run_async() -> None:
        response = await client.aio.models.generate_content(model="gemini-2.5-flash", contents="Hi")
        assert type(response) is types.GenerateContentResponse
        stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi")
        assert isinstance(stream, pytypes.AsyncGeneratorType)
        assert isinstance(stream, collections.abc.AsyncIterator)
        assert all([isinstance(chunk, types.GenerateContentResponse) async for chunk in stream])

    asyncio.run(run_async())
    assert len(pipeline.genai_spans()) == 5


def _chunk(text: str | None, reason: str | None, prompt: int, output: int | None) -> types.GenerateContentResponse:
    content = types.Content(role="model", parts=[types.Part.from_text(text=text)]) if text is not None else None
    return types.GenerateContentResponse(
        candidates=[types.Candidate(content=content, finish_reason=reason, index=0)],
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=prompt, candidates_token_count=output
        ),
        model_version="gemini-2.5-flash",
    )


def test_stream_reader_latest_usage_wins_within_one_request() -> None:
    """A usage-only chunk after the finish reason repeats the totals: it must not start a second request."""
    from otel_tokenomics.instrumentation.core import Invocation
    from otel_tokenomics.instrumentation.google_genai.adapter import GENERATE_STREAM

    invocation = Invocation(None, GENERATE_STREAM, False)  # type: ignore[arg-type]
    reader = readers.GenerateStreamReader(invocation)
    for chunk in (
        _chunk("Hel", None, 10, None),
        _chunk("lo", "STOP", 10, 5),
        _chunk(None, None, 10, 5),  # trailing usage-only chunk
    ):
        assert reader.feed(chunk) is False
    reader.close()
    assert invocation.usage == Usage(input_tokens=10, output_tokens=5)
    assert invocation.response_model == "gemini-2.5-flash"
