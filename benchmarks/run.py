"""Per-call overhead of otel-tokenomics vs. the official openai-v2 instrumentation, on the real `openai` SDK.

Run: `/work/main/.venv/bin/python benchmarks/run.py [--calls N] [--rounds R] [--json FILE]`

Why it is built this way (details in benchmarks/README.md):

* The real SDK runs its whole request/response path against `httpx2.MockTransport` returning canned bytes
  (`_openai_mock.py`), so the baseline is a realistic SDK call and the "network" costs the same for everyone.
* Three configurations - bare, ours, openai-v2 - are measured in one process and **interleaved**: every round
  times one batch of N calls per configuration and scenario, instrumenting before and uninstrumenting after
  each batch, with the order rotated between rounds. Slow drifts (CPU frequency, a neighbour's build, heap
  growth) then hit all configurations alike instead of whichever happened to run last.
* The figure reported is the **median** over rounds of each batch's mean per-call time; "added" is that median
  minus bare's. Batches are timed with `perf_counter_ns`; the garbage collector is collected before every batch
  and stays enabled inside it, because the extra collections an instrumentation's allocations cause are part
  of what it costs the application.
* Before anything is timed, one call per scenario and configuration is checked for its span (and, for ours, a
  priced `gen_ai.usage.cost.amount`), and every timed batch must have exported exactly N spans (0 for bare):
  an instrumentation that silently stopped working cannot look fast.

Exit status: 0 when every target is met, 1 when one is missed, 2 when a configuration is broken.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

# Pin behaviour that environment variables could change (content capture, stream usage injection, semconv
# mode, price sheets) before any instrumentation reads them: a benchmark must measure the defaults.
for _name in list(os.environ):
    if _name.startswith(("OTEL_INSTRUMENTATION_GENAI_", "OTEL_TOKENOMICS_", "OTEL_SEMCONV_STABILITY_OPT_IN")):
        del os.environ[_name]

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _configs import CONFIG_NAMES, SPAN_PROCESSOR, Configuration, make_configurations  # noqa: E402
from _openai_mock import (  # noqa: E402
    REQUEST_MODEL,
    STREAM_CHUNKS_YIELDED,
    STREAM_OUTPUT_TOKENS,
    SYNC_INPUT_TOKENS,
    SYNC_OUTPUT_TOKENS,
    Clients,
    chat_kwargs,
    make_clients,
    stream_kwargs,
)

SCENARIOS = ("sync", "stream", "async")
SCENARIO_LABELS = {
    "sync": "sync chat completion",
    "stream": f"stream, {STREAM_CHUNKS_YIELDED - 2} content chunks + usage",
    "async": "async chat completion",
}
# Our targets for what otel-tokenomics may add per call (µs); async has none of its own.
TARGETS_US: dict[str, float | None] = {"sync": 80.0, "stream": 150.0, "async": None}
CACHED_COST_TARGET_US = 5.0
COST_ATTRIBUTE = "gen_ai.usage.cost.amount"
SETTLE_CALLS = 3


class BrokenConfiguration(RuntimeError):
    """A configuration did not produce what it must; timing it would be meaningless."""


# --- the timed loops ---------------------------------------------------------------------------------------
# Each call is timed on its own (two `perf_counter_ns` reads, ~0.1 µs, identical for every configuration), so the
# report can use the median call, which a neighbour process stealing the CPU for a few ms cannot move, as well
# as the batch mean, which includes the garbage collections the instrumentations' allocations cause.
def run_sync(clients: Clients, calls: int) -> list[int]:
    """Nanoseconds per non-streaming chat completion (the method is looked up per call, as apps do)."""
    completions = clients.sync.chat.completions
    kwargs = chat_kwargs()
    clock = time.perf_counter_ns
    durations = [0] * calls
    for index in range(calls):
        started = clock()
        completions.create(**kwargs)
        durations[index] = clock() - started
    return durations


def run_stream(clients: Clients, calls: int) -> list[int]:
    """Nanoseconds per streamed chat completion, from the request to the end of its iteration."""
    completions = clients.stream.chat.completions
    kwargs = stream_kwargs()
    clock = time.perf_counter_ns
    durations = [0] * calls
    for index in range(calls):
        started = clock()
        for _chunk in completions.create(**kwargs):
            pass
        durations[index] = clock() - started
    return durations


def run_async(clients: Clients, calls: int) -> list[int]:
    """Nanoseconds per awaited completion, all awaited in one event loop (loop start-up is not timed)."""

    async def batch() -> list[int]:
        completions = clients.async_.chat.completions
        kwargs = chat_kwargs()
        clock = time.perf_counter_ns
        durations = [0] * calls
        for index in range(calls):
            started = clock()
            await completions.create(**kwargs)
            durations[index] = clock() - started
        return durations

    return asyncio.run(batch())


RUNNERS: dict[str, Callable[[Clients, int], list[int]]] = {
    "sync": run_sync,
    "stream": run_stream,
    "async": run_async,
}


# --- proof of life -----------------------------------------------------------------------------------------
def _check_span(configuration: Configuration, scenario: str, before: int) -> None:
    pipeline = configuration.pipeline
    assert pipeline is not None
    exported = pipeline.exporter.exported - before
    if exported != 1:
        raise BrokenConfiguration(f"{configuration.name}/{scenario}: expected 1 span, got {exported}")
    span = pipeline.exporter.last
    assert span is not None
    attributes = dict(span.attributes or {})
    problems = []
    if span.name != f"chat {REQUEST_MODEL}":
        problems.append(f"span name {span.name!r}")
    output_tokens = STREAM_OUTPUT_TOKENS if scenario == "stream" else SYNC_OUTPUT_TOKENS
    if attributes.get("gen_ai.usage.input_tokens") != SYNC_INPUT_TOKENS:
        problems.append(f"input tokens {attributes.get('gen_ai.usage.input_tokens')!r}")
    if attributes.get("gen_ai.usage.output_tokens") != output_tokens:
        problems.append(f"output tokens {attributes.get('gen_ai.usage.output_tokens')!r}")
    if configuration.name == "ours":
        amount = attributes.get(COST_ATTRIBUTE)
        if not isinstance(amount, float) or amount <= 0:
            problems.append(f"{COST_ATTRIBUTE} {amount!r} (status {attributes.get('tokenomics.cost.status')!r})")
    if problems:
        raise BrokenConfiguration(f"{configuration.name}/{scenario}: " + ", ".join(problems))


def verify(configurations: list[Configuration], clients: Clients) -> None:
    """One call per scenario and configuration: spans, usage, ours' cost, metrics; bare must leave no trace."""
    import openai.resources.chat.completions as chat
    import wrapt

    instrumented = [c for c in configurations if c.instrumented]
    for configuration in configurations:
        configuration.activate()
        try:
            if not configuration.instrumented:
                for owner in (chat.Completions, chat.AsyncCompletions):
                    if isinstance(vars(owner)["create"], wrapt.ObjectProxy):
                        raise BrokenConfiguration("bare: the SDK is still wrapped after uninstrument()")
            totals = [c.spans_exported for c in instrumented]
            for scenario in SCENARIOS:
                before = configuration.spans_exported
                if scenario == "stream":
                    chunks = list(clients.stream.chat.completions.create(**stream_kwargs()))
                    if len(chunks) != STREAM_CHUNKS_YIELDED:
                        raise BrokenConfiguration(
                            f"{configuration.name}/stream: {len(chunks)} chunks, expected {STREAM_CHUNKS_YIELDED}"
                        )
                else:
                    RUNNERS[scenario](clients, 1)
                if configuration.instrumented:
                    _check_span(configuration, scenario, before)
            if not configuration.instrumented and [c.spans_exported for c in instrumented] != totals:
                raise BrokenConfiguration("bare: spans were exported while nothing should be instrumented")
            if configuration.pipeline is not None:
                names = configuration.pipeline.metric_names()
                wanted = {"gen_ai.client.operation.duration", "gen_ai.client.token.usage"}
                if configuration.name == "ours":
                    wanted.add("gen_ai.client.operation.cost")
                if not wanted <= names:
                    raise BrokenConfiguration(f"{configuration.name}: metrics missing: {sorted(wanted - names)}")
        finally:
            configuration.deactivate()


