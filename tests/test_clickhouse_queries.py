"""The ClickHouse queries in collector-config/clickhouse/ give the report's answers, run on chDB (in-process).

The fixture spans are loaded into Rotel's `otel_traces` layout (attributes as Map(String, String), as the
exporter writes them), with each trace's root span carrying the per-trace roll-up the collector attaches
(`processor.rollup.TraceRollup`); each query's result is compared with `report` on the same spans, without
report-time pricing (SQL has no price book).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from otel_tokenomics.analysis.groups import UnpricedRecorder, group_key
from otel_tokenomics.analysis.otlp_reader import OtlpReader, SpanRecord
from otel_tokenomics.analysis.pricing import SpanPricer
from otel_tokenomics.analysis.report import aggregate, build_trace_report, call_cost
from otel_tokenomics.processor.enrich import SpanEnricher
from otel_tokenomics.processor.rollup import TraceRollup, TraceTotals

chdb_session = pytest.importorskip(
    "chdb.session", reason="chdb (dev extra) is not installed on this machine; CI installs it"
)

SQL = Path(__file__).parent.parent / "collector-config" / "clickhouse"
FIXTURES = [Path(__file__).parent / "data" / "otlp" / "cost_traces.jsonl"]
_STATUS = {0: "Unset", 1: "Ok", 2: "Error"}


def _text(value: Any) -> str:
    """How the exporter stores an attribute value in a Map(String, String)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple | list | dict):
        return json.dumps(value)
    return str(value)


def _with_rollup(records: list[SpanRecord]) -> list[SpanRecord]:
    """The records as the collector stores them: each trace's root span carries `tokenomics.trace.*`."""

    def attach(record: SpanRecord, totals: TraceTotals) -> SpanRecord:
        record.attributes = {**record.attributes, **totals.span_attributes()}
        return record

    rollup: TraceRollup[SpanRecord] = TraceRollup(attach, wait_seconds=3600)
    enricher = SpanEnricher()
    released = []
    for record in records:
        facts = enricher.enrich(record.attributes, start_time_unix_nano=record.start_ns)
        released += rollup.add(record, record.trace_id, facts, is_root=not record.parent_span_id)
    released += rollup.drain()
    return [span for trace in released for span in trace.spans]


def _row(record: SpanRecord) -> dict[str, Any]:
    seconds, nanos = divmod(record.start_ns, 1_000_000_000)
    return {
        "Timestamp": f"{seconds}.{nanos:09d}",
        "TraceId": record.trace_id,
        "SpanId": record.span_id,
        "ParentSpanId": record.parent_span_id or "",
        "SpanName": record.name,
        "SpanKind": str(record.kind),
        "ServiceName": str(record.resource.get("service.name", "")),
        "ResourceAttributes": {k: _text(v) for k, v in record.resource.items()},
        "ScopeName": record.scope_name,
        "SpanAttributes": {k: _text(v) for k, v in record.attributes.items()},
        "Duration": record.end_ns - record.start_ns,
        "StatusCode": _STATUS.get(record.status_code, "Unset"),
        "StatusMessage": record.status_message,
    }


@pytest.fixture(scope="module")
def store() -> Any:
    session = chdb_session.Session()
    session.query(SQL.joinpath("00_otel_traces_table.sql").read_text(encoding="utf-8"))
    session.query(SQL.joinpath("01_llm_calls_view.sql").read_text(encoding="utf-8"))
    rows = "\n".join(json.dumps(_row(record)) for record in _with_rollup(list(OtlpReader(FIXTURES))))
    session.query(f"INSERT INTO otel_traces FORMAT JSONEachRow {rows}")
    yield session
    session.close()


def _query(store: Any, name: str) -> list[dict[str, Any]]:
    text = SQL.joinpath(f"{name}.sql").read_text(encoding="utf-8")
    result = store.query(text, "JSONEachRow")
    body = result.bytes().decode("utf-8")
    return [json.loads(line, parse_float=Decimal) for line in body.splitlines() if line]


def _cost(value: dict[str, Decimal]) -> dict[str, Decimal]:
    return {currency: Decimal(str(amount)).normalize() for currency, amount in value.items()}


@pytest.mark.parametrize("by", ["user", "session", "service", "provider", "model", "operation", "day"])
def test_group_queries_match_the_report(store: Any, by: str) -> None:
    expected = aggregate(OtlpReader(FIXTURES), group_key(by), cost=call_cost)
    rows = {row[by]: row for row in _query(store, f"cost_by_{by}")}
    assert set(rows) == set(expected)
    for name, totals in expected.items():
        row = rows[name]
        assert (row["llm_calls"], row["input_tokens"], row["output_tokens"]) == (
            totals.llm_calls,
            totals.input_tokens,
            totals.output_tokens,
        ), name
        assert _cost(row["cost"]) == {c: a.normalize() for c, a in totals.cost.items()}, name
        assert (row["unpriced_calls"], row["failed_calls"]) == (totals.unpriced_calls, totals.failed_calls), name


def test_trace_query_matches_the_report(store: Any) -> None:
    report = build_trace_report(OtlpReader(FIXTURES))
    rows = _query(store, "cost_by_trace")
    assert [row["trace_id"] for row in rows] == [t.trace_id for t in report.top(10) if t.totals.llm_calls]
    for row, trace in zip(rows, report.traces, strict=False):
        assert (row["root_span"], bool(row["root_missing"])) == (trace.root_name, trace.root_missing)
        assert Decimal(row["duration_seconds"]) == Decimal(trace.duration_ns) / Decimal(10**9)
        assert (row["llm_calls"], row["unpriced_calls"]) == (trace.totals.llm_calls, trace.totals.unpriced_calls)
        assert _cost(row["cost"]) == {c: a.normalize() for c, a in trace.totals.cost.items()}


def test_unpriced_queries_match_the_report(store: Any) -> None:
    recorder = UnpricedRecorder()
    aggregate(OtlpReader(FIXTURES), group_key("model"), cost=recorder.wrap(call_cost))
    rows = _query(store, "unpriced_calls")
    assert sorted((r["span_id"], r["model"], r["reason"]) for r in rows) == sorted(
        (c.span_id, c.model, c.reason) for c in recorder.calls
    )
    summary = {(r["provider"], r["model"], r["reason"]): r["calls"] for r in _query(store, "unpriced_by_reason")}
    assert summary == recorder.counts


def test_rollup_query_gives_each_traces_totals_from_its_root_span(store: Any) -> None:
    """The collector's roll-up read from root spans alone equals the report's per-trace totals (with the report
    pricing what the spans lack, as the collector did before rolling up)."""
    traces = build_trace_report(OtlpReader(FIXTURES), cost=SpanPricer()).traces
    report = {trace.trace_id: trace for trace in traces}
    rows = _query(store, "cost_by_trace_rollup")
    assert {row["trace_id"] for row in rows} == {t for t, trace in report.items() if trace.totals.llm_calls}
    for row in rows:
        trace = report[row["trace_id"]]
        assert (row["root_span"], row["llm_calls"], row["unpriced_calls"]) == (
            trace.root_name,
            trace.totals.llm_calls,
            trace.totals.unpriced_calls,
        )
        assert (row["input_tokens"], row["output_tokens"]) == (trace.totals.input_tokens, trace.totals.output_tokens)
        if len(trace.totals.cost) == 1:
            ((currency, amount),) = trace.totals.cost.items()
            assert row["currency"] == currency
            assert Decimal(str(row["cost"])) == pytest.approx(amount, abs=Decimal("1e-12"))
        else:
            assert row["cost"] is None and json.loads(row["currency"]) == sorted(trace.totals.cost)
