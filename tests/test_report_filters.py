"""`report` filters, group-bys, unpriced listing and report-time pricing, with hand-computed totals.

The fixture is five LLM calls in three traces, written below as OTLP JSON lines; every expected figure is
summed by hand from the table in `_CALLS`.
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path

import pytest

from otel_tokenomics.analysis.filters import SpanFilter, add_filter_arguments, parse_time
from otel_tokenomics.analysis.groups import UnpricedRecorder, group_key
from otel_tokenomics.analysis.otlp_reader import OtlpReader
from otel_tokenomics.analysis.pricing import SpanPricer
from otel_tokenomics.analysis.report import aggregate, build_trace_report, call_cost
from otel_tokenomics.cli import main
from otel_tokenomics.semconv.prices import PriceBook

T1, T2, T3 = "1" * 32, "2" * 32, "3" * 32
NS = 1_000_000_000
DAY1 = 1_763_892_000 * NS  # 2025-11-23T10:00:00Z
DAY2 = DAY1 + 23 * 3600 * NS  # 2025-11-24T09:00:00Z
DAY3 = DAY1 + 2 * 86400 * NS + 2 * 3600 * NS  # 2025-11-25T12:00:00Z

# (trace, span, start, op, provider, model, extra attributes, input, output, cost or None)
_CALLS = [
    (T1, "1000000000000002", DAY1 + NS // 10, "chat", "openai", "gpt-4o",
     {"user.id": "alice", "gen_ai.conversation.id": "conv-1"}, 100, 10, 0.001),
    (T1, "1000000000000003", DAY1 + NS, "chat", "anthropic", "claude-sonnet-4",
     {"enduser.id": "bob", "session.id": "s-9"}, 200, 20, 0.004),
    (T2, "2000000000000002", DAY2 + NS // 10, "embeddings", "openai", "text-embedding-3-small",
     {"user.id": "alice"}, 1000, 0, 0.00002),
    (T2, "2000000000000003", DAY2 + NS // 2, "chat", "acme", "acme-1",
     {"user.id": "alice", "tokenomics.cost.status": "unpriced", "tokenomics.cost.unpriced_reason": "unknown_model"},
     50, 5, None),
    (T3, "3000000000000002", DAY3 + NS // 10, "chat", "openai", "gpt-4o-mini", {"team": "blue"}, 300, 30, 0.0003),
]  # fmt: skip
_ROOTS = [
    (T1, "1000000000000001", DAY1, 2 * NS, "POST /buy", "shop"),
    (T2, "2000000000000001", DAY2, NS, "GET /q", "search"),
    (T3, "3000000000000001", DAY3, 3 * NS, "nightly", "shop"),
]


def _value(value: object) -> dict[str, object]:
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value}


def _span(trace: str, span: str, parent: str | None, name: str, start: int, end: int, attrs: dict) -> dict:
    body = {
        "traceId": trace,
        "spanId": span,
        "name": name,
        "kind": 3 if parent else 2,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": [{"key": k, "value": _value(v)} for k, v in attrs.items()],
        "status": {},
    }
    if parent:
        body["parentSpanId"] = parent
    return body


def _line(service: str, spans: list[dict], environment: str | None = None) -> str:
    resource = [{"key": "service.name", "value": {"stringValue": service}}]
    if environment:
        resource.append({"key": "deployment.environment.name", "value": {"stringValue": environment}})
    request = {"resourceSpans": [{"resource": {"attributes": resource}, "scopeSpans": [{"scope": {}, "spans": spans}]}]}
    return json.dumps(request)


def _call_span(call: tuple) -> dict:
    trace, span, start, operation, provider, model, extra, tokens_in, tokens_out, cost = call
    attrs = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": provider,
        "gen_ai.response.model": model,
        "gen_ai.usage.input_tokens": tokens_in,
        "gen_ai.usage.output_tokens": tokens_out,
        **extra,
    }
    if cost is not None:
        attrs.update({"gen_ai.usage.cost.amount": cost, "gen_ai.usage.cost.currency": "USD"})
    return _span(trace, span, trace[0] * 15 + "1", f"{operation} {model}", start, start + NS // 10, attrs)


@pytest.fixture(scope="module")
def spans_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("filters") / "spans.jsonl"
    lines = []
    for trace, span, start, duration, name, service in _ROOTS:
        children = [_call_span(call) for call in _CALLS if call[0] == trace]
        root = _span(trace, span, None, name, start, start + duration, {"http.route": "/x"})
        lines.append(_line(service, [*children, root], environment="prod" if service == "search" else None))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _groups(path: Path, by: str, span_filter: SpanFilter | None = None) -> dict:
    reader = OtlpReader(path, log_problems=False, llm_attributes_only=True)
    return aggregate(reader, group_key(by), include=span_filter or None)


def _summary(groups: dict) -> dict:
    return {
        name: (t.llm_calls, t.input_tokens, t.output_tokens, t.cost.get("USD"), t.unpriced_calls)
        for name, t in groups.items()
    }


D = Decimal


# --- group-bys --------------------------------------------------------------------------------------------
def test_group_by_user_reads_user_id_then_enduser_id(spans_file: Path) -> None:
    assert _summary(_groups(spans_file, "user")) == {
        "alice": (3, 1150, 15, D("0.00102"), 1),
        "bob": (1, 200, 20, D("0.004"), 0),
        "(none)": (1, 300, 30, D("0.0003"), 0),
    }


def test_group_by_session_reads_conversation_id_then_session_id(spans_file: Path) -> None:
    assert _summary(_groups(spans_file, "session")) == {
        "conv-1": (1, 100, 10, D("0.001"), 0),
        "s-9": (1, 200, 20, D("0.004"), 0),
        "(none)": (3, 1350, 35, D("0.00032"), 1),
    }


def test_group_by_service_provider_model_operation(spans_file: Path) -> None:
    assert _summary(_groups(spans_file, "service")) == {
        "shop": (3, 600, 60, D("0.0053"), 0),
        "search": (2, 1050, 5, D("0.00002"), 1),
    }
    assert _summary(_groups(spans_file, "provider")) == {
        "openai": (3, 1400, 40, D("0.00132"), 0),
        "anthropic": (1, 200, 20, D("0.004"), 0),
        "acme": (1, 50, 5, None, 1),
    }
    models = _summary(_groups(spans_file, "model"))
    assert models["gpt-4o"] == (1, 100, 10, D("0.001"), 0)
    assert models["gpt-4o-mini"] == (1, 300, 30, D("0.0003"), 0)
    assert len(models) == 5
    assert _summary(_groups(spans_file, "operation")) == {
        "chat": (4, 650, 65, D("0.0053"), 1),
        "embeddings": (1, 1000, 0, D("0.00002"), 0),
    }


def test_group_by_day_is_utc(spans_file: Path) -> None:
    assert _summary(_groups(spans_file, "day")) == {
        "2025-11-23": (2, 300, 30, D("0.005"), 0),
        "2025-11-24": (2, 1050, 5, D("0.00002"), 1),
        "2025-11-25": (1, 300, 30, D("0.0003"), 0),
    }


# --- filters ----------------------------------------------------------------------------------------------
def _selected(path: Path, **conditions: object) -> list[str]:
    """Span ids of the calls a filter keeps, in file order."""
    span_filter = SpanFilter(**conditions)  # type: ignore[arg-type]
    return [r.span_id[0] + r.span_id[-1] for r in OtlpReader(path) if call_cost(r) and span_filter.matches(r)]


def test_time_filters(spans_file: Path) -> None:
    assert _selected(spans_file, since_ns=parse_time("2025-11-24")) == ["22", "23", "32"]
    assert _selected(spans_file, until_ns=parse_time("2025-11-24")) == ["12", "13"]
    window = {"since_ns": parse_time("2025-11-23T10:00:00.5Z"), "until_ns": parse_time("2025-11-24T00:00:00+00:00")}
    assert _selected(spans_file, **window) == ["13"]
    # A naive date-time is UTC; an offset is honoured.
    assert parse_time("2025-11-23T11:00:00") == parse_time("2025-11-23T12:00:00+01:00") == DAY1 + 3600 * NS


def test_relative_times_count_back_from_now() -> None:
    now = 1_763_900_000.0
    assert parse_time("24h", now=now) == int((now - 86400) * 1e9)
    assert parse_time("30m", now=now) == int((now - 1800) * 1e9)
    assert parse_time("7d", now=now) == int((now - 7 * 86400) * 1e9)
    with pytest.raises(ValueError, match="ISO date"):
        parse_time("yesterday")


def test_name_filters_are_case_insensitive_with_globs(spans_file: Path) -> None:
    assert _selected(spans_file, services=("SHOP",)) == ["12", "13", "32"]
    assert _selected(spans_file, providers=("openai",)) == ["12", "22", "32"]
    assert _selected(spans_file, models=("gpt-4o",)) == ["12"]
    assert _selected(spans_file, models=("gpt-4o*",)) == ["12", "32"]
    assert _selected(spans_file, providers=("anthropic", "acme")) == ["13", "23"]


def test_where_matches_span_then_resource_attributes(spans_file: Path) -> None:
    assert _selected(spans_file, where=(("user.id", "alice"),)) == ["12", "22", "23"]
    assert _selected(spans_file, where=(("deployment.environment.name", "prod"),)) == ["22", "23"]
    assert _selected(spans_file, where=(("team", "blue"),)) == ["32"]
    assert _selected(spans_file, where=(("user.id", "alice"), ("gen_ai.operation.name", "chat"))) == ["12", "23"]


def test_filtered_trace_report_keeps_structure_from_all_spans(spans_file: Path) -> None:
    reader = OtlpReader(spans_file, llm_attributes_only=True)
    report = build_trace_report(reader, include=SpanFilter(services=("search",)))
    [trace] = report.traces
    assert (trace.trace_id, trace.root_name, trace.duration_ns) == (T2, "GET /q", NS)
    assert (trace.totals.llm_calls, trace.totals.unpriced_calls, trace.totals.cost) == (2, 1, {"USD": D("0.00002")})


def test_filter_from_cli_arguments_names_the_bad_option() -> None:
    parser = argparse.ArgumentParser()
    add_filter_arguments(parser)
    args = parser.parse_args(["--since", "2025-11-24", "--model", "gpt-4o", "--where", "a=b=c"])
    built = SpanFilter.from_args(args)
    assert built.since_ns == parse_time("2025-11-24") and built.models == ("gpt-4o",)
    assert built.where == (("a", "b=c"),)
    with pytest.raises(ValueError, match="--until"):
        SpanFilter.from_args(parser.parse_args(["--until", "soon"]))
    with pytest.raises(ValueError, match="KEY=VALUE"):
        SpanFilter.from_args(parser.parse_args(["--where", "novalue"]))
    with pytest.raises(ValueError, match="not before"):
        SpanFilter.from_args(parser.parse_args(["--since", "2025-11-25", "--until", "2025-11-24"]))
    assert not SpanFilter()


# --- unpriced listing and pricing -------------------------------------------------------------------------
def test_unpriced_calls_are_listed_with_their_reason(spans_file: Path) -> None:
    recorder = UnpricedRecorder()
    aggregate(OtlpReader(spans_file), group_key("model"), cost=recorder.wrap(call_cost))
    [call] = recorder.calls
    assert (call.trace_id, call.span_id, call.model, call.reason, call.service) == (
        T2,
        "2000000000000003",
        "acme-1",
        "unknown_model",
        "search",
    )
    assert recorder.counts == {("acme", "acme-1", "unknown_model"): 1}


def test_calls_without_cost_are_priced_from_a_price_sheet(tmp_path: Path) -> None:
    sheet = tmp_path / "house.toml"
    sheet.write_text('[[models]]\nmodel = "house-model"\ninput = 1.0\noutput = 2.0\n', encoding="utf-8")
    call = (T1, "1000000000000009", DAY1, "chat", "openai", "house-model", {}, 1000, 500, None)
    path = tmp_path / "nocost.jsonl"
    path.write_text(_line("shop", [_call_span(call)]) + "\n", encoding="utf-8")
    # Without a price: unpriced, with the reason that the span had no cost at all.
    [without] = aggregate(OtlpReader(path), group_key("model")).values()
    assert without.unpriced_calls == 1
    pricer = SpanPricer(PriceBook(sheets=[sheet], use_catalog=False))
    [priced] = aggregate(OtlpReader(path), group_key("model"), cost=pricer).values()
    # 1000 input tokens at $1/M + 500 output tokens at $2/M = $0.001 + $0.001.
    assert priced.cost == {"USD": D("0.002")} and priced.unpriced_calls == 0
    assert pricer.priced_by_report == 1


def test_a_cost_on_the_span_is_never_repriced(spans_file: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "cheap.toml"
    sheet.write_text('[[models]]\nmodel = "gpt-4o"\nfree = true\n', encoding="utf-8")
    pricer = SpanPricer(PriceBook(sheets=[sheet], use_catalog=False))
    groups = aggregate(OtlpReader(spans_file), group_key("model"), cost=pricer)
    assert groups["gpt-4o"].cost == {"USD": D("0.001")}


# --- CLI ----------------------------------------------------------------------------------------------------
def test_cli_group_by_with_filters_as_json(spans_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["report", str(spans_file), "--by", "user", "--format", "json", "--since", "2025-11-24", "--no-pricing"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    groups = {row["user"]: row for row in json.loads(captured.out)["groups"]}
    assert groups["alice"]["llm_calls"] == 2 and groups["alice"]["unpriced_calls"] == 1
    assert groups["alice"]["cost"] == {"USD": pytest.approx(0.00002)}
    assert groups["(none)"]["input_tokens"] == 300
    assert "bob" not in groups
    assert "read 8 spans from 1 file (3 lines)" in captured.err and "0 lines skipped" in captured.err


def test_cli_table_ends_with_unpriced_section(spans_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(spans_file), "--by", "day", "--no-pricing"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[0] == "DAY"
    assert "Unpriced calls (1)" in out
    assert any(line.split() == ["acme", "acme-1", "unknown_model", "1"] for line in out.splitlines())


def test_cli_unpriced_listing_as_csv(spans_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(spans_file), "--unpriced", "--format", "csv", "--no-pricing"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("trace_id,span_id,start_time,service,provider,model,reason")
    assert lines[1].split(",")[:7] == [T2, "2000000000000003", "2025-11-24T09:00:00.500000Z", "search", "acme",
                                       "acme-1", "unknown_model"]  # fmt: skip
    assert len(lines) == 2


def test_cli_trace_top_with_filter(spans_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(spans_file), "--top", "1", "--provider", "openai", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    # openai calls: T1 $0.001, T2 $0.00002, T3 $0.0003 -> T1 is the most expensive.
    assert [t["trace_id"] for t in document["traces"]] == [T1]
    assert document["traces"][0]["root_span"] == "POST /buy" and document["traces"][0]["llm_calls"] == 1
    assert document["totals"]["traces"] == 3 and document["totals"]["cost"] == {"USD": pytest.approx(0.00132)}


def test_cli_bad_filter_is_a_user_error(spans_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(spans_file), "--since", "last tuesday"]) == 2
    assert "--since" in capsys.readouterr().err
