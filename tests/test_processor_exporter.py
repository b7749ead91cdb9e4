"""CostEnrichingSpanExporter end to end: a real TracerProvider, spans written with OpenLLMetry / OpenInference
attributes, an InMemorySpanExporter as the wrapped exporter, metrics through an InMemoryMetricReader."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanKind, Status, StatusCode, set_span_in_context
from test_processor_dialects import OPENINFERENCE_ANTHROPIC, OPENLLMETRY_04_ANTHROPIC, OPENLLMETRY_WORKFLOW

from otel_tokenomics.processor import CostEnrichingSpanExporter
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.prices import PriceBook

MTOK = 1_000_000


class Setup:
    def __init__(self, **options: Any) -> None:
        self.inner = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.book = PriceBook()
        self.exporter = CostEnrichingSpanExporter(
            self.inner, price_book=self.book, meter_provider=self.meter_provider, **options
        )
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.tracer_provider.get_tracer("app")

    def exported(self) -> dict[str, ReadableSpan]:
        return {span.name: span for span in self.inner.get_finished_spans()}

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        return [
            point
            for resource_metrics in (data.resource_metrics if data else ())
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def close(self) -> None:
        self.tracer_provider.shutdown()


@pytest.fixture
def setup() -> Iterator[Setup]:
    made = Setup()
    yield made
    made.close()


def anthropic_cost(book: PriceBook) -> float:
    """100 uncached + 2000 cache-read + 500 cache-write input tokens, 300 output, at the catalog's rates."""
    record = book.resolve("anthropic", "claude-3-5-sonnet-20241022")
    assert record is not None
    rate = {name: float(value) for name, value in record.rates().items()}
    return (100 * rate["input"] + 2000 * rate["cache_read"] + 500 * rate["cache_write"] + 300 * rate["output"]) / MTOK


def test_spans_of_other_instrumentations_get_costs_on_export(setup: Setup) -> None:
    tracer = setup.tracer
    with (
        tracer.start_as_current_span("POST /ask", kind=SpanKind.SERVER),
        tracer.start_as_current_span("rag.workflow", attributes=OPENLLMETRY_WORKFLOW),
    ):
        with tracer.start_as_current_span("anthropic.chat", kind=SpanKind.CLIENT) as span:
            span.set_attributes(OPENLLMETRY_04_ANTHROPIC)
            span.add_event("gen_ai.choice", {"index": 0})
            span.set_status(Status(StatusCode.OK))
        with tracer.start_as_current_span("ChatAnthropic", attributes=OPENINFERENCE_ANTHROPIC):
            pass
    spans = setup.exported()
    expected = anthropic_cost(setup.book)
    for name in ("anthropic.chat", "ChatAnthropic"):
        attributes = spans[name].attributes or {}
        assert attributes[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-9), name
        assert attributes[attr.GEN_AI_USAGE_COST_CURRENCY] == "USD"
        assert attributes[attr.TOKENOMICS_COST_STATUS] == "priced"
    chat = spans["anthropic.chat"]
    # Everything else passes through: original attributes, events, status, kind, context, parent.
    assert chat.attributes["llm.usage.total_tokens"] == 2900
    assert [event.name for event in chat.events] == ["gen_ai.choice"]
    assert chat.status.status_code is StatusCode.OK
    assert chat.kind is SpanKind.CLIENT
    assert chat.parent is not None and chat.parent.span_id == spans["rag.workflow"].context.span_id
    assert chat.context.trace_id == spans["POST /ask"].context.trace_id
    # Aggregates and plain spans get nothing.
    assert attr.GEN_AI_USAGE_COST_AMOUNT not in (spans["rag.workflow"].attributes or {})
    assert attr.TOKENOMICS_COST_STATUS not in (spans["POST /ask"].attributes or {})


