"""The in-process ledger: reserve/settle/spent semantics, atomicity under threads, 1,000 concurrent asyncio
calls that never overspend by more than one estimate, per-trace isolation and bounded memory.

(The same semantics against Redis, parametrized over both ledgers, are in test_budgets_redis.py.)
"""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from otel_tokenomics.budgets import InProcessLedger, Ledger, Reservation, Window

DAY = Window("day")
NOW = 1_800_000_000.0


def test_in_process_ledger_is_a_ledger() -> None:
    assert isinstance(InProcessLedger(), Ledger)


def test_reserve_adds_when_it_fits_and_refuses_without_adding_when_not() -> None:
    ledger = InProcessLedger()

    first = ledger.reserve("b", DAY, 3.0, 5.0, now=NOW)
    second = ledger.reserve("b", DAY, 3.0, 5.0, now=NOW)
    third = ledger.reserve("b", DAY, 2.0, 5.0, now=NOW)

    assert (first.allowed, first.spent_before) == (True, 0.0)
    assert (second.allowed, second.spent_before) == (False, 3.0)
    assert (third.allowed, third.spent_before) == (True, 3.0)  # exactly at the limit is allowed
    assert ledger.spent("b", DAY, now=NOW) == 5.0


def test_no_limit_always_adds() -> None:
    ledger = InProcessLedger()
    for _ in range(4):
        assert ledger.reserve("observe-only", DAY, 10.0, None, now=NOW).allowed
    assert ledger.spent("observe-only", DAY, now=NOW) == 40.0


def test_binary_rounding_does_not_refuse_a_call_that_fits_exactly() -> None:
    ledger = InProcessLedger()
    results = [ledger.reserve("b", DAY, 0.1, 1.0, now=NOW).allowed for _ in range(11)]
    assert results == [True] * 10 + [False]


def test_settle_replaces_the_estimate_by_the_actual_amount() -> None:
    ledger = InProcessLedger()
    cheaper = ledger.reserve("b", DAY, 2.0, 10.0, now=NOW)
    dearer = ledger.reserve("b", DAY, 1.0, 10.0, now=NOW)

    assert ledger.settle(cheaper, 0.5, now=NOW + 1) == 1.5  # negative delta: 2.0 -> 0.5
    assert ledger.settle(dearer, 1.25, now=NOW + 2) == 1.75  # positive delta: 1.0 -> 1.25
    assert ledger.spent("b", DAY, now=NOW + 2) == 1.75


def test_settling_a_refused_reservation_changes_nothing() -> None:
    ledger = InProcessLedger()
    ledger.reserve("b", DAY, 4.0, 5.0, now=NOW)
    refused = ledger.reserve("b", DAY, 4.0, 5.0, now=NOW)
    assert not refused.allowed
    assert ledger.settle(refused, 4.0, now=NOW) == 4.0
    assert ledger.spent("b", DAY, now=NOW) == 4.0


def test_a_failed_call_settles_to_zero() -> None:
    ledger = InProcessLedger()
    reservation = ledger.reserve("b", DAY, 4.0, 5.0, now=NOW)
    assert ledger.settle(reservation, 0.0, now=NOW) == 0.0
    assert ledger.reserve("b", DAY, 5.0, 5.0, now=NOW).allowed


def test_settling_after_the_day_rolled_over_leaves_the_new_day_alone() -> None:
    ledger = InProcessLedger()
    midnight = 1_799_971_200.0 + 86400  # a UTC midnight (1_799_971_200 is one)
    late = ledger.reserve("b", DAY, 1.0, 5.0, now=midnight - 1)
    ledger.reserve("b", DAY, 2.0, 5.0, now=midnight + 1)
    assert ledger.settle(late, 3.0, now=midnight + 2) == 2.0  # yesterday's spend stays yesterday's
    assert ledger.spent("b", DAY, now=midnight + 2) == 2.0