# --- measurement -------------------------------------------------------------------------------------------
Samples = dict[str, dict[str, list[list[int]]]]  # scenario -> configuration -> rounds -> ns per call


def timed_batch(
    configuration: Configuration, clients: Clients, scenario: str, calls: int, settle: int = SETTLE_CALLS
) -> list[int]:
    """ns per call for one batch, with the configuration active only around it.

    `settle` untimed calls follow `instrument()`: the first call after it pays one-off set-up (new instruments'
    first aggregation, caches keyed per instrument) that an application pays once per process, not per call.
    """
    configuration.activate()
    try:
        RUNNERS[scenario](clients, settle)
        before = configuration.spans_exported
        gc.collect()
        durations = RUNNERS[scenario](clients, calls)
        produced = configuration.spans_exported - before
    finally:
        configuration.deactivate()
    expected = calls if configuration.instrumented else 0
    if produced != expected:
        raise BrokenConfiguration(f"{configuration.name}/{scenario}: {produced} spans for {calls} calls")
    return durations


def measure(
    configurations: list[Configuration],
    clients: Clients,
    calls: int,
    rounds: int,
    warmup: int,
    slice_calls: int,
    scenarios: tuple[str, ...] = SCENARIOS,
) -> Samples:
    """Every configuration warmed up, then `rounds` rounds of `calls` calls per scenario and configuration.

    Within a round each configuration's calls are cut into slices of `slice_calls`, and the slices of the three
    configurations alternate (order rotated per round and scenario). On a shared 2-vCPU machine, episodes where a
    neighbour slows everything by a third last seconds; alternating every ~0.1-0.5 s makes every configuration
    live through the same episodes, so they cancel out of the differences instead of deciding them.
    """
    for configuration in configurations:
        for scenario in scenarios:
            timed_batch(configuration, clients, scenario, warmup)
    # Set-up garbage (imports, catalog, warm-up) is frozen, so the per-slice `gc.collect()` costs little and
    # the timed loops' collections only see what the calls themselves allocate.
    gc.collect()
    gc.freeze()
    sizes = [slice_calls] * (calls // slice_calls) + ([calls % slice_calls] if calls % slice_calls else [])
    samples: Samples = {s: {c.name: [] for c in configurations} for s in scenarios}
    for round_index in range(rounds):
        started = time.monotonic()
        for scenario_index, scenario in enumerate(scenarios):
            shift = (round_index + scenario_index) % len(configurations)
            order = configurations[shift:] + configurations[:shift]
            batches: dict[str, list[int]] = {c.name: [] for c in configurations}
            for size in sizes:
                for configuration in order:
                    batches[configuration.name] += timed_batch(configuration, clients, scenario, size)
            for name, durations in batches.items():
                samples[scenario][name].append(durations)
        print(f"  round {round_index + 1}/{rounds} done in {time.monotonic() - started:.1f}s", file=sys.stderr)
    gc.unfreeze()
    return samples


def cached_cost() -> dict[str, Any]:
    """`bench_prices.measure()`'s figures, or why they are unavailable (its owner may still be writing it)."""
    try:
        from bench_prices import measure as measure_prices

        figures = {name: float(value) for name, value in measure_prices().items()}
        hit = figures["cost_hit_us"]
    except Exception as error:
        return {"available": False, "reason": f"{type(error).__name__}: {error}"}
    return {
        "available": True,
        "figures": figures,
        "cost_hit_us": hit,
        "target_us": CACHED_COST_TARGET_US,
        "verdict": "PASS" if hit <= CACHED_COST_TARGET_US else "MISS",
    }


def budget_overhead() -> dict[str, Any]:
    """`bench_budgets.measure()`: a budget guard's before+after work per call, in-process and with Redis."""
    try:
        from bench_budgets import measure as measure_budgets

        return measure_budgets()
    except Exception as error:
        return {"unavailable": f"{type(error).__name__}: {error}"}


def anthropic_overhead() -> dict[str, Any]:
    """`bench_anthropic.measure()`: the anthropic SDK bare vs instrumented (sync and a 20-event stream)."""
    try:
        from bench_anthropic import measure as measure_anthropic

        return measure_anthropic(calls=200, rounds=5)
    except Exception as error:
        return {"unavailable": f"{type(error).__name__}: {error}"}


def render_anthropic(figures: dict[str, Any]) -> str:
    if "unavailable" in figures:
        return f"anthropic: unavailable ({figures['unavailable']})"
    lines = ["anthropic SDK (bench_anthropic.py, median call, µs):  bare / ours / added / target"]
    for name, row in figures.items():
        lines.append(
            f"  {name:<8} {row['bare_us']:9.1f} {row['ours_us']:9.1f} {row['added_us']:+9.1f}  <={row['target_us']:.0f}"
            f"  {row['verdict']}"
        )
    return "\n".join(lines)


def _us(ns: float) -> float:
    return ns / 1_000


def _stats(rounds: list[list[int]]) -> dict[str, Any]:
    pooled = sorted(ns for batch in rounds for ns in batch)
    quartiles = statistics.quantiles(pooled, n=20)
    round_medians = [_us(statistics.median(batch)) for batch in rounds]
    round_means = [_us(statistics.fmean(batch)) for batch in rounds]
    return {
        "median_us": _us(statistics.median(pooled)),  # the headline figure
        "p5_us": _us(quartiles[0]),
        "p95_us": _us(quartiles[-1]),
        "mean_us": statistics.median(round_means),  # median over rounds of the batch means
        "calls": len(pooled),
        "round_medians_us": round_medians,
        "round_means_us": round_means,
    }


def summarize(samples: Samples) -> dict[str, Any]:
    """Per scenario: every configuration's figures, what ours and openai-v2 add over bare, and our verdict."""
    summary: dict[str, Any] = {}
    for scenario, by_config in samples.items():
        entry: dict[str, Any] = {name: _stats(rounds) for name, rounds in by_config.items()}
        bare = entry["bare"]
        added = {}
        for name in ("ours", "openai-v2"):
            figures = entry[name]
            paired = [c - b for c, b in zip(figures["round_medians_us"], bare["round_medians_us"], strict=True)]
            added[name] = {
                "added_us": figures["median_us"] - bare["median_us"],
                # cross-checks: from round-wise differences (drift cannot decide it), and from batch means
                "added_paired_us": statistics.median(paired),
                "added_mean_us": figures["mean_us"] - bare["mean_us"],
            }
        entry["added"] = added
        ours_added, peer_added = added["ours"]["added_us"], added["openai-v2"]["added_us"]
        entry["ratio_ours_to_openai_v2"] = ours_added / peer_added if peer_added > 0 else None
        target = TARGETS_US[scenario]
        entry["target_us"] = target
        entry["verdict"] = None if target is None else ("PASS" if ours_added <= target else "MISS")
        summary[scenario] = entry
    return summary


# --- output ------------------------------------------------------------------------------------------------
def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def environment(calls: int, rounds: int, warmup: int, slice_calls: int) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "openai": _version("openai"),
        "httpx2": _version("httpx2"),
        "opentelemetry-sdk": _version("opentelemetry-sdk"),
        "otel-tokenomics": _version("otel-tokenomics"),
        "opentelemetry-instrumentation-openai-v2": _version("opentelemetry-instrumentation-openai-v2"),
        "opentelemetry-util-genai": _version("opentelemetry-util-genai"),
        "calls_per_batch": calls,
        "rounds": rounds,
        "warmup_calls": warmup,
        "slice_calls": min(slice_calls, calls),
        "span_processor": SPAN_PROCESSOR,
        "metric_reader": "InMemoryMetricReader",
    }


