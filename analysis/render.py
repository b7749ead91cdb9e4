"""Renderers for the cost-per-trace report: terminal table, CSV, JSON.

Renderers only format; every number comes from `TraceReport`, so a new output (HTML, Markdown) is one more
function here. Conventions shared by all formats:

* costs keep sub-cent precision (six decimals in the table, exact decimals in CSV/JSON);
* a trace or total with unpriced calls is flagged (table: `*` and an `unpriced` column; CSV/JSON: the
  `unpriced_calls` field), and a cost that is entirely unknown is never printed as 0;
* amounts in different currencies are shown side by side and never summed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from otel_tokenomics.analysis.groups import UnpricedRecorder
from otel_tokenomics.analysis.report import NO_CURRENCY, CostTotals, TraceReport, TraceSummary

__all__ = [
    "FORMATS",
    "format_cost",
    "group_order",
    "render",
    "render_csv",
    "render_groups",
    "render_json",
    "render_table",
    "render_unpriced",
    "render_unpriced_summary",
]

FORMATS = ("table", "csv", "json")

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
_TABLE_DECIMALS = Decimal("0.000001")
_ROOT_WIDTH = 40


# --- formatting helpers --------------------------------------------------------------------------------
def format_cost(amount: Decimal, currency: str) -> str:
    """`$0.000123`, `€1.500000`, `0.000100 JPY`; amounts below the last shown digit read `<$0.000001`."""
    if 0 < abs(amount) < _TABLE_DECIMALS / 2:
        return "<" + format_cost(_TABLE_DECIMALS, currency)
    text = f"{amount.quantize(_TABLE_DECIMALS, rounding=ROUND_HALF_UP):f}"
    if currency == NO_CURRENCY:
        return f"{text} (no currency)"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def _cost_cell(totals: CostTotals, currencies: Sequence[str]) -> str:
    if totals.llm_calls == 0:
        return "-"
    if totals.fully_unpriced:
        return "unpriced"
    parts = [format_cost(totals.cost[c], c) for c in currencies if c in totals.cost]
    if not parts:  # nothing priced: free calls cost 0; calls that failed were not billed
        return "free" if totals.free_calls else ("failed" if totals.failed_calls else "-")
    text = " + ".join(parts)
    return f"{text}*" if totals.unpriced_calls else text


def _time_cell(start_ns: int) -> str:
    if not start_ns:
        return "-"
    return datetime.fromtimestamp(start_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _iso_time(start_ns: int) -> str | None:
    if not start_ns:
        return None
    moment = datetime.fromtimestamp(start_ns // 1_000_000_000, UTC).replace(
        microsecond=(start_ns % 1_000_000_000) // 1000
    )
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _duration_cell(duration_ns: int) -> str:
    seconds = duration_ns / 1e9
    return f"{seconds * 1000:.1f}ms" if seconds < 1 else f"{seconds:.3f}s"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _currency_order(report: TraceReport) -> list[str]:
    return report.totals.currencies


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# --- table ---------------------------------------------------------------------------------------------
def render_table(report: TraceReport, *, top: int | None = None) -> str:
    """An aligned plain-text table, most expensive trace first, with a totals line and footnotes."""
    currencies = _currency_order(report)
    rows = report.top(top)
    header = [
        "TRACE ID",
        "ROOT SPAN",
        "START (UTC)",
        "DURATION",
        "CALLS",
        "INPUT",
        "OUTPUT",
        "COST",
        "UNPRICED",
    ]
    right = {"DURATION", "CALLS", "INPUT", "OUTPUT", "COST", "UNPRICED"}
    body = [
        [
            summary.trace_id,
            _shorten(summary.display_root, _ROOT_WIDTH),
            _time_cell(summary.start_ns),
            _duration_cell(summary.duration_ns),
            str(summary.totals.llm_calls),
            str(summary.totals.input_tokens),
            str(summary.totals.output_tokens),
            _cost_cell(summary.totals, currencies),
            str(summary.totals.unpriced_calls) if summary.totals.unpriced_calls else "",
        ]
        for summary in rows
    ]
    totals = report.totals
    total_row = [
        f"TOTAL ({_plural(report.total_traces, 'trace')})",
        "",
        "",
        "",
        str(totals.llm_calls),
        str(totals.input_tokens),
        str(totals.output_tokens),
        _cost_cell(totals, currencies),
        str(totals.unpriced_calls) if totals.unpriced_calls else "",
    ]
    widths = [max(len(row[i]) for row in [header, *body, total_row]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if name in right else cell.ljust(width)
            for name, cell, width in zip(header, cells, widths, strict=True)
        ).rstrip()

    out = [line(header), line(["-" * width for width in widths])]
    out.extend(line(row) for row in body)
    out.append(line(["-" * width for width in widths]))
    # The totals label may be wider than the trace-id column; let it spill into the empty columns.
    out.append(line(total_row))
    out.extend(_footnotes(report, shown=len(rows)))
    return "\n".join(out) + "\n"


def _footnotes(report: TraceReport, *, shown: int) -> list[str]:
    notes = []
    if not report.total_traces:
        notes.append("No spans found.")
    elif shown < report.total_traces:
        notes.append(f"Showing top {shown} of {report.total_traces} traces (totals cover all).")
    if report.split_traces:
        notes.append(
            f"{_plural(report.late_spans, 'span')} of {_plural(report.split_traces, 'trace')} came long after the "
            "rest of their trace (which was already folded and not among the rows kept): counted in the totals; "
            "those traces are not listed."
        )
    totals = report.totals
    if totals.unpriced_calls:
        notes.append(
            f"{_plural(totals.unpriced_calls, 'unpriced call')}: no price known, not counted in cost "
            "(* = cost is a lower bound)."
        )
    if totals.mixed_currencies:
        names = ", ".join(c or "(no currency)" for c in totals.currencies)
        notes.append(f"Costs are in several currencies ({names}); they are shown separately, not converted.")
    if report.lines_skipped:
        notes.append(f"{_plural(report.lines_skipped, 'line')} skipped (unreadable input).")
    if report.duplicate_spans:
        notes.append(f"{_plural(report.duplicate_spans, 'duplicate LLM call')} ignored (read more than once).")
    if report.stats and report.stats.spans_skipped:
        notes.append(f"{_plural(report.stats.spans_skipped, 'span')} skipped (malformed).")
    return notes


# --- CSV -----------------------------------------------------------------------------------------------
def _cost_column(currency: str) -> str:
    return f"cost_{currency}" if currency else "cost_no_currency"


def _decimal_text(amount: Decimal) -> str:
    """Exact, without exponent or trailing zeros: `0.000123`, `0.003`, `0`."""
    return f"{amount.normalize():f}" if amount else "0"


def render_csv(report: TraceReport, *, top: int | None = None) -> str:
    """One row per trace, one `cost_<CURRENCY>` column per currency seen; empty cell = no priced call."""
    currencies = _currency_order(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "trace_id",
            "root_span",
            "root_missing",
            "start_time",
            "duration_seconds",
            "span_count",
            "llm_calls",
            "input_tokens",
            "output_tokens",
            *(_cost_column(c) for c in currencies),
            "unpriced_calls",
        ]
    )
    for summary in report.top(top):
        row = summary.totals
        writer.writerow(
            [
                summary.trace_id,
                summary.root_name,
                "true" if summary.root_missing else "false",
                _iso_time(summary.start_ns) or "",
                f"{summary.duration_ns / 1e9:.6f}",
                summary.span_count,
                row.llm_calls,
                row.input_tokens,
                row.output_tokens,
                *(_decimal_text(row.cost[c]) if c in row.cost else "" for c in currencies),
                row.unpriced_calls,
            ]
        )
    return buffer.getvalue()


# --- JSON ----------------------------------------------------------------------------------------------
def _totals_json(totals: CostTotals) -> dict[str, Any]:
    return {
        "llm_calls": totals.llm_calls,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        # Floats for convenience of consumers; keyed by currency so nothing is summed across currencies.
        "cost": {currency: float(totals.cost[currency]) for currency in totals.currencies},
        "unpriced_calls": totals.unpriced_calls,
        "free_calls": totals.free_calls,
        "failed_calls": totals.failed_calls,
    }


def _trace_json(summary: TraceSummary) -> dict[str, Any]:
    return {
        "trace_id": summary.trace_id,
        "root_span": summary.root_name,
        "root_missing": summary.root_missing,
        "start_time": _iso_time(summary.start_ns),
        "start_time_unix_nano": summary.start_ns,
        "duration_seconds": summary.duration_ns / 1e9,
        "span_count": summary.span_count,
        **_totals_json(summary.totals),
    }


def render_json(report: TraceReport, *, top: int | None = None) -> str:
    """A JSON document: `traces` (top N), `totals` (all traces), `input` counters and `problems`."""
    rows = report.top(top)
    stats = report.stats
    document = {
        "traces": [_trace_json(summary) for summary in rows],
        "totals": {"traces": report.total_traces, **_totals_json(report.totals)},
        "currencies": report.totals.currencies,
        "mixed_currencies": report.totals.mixed_currencies,
        "input": {
            "files_read": stats.files_read if stats else None,
            "lines_read": stats.lines_read if stats else None,
            "lines_skipped": stats.lines_skipped if stats else 0,
            "spans_read": stats.spans_read if stats else None,
            "spans_skipped": stats.spans_skipped if stats else 0,
            "duplicate_spans": report.duplicate_spans,
            "late_spans": report.late_spans,
            "split_traces": report.split_traces,
        },
        "problems": [str(problem) for problem in report.problems],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


_RENDERERS = {"table": render_table, "csv": render_csv, "json": render_json}


def render(report: TraceReport, fmt: str = "table", *, top: int | None = None) -> str:
    """Dispatch on `fmt` (one of `FORMATS`)."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}") from None
    return renderer(report, top=top)


