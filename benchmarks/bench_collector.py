"""Spans/s through Rotel with our pricing processor vs Rotel passthrough, in the same run.

Run: `/work/main/.venv/bin/python benchmarks/bench_collector.py [--spans N] [--rounds R] [--json FILE]`
(needs the `collector` extra and psutil, from the `bench` extra).

How it measures, and why:

* **Rotel only.** Rotel exports to its blackhole exporter, so no sink competes for the 2 vCPUs; what is
  measured is receive + decode + (processor) + batch. A sender thread pair POSTs pre-encoded OTLP/HTTP
  protobuf requests of `--batch` spans over keep-alive connections; encoding is done before timing.
* **CPU µs/span is the figure to trust.** It is psutil's user+system time of the rotel-agent PID over the
  run, divided by spans: it does not move with the neighbours' load the way wall-clock does. Spans/s is
  spans ÷ (first send → Rotel idle again: its CPU time stopped growing for 0.3 s, that window excluded).
* **Interleaved.** Every round runs each configuration once (a fresh agent each), alternating
  passthrough and processor; the median over rounds is reported.
* **Traffic.** `mixed`: traces of 10 spans — an HTTP server span (flask scope), a GenAI chat call
  (openai-v2 scope, OTel GenAI attributes), 2 app spans (an unknown scope, so their keys are checked),
  4 database spans (sqlalchemy) and 2 HTTP client spans (httpx): 10 % GenAI, as in a typical service.
  `mixed-unknown-scope`: the same spans, all in one unknown scope (the worst case for the scope shortcut:
  every non-GenAI span pays the key check). `genai`: every span a priced chat call.
* **Target**: with the processor, mixed traffic keeps >= 0.5x passthrough (judged on CPU per span, the
  stable figure; the wall-clock ratio is printed next to it).

Exit status: 0 target met, 1 missed, 2 a configuration broke (agent did not start, a request failed).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from otel_tokenomics.collector.rotel import RotelAgent, RotelSettings, processor_file

TARGET_RATIO = 0.5
SERVER, CLIENT, INTERNAL = 2, 3, 1

_GENAI = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.response.id": "chatcmpl-0123456789",
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.usage.input_tokens": 1250,
    "gen_ai.usage.output_tokens": 180,
    "server.address": "api.openai.com",
    "server.port": 443,
}
_SERVER = {
    "http.request.method": "POST", "url.path": "/ask", "url.scheme": "https", "http.route": "/ask",
    "http.response.status_code": 200, "server.address": "app.local", "user_agent.original": "curl/8.5",
    "network.protocol.version": "1.1",
}
_DB = {"db.system": "postgresql", "db.name": "app", "db.statement": "SELECT * FROM docs WHERE id = $1",
       "server.address": "db.local", "server.port": 5432}
_HTTP = {"http.request.method": "GET", "url.full": "https://search.local/q", "http.response.status_code": 200,
         "server.address": "search.local", "server.port": 443, "network.protocol.version": "2"}
_APP = {"app.step": "retrieve", "app.documents": 5, "app.cache_hit": False}

# (scope, kind, name, attributes) for the 10 spans of one mixed trace; index 1 is the GenAI call.
_MIXED_TRACE = [
    ("opentelemetry.instrumentation.flask", SERVER, "POST /ask", _SERVER),
    ("opentelemetry.instrumentation.openai_v2", CLIENT, "chat gpt-4o-mini", _GENAI),
    ("myapp", INTERNAL, "retrieve", _APP),
    ("myapp", INTERNAL, "rerank", _APP),
    *[("opentelemetry.instrumentation.sqlalchemy", CLIENT, "SELECT app", _DB)] * 4,
    *[("opentelemetry.instrumentation.httpx", CLIENT, "GET", _HTTP)] * 2,
]


def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(_value(v) for v in value)
        return out
    return AnyValue(string_value=value)


def _traffic(kind: str, spans: int, batch: int) -> list[bytes]:
    """Pre-encoded requests of `batch` spans each, grouped per scope as an SDK exporter would."""
    rows: list[tuple[str, int, str, dict[str, Any]]] = []
    while len(rows) < spans:
        if kind == "genai":
            rows.append(("opentelemetry.instrumentation.openai_v2", CLIENT, "chat gpt-4o-mini", _GENAI))
        elif kind == "mixed":
            rows.extend(_MIXED_TRACE)
        else:  # mixed-unknown-scope
            rows.extend(("myapp", k, n, a) for _, k, n, a in _MIXED_TRACE)
    rows = rows[:spans]
    bodies = []
    for start in range(0, len(rows), batch):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.add(key="service.name").value.string_value = "bench-app"
        scopes: dict[str, Any] = {}
        trace_id = os.urandom(16)
        for index, (scope, span_kind, name, attributes) in enumerate(rows[start : start + batch]):
            if index % 10 == 0:
                trace_id = os.urandom(16)
            scope_spans = scopes.get(scope)
            if scope_spans is None:
                scope_spans = scopes[scope] = resource_spans.scope_spans.add()
                scope_spans.scope.name = scope
            span = scope_spans.spans.add(trace_id=trace_id, span_id=os.urandom(8), name=name, kind=span_kind)
            span.start_time_unix_nano = 1_760_000_000_000_000_000 + index
            span.end_time_unix_nano = span.start_time_unix_nano + 1_000_000
            for key, value in attributes.items():
                span.attributes.add(key=key).value.CopyFrom(_value(value))
        bodies.append(request.SerializeToString())
    return bodies


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _send_all(port: int, bodies: list[bytes], connections: int = 2) -> None:
    failures: list[str] = []

    def worker(share: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for body in share:
            connection.request("POST", "/v1/traces", body=body, headers={"Content-Type": "application/x-protobuf"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures.append(f"HTTP {response.status}")
        connection.close()

    threads = [threading.Thread(target=worker, args=(bodies[i::connections],)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed: {failures[:3]}")


def _cpu(process: Any) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _wait_idle(process: Any, quiet_seconds: float = 0.3) -> float:
    """When the agent last worked: Rotel answers a request once it is queued, so it is done with what it was
    sent when its CPU time stops growing (for `quiet_seconds`)."""
    last_cpu, busy_until = _cpu(process), time.perf_counter()
    while time.perf_counter() - busy_until < quiet_seconds:
        time.sleep(0.05)
        now_cpu = _cpu(process)
        if now_cpu - last_cpu > 0.005:
            last_cpu, busy_until = now_cpu, time.perf_counter()
    return busy_until


@dataclass
class Run:
    config: str
    traffic: str
    spans: int
    seconds: float
    cpu_seconds: float

    @property
    def spans_per_second(self) -> float:
        return self.spans / self.seconds

    @property
    def cpu_us_per_span(self) -> float:
        return self.cpu_seconds * 1e6 / self.spans


_NOOP_PROCESSOR = "def process_spans(resource_spans):\n    pass\n"
# Our processor with SpanEnricher replaced by a stub: what reading (and writing) through Rotel's wrappers
# costs on its own. "read" gets a verdict with nothing to add; "read+write" the attributes of a real priced
# gpt-4o-mini call, computed once.
_STUBBED_PROCESSOR = """
exec(compile(open({path!r}).read(), {path!r}, "exec"))
_real = _state.enricher
_canned = _real.enrich({attributes!r})
_verdict = _canned if {write!r} else type(_canned)("skipped", "stub", {{}}, None, None, 0, 0, False)


