"""Budgets: the `Budget` model and the budget-file loader.

Why a file: budgets are policy, owned by whoever pays the bill, and should change without a code change.
A budget file is TOML or YAML (chosen by the `.toml`, `.yaml` or `.yml` suffix) and follows the price
sheet's conventions: every mistake is reported when the file is loaded, as a `BudgetConfigError` naming the
file, the key path (0-based indexes, e.g. `budgets[2].limit`) and the problem; unknown keys are errors, so
a typo can never be silently ignored; syntax errors give their line.

Example (TOML)::

    description = "ACME production budgets"

    [[budgets]]                         # budgets[0]: hard cap per tenant and local calendar day
    name = "per-tenant-daily"
    scope = ["tenant"]                  # kept per tenant (from baggage or budget_scope(tenant=...))
    window = "day"
    timezone = "Europe/Paris"           # day/month only; IANA name; default UTC
    limit = 5.0
    unit = "cost"                       # money, in the price book's currency
    mode = "enforce"
    thresholds = [0.5, 0.8]

    [[budgets]]                         # budgets[1]: the search feature gets cheaper models when busy
    name = "search-hourly"
    match = { feature = "search" }      # only calls whose scope has feature=search
    window = "rolling 1h"
    limit = 2_000_000
    unit = "tokens"
    mode = "degrade"
    degrade_at = 0.9
    fallbacks = { "gpt-4o" = "gpt-4o-mini", "claude-*-sonnet*" = "claude-3-5-haiku-latest" }
    provider_fallbacks = { openai = "gpt-4o-mini" }

    [[budgets]]                         # budgets[2]: watch (never block) what one trace spends
    name = "per-request"
    window = "trace"
    limit = 0.50
    unit = "cost"

The same in YAML::

    description: ACME production budgets
    budgets:
      - name: per-tenant-daily
        scope: [tenant]
        window: day
        timezone: Europe/Paris
        limit: 5.0
        unit: cost
        mode: enforce
        thresholds: [0.5, 0.8]
      - name: search-hourly
        match: {feature: search}
        window: rolling 1h
        limit: 2000000
        unit: tokens
        mode: degrade
        degrade_at: 0.9
        fallbacks: {gpt-4o: gpt-4o-mini, "claude-*-sonnet*": claude-3-5-haiku-latest}
        provider_fallbacks: {openai: gpt-4o-mini}
      - {name: per-request, window: trace, limit: 0.50, unit: cost}

Top-level keys: `budgets` (list of tables) and `description` (text).

`budgets[i]` keys — required: `name` (unique in the file), `limit` (number > 0), `unit` (`cost` or
`tokens`: required because a bare 1000 could mean either), `window` (`call`, `trace`, `rolling <N><s|m|h|d>`,
`day` or `month`). Optional: `timezone` (day and month windows only), `mode` (`observe`, the default;
`enforce`; `degrade`), `scope` (an attribute key or a list of them; default: one global total), `match`
(table of attribute values a call's scope must have), `thresholds` (fractions of the limit in (0, 1],
ascending; default `[0.8]`; `[]` for none), `degrade_at`, `fallbacks` (request-model glob → cheaper model,
first match in file order wins), `provider_fallbacks` (`gen_ai.provider.name` → cheaper model),
`description`.

Rules that are errors rather than guesses: `degrade` mode needs at least one of `fallbacks` and
`provider_fallbacks`, and a `degrade_at` or a threshold; `fallbacks`, `provider_fallbacks` and `degrade_at`
are refused in `observe` and `enforce` modes, because a budget that silently ignores its fallbacks
is almost certainly a budget whose `mode = "degrade"` was forgotten. The threshold callback
(`on_threshold`) is code-only: set it with `dataclasses.replace(budget, on_threshold=callback)`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from otel_tokenomics.budgets.errors import BudgetConfigError
from otel_tokenomics.budgets.windows import CALENDAR_KINDS, Window, check_timezone
from otel_tokenomics.semconv.config_files import parse_toml, parse_yaml

__all__ = ["MODES", "UNITS", "Budget", "load_budgets", "parse_budgets"]

MODES = ("observe", "enforce", "degrade")
UNITS = ("cost", "tokens")

_TOP_KEYS = frozenset({"budgets", "description"})
_REQUIRED = ("name", "limit", "unit", "window")
_ENTRY_KEYS = frozenset(
    {
        *_REQUIRED,
        "timezone",
        "mode",
        "scope",
        "match",
        "thresholds",
        "degrade_at",
        "fallbacks",
        "provider_fallbacks",
        "description",
    }
)
#: Characters kept as they are in series ids; `|`, `=`, `%` and the Redis hash-tag braces are escaped.
_SAFE = " -_.:~@/!*+,;"


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Budget:
    """One budget: how much (`limit`, `unit`) may be spent per `scope` over a `window`, and what happens.

    Validated on construction (`BudgetConfigError`), also when built in code. For convenience `window` may
    be given as text (`"rolling 30m"`), `scope` as one key, and sequences/mappings as lists/dicts; they are
    stored as tuples and read-only mappings.
    """

    name: str
    limit: float
    unit: str
    window: Window
    mode: str = "observe"
    scope: tuple[str, ...] = ()
    match: Mapping[str, str] = field(default_factory=_empty, hash=False)
    thresholds: tuple[float, ...] = (0.8,)
    degrade_at: float | None = None
    fallbacks: Mapping[str, str] = field(default_factory=_empty, hash=False)
    provider_fallbacks: Mapping[str, str] = field(default_factory=_empty, hash=False)
    on_threshold: Callable[..., None] | None = field(default=None, compare=False)
    description: str | None = field(default=None, compare=False)
    _model_rules: tuple[tuple[re.Pattern[str], str], ...] = field(init=False, repr=False, compare=False)
    _provider_rules: Mapping[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name.strip():
            raise _invalid(name, "name", f"expected a non-empty string, got {_show(name)}")
        fix = object.__setattr__
        fix(self, "limit", _number(name, "limit", self.limit))
        if self.unit not in UNITS:
            raise _invalid(name, "unit", f"expected 'cost' or 'tokens', got {_show(self.unit)}")
        fix(self, "window", _window(name, self.window))
        if self.mode not in MODES:
            raise _invalid(name, "mode", f"expected one of {', '.join(map(repr, MODES))}, got {_show(self.mode)}")
        fix(self, "scope", _scope_keys(name, self.scope))
        fix(self, "match", _strings(name, "match", self.match))
        fix(self, "thresholds", _thresholds(name, self.thresholds))
        if self.degrade_at is not None:
            fix(self, "degrade_at", _number(name, "degrade_at", self.degrade_at, fraction=True))
        fix(self, "fallbacks", _strings(name, "fallbacks", self.fallbacks))
        fix(self, "provider_fallbacks", _strings(name, "provider_fallbacks", self.provider_fallbacks))
        self._check_mode()
        if self.on_threshold is not None and not callable(self.on_threshold):
            raise _invalid(name, "on_threshold", f"expected a callable, got {_show(self.on_threshold)}")
        if self.description is not None and not isinstance(self.description, str):
            raise _invalid(name, "description", f"expected a string, got {_show(self.description)}")
        rules = tuple(
            (re.compile(fnmatch.translate(pattern.lower()), re.IGNORECASE), target)
            for pattern, target in self.fallbacks.items()
        )
        fix(self, "_model_rules", rules)
        fix(self, "_provider_rules", {key.lower(): target for key, target in self.provider_fallbacks.items()})

    def _check_mode(self) -> None:
        name = self.name
        if self.mode == "degrade":
            if not self.fallbacks and not self.provider_fallbacks:
                raise _invalid(
                    name, "fallbacks", "degrade mode needs fallbacks or provider_fallbacks (the cheaper models)"
                )
            if self.degrade_at is None and not self.thresholds:
                raise _invalid(name, "degrade_at", "degrade mode needs degrade_at or at least one threshold")
            return
        for key in ("fallbacks", "provider_fallbacks", "degrade_at"):
            if getattr(self, key):
                raise _invalid(name, key, f"applies only to mode 'degrade' (this budget's mode is {self.mode!r})")

    @property
    def degrade_fraction(self) -> float | None:
        """The fraction of the limit from which degrade mode swaps models: `degrade_at`, else the first threshold."""
        if self.mode != "degrade":
            return None
        return self.degrade_at if self.degrade_at is not None else self.thresholds[0]

    def applies_to(self, scope: Mapping[str, str]) -> bool:
        """Whether a call with this scope counts against the budget.

        The call's scope must have every `match` value and a non-empty value for every `scope` key: a
        per-tenant budget does not apply to calls without a tenant (cap those with a global budget).
        """
        for key, value in self.match.items():
            if scope.get(key) != value:
                return False
        return all(scope.get(key) for key in self.scope)

    def series(self, scope: Mapping[str, str]) -> str:
        """The ledger series id: the name plus the values of the scope keys, e.g. `per-tenant|tenant=acme`.

        Values are percent-escaped where they could be confused with the separators (or with Redis hash-tag
        braces), so two different scopes never share a series.
        """
        parts = [quote(self.name, safe=_SAFE)]
        parts.extend(f"{quote(key, safe=_SAFE)}={quote(str(scope.get(key, '')), safe=_SAFE)}" for key in self.scope)
        return "|".join(parts)

    def scope_of(self, scope: Mapping[str, str]) -> dict[str, str]:
        """The part of a call's scope this budget is kept per (what an error message should show)."""
        return {key: str(scope.get(key, "")) for key in self.scope}

    def fallback_for(self, model: str | None, provider: str | None) -> str | None:
        """The cheaper model to use instead of `model`, or None when there is none (or it is `model` already).

        Per-model rules (globs, case-insensitive, first match wins) take precedence over per-provider ones;
        a model matching a per-model rule is decided by that rule alone.
        """
        if model:
            for pattern, target in self._model_rules:
                if pattern.fullmatch(model):
                    return None if target.lower() == model.lower() else target
        if provider:
            target = self._provider_rules.get(provider.lower())
            if target is not None and (not model or target.lower() != model.lower()):
                return target
        return None


