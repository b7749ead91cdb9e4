"""The metric instruments every adapter records into: one set per `MeterProvider`, under one meter scope.

Why shared rather than one set per adapter: the OpenTelemetry Prometheus exporter merges series of the same
metric name across instrumentation scopes using the label names of the first scope it meets, so per-SDK scopes
whose series carry different labels (one SDK saw an `error.type`, the other did not) got their label values
shifted onto the wrong labels. One scope also means one cost counter and one unpriced counter per process, the
way a dashboard expects to sum them. Spans keep their per-SDK tracer scope; only metrics are shared.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import Meter, MeterProvider

from otel_tokenomics.instrumentation.core.totals import RunningTotals
from otel_tokenomics.semconv import metrics as m

__all__ = ["METER_SCOPE", "MetricInstruments", "instruments_for"]

METER_SCOPE = "otel_tokenomics"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.41.1"


def _histogram(meter: Meter, name: str, unit: str, description: str, buckets: tuple[float, ...]) -> Any:
    try:
        return meter.create_histogram(
            name, unit=unit, description=description, explicit_bucket_boundaries_advisory=list(buckets)
        )
    except TypeError:  # opentelemetry-api older than 1.23 has no bucket advice
        return meter.create_histogram(name, unit=unit, description=description)


class MetricInstruments:
    """Histograms recorded per call, and the running totals behind the two observable counters."""

    def __init__(self, meter: Meter) -> None:
        self.duration = _histogram(
            meter, m.GEN_AI_CLIENT_OPERATION_DURATION, m.UNIT_SECONDS, "GenAI operation duration.", m.DURATION_BUCKETS
        )
        self.token_usage = _histogram(
            meter,
            m.GEN_AI_CLIENT_TOKEN_USAGE,
            m.UNIT_TOKEN,
            "Number of input and output tokens used.",
            m.TOKEN_BUCKETS,
        )
        self.time_to_first_chunk = _histogram(
            meter,
            m.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
            m.UNIT_SECONDS,
            "Time from the request to the first chunk of a streamed response.",
            m.DURATION_BUCKETS,
        )
        self.cost_histogram = _histogram(
            meter,
            m.GEN_AI_CLIENT_OPERATION_COST,
            m.UNIT_COST,
            "Cost of one GenAI operation, in the currency named by gen_ai.usage.cost.currency.",
            m.COST_BUCKETS,
        )
        # Monotonic totals: summed here, exported by observable counters (see totals.py for why).
        self.cost_totals = RunningTotals()
        self.unpriced_totals = RunningTotals()
        meter.create_observable_counter(
            m.TOKENOMICS_CLIENT_COST,
            callbacks=[self.cost_totals.observe],
            unit=m.UNIT_COST,
            description="Total cost of GenAI operations, in the currency named by gen_ai.usage.cost.currency.",
        )
        meter.create_observable_counter(
            m.TOKENOMICS_CLIENT_UNPRICED_CALLS,
            callbacks=[self.unpriced_totals.observe],
            unit=m.UNIT_CALL,
            description="GenAI operations that could not be priced, by tokenomics.cost.unpriced_reason.",
        )


_lock = threading.Lock()
_by_provider: weakref.WeakKeyDictionary[Any, MetricInstruments] = weakref.WeakKeyDictionary()
_unreferenceable: dict[int, tuple[Any, MetricInstruments]] = {}


def instruments_for(meter_provider: MeterProvider | None, version: str) -> MetricInstruments:
    """The instruments of `meter_provider` (None: the global one), created on first use."""
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    with _lock:
        try:
            found = _by_provider.get(provider)
        except TypeError:  # a provider that cannot be weakly referenced: keep it alive with its instruments
            held = _unreferenceable.get(id(provider))
            found = held[1] if held is not None and held[0] is provider else None
        if found is not None:
            return found
        instruments = MetricInstruments(provider.get_meter(METER_SCOPE, version, schema_url=SCHEMA_URL))
        try:
            _by_provider[provider] = instruments
        except TypeError:
            _unreferenceable[id(provider)] = (provider, instruments)
        return instruments
