"""Added time per Anthropic call: the real `anthropic` SDK, bare vs instrumented, in one run.

Run: `python benchmarks/bench_anthropic.py [--calls 300] [--rounds 5]`; `measure()` returns the figures for
run.py. Like the OpenAI benchmark: an httpx2 `MockTransport` returning canned bytes (no network), the same OTel
SDK pipeline as there (SimpleSpanProcessor to a discarding exporter, InMemoryMetricReader), configurations
interleaved in slices, the median call per configuration. No Anthropic peer instrumentation is installed here,
so the comparison is against the bare SDK only. Targets (issue 3): <= 80 µs per call, <= 150 µs per 20-event
stream — the same OTel SDK floor as for OpenAI applies (see the README's Performance section).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

BASE_URL = "https://api.anthropic.com"
MODEL = "claude-sonnet-4-5-20250929"
MESSAGES = [{"role": "user", "content": "Summarize the refund policy for annual plans in two sentences."}]
TARGETS_US = {"sync": 80.0, "stream": 150.0}


def _message_body() -> bytes:
    return json.dumps(
        {
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [{"type": "text", "text": "Refunds are prorated. Annual plans refund unused months."}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 25,
                "output_tokens": 18,
                "cache_read_input_tokens": 1024,
                "cache_creation_input_tokens": 0,
            },
        }
    ).encode()


def _sse_body() -> bytes:
    def event(name: str, data: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

    start = json.loads(_message_body())
    start.update(
        content=[],
        stop_reason=None,
        usage={
            "input_tokens": 25,
            "output_tokens": 1,
            "cache_read_input_tokens": 1024,
            "cache_creation_input_tokens": 0,
        },
    )
    parts = [
        event("message_start", {"type": "message_start", "message": start}),
        event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    parts += [
        event(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"word{i} "}},
        )
        for i in range(20)
    ]
    parts += [
        event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 20},
            },
        ),
        event("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(parts)


def _client(body: bytes, content_type: str) -> Any:
    import anthropic
    import httpx2

    def respond(request: Any) -> Any:
        return httpx2.Response(200, headers={"content-type": content_type}, content=body)

    return anthropic.Anthropic(
        api_key="sk-ant-bench",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(respond)),
    )


def _pipeline() -> tuple[Any, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(Discard()))
    return tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()])


def _batch(call: Callable[[], Any], calls: int) -> list[int]:
    times = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - started)
    return times


def measure(calls: int = 300, rounds: int = 5) -> dict[str, Any]:
    from otel_tokenomics.instrumentation.anthropic import AnthropicInstrumentor

    sync_client = _client(_message_body(), "application/json")
    stream_client = _client(_sse_body(), "text/event-stream")
    scenarios: dict[str, Callable[[], Any]] = {
        "sync": lambda: sync_client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES),
        "stream": lambda: [
            event
            for event in stream_client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES, stream=True)
        ],
    }
    tracer_provider, meter_provider = _pipeline()
    instrumentor = AnthropicInstrumentor()
    samples: dict[str, dict[str, list[int]]] = {name: {"bare": [], "ours": []} for name in scenarios}
    for call in scenarios.values():  # warm up both configurations
        _batch(call, 50)
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        _batch(call, 50)
        instrumentor.uninstrument()
    for _ in range(rounds):
        for name, call in scenarios.items():
            for configuration in ("bare", "ours"):
                if configuration == "ours":
                    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
                gc.collect()
                samples[name][configuration] += _batch(call, calls)
                if configuration == "ours":
                    instrumentor.uninstrument()
    results: dict[str, Any] = {}
    for name, by_configuration in samples.items():
        bare = statistics.median(by_configuration["bare"]) / 1000
        ours = statistics.median(by_configuration["ours"]) / 1000
        added = ours - bare
        results[name] = {
            "bare_us": bare,
            "ours_us": ours,
            "added_us": added,
            "target_us": TARGETS_US[name],
            "verdict": "PASS" if added <= TARGETS_US[name] else "MISS",
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'anthropic scenario':<20} {'bare':>9} {'ours':>9} {'added':>9}  target  verdict")
    for name, figures in measure(args.calls, args.rounds).items():
        print(
            f"{name:<20} {figures['bare_us']:9.1f} {figures['ours_us']:9.1f} {figures['added_us']:+9.1f}"
            f"  <={figures['target_us']:.0f}    {figures['verdict']}"
        )


if __name__ == "__main__":
    main()
