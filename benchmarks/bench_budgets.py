"""What a budget adds to one call: the guard's before + after work, in-process and with Redis on loopback.

Run: `python benchmarks/bench_budgets.py` (prints µs per call); `measure()` returns the figures for run.py.

Measured directly on a real `Invocation` (the request read, the cost known), best of several repeats, so the
figure is the guard's own work and stable to a fraction of a µs: scope lookup, budget matching, ledger update
(a lock and a dict for the in-process ledger; one Lua round trip for Redis), threshold check. Target: <= 10 µs
per call with one observe budget and the in-process ledger. Redis needs Debian's `redis-server`; without it that
line says unavailable.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import timeit
from collections.abc import Callable
from typing import Any

from otel_tokenomics.budgets import Budget, InProcessLedger, Window, budget_scope
from otel_tokenomics.budgets.guard import BudgetGuard
from otel_tokenomics.instrumentation.core.config import InstrumentationConfig
from otel_tokenomics.instrumentation.core.invocation import Invocation
from otel_tokenomics.instrumentation.core.telemetry import Telemetry
from otel_tokenomics.instrumentation.openai.adapter import CHAT
from otel_tokenomics.semconv.prices import PriceBook
from otel_tokenomics.semconv.usage import Usage

TARGET_US = 10.0
KWARGS = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "How much does this cost?"}],
    "max_tokens": 256,
}


def _invocation(telemetry: Telemetry, book: PriceBook) -> Invocation:
    invocation = Invocation(telemetry, CHAT, False)
    invocation.provider = "openai"
    invocation.request_model = "gpt-4o-mini"
    invocation.response_model = "gpt-4o-mini-2024-07-18"
    invocation.request_max_tokens = 256
    invocation.usage = Usage.from_inclusive(120, 80)
    invocation.cost = book.cost(invocation.usage, provider="openai", model="gpt-4o-mini")
    return invocation


def _per_call_us(guard: BudgetGuard, invocation: Invocation) -> float:
    def one() -> None:
        guard.before(invocation, dict(KWARGS))
        if invocation.budget_state is not None:
            guard.after(invocation, None)

    number = 2000
    return min(timeit.repeat(one, number=number, repeat=7)) / number * 1e6


def _guards(ledger_factory: Callable[[], Any], book: PriceBook) -> dict[str, BudgetGuard]:
    huge = 1e12  # never reached: we time the bookkeeping, not refusals
    return {
        "observe": BudgetGuard(
            [Budget(name="o", limit=huge, unit="cost", window=Window.parse("day"))],
            ledger=ledger_factory(),
            price_book=book,
        ),
        "enforce": BudgetGuard(
            [Budget(name="e", limit=huge, unit="cost", window=Window.parse("day"), mode="enforce")],
            ledger=ledger_factory(),
            price_book=book,
        ),
        "enforce, per tenant, rolling 1h": BudgetGuard(
            [
                Budget(
                    name="t",
                    limit=huge,
                    unit="cost",
                    window=Window.parse("rolling 1h"),
                    mode="enforce",
                    scope=("tenant",),
                )
            ],
            ledger=ledger_factory(),
            price_book=book,
        ),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _with_redis(run: Callable[[str], dict[str, float]]) -> dict[str, float] | str:
    binary = shutil.which("redis-server")
    if binary is None:
        return "redis-server not installed"
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        return run(f"redis://127.0.0.1:{port}/0")
    finally:
        server.terminate()
        server.wait(timeout=10)


def measure() -> dict[str, Any]:
    book = PriceBook()
    book.cost(Usage.from_inclusive(1, 1), provider="openai", model="gpt-4o-mini")  # resolve once
    telemetry = Telemetry("bench", "0", InstrumentationConfig(), book)
    invocation = _invocation(telemetry, book)
    results: dict[str, Any] = {}
    with budget_scope(tenant="acme"):
        for name, guard in _guards(InProcessLedger, book).items():
            results[f"in-process {name}"] = _per_call_us(guard, invocation)

        def redis_run(url: str) -> dict[str, float]:
            from otel_tokenomics.budgets import RedisLedger

            return {
                f"redis {name}": _per_call_us(guard, invocation)
                for name, guard in _guards(lambda: RedisLedger(url=url), book).items()
            }

        redis = _with_redis(redis_run)
    if isinstance(redis, str):
        results["redis"] = redis
    else:
        results.update(redis)
    results["target_us"] = TARGET_US
    results["verdict"] = "PASS" if results["in-process observe"] <= TARGET_US else "MISS"
    return results


if __name__ == "__main__":
    figures = measure()
    for label, value in figures.items():
        print(
            f"{label:<42} {value:.2f} µs"
            if isinstance(value, float) and label != "target_us"
            else f"{label:<42} {value}"
        )
