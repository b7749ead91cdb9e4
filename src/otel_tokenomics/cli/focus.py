"""`otel-tokenomics focus`: FOCUS 1.2 cost-and-usage rows (CSV or Parquet) from OTLP/JSON trace files.

The FinOps side of the report: the same inputs and filters as `report`, written as the columns billing
tools (and the FOCUS validator) expect. Unpriced calls are left out of the rows, because FOCUS cost columns
cannot be null and a 0 would claim they were free, and listed on stderr with their count per provider,
model and reason; `--fail-on-unpriced` turns that into exit status 1 for pipelines.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from otel_tokenomics.cli import CommandError

__all__ = ["register", "run"]

_MAX_PROBLEMS_SHOWN = 20


def register(subparsers: Any) -> None:
    from otel_tokenomics.analysis.filters import add_filter_arguments

    parser = subparsers.add_parser(
        "focus",
        help="FOCUS 1.2 cost-and-usage export (CSV or Parquet) from OTLP/JSON trace files",
        description=(
            "Export LLM cost as FinOps FOCUS 1.2 cost-and-usage rows: one row per charge period, provider, "
            "model, OTel service and token class (input, cache_read, cache_write, output). Reads the same "
            "files as `report` (JSON lines or one document, gzipped or not, directories recursively)."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="trace file or directory")
    parser.add_argument(
        "--period", choices=("hour", "day"), default="day", help="charge period per row, in UTC (default: day)"
    )
    parser.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="csv (default) or parquet (needs pyarrow)"
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default: stdout; required for parquet)")
    parser.add_argument(
        "--price-sheet",
        action="append",
        metavar="FILE",
        help=(
            "your contract prices (TOML/YAML price sheet, repeatable): they set ContractedCost/BilledCost "
            "where they match a call; default: $OTEL_TOKENOMICS_PRICE_SHEET"
        ),
    )
    parser.add_argument("--billing-account-id", metavar="ID", help="BillingAccountId of every row (default: provider)")
    parser.add_argument("--billing-account-name", metavar="NAME", help="BillingAccountName of every row")
    parser.add_argument(
        "--fail-on-unpriced", action="store_true", help="exit with status 1 when any call could not be priced"
    )
    add_filter_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from otel_tokenomics.analysis.filters import SpanFilter
    from otel_tokenomics.analysis.focus import CallPricer, FocusExport
    from otel_tokenomics.analysis.focus_write import ParquetUnavailable, write_csv, write_parquet
    from otel_tokenomics.analysis.otlp_reader import OtlpReader
    from otel_tokenomics.semconv.prices import PriceBook, PriceSheetError

    if args.format == "parquet" and not args.output:
        raise CommandError("--format parquet writes a binary file: give it with -o FILE")
    try:
        span_filter = SpanFilter.from_args(args)
    except ValueError as error:
        raise CommandError(str(error)) from None
    try:
        book = PriceBook(args.price_sheet) if args.price_sheet else PriceBook.default()
    except (PriceSheetError, OSError) as error:
        raise CommandError(f"price sheet: {error}") from None
    try:
        # Only LLM calls are billed: other spans' attributes are never decoded.
        reader = OtlpReader(args.paths, log_problems=False, llm_attributes_only=True)
    except FileNotFoundError as error:
        raise CommandError(f"no such file or directory: {error.filename}") from None

    export = FocusExport(
        period=args.period,
        pricer=CallPricer(book),
        billing_account_id=args.billing_account_id,
        billing_account_name=args.billing_account_name,
    )
    export.consume((record for record in reader if span_filter.matches(record)) if span_filter else reader)
    rows = export.rows()
    try:
        if args.format == "parquet":
            write_parquet(rows, args.output)
        elif args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as handle:
                write_csv(rows, handle)
        else:
            write_csv(rows, sys.stdout)
    except ParquetUnavailable as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot write {args.output}: {error.strerror or error}") from None

    _report_problems(reader)
    _report_summary(export, len(rows), args.output)
    return 1 if args.fail_on_unpriced and export.unpriced_calls else 0


def _report_problems(reader: Any) -> None:
    for problem in reader.problems[:_MAX_PROBLEMS_SHOWN]:
        print(f"warning: {problem}", file=sys.stderr)
    hidden = reader.stats.problems_total - min(len(reader.problems), _MAX_PROBLEMS_SHOWN)
    if hidden > 0:
        print(f"warning: ... and {hidden} more problem(s)", file=sys.stderr)
    if reader.stats.lines_skipped:
        print(f"warning: {reader.stats.lines_skipped} unreadable line(s) skipped", file=sys.stderr)


def _report_summary(export: Any, row_count: int, output: str | None) -> None:
    where = f" to {output}" if output else ""
    print(
        f"focus: {row_count} row(s){where} from {export.priced_calls} priced LLM call(s), "
        f"{'hourly' if export.period == 'hour' else 'daily'} charge periods",
        file=sys.stderr,
    )
    if export.duplicate_calls:
        print(f"warning: {export.duplicate_calls} LLM call(s) read more than once, counted once", file=sys.stderr)
    if not export.unpriced:
        return
    print(
        f"warning: {export.unpriced_calls} unpriced LLM call(s) not exported (no price known; FOCUS cost "
        "columns cannot be null and 0 would claim they were free):",
        file=sys.stderr,
    )
    for (provider, model, reason), group in sorted(export.unpriced.items()):
        print(
            f"  {provider} {model}: {group.calls} call(s), {group.input_tokens} input + "
            f"{group.output_tokens} output tokens ({reason})",
            file=sys.stderr,
        )
