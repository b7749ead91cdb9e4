"""`CostEnrichingSpanExporter`: costs on export, in the app, whatever instrumentation made the spans.

Wrap the exporter you already use; every GenAI span (OpenLLMetry, OpenInference, OpenLIT, Logfire, the OTel
conventions, ...) gets `gen_ai.usage.cost.*` and the `tokenomics.*` breakdown before it leaves the process,
no collector needed::

    from otel_tokenomics.processor import CostEnrichingSpanExporter
    provider.add_span_processor(BatchSpanProcessor(CostEnrichingSpanExporter(OTLPSpanExporter())))

SDK spans are immutable once ended, so a priced span is re-created as a new `ReadableSpan` with the merged
attributes (everything else — context, events, links, status, resource, scope, dropped counts — is passed
through as is); spans with nothing to add are passed on untouched. Nothing of ours can fail an export: an
error is logged once and the original span is exported.

With `rollup=True` spans are held per trace for `rollup_wait_seconds` (see `rollup.py`), then the trace's root
span carries `tokenomics.trace.*` and the trace cost is recorded on the histogram `tokenomics.trace.cost`; a
background thread releases traces as their wait elapses, and `force_flush()`/`shutdown()` release the rest.
Self-telemetry: the ObservableCounters `tokenomics.processor.spans` (by outcome and reason) and, with the
roll-up, `tokenomics.processor.traces` (released/evicted) and `tokenomics.processor.late_spans`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_tokenomics.processor.enrich import Enrichment, SpanEnricher
from otel_tokenomics.processor.rollup import (
    DEFAULT_MAX_SPANS_PER_TRACE,
    DEFAULT_MAX_TRACES,
    DEFAULT_WAIT_SECONDS,
    ReleasedTrace,
    TraceRollup,
    TraceTotals,
)
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv import metrics as m
from otel_tokenomics.semconv.prices import PriceBook

__all__ = ["CostEnrichingSpanExporter", "with_attributes"]

_logger = logging.getLogger("otel_tokenomics.processor")
_SCOPE = "otel_tokenomics.processor"
_POLL_SECONDS_MAX = 1.0


def with_attributes(span: ReadableSpan, extra: dict[str, Any]) -> ReadableSpan:
    """A copy of an ended SDK span with `extra` merged into its attributes (the original stays as it was)."""
    merged = dict(span.attributes or {})
    merged.update(extra)
    attributes = BoundedAttributes(None, merged, True)
    attributes.dropped = span.dropped_attributes
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=getattr(span, "_events", span.events),  # the private lists keep their dropped counts
        links=getattr(span, "_links", span.links),
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _attach_totals(span: ReadableSpan, totals: TraceTotals) -> ReadableSpan:
    return with_attributes(span, totals.span_attributes())


class CostEnrichingSpanExporter(SpanExporter):
    """Prices GenAI spans of any instrumentation, then hands every span to `inner` (see the module doc)."""

    def __init__(
        self,
        inner: SpanExporter,
        *,
        price_book: PriceBook | None = None,
        rollup: bool = False,
        rollup_wait_seconds: float = DEFAULT_WAIT_SECONDS,
        max_traces: int = DEFAULT_MAX_TRACES,
        max_spans_per_trace: int = DEFAULT_MAX_SPANS_PER_TRACE,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.inner = inner
        self.enricher = SpanEnricher(price_book)
        self._enrich_lock = threading.Lock()  # the enricher's counters are single-threaded
        self._export_lock = threading.Lock()  # inner exporters need not be thread-safe
        self._logged_error = False
        self._shutdown = False
        self.rollup: TraceRollup[ReadableSpan] | None = None
        meter = get_meter(_SCOPE, None, meter_provider)
        meter.create_observable_counter(
            m.TOKENOMICS_PROCESSOR_SPANS,
            callbacks=[self._observe_spans],
            unit=m.UNIT_SPAN,
            description="Spans seen by the cost processor, by tokenomics.processor.outcome and reason.",
        )
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        if rollup:
            self.rollup = TraceRollup(
                _attach_totals,
                wait_seconds=rollup_wait_seconds,
                max_traces=max_traces,
                max_spans_per_trace=max_spans_per_trace,
            )
            self._trace_cost = _cost_histogram(meter)
            meter.create_observable_counter(
                m.TOKENOMICS_PROCESSOR_TRACES,
                callbacks=[self._observe_traces],
                unit=m.UNIT_TRACE,
                description="Traces released by the cost roll-up, by tokenomics.processor.outcome.",
            )
            meter.create_observable_counter(
                m.TOKENOMICS_PROCESSOR_LATE_SPANS,
                callbacks=[self._observe_late],
                unit=m.UNIT_SPAN,
                description="Spans that arrived after their trace's roll-up was released (passed on, not lost).",
            )
            self._poll_seconds = min(max(rollup_wait_seconds / 4, 0.01), _POLL_SECONDS_MAX)
            self._thread = threading.Thread(target=self._release_loop, name="tokenomics-rollup", daemon=True)
            self._thread.start()

    # --- SpanExporter ------------------------------------------------------------------------------------
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            with self._enrich_lock:
                verdicts = [self._enrich(span) for span in spans]
            if self.rollup is None or self._shutdown:  # nothing may be held once the timer has stopped
                return self._export([span for span, _ in verdicts])
            return self._export(self._hold(verdicts))
        except Exception:
            self._log_error("export")
            return self._export(list(spans))

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._release(self.rollup.drain() if self.rollup is not None else [])
        return self.inner.force_flush(timeout_millis)

    def shutdown(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        if self._thread is not None:
            self._wake.set()
            self._thread.join(timeout=5)
        self._release(self.rollup.drain() if self.rollup is not None else [])
        self.inner.shutdown()

    # --- internals ---------------------------------------------------------------------------------------
    def _enrich(self, span: ReadableSpan) -> tuple[ReadableSpan, Enrichment | None]:
        try:
            enrichment = self.enricher.enrich(
                span.attributes or {},
                name=span.name,
                kind=span.kind.value,
                start_time_unix_nano=span.start_time or 0,
            )
            if enrichment.attributes:
                return with_attributes(span, enrichment.attributes), enrichment
            return span, enrichment
        except Exception:
            self._log_error("span copy")
            return span, None

    def _hold(self, verdicts: list[tuple[ReadableSpan, Enrichment | None]]) -> list[ReadableSpan]:
        rollup = self.rollup
        assert rollup is not None
        ready: list[ReadableSpan] = []
        released: list[ReleasedTrace[ReadableSpan]] = []
        for span, enrichment in verdicts:
            context = span.context
            if enrichment is None or context is None:
                ready.append(span)
                continue
            released.extend(
                rollup.add(
                    span,
                    context.trace_id,
                    enrichment,
                    is_root=span.parent is None,
                    start_time_unix_nano=span.start_time or 0,
                )
            )
        ready.extend(self._collect(released))
        return ready

    def _collect(self, released: list[ReleasedTrace[ReadableSpan]]) -> list[ReadableSpan]:
        spans: list[ReadableSpan] = []
        for trace in released:
            spans.extend(trace.spans)
            totals = trace.totals
            if totals is not None:
                for currency, amount in totals.amounts.items():
                    self._trace_cost.record(amount, {attr.GEN_AI_USAGE_COST_CURRENCY: currency})
        return spans

    def _release(self, released: list[ReleasedTrace[ReadableSpan]]) -> None:
        try:
            spans = self._collect(released)
        except Exception:
            self._log_error("trace release")
            spans = [span for trace in released for span in trace.spans]
        if spans:
            self._export(spans)

    def _release_loop(self) -> None:
        rollup = self.rollup
        assert rollup is not None
        while not self._wake.wait(self._poll_seconds):
            try:
                self._release(rollup.poll())
            except Exception:
                self._log_error("roll-up timer")

    def _export(self, spans: list[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        with self._export_lock:
            return self.inner.export(spans)

    def _log_error(self, where: str) -> None:
        if not self._logged_error:
            self._logged_error = True
            _logger.warning("otel-tokenomics cost exporter failed (%s); spans exported unchanged", where, exc_info=True)

    def _observe_spans(self, options: CallbackOptions) -> list[Observation]:
        return [Observation(value, labels) for value, labels in self.enricher.stats.observations()]

    def _observe_traces(self, options: CallbackOptions) -> list[Observation]:
        stats = self.rollup.stats if self.rollup is not None else None
        if stats is None:
            return []
        outcome = attr.TOKENOMICS_PROCESSOR_OUTCOME
        return [
            Observation(stats.released_traces - stats.evicted_traces, {outcome: "released"}),
            Observation(stats.evicted_traces, {outcome: "evicted"}),
        ]

    def _observe_late(self, options: CallbackOptions) -> list[Observation]:
        return [Observation(self.rollup.stats.late_spans if self.rollup is not None else 0)]


def _cost_histogram(meter: Any) -> Any:
    description = "Cost of one trace (sum over its LLM calls), in the currency named by gen_ai.usage.cost.currency."
    try:
        return meter.create_histogram(
            m.TOKENOMICS_TRACE_COST,
            unit=m.UNIT_COST,
            description=description,
            explicit_bucket_boundaries_advisory=list(m.COST_BUCKETS),
        )
    except TypeError:  # opentelemetry-api older than 1.23 has no bucket advice
        return meter.create_histogram(m.TOKENOMICS_TRACE_COST, unit=m.UNIT_COST, description=description)
