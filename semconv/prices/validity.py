"""Time helpers: request timestamps, effective dates and the validity window of a cached record.

Why windows: prices change with the date (start-date histories, sheet `effective_from`/`effective_until`,
exchange rates) and with the time of day (DeepSeek's off-peak prices). A record resolved for one instant is
correct for every instant up to the next point where any of those inputs *could* change, so the book caches
the record together with that window and re-resolves only when a request falls outside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

__all__ = [
    "date_start",
    "day_after",
    "epoch",
    "time_of_day_points",
    "to_datetime",
    "window_around",
]


def to_datetime(when: float) -> datetime:
    """An aware UTC datetime from epoch seconds."""
    return datetime.fromtimestamp(when, tz=UTC)


def epoch(value: datetime) -> float:
    """Epoch seconds of a datetime; a naive one is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def date_start(day: date) -> float:
    """Epoch seconds of UTC midnight starting `day`."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def day_after(day: date) -> float:
    """Epoch seconds of UTC midnight ending `day` (an inclusive end date becomes an exclusive instant)."""
    return date_start(day + timedelta(days=1))


def time_of_day_points(when: float, times: Iterable[time]) -> list[float]:
    """The instants at which each time of day (naive = UTC) occurs on `when`'s UTC day and both neighbours."""
    today = to_datetime(when).date()
    points: list[float] = []
    for moment in times:
        tz = moment.tzinfo or UTC
        for offset in (-1, 0, 1):
            day = today + timedelta(days=offset)
            points.append(datetime.combine(day, moment.replace(tzinfo=None), tzinfo=tz).timestamp())
    return points


def window_around(when: float, points: Iterable[float]) -> tuple[float, float]:
    """The largest [lo, hi) containing `when` with no change point strictly inside it."""
    lo, hi = -math.inf, math.inf
    for point in points:
        if point <= when:
            if point > lo:
                lo = point
        elif point < hi:
            hi = point
    return lo, hi
