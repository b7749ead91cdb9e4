"""Report currencies and user-supplied exchange rates.

Why offline only: a cost attribute must be reproducible and an instrumentation must never reach the network on
its own, so rates come from price sheets, never from a live feed. Every rate is "1 USD = `rate` X", optionally
limited to an effective window (the first rate whose window contains the request time wins), because the
catalog is in USD and most contracts quote a fixed rate per period.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["USD", "ExchangeRate", "RateTable", "is_currency_code"]

USD = "USD"
_CODE = re.compile(r"[A-Z]{3}")


def is_currency_code(value: object) -> bool:
    """True for an ISO 4217-shaped code: three upper-case ASCII letters (`EUR`, `JPY`)."""
    return isinstance(value, str) and _CODE.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """1 USD = `rate` `code`, during [`valid_from`, `valid_until`) (epoch seconds)."""

    code: str
    rate: Decimal
    valid_from: float = -math.inf
    valid_until: float = math.inf


class RateTable:
    """Exchange rates by currency, in the order given (sheet order, then file order)."""

    __slots__ = ("_by_code",)

    def __init__(self, rates: Iterable[ExchangeRate] = ()) -> None:
        self._by_code: dict[str, list[ExchangeRate]] = {}
        for rate in rates:
            self._by_code.setdefault(rate.code, []).append(rate)

    def __contains__(self, code: object) -> bool:
        return code == USD or code in self._by_code

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self._by_code) | {USD}

    def _usd_to(self, code: str, when: float) -> Decimal | None:
        if code == USD:
            return Decimal(1)
        for rate in self._by_code.get(code, ()):
            if rate.valid_from <= when < rate.valid_until:
                return rate.rate
        return None

    def change_points(self, *codes: str) -> list[float]:
        """Instants at which the conversion between `codes` may change (for a cached record's window)."""
        points: list[float] = []
        for code in codes:
            for rate in self._by_code.get(code, ()):
                points.extend(p for p in (rate.valid_from, rate.valid_until) if math.isfinite(p))
        return points

    def factor(self, source: str, target: str, when: float) -> Decimal | None:
        """The multiplier turning an amount in `source` into `target` at `when`; None without a rate."""
        if source == target:
            return Decimal(1)
        to_target = self._usd_to(target, when)
        to_source = self._usd_to(source, when)
        if to_target is None or to_source is None:
            return None
        return to_target / to_source
