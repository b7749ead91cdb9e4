"""Budget windows: over which stretch of time (or of work) spend is summed.

Kinds:

* `call` — the limit applies to one call; nothing is stored, `spent` is always 0.
* `trace` — spend is summed per trace id (one user request fanning out into many LLM calls). A trace's
  total is forgotten after `TRACE_IDLE_SECONDS` without a new reservation. A call outside any trace (no
  trace id) is treated as a trace of its own, i.e. like `call`.
* `rolling N` — the sum over the last N seconds, kept in time buckets (see below).
* `day`, `month` — calendar periods in the window's IANA time zone, DST-correct via `zoneinfo`: a day in
  `America/New_York` runs from local midnight to the next local midnight, so it lasts 23 or 25 hours on
  the days the clocks change. The stored total expires at the period's end.

Rolling granularity: a rolling window of N seconds is kept in `min(60, floor(N))` buckets of equal width
`w = N / buckets` (so `w` is N/60 for windows of a minute or more, and between 1 and 2 seconds below
that; N must be at least 1 s). Spend made at time t lands in the bucket containing t and is counted until
that bucket is more than N seconds old, so it is remembered for **at least N and at most N + w seconds**
(e.g. 30 to 31 minutes for `rolling 30m`, where w = 30 s). The error is deliberately on the safe side: a
budget never forgets spend early. Storing 61 buckets instead of every call keeps memory (and the Redis
script's work) bounded whatever the call rate.

All time comes from the caller (`now`, epoch seconds) so that tests control the clock and several processes
agree on bucket boundaries as long as their clocks do.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CALENDAR_KINDS",
    "KINDS",
    "MAX_BUCKETS",
    "TRACE_IDLE_SECONDS",
    "Slot",
    "Window",
    "check_timezone",
]

KINDS = ("call", "trace", "rolling", "day", "month")
CALENDAR_KINDS = ("day", "month")
#: Buckets per rolling window (fewer for windows under a minute, so that a bucket is at least 1 s wide).
MAX_BUCKETS = 60
#: A trace's total is dropped this long after its last reservation.
TRACE_IDLE_SECONDS = 3600.0

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_ROLLING = re.compile(r"rolling\s+(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)
_SYNTAX = "'call', 'trace', 'rolling <N><s|m|h|d>' (e.g. 'rolling 30m'), 'day' or 'month'"


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    return UTC if name == "UTC" else ZoneInfo(name)


def check_timezone(name: object) -> str:
    """Returns `name` if it is a known IANA time zone, else raises `ValueError` saying why."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"expected an IANA time zone name like 'Europe/Paris', got {name!r}")
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r} (expected an IANA name like 'America/New_York')") from error
    return name


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a reservation made at `now` is stored: the window instance and, for rolling windows, the bucket.

    `key` names the instance within a series (`"day:Europe/Paris:2026-03-08"`, `"trace:<id>"`,
    `"rolling:1800"`); `expires_at` is when its stored spend may be forgotten; `bucket` is the bucket `now`
    falls in and `first` the oldest bucket still counted (rolling only).
    """

    key: str
    expires_at: float
    bucket: int | None = None
    first: int | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """A budget window; validated on construction (`ValueError`)."""

    kind: str
    seconds: float | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown window kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.kind == "rolling":
            seconds = self.seconds
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
                raise ValueError(f"a rolling window needs a number of seconds, got {seconds!r}")
            if seconds < 1:
                raise ValueError(f"a rolling window must be at least 1 second long, got {seconds!r}")
            object.__setattr__(self, "seconds", float(seconds))
        elif self.seconds is not None:
            raise ValueError(f"seconds applies only to rolling windows, not to {self.kind!r}")
        if self.kind in CALENDAR_KINDS:
            check_timezone(self.timezone)
        elif self.timezone != "UTC":
            raise ValueError(f"a time zone applies only to day and month windows, not to {self.kind!r}")

    @classmethod
    def parse(cls, text: str, timezone: str = "UTC") -> Window:
        """`"call"`, `"trace"`, `"rolling 30m"` (s, m, h or d; decimals allowed), `"day"`, `"month"`."""
        if not isinstance(text, str):
            raise ValueError(f"expected {_SYNTAX}, got {text!r}")
        normalized = " ".join(text.split()).lower()
        if normalized in ("call", "trace", "day", "month"):
            return cls(normalized, timezone=timezone)
        rolling = _ROLLING.fullmatch(normalized)
        if rolling is None:
            raise ValueError(f"expected {_SYNTAX}, got {text!r}")
        return cls("rolling", float(rolling.group(1)) * _UNITS[rolling.group(2).lower()], timezone)

    def describe(self) -> str:
        """The window as users wrote it: `"rolling 30m"`, `"day (Europe/Paris)"`, `"trace"`."""
        if self.kind == "rolling":
            return f"rolling {_duration(self.seconds or 0.0)}"
        if self.kind in CALENDAR_KINDS:
            return f"{self.kind} ({self.timezone})"
        return self.kind

    # --- rolling buckets ---

    @property
    def buckets(self) -> int:
        """Buckets a rolling window is kept in (0 for other kinds)."""
        if self.kind != "rolling" or self.seconds is None:
            return 0
        return max(1, min(MAX_BUCKETS, math.floor(self.seconds)))

    @property
    def granularity(self) -> float:
        """Width of one rolling bucket in seconds: spend is remembered for N to N + granularity seconds."""
        return (self.seconds or 0.0) / self.buckets if self.kind == "rolling" else 0.0

    # --- where spend at `now` goes ---

    def slot(self, now: float, trace_id: str | None = None) -> Slot | None:
        """The stored window instance `now` falls in; None when nothing is stored (`call`, trace without id)."""
        if self.kind == "call" or (self.kind == "trace" and not trace_id):
            return None
        if self.kind == "trace":
            return Slot(f"trace:{trace_id}", now + TRACE_IDLE_SECONDS)
        if self.kind == "rolling":
            width = self.granularity
            count = self.buckets
            bucket = math.floor(now / width)
            # The bucket holding `now` is counted until `count + 1` bucket widths after its start.
            return Slot(f"rolling:{self.seconds:g}", (bucket + count + 1) * width, bucket, bucket - count)
        _, end, label = self.period(now)
        return Slot(f"{self.kind}:{self.timezone}:{label}", end)

    def period(self, now: float) -> tuple[float, float, str]:
        """(start, end, label) of the calendar day or month containing `now`, in the window's time zone."""
        if self.kind not in CALENDAR_KINDS:
            raise ValueError(f"{self.kind!r} windows have no calendar period")
        cached = _LAST_PERIOD.get((self.kind, self.timezone))
        if cached is not None and cached[0] <= now < cached[1]:
            return cached
        period = _calendar_period(self.kind, self.timezone, now)
        _LAST_PERIOD[(self.kind, self.timezone)] = period
        return period