def test_per_trace_series_are_isolated() -> None:
    ledger = InProcessLedger()
    trace = Window("trace")
    assert ledger.reserve("per-request", trace, 0.5, 0.5, now=NOW, trace_id="t1").allowed
    assert not ledger.reserve("per-request", trace, 0.01, 0.5, now=NOW, trace_id="t1").allowed
    assert ledger.reserve("per-request", trace, 0.5, 0.5, now=NOW, trace_id="t2").allowed
    assert ledger.spent("per-request", trace, now=NOW, trace_id="t1") == 0.5
    reservation = ledger.reserve("per-request", trace, 0.0, 0.5, now=NOW, trace_id="t3")
    assert ledger.settle(reservation, 0.25, now=NOW) == 0.25  # spent after, for that trace


def test_series_are_isolated() -> None:
    ledger = InProcessLedger()
    assert ledger.reserve("per-tenant|tenant=acme", DAY, 5.0, 5.0, now=NOW).allowed
    assert ledger.reserve("per-tenant|tenant=globex", DAY, 5.0, 5.0, now=NOW).allowed
    assert not ledger.reserve("per-tenant|tenant=acme", DAY, 0.1, 5.0, now=NOW).allowed


@pytest.mark.parametrize("amount", [-1.0, float("nan"), float("inf")])
def test_invalid_amounts_are_refused_loudly(amount: float) -> None:
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        InProcessLedger().reserve("b", DAY, amount, 5.0, now=NOW)


def test_expired_windows_are_dropped() -> None:
    """Memory stays bounded: a thousand idle traces are gone an hour later."""
    ledger = InProcessLedger()
    trace = Window("trace")
    for i in range(1000):
        ledger.reserve("per-request", trace, 0.01, None, now=NOW, trace_id=f"{i:032x}")
    assert len(ledger) == 1000
    ledger.reserve("per-request", trace, 0.01, None, now=NOW + 3601, trace_id="new")
    assert len(ledger) == 1


# --- concurrency -----------------------------------------------------------------------------------------


def test_threads_never_push_the_total_past_the_limit() -> None:
    ledger = InProcessLedger()
    allowed = 0
    count_lock = threading.Lock()
    start = threading.Barrier(16)

    def worker() -> None:
        nonlocal allowed
        start.wait()
        mine = sum(ledger.reserve("shared", DAY, 0.25, 100.0, now=NOW).allowed for _ in range(100))
        with count_lock:
            allowed += mine

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert allowed == 400  # 1,600 attempts, exactly limit / amount admitted
    assert ledger.spent("shared", DAY, now=NOW) == 100.0


async def test_a_thousand_concurrent_async_calls_never_overspend_by_more_than_one_estimate() -> None:
    ledger = InProcessLedger()
    limit = 10.0
    rng = random.Random(7)
    estimates = [rng.uniform(0.01, 0.05) for _ in range(1000)]
    # Mostly the estimate is an upper bound; a few calls (1 in 50) come back a little dearer than estimated.
    actuals = [e * (rng.uniform(1.0, 1.2) if i % 50 == 0 else rng.uniform(0.5, 1.0)) for i, e in enumerate(estimates)]
    in_flight = 0
    peak_in_flight = 0

    async def call(estimate: float, actual: float) -> Reservation:
        nonlocal in_flight, peak_in_flight
        reservation = ledger.reserve("shared", DAY, estimate, limit, now=NOW)
        if reservation.allowed:
            in_flight += 1
            peak_in_flight = max(peak_in_flight, in_flight)
            await asyncio.sleep(rng.uniform(0, 0.01))  # the request is in flight; other calls reserve meanwhile
            in_flight -= 1
            ledger.settle(reservation, actual, now=NOW)
        return reservation

    reservations = await asyncio.gather(*(call(e, a) for e, a in zip(estimates, actuals, strict=True)))

    allowed = [r for r in reservations if r.allowed]
    assert 0 < len(allowed) < 1000
    assert peak_in_flight > 100  # the calls really were concurrent
    total = ledger.spent("shared", DAY, now=NOW)
    assert total <= limit + max(estimates)
    expected = sum(a for r, a in zip(reservations, actuals, strict=True) if r.allowed)
    assert total == pytest.approx(expected)
