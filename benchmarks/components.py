"""The instrumentations' own cost without the SDK, and a component budget of ours: precise, low-noise figures.

Run: `/work/main/.venv/bin/python benchmarks/components.py`

Why: `run.py` measures what an instrumentation adds to a real SDK call; on a shared 2-vCPU machine that figure
moves by tens of µs between runs, and it cannot say which part of the instrumentation costs what. Here,

1. **pure overhead**: each instrumentation's installed wrapper (taken from the SDK method it wrapped) is called
   with a stand-in for the SDK method that returns a pre-parsed `ChatCompletion`, or replays 22 pre-parsed
   chunks through a real `openai.Stream` subclass. Wrapper minus stand-in is the instrumentation's own work per
   call, with nothing else in the loop: best of several `timeit` repeats, stable to about a µs.
2. **components** (ours only): the steps of our hot path timed one by one with the same objects and attributes a
   real call produces (span start/end, set_attributes, metric records, context, price lookup, readers, the
   stream proxy), so their sum can be compared with the pure overhead and the big items stand out.

What this misses, by design: second-order costs inside the real call (extra garbage collections, cache misses
in the SDK after our code ran). The gap between `run.py`'s added µs and the pure overhead estimates those.
"""

from __future__ import annotations

import json
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run
from _configs import Configuration, make_configurations
from _openai_mock import _completion_body, _sse_body, chat_kwargs, make_clients, stream_kwargs

NUMBER = 2_000
REPEAT = 7


def best_us(func: Callable[[], object], number: int = NUMBER, repeat: int = REPEAT) -> float:
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e6


def _parsed_response() -> Any:
    from openai.types.chat import ChatCompletion

    return ChatCompletion.model_validate_json(_completion_body())


def _parsed_chunks() -> list[Any]:
    from openai.types.chat import ChatCompletionChunk

    chunks = []
    for line in _sse_body().split(b"\n\n"):
        payload = line.removeprefix(b"data: ")
        if payload and payload != b"[DONE]":
            chunks.append(ChatCompletionChunk.model_validate_json(payload))
    return chunks


def _replay_stream_class() -> type:
    import openai

    class _Closed:
        def close(self) -> None:
            pass

    class ReplayStream(openai.Stream):  # type: ignore[misc,type-arg]
        """A real `openai.Stream` (so both instrumentations recognize it) that replays parsed chunks."""

        def __init__(self, chunks: list[Any]) -> None:
            self.response = _Closed()
            self._iterator = iter(chunks)

    return ReplayStream


def _installed_wrapper() -> Callable[..., Any]:
    """The wrapper function the active instrumentation installed on `Completions.create`."""
    import openai.resources.chat.completions as chat

    return vars(chat.Completions)["create"]._self_wrapper  # type: ignore[no-any-return]


