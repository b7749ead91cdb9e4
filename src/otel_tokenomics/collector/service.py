"""`Collector`: Rotel pricing every span, then the roll-up relay, then the upstream — started and stopped as one.

Order matters both ways. Starting: the relay (and its metrics pipeline) first, so Rotel's exporter has
somewhere to send from its first batch; Rotel last, and only if it comes up healthy. Stopping: Rotel first
(SIGTERM makes it flush its batches into the relay), then the relay (it releases every held trace and sends
it), then the metrics (the last histogram points).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otel_tokenomics.collector.file_upstream import FileUpstream, is_file_upstream
from otel_tokenomics.collector.relay import TraceRelay, UpstreamClient, otlp_base_url
from otel_tokenomics.collector.rotel import RotelAgent, RotelSettings, RotelStartError, processor_file
from otel_tokenomics.processor.rollup import DEFAULT_MAX_SPANS_PER_TRACE, DEFAULT_MAX_TRACES, DEFAULT_WAIT_SECONDS

__all__ = ["Collector", "CollectorOptions", "default_log_file"]

_SERVICE_NAME = "otel-tokenomics-collector"


def default_log_file(grpc_port: int) -> Path:
    return Path(tempfile.gettempdir()) / f"otel-tokenomics-rotel-{grpc_port}.log"


@dataclass
class CollectorOptions:
    """Everything `otel-tokenomics collector` takes (see its --help)."""

    upstream: str
    host: str = "127.0.0.1"
    grpc_port: int = 4317
    http_port: int = 4318
    rollup: bool = True
    rollup_wait_seconds: float = DEFAULT_WAIT_SECONDS
    max_traces: int = DEFAULT_MAX_TRACES
    max_spans_per_trace: int = DEFAULT_MAX_SPANS_PER_TRACE
    price_sheets: tuple[str, ...] = ()
    log_file: Path | None = None
    metrics_interval_seconds: float = 10.0
    stats_interval_seconds: float | None = None
    processor: Path | None = None  # None = the installed otel_tokenomics.processor.rotel_processor
    extra_environment: dict[str, str] = field(default_factory=dict)


class Collector:
    """The running pipeline; `start()` raises RotelStartError (or ValueError for bad options) and leaves
    nothing running behind."""

    def __init__(self, options: CollectorOptions) -> None:
        self.options = options
        self.to_file = is_file_upstream(options.upstream)
        if self.to_file and not options.rollup:
            raise ValueError("--upstream file:PATH needs the roll-up relay (Rotel itself cannot write files)")
        self.upstream_url = options.upstream.strip() if self.to_file else otlp_base_url(options.upstream)
        self.log_file = options.log_file or default_log_file(options.grpc_port)
        self.agent: RotelAgent | None = None
        self.relay: TraceRelay | None = None
        self._meter_provider: Any = None

    def start(self) -> Collector:
        options = self.options
        _check_price_sheets(options.price_sheets)
        export_to = self.upstream_url
        try:
            if options.rollup:
                upstream = FileUpstream(self.upstream_url) if self.to_file else UpstreamClient(self.upstream_url)
                self._start_metrics(upstream)
                self.relay = TraceRelay(
                    upstream,
                    rollup_wait_seconds=options.rollup_wait_seconds,
                    max_traces=options.max_traces,
                    max_spans_per_trace=options.max_spans_per_trace,
                    host="127.0.0.1",
                    record_trace_cost=self._trace_cost_recorder(),
                ).start()
                export_to = self.relay.endpoint
            self.agent = RotelAgent(
                RotelSettings(
                    host=options.host,
                    grpc_port=options.grpc_port,
                    http_port=options.http_port,
                    export_endpoint=export_to,
                    processor=options.processor or processor_file(),
                    log_file=self.log_file,
                    price_sheets=options.price_sheets,
                    stats_interval_seconds=options.stats_interval_seconds,
                    extra_environment=options.extra_environment,
                )
            ).start()
        except BaseException:
            self.stop()
            raise
        return self

    def alive(self) -> bool:
        return self.agent is not None and self.agent.alive()

    def wait(self, poll_seconds: float = 0.5) -> None:
        """Blocks while Rotel runs (KeyboardInterrupt ends it); RotelStartError if Rotel dies on its own."""
        while self.alive():
            time.sleep(poll_seconds)
        assert self.agent is not None and self.agent.process is not None
        raise RotelStartError(
            f"Rotel exited unexpectedly (exit status {self.agent.process.returncode}); log: {self.log_file}"
        )

    def stop(self) -> dict[str, int]:
        """Stops everything we started (Rotel by its PID), sends what is held; the relay's counters."""
        if self.agent is not None:
            self.agent.stop()
        summary: dict[str, int] = {}
        if self.relay is not None:
            self.relay.stop()
            stats = self.relay.stats
            summary = {
                "spans_received": stats.received_spans,
                "spans_forwarded": stats.forwarded_spans,
                "spans_dropped": stats.dropped_spans,
                "bad_requests": stats.bad_requests,
                **self.relay.rollup.stats.snapshot(),
            }
            self.relay = None
        if self._meter_provider is not None:
            self._meter_provider.shutdown()
            self._meter_provider = None
        return summary

    # --- metrics ------------------------------------------------------------------------------------------
    def _start_metrics(self, upstream: FileUpstream | UpstreamClient) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource

        exporter = (
            _upstream_metric_exporter(upstream)
            if isinstance(upstream, FileUpstream)
            else OTLPMetricExporter(endpoint=f"{self.upstream_url}/v1/metrics")
        )
        reader = PeriodicExportingMetricReader(
            exporter,
            export_interval_millis=self.options.metrics_interval_seconds * 1000,
        )
        self._meter_provider = MeterProvider(
            metric_readers=[reader], resource=Resource.create({"service.name": _SERVICE_NAME})
        )

    def _trace_cost_recorder(self) -> Any:
        from otel_tokenomics.semconv import attributes as attr
        from otel_tokenomics.semconv import metrics as names

        meter = self._meter_provider.get_meter("otel_tokenomics.collector")
        histogram = meter.create_histogram(
            names.TOKENOMICS_TRACE_COST,
            unit=names.UNIT_COST,
            description="Cost of each trace (priced calls only), in the currency of the point's attribute",
            explicit_bucket_boundaries_advisory=list(names.COST_BUCKETS),
        )

        def record(amount: float, currency: str) -> None:
            histogram.record(amount, {attr.GEN_AI_USAGE_COST_CURRENCY: currency})

        return record


def _check_price_sheets(sheets: tuple[str, ...]) -> None:
    """A bad sheet is reported here, naming the file, rather than as a dead agent."""
    if not sheets:
        return
    from otel_tokenomics.semconv.prices import PriceBook

    PriceBook(sheets)


def _upstream_metric_exporter(upstream: FileUpstream) -> Any:
    """A metric exporter that hands OTLP protobuf bodies to the file upstream (built lazily: SDK import)."""
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

    class UpstreamMetricExporter(MetricExporter):
        def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
            body = encode_metrics(metrics_data).SerializeToString()
            ok = upstream.submit("/v1/metrics", body)
            return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            pass

    return UpstreamMetricExporter()