# --- validation helpers (raise with the dataclass field name as key) -------------------------------------


def _invalid(name: object, key: str, problem: str) -> BudgetConfigError:
    return BudgetConfigError(f"budget {name!r}: {key}: {problem}", key=key, problem=problem)


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _number(name: str, key: str, value: Any, *, fraction: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if fraction:
        ok = ok and value <= 1
    if not ok:
        expected = "a fraction in (0, 1]" if fraction else "a number > 0"
        raise _invalid(name, key, f"expected {expected}, got {_show(value)}")
    return float(value)


def _window(name: str, value: Any) -> Window:
    if isinstance(value, Window):
        return value
    if isinstance(value, str):
        try:
            return Window.parse(value)
        except ValueError as error:
            raise _invalid(name, "window", str(error)) from None
    raise _invalid(name, "window", f"expected a Window or window text like 'rolling 30m', got {_show(value)}")


def _scope_keys(name: str, value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence):
        raise _invalid(name, "scope", f"expected an attribute key or a list of them, got {_show(value)}")
    keys: list[str] = []
    for index, key in enumerate(items):
        if not isinstance(key, str) or not key.strip():
            raise _invalid(name, f"scope[{index}]", f"expected a non-empty string, got {_show(key)}")
        if key in keys:
            raise _invalid(name, f"scope[{index}]", f"duplicate key {key!r}")
        keys.append(key)
    return tuple(keys)


def _strings(name: str, key: str, value: Any) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise _invalid(name, key, f"expected a table of strings, got {_show(value)}")
    for item, text in value.items():
        if not isinstance(item, str) or not item.strip():
            raise _invalid(name, key, f"expected non-empty string keys, got {_show(item)}")
        if not isinstance(text, str) or not text.strip():
            raise _invalid(name, f"{key}.{item}", f"expected a non-empty string, got {_show(text)}")
    return MappingProxyType(dict(value))


def _thresholds(name: str, value: Any) -> tuple[float, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _invalid(name, "thresholds", f"expected a list of fractions in (0, 1], got {_show(value)}")
    fractions = tuple(_number(name, f"thresholds[{i}]", item, fraction=True) for i, item in enumerate(value))
    for i in range(1, len(fractions)):
        if fractions[i] <= fractions[i - 1]:
            raise _invalid(
                name,
                f"thresholds[{i}]",
                f"thresholds must be ascending without repeats ({fractions[i]:g} after {fractions[i - 1]:g})",
            )
    return fractions


# --- files ------------------------------------------------------------------------------------------------


def load_budgets(path: str | PathLike[str]) -> list[Budget]:
    """Reads and validates a `.toml`, `.yaml` or `.yml` budget file; raises `BudgetConfigError`."""
    file = Path(path)
    label = str(file)
    suffix = file.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise BudgetConfigError(f"{label}: unsupported file type {suffix or '(none)'!r}; use .toml, .yaml or .yml")
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise BudgetConfigError(f"{label}: cannot read the file ({error.strerror or error})") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BudgetConfigError(f"{label}: not UTF-8 text ({error.reason} at byte {error.start})") from error
    data = _parse_toml(text, label) if suffix == ".toml" else _parse_yaml(text, label)
    return parse_budgets(data, source=label)


def _parse_toml(text: str, label: str) -> Any:
    return parse_toml(text, label, BudgetConfigError)


def _parse_yaml(text: str, label: str) -> Any:
    return parse_yaml(text, label, BudgetConfigError)


def parse_budgets(data: Any, *, source: str = "inline") -> list[Budget]:
    """Validates budgets given as data (a parsed file); `source` names it in errors."""

    def fail(path: str, problem: str) -> BudgetConfigError:
        return BudgetConfigError(
            f"{source}: {path}: {problem}" if path else f"{source}: {problem}", key=path or None, problem=problem
        )

    if data is None:
        data = {}
    top = _table(data, "", _TOP_KEYS, fail)
    if "description" in top and not isinstance(top["description"], str):
        raise fail("description", f"expected a string, got {_show(top['description'])}")
    entries = top.get("budgets", [])
    if not isinstance(entries, list):
        raise fail("budgets", f"expected a list of tables, got {_show(entries)}")
    budgets: list[Budget] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(entries):
        path = f"budgets[{index}]"
        budget = _entry(raw, path, fail)
        if budget.name in seen:
            raise fail(f"{path}.name", f"duplicate budget name {budget.name!r} (also budgets[{seen[budget.name]}])")
        seen[budget.name] = index
        budgets.append(budget)
    return budgets


def _table(
    value: Any, path: str, allowed: frozenset[str], fail: Callable[[str, str], BudgetConfigError]
) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(path, f"expected a table of keys, got {_show(value)}")
    for key in value:
        if not isinstance(key, str) or key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise fail(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")
    return value


def _entry(raw: Any, path: str, fail: Callable[[str, str], BudgetConfigError]) -> Budget:
    table = dict(_table(raw, path, _ENTRY_KEYS, fail))
    for key in _REQUIRED:
        if key not in table:
            raise fail(f"{path}.{key}", "missing required key")
    limit = table["limit"]
    if isinstance(limit, str):  # YAML 1.1 reads `1e6` as a string
        with contextlib.suppress(ValueError):
            table["limit"] = float(limit.replace("_", ""))
    window_text = table["window"]
    if not isinstance(window_text, str):
        raise fail(f"{path}.window", f"expected window text like 'day' or 'rolling 30m', got {_show(window_text)}")
    try:
        window = Window.parse(window_text)
    except ValueError as error:
        raise fail(f"{path}.window", str(error)) from None
    if "timezone" in table:
        zone = table.pop("timezone")
        if window.kind not in CALENDAR_KINDS:
            raise fail(f"{path}.timezone", f"applies only to day and month windows, not to {window.describe()!r}")
        try:
            window = Window(window.kind, timezone=check_timezone(zone))
        except ValueError as error:
            raise fail(f"{path}.timezone", str(error)) from None
    table["window"] = window
    try:
        return Budget(**table)
    except BudgetConfigError as error:
        key = f"{path}.{error.key}" if error.key else path
        raise fail(key, error.problem) from None
