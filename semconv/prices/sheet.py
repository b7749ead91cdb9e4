"""Price sheets: your own prices, layered on top of the genai-prices catalog.

Why: the catalog has list prices only. Real bills differ: negotiated discounts, fine-tunes, self-hosted
models, a non-USD budget, a price the catalog has wrong. A sheet is a TOML or YAML file (chosen by the
`.toml`, `.yaml` or `.yml` suffix) that the `PriceBook` consults *before* the catalog: for each call the first
matching entry whose effective window contains the request time wins; without one the catalog prices the call.

Every mistake is reported when the sheet is loaded, as a `PriceSheetError` naming the file, the key path
(0-based indexes, e.g. `models[2].input`) and the problem. Unknown keys are errors, so a typo can never be
silently ignored.

Example (TOML)::

    version = "acme-2026-q4"          # provenance; default: sha256 of the file's bytes
    description = "ACME contract prices"

    [currency]
    report = "EUR"                    # currency of every Cost (PriceBook(currency=) / env override it)
    rates = { EUR = 0.92 }            # 1 USD = 0.92 EUR (offline, never fetched)

    [[models]]                        # models[0]: negotiated 20 % off the catalog's list price
    provider = "openai"               # OTel gen_ai.provider.name; optional
    model = "gpt-4o*"                 # glob, case-insensitive; or a list of globs
    multiplier = 0.8

    [[models]]                        # models[1]: a fine-tune at absolute prices (USD per million tokens)
    model_regex = "^ft:gpt-4o-mini:acme:"
    input = 0.30
    output = 1.20
    cache_read = 0.15
    effective_from = 2026-01-01       # inclusive (UTC)
    effective_until = 2026-06-30      # inclusive when a date; exclusive when a date-time

    [[models]]                        # models[2]: our vLLM box costs nothing per token
    server_address = "vllm.internal:8000"
    free = true

The same in YAML, with dated exchange rates::

    version: acme-2026-q4
    currency:
      report: EUR
      rates:
        EUR:
          - {rate: 0.95, effective_until: 2025-12-31}
          - {rate: 0.92, effective_from: 2026-01-01}
    models:
      - {provider: openai, model: "gpt-4o*", multiplier: 0.8}
      - model_regex: "^ft:gpt-4o-mini:acme:"
        input: 0.30
        output: 1.20
        cache_read: 0.15
      - {server_address: vllm.internal:8000, free: true}

Top-level keys: `version` (string), `description` (string), `currency` (table), `models` (list of tables).

`currency` keys: `report` (ISO 4217 code: three upper-case letters) and `rates`, mapping a code to either a
number (1 USD = that many units) or a list of `{rate, effective_from, effective_until}`; the first rate whose
window contains the request time is used, and a request outside every window is left unpriced
(`pricing_error`). The report currency and every entry `currency` must have a rate in the same sheet.

`models[i]` keys:

* selectors — at least one of `model` (glob or list of globs), `model_regex` (Python regex, `re.search`,
  case-insensitive) and `server_address` (`host` or `host:port`; the host may be a glob; an entry without a
  port matches any port). `provider` (a name or a list) further restricts the entry. `model` and
  `model_regex` exclude each other. The response model is tried first, then the request model.
* a price — exactly one of:
  * absolute prices per million tokens: `input` and `output` (required), `cache_read`, `cache_write`
    (5-minute/default), `cache_write_1h`, `input_audio`, `output_audio`, all numbers >= 0, in `currency`
    (default USD). Missing optional rates fall back as documented in `record.py` (cache reads at the input
    rate, 1-hour writes at the cache-write rate, ...);
  * `multiplier` (> 0): the catalog's price for the call times this factor (0.8 = a 20 % discount; Azure Data
    Zone uplift = 1.1). It applies only where the catalog prices the model, and never to self-hosted calls;
  * `free = true`: an explicit zero price; such calls get status `free` and amount 0.
* `effective_from`, `effective_until` — a date (`2026-01-01`) or date-time, in UTC when naive.
* `description` — free text.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

from otel_tokenomics.semconv.config_files import parse_toml, parse_yaml
from otel_tokenomics.semconv.prices.currency import USD, ExchangeRate, is_currency_code
from otel_tokenomics.semconv.prices.validity import date_start, day_after, epoch

__all__ = ["PriceSheet", "PriceSheetError", "SheetEntry"]

#: Absolute per-million rates an entry may set (names as in `PriceRecord`).
ENTRY_RATES = (
    "input",
    "output",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "input_audio",
    "output_audio",
)
_TOP_KEYS = frozenset({"version", "description", "currency", "models"})
_CURRENCY_KEYS = frozenset({"report", "rates"})
_RATE_KEYS = frozenset({"rate", "effective_from", "effective_until"})
_ENTRY_KEYS = frozenset(
    {
        "model",
        "model_regex",
        "provider",
        "server_address",
        "multiplier",
        "free",
        "currency",
        "effective_from",
        "effective_until",
        "description",
        *ENTRY_RATES,
    }
)


class PriceSheetError(ValueError):
    """A price sheet that cannot be used; the message names the file, the key path and the problem."""


# --- entries ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SheetEntry:
    """One `models[i]` entry, validated."""

    index: int
    pattern: str  # for display: the glob(s), regex or server address
    model_patterns: tuple[re.Pattern[str], ...] = ()
    providers: frozenset[str] | None = None
    server_host: re.Pattern[str] | None = None
    server_port: str | None = None
    rates: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    multiplier: Decimal | None = None
    free: bool = False
    currency: str = USD
    valid_from: float = -math.inf
    valid_until: float = math.inf
    description: str | None = None

    def matches(self, provider: str | None, model: str | None, server_address: str | None) -> bool:
        """Whether the entry selects a call, ignoring time (see `active`)."""
        if self.providers is not None and (provider or "").strip().lower() not in self.providers:
            return False
        if self.server_host is not None:
            if not server_address:
                return False
            host, port = split_address(server_address)
            if self.server_host.fullmatch(host) is None:
                return False
            if self.server_port is not None and port != self.server_port:
                return False
        if self.model_patterns:
            if not model:
                return False
            return any(pattern.search(model) for pattern in self.model_patterns)
        return True

    def active(self, when: float) -> bool:
        return self.valid_from <= when < self.valid_until

    @property
    def has_model_selector(self) -> bool:
        return bool(self.model_patterns)


def split_address(address: str) -> tuple[str, str | None]:
    """`host[:port]` → (lower-cased host, port or None); IPv6 literals may be bracketed."""
    address = address.strip().lower()
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") and rest[1:] else None
    if address.count(":") == 1:
        host, _, port = address.partition(":")
        if port.isdigit():
            return host, port
    return address, None


# --- the sheet ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceSheet:
    """A validated price sheet: `PriceSheet.load(path)` or `PriceSheet.from_dict(data, name=...)`."""

    name: str
    version: str
    entries: tuple[SheetEntry, ...] = ()
    report_currency: str | None = None
    rates: tuple[ExchangeRate, ...] = ()
    description: str | None = None
    path: str | None = None

    @property
    def source(self) -> str:
        """The `tokenomics.price.source` of costs priced by this sheet."""
        return f"sheet:{self.name}"

    @classmethod
    def load(cls, path: str | PathLike[str]) -> PriceSheet:
        """Reads and validates a `.toml`, `.yaml` or `.yml` sheet; raises `PriceSheetError`."""
        file = Path(path)
        label = str(file)
        suffix = file.suffix.lower()
        if suffix not in (".toml", ".yaml", ".yml"):
            raise PriceSheetError(f"{label}: unsupported file type {suffix or '(none)'!r}; use .toml, .yaml or .yml")
        try:
            raw = file.read_bytes()
        except OSError as error:
            raise PriceSheetError(f"{label}: cannot read the file ({error.strerror or error})") from error
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PriceSheetError(f"{label}: not UTF-8 text ({error.reason} at byte {error.start})") from error
        data = _parse_toml(text, label) if suffix == ".toml" else _parse_yaml(text, label)
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
        return _build(data, label=label, name=file.name, digest=digest, path=str(file))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str = "inline") -> PriceSheet:
        """Validates a sheet given as data (the parsed file); `name` is used for the source and in errors."""
        canonical = json.dumps(data, sort_keys=True, default=str).encode()
        digest = "sha256:" + hashlib.sha256(canonical).hexdigest()[:16]
        return _build(data, label=name, name=name, digest=digest, path=None)


def _parse_toml(text: str, label: str) -> Any:
    return parse_toml(text, label, PriceSheetError)


def _parse_yaml(text: str, label: str) -> Any:
    return parse_yaml(text, label, PriceSheetError)


# --- validation ---------------------------------------------------------------------------------------------


class _Checker:
    """Builds error messages `<file>: <key path>: <problem>`."""

    def __init__(self, label: str) -> None:
        self.label = label

    def fail(self, path: str, problem: str) -> PriceSheetError:
        return PriceSheetError(f"{self.label}: {path}: {problem}" if path else f"{self.label}: {problem}")

    def table(self, value: Any, path: str, allowed: frozenset[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected a table of keys, got {_show(value)}")
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(_join(path, str(key)), f"unknown key (allowed: {known})")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected a non-empty string, got {_show(value)}")
        return value.strip()

    def strings(self, value: Any, path: str) -> list[str]:
        if isinstance(value, str):
            return [self.string(value, path)]
        if isinstance(value, Sequence) and value:
            return [self.string(item, f"{path}[{i}]") for i, item in enumerate(value)]
        raise self.fail(path, f"expected a string or a non-empty list of strings, got {_show(value)}")

    def number(self, value: Any, path: str, *, positive: bool = False) -> Decimal:
        bound = "> 0" if positive else ">= 0"
        number: Decimal | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite() or number < 0 or (positive and number == 0):
            raise self.fail(path, f"expected a number {bound}, got {_show(value)}")
        return number

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {_show(value)}")
        return value

    def currency(self, value: Any, path: str) -> str:
        if not is_currency_code(value):
            raise self.fail(
                path,
                f"expected an ISO 4217 currency code like 'EUR' (3 upper-case letters), got {_show(value)}",
            )
        return value

    def instant(self, value: Any, path: str, *, end: bool) -> float:
        """Epoch seconds of an effective date: a date starts at UTC midnight; an end date is inclusive."""
        parsed: date | datetime | None = value if isinstance(value, date) else None
        if isinstance(value, str):
            text = value.strip()
            try:
                parsed = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
            except ValueError:
                parsed = None
        if parsed is None:
            raise self.fail(path, f"expected a date (YYYY-MM-DD) or an ISO date-time, got {_show(value)}")
        if isinstance(parsed, datetime):
            return epoch(parsed)
        return day_after(parsed) if end else date_start(parsed)

    def window(self, table: Mapping[str, Any], path: str) -> tuple[float, float]:
        start = -math.inf
        stop = math.inf
        if "effective_from" in table:
            start = self.instant(table["effective_from"], _join(path, "effective_from"), end=False)
        if "effective_until" in table:
            stop = self.instant(table["effective_until"], _join(path, "effective_until"), end=True)
        if start >= stop:
            raise self.fail(
                _join(path, "effective_from"),
                f"effective_from {table['effective_from']} is after effective_until {table['effective_until']}",
            )
        return start, stop


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _glob(pattern: str) -> re.Pattern[str]:
    """A case-insensitive glob as a regex anchored at both ends (usable with `search` like `model_regex`)."""
    return re.compile("^" + fnmatch.translate(pattern.lower()), re.IGNORECASE)


def _build(data: Any, *, label: str, name: str, digest: str, path: str | None) -> PriceSheet:
    check = _Checker(label)
    if data is None:
        data = {}
    top = check.table(data, "", _TOP_KEYS)
    version = check.string(top["version"], "version") if "version" in top else digest
    description = check.string(top["description"], "description") if "description" in top else None

    report: str | None = None
    rates: list[ExchangeRate] = []
    if "currency" in top:
        section = check.table(top["currency"], "currency", _CURRENCY_KEYS)
        if "report" in section:
            report = check.currency(section["report"], "currency.report")
        if "rates" in section:
            rates = _rates(check, section["rates"])
    codes = {rate.code for rate in rates} | {USD}
    if report is not None and report not in codes:
        raise check.fail("currency.report", f"no exchange rate for {report} in currency.rates")

    raw_models = top.get("models", [])
    if not isinstance(raw_models, list):
        raise check.fail("models", f"expected a list of tables, got {_show(raw_models)}")
    entries = tuple(_entry(check, raw, index, codes) for index, raw in enumerate(raw_models))
    return PriceSheet(
        name=name,
        version=version,
        entries=entries,
        report_currency=report,
        rates=tuple(rates),
        description=description,
        path=path,
    )


def _rates(check: _Checker, value: Any) -> list[ExchangeRate]:
    if not isinstance(value, Mapping):
        raise check.fail("currency.rates", f"expected a table of currency codes, got {_show(value)}")
    rates: list[ExchangeRate] = []
    for code, spec in value.items():
        path = f"currency.rates.{code}"
        check.currency(code, path)
        if code == USD:
            raise check.fail(path, "USD is the base currency: rates are 1 USD = <rate> <code>")
        if isinstance(spec, list):
            if not spec:
                raise check.fail(path, "expected at least one rate")
            for i, item in enumerate(spec):
                item_path = f"{path}[{i}]"
                table = check.table(item, item_path, _RATE_KEYS)
                if "rate" not in table:
                    raise check.fail(_join(item_path, "rate"), "missing required key")
                rate = check.number(table["rate"], _join(item_path, "rate"), positive=True)
                start, stop = check.window(table, item_path)
                rates.append(ExchangeRate(code, rate, start, stop))
        else:
            rates.append(ExchangeRate(code, check.number(spec, path, positive=True)))
    return rates


def _entry(check: _Checker, raw: Any, index: int, codes: set[str]) -> SheetEntry:
    path = f"models[{index}]"
    table = check.table(raw, path, _ENTRY_KEYS)

    patterns: list[re.Pattern[str]] = []
    shown: list[str] = []
    if "model" in table and "model_regex" in table:
        raise check.fail(_join(path, "model_regex"), "use either model (glob) or model_regex, not both")
    if "model" in table:
        globs = check.strings(table["model"], _join(path, "model"))
        patterns = [_glob(glob) for glob in globs]
        shown.extend(globs)
    if "model_regex" in table:
        expression = check.string(table["model_regex"], _join(path, "model_regex"))
        try:
            patterns = [re.compile(expression, re.IGNORECASE)]
        except re.error as error:
            raise check.fail(
                _join(path, "model_regex"), f"invalid regular expression {expression!r}: {error}"
            ) from error
        shown.append(f"/{expression}/")

    host: re.Pattern[str] | None = None
    port: str | None = None
    if "server_address" in table:
        address = check.string(table["server_address"], _join(path, "server_address"))
        host_text, port = split_address(address)
        if not host_text or ("/" in address):
            raise check.fail(_join(path, "server_address"), f"expected host or host:port, got {address!r}")
        host = _glob(host_text)
        shown.append(f"@{address}")
    if not patterns and host is None:
        raise check.fail(path, "needs a selector: model, model_regex or server_address")

    providers = None
    if "provider" in table:
        providers = frozenset(p.lower() for p in check.strings(table["provider"], _join(path, "provider")))

    absolute = {key: check.number(table[key], _join(path, key)) for key in ENTRY_RATES if key in table}
    multiplier = (
        check.number(table["multiplier"], _join(path, "multiplier"), positive=True) if "multiplier" in table else None
    )
    free = check.boolean(table["free"], _join(path, "free")) if "free" in table else False
    kinds = [
        name
        for name, present in (
            ("prices", bool(absolute)),
            ("multiplier", multiplier is not None),
            ("free", free),
        )
        if present
    ]
    if len(kinds) > 1:
        what = {"prices": "absolute prices", "multiplier": "multiplier", "free": "free = true"}
        raise check.fail(
            path,
            "give only one of absolute prices, multiplier or free = true "
            f"(found {' and '.join(what[k] for k in kinds)})",
        )
    if not kinds:
        raise check.fail(path, "needs a price: input and output, a multiplier, or free = true")
    if absolute:
        for required in ("input", "output"):
            if required not in absolute:
                raise check.fail(_join(path, required), "missing required key (absolute prices need input and output)")

    currency = USD
    if "currency" in table:
        currency = check.currency(table["currency"], _join(path, "currency"))
        if not absolute:
            raise check.fail(_join(path, "currency"), "currency applies only to absolute prices")
        if currency not in codes:
            raise check.fail(_join(path, "currency"), f"no exchange rate for {currency} in currency.rates")

    start, stop = check.window(table, path)
    description = check.string(table["description"], _join(path, "description")) if "description" in table else None
    return SheetEntry(
        index=index,
        pattern=" ".join(shown),
        model_patterns=tuple(patterns),
        providers=providers,
        server_host=host,
        server_port=port,
        rates=MappingProxyType(absolute),
        multiplier=multiplier,
        free=free,
        currency=currency,
        valid_from=start,
        valid_until=stop,
        description=description,
    )
