"""Micro-benchmark of `PriceBook.cost` against genai-prices' `calc_price`.

Run: `/work/main/.venv/bin/python benchmarks/bench_prices.py` (prints µs per call). The main benchmark runner
imports `measure()`, which returns the same figures as a dict.

What is measured (best of several repeats, µs per call):

* `cost_hit_us` — `book.cost(...)` for a model already resolved (the steady state of an instrumented app);
* `cost_hit_tiered_us` — the same for a model with cliff tiers (Gemini 2.5 Pro) and cache reads;
* `cost_miss_us` — `book.cost(...)` for an unknown model, second and later calls (a cached miss);
* `calc_price_us` — `genai_prices.calc_price` for the same usage and model as `cost_hit_us`;
* `first_resolve_ms` — resolving a new key (catalog already loaded): what one cache miss costs once.
"""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable

from otel_tokenomics.semconv.prices import PriceBook
from otel_tokenomics.semconv.usage import Usage

__all__ = ["measure"]

_WHEN = 1763900000.0  # 2025-11-23T12:13:20Z


def _best_us(func: Callable[[], object], number: int, repeat: int = 5) -> float:
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e6


def measure(number: int = 20_000) -> dict[str, float]:
    """µs per call for cached hits and misses, and for genai-prices' `calc_price` on the same usage."""
    from datetime import UTC, datetime

    import genai_prices

    book = PriceBook()
    usage = Usage.from_inclusive(10_000, 1_000, cache_read_tokens=4_000, reasoning_tokens=200)
    tiered = Usage.from_inclusive(250_000, 2_000, cache_read_tokens=200_000)
    cost = book.cost
    cost(usage, "openai", "gpt-4o-2024-08-06", "gpt-4o", "api.openai.com", None, _WHEN)
    cost(tiered, "gcp.gemini", "gemini-2.5-pro", None, None, None, _WHEN)
    cost(usage, "openai", "no-such-model", None, "api.openai.com", None, _WHEN)

    started = time.perf_counter()
    book.cost(usage, "anthropic", "claude-sonnet-4-20250514", None, None, None, _WHEN)
    first_resolve_ms = (time.perf_counter() - started) * 1e3

    gp_usage = genai_prices.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        output_reasoning_tokens=usage.reasoning_tokens,
    )
    moment = datetime.fromtimestamp(_WHEN, tz=UTC)
    return {
        "cost_hit_us": _best_us(
            lambda: cost(usage, "openai", "gpt-4o-2024-08-06", "gpt-4o", "api.openai.com", None, _WHEN),
            number,
        ),
        "cost_hit_now_us": _best_us(lambda: cost(usage, "openai", "gpt-4o-2024-08-06"), number),
        "cost_hit_tiered_us": _best_us(
            lambda: cost(tiered, "gcp.gemini", "gemini-2.5-pro", None, None, None, _WHEN), number
        ),
        "cost_miss_us": _best_us(
            lambda: cost(usage, "openai", "no-such-model", None, "api.openai.com", None, _WHEN), number
        ),
        "calc_price_us": _best_us(
            lambda: genai_prices.calc_price(
                gp_usage, "gpt-4o-2024-08-06", provider_id="openai", genai_request_timestamp=moment
            ),
            max(number // 20, 200),
        ),
        "first_resolve_ms": first_resolve_ms,
    }


def main() -> None:
    for name, value in measure().items():
        print(f"{name:20s} {value:10.2f}")


if __name__ == "__main__":
    main()
