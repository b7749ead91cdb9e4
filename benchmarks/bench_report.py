"""Throughput and peak memory of `otel-tokenomics report` on generated OTLP JSON-lines files.

Generates realistic files (`gen_spans.py`: traces of ~10 spans, 10-20 % LLM calls) of each size into a temp
dir, then runs each engine configuration in a fresh subprocess (so peak RSS is that run's own) and prints
spans/s and peak RSS. Two sizes show whether memory depends on the file size.

Run: `/work/main/.venv/bin/python benchmarks/bench_report.py [--spans 250000 1000000] [--keep DIR]`
Targets: >= 100k spans/s; peak memory independent of file size (per-model report), growing only with the
number of traces for the per-trace report. Timings vary with machine load; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gen_spans import generate

_RUN = r"""
import json, resource, sys, time
from otel_tokenomics.analysis.otlp_reader import OtlpReader
from otel_tokenomics.analysis.report import aggregate, build_trace_report, call_cost
from otel_tokenomics.analysis.groups import group_key
path, by, fast, llm_only = sys.argv[1], sys.argv[2], sys.argv[3] == "fast", sys.argv[4] == "llm"
started = time.perf_counter()
reader = OtlpReader(path, log_problems=False, fast=fast, llm_attributes_only=llm_only)
if by == "trace":
    build_trace_report(reader, stats=reader.stats)
else:
    aggregate(reader, group_key(by))
seconds = time.perf_counter() - started
print(json.dumps({"spans": reader.stats.spans_read, "seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# (label, group-by, decoder, attributes)
_CONFIGS = [
    ("json module, all attributes, per trace", "trace", "slow", "all"),
    ("msgspec, LLM attributes only, per trace", "trace", "fast", "llm"),
    ("msgspec, LLM attributes only, per model", "model", "fast", "llm"),
]


def _measure(path: Path, by: str, decoder: str, attributes: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _RUN, str(path), by, decoder, attributes], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--keep", metavar="DIR", help="write the generated files here and keep them")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(args.keep or temp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{'configuration':44} {'spans':>9} {'MB':>6} {'seconds':>8} {'spans/s':>9} {'peak RSS':>9}")
        for size in args.spans:
            path = folder / f"spans-{size}.jsonl"
            if not path.exists():
                generate(path, size)
            megabytes = path.stat().st_size / 1e6
            for label, by, decoder, attributes in _CONFIGS:
                result = _measure(path, by, decoder, attributes)
                rate = result["spans"] / result["seconds"]
                print(
                    f"{label:44} {result['spans']:>9,} {megabytes:>6.0f} {result['seconds']:>8.2f} "
                    f"{rate:>9,.0f} {result['peak_rss_mb']:>6.0f} MB",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
