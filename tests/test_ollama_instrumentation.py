"""What a user checks on the Ollama adapter: spans, token counts, self-hosted pricing, safety and switches."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import ollama
import pytest
import wrapt

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols
from otel_tokenomics.instrumentation.core import guard
from otel_tokenomics.instrumentation.ollama import OllamaInstrumentor
from otel_tokenomics.semconv.prices import PriceBook

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What does a token cost?"},
]


@pytest.fixture(scope="module")
def ollama_fake() -> Iterator[FakeProvider]:
    with FakeProvider(protocols=load_protocols(["ollama"])) as server:
        yield server


@pytest.fixture
def instrument_ollama(pipeline: Any, price_book: Any) -> Iterator[Any]:
    """Instrument `ollama` into `pipeline`; the fake on loopback is an Ollama server, i.e. self-hosted."""
    instrumentor = OllamaInstrumentor()

    def instrument(**options: Any) -> OllamaInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "ollama"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()


def only_span(pipeline: Any) -> dict[str, Any]:
    spans = pipeline.genai_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return dict(spans[0].attributes or {})


def mock_client(handler: Callable[[httpx.Request], httpx.Response], host: str = "http://127.0.0.1:11434") -> Any:
    """A client whose transport answers with a hand-written body (httpx options pass through `ollama.Client`)."""
    return ollama.Client(host=host, transport=httpx.MockTransport(handler))


def chat_body(**fields: Any) -> dict[str, Any]:
    """A non-streamed /api/chat answer as `ollama serve` sends it."""
    return {
        "model": "llama3.2",
        "created_at": "2025-01-01T00:00:00.000000Z",
        "message": {"role": "assistant", "content": "About nothing: it runs on your machine."},
        "done": True,
        "done_reason": "stop",
        "total_duration": 5_191_566_416,
        "load_duration": 2_154_458,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 383_809_000,
        "eval_count": 298,
        "eval_duration": 4_799_921_000,
        **fields,
    }


def sheet_book(tmp_path: Any, entry: str) -> PriceBook:
    sheet = tmp_path / "ollama.toml"
    sheet.write_text(f'version = "test"\nmodels = [{entry}]\n')
    return PriceBook([sheet])


# --- spans and token semantics -------------------------------------------------------------------------------
def test_chat_span_without_a_sheet_is_self_hosted_with_tokens(
    ollama_fake: Any, pipeline: Any, instrument_ollama: Any
) -> None:
    instrument_ollama()
    options = {"temperature": 0.2, "top_p": 0.9, "top_k": 40, "seed": 7, "stop": ["\n\n"], "num_predict": 400}
    response = ollama.Client(host=ollama_fake.base_url).chat("llama3.2", MESSAGES, options=options, format="json")
    attributes = only_span(pipeline)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "ollama"
    assert attributes["gen_ai.request.model"] == "llama3.2"
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.top_k"] == 40
    assert attributes["gen_ai.request.seed"] == 7
    assert attributes["gen_ai.request.stop_sequences"] == ("\n\n",)
    assert attributes["gen_ai.request.max_tokens"] == 400
    assert attributes["gen_ai.output.type"] == "json"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == ollama_fake.port
    assert attributes["gen_ai.response.model"] == "llama3.2"
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == response.prompt_eval_count
    assert attributes["gen_ai.usage.output_tokens"] == response.eval_count
    assert attributes["ollama.response.total_duration"] == pytest.approx(response.total_duration / 1e9)
    assert attributes["tokenomics.cost.status"] == "unpriced"
    assert attributes["tokenomics.cost.unpriced_reason"] == "self_hosted"
    assert "gen_ai.usage.cost.amount" not in attributes
    [point] = pipeline.metric_points("tokenomics.client.unpriced_calls")
    assert point.attributes["tokenomics.cost.unpriced_reason"] == "self_hosted"
    assert {p.attributes["gen_ai.token.type"] for p in pipeline.metric_points("gen_ai.client.token.usage")} == {
        "input",
        "output",
    }


def test_free_sheet_entry_makes_the_call_free(
    ollama_fake: Any, pipeline: Any, instrument_ollama: Any, tmp_path: Any
) -> None:
    instrument_ollama(price_book=sheet_book(tmp_path, '{model = "llama3.2*", free = true}'))
    ollama.Client(host=ollama_fake.base_url).chat("llama3.2", MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["tokenomics.cost.status"] == "free"
    assert attributes["gen_ai.usage.cost.amount"] == 0
    assert attributes["gen_ai.usage.input_tokens"] > 0


def test_absolute_sheet_price_by_hand(pipeline: Any, instrument_ollama: Any, tmp_path: Any) -> None:
    """A GPU box billed internally at 0.20 USD per 1M input and 0.80 per 1M output tokens."""
    instrument_ollama(price_book=sheet_book(tmp_path, '{model = "llama3.2*", input = 0.2, output = 0.8}'))
    client = mock_client(lambda request: httpx.Response(200, json=chat_body()))
    client.chat("llama3.2", MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.usage.input_tokens"] == 26
    assert attributes["gen_ai.usage.output_tokens"] == 298
    assert attributes["tokenomics.cost.status"] == "priced"
    expected = 26 * 0.2e-6 + 298 * 0.8e-6  # = 0.0002436
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(0.0002436)
    [point] = pipeline.metric_points("tokenomics.client.cost")
    assert point.value == pytest.approx(0.0002436)


def test_prompt_served_from_kv_cache_reports_no_prompt_count(pipeline: Any, instrument_ollama: Any) -> None:
    """Ollama omits prompt_eval_count when the whole prompt was cached; thinking is inside eval_count."""
    instrument_ollama()
    body = chat_body(model="qwen3", eval_count=120, done_reason="length")
    del body["prompt_eval_count"], body["prompt_eval_duration"]
    body["message"]["thinking"] = "Let me think."
    client = mock_client(lambda request: httpx.Response(200, json=body))
    client.chat("qwen3", MESSAGES, options={"num_predict": 120})  # the body above answers as if `think` were on
    attributes = only_span(pipeline)
    assert attributes["tokenomics.usage.reported"] is True
    assert attributes["gen_ai.usage.input_tokens"] == 0
    assert attributes["gen_ai.usage.output_tokens"] == 120
    assert "gen_ai.usage.reasoning.output_tokens" not in attributes  # Ollama does not split thinking out
    assert attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert "ollama.response.prompt_eval_duration" not in attributes


def test_stream_usage_comes_from_the_done_part(ollama_fake: Any, pipeline: Any, instrument_ollama: Any) -> None:
    instrument_ollama()
    parts = list(ollama.Client(host=ollama_fake.base_url).generate("llama3.2", "Count tokens.", stream=True))
    final = parts[-1]
    assert final.done and not any(part.done for part in parts[:-1])
    attributes = only_span(pipeline)
    assert attributes["gen_ai.operation.name"] == "text_completion"
    assert attributes["gen_ai.usage.input_tokens"] == final.prompt_eval_count
    assert attributes["gen_ai.usage.output_tokens"] == final.eval_count
    assert attributes["tokenomics.stream.completed"] is True


def test_embed_and_legacy_embeddings(ollama_fake: Any, pipeline: Any, instrument_ollama: Any) -> None:
    instrument_ollama()
    client = ollama.Client(host=ollama_fake.base_url)
    response = client.embed("all-minilm", ["some text", "more"])
    legacy = client.embeddings("all-minilm", "some text")
    embed_span, legacy_span = (dict(span.attributes) for span in pipeline.genai_spans())
    assert embed_span["gen_ai.operation.name"] == "embeddings"
    assert embed_span["gen_ai.usage.input_tokens"] == response.prompt_eval_count
    assert embed_span["gen_ai.embeddings.dimension.count"] == len(response.embeddings[0])
    assert legacy_span["gen_ai.embeddings.dimension.count"] == len(legacy.embedding)
    assert legacy_span["tokenomics.usage.reported"] is False


def test_module_level_helpers_are_instrumented(ollama_fake: Any, pipeline: Any, instrument_ollama: Any) -> None:
    """`ollama.chat` is a method bound to a default client at import time: wrapping `_request` still sees it."""
    default_http = ollama.chat.__self__._client
    original = default_http.base_url
    default_http.base_url = ollama_fake.base_url
    try:
        instrument_ollama()
        response = ollama.chat(model="llama3.2", messages=MESSAGES)
    finally:
        default_http.base_url = original
    assert only_span(pipeline)["gen_ai.usage.output_tokens"] == response.eval_count


def test_async_client(ollama_fake: Any, pipeline: Any, instrument_ollama: Any) -> None:
    instrument_ollama()

    async def scenario() -> tuple[Any, list[Any], Any]:
        client = ollama.AsyncClient(host=ollama_fake.base_url)
        plain = await client.chat("llama3.2", MESSAGES)
        stream = await client.chat("llama3.2", MESSAGES, stream=True)
        assert inspect.isasyncgen(stream)
        parts = [part async for part in stream]
        embedded = await client.embed("all-minilm", "x")
        return plain, parts, embedded

    plain, parts, embedded = asyncio.run(scenario())
    plain_span, stream_span, embed_span = (dict(span.attributes) for span in pipeline.genai_spans())
    assert plain_span["gen_ai.usage.output_tokens"] == plain.eval_count
    assert stream_span["gen_ai.usage.output_tokens"] == parts[-1].eval_count
    assert embed_span["gen_ai.usage.input_tokens"] == embedded.prompt_eval_count


def test_sdk_types_survive_instrumentation(ollama_fake: Any, pipeline: Any, instrument_ollama: Any) -> None:
    instrument_ollama()
    client = ollama.Client(host=ollama_fake.base_url)
    assert isinstance(client.chat("llama3.2", MESSAGES), ollama.ChatResponse)
    stream = client.chat("llama3.2", MESSAGES, stream=True)
    assert inspect.isgenerator(stream)
    assert all(isinstance(part, ollama.ChatResponse) for part in stream)
    assert isinstance(client.generate("llama3.2", "hi"), ollama.GenerateResponse)
    assert isinstance(client.embed("all-minilm", "x"), ollama.EmbedResponse)


def test_other_api_calls_pass_through_without_a_span(ollama_fake: Any, pipeline: Any, instrument_ollama: Any) -> None:
    instrument_ollama()
    with pytest.raises(ollama.ResponseError) as info:
        ollama.Client(host=ollama_fake.base_url).ps()  # not served by the fake: a 404, untouched by us
    assert info.value.status_code == 404
    assert pipeline.genai_spans() == []


@pytest.mark.parametrize(
    ("host", "hosts", "provider", "reason"),
    [
        ("http://gpu-box.example.com:11434", {}, "ollama", "self_hosted"),  # any Ollama server is the user's own
        ("https://ollama.com", {}, "ollama", "unknown_provider"),  # Ollama's cloud is a hosted service
        ("http://gpu-box.example.com:11434", {"gpu-box.example.com": "self_hosted"}, "ollama", "self_hosted"),
        ("http://gateway.example.com", {"gateway.example.com": "acme_llm"}, "acme_llm", "unknown_provider"),
    ],
)
def test_destination_rules(
    pipeline: Any, instrument_ollama: Any, host: str, hosts: dict[str, str], provider: str, reason: str
) -> None:
    instrument_ollama(provider_hosts=hosts)
    mock_client(lambda request: httpx.Response(200, json=chat_body()), host).chat("llama3.2", MESSAGES)
    attributes = only_span(pipeline)
    assert attributes["gen_ai.provider.name"] == provider
    assert attributes["tokenomics.cost.unpriced_reason"] == reason
    assert attributes["gen_ai.usage.input_tokens"] == 26


# --- never break the app ------------------------------------------------------------------------------------
def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault in otel-tokenomics")


FAULTS = {
    "endpoint selection": ("otel_tokenomics.instrumentation.ollama.adapter", "_ENDPOINTS"),
    "request reader": ("otel_tokenomics.instrumentation.ollama.readers", "client_destination"),
    "response reader": ("otel_tokenomics.instrumentation.ollama.readers", "_read_final"),
    "chunk reader": ("otel_tokenomics.instrumentation.ollama.readers.StreamReader", "feed"),
    "stream close": ("otel_tokenomics.instrumentation.ollama.readers.StreamReader", "close"),
    "classify": ("otel_tokenomics.instrumentation.ollama.adapter.OllamaAdapter", "classify"),
    "pricing": ("otel_tokenomics.instrumentation.core.telemetry.Telemetry", "_cost"),
}


class _BrokenMapping:
    def get(self, *args: Any) -> Any:
        raise RuntimeError("injected fault in otel-tokenomics")


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
    ollama_fake: Any, pipeline: Any, instrument_ollama: Any, monkeypatch: Any, fault: str, stream: bool
) -> None:
    def call() -> Any:
        client = ollama.Client(host=ollama_fake.base_url)
        if stream:
            return [part.model_dump() for part in client.chat("llama3.2", MESSAGES, stream=True)]
        return client.chat("llama3.2", MESSAGES).model_dump()

    expected = call()
    instrument_ollama()
    owner, name = FAULTS[fault]
    monkeypatch.setattr(_resolve(owner), name, _BrokenMapping() if name == "_ENDPOINTS" else _boom)
    before = sum(guard.internal_error_counts.values())
    assert call() == expected
    if fault not in ("chunk reader", "stream close") or stream:
        assert sum(guard.internal_error_counts.values()) > before, "the fault must be logged, not silent"


# --- content and secrets --------------------------------------------------------------------------------------
def test_content_is_not_captured_by_default(ollama_fake: Any, pipeline: Any, instrument_ollama: Any) -> None:
    instrument_ollama()
    ollama.Client(host=ollama_fake.base_url).chat("llama3.2", MESSAGES)
    attributes = only_span(pipeline)
    assert not [key for key in attributes if "messages" in key or "instructions" in key]
    assert "What does a token cost" not in json.dumps(attributes, default=str)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "think",
    [False, pytest.param(True, marks=pytest.mark.ollama_modern)],  # `think` is absent from ollama 0.4.0
)
def test_chat_content_capture_opt_in(
    ollama_fake: Any, pipeline: Any, instrument_ollama: Any, monkeypatch: Any, stream: bool, think: bool
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrument_ollama()
    client = ollama.Client(host=ollama_fake.base_url)
    kwargs: dict[str, Any] = {"think": True} if think else {}
    if stream:
        parts = list(client.chat("qwen3", MESSAGES, stream=True, **kwargs))
        text = "".join(part.message.content or "" for part in parts)
        thinking = "".join(getattr(part.message, "thinking", None) or "" for part in parts)
    else:
        response = client.chat("qwen3", MESSAGES, **kwargs)
        text, thinking = response.message.content, getattr(response.message, "thinking", None)
    assert bool(thinking) is think
    reasoning = [{"type": "reasoning", "content": thinking}] if think else []
    attributes = only_span(pipeline)
    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "What does a token cost?"}]}
    ]
    assert json.loads(attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "You are terse."}]
    assert json.loads(attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [*reasoning, {"type": "text", "content": text}],
            "finish_reason": "stop",
        }
    ]


def test_generate_and_tool_call_content(
    ollama_fake: Any, pipeline: Any, instrument_ollama: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrument_ollama()
    client = ollama.Client(host=ollama_fake.base_url)
    generated = client.generate("llama3.2", "Name a colour.", system="One word.")
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
    answer = client.chat("llama3.2", [{"role": "user", "content": "What is the weather in Paris?"}], tools=[tool])
    generate_span, chat_span = (dict(span.attributes) for span in pipeline.genai_spans())
    assert json.loads(generate_span["gen_ai.system_instructions"]) == [{"type": "text", "content": "One word."}]
    assert json.loads(generate_span["gen_ai.input.messages"])[0]["parts"][0]["content"] == "Name a colour."
    output = json.loads(generate_span["gen_ai.output.messages"])
    assert output[0]["parts"] == [{"type": "text", "content": generated.response}]
    [call_part] = json.loads(chat_span["gen_ai.output.messages"])[0]["parts"]
    assert call_part == {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Paris"}}
    assert answer.message.tool_calls[0].function.arguments == {"city": "Paris"}


def _assert_no_secret_exported(
    ollama_fake: Any, pipeline: Any, instrument_ollama: Any, headers: dict[str, str]
) -> None:
    instrument_ollama(capture_content=True)
    client = ollama.Client(host=ollama_fake.base_url, headers={"X-Proxy-Token": "HEADER-SECRET-42", **headers})
    client.chat("llama3.2", MESSAGES)
    list(client.chat("llama3.2", MESSAGES, stream=True))
    with pytest.raises(ollama.ResponseError):
        ollama.Client(host=ollama_fake.base_url, headers={"x-fake-status": "401"}).chat("llama3.2", MESSAGES)
    assert ollama_fake.requests[-2].headers["authorization"] == "Bearer ollama-SECRET0123456789"
    blob = "\n".join(span.to_json() for span in pipeline.spans())
    blob += pipeline.reader.get_metrics_data().to_json()
    assert "What does a token cost" in blob  # content capture was on, so the check has teeth
    assert "SECRET0123" not in blob and "HEADER-SECRET" not in blob


def test_api_keys_never_exported(ollama_fake: Any, pipeline: Any, instrument_ollama: Any) -> None:
    headers = {"Authorization": "Bearer ollama-SECRET0123456789"}
    _assert_no_secret_exported(ollama_fake, pipeline, instrument_ollama, headers)


@pytest.mark.ollama_modern  # ollama 0.4.0 does not read OLLAMA_API_KEY
def test_api_key_from_the_environment_never_exported(
    ollama_fake: Any, pipeline: Any, instrument_ollama: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-SECRET0123456789")
    _assert_no_secret_exported(ollama_fake, pipeline, instrument_ollama, {})


# --- switches -------------------------------------------------------------------------------------------------
def test_double_instrument_is_a_noop_and_uninstrument_restores(
    ollama_fake: Any, pipeline: Any, instrument_ollama: Any
) -> None:
    client = ollama.Client(host=ollama_fake.base_url)
    instrumentor = instrument_ollama()
    instrument_ollama()
    assert OllamaInstrumentor() is instrumentor
    client.chat("llama3.2", MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrumentor.uninstrument()
    assert not isinstance(vars(ollama.Client)["_request"], wrapt.ObjectProxy)
    assert not isinstance(vars(ollama.AsyncClient)["_request"], wrapt.ObjectProxy)
    client.chat("llama3.2", MESSAGES)
    assert len(pipeline.genai_spans()) == 1
    instrument_ollama()
    client.chat("llama3.2", MESSAGES)
    assert len(pipeline.genai_spans()) == 2
