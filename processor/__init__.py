"""Price spans from any instrumentation: OTel GenAI conventions (old and new), OpenLLMetry, OpenInference,
OpenLIT, Logfire, Vercel AI SDK and our own.

* `SpanEnricher.enrich(attributes)` — one span in, the cost attributes to add out (pure, never raises);
* `dialects` — the explicit mapping table (dialect → keys and token semantics), pure data;
* `TraceRollup` — holds spans per trace for a while and puts the trace's totals on its root span;
* `CostEnrichingSpanExporter(inner)` — the in-app host: wraps any SDK `SpanExporter`.
"""

from otel_tokenomics.processor.dialects import (
    DIALECTS,
    Dialect,
    NormalizedCall,
    detect,
    looks_like_genai,
    normalize,
)
from otel_tokenomics.processor.enrich import Enrichment, SpanEnricher
from otel_tokenomics.processor.exporter import CostEnrichingSpanExporter
from otel_tokenomics.processor.rollup import ReleasedTrace, RollupStats, TraceRollup, TraceTotals
from otel_tokenomics.processor.stats import EnrichmentStats, SkipReason

__all__ = [
    "DIALECTS",
    "CostEnrichingSpanExporter",
    "Dialect",
    "Enrichment",
    "EnrichmentStats",
    "NormalizedCall",
    "ReleasedTrace",
    "RollupStats",
    "SkipReason",
    "SpanEnricher",
    "TraceRollup",
    "TraceTotals",
    "detect",
    "looks_like_genai",
    "normalize",
]
