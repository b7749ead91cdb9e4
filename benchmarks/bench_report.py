"""Throughput and peak memory of `otel-tokenomics report`, run as users run it, on generated OTLP JSON-lines files.

Generates realistic files (`gen_spans.py`: traces of ~10 spans, 10-20 % LLM calls) of each size, then runs the
CLI (`otel-tokenomics report FILE --by ... --no-progress -o /dev/null`) once per group-by in a fresh process
and prints its spans/s (by wall clock and by user CPU time, which is less disturbed by other jobs on a shared
machine) and its peak RSS (from `wait4`, that process's own). Start-up (imports, the price catalog, loaded
because the files hold calls without a cost) is included: it is part of what a user waits for. Several sizes
show whether memory depends on the file size; it should not, for any group-by.

Run: `/work/main/.venv/bin/python benchmarks/bench_report.py [--spans 250000 1000000] [--by trace model]
[--keep DIR]`. Target: >= 100k spans/s. Timings vary with machine load; nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gen_spans import generate

_SPANS_READ = re.compile(r"read ([\d,]+) spans")


def _cli() -> list[str]:
    """The installed `otel-tokenomics` next to this interpreter, else the module entry point."""
    script = Path(sys.executable).with_name("otel-tokenomics")
    return [str(script)] if script.exists() else [sys.executable, "-m", "otel_tokenomics.cli"]


def _measure(path: Path, by: str) -> dict[str, float]:
    """Run the CLI once; wall seconds, user CPU seconds, peak RSS (MB) and spans read."""
    command = [*_cli(), "report", str(path), "--by", by, "--no-progress", "-o", os.devnull]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    match = _SPANS_READ.search(stderr)
    if match is None:
        raise SystemExit(f"no 'read N spans' summary on stderr:\n{stderr}")
    return {
        "spans": int(match.group(1).replace(",", "")),
        "seconds": seconds,
        "user": usage.ru_utime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--by", nargs="+", default=["trace", "model"], help="group-bys to run (default: trace model)")
    parser.add_argument("--keep", metavar="DIR", help="write the generated files here and keep them")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(args.keep or temp)
        folder.mkdir(parents=True, exist_ok=True)
        print(
            f"{'report --by':12} {'spans':>10} {'MB':>6} {'wall s':>7} {'user s':>7} "
            f"{'spans/s wall':>13} {'spans/s user':>13} {'peak RSS':>9}"
        )
        for size in args.spans:
            path = folder / f"spans-{size}.jsonl"
            if not path.exists():
                generate(path, size)
            megabytes = path.stat().st_size / 1e6
            for by in args.by:
                result = _measure(path, by)
                spans, wall, user = result["spans"], result["seconds"], result["user"]
                print(
                    f"{by:12} {spans:>10,} {megabytes:>6.0f} {wall:>7.2f} {user:>7.2f} "
                    f"{spans / wall:>13,.0f} {spans / user:>13,.0f} {result['peak_rss_mb']:>6.0f} MB",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