def test_untouched_spans_are_passed_as_the_same_objects() -> None:
    inner = InMemorySpanExporter()
    exporter = CostEnrichingSpanExporter(inner, price_book=PriceBook())
    provider = TracerProvider()
    captured: list[ReadableSpan] = []

    class Capture(SimpleSpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            captured.append(span)
            super().on_end(span)

    provider.add_span_processor(Capture(exporter))
    with provider.get_tracer("app").start_as_current_span("GET /health", attributes={"http.route": "/health"}):
        pass
    assert inner.get_finished_spans()[0] is captured[0]
    provider.shutdown()


def test_self_telemetry_counts_spans_by_outcome(setup: Setup) -> None:
    with setup.tracer.start_as_current_span("GET /", attributes={"http.route": "/"}):
        with setup.tracer.start_as_current_span("llm", attributes=OPENINFERENCE_ANTHROPIC):
            pass
        with setup.tracer.start_as_current_span(
            "bad", attributes={**OPENINFERENCE_ANTHROPIC, "llm.token_count.prompt": "many"}
        ):
            pass
    counts = {
        (
            point.attributes["tokenomics.processor.outcome"],
            point.attributes.get("tokenomics.processor.reason"),
        ): point.value
        for point in setup.points("tokenomics.processor.spans")
    }
    assert counts == {("skipped", "not_genai"): 1, ("priced", None): 1, ("unpriced", "invalid_usage"): 1}


def test_an_error_of_ours_exports_the_original_spans(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug")

    setup.exporter.enricher.enrich = broken  # type: ignore[method-assign]
    with setup.tracer.start_as_current_span("llm", attributes=OPENINFERENCE_ANTHROPIC):
        pass
    with setup.tracer.start_as_current_span("llm-2", attributes=OPENINFERENCE_ANTHROPIC):
        pass
    spans = setup.exported()
    assert set(spans) == {"llm", "llm-2"}
    assert attr.GEN_AI_USAGE_COST_AMOUNT not in (spans["llm"].attributes or {})
    assert sum("cost exporter failed" in record.getMessage() for record in caplog.records) == 1  # logged once


def test_rollup_puts_trace_totals_on_the_root_and_records_the_trace_cost() -> None:
    setup = Setup(rollup=True, rollup_wait_seconds=60)
    try:
        tracer = setup.tracer
        with (
            tracer.start_as_current_span("POST /ask"),
            tracer.start_as_current_span("agent", attributes=OPENLLMETRY_WORKFLOW),
        ):
            with tracer.start_as_current_span("call-1", attributes=OPENLLMETRY_04_ANTHROPIC):
                pass
            with tracer.start_as_current_span("call-2", attributes=OPENINFERENCE_ANTHROPIC):
                pass
        assert setup.inner.get_finished_spans() == ()  # held for the wait
        assert setup.exporter.force_flush()
        spans = setup.exported()
        assert set(spans) == {"POST /ask", "agent", "call-1", "call-2"}
        root = spans["POST /ask"].attributes or {}
        expected = 2 * anthropic_cost(setup.book)
        assert root[attr.TOKENOMICS_TRACE_COST_AMOUNT] == pytest.approx(expected, rel=1e-9)
        assert root[attr.TOKENOMICS_TRACE_COST_CURRENCY] == "USD"
        assert root[attr.TOKENOMICS_TRACE_LLM_CALLS] == 2
        assert root[attr.TOKENOMICS_TRACE_INPUT_TOKENS] == 2 * 2600
        assert root[attr.TOKENOMICS_TRACE_OUTPUT_TOKENS] == 2 * 300
        assert root[attr.TOKENOMICS_TRACE_SPANS] == 4
        (point,) = setup.points("tokenomics.trace.cost")
        assert point.count == 1
        assert point.sum == pytest.approx(expected, rel=1e-9)
        assert point.attributes == {attr.GEN_AI_USAGE_COST_CURRENCY: "USD"}
    finally:
        setup.close()


def test_rollup_background_thread_releases_traces_after_the_wait() -> None:
    setup = Setup(rollup=True, rollup_wait_seconds=0.05)
    try:
        tracer = setup.tracer
        with (
            tracer.start_as_current_span("root"),
            tracer.start_as_current_span("call", attributes=OPENINFERENCE_ANTHROPIC),
        ):
            pass
        deadline = time.monotonic() + 10  # a generous bound on a loaded machine, not a timing assertion
        while len(setup.inner.get_finished_spans()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        spans = setup.exported()
        assert (spans["root"].attributes or {})[attr.TOKENOMICS_TRACE_LLM_CALLS] == 1
        # A span of the same trace exported after the release is passed on at once, priced, and counted.
        late_parent = spans["root"].context
        with setup.tracer.start_as_current_span(
            "late", context=set_span_in_context(NonRecordingSpan(late_parent)), attributes=OPENINFERENCE_ANTHROPIC
        ):
            pass
        late = setup.exported()["late"]
        assert (late.attributes or {})[attr.TOKENOMICS_COST_STATUS] == "priced"
        assert setup.exporter.rollup is not None and setup.exporter.rollup.stats.late_spans == 1
        (late_point,) = setup.points("tokenomics.processor.late_spans")
        assert late_point.value == 1
    finally:
        setup.close()


def test_shutdown_drains_held_traces_and_shuts_the_inner_exporter_down() -> None:
    setup = Setup(rollup=True, rollup_wait_seconds=60)
    with setup.tracer.start_as_current_span("root", attributes=OPENINFERENCE_ANTHROPIC):
        pass
    setup.tracer_provider.shutdown()
    assert [span.name for span in setup.inner.get_finished_spans()] == ["root"]
    assert setup.inner._stopped  # the wrapped exporter was shut down too
