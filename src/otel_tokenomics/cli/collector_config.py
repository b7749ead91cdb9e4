"""`otel-tokenomics collector-config`: otelcol-contrib configuration that prices spans with OTTL.

Why: teams that outgrow one process or one machine run the standard OpenTelemetry Collector; this writes its
configuration from the same price book the instrumentation uses (catalog + `--price-sheet`), so spans priced
in the collector carry the same attributes and amounts as spans priced in-app. What OTTL cannot express is
listed at the top of the YAML and on stderr, never dropped silently.

Layouts: `single` (one collector: `single.yaml`) or `two-tier` (`tier1.yaml` routes by trace ID with the
loadbalancing exporter to `tier2.yaml`, which prices). `-o DIR` writes the files there, `-o FILE.yaml` writes the
single layout to that file, no `-o` prints to stdout. Exit status 0, or 2 for a usage error or a bad sheet.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from otel_tokenomics.cli import CommandError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "collector-config",
        help="generate an otelcol-contrib config (OTTL transform) that prices spans",
        description="Generate OpenTelemetry Collector (contrib >= 0.120) configuration: a transform processor "
        "whose OTTL statements price GenAI spans from the price book, a sum connector turning cost into metrics, "
        "and optionally a two-tier layout (loadbalancing by trace ID).",
    )
    parser.add_argument("--layout", choices=("single", "two-tier"), default="single")
    parser.add_argument("--models", nargs="+", action="extend", default=[], metavar="PATTERN",
                        help="catalog model ids to compile (case-insensitive globs, e.g. 'gpt-4o*'); default: all")
    parser.add_argument("--providers", nargs="+", action="extend", default=[], metavar="PROVIDER",
                        help="catalog provider ids or OTel provider names to compile; default: all")
    parser.add_argument("--price-sheet", action="append", default=[], metavar="PATH",
                        help="price sheet (.toml/.yaml), repeatable; applied before the catalog")
    parser.add_argument("--currency", help="report currency (needs a rate in a sheet); default: the sheets' or USD")
    parser.add_argument("--at", metavar="DATE", help="price date (ISO date or date-time, UTC); default: now")
    parser.add_argument("--upstream", default="http://otel-backend:4318",
                        help="OTLP/HTTP endpoint receiving priced spans and cost metrics")
    parser.add_argument("--tier2-hostname", default="tokenomics-tier2-headless",
                        help="DNS name resolving to every tier-2 collector (two-tier)")
    parser.add_argument("--group-by-trace", action="store_true",
                        help="add groupbytrace before pricing (two-tier tier 2 / single)")
    parser.add_argument("-o", "--output", metavar="DIR|FILE", help="directory or .yaml file; default: stdout")
    parser.set_defaults(handler=_run)


def _when(text: str | None) -> float | None:
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--at {text!r}: expected an ISO date or date-time ({error})") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _command(args: argparse.Namespace) -> str:
    """The command line that regenerates the files (without -o, which only says where they go)."""
    words = ["otel-tokenomics", "collector-config", "--layout", args.layout]
    for flag, values in (("--models", args.models), ("--providers", args.providers)):
        if values:
            words += [flag, *values]
    for sheet in args.price_sheet:
        words += ["--price-sheet", sheet]
    for flag, value in (("--currency", args.currency), ("--at", args.at), ("--upstream", args.upstream),
                        ("--tier2-hostname", args.tier2_hostname if args.layout == "two-tier" else None)):
        if value:
            words += [flag, value]
    if args.group_by_trace:
        words.append("--group-by-trace")
    return shlex.join(words)


def _run(args: argparse.Namespace) -> int:
    from otel_tokenomics.processor.otelcol import CollectorOptions, render, single_config, tier1_config, tier2_config
    from otel_tokenomics.processor.ottl import compile_price_book
    from otel_tokenomics.semconv.prices import PriceBook
    from otel_tokenomics.semconv.prices.sheet import PriceSheetError

    when = _when(args.at)
    try:
        book = PriceBook(args.price_sheet, currency=args.currency)
    except PriceSheetError as error:
        raise CommandError(str(error)) from error
    try:
        program = compile_price_book(book, models=args.models, providers=args.providers, when=when)
    except ValueError as error:
        raise CommandError(str(error)) from error
    options = CollectorOptions(upstream=args.upstream, tier2_hostname=args.tier2_hostname,
                               group_by_trace=args.group_by_trace)
    command = _command(args)
    documents: dict[str, str] = {}
    if args.layout == "single":
        documents["single.yaml"] = render(single_config(program, options), command=command, program=program,
                                          title="otel-tokenomics: one collector pricing GenAI spans (otelcol-contrib)")
    else:
        documents["tier1.yaml"] = render(tier1_config(options), command=command,
                                         title="otel-tokenomics tier 1: route spans by trace ID to tier 2")
        documents["tier2.yaml"] = render(tier2_config(program, options), command=command, program=program,
                                         title="otel-tokenomics tier 2: price GenAI spans, export, sum cost")
    _write(documents, args.output)
    _summary(program, documents)
    return 0


def _write(documents: dict[str, str], output: str | None) -> None:
    if output is None:
        sys.stdout.write("---\n".join(documents.values()))
        return
    target = Path(output)
    if target.suffix.lower() in (".yaml", ".yml"):
        if len(documents) != 1:
            raise CommandError(f"-o {output}: the two-tier layout writes two files; give a directory")
        files = {target: next(iter(documents.values()))}
    else:
        files = {target / name: text for name, text in documents.items()}
    for path, text in files.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot write {path}: {error.strerror or error}") from error
        print(f"wrote {path}", file=sys.stderr)


def _summary(program: Any, documents: dict[str, str]) -> None:
    print(f"{len(program.statements)} OTTL statements, {program.compiled_models} catalog models "
          f"({', '.join(program.providers) or 'none'}); {sum(len(t) for t in documents.values()) // 1024} KiB",
          file=sys.stderr)
    print(f"not expressed exactly in OTTL: {len(program.unexpressible)}", file=sys.stderr)
    for item in program.unexpressible:
        print(f"  - {item.line()}", file=sys.stderr)
