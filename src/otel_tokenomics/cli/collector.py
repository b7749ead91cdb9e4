"""`otel-tokenomics collector --upstream URL`: an OTLP collector (Rotel) that prices the spans of any app.

Why: apps instrumented with OpenLLMetry, OpenInference, the OTel GenAI instrumentations or anything else
emit token counts but no cost. Pointing their OTLP exporter at this collector puts our cost attributes on
every LLM span and, after a short wait per trace, the trace's totals on its root span, then forwards
everything to the backend at URL. Runs in the foreground; Ctrl-C or SIGTERM stops Rotel (by its PID) and
sends what is still held.

Exit status: 0 stopped by a signal, 1 Rotel died while running, 2 bad options or Rotel failed to start.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from otel_tokenomics.cli import CommandError

__all__ = ["register"]


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1-65535, got {value}")
    return value


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0 if kind is int else value < 0:
            raise argparse.ArgumentTypeError(f"must be {'at least 1' if kind is int else '>= 0'}, got {text}")
        return value

    return parse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # Roll-up defaults (None here) come from otel_tokenomics.processor.rollup in the handler: importing it
    # here would cost `otel-tokenomics --help` a third of a second.
    parser = subparsers.add_parser(
        "collector",
        help="run an OTLP collector (Rotel) that prices every LLM span and rolls cost up per trace",
        description="Receive OTLP (gRPC and HTTP) from any app, price every GenAI span (OTel GenAI, OpenLLMetry, "
        "OpenInference, OpenLIT, Logfire, Vercel AI), put per-trace totals on root spans, and export OTLP/HTTP "
        "to URL (URL/v1/traces, URL/v1/metrics). Needs the 'collector' extra (Rotel).",
    )
    parser.add_argument(
        "--upstream",
        required=True,
        metavar="URL",
        help="OTLP/HTTP base URL to export to, or file:PATH to write OTLP JSON lines (the Collector file "
        "exporter's format; metrics beside it as <stem>.metrics.jsonl)",
    )
    parser.add_argument(
        "--cost-attributes",
        choices=("full", "compact"),
        default="full",
        help="cost attributes per LLM span: full (per-class breakdown, catalog entry, dialect; what in-app pricing "
        "writes) or compact (amount, currency, source, status: less CPU in Rotel)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address the OTLP receivers listen on")
    parser.add_argument("--grpc-port", type=_port, default=4317, help="OTLP/gRPC receiver port (default 4317)")
    parser.add_argument("--http-port", type=_port, default=4318, help="OTLP/HTTP receiver port (default 4318)")
    parser.add_argument(
        "--rollup-wait",
        type=_positive(float),
        metavar="SECONDS",
        help="how long to hold a trace after its first span before rolling it up (default 10)",
    )
    parser.add_argument(
        "--max-traces",
        type=_positive(int),
        metavar="N",
        help="traces held at most; beyond, the oldest is released early (default 10000)",
    )
    parser.add_argument(
        "--max-spans-per-trace",
        type=_positive(int),
        metavar="N",
        help="a trace with this many spans is released early (default 1000)",
    )
    parser.add_argument("--no-rollup", action="store_true", help="price spans only: Rotel exports to URL directly")
    parser.add_argument(
        "--price-sheet", action="append", default=[], metavar="FILE", help="price sheet (.toml/.yaml); repeatable"
    )
    parser.add_argument("--log-file", type=Path, metavar="PATH", help="Rotel's log (default: in the temp dir)")
    parser.add_argument(
        "--stats-interval",
        type=_positive(float),
        default=30.0,
        metavar="SECONDS",
        help="how often the processor logs its counters (default 30)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from otel_tokenomics.collector import Collector, CollectorOptions, RotelStartError
    from otel_tokenomics.processor import rollup
    from otel_tokenomics.semconv.prices.sheet import PriceSheetError

    options = CollectorOptions(
        upstream=args.upstream,
        host=args.host,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        rollup=not args.no_rollup,
        rollup_wait_seconds=_given(args.rollup_wait, rollup.DEFAULT_WAIT_SECONDS),
        max_traces=_given(args.max_traces, rollup.DEFAULT_MAX_TRACES),
        max_spans_per_trace=_given(args.max_spans_per_trace, rollup.DEFAULT_MAX_SPANS_PER_TRACE),
        price_sheets=tuple(args.price_sheet),
        log_file=args.log_file,
        stats_interval_seconds=args.stats_interval,
        extra_environment={"OTEL_TOKENOMICS_COST_ATTRIBUTES": args.cost_attributes},
    )
    try:
        collector = Collector(options)
    except ValueError as error:
        raise CommandError(str(error)) from None
    # SIGTERM ends the run like Ctrl-C does, so Rotel is stopped and held traces are sent.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        try:
            collector.start()
        except (RotelStartError, PriceSheetError) as error:
            raise CommandError(str(error)) from None
        _print_started(collector)
        try:
            collector.wait()
        except KeyboardInterrupt:
            print("\nstopping: Rotel, then sending the traces still held ...", file=sys.stderr)
        except RotelStartError as error:
            print(f"otel-tokenomics collector: {error}", file=sys.stderr)
            _print_summary(collector.stop())
            return 1
        _print_summary(collector.stop())
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _print_started(collector: Any) -> None:
    options = collector.options
    agent = collector.agent
    rollup = (
        f"per-trace roll-up after {options.rollup_wait_seconds:g} s (max {options.max_traces} traces, "
        f"{options.max_spans_per_trace} spans each) via relay {collector.relay.endpoint}"
        if collector.relay
        else "no roll-up (--no-rollup)"
    )
    print(
        f"otel-tokenomics collector: Rotel running (pid {agent.pid})\n"
        f"  receiving OTLP  gRPC {agent.settings.grpc_endpoint}   HTTP http://{agent.settings.http_endpoint}\n"
        f"  pricing         every GenAI span ({agent.settings.processor})\n"
        f"  rolling up      {rollup}\n"
        f"  exporting to    {_destinations(collector)}\n"
        f"  Rotel log       {collector.log_file} (processor counters every {options.stats_interval_seconds:g} s)\n"
        "  Ctrl-C to stop",
        flush=True,
    )


def _print_summary(summary: dict[str, int]) -> None:
    if summary:
        text = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in summary.items())
        print(f"otel-tokenomics collector: stopped; {text}", file=sys.stderr)
    else:
        print("otel-tokenomics collector: stopped", file=sys.stderr)


def _destinations(collector: Any) -> str:
    if collector.to_file:
        upstream = collector.relay.upstream
        return f"{upstream.destination('/v1/traces')} (traces), {upstream.destination('/v1/metrics')} (metrics)"
    return f"{collector.upstream_url}/v1/traces, {collector.upstream_url}/v1/metrics"
