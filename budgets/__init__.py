"""Token and cost budgets per tenant, user or feature: observe, enforce or degrade.

A `Budget` caps what calls in a *scope* (global, or per attribute such as tenant, user or feature — from OTel
baggage or `budget_scope(...)`) may spend over a *window* (per call, per trace, rolling N minutes/hours,
calendar day or month in a time zone), in money (the price book's currency) or tokens. Budgets come from a
TOML/YAML file (`load_budgets`) or from code. Spend is counted in a `Ledger`: `InProcessLedger` by default,
`RedisLedger` to share budgets between processes and replicas.

The instrumentation core (`guard.py`) uses this library: for each call it reads `current_scope()`, picks the
budgets that `applies_to` it, `reserve`s the call's estimate (refusing with `BudgetExceededError` in enforce
mode, swapping the model via `fallback_for` in degrade mode) and `settle`s the actual amount afterwards.
"""

from otel_tokenomics.budgets.config import MODES, UNITS, Budget, load_budgets, parse_budgets
from otel_tokenomics.budgets.errors import BudgetConfigError, BudgetExceededError, LedgerUnavailable
from otel_tokenomics.budgets.guard import BudgetEvent, BudgetGuard
from otel_tokenomics.budgets.ledger import InProcessLedger, Ledger, Reservation
from otel_tokenomics.budgets.redis_ledger import RedisLedger
from otel_tokenomics.budgets.scope import budget_scope, current_scope
from otel_tokenomics.budgets.windows import Window

__all__ = [
    "MODES",
    "UNITS",
    "Budget",
    "BudgetConfigError",
    "BudgetEvent",
    "BudgetExceededError",
    "BudgetGuard",
    "InProcessLedger",
    "Ledger",
    "LedgerUnavailable",
    "RedisLedger",
    "Reservation",
    "Window",
    "budget_scope",
    "current_scope",
    "load_budgets",
    "parse_budgets",
]
