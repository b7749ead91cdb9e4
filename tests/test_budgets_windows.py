"""Windows with a controllable clock: per call, per trace, rolling (bucket granularity and expiry), calendar day
(local midnight, across DST changes) and month."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from otel_tokenomics.budgets import InProcessLedger, Window
from otel_tokenomics.budgets.windows import TRACE_IDLE_SECONDS

NEW_YORK = ZoneInfo("America/New_York")


def local(text: str, zone: str = "America/New_York") -> float:
    """Epoch seconds of a wall-clock time in a zone (unambiguous times only)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


class Clock:
    """A clock the test moves by hand; ledgers take `now` from it."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


# --- text ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "window", "described"),
    [
        ("call", Window("call"), "call"),
        ("trace", Window("trace"), "trace"),
        ("rolling 30m", Window("rolling", 1800.0), "rolling 30m"),
        ("rolling 2h", Window("rolling", 7200.0), "rolling 2h"),
        ("rolling 90s", Window("rolling", 90.0), "rolling 90s"),
        ("Rolling  1.5h", Window("rolling", 5400.0), "rolling 90m"),
        ("rolling 7d", Window("rolling", 7 * 86400.0), "rolling 7d"),
        ("day", Window("day"), "day (UTC)"),
        ("month", Window("month"), "month (UTC)"),
    ],
)
def test_parse_and_describe(text: str, window: Window, described: str) -> None:
    assert Window.parse(text) == window
    assert window.describe() == described


def test_calendar_windows_carry_their_time_zone() -> None:
    assert Window.parse("day", "Europe/Paris").describe() == "day (Europe/Paris)"
    assert Window.parse("month", "Asia/Tokyo") == Window("month", timezone="Asia/Tokyo")


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: Window.parse("weekly"), "expected 'call', 'trace', 'rolling <N><s|m|h|d>'"),
        (lambda: Window.parse("rolling"), "got 'rolling'"),
        (lambda: Window.parse("rolling -5m"), "got 'rolling -5m'"),
        (lambda: Window("rolling"), "needs a number of seconds"),
        (lambda: Window("rolling", 0.5), "at least 1 second"),
        (lambda: Window("day", 60.0), "seconds applies only to rolling windows"),
        (lambda: Window("year"), "unknown window kind 'year'"),
        (lambda: Window("day", timezone="Europe/Atlantis"), "unknown time zone 'Europe/Atlantis'"),
        (lambda: Window.parse("rolling 1h", "Europe/Paris"), "time zone applies only to day and month"),
    ],
)
def test_invalid_windows_say_why(make: object, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        make()  # type: ignore[operator]
    assert problem in str(caught.value)


# --- call ------------------------------------------------------------------------------------------------


def test_call_window_limits_one_call_and_stores_nothing() -> None:
    ledger = InProcessLedger()
    window = Window("call")

    small = ledger.reserve("per-call", window, 0.4, 0.5, now=0.0)
    big = ledger.reserve("per-call", window, 0.6, 0.5, now=0.0)

    assert (small.allowed, small.spent_before) == (True, 0.0)
    assert not big.allowed
    assert ledger.reserve("per-call", window, 0.4, 0.5, now=0.0).allowed  # the earlier call did not count
    assert ledger.spent("per-call", window, now=0.0) == 0.0
    assert ledger.settle(small, 0.45, now=1.0) == 0.45  # the call is its whole window
    assert len(ledger) == 0


# --- trace -----------------------------------------------------------------------------------------------


def test_trace_window_sums_per_trace_and_forgets_idle_traces() -> None:
    ledger = InProcessLedger()
    window = Window("trace")
    clock = Clock(1_000_000.0)

    allowed = [ledger.reserve("per-request", window, 0.2, 0.5, now=clock(), trace_id="aaaa").allowed for _ in range(3)]
    assert allowed == [True, True, False]
    assert ledger.spent("per-request", window, now=clock(), trace_id="aaaa") == pytest.approx(0.4)
    assert ledger.spent("per-request", window, now=clock(), trace_id="bbbb") == 0.0
    assert ledger.reserve("per-request", window, 0.2, 0.5, now=clock(), trace_id="bbbb").allowed

    clock.advance(TRACE_IDLE_SECONDS - 1)
    assert ledger.spent("per-request", window, now=clock(), trace_id="aaaa") == pytest.approx(0.4)
    clock.advance(1)
    assert ledger.spent("per-request", window, now=clock(), trace_id="aaaa") == 0.0


def test_a_call_outside_any_trace_is_its_own_trace() -> None:
    ledger = InProcessLedger()
    first = ledger.reserve("per-request", Window("trace"), 0.4, 0.5, now=0.0, trace_id=None)
    second = ledger.reserve("per-request", Window("trace"), 0.4, 0.5, now=0.0, trace_id=None)
    assert first.allowed and second.allowed
    assert not first.recorded


# --- rolling ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "buckets", "granularity"),
    [
        ("rolling 30m", 60, 30.0),
        ("rolling 1h", 60, 60.0),
        ("rolling 90s", 60, 1.5),
        ("rolling 2s", 2, 1.0),
        ("rolling 1s", 1, 1.0),
        ("rolling 45s", 45, 1.0),
    ],
)
def test_rolling_granularity_is_a_sixtieth_and_at_least_a_second(text: str, buckets: int, granularity: float) -> None:
    window = Window.parse(text)
    assert window.buckets == buckets
    assert window.granularity == pytest.approx(granularity)


def test_rolling_spend_is_remembered_between_n_and_n_plus_one_bucket() -> None:
    ledger = InProcessLedger()
    window = Window.parse("rolling 30m")  # 60 buckets of 30 s
    start = 1_800_000_000.0  # a bucket boundary (a multiple of 30)

    ledger.reserve("tenant", window, 1.0, None, now=start + 5)  # early in its bucket
    ledger.reserve("tenant", window, 2.0, None, now=start + 29.5)  # late in the same bucket

    # Never forgotten early: both still count a whole window after they happened...
    assert ledger.spent("tenant", window, now=start + 29.5 + 1800) == 3.0
    # ...and they leave together when their bucket leaves, one bucket (30 s) after the window.
    assert ledger.spent("tenant", window, now=start + 1830 - 0.001) == 3.0
    assert ledger.spent("tenant", window, now=start + 1830) == 0.0


def test_rolling_window_only_sums_recent_buckets_and_frees_room() -> None:
    ledger = InProcessLedger()
    window = Window.parse("rolling 1h")  # buckets of 60 s
    clock = Clock(1_700_000_040.0)  # a multiple of 60

    assert ledger.reserve("feature", window, 60.0, 100.0, now=clock()).allowed
    clock.advance(1800)
    assert ledger.reserve("feature", window, 30.0, 100.0, now=clock()).allowed
    assert not ledger.reserve("feature", window, 20.0, 100.0, now=clock()).allowed  # 90 + 20 > 100

    clock.advance(1800 + 60)  # the first 60 have left, the 30 have not
    assert ledger.spent("feature", window, now=clock()) == 30.0
    refused_before = ledger.reserve("feature", window, 20.0, 100.0, now=clock())
    assert refused_before.allowed
    assert refused_before.spent_before == 30.0


# --- calendar day ----------------------------------------------------------------------------------------


def test_day_period_follows_local_midnight_across_the_spring_dst_change() -> None:
    window = Window("day", timezone="America/New_York")
    # 2026-03-08: clocks go from 02:00 EST to 03:00 EDT, so the local day lasts 23 hours.
    start, end, label = window.period(local("2026-03-08T12:00:00"))
    assert label == "2026-03-08"
    assert start == local("2026-03-08T00:00:00")  # 05:00 UTC
    assert end == local("2026-03-09T00:00:00")  # 04:00 UTC
    assert end - start == 23 * 3600


def test_day_period_lasts_25_hours_when_clocks_fall_back() -> None:
    start, end, label = Window("day", timezone="America/New_York").period(local("2026-11-01T12:00:00"))
    assert label == "2026-11-01"
    assert end - start == 25 * 3600


def test_day_budget_rolls_over_at_local_midnight_after_a_dst_change() -> None:
    ledger = InProcessLedger()
    window = Window("day", timezone="America/New_York")
    before_midnight = local("2026-03-08T23:59:59")  # 03:59:59 UTC on the 9th

    assert ledger.reserve("tenant=acme", window, 4.0, 5.0, now=local("2026-03-08T00:30:00")).allowed
    assert not ledger.reserve("tenant=acme", window, 2.0, 5.0, now=before_midnight).allowed
    assert ledger.spent("tenant=acme", window, now=before_midnight) == 4.0

    midnight = local("2026-03-09T00:00:00")
    assert midnight - before_midnight == 1
    # 24 hours after the day began would still be 01:00 on the 9th: a naive 86,400 s day would be wrong here.
    assert ledger.spent("tenant=acme", window, now=midnight) == 0.0
    assert ledger.reserve("tenant=acme", window, 2.0, 5.0, now=midnight).allowed


def test_day_windows_in_different_zones_roll_over_at_different_instants() -> None:
    ledger = InProcessLedger()
    paris = Window("day", timezone="Europe/Paris")
    utc = Window("day")
    now = datetime.fromisoformat("2026-06-15T22:30:00+00:00").timestamp()  # 00:30 on the 16th in Paris
    ledger.reserve("p", paris, 1.0, None, now=now - 3600)  # 23:30 on the 15th in Paris
    ledger.reserve("u", utc, 1.0, None, now=now - 3600)
    assert ledger.spent("p", paris, now=now) == 0.0  # a new day in Paris
    assert ledger.spent("u", utc, now=now) == 1.0  # still the 15th in UTC


# --- calendar month --------------------------------------------------------------------------------------


def test_month_rolls_over_on_the_first_in_the_budget_time_zone() -> None:
    ledger = InProcessLedger()
    window = Window("month", timezone="Asia/Tokyo")
    last_second = local("2026-01-31T23:59:59", "Asia/Tokyo")

    ledger.reserve("org", window, 90.0, 100.0, now=local("2026-01-02T09:00:00", "Asia/Tokyo"))
    assert ledger.spent("org", window, now=last_second) == 90.0
    assert ledger.spent("org", window, now=last_second + 1) == 0.0
    start, end, label = window.period(last_second + 1)
    assert label == "2026-02"
    assert end - start == 28 * 86400


def test_month_rolls_over_into_the_next_year() -> None:
    window = Window("month", timezone="America/New_York")
    start, end, label = window.period(local("2026-12-31T23:59:59"))
    assert label == "2026-12"
    assert start == local("2026-12-01T00:00:00")
    assert end == local("2027-01-01T00:00:00")
    # November 2026 holds the fall-back change: 30 days and one hour.
    start, end, _ = window.period(local("2026-11-15T12:00:00"))
    assert end - start == 30 * 86400 + 3600


def test_slots_name_their_window_instance() -> None:
    now = local("2026-03-08T12:00:00")
    day = Window("day", timezone="America/New_York").slot(now)
    assert day is not None
    assert day.key == "day:America/New_York:2026-03-08"
    assert day.expires_at == local("2026-03-09T00:00:00")
    assert Window("call").slot(now) is None
    assert Window("trace").slot(now) is None
    trace = Window("trace").slot(now, "4bf92f3577b34da6a3ce929d0e0e4736")
    assert trace is not None and trace.key == "trace:4bf92f3577b34da6a3ce929d0e0e4736"
