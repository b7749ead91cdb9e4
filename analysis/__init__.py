"""Offline analysis of exported telemetry: read OTLP/JSON trace files and turn spans into cost reports.

Nothing here needs a running Collector or backend: point it at the files the Collector `file` exporter (or
our `JsonLinesSpanExporter`) wrote.
"""

from otel_tokenomics.analysis.filters import SpanFilter
from otel_tokenomics.analysis.groups import GROUP_BYS, UnpricedRecorder, group_key
from otel_tokenomics.analysis.otlp_reader import (
    OtlpReader,
    ReadProblem,
    ReadStats,
    SpanRecord,
    decode_any_value,
    read_spans,
)
from otel_tokenomics.analysis.pricing import SpanPricer
from otel_tokenomics.analysis.render import (
    FORMATS,
    format_cost,
    render,
    render_csv,
    render_json,
    render_table,
)
from otel_tokenomics.analysis.report import (
    LLM_OPERATIONS,
    CallCost,
    CostTotals,
    TraceReport,
    TraceSummary,
    aggregate,
    build_trace_report,
    call_cost,
)

__all__ = [
    "FORMATS",
    "GROUP_BYS",
    "LLM_OPERATIONS",
    "CallCost",
    "CostTotals",
    "OtlpReader",
    "ReadProblem",
    "ReadStats",
    "SpanFilter",
    "SpanPricer",
    "SpanRecord",
    "TraceReport",
    "TraceSummary",
    "UnpricedRecorder",
    "aggregate",
    "build_trace_report",
    "call_cost",
    "decode_any_value",
    "format_cost",
    "group_key",
    "read_spans",
    "render",
    "render_csv",
    "render_json",
    "render_table",
]
