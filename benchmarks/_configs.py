"""The three configurations under test (bare, ours, openai-v2) and the OTel SDK pipeline both instrumented ones use.

Why one pipeline shape for both: the overhead an instrumentation adds depends as much on the SDK behind it (span
processor, exporter, metric reader) as on its own code, so a fair comparison gives both the same realistic
pipeline and lets only the instrumentation differ. Each configuration gets its own providers (built identically)
so one instrumentation's metric streams never share aggregation state with the other's.

Pipeline: `TracerProvider` → `SimpleSpanProcessor` → an exporter that discards spans (counting them, so the run
can prove spans were really produced), and `MeterProvider` with an `InMemoryMetricReader`.

`SimpleSpanProcessor` rather than `BatchSpanProcessor`: the simple processor does all of its work on the calling
thread inside `span.end()`, so everything a span costs the application is inside the timed loop, and nothing
runs concurrently. A `BatchSpanProcessor` would move the (here trivial) export to a worker thread that wakes up
on its own schedule and competes for the GIL on this 2-core machine, which adds noise without adding realism:
with a discarding exporter the only thing it would move off the hot path is a no-op call, and its on-path cost
(a lock plus a deque append) is of the same order as the simple processor's. Both instrumentations pay exactly
the same per span either way, so the comparison does not depend on this choice.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

__all__ = ["CONFIG_NAMES", "Configuration", "DiscardingSpanExporter", "Pipeline", "make_configurations"]

CONFIG_NAMES = ("bare", "ours", "openai-v2")
SPAN_PROCESSOR = "SimpleSpanProcessor"


class DiscardingSpanExporter(SpanExporter):  # type: ignore[misc]
    """Drops spans, keeping only a count and the last one: proof of life at the cost of an integer add."""

    def __init__(self) -> None:
        self.exported = 0
        self.last: ReadableSpan | None = None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        self.last = spans[-1]
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


@dataclass
class Pipeline:
    """A realistic OTel SDK set-up whose exporter costs nothing."""

    exporter: DiscardingSpanExporter = field(default_factory=DiscardingSpanExporter)
    metric_reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)
    tracer_provider: TracerProvider = field(init=False)
    meter_provider: MeterProvider = field(init=False)

    def __post_init__(self) -> None:
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader])

    def metric_names(self) -> set[str]:
        data = self.metric_reader.get_metrics_data()
        if data is None:
            return set()
        return {
            metric.name
            for resource_metrics in data.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        }


class Configuration:
    """One way of running the SDK; `activate()`/`deactivate()` bracket every timed batch."""

    def __init__(self, name: str, instrumentor: Any = None, pipeline: Pipeline | None = None, **extra: Any) -> None:
        self.name = name
        self.instrumentor = instrumentor
        self.pipeline = pipeline
        self.extra = extra

    @property
    def instrumented(self) -> bool:
        return self.instrumentor is not None

    @property
    def spans_exported(self) -> int:
        return self.pipeline.exporter.exported if self.pipeline is not None else 0

    def activate(self) -> None:
        if self.instrumentor is None or self.pipeline is None:
            return
        self.instrumentor.instrument(
            tracer_provider=self.pipeline.tracer_provider,
            meter_provider=self.pipeline.meter_provider,
            **self.extra,
        )
        if not self.instrumentor.is_instrumented_by_opentelemetry:
            raise RuntimeError(f"{self.name}: instrument() did not take effect")
        _join_price_warmers()

    def deactivate(self) -> None:
        if self.instrumentor is not None:
            self.instrumentor.uninstrument()


def _join_price_warmers() -> None:
    """Our `instrument()` warms the price book on a thread; wait for it so it never overlaps a timed batch."""
    for thread in threading.enumerate():
        if thread.name == "otel-tokenomics-prices":
            thread.join(timeout=30)


def make_configurations() -> list[Configuration]:
    """bare, ours, openai-v2, in that order; each instrumented one with its own, identical pipeline."""
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as PeerInstrumentor

    from otel_tokenomics.instrumentation.openai import OpenAIInstrumentor
    from otel_tokenomics.semconv.prices import PriceBook

    price_book = PriceBook.default()
    price_book.warm()  # load the catalog once, up front: the steady state of a running application
    # Settings pinned to the defaults a user gets, so a stray environment variable cannot change what is measured.
    ours = Configuration(
        "ours",
        OpenAIInstrumentor(),
        Pipeline(),
        price_book=price_book,
        provider_hosts={},
        capture_content=False,
        inject_stream_usage=False,
    )
    peer = Configuration("openai-v2", PeerInstrumentor(), Pipeline())
    for configuration in (ours, peer):  # both are BaseInstrumentor singletons: start from a clean state
        if configuration.instrumentor.is_instrumented_by_opentelemetry:
            configuration.instrumentor.uninstrument()
    return [Configuration("bare"), ours, peer]
