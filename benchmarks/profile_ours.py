"""Where an instrumentation's added time goes, per call, by component (span start/end, metrics, price, ...).

Run: `/work/main/.venv/bin/python benchmarks/profile_ours.py [--scenario sync|stream|async|all]
[--config ours|openai-v2] [--calls N] [--tree]` (needs `pyinstrument`; `pip install pyinstrument`).

Why this way: a profile's absolute numbers are inflated by the profiler, and the added time is small next to the
SDK call it wraps, so reading it off a flat profile is error-prone. This script (1) measures the added µs per
call without a profiler (bare vs. the configuration, interleaved, the median call, as `run.py` does), (2) takes
a sampling profile (pyinstrument) of the instrumented calls, (3) files every sample under a component by walking
the call tree from the SDK method's wrapper down - the SDK's own work is set apart, everything else is the
instrumentation's - and (4) scales the components' shares to the measured added µs. pyinstrument hooks every
Python call, so call-heavy code (the OTel SDK's attribute validation and hashing) is over-represented: read the
shares as a map of where to look, and `components.py`'s timings as the budget.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run
from _configs import Configuration, make_configurations
from _openai_mock import make_clients

# (component, sticky, test on (function, file path)); first match wins. A sticky component keeps everything
# below it; a non-sticky one (our glue) lets its callees be filed under their own components.
SDK = "SDK call itself (not overhead)"
GLUE = "our glue (wrapper, invocation, result handling)"
_RULES: tuple[tuple[str, bool, Any], ...] = (
    ("span start (tracer.start_span)", True, lambda f, p: f == "start_span" and "/sdk/trace/" in p),
    ("span end (span.end + SimpleSpanProcessor)", True, lambda f, p: f == "end" and "/sdk/trace/" in p),
    ("span set_attributes", True, lambda f, p: f in ("set_attributes", "set_attribute") and "/sdk/trace/" in p),
    ("span set_status / add_event", True, lambda f, p: f in ("set_status", "add_event") and "/sdk/trace/" in p),
    (
        "metric records (histogram.record, counter.add)",
        True,
        lambda f, p: f in ("record", "add") and "/sdk/metrics/" in p,
    ),
    (
        "context attach/detach, suppression check",
        True,
        lambda f, p: (
            ("/opentelemetry/context/" in p)
            or f in ("set_span_in_context", "is_instrumentation_enabled", "get_current_span")
        ),
    ),
    ("price lookup (PriceBook.cost, Cost.span_attributes)", True, lambda f, p: "/semconv/prices/" in p),
    ("usage arithmetic (Usage)", True, lambda f, p: p.endswith("/semconv/usage.py")),
    (
        "readers (request/response/chunks, hosts)",
        True,
        lambda f, p: p.endswith(("/instrumentation/openai/readers.py", "/instrumentation/openai/hosts.py")),
    ),
    ("result classification (adapter.classify)", True, lambda f, p: f == "classify" and "/openai/adapter" in p),
    (
        "stream proxy per chunk (__next__, on_chunk)",
        False,
        lambda f, p: (
            f in ("__next__", "__anext__", "on_chunk", "__iter__", "__aiter__") and "/instrumentation/core/" in p
        ),
    ),
    ("other OpenTelemetry API/SDK", True, lambda f, p: "/opentelemetry/" in p),
    ("peer instrumentation code (openai-v2 / util-genai)", False, lambda f, p: "/opentelemetry/" in p),
    (SDK, True, lambda f, p: any(part in p for part in ("/openai/", "/httpx2/", "/pydantic", "/anyio/"))),
    (GLUE, False, lambda f, p: "/instrumentation/" in p or "/otel_tokenomics/" in p),
)
_WRAPPERS = {"sync_wrapper", "async_wrapper", "traced_method"}


def _classify(function: str, path: str) -> tuple[str, bool] | None:
    path = path.replace("\\", "/")
    for name, sticky, test in _RULES:
        if test(function, path):
            return name, sticky
    return None


def _breakdown(root: Any) -> tuple[dict[str, float], float]:
    """Seconds per component under the wrappers, and the seconds spent outside them (the benchmark loop)."""
    totals: dict[str, float] = defaultdict(float)
    outside = 0.0

    def self_time(frame: Any) -> float:
        return max(frame.time - sum(child.time for child in frame.children), 0.0)

    def walk(frame: Any, component: str | None, sticky: bool) -> None:
        nonlocal outside
        function, path = frame.function or "", frame.file_path or ""
        if component is None and function in _WRAPPERS:
            component, sticky = GLUE, False
        elif component is not None and not sticky:
            found = _classify(function, path)
            if found is not None:
                component, sticky = found
        if component is None:
            outside += self_time(frame)
        else:
            totals[component] += self_time(frame)
        for child in frame.children:
            walk(child, component, sticky)

    walk(root, None, False)
    return dict(totals), outside


def _added_us(bare: Configuration, configuration: Configuration, clients: Any, scenario: str, calls: int) -> float:
    samples = run.measure([bare, configuration], clients, calls, 5, max(20, calls // 5), 100, (scenario,))
    pooled = {name: sorted(ns for batch in rounds for ns in batch) for name, rounds in samples[scenario].items()}
    median = {name: values[len(values) // 2] / 1_000 for name, values in pooled.items()}
    return median[configuration.name] - median["bare"]


def profile(
    scenario: str, configuration: Configuration, bare: Configuration, clients: Any, calls: int, tree: bool
) -> None:
    from pyinstrument import Profiler

    added = _added_us(bare, configuration, clients, scenario, calls)
    configuration.activate()
    try:
        run.RUNNERS[scenario](clients, 50)
        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        run.RUNNERS[scenario](clients, calls)
        profiler.stop()
    finally:
        configuration.deactivate()
    session = profiler.last_session
    assert session is not None
    root = session.root_frame()
    totals, _outside = _breakdown(root)
    sdk = totals.pop(SDK, 0.0)
    overhead = sum(totals.values())
    print(f"\n== {configuration.name} / {scenario}: added {added:+.1f} µs per call (median call, unprofiled)")
    print(
        f"   profile: {calls} calls, SDK work {sdk / calls * 1e6:.0f} µs/call, instrumentation "
        f"{overhead / calls * 1e6:.0f} µs/call (profiler-inflated); shares scaled to the measured added µs:"
    )
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        share = seconds / overhead if overhead else 0.0
        print(f"   {name:<55} {share * 100:5.1f}%  ~{share * added:6.1f} µs")
    if tree:
        print(profiler.output_text(unicode=False, color=False, show_all=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=(*run.SCENARIOS, "all"), default="all")
    parser.add_argument("--config", choices=("ours", "openai-v2"), default="ours")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--tree", action="store_true", help="also print pyinstrument's call tree")
    args = parser.parse_args(argv)
    clients = make_clients()
    configurations = {c.name: c for c in make_configurations()}
    run.verify(list(configurations.values()), clients)
    scenarios = run.SCENARIOS if args.scenario == "all" else (args.scenario,)
    for scenario in scenarios:
        profile(scenario, configurations[args.config], configurations["bare"], clients, args.calls, args.tree)
    return 0


if __name__ == "__main__":
    sys.exit(main())
