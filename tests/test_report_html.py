"""The self-contained HTML cost report: figures, drill-down, escaping, and how it looks in a real browser.

Expected figures are worked out by hand from the fixture below (see `_fixture`), never read back from the
code. The browser tests drive Debian's headless Chromium: a screenshot is decoded with the standard
library and checked for content and chart colours, and the DOM the browser built is checked for the totals
and a trace's calls.
"""

from __future__ import annotations

import operator
import os
import re
import shutil
import signal
import struct
import subprocess
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from otel_tokenomics.analysis.html import render_html
from otel_tokenomics.analysis.html_charts import BAR_COLOR, COLUMN_COLOR, nice_ticks
from otel_tokenomics.analysis.html_data import RECENT_TRACES, collect_overview
from otel_tokenomics.analysis.otlp_reader import OtlpReader, ReadProblem, SpanRecord
from otel_tokenomics.analysis.pricing import SpanPricer
from otel_tokenomics.semconv.prices import PriceBook

DATA = Path(__file__).parent / "data" / "otlp"
T0 = 1_709_287_200_000_000_000  # 2024-03-01 10:00:00 UTC
SECOND = 1_000_000_000
HOUR = 3600 * SECOND
TRACE_ASK, TRACE_SUMMARY, TRACE_BATCH, TRACE_FAIL = (c * 32 for c in "1234")


# --- fixture ------------------------------------------------------------------------------------------------
def _span(
    trace_id: str,
    span_id: str,
    name: str,
    start_ns: int,
    *,
    parent: str | None = "0" * 15 + "1",
    duration_ns: int = SECOND // 2,
    service: str = "support-bot",
    status_code: int = 0,
    **attributes: Any,
) -> SpanRecord:
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind=3 if parent else 2,
        start_ns=start_ns,
        end_ns=start_ns + duration_ns,
        status_code=status_code,
        attributes={key.replace("__", "."): value for key, value in attributes.items()},
        resource={"service.name": service},
        scope_name="test",
    )


def _call(
    trace_id: str,
    span_id: str,
    model: str,
    start_ns: int,
    tokens: tuple[int, int],
    cost: tuple[float, str] | None,
    *,
    provider: str = "openai",
    operation: str = "chat",
    service: str = "support-bot",
    **extra: Any,
) -> SpanRecord:
    attributes: dict[str, Any] = {
        "gen_ai__operation__name": operation,
        "gen_ai__provider__name": provider,
        "gen_ai__request__model": model,
        "gen_ai__usage__input_tokens": tokens[0],
        "gen_ai__usage__output_tokens": tokens[1],
    }
    if cost is None:
        attributes["tokenomics__cost__status"] = "unpriced"
    else:
        amount, currency = cost
        attributes.update(
            gen_ai__usage__cost__amount=amount,
            gen_ai__usage__cost__currency=currency,
            tokenomics__cost__status="priced",
        )
    attributes.update(extra)
    return _span(trace_id, span_id, f"{operation} {model}", start_ns, service=service, **attributes)


def _root(trace_id: str, name: str, start_ns: int, duration_ns: int, service: str = "support-bot") -> SpanRecord:
    return _span(trace_id, "0" * 15 + "1", name, start_ns, parent=None, duration_ns=duration_ns, service=service)


