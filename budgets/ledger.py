"""Ledgers: where spend is counted, with an atomic check-and-add so concurrent calls cannot overspend.

The protocol is reserve → call → settle: before a request leaves the process the core *reserves* the call's
estimate (refused when it would cross the limit), and when the response (usage) is known it *settles* the
reservation with the actual amount. Because the check and the add are one atomic step, N concurrent calls
can never together pass a limit on their estimates; the only overspend possible is actual spend exceeding
estimates.

`InProcessLedger` (the default) keeps totals in a dict behind a lock; `RedisLedger` (`redis_ledger.py`)
shares them between processes and replicas. Both take time from the caller (`now`, epoch seconds) and
store windows as described in `windows.py`.

Float comparisons allow a relative tolerance of `TOLERANCE` (1e-9 of the limit) so that e.g. ten
reservations of 0.1 against a limit of 1.0 all pass despite binary rounding.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from otel_tokenomics.budgets.windows import Slot, Window

__all__ = ["TOLERANCE", "InProcessLedger", "Ledger", "Reservation", "check_amount", "fits"]

TOLERANCE = 1e-9
#: How often (in ledger time) `InProcessLedger` scans for expired windows besides dropping them on access.
SWEEP_INTERVAL = 60.0


@dataclass(frozen=True, slots=True)
class Reservation:
    """The result of `Ledger.reserve`, and what `settle` needs to replace the estimate by the actual amount.

    `key` is the stored window instance (a Redis key for `RedisLedger`), `bucket` the rolling-window bucket
    the amount went into, `expires_at` when the stored spend will be forgotten (None: nothing stored).
    `recorded` is False when nothing was stored: `call` windows, traces without a trace id, and calls a
    fail-open `RedisLedger` let through while Redis was unreachable; settling those stores nothing either.
    """

    series: str
    window: Window
    amount: float
    key: str
    expires_at: float | None
    allowed: bool
    spent_before: float
    bucket: int | None = None
    recorded: bool = True


@runtime_checkable
class Ledger(Protocol):
    """What the budget guard needs from a ledger. Implementations must make `reserve` atomic."""

    def reserve(
        self,
        series: str,
        window: Window,
        amount: float,
        limit: float | None,
        *,
        now: float,
        trace_id: str | None = None,
    ) -> Reservation:
        """If `limit` is None or spent + amount <= limit: add `amount` (allowed); else add nothing (refused)."""
        ...

    def settle(self, reservation: Reservation, actual: float, *, now: float) -> float:
        """Replaces the reserved amount by `actual` (the delta may be negative); returns spent afterwards.

        A refused reservation is a no-op. When nothing was stored (`recorded` False) the result is
        `spent_before + actual`: for a `call` window that is the call's own spend, its whole window.
        """
        ...

    def spent(self, series: str, window: Window, *, now: float, trace_id: str | None = None) -> float:
        """Spend counted in the window instance containing `now` (0 for `call` windows)."""
        ...


def check_amount(amount: float, what: str = "amount") -> float:
    """Amounts are finite and >= 0; anything else is a bug in the caller, raised at once."""
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount) or amount < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {amount!r}")
    return float(amount)


def fits(spent: float, amount: float, limit: float | None) -> bool:
    """The admission rule shared by every ledger: spent + amount <= limit, within `TOLERANCE`."""
    return limit is None or spent + amount <= limit * (1 + TOLERANCE)


def unrecorded(series: str, window: Window, amount: float, limit: float | None) -> Reservation:
    """A reservation for a window that stores nothing (`call`, or `trace` without a trace id)."""
    return Reservation(series, window, amount, "", None, fits(0.0, amount, limit), 0.0, None, False)


class _Cell:
    """One stored window instance: a total, or per-bucket totals for rolling windows."""

    __slots__ = ("buckets", "expires_at", "total")

    def __init__(self, expires_at: float, rolling: bool) -> None:
        self.total = 0.0
        self.buckets: dict[int, float] | None = {} if rolling else None
        self.expires_at = expires_at

    def sum(self, slot: Slot) -> float:
        if self.buckets is None:
            return max(0.0, self.total)
        first = slot.first if slot.first is not None else -math.inf
        stale = [bucket for bucket in self.buckets if bucket < first]
        for bucket in stale:
            del self.buckets[bucket]
        return max(0.0, math.fsum(self.buckets.values()))

    def add(self, bucket: int | None, amount: float) -> None:
        if self.buckets is None:
            self.total += amount
        elif bucket is not None:
            self.buckets[bucket] = self.buckets.get(bucket, 0.0) + amount


class InProcessLedger:
    """The default ledger: totals in this process's memory, behind one lock.

    Thread-safe; every operation is a few dict look-ups under the lock and never blocks on I/O, so it is
    also fine to call from asyncio code. Memory stays bounded: an expired window instance is dropped when
    it is next touched, and all expired instances are swept at most every `SWEEP_INTERVAL` seconds of
    ledger time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cells: dict[tuple[str, str], _Cell] = {}
        self._next_sweep = -math.inf

    def __len__(self) -> int:
        """Stored window instances (for tests and debugging: shows that expired ones are dropped)."""
        return len(self._cells)

    def reserve(
        self,
        series: str,
        window: Window,
        amount: float,
        limit: float | None,
        *,
        now: float,
        trace_id: str | None = None,
    ) -> Reservation:
        amount = check_amount(amount)
        slot = window.slot(now, trace_id)
        if slot is None:
            return unrecorded(series, window, amount, limit)
        with self._lock:
            self._sweep(now)
            cell = self._live(series, slot, now)
            spent = cell.sum(slot) if cell is not None else 0.0
            if not fits(spent, amount, limit):
                return Reservation(series, window, amount, slot.key, slot.expires_at, False, spent, slot.bucket)
            if cell is None:
                cell = self._cells[(series, slot.key)] = _Cell(slot.expires_at, slot.bucket is not None)
            cell.add(slot.bucket, amount)
            cell.expires_at = max(cell.expires_at, slot.expires_at)
        return Reservation(series, window, amount, slot.key, slot.expires_at, True, spent, slot.bucket)

    def settle(self, reservation: Reservation, actual: float, *, now: float) -> float:
        actual = check_amount(actual, "actual")
        if not reservation.allowed:
            return reservation.spent_before
        if not reservation.recorded:
            return reservation.spent_before + actual
        window = reservation.window
        with self._lock:
            cell = self._cells.get((reservation.series, reservation.key))
            if cell is not None and cell.expires_at > now and _in_window(reservation, window, now):
                cell.add(reservation.bucket, actual - reservation.amount)
            return self._spent(reservation.series, window, now, _trace_of(reservation))

    def spent(self, series: str, window: Window, *, now: float, trace_id: str | None = None) -> float:
        with self._lock:
            return self._spent(series, window, now, trace_id)

    # --- internals (lock held) ---

    def _spent(self, series: str, window: Window, now: float, trace_id: str | None) -> float:
        slot = window.slot(now, trace_id)
        if slot is None:
            return 0.0
        cell = self._live(series, slot, now)
        return cell.sum(slot) if cell is not None else 0.0

    def _live(self, series: str, slot: Slot, now: float) -> _Cell | None:
        key = (series, slot.key)
        cell = self._cells.get(key)
        if cell is not None and cell.expires_at <= now:
            del self._cells[key]
            return None
        return cell

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL
        expired = [key for key, cell in self._cells.items() if cell.expires_at <= now]
        for key in expired:
            del self._cells[key]


def _in_window(reservation: Reservation, window: Window, now: float) -> bool:
    """Whether the reservation's bucket is still counted at `now` (always true for non-rolling windows)."""
    if reservation.bucket is None:
        return True
    slot = window.slot(now)
    return slot is not None and slot.first is not None and reservation.bucket >= slot.first


def _trace_of(reservation: Reservation) -> str | None:
    """The trace id a trace-window reservation was made for (its key is `trace:<id>`)."""
    if reservation.window.kind == "trace" and reservation.key.startswith("trace:"):
        return reservation.key[len("trace:") :]
    return None
