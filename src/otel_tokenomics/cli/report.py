"""`otel-tokenomics report`: cost and tokens per trace, user, session, service, provider, model, operation, day.

Reads what the Collector `file` exporter (or `JsonLinesSpanExporter`) wrote, OTLP/HTTP JSON request bodies,
plain or gzipped, files or directories, streaming. Filters select LLM calls; calls whose span has no cost are
priced with the price book (catalog + `--price-sheet`). Unreadable lines are skipped and listed on stderr,
so a single torn line at the end of a live file does not cost the whole report.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from otel_tokenomics.cli import CommandError

__all__ = ["register", "run"]

_FORMATS = ("table", "csv", "json", "html")
# Problems echoed on stderr; the rest are only counted (the table's footer has the total).
_MAX_PROBLEMS_SHOWN = 20


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: Any) -> None:
    from otel_tokenomics.analysis.filters import add_filter_arguments
    from otel_tokenomics.analysis.groups import GROUP_BYS

    parser = subparsers.add_parser(
        "report",
        help="cost and tokens per trace, user, session, model, ... from OTLP/JSON trace files",
        description=(
            "Aggregate token usage and cost from OTLP/JSON trace files (Collector file exporter output, JSON "
            "lines or a single OTLP/HTTP JSON document, optionally gzipped; directories are read recursively)."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="trace file or directory")
    parser.add_argument("--top", type=_positive_int, metavar="N", help="show only the N most expensive rows")
    parser.add_argument(
        "--by",
        choices=GROUP_BYS,
        default="trace",
        help="what to total cost per (default: trace; days are UTC)",
    )
    parser.add_argument(
        "--format", choices=_FORMATS, default="table", help="output format (default: table; html: one page)"
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument(
        "--unpriced", action="store_true", help="list each unpriced call with its reason instead of the report"
    )
    parser.add_argument(
        "--price-sheet",
        action="append",
        metavar="PATH",
        help="price sheet (TOML/YAML) for calls whose span has no cost (repeatable; default: "
        "OTEL_TOKENOMICS_PRICE_SHEET)",
    )
    parser.add_argument(
        "--no-pricing", action="store_true", help="use only the costs on the spans; do not price calls without one"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    parser.add_argument(
        "--all-traces",
        action="store_true",
        help="--by trace: keep every trace's row in memory (exact rows for all traces; memory grows with their "
        "number) instead of the most expensive ones",
    )
    add_filter_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Heavy imports stay here so `otel-tokenomics --help` does not pay for them.
    from otel_tokenomics.analysis.filters import SpanFilter
    from otel_tokenomics.analysis.groups import UnpricedRecorder, group_key
    from otel_tokenomics.analysis.otlp_reader import OtlpReader
    from otel_tokenomics.analysis.render import render, render_groups, render_unpriced, render_unpriced_summary
    from otel_tokenomics.analysis.report import DEFAULT_FOLD_WINDOW, DEFAULT_TRACE_ROWS, aggregate, build_trace_report

    try:
        span_filter = SpanFilter.from_args(args)
    except ValueError as error:
        raise CommandError(str(error)) from None
    pricer = _pricer(args)
    progress = _ProgressBar() if not args.no_progress and sys.stderr.isatty() else None
    try:
        reader = OtlpReader(
            args.paths,
            log_problems=False,
            llm_attributes_only=True,
            progress=progress.update if progress else None,
        )
    except FileNotFoundError as error:
        raise CommandError(f"no such file or directory: {error.filename}") from None
    if progress is not None:
        progress.total = reader.total_bytes()
    recorder = UnpricedRecorder()
    cost = recorder.wrap(pricer)
    include = span_filter if span_filter else None
    started = time.perf_counter()

    if args.format == "html":
        text = _html(args, reader, cost, include)
    elif args.by == "trace":
        report = build_trace_report(
            reader,
            stats=reader.stats,
            problems=reader.problems,
            cost=cost,
            include=include,
            top=None if args.all_traces else max(args.top or 0, DEFAULT_TRACE_ROWS),
            window=None if args.all_traces else DEFAULT_FOLD_WINDOW,
        )
        text = render(report, args.format, top=args.top)
    else:
        groups = aggregate(reader, group_key(args.by), cost=cost, include=include)
        if args.top:
            groups = _top_groups(groups, args.top)
        text = render_groups(groups, args.by, args.format)
    if progress is not None:
        progress.close()
    if args.unpriced:
        text = render_unpriced(recorder, "table" if args.format == "html" else args.format)
    elif args.format == "table":
        text += render_unpriced_summary(recorder)
        if span_filter:
            text += f"Filter: {span_filter.describe()}\n"

    _print_problems(reader.problems, reader.stats.problems_total)
    _print_summary(reader, pricer, time.perf_counter() - started)
    _write(args.output, text)
    return 0


def _pricer(args: argparse.Namespace) -> Any:
    from otel_tokenomics.analysis.pricing import SpanPricer
    from otel_tokenomics.semconv.prices import PriceBook, PriceSheetError

    if args.no_pricing:
        return SpanPricer(reprice=False)
    try:
        book = PriceBook(sheets=args.price_sheet) if args.price_sheet else None
    except PriceSheetError as error:
        raise CommandError(f"price sheet: {error}") from None
    except OSError as error:
        raise CommandError(f"cannot read price sheet {error.filename}: {error.strerror or error}") from None
    return SpanPricer(book)


def _html(args: argparse.Namespace, reader: Any, cost: Callable[..., Any], include: Any) -> str:
    """The HTML page (analysis.html): the same pricing and filter as the other formats."""
    from otel_tokenomics.analysis.html import render_html

    return render_html(
        reader,
        top=args.top,
        stats=reader.stats,
        problems=reader.problems,
        sources=list(args.paths),
        cost=cost,
        include=include,
    )


def _top_groups(groups: dict[str, Any], top: int) -> dict[str, Any]:
    from otel_tokenomics.analysis.render import group_order

    return dict(group_order(groups)[:top])


def _write(output: str | None, text: str) -> None:
    if not output:
        sys.stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as error:
        raise CommandError(f"cannot write {output}: {error.strerror or error}") from None


def _print_problems(problems: list[Any], total: int) -> None:
    for problem in problems[:_MAX_PROBLEMS_SHOWN]:
        print(f"warning: {problem}", file=sys.stderr)
    hidden = total - min(len(problems), _MAX_PROBLEMS_SHOWN)
    if hidden > 0:
        print(f"warning: ... and {hidden} more problem(s)", file=sys.stderr)


def _print_summary(reader: Any, pricer: Any, seconds: float) -> None:
    stats = reader.stats
    parts = [
        f"read {stats.spans_read:,} spans from {stats.files_read} file{'s' if stats.files_read != 1 else ''} "
        f"({stats.lines_read:,} lines) in {seconds:.1f} s",
        f"{stats.lines_skipped:,} line{'s' if stats.lines_skipped != 1 else ''} skipped",
    ]
    if stats.spans_skipped:
        parts.append(f"{stats.spans_skipped:,} malformed spans skipped")
    if pricer.priced_by_report:
        parts.append(f"{pricer.priced_by_report:,} calls without a cost on the span priced by the price book")
    print("; ".join(parts), file=sys.stderr)


class _ProgressBar:
    """A one-line bar on stderr (only used when stderr is a terminal), redrawn at most 5 times a second."""

    _WIDTH = 30

    def __init__(self) -> None:
        self.total = 0
        self._last_draw = 0.0
        self._started = time.monotonic()

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last_draw < 0.2:
            return
        self._last_draw = now
        fraction = min(1.0, done / self.total) if self.total else 0.0
        filled = int(fraction * self._WIDTH)
        rate = done / max(now - self._started, 1e-9) / 1e6
        bar = "#" * filled + "-" * (self._WIDTH - filled)
        sys.stderr.write(f"\r[{bar}] {fraction:4.0%}  {done / 1e6:,.0f}/{self.total / 1e6:,.0f} MB  {rate:.0f} MB/s")
        sys.stderr.flush()

    def close(self) -> None:
        if self._last_draw:
            sys.stderr.write("\r" + " " * (self._WIDTH + 40) + "\r")
            sys.stderr.flush()