# --- group-by reports (cost per provider, model, service, ...) ---------------------------------------------


def group_order(groups: dict[str, CostTotals]) -> list[tuple[str, CostTotals]]:
    """Groups most expensive first: by the cost in the single currency, or the sum when several are mixed."""
    currencies = sorted({c for totals in groups.values() for c in totals.currencies})
    main = currencies[0] if len(currencies) == 1 else None

    def weight(item: tuple[str, CostTotals]) -> tuple[Decimal, int, str]:
        totals = item[1]
        cost = sum(totals.cost.values(), Decimal(0)) if main is None else totals.cost.get(main, Decimal(0))
        return (-cost, -(totals.input_tokens + totals.output_tokens), item[0])

    return sorted(groups.items(), key=weight)


def render_groups(groups: dict[str, CostTotals], by: str, fmt: str = "table") -> str:
    """Cost per `by` value, most expensive first (by the total of the most used currency)."""
    currencies = sorted({c for totals in groups.values() for c in totals.currencies})
    ordered = group_order(groups)
    if fmt == "json":
        return json.dumps({"by": by, "groups": [{by: name, **_totals_json(t)} for name, t in ordered]}, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
                by,
                "llm_calls",
                "input_tokens",
                "output_tokens",
                *(f"cost_{c}" for c in currencies),
                "unpriced_calls",
                "failed_calls",
            ]
        )
        for name, t in ordered:
            writer.writerow(
                [
                    name,
                    t.llm_calls,
                    t.input_tokens,
                    t.output_tokens,
                    *(_decimal_text(t.cost[c]) if c in t.cost else "" for c in currencies),
                    t.unpriced_calls,
                    t.failed_calls,
                ]
            )
        return buffer.getvalue()
    header = (by.upper(), "CALLS", "INPUT", "OUTPUT", "COST", "UNPRICED")
    rows = [
        (
            name,
            str(t.llm_calls),
            str(t.input_tokens),
            str(t.output_tokens),
            _cost_cell(t, currencies),
            str(t.unpriced_calls) if t.unpriced_calls else "",
        )
        for name, t in ordered
    ]
    widths = [max(len(cells[i]) for cells in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


# --- unpriced calls --------------------------------------------------------------------------------------
_UNPRICED_FIELDS = (
    "trace_id",
    "span_id",
    "start_time",
    "service",
    "provider",
    "model",
    "reason",
    "input_tokens",
    "output_tokens",
)


def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(cells[i]) for cells in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def render_unpriced_summary(recorder: UnpricedRecorder) -> str:
    """A short table for the end of the default output: unpriced calls per provider, model and reason."""
    if not recorder.total:
        return ""
    ordered = sorted(recorder.counts.items(), key=lambda item: (-item[1], item[0]))
    rows = [(provider, model, reason, str(count)) for (provider, model, reason), count in ordered]
    lines = _aligned(("PROVIDER", "MODEL", "REASON", "CALLS"), rows, {3})
    title = f"Unpriced calls ({recorder.total}), not counted in cost; list them with --unpriced:"
    return "\n".join(["", title, *lines]) + "\n"


def render_unpriced(recorder: UnpricedRecorder, fmt: str = "table") -> str:
    """Each unpriced call (up to the recorder's limit) with its reason, as a table, CSV or JSON."""
    rows = [
        (
            call.trace_id,
            call.span_id,
            _iso_time(call.start_ns) or "",
            call.service,
            call.provider,
            call.model,
            call.reason,
            str(call.input_tokens),
            str(call.output_tokens),
        )
        for call in recorder.calls
    ]
    hidden = recorder.total - len(recorder.calls)
    if fmt == "json":
        document = {
            "unpriced_calls": [dict(zip(_UNPRICED_FIELDS, row, strict=True)) for row in rows],
            "total": recorder.total,
            "by_reason": [
                {"provider": p, "model": m, "reason": r, "calls": n} for (p, m, r), n in sorted(recorder.counts.items())
            ],
        }
        for entry in document["unpriced_calls"]:
            entry["input_tokens"] = int(entry["input_tokens"])
            entry["output_tokens"] = int(entry["output_tokens"])
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_UNPRICED_FIELDS)
        writer.writerows(rows)
        return buffer.getvalue()
    if not rows:
        return "No unpriced calls.\n"
    lines = _aligned([name.upper() for name in _UNPRICED_FIELDS], rows, {7, 8})
    if hidden > 0:
        lines.append(f"... and {hidden} more unpriced calls (only the first {len(rows)} are listed).")
    return "\n".join(lines) + "\n"