#: The last period computed per (kind, time zone): nearly every call falls in the current day or month, and
#: reusing it saves the zoneinfo arithmetic (~10 µs) on the hot path. Replacing a dict value is atomic.
_LAST_PERIOD: dict[tuple[str, str], tuple[float, float, str]] = {}


def _calendar_period(kind: str, timezone: str, now: float) -> tuple[float, float, str]:
    zone = _zone(timezone)
    local = datetime.fromtimestamp(now, zone).date()
    if kind == "day":
        first = local
        following = date.fromordinal(local.toordinal() + 1)
        label = local.isoformat()
    else:
        first = local.replace(day=1)
        following = date(local.year + local.month // 12, local.month % 12 + 1, 1)
        label = f"{local.year:04d}-{local.month:02d}"
    return _midnight(first, zone), _midnight(following, zone), label


def _midnight(day: date, zone: tzinfo) -> float:
    """Epoch seconds of the first instant of `day` in `zone`.

    Local midnight may not exist where a DST change happens at midnight (e.g. America/Havana); zoneinfo then
    reads 00:00 with the pre-transition offset, which is exactly the transition instant, i.e. still the
    first instant of the day.
    """
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def _duration(seconds: float) -> str:
    for suffix, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds / size)}{suffix}"
    return f"{seconds:g}s"
