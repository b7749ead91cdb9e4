"""`report --format html`: one self-contained HTML page with charts and drill-down per trace.

The page is meant to be mailed, attached to a ticket or opened from disk: everything is inline (stylesheet,
SVG charts drawn in Python), nothing is fetched, and a Content-Security-Policy forbids scripts and network
access outright. Span names and attribute values are attacker-controlled (any service can emit any span), so
every string from span data is HTML-escaped where it is inserted; the policy is the second line of defence.

What the page shows, for engineers ("which request costs what") and for whoever watches the bill:
headline totals, cost over time, cost by model, provider and service, the most expensive traces with each
trace's LLM calls (`<details>` rows, no JavaScript), and the unpriced calls with their reasons. Amounts in
different currencies are shown side by side and never added; an unpriced call is counted, never shown as 0.

Usage: `render_html(OtlpReader(paths), stats=reader.stats, problems=reader.problems)`; the numbers come
from `collect_overview()` (one streaming pass, see `html_data`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from html import escape

from otel_tokenomics.analysis.html_charts import bar_chart, column_chart
from otel_tokenomics.analysis.html_data import (
    DEFAULT_TOP,
    CallStatus,
    CostOverview,
    LlmCall,
    TraceOverview,
    collect_overview,
)
from otel_tokenomics.analysis.html_style import STYLESHEET
from otel_tokenomics.analysis.otlp_reader import ReadProblem, ReadStats, SpanRecord
from otel_tokenomics.analysis.render import format_cost
from otel_tokenomics.analysis.report import CostFunction, CostTotals, call_cost

__all__ = ["DEFAULT_TOP", "collect_overview", "render_html", "render_overview"]

_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_GROUP_ROWS = 15  # rows of a "cost by ..." table; the rest are summarised in one line
_CHART_BARS = 10
_PROBLEMS_SHOWN = 20
_TIME_FORMATS = {
    "second": ("%H:%M:%S", "%Y-%m-%d %H:%M:%S"),
    "minute": ("%H:%M", "%Y-%m-%d %H:%M"),
    "hour": ("%m-%d %H:00", "%Y-%m-%d %H:00"),
    "day": ("%Y-%m-%d", "%Y-%m-%d"),
}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
# Time-axis labels every this many buckets, the first step giving at most _MAX_AXIS_LABELS labels: round
# clock times (every 15 minutes, 6 hours, 7 days) read better than every 13th bucket.
_LABEL_STEPS = {
    "second": (1, 5, 10, 15, 30, 60),
    "minute": (1, 5, 10, 15, 30, 60, 120),
    "hour": (1, 2, 3, 6, 12, 24),
    "day": (1, 2, 7, 14, 28, 91, 182, 364),
}
_BUCKET_NS = {"second": 10**9, "minute": 60 * 10**9, "hour": 3600 * 10**9, "day": 86400 * 10**9}
_MAX_AXIS_LABELS = 10


# --- text helpers ----------------------------------------------------------------------------------------
def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _int(value: int) -> str:
    return f"{value:,}"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _utc(ns: int, pattern: str = "%Y-%m-%d %H:%M:%S") -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime(pattern) if ns else "-"


def _duration(ns: int) -> str:
    seconds = ns / 1e9
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _currency_name(currency: str) -> str:
    return currency or "no currency"


def _tick_money(value: float, currency: str) -> str:
    """Short axis label: `$0.0025`, `1.5 JPY`."""
    text = f"{value:.6f}".rstrip("0").rstrip(".") or "0"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {_currency_name(currency)}"


def _cost_html(totals: CostTotals, currencies: Sequence[str]) -> str:
    """The cost of a row: amounts per currency, `unpriced` when nothing is known, and the unpriced count."""
    if totals.llm_calls == 0:
        return "-"
    amounts = [_e(format_cost(totals.cost[c], c)) for c in currencies if c in totals.cost]
    if not amounts:
        if totals.fully_unpriced:
            return '<span class="status-unpriced">unpriced</span>'
        return "free" if totals.free_calls else "failed" if totals.failed_calls else "-"
    text = " + ".join(amounts)
    if totals.unpriced_calls:
        unpriced = totals.unpriced_calls
        text += f'<span class="more-unpriced" title="not counted in the cost">+{unpriced} unpriced</span>'
    return text


def _call_cost_html(call: LlmCall) -> str:
    if call.amount is None:
        return "-"
    return _e(format_cost(call.amount, call.currency))


def _call_status_html(call: LlmCall) -> str:
    if call.status in (CallStatus.UNPRICED, CallStatus.FAILED):
        return f'<span class="status-{call.status}">{_e(call.status)}: {_e(call.reason)}</span>'
    return _e(call.status)


# --- sections ----------------------------------------------------------------------------------------------
def _cards(overview: CostOverview) -> str:
    totals = overview.totals
    currencies = totals.currencies
    if currencies:
        main, *others = currencies
        cost_value = _e(format_cost(totals.cost[main], main))
        details = [f"+ {_e(format_cost(totals.cost[c], c))}" for c in others]
        if totals.unpriced_calls:
            details.append(f"lower bound: {_plural(totals.unpriced_calls, 'unpriced call')} not included")
    elif totals.fully_unpriced:
        cost_value, details = "unknown", ["no price known for any call"]
    elif totals.free_calls:
        cost_value, details = "free", ["every call was free of charge"]
    else:
        cost_value, details = "-", ["no billed calls"]
    calls_detail = [f"in {_plural(overview.traces_with_calls, 'trace')}"]
    if totals.failed_calls:
        calls_detail.append(f"{_int(totals.failed_calls)} failed")
    if totals.free_calls:
        calls_detail.append(f"{_int(totals.free_calls)} free")
    tokens = totals.input_tokens + totals.output_tokens
    token_detail = (
        f"in {_int(totals.input_tokens)} · out {_int(totals.output_tokens)} · cached {_int(overview.cached_tokens)}"
    )
    unpriced_detail = "no price known; not in any cost" if totals.unpriced_calls else "every call has a price"
    currency_value = " + ".join(_e(_currency_name(c)) for c in currencies) or "-"
    currency_detail = "shown separately, not converted" if totals.mixed_currencies else "as recorded on the spans"
    cards = [
        ("Total cost", "cost", cost_value, details, bool(totals.unpriced_calls)),
        ("LLM calls", "calls", _int(totals.llm_calls), calls_detail, False),
        ("Tokens", "tokens", _int(tokens), [token_detail], False),
        ("Unpriced calls", "unpriced", _int(totals.unpriced_calls), [unpriced_detail], bool(totals.unpriced_calls)),
        ("Currency", "currency", currency_value, [currency_detail], False),
    ]
    out = ['<section class="cards" aria-label="Totals">']
    for label, key, value, detail, warn in cards:
        klass = "card warn" if warn else "card"
        out.append(
            f'<div class="{klass}" id="total-{key}"><div class="label">{label}</div>'
            f'<div class="value">{value}</div>'
            + "".join(f'<div class="detail">{line}</div>' for line in detail)
            + "</div>"
        )
    out.append("</section>")
    return "".join(out)


def _notices(overview: CostOverview, stats: ReadStats | None) -> str:
    lines = []
    totals = overview.totals
    if totals.mixed_currencies:
        names = ", ".join(_e(_currency_name(c)) for c in totals.currencies)
        lines.append(f"Costs are in several currencies ({names}); each is shown on its own, never added up.")
    if totals.unpriced_calls:
        lines.append(
            f"{_plural(totals.unpriced_calls, 'call')} could not be priced: costs shown are a lower bound "
            '(see <a href="#unpriced">unpriced calls</a>).'
        )
    if stats is not None and stats.lines_skipped:
        lines.append(f"{_plural(stats.lines_skipped, 'input line')} skipped as unreadable (listed at the bottom).")
    if stats is not None and stats.spans_skipped:
        lines.append(f"{_plural(stats.spans_skipped, 'malformed span')} skipped.")
    if overview.duplicate_calls:
        lines.append(f"{_plural(overview.duplicate_calls, 'duplicate call')} ignored (the same span read twice).")
    if overview.untimed_calls:
        lines.append(f"{_plural(overview.untimed_calls, 'call')} without a start time: counted, not in the time chart.")
    if not lines:
        return ""
    return '<div class="notice" role="note">' + "".join(f"<p>{line}</p>" for line in lines) + "</div>"


def _label_step(granularity: str, buckets: int) -> int:
    steps = _LABEL_STEPS[granularity]
    return next((step for step in steps if buckets / step <= _MAX_AXIS_LABELS), -(-buckets // _MAX_AXIS_LABELS))


def _over_time(overview: CostOverview) -> str:
    granularity = overview.granularity
    short, long = _TIME_FORMATS[granularity]
    step, width = _label_step(granularity, len(overview.over_time)), _BUCKET_NS[granularity]
    charts = []
    for currency in overview.totals.currencies:
        columns = []
        for bucket in overview.over_time:
            amount = bucket.totals.cost.get(currency, Decimal(0))
            tooltip = f"{_utc(bucket.start_ns, long)} UTC: {format_cost(amount, currency)}, " + _plural(
                bucket.totals.llm_calls, "call"
            )
            if bucket.totals.unpriced_calls:
                tooltip += f" ({bucket.totals.unpriced_calls} unpriced)"
            labelled = (bucket.start_ns // width) % step == 0
            columns.append((_utc(bucket.start_ns, short) if labelled else "", amount, tooltip))
        caption = f"<h3>{_e(_currency_name(currency))}</h3>" if len(overview.totals.currencies) > 1 else ""
        charts.append(
            caption
            + column_chart(
                columns,
                label=f"Cost per {granularity} in {_currency_name(currency)}",
                tick_text=lambda value, c=currency: _tick_money(value, c),
            )
        )
    body = "".join(charts) or '<p class="muted">No priced calls to chart.</p>'
    return (
        f'<section class="panel" id="over-time"><h2>Cost over time <span class="muted">(per {granularity}, UTC)'
        f"</span></h2>{body}</section>"
    )


def _group_panel(title: str, key: str, groups: list[tuple[str, CostTotals]], currencies: Sequence[str]) -> str:
    charts = []
    for currency in currencies:
        rows = [
            (name, totals.cost[currency], format_cost(totals.cost[currency], currency))
            for name, totals in groups
            if totals.cost.get(currency, Decimal(0)) > 0
        ]
        rows.sort(key=lambda row: -row[1])
        if rows:
            caption = f"<h3>{_e(_currency_name(currency))}</h3>" if len(currencies) > 1 else ""
            charts.append(caption + bar_chart(rows[:_CHART_BARS], label=f"{title} in {_currency_name(currency)}"))
    table = [
        f'<table><thead><tr><th scope="col">{_e(key.capitalize())}</th><th class="num" scope="col">Calls</th>'
        '<th class="num" scope="col">Tokens in</th><th class="num" scope="col">Tokens out</th>'
        '<th class="num" scope="col">Cost</th></tr></thead><tbody>'
    ]
    for name, totals in groups[:_GROUP_ROWS]:
        table.append(
            f'<tr><td class="name">{_e(name)}</td><td class="num">{_int(totals.llm_calls)}</td>'
            f'<td class="num">{_int(totals.input_tokens)}</td><td class="num">{_int(totals.output_tokens)}</td>'
            f'<td class="num">{_cost_html(totals, currencies)}</td></tr>'
        )
    if len(groups) > _GROUP_ROWS:
        table.append(f'<tr><td colspan="5" class="muted">… and {len(groups) - _GROUP_ROWS} more</td></tr>')
    table.append("</tbody></table>")
    chart_html = "".join(charts) or '<p class="muted">No priced calls to chart.</p>'
    return f'<section class="panel" id="by-{key}"><h2>{_e(title)}</h2>{chart_html}{"".join(table)}</section>'


def _calls_table(trace: TraceOverview) -> str:
    rows = [
        '<table><thead><tr><th scope="col">Call</th><th scope="col">Provider</th><th scope="col">Model</th>'
        '<th scope="col">Operation</th><th class="num" scope="col">Input</th><th class="num" scope="col">Cached</th>'
        '<th class="num" scope="col">Output</th><th class="num" scope="col">Duration</th>'
        '<th class="num" scope="col">Cost</th><th scope="col">Status</th></tr></thead><tbody>'
    ]
    for call in trace.calls:
        rows.append(
            f'<tr><td class="name">{_e(call.name)}</td><td>{_e(call.provider)}</td><td class="name">{_e(call.model)}'
            f"</td><td>{_e(call.operation)}</td><td class=\"num\">{_int(call.input_tokens)}</td>"
            f'<td class="num">{_int(call.cached_tokens)}</td><td class="num">{_int(call.output_tokens)}</td>'
            f'<td class="num">{_duration(call.duration_ns)}</td><td class="num">{_call_cost_html(call)}</td>'
            f"<td>{_call_status_html(call)}</td></tr>"
        )
    rows.append("</tbody></table>")
    if trace.calls_missing:
        rows.append(
            f'<p class="muted">{_plural(trace.calls_missing, "earlier call")} of this trace not listed: they were '
            "read before the trace ranked among the most expensive (they are in the totals).</p>"
        )
    return "".join(rows)


def _traces(overview: CostOverview) -> str:
    currencies = overview.totals.currencies
    shown = len(overview.top_traces)
    heading = f"Most expensive traces <span class=\"muted\">(top {shown} of {overview.traces_with_calls:,})</span>"
    out = [
        f'<section class="panel traces" id="traces"><h2>{heading}</h2>',
        '<div class="head" aria-hidden="true"><span>#</span><span>Root span · trace id</span><span>Start (UTC)'
        '</span><span class="num">Duration</span><span class="num">Calls</span><span class="num">Tokens</span>'
        '<span class="num">Cost</span></div>',
    ]
    if not overview.top_traces:
        out.append('<p class="muted">No LLM calls found.</p>')
    for rank, trace in enumerate(overview.top_traces, start=1):
        root = _e(trace.root_name or "(unnamed)")
        if trace.root_missing:
            root = f'<span class="muted">(root missing)</span> {root}'
        tokens = trace.totals.input_tokens + trace.totals.output_tokens
        opened = " open" if rank == 1 else ""
        out.append(
            f'<details class="trace" id="trace-{_e(trace.trace_id)}"{opened}><summary>'
            f'<span class="rank">{rank}</span>'
            f'<span class="root">{root}<br><span class="mono muted">{_e(trace.trace_id)}</span></span>'
            f"<span>{_utc(trace.start_ns)}</span>"
            f'<span class="num">{_duration(trace.duration_ns)}</span>'
            f'<span class="num">{_int(trace.totals.llm_calls)}</span>'
            f'<span class="num">{_int(tokens)}</span>'
            f'<span class="num">{_cost_html(trace.totals, currencies)}</span>'
            f'</summary><div class="calls">{_calls_table(trace)}</div></details>'
        )
    out.append("</section>")
    return "".join(out)


def _unpriced(overview: CostOverview) -> str:
    if not overview.unpriced:
        return ""
    rows = [
        '<section class="panel" id="unpriced"><h2>Unpriced calls</h2>'
        '<p class="muted">Counted in calls and tokens, never as a cost of 0. A price sheet '
        "(<code>PriceBook(sheets=[...])</code>) or a catalog update prices them.</p>"
        '<table><thead><tr><th scope="col">Reason</th><th scope="col">Provider</th><th scope="col">Model</th>'
        '<th class="num" scope="col">Calls</th><th class="num" scope="col">Input tokens</th>'
        '<th class="num" scope="col">Output tokens</th><th scope="col">Example</th></tr></thead><tbody>'
    ]
    for group in overview.unpriced:
        rows.append(
            f'<tr><td class="status-unpriced">{_e(group.reason)}</td><td>{_e(group.provider)}</td>'
            f'<td class="name">{_e(group.model)}</td><td class="num">{_int(group.calls)}</td>'
            f'<td class="num">{_int(group.input_tokens)}</td><td class="num">{_int(group.output_tokens)}</td>'
            f'<td class="name">{_e(group.example_span_name)} <span class="mono muted">'
            f"{_e(group.example_trace_id)}</span></td></tr>"
        )
    rows.append("</tbody></table></section>")
    return "".join(rows)


def _footer(stats: ReadStats | None, problems: Sequence[ReadProblem], generated: datetime) -> str:
    parts = [f"<footer><p>Generated by otel-tokenomics on {_e(generated.strftime('%Y-%m-%d %H:%M:%S'))} UTC."]
    if stats is not None:
        parts.append(
            f" Read {_plural(stats.spans_read, 'span')} from {_plural(stats.lines_read, 'line')} in "
            f"{_plural(stats.files_read, 'file')}; {_plural(stats.lines_skipped, 'line')} skipped."
        )
    parts.append("</p>")
    if problems:
        parts.append('<p id="problems">Input problems (skipped, the rest was read):</p><ul>')
        parts.extend(f"<li>{_e(problem)}</li>" for problem in problems[:_PROBLEMS_SHOWN])
        hidden = (stats.problems_total if stats else len(problems)) - min(len(problems), _PROBLEMS_SHOWN)
        if hidden > 0:
            parts.append(f"<li>… and {_plural(hidden, 'more problem')}</li>")
        parts.append("</ul>")
    parts.append("</footer>")
    return "".join(parts)


# --- page ----------------------------------------------------------------------------------------------------
def render_overview(
    overview: CostOverview,
    *,
    stats: ReadStats | None = None,
    problems: Sequence[ReadProblem] = (),
    sources: Sequence[str] = (),
    title: str = "LLM cost report",
    generated: datetime | None = None,
) -> str:
    """The HTML page for an already collected `overview` (see `render_html` for the one-call version)."""
    generated = generated or datetime.now(UTC)
    currencies = overview.totals.currencies
    subtitle = []
    if sources:
        subtitle.append("From " + ", ".join(_e(source) for source in sources))
    if overview.first_ns:
        subtitle.append(f"calls from {_utc(overview.first_ns)} to {_utc(overview.last_ns)} UTC")
    subtitle.append(f"{_plural(overview.trace_count, 'trace')} read")
    body = [
        _cards(overview),
        _notices(overview, stats),
        _over_time(overview),
        '<div class="grid2">',
        _group_panel("Cost by model", "model", overview.by_model, currencies),
        _group_panel("Cost by provider", "provider", overview.by_provider, currencies),
        "</div>",
        _group_panel("Cost by service", "service", overview.by_service, currencies),
        _traces(overview),
        _unpriced(overview),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CONTENT_SECURITY_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="otel-tokenomics">'
        f"<title>{_e(title)}</title><style>{STYLESHEET}</style></head>\n<body>"
        f'<header class="top"><h1>{_e(title)}</h1><p class="sub">{" · ".join(subtitle)}</p></header>'
        f"<main>{''.join(body)}</main>{_footer(stats, problems, generated)}</body></html>\n"
    )


def render_html(
    records: Iterable[SpanRecord],
    *,
    top: int | None = None,
    stats: ReadStats | None = None,
    problems: Sequence[ReadProblem] | None = None,
    sources: Sequence[str] = (),
    title: str = "LLM cost report",
    generated: datetime | None = None,
    cost: CostFunction = call_cost,
    include: Callable[[SpanRecord], bool] | None = None,
) -> str:
    """Read `records` once and return the self-contained HTML report.

    `top` traces are listed with their calls (default `DEFAULT_TOP`). Pass a live `OtlpReader`'s `stats` and
    `problems`: they are read after the records are consumed, so skipped lines are complete. `sources` (file
    names) only label the page. `cost` and `include` are `build_trace_report`'s: a `SpanPricer` prices calls
    that carry no cost, a `SpanFilter` selects the calls counted.
    """
    overview = collect_overview(records, top=top, cost=cost, include=include)
    return render_overview(
        overview,
        stats=stats,
        problems=list(problems or ()),
        sources=[str(source) for source in sources],
        title=title,
        generated=generated,
    )