def pure_overhead(configurations: list[Configuration], clients: Clients) -> dict[str, dict[str, float]]:
    """Each instrumentation's own work per call with the SDK replaced by a stand-in (see components.py): the
    part of the added µs that code changes in the instrumentation can remove, measured to about a µs."""
    try:
        from components import pure_overhead as measure_pure

        return {c.name: measure_pure(c, clients) for c in configurations if c.instrumented}
    except Exception as error:  # a diagnostic extra: never let it cost the main table
        print(f"pure overhead unavailable: {type(error).__name__}: {error}", file=sys.stderr)
        return {}


def render(
    env: dict[str, Any],
    summary: dict[str, Any],
    pure: dict[str, dict[str, float]],
    cost: dict[str, Any],
    verdict: str,
    budgets: dict[str, Any] | None = None,
) -> str:
    lines = [
        "otel-tokenomics overhead benchmark",
        f"  Python {env['python']} ({env['machine']}); openai {env['openai']}, httpx2 {env['httpx2']}, "
        f"opentelemetry-sdk {env['opentelemetry-sdk']}",
        f"  ours = otel-tokenomics {env['otel-tokenomics']}; openai-v2 = opentelemetry-instrumentation-openai-v2 "
        f"{env['opentelemetry-instrumentation-openai-v2']} (util-genai {env['opentelemetry-util-genai']})",
        f"  pipeline: TracerProvider + {env['span_processor']} -> discarding exporter; MeterProvider + "
        f"{env['metric_reader']}",
        f"  {env['rounds']} rounds x {env['calls_per_batch']} calls per configuration and scenario, interleaved in "
        f"slices of {env['slice_calls']}; figures are the median call, µs",
        "",
    ]
    header = (
        f"{'scenario':<36} {'bare':>8} {'ours':>8} {'openai-v2':>9} {'ours +':>8} {'v2 +':>8} "
        f"{'ours/v2':>8} {'target':>7}  verdict"
    )
    lines += [header, "-" * len(header)]
    for scenario in SCENARIOS:
        entry = summary[scenario]
        ours_added = entry["added"]["ours"]["added_us"]
        peer_added = entry["added"]["openai-v2"]["added_us"]
        ratio = entry["ratio_ours_to_openai_v2"]
        target = entry["target_us"]
        lines.append(
            f"{SCENARIO_LABELS[scenario]:<36} {entry['bare']['median_us']:8.1f} {entry['ours']['median_us']:8.1f} "
            f"{entry['openai-v2']['median_us']:9.1f} {ours_added:+8.1f} {peer_added:+8.1f} "
            f"{(f'{ratio:.2f}x' if ratio is not None else 'n/a'):>8} "
            f"{(f'<={target:.0f}' if target is not None else '-'):>7}  {entry['verdict'] or '-'}"
        )
    lines += ["", "cross-checks of the added µs (ours / openai-v2):"]
    for scenario in SCENARIOS:
        added = summary[scenario]["added"]
        ours, peer = added["ours"], added["openai-v2"]
        lines.append(
            f"  {scenario:<7} median of per-round differences {ours['added_paired_us']:+7.1f} / "
            f"{peer['added_paired_us']:+7.1f};  batch means (incl. GC, interference) {ours['added_mean_us']:+7.1f} / "
            f"{peer['added_mean_us']:+7.1f}"
        )
    lines += ["noise: spread (max - min) of the per-round medians, µs (bare / ours / openai-v2):"]
    for scenario in SCENARIOS:
        entry = summary[scenario]
        spreads = " / ".join(
            f"{max(entry[name]['round_medians_us']) - min(entry[name]['round_medians_us']):.1f}"
            for name in CONFIG_NAMES
        )
        lines.append(f"  {scenario:<7} {spreads}")
    if pure:
        lines.append("instrumentation's own work, SDK replaced by a stand-in (components.py), µs per call:")
    for name, figures in pure.items():
        lines.append(f"  {name:<10} sync {figures['sync_us']:6.1f}   stream {figures['stream_us']:6.1f}")
    lines.append("")
    if cost["available"]:
        figures = cost["figures"]
        lines.append(
            f"cached cost computation (PriceBook.cost, resolved model): {cost['cost_hit_us']:.2f} µs "
            f"(target <={cost['target_us']:.0f})  {cost['verdict']}"
        )
        extra = ", ".join(f"{name} {value:.2f}" for name, value in figures.items() if name != "cost_hit_us")
        lines.append(f"  bench_prices.measure(): {extra}")
    else:
        lines.append(f"cached cost computation: unavailable ({cost['reason']})")
    if budgets:
        lines.append("budget guard, added per call (bench_budgets.py, best of repeats):")
        for label, value in budgets.items():
            if isinstance(value, float) and label != "target_us":
                lines.append(f"  {label:<42} {value:7.2f} µs")
            elif label not in ("target_us", "verdict"):
                lines.append(f"  {label}: {value}")
        if budgets.get("verdict"):
            lines.append(
                f"  one observe budget, in-process: target <={budgets['target_us']:.0f} µs  {budgets['verdict']}"
            )
    lines += ["", f"overall: {verdict}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per timed batch (default 500)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up calls per batch (default calls/5)")
    parser.add_argument(
        "--slice", type=int, default=100, dest="slice_calls", help="calls per interleaved slice (default 100)"
    )
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the figures here")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.rounds < 1 or args.slice_calls < 1:
        parser.error("--calls, --rounds and --slice must be at least 1")
    warmup = args.warmup if args.warmup is not None else max(20, args.calls // 5)

    clients = make_clients()
    configurations = make_configurations()
    started = time.monotonic()
    try:
        verify(configurations, clients)
        print(f"verified: {', '.join(CONFIG_NAMES)} (spans, usage, cost, metrics); timing...", file=sys.stderr)
        samples = measure(configurations, clients, args.calls, args.rounds, warmup, args.slice_calls)
    except BrokenConfiguration as error:
        print(f"BROKEN: {error}", file=sys.stderr)
        return 2
    print(f"timed in {time.monotonic() - started:.0f}s; measuring pure overhead and the price book...", file=sys.stderr)
    pure = pure_overhead(configurations, clients)
    summary = summarize(samples)
    cost = cached_cost()
    budgets = budget_overhead()
    anthropic_figures = anthropic_overhead()
    verdicts = [entry["verdict"] for entry in summary.values() if entry["verdict"]]
    if cost["available"]:
        verdicts.append(cost["verdict"])
    if budgets.get("verdict"):
        verdicts.append(budgets["verdict"])
    verdict = "MISS" if "MISS" in verdicts else "PASS"
    env = environment(args.calls, args.rounds, warmup, args.slice_calls)
    print(render(env, summary, pure, cost, verdict, budgets))
    print(render_anthropic(anthropic_figures))
    if args.json is not None:
        document = {
            "environment": env,
            "scenarios": summary,
            "pure_overhead_us": pure,
            "cached_cost": cost,
            "budget_overhead_us": budgets,
            "anthropic": anthropic_figures,
            "verdict": verdict,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