def _fixture() -> list[SpanRecord]:
    """Four traces over two hours; USD and EUR; one unpriced and one failed call.

    Hand totals: USD 0.0065 + 0.0025 + 0.000006 (ask) + 0.0135 (summary) + 0.00021 (batch) = 0.022716;
    EUR 0.004 (batch). Calls 3 + 2 + 2 + 1 = 8. Input 1000 + 500 + 300 + 2000 + 100 + 100 + 1000 = 5000,
    output 200 + 100 + 0 + 500 + 50 + 10 + 100 = 960, cached 400. By USD cost: summary, ask, batch, fail.
    """
    return [
        _call(TRACE_ASK, "a1", "gpt-4o", T0 + SECOND, (1000, 200), (0.0065, "USD"),
              gen_ai__usage__cache_read__input_tokens=400),
        _call(TRACE_ASK, "a2", "gpt-4o", T0 + 2 * SECOND, (500, 100), (0.0025, "USD")),
        _call(TRACE_ASK, "a3", "text-embedding-3-small", T0, (300, 0), (0.000006, "USD"), operation="embeddings"),
        _root(TRACE_ASK, "POST /ask", T0, 3 * SECOND),
        _call(TRACE_SUMMARY, "b1", "claude-sonnet-4", T0 + HOUR, (2000, 500), (0.0135, "USD"), provider="anthropic"),
        _call(TRACE_SUMMARY, "b2", "acme-x", T0 + HOUR + SECOND, (100, 50), None,
              tokenomics__cost__unpriced_reason="unknown_model"),
        _root(TRACE_SUMMARY, "POST /summarize", T0 + HOUR, 2 * SECOND),
        _call(TRACE_BATCH, "c1", "mistral-large", T0 + 2 * HOUR, (100, 10), (0.004, "EUR"), provider="mistral_ai",
              service="batch"),
        _call(TRACE_BATCH, "c2", "gpt-4o-mini", T0 + 2 * HOUR + SECOND, (1000, 100), (0.00021, "USD"),
              service="batch"),
        _root(TRACE_BATCH, "nightly-batch", T0 + 2 * HOUR, 5 * SECOND, service="batch"),
        _span(TRACE_FAIL, "d1", "chat gpt-4o", T0 + 90 * 60 * SECOND, status_code=2, gen_ai__operation__name="chat",
              gen_ai__provider__name="openai", gen_ai__request__model="gpt-4o", error__type="timeout"),
        _root(TRACE_FAIL, "POST /fail", T0 + 90 * 60 * SECOND, SECOND),
    ]


