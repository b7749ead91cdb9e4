"""`otel-tokenomics report`: cost per trace from OTLP/JSON trace files.

Reads what the Collector `file` exporter (or `JsonLinesSpanExporter`) wrote, plain or gzipped, files or
directories, and prints the most expensive traces. Unreadable lines are skipped and listed on stderr, so a
single torn line at the end of a live file does not cost the whole report.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from otel_tokenomics.cli import CommandError

__all__ = ["register", "run"]

_FORMATS = ("table", "csv", "json")
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


def _attribute(*names: str) -> Any:
    def key(record: Any) -> str:
        for name in names:
            value = record.attributes.get(name)
            if value not in (None, ""):
                return str(value)
        return "(none)"

    return key


# Group keys for `--by`: span attributes first (conventions' names, then common alternatives), or the resource.
_GROUP_KEYS: dict[str, Any] = {
    "trace": None,
    "provider": _attribute("gen_ai.provider.name", "gen_ai.system"),
    "model": _attribute("gen_ai.response.model", "gen_ai.request.model"),
    "operation": _attribute("gen_ai.operation.name"),
    "user": _attribute("user.id", "enduser.id"),
    "session": _attribute("gen_ai.conversation.id", "session.id"),
    "service": lambda record: str(record.resource.get("service.name", "(none)")),
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="cost per trace from OTLP/JSON trace files",
        description=(
            "Aggregate token usage and cost per trace from OTLP/JSON trace files (Collector file exporter "
            "output, JSON lines or a single document, optionally gzipped; directories are read recursively)."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="trace file or directory")
    parser.add_argument("--top", type=_positive_int, metavar="N", help="show only the N most expensive traces")
    parser.add_argument(
        "--by",
        choices=sorted(_GROUP_KEYS),
        default="trace",
        help="what to total cost per (default: trace; the other groups sum LLM calls only)",
    )
    parser.add_argument("--format", choices=_FORMATS, default="table", help="output format (default: table)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Heavy imports stay here so `otel-tokenomics --help` does not pay for them.
    from otel_tokenomics.analysis.otlp_reader import OtlpReader
    from otel_tokenomics.analysis.render import render
    from otel_tokenomics.analysis.report import build_trace_report

    try:
        reader = OtlpReader(args.paths, log_problems=False)
    except FileNotFoundError as error:
        raise CommandError(f"no such file or directory: {error.filename}") from None
    if args.by == "trace":
        report = build_trace_report(reader, stats=reader.stats, problems=reader.problems)
        text = render(report, args.format, top=args.top)
    else:
        from otel_tokenomics.analysis.render import render_groups
        from otel_tokenomics.analysis.report import aggregate

        groups = aggregate(reader, _GROUP_KEYS[args.by])
        text = render_groups(groups, args.by, args.format)
    _print_problems(reader.problems, reader.stats.problems_total)

    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as error:
            raise CommandError(f"cannot write {args.output}: {error.strerror or error}") from None
    else:
        sys.stdout.write(text)
    return 0


def _print_problems(problems: list[Any], total: int) -> None:
    for problem in problems[:_MAX_PROBLEMS_SHOWN]:
        print(f"warning: {problem}", file=sys.stderr)
    hidden = total - min(len(problems), _MAX_PROBLEMS_SHOWN)
    if hidden > 0:
        print(f"warning: ... and {hidden} more problem(s)", file=sys.stderr)