def pure_overhead(configuration: Configuration, clients: Any) -> dict[str, float]:
    response, chunks, replay = _parsed_response(), _parsed_chunks(), _replay_stream_class()
    instance = clients.sync.chat.completions
    sync_kwargs, streamed_kwargs = chat_kwargs(), stream_kwargs()

    def fake_create(*args: Any, **kwargs: Any) -> Any:
        return response

    def fake_stream(*args: Any, **kwargs: Any) -> Any:
        return replay(chunks)

    def bare_sync() -> None:
        fake_create(**sync_kwargs)

    def bare_stream() -> None:
        for _chunk in fake_stream(**streamed_kwargs):
            pass

    configuration.activate()
    try:
        wrapper = _installed_wrapper()

        def wrapped_sync() -> None:
            wrapper(fake_create, instance, (), sync_kwargs)

        def wrapped_stream() -> None:
            for _chunk in wrapper(fake_stream, instance, (), streamed_kwargs):
                pass

        before = configuration.spans_exported
        wrapped_sync()
        wrapped_stream()
        if configuration.spans_exported - before != 2:
            raise run.BrokenConfiguration(f"{configuration.name}: the direct wrapper calls made no spans")
        figures = {
            "sync_us": best_us(wrapped_sync) - best_us(bare_sync),
            "stream_us": best_us(wrapped_stream, NUMBER // 4) - best_us(bare_stream, NUMBER // 4),
        }
    finally:
        configuration.deactivate()
    return figures


def components(configuration: Configuration, clients: Any) -> dict[str, float]:
    """Our hot path, step by step, with what a real sync call and a real stream produce."""
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled
    from opentelemetry.trace import SpanKind

    from otel_tokenomics.instrumentation.core.invocation import Invocation
    from otel_tokenomics.instrumentation.core.streams import SyncStreamProxy
    from otel_tokenomics.instrumentation.openai import adapter as openai_adapter
    from otel_tokenomics.instrumentation.openai import readers

    response, chunks, replay = _parsed_response(), _parsed_chunks(), _replay_stream_class()
    instance = clients.sync.chat.completions
    kwargs = chat_kwargs()
    configuration.activate()
    try:
        telemetry = configuration.instrumentor.telemetry
        pipeline = configuration.pipeline
        assert pipeline is not None
        chat = openai_adapter.CHAT
        # One real call gives us the attributes ours really sets.
        clients.sync.chat.completions.create(**kwargs)
        span_attributes = dict(pipeline.exporter.last.attributes)
        invocation = telemetry.begin(chat, instance, dict(kwargs))
        request_attributes = dict(invocation.request_attributes)
        invocation.span.end()
        response_attributes = {k: v for k, v in span_attributes.items() if k not in request_attributes}
        name = f"chat {kwargs['model']}"
        tracer = telemetry.tracer

        def span_start_end() -> None:
            tracer.start_span(name, kind=SpanKind.CLIENT, attributes=request_attributes).end()

        def span_with_set_attributes() -> None:
            span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=request_attributes)
            span.set_attributes(response_attributes)
            span.end()

        def context_round_trip() -> None:
            is_instrumentation_enabled()
            token = otel_context.attach(trace.set_span_in_context(trace.INVALID_SPAN))
            otel_context.detach(token)

        def read_request() -> None:
            readers.read_chat_request(Invocation(telemetry, chat, False), instance, kwargs)

        finished = Invocation(telemetry, chat, False)
        readers.read_chat_request(finished, instance, kwargs)

        def read_response() -> None:
            finished.attributes = {}
            readers.read_chat_response(finished, response)

        finished.request_attributes = dict(request_attributes)
        read_response()
        metric_set = telemetry._metric_attribute_set(finished)
        metric_attributes = metric_set.base
        usage = finished.usage

        def metric_attributes_build() -> None:
            telemetry._metric_attribute_set(finished)

        def metrics_sync() -> None:
            attributes = telemetry._metric_attribute_set(finished)
            telemetry.token_usage.record(usage.input_tokens, attributes.input)
            telemetry.token_usage.record(usage.output_tokens, attributes.output)
            cost_attributes = attributes.with_currency("USD")
            telemetry.cost_histogram.record(0.0001, cost_attributes)
            telemetry.cost_totals.add((attributes.key, "USD"), cost_attributes, 0.0001)
            telemetry.duration.record(1.0, attributes.base)

        def one_histogram_record() -> None:
            telemetry.duration.record(1.0, metric_attributes)

        book = telemetry.price_book

        def price() -> None:
            book.cost(
                usage,
                provider="openai",
                model=finished.response_model,
                request_model=finished.request_model,
                server_address="api.openai.com",
                service_tier=finished.service_tier,
                when=finished.started_epoch,
            ).span_attributes()

        def price_cost_only() -> None:
            book.cost(
                usage,
                provider="openai",
                model=finished.response_model,
                request_model=finished.request_model,
                server_address="api.openai.com",
                service_tier=finished.service_tier,
                when=finished.started_epoch,
            )

        def whole_begin_end() -> None:
            done = telemetry.begin(chat, instance, dict(kwargs))
            chat.read_response(done, response)
            done.finish()

        streamed = Invocation(telemetry, chat, False)

        def proxy_iteration() -> None:
            streamed.reader = None
            streamed.first_chunk_at = None
            for _chunk in SyncStreamProxy(replay(chunks), streamed):
                pass
            streamed.finished = True  # keep the finalizer from ending a span we never started

        def bare_iteration() -> None:
            for _chunk in replay(chunks):
                pass

        def reader_feed() -> None:
            reader = readers.ChatStreamReader(streamed)
            streamed.response_model = None
            for chunk in chunks:
                reader.feed(chunk)
            reader.close()

        quarter = NUMBER // 4
        return {
            "span start + end (request attributes, SimpleSpanProcessor)": best_us(span_start_end),
            f"span.set_attributes (response side, {len(response_attributes)} attributes)": best_us(
                span_with_set_attributes
            )
            - best_us(span_start_end),
            "context attach/detach + suppression check": best_us(context_round_trip),
            "read_chat_request (+ Invocation)": best_us(read_request),
            "read_chat_response": best_us(read_response),
            "metric attributes dict": best_us(metric_attributes_build),
            "metric records, sync call (4 records + 1 running total)": best_us(metrics_sync),
            "  one histogram.record": best_us(one_histogram_record),
            "price lookup: PriceBook.cost": best_us(price_cost_only),
            "price lookup: + Cost.span_attributes": best_us(price),
            "Telemetry.begin .. finish, sync (no wrapper, no SDK)": best_us(whole_begin_end),
            "stream proxy, 22 chunks (minus bare iteration)": best_us(proxy_iteration, quarter)
            - best_us(bare_iteration, quarter),
            "ChatStreamReader.feed x22 + close": best_us(reader_feed, quarter),
        }
    finally:
        configuration.deactivate()


def main() -> int:
    clients = make_clients()
    configurations = {c.name: c for c in make_configurations()}
    run.verify(list(configurations.values()), clients)
    report: dict[str, Any] = {"pure_overhead_us": {}, "components_us": {}}
    print("pure instrumentation overhead, no SDK work (µs per call, best of repeats):")
    for name in ("ours", "openai-v2"):
        figures = pure_overhead(configurations[name], clients)
        report["pure_overhead_us"][name] = figures
        print(f"  {name:<10} sync {figures['sync_us']:7.1f}   stream (22 chunks) {figures['stream_us']:7.1f}")
    print("\nours, component by component (µs):")
    for label, value in components(configurations["ours"], clients).items():
        report["components_us"][label] = value
        print(f"  {label:<62} {value:7.2f}")
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