# --- a small DOM for assertions --------------------------------------------------------------------------------
_VOID = {"meta", "br", "img", "input", "link", "hr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return " ".join(
            " ".join((child if isinstance(child, str) else child.text()).split()) for child in self.children
        ).strip()

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str, klass: str | None = None) -> list[Node]:
        return [
            node
            for node in self.iter()
            if node.tag == tag and (klass is None or klass in (node.attrs.get("class") or "").split())
        ]

    def by_id(self, element_id: str) -> Node:
        [node] = [node for node in self.iter() if node.attrs.get("id") == element_id]
        return node


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _parse(page: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def _rows(table: Node) -> list[list[str]]:
    return [[cell.text() for cell in row.find_all("td")] for row in table.find_all("tr") if row.find_all("td")]


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(_fixture(), sources=["spans.jsonl"])


@pytest.fixture(scope="module")
def dom(page: str) -> Node:
    return _parse(page)


# --- figures -----------------------------------------------------------------------------------------------------
def test_headline_totals_are_the_hand_computed_ones(dom: Node) -> None:
    cost = dom.by_id("total-cost").text()
    assert "$0.022716" in cost and "€0.004000" in cost
    assert "1 unpriced call not included" in cost
    calls = dom.by_id("total-calls").text()
    assert calls.startswith("LLM calls 8") and "in 4 traces" in calls and "1 failed" in calls
    tokens = dom.by_id("total-tokens").text()
    assert tokens.startswith("Tokens 5,960") and "in 5,000 · out 960 · cached 400" in tokens
    assert dom.by_id("total-unpriced").text().startswith("Unpriced calls 1")
    assert dom.by_id("total-currency").text().startswith("Currency USD + EUR")


def test_currencies_are_never_added(page: str) -> None:
    assert "0.026716" not in page  # 0.022716 USD + 0.004 EUR would be a meaningless figure
    assert "several currencies (USD, EUR)" in page


def test_most_expensive_traces_in_order_with_their_calls(dom: Node) -> None:
    traces = dom.by_id("traces").find_all("details")
    assert [node.attrs["id"] for node in traces] == [
        f"trace-{trace_id}" for trace_id in (TRACE_SUMMARY, TRACE_ASK, TRACE_BATCH, TRACE_FAIL)
    ]
    assert "open" in traces[0].attrs and all("open" not in node.attrs for node in traces[1:])
    summary = traces[1].find_all("summary")[0].text()
    # rank, root span, trace id, start, duration, calls, tokens (1800 + 300), cost
    assert summary == f"2 POST /ask {TRACE_ASK} 2024-03-01 10:00:00 3.00 s 3 2,100 $0.009006"
    calls = _rows(traces[1].find_all("table")[0])
    assert calls == [
        ["embeddings text-embedding-3-small", "openai", "text-embedding-3-small", "embeddings", "300", "0", "0",
         "500.0 ms", "$0.000006", "priced"],
        ["chat gpt-4o", "openai", "gpt-4o", "chat", "1,000", "400", "200", "500.0 ms", "$0.006500", "priced"],
        ["chat gpt-4o", "openai", "gpt-4o", "chat", "500", "0", "100", "500.0 ms", "$0.002500", "priced"],
    ]
    top = traces[0].find_all("summary")[0].text()
    assert top.endswith("$0.013500 +1 unpriced")
    unpriced_call = _rows(traces[0].find_all("table")[0])[1]
    assert unpriced_call[-2:] == ["-", "unpriced: unknown_model"]
    failed = _rows(traces[3].find_all("table")[0])
    assert failed == [["chat gpt-4o", "openai", "gpt-4o", "chat", "0", "0", "0", "500.0 ms", "-", "failed: timeout"]]
    assert traces[3].find_all("summary")[0].text().endswith("failed")


def test_cost_by_model_provider_and_service(dom: Node) -> None:
    def table(section: str) -> dict[str, list[str]]:
        [rows] = [_rows(t) for t in dom.by_id(section).find_all("table")]
        return {row[0]: row[1:] for row in rows}

    assert table("by-model") == {
        "claude-sonnet-4": ["1", "2,000", "500", "$0.013500"],
        "gpt-4o": ["3", "1,500", "300", "$0.009000"],  # 0.0065 + 0.0025, and the failed call
        "gpt-4o-mini": ["1", "1,000", "100", "$0.000210"],
        "text-embedding-3-small": ["1", "300", "0", "$0.000006"],
        "mistral-large": ["1", "100", "10", "€0.004000"],
        "acme-x": ["1", "100", "50", "unpriced"],
    }
    assert table("by-provider") == {
        "anthropic": ["1", "2,000", "500", "$0.013500"],
        "openai": ["6", "2,900", "450", "$0.009216 +1 unpriced"],  # 0.0065 + 0.0025 + 0.000006 + 0.00021
        "mistral_ai": ["1", "100", "10", "€0.004000"],
    }
    assert table("by-service") == {
        "support-bot": ["6", "3,900", "850", "$0.022506 +1 unpriced"],
        "batch": ["2", "1,100", "110", "$0.000210 + €0.004000"],
    }
    # one chart per currency; each bar's tooltip carries the exact figure
    charts = dom.by_id("by-model").find_all("svg")
    assert [chart.attrs["aria-label"] for chart in charts] == ["Cost by model in USD", "Cost by model in EUR"]
    assert [title.text() for title in charts[1].find_all("title")] == ["mistral-large: €0.004000"]


def test_cost_over_time_per_minute_for_a_two_hour_range(dom: Node) -> None:
    section = dom.by_id("over-time")
    assert "per minute, UTC" in section.text()
    usd, eur = section.find_all("svg")
    columns = [rect for rect in usd.find_all("rect")]
    assert len(columns) == 121  # 10:00 .. 12:00 inclusive, empty minutes included so the axis is linear
    tooltips = {rect.find_all("title")[0].text() for rect in columns if rect.attrs["height"] != "0"}
    assert tooltips == {
        "2024-03-01 10:00 UTC: $0.009006, 3 calls",
        "2024-03-01 11:00 UTC: $0.013500, 2 calls (1 unpriced)",
        "2024-03-01 12:00 UTC: $0.000210, 2 calls",
    }
    assert "2024-03-01 11:30 UTC: $0.000000, 1 call" in {rect.find_all("title")[0].text() for rect in columns}
    assert len(eur.find_all("rect")) == 121


def test_time_granularity_follows_the_range() -> None:
    def overview(*offsets: int) -> Any:
        return collect_overview(
            [_call("f" * 32, f"{i:016x}", "gpt-4o", T0 + offset, (1, 1), (0.5, "USD")) for i, offset in
             enumerate(offsets)]
        )

    seconds = overview(0, 90 * SECOND)
    assert (seconds.granularity, len(seconds.over_time)) == ("second", 91)
    hours = overview(0, 5 * HOUR)
    assert (hours.granularity, len(hours.over_time)) == ("hour", 6)
    assert [bucket.totals.cost.get("USD") for bucket in hours.over_time] == [
        Decimal("0.5"), None, None, None, None, Decimal("0.5")
    ]
    days = overview(30 * 24 * HOUR, 0, 10 * 24 * HOUR)  # out of order on purpose
    assert (days.granularity, len(days.over_time)) == ("day", 31)
    assert days.over_time[0].start_ns == T0 - T0 % (24 * HOUR)


def test_unpriced_calls_are_listed_with_their_reason(dom: Node) -> None:
    rows = _rows(dom.by_id("unpriced").find_all("table")[0])
    assert rows == [["unknown_model", "openai", "acme-x", "1", "100", "50", f"chat acme-x {TRACE_SUMMARY}"]]


def test_a_span_read_twice_is_billed_once() -> None:
    records = _fixture()
    page = _parse(render_html(records + records[:3]))
    assert "$0.022716" in page.by_id("total-cost").text()
    assert "3 duplicate calls ignored" in page.text()


def test_reads_the_collector_file_exporter_sample() -> None:
    reader = OtlpReader(DATA / "cost_traces.jsonl", log_problems=False)
    page = _parse(render_html(reader, stats=reader.stats, problems=reader.problems))
    # USD: 0.0005 + 0.001 (support-bot; the agent span is not a call) + 0.000123 + 0.003 + 0.01 + 0.02 + 0.0002
    cost = page.by_id("total-cost").text()
    assert "$0.034823" in cost and "€0.002000" in cost
    assert "Read 16 spans from 6 lines in 1 file; 0 lines skipped." in page.find_all("footer")[0].text()


# --- edge cases ---------------------------------------------------------------------------------------------------
def test_empty_input() -> None:
    page = render_html([])
    dom = _parse(page)
    assert dom.by_id("total-cost").text() == "Total cost - no billed calls"
    assert dom.by_id("total-calls").text().startswith("LLM calls 0")
    assert "No LLM calls found." in dom.by_id("traces").text()
    assert "No priced calls to chart." in dom.by_id("over-time").text()
    assert dom.find_all("svg") == [] and dom.find_all("details") == []


def test_unpriced_only_input_is_unknown_not_zero() -> None:
    records = [
        _call("e" * 32, "e1", "mystery-1", T0, (10, 5), None, tokenomics__cost__unpriced_reason="unknown_model"),
        _call("e" * 32, "e2", "mystery-2", T0 + SECOND, (20, 5), None),  # unpriced without a reason
    ]
    dom = _parse(render_html(records))
    assert dom.by_id("total-cost").text() == "Total cost unknown no price known for any call"
    assert dom.by_id("total-unpriced").text().startswith("Unpriced calls 2")
    assert "$0.0" not in dom.text() and "0.000000" not in dom.text()
    assert dom.find_all("svg") == []
    assert _rows(dom.by_id("unpriced").find_all("table")[0]) == [
        ["no_cost_on_span", "openai", "mystery-2", "1", "20", "5", "chat mystery-2 " + "e" * 32],
        ["unknown_model", "openai", "mystery-1", "1", "10", "5", "chat mystery-1 " + "e" * 32],
    ]
    assert dom.by_id(f"trace-{'e' * 32}").find_all("summary")[0].text().endswith("unpriced")


def test_calls_without_a_cost_are_priced_by_the_report_price_book(tmp_path: Path) -> None:
    sheet = tmp_path / "house.toml"
    sheet.write_text('[[models]]\nmodel = "house-model"\ninput = 2.0\noutput = 8.0\n', encoding="utf-8")
    record = _call("9" * 32, "h1", "house-model", T0, (1000, 500), (0.0, "USD"))
    for name in ("gen_ai.usage.cost.amount", "gen_ai.usage.cost.currency", "tokenomics.cost.status"):
        del record.attributes[name]  # an instrumentation that does not price
    pricer = SpanPricer(PriceBook(sheets=[sheet]))
    dom = _parse(render_html([record], cost=pricer))
    # 1000 input tokens at $2/M + 500 output tokens at $8/M = $0.002 + $0.004
    assert "$0.006000" in dom.by_id("total-cost").text()
    [call] = _rows(dom.by_id(f"trace-{'9' * 32}").find_all("table")[0])
    assert call[-2:] == ["$0.006000", "priced by report"]
    unpriced = _parse(render_html([record]))  # without the pricer the same call is unpriced, not $0
    assert unpriced.by_id("total-cost").text() == "Total cost unknown no price known for any call"


def test_include_selects_the_calls_counted() -> None:
    def only_anthropic(record: SpanRecord) -> bool:
        return record.attributes.get("gen_ai.provider.name") == "anthropic"

    anthropic = _parse(render_html(_fixture(), include=only_anthropic))
    assert "$0.013500" in anthropic.by_id("total-cost").text()
    assert anthropic.by_id("total-calls").text().startswith("LLM calls 1")
    [trace] = anthropic.by_id("traces").find_all("details")
    assert trace.attrs["id"] == f"trace-{TRACE_SUMMARY}"
    assert "POST /summarize" in trace.text()  # the root span still names the trace


XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def test_span_data_is_escaped_everywhere() -> None:
    evil = "x" * 32
    records = [
        _call(evil, "x1", XSS, T0, (10, 5), (0.001, XSS), provider=XSS, service=XSS),
        _call(evil, "x2", "m", T0 + SECOND, (10, 5), None, tokenomics__cost__unpriced_reason=XSS),
        _span(evil, "x3", XSS, T0, status_code=2, gen_ai__operation__name="chat", error__type=XSS),
        _root(evil, XSS, T0, SECOND, service=XSS),
    ]
    problems = [ReadProblem(XSS, 3, XSS)]
    page = render_html(records, problems=problems, sources=[XSS], title=XSS)
    dom = _parse(page)
    allowed = {"#document", "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "main",
               "section", "div", "span", "a", "br", "svg", "g", "rect", "line", "text", "table", "thead", "tbody",
               "tr", "th", "td", "details", "summary", "code", "footer", "ul", "li"}
    assert {node.tag for node in dom.iter()} <= allowed
    assert not [name for node in dom.iter() for name in node.attrs if name.startswith("on")]
    assert [node.attrs["href"] for node in dom.find_all("a")] == ["#unpriced"]
    # the payload is shown as text wherever it came from
    for where in ("by-model", "by-provider", "by-service", "traces", "unpriced"):
        assert XSS in dom.by_id(where).text() or XSS.upper() in dom.by_id(where).text(), where
    assert XSS in dom.find_all("footer")[0].text() and XSS in dom.find_all("h1")[0].text()
    assert page.count("&lt;script&gt;") >= 8


def test_page_is_self_contained_and_forbids_scripts(page: str, dom: Node) -> None:
    [policy] = [node.attrs["content"] for node in dom.find_all("meta") if node.attrs.get("http-equiv")]
    assert policy == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    assert dom.find_all("script") == [] and dom.find_all("link") == [] and dom.find_all("img") == []
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "@import" not in page and "url(" not in page


def test_drill_down_keeps_calls_of_the_top_traces_only_and_says_what_is_missing() -> None:
    """A cheap trace pushed out by many newer, dearer ones gets a late expensive call: its first call is gone."""
    late = "7" * 32
    others = RECENT_TRACES + 200  # more than the recent window plus every settled slot (64 for top=1)
    records = [_call(late, "l1", "gpt-4o", T0, (1, 1), (0.000001, "USD"))]
    records += [_call(f"{i:032x}", "s1", "gpt-4o", T0 + i, (5, 5), (0.001, "USD")) for i in range(1, others + 1)]
    records.append(_call(late, "l2", "gpt-4o", T0 + others + 1, (1, 1), (1.0, "USD")))
    overview = collect_overview(records, top=1)
    [top] = overview.top_traces
    assert top.trace_id == late
    assert top.totals.llm_calls == 2 and top.totals.cost == {"USD": Decimal("1.000001")}
    assert [call.span_id for call in top.calls] == ["l2"] and top.calls_missing == 1
    assert overview.totals.llm_calls == others + 2
    assert overview.totals.cost == {"USD": Decimal("1.000001") + others * Decimal("0.001")}
    text = _parse(render_html(records, top=1)).by_id("traces").text()
    assert "1 earlier call of this trace not listed" in text


def test_top_traces_have_all_their_calls_when_read_trace_by_trace() -> None:
    count = 2 * RECENT_TRACES  # the dearest traces come first, so they are settled long before the end
    records = []
    for i in range(count):  # trace i costs (count - i) * 0.0015 USD over three calls
        records += [
            _call(f"{i:032x}", f"{i}-{j}", "gpt-4o", T0 + i, (1, 1), ((count - i) * 0.00025 * (j + 1), "USD"))
            for j in range(3)
        ]
    overview = collect_overview(records, top=5)
    assert [int(trace.trace_id, 16) for trace in overview.top_traces] == [0, 1, 2, 3, 4]
    assert all(len(trace.calls) == 3 and trace.calls_missing == 0 for trace in overview.top_traces)
    assert overview.top_traces[0].totals.cost == {"USD": count * Decimal("0.0015")}
    assert overview.trace_count == count and overview.totals.llm_calls == 3 * count


def test_nice_axis_ticks() -> None:
    assert nice_ticks(0.013) == pytest.approx([0, 0.005, 0.01, 0.015])
    assert nice_ticks(9) == pytest.approx([0, 2.5, 5, 7.5, 10])
    assert nice_ticks(0) == [0.0, 1.0]


# --- in a real browser ------------------------------------------------------------------------------------------
WINDOW = (1280, 2000)
_BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _find_browser() -> str | None:
    return next((path for path in map(shutil.which, _BROWSERS) if path), None)


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium; installed here if missing and we may (CI does it in `make system-deps`)."""
    browser = _find_browser()
    if browser is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(command, env=environment, capture_output=True, timeout=1200, check=False)
        browser = _find_browser()
    if browser is None:
        pytest.skip("chromium is not installed and cannot be installed here (needs root: apt-get install "
                    "chromium); CI installs it")
    return browser


def _run_browser(browser: str, profile: Path, *arguments: str) -> bytes:
    """Run headless Chromium with its own profile; on a hang, stop exactly its process group."""
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               "--disable-extensions", "--disable-background-networking", f"--user-data-dir={profile}", *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"chromium did not finish within 120 s: {' '.join(command)}")
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return stdout


def _decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """Width, height, unfiltered rows and bytes per pixel of an 8-bit RGB/RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0) and color in (2, 6), (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        offset = y * (stride + 1)
        kind, line = raw[offset], bytearray(raw[offset + 1 : offset + 1 + stride])
        if kind == 2:  # Up, by far the most common in browser screenshots: one pass of C-level maps
            line = bytearray(map(_BYTE_SUM.__getitem__, map(operator.add, line, previous)))
        elif kind in (1, 3, 4):
            _unfilter_sequential(kind, line, previous, bpp)
        rows.append(bytes(line))
        previous = rows[-1]
    return width, height, rows, bpp


_BYTE_SUM = bytes(total & 255 for total in range(511))


def _unfilter_sequential(kind: int, line: bytearray, previous: bytes, bpp: int) -> None:
    """Sub (1), Average (3) and Paeth (4) depend on the byte to the left: undo them in order."""
    for x in range(len(line)):
        left = line[x - bpp] if x >= bpp else 0
        up = previous[x]
        if kind == 1:
            line[x] = (line[x] + left) & 255
        elif kind == 3:
            line[x] = (line[x] + (left + up) // 2) & 255
        else:
            up_left = previous[x - bpp] if x >= bpp else 0
            # Paeth: the neighbour closest to left + up - up_left, written out (this loop is the hot spot)
            to_left = up - up_left if up > up_left else up_left - up
            to_up = left - up_left if left > up_left else up_left - left
            guess = left + up - 2 * up_left
            to_up_left = guess if guess > 0 else -guess
            if to_left <= to_up and to_left <= to_up_left:
                line[x] = (line[x] + left) & 255
            elif to_up <= to_up_left:
                line[x] = (line[x] + up) & 255
            else:
                line[x] = (line[x] + up_left) & 255


def _pixels(row: bytes, bpp: int) -> Iterator[tuple[int, int, int]]:
    return zip(row[0::bpp], row[1::bpp], row[2::bpp], strict=False)


def _hex_rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory, page: str) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def test_screenshot_shows_the_report_with_its_charts(chromium: str, report_file: Path, tmp_path: Path) -> None:
    screenshot = tmp_path / "report.png"
    _run_browser(chromium, tmp_path / "profile", f"--screenshot={screenshot}",
                 f"--window-size={WINDOW[0]},{WINDOW[1]}", report_file.as_uri())
    width, height, rows, bpp = _decode_png(screenshot.read_bytes())
    assert (width, height) == WINDOW
    counts: Counter[tuple[int, int, int]] = Counter()
    for row in rows:
        counts.update(_pixels(row, bpp))
    background = {(255, 255, 255), _hex_rgb("#f4f6f9")}
    ink = width * height - sum(counts[color] for color in background)
    assert ink > 0.02 * width * height, "the page looks blank"
    # the bars (cost by model/provider/service) and the columns (cost over time) are drawn in their colours
    assert counts[_hex_rgb(BAR_COLOR)] > 1000
    assert counts[_hex_rgb(COLUMN_COLOR)] > 200
    # the headline sits at the top: text pixels in the first 200 rows
    top_ink = sum(1 for row in rows[:200] for pixel in _pixels(row, bpp) if pixel not in background)
    assert top_ink > 1000


def test_browser_dom_has_the_totals_and_a_drill_down(chromium: str, report_file: Path, tmp_path: Path) -> None:
    dom = _parse(_run_browser(chromium, tmp_path / "profile", "--dump-dom", report_file.as_uri()).decode())
    assert "$0.022716" in dom.by_id("total-cost").text() and "€0.004000" in dom.by_id("total-cost").text()
    assert dom.by_id("total-calls").text().startswith("LLM calls 8")
    ask = dom.by_id(f"trace-{TRACE_ASK}")
    assert [row[0] for row in _rows(ask.find_all("table")[0])] == [
        "embeddings text-embedding-3-small", "chat gpt-4o", "chat gpt-4o"
    ]
    assert len(dom.find_all("details")) == 4 and len(dom.find_all("svg")) >= 7
