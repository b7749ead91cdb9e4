"""Shared fixtures: in-memory OTel pipelines, the fake provider, an instrumented OpenAI SDK."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

# Shared conformance checks live in a helper module: let pytest show their assertion diffs too.
pytest.register_assert_rewrite("conformance_support")


@dataclass
class Pipeline:
    """What an OTel backend would receive from the process."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def genai_spans(self) -> list[ReadableSpan]:
        return [span for span in self.spans() if (span.attributes or {}).get("gen_ai.operation.name")]

    def metric_points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        points: list[Any] = []
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points

    def metric(self, name: str) -> Any:
        data = self.reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        return metric
        return None


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Pipeline(exporter, reader, tracer_provider, meter_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture(scope="session")
def fake() -> Iterator[Any]:
    """One fake provider server on loopback for the whole run."""
    from otel_tokenomics.fake_provider import FakeProvider

    with FakeProvider() as server:
        yield server


@pytest.fixture(scope="session")
def price_book() -> Any:
    from otel_tokenomics.semconv.prices import PriceBook

    return PriceBook()


@pytest.fixture
def instrument_openai(pipeline: Pipeline, price_book: Any) -> Iterator[Any]:
    """A callable instrumenting the openai SDK into `pipeline`; always uninstrumented afterwards.

    The fake provider listens on 127.0.0.1, which is self-hosted by default; the tests map it to `openai` so
    its calls are priced from the catalog, as a user would with OTEL_TOKENOMICS_PROVIDER_HOSTS.
    """
    from otel_tokenomics.instrumentation.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()

    def instrument(**options: Any) -> OpenAIInstrumentor:
        options.setdefault("provider_hosts", {"127.0.0.1": "openai"})
        options.setdefault("price_book", price_book)
        instrumentor.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, **options
        )
        return instrumentor

    yield instrument
    instrumentor.uninstrument()
