"""The budget library's exceptions.

Why a module of its own: the core (`guard.py`) raises `BudgetExceededError` and catches `LedgerUnavailable`
without importing the config loader or a Redis client, and user code catches them by importing
`otel_tokenomics.budgets` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["BudgetConfigError", "BudgetExceededError", "LedgerUnavailable", "format_amount"]


class BudgetConfigError(ValueError):
    """A budget that cannot be used.

    From a file the message reads `<file>: <key path>: <problem>` (e.g. `budgets.toml: budgets[2].limit:
    expected a number > 0, got -5`), like `PriceSheetError`; from code it reads `budget 'name': <key>:
    <problem>`. `key` and `problem` are kept apart so the file loader can re-anchor an error raised by the
    `Budget` constructor at the entry's key path.
    """

    def __init__(self, message: str, *, key: str | None = None, problem: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.problem = problem if problem is not None else message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_config_error, (str(self), self.key, self.problem))


def _rebuild_config_error(message: str, key: str | None, problem: str) -> BudgetConfigError:
    return BudgetConfigError(message, key=key, problem=problem)


class BudgetExceededError(Exception):
    """An enforced budget refused a call *before* the request left the process.

    Everything a user needs to act on it is an attribute (and in the message): `budget` (its name), `scope`
    (the attribute values the budget is kept per, e.g. `{"tenant": "acme"}`; empty for a global budget),
    `window` (`Window.describe()`, e.g. `"day (UTC)"`), `limit`, `spent` (in the window, before this call),
    `estimate` (this call's estimated cost or tokens), `unit` (`"cost"` or `"tokens"`) and `currency` (the
    price book's currency for cost budgets).
    """

    def __init__(
        self,
        *,
        budget: str,
        scope: Mapping[str, str],
        window: str,
        limit: float,
        spent: float,
        estimate: float,
        unit: str = "cost",
        currency: str | None = None,
    ) -> None:
        self.budget = budget
        self.scope = dict(scope)
        self.window = window
        self.limit = limit
        self.spent = spent
        self.estimate = estimate
        self.unit = unit
        self.currency = currency
        super().__init__(self._message())

    def _message(self) -> str:
        where = ", ".join(f"{key}={value}" for key, value in self.scope.items()) or "global"
        return (
            f"budget {self.budget!r} ({where}, window {self.window}) would be exceeded: "
            f"spent {self._show(self.spent)} of {self._show(self.limit)}, "
            f"this call is estimated at {self._show(self.estimate)}"
        )

    def _show(self, amount: float) -> str:
        if self.unit == "tokens":
            return f"{format_amount(amount, tokens=True)} tokens"
        text = format_amount(amount)
        return f"{text} {self.currency}" if self.currency else text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__: the default Exception pickling (cls(*args)) would fail across processes.
        state = {
            "budget": self.budget,
            "scope": self.scope,
            "window": self.window,
            "limit": self.limit,
            "spent": self.spent,
            "estimate": self.estimate,
            "unit": self.unit,
            "currency": self.currency,
        }
        return (_rebuild_exceeded, (state,))


def _rebuild_exceeded(state: dict[str, Any]) -> BudgetExceededError:
    return BudgetExceededError(**state)


class LedgerUnavailable(Exception):
    """A shared ledger (Redis) could not be reached within its timeout and it is configured fail-closed.

    The core turns this into a refusal of the call: with `fail_open=False` spend that cannot be checked is
    not allowed. (Fail-open ledgers never raise it; they count the outage in `unavailable_count`.)
    """


def format_amount(amount: float, *, tokens: bool = False) -> str:
    """A human figure for error messages: two decimals for money, more for sub-cent amounts.

    Why not a fixed `.2f`: a single LLM call often costs a fraction of a cent, and "estimated at 0.00 USD"
    would hide exactly the number the user is looking for.
    """
    if not math.isfinite(amount):
        return str(amount)
    if tokens:
        return f"{amount:,.0f}"
    if amount == 0 or abs(amount) >= 0.01:
        return f"{amount:.2f}"
    decimals = -math.floor(math.log10(abs(amount))) + 1  # two significant digits
    text = f"{amount:.{decimals}f}".rstrip("0")
    return text if len(text.split(".")[1]) >= 2 else f"{amount:.2f}"