class _StubEnricher:
    stats = _real.stats

    def enrich(self, attributes, **facts):
        return _verdict


_state.enricher = _StubEnricher()
"""


def _processor_for(config: str, log_dir: Path) -> Path | None:
    if config in ("processor", "compact"):
        return processor_file()
    if config == "passthrough":
        return None
    path = log_dir / f"{config.replace('+', '_')}_processor.py"
    if config == "noop":  # Rotel's own cost of handing spans to Python and back
        path.write_text(_NOOP_PROCESSOR)
    else:
        write = config == "read+write"
        path.write_text(_STUBBED_PROCESSOR.format(path=str(processor_file()), attributes=_GENAI, write=write))
    return path


def _measure(config: str, traffic: str, bodies: list[bytes], spans: int, log_dir: Path) -> Run:
    import psutil

    settings = RotelSettings(
        grpc_port=_free_port(),
        http_port=_free_port(),
        exporter="blackhole",
        processor=_processor_for(config, log_dir),
        log_file=log_dir / f"rotel-{config}-{traffic}.log",
        stats_interval_seconds=3600,
        extra_environment={"OTEL_TOKENOMICS_COST_ATTRIBUTES": "compact" if config == "compact" else "full"},
    )
    agent = RotelAgent(settings).start()
    try:
        process = psutil.Process(agent.pid)
        # Warm-up: the first GenAI span builds the price catalog (seconds, once per agent); not measured.
        _send_all(settings.http_port, bodies[:4])
        _wait_idle(process)
        cpu_before = _cpu(process)
        started = time.perf_counter()
        _send_all(settings.http_port, bodies[4:])
        seconds = _wait_idle(process) - started
        cpu_seconds = _cpu(process) - cpu_before
        if not agent.alive():
            raise RuntimeError(f"rotel-agent died; log {settings.log_file}")
    finally:
        agent.stop()
    measured = spans * (len(bodies) - 4) // len(bodies)
    return Run(config, traffic, measured, seconds, cpu_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=204_800, help="spans per measured run (mixed traffic)")
    parser.add_argument("--genai-spans", type=int, default=51_200, help="spans per run, GenAI-only traffic")
    parser.add_argument("--batch", type=int, default=512, help="spans per OTLP request")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the runs and medians here")
    parser.add_argument("--noop", action="store_true", help="also run a no-op Python processor (Rotel's own share)")
    parser.add_argument(
        "--breakdown", action="store_true",
        help="also run our processor with the enricher stubbed: reads only, and reads + writes (Rotel's wrappers)",
    )
    parser.add_argument(
        "--compact", action="store_true",
        help="also run our processor writing only the 4 compact cost attributes (--cost-attributes compact)",
    )
    parser.add_argument("--traffic", action="append", choices=("mixed", "mixed-unknown-scope", "genai"),
                        help="traffic kinds to run (default: all three); repeatable")
    args = parser.parse_args(argv)

    sizes = {"mixed": args.spans, "mixed-unknown-scope": args.spans, "genai": args.genai_spans}
    traffics = {name: sizes[name] for name in (args.traffic or sizes)}
    configs = ("passthrough", *(["noop"] if args.noop else []),
               *(["read", "read+write"] if args.breakdown else []), "processor", *(["compact"] if args.compact else []))
    encoded = {name: _traffic(name, spans, args.batch) for name, spans in traffics.items()}
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
        try:
            for round_index in range(args.rounds):
                for traffic, bodies in encoded.items():
                    order = configs if round_index % 2 == 0 else configs[::-1]
                    for config in order:
                        run = _measure(config, traffic, bodies, traffics[traffic], Path(tmp))
                        runs.append(run)
                        print(
                            f"  round {round_index + 1} {traffic:<20} {config:<11} {run.spans_per_second:>10,.0f} "
                            f"spans/s  {run.cpu_us_per_span:6.2f} CPU µs/span",
                            flush=True,
                        )
        except Exception as error:
            print(f"bench_collector: {error}", file=sys.stderr)
            return 2

    print(f"\nRotel (blackhole exporter), median of {args.rounds} rounds:")
    print(f"{'traffic':<20} {'config':<12} {'spans/s':>10} {'CPU µs/span':>12}")
    medians: dict[tuple[str, str], tuple[float, float]] = {}
    for traffic in traffics:
        for config in configs:
            chosen = [r for r in runs if r.traffic == traffic and r.config == config]
            rate = statistics.median(r.spans_per_second for r in chosen)
            cpu = statistics.median(r.cpu_us_per_span for r in chosen)
            medians[(traffic, config)] = (rate, cpu)
            print(f"{traffic:<20} {config:<12} {rate:>10,.0f} {cpu:>12.2f}")
    print()
    verdict = 0
    for traffic in traffics:
        pass_rate, pass_cpu = medians[(traffic, "passthrough")]
        proc_rate, proc_cpu = medians[(traffic, "processor")]
        cpu_ratio, wall_ratio = pass_cpu / proc_cpu, proc_rate / pass_rate
        line = f"{traffic:<20} processor/passthrough: {cpu_ratio:.2f}x by CPU per span, {wall_ratio:.2f}x by spans/s"
        shares = [(name, medians[(traffic, name)][1]) for name in ("noop", "read", "read+write", "compact")
                  if name in configs]
        if shares:
            parts = ", ".join(f"{name} {cpu - pass_cpu:+.2f}" for name, cpu in shares)
            line += f"\n{'':<20}   added CPU µs/span: {parts}, full processor {proc_cpu - pass_cpu:+.2f}"
        if traffic == "mixed":
            met = cpu_ratio >= TARGET_RATIO
            verdict = 0 if met else 1
            line += f"  target >= {TARGET_RATIO}x: {'PASS' if met else 'MISS'}"
        print(line)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "runs": [r.__dict__ | {"spans_per_second": r.spans_per_second,
                                           "cpu_us_per_span": r.cpu_us_per_span} for r in runs],
                    "medians": {f"{t}/{c}": {"spans_per_second": v[0], "cpu_us_per_span": v[1]}
                                for (t, c), v in medians.items()},
                },
                indent=2,
            )
        )
    return verdict


if __name__ == "__main__":
    sys.exit(main())
