"""Span exporters that write telemetry files our analysis tools (and the Collector's tooling) can read."""

from otel_tokenomics.exporters.otlp_json import (
    JsonLinesSpanExporter,
    encode_any_value,
    encode_attributes,
    encode_spans,
    encode_spans_json,
)

__all__ = [
    "JsonLinesSpanExporter",
    "encode_any_value",
    "encode_attributes",
    "encode_spans",
    "encode_spans_json",
]
