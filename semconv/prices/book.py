"""`PriceBook`: prices a call from price sheets, then the genai-prices catalog, and caches every answer.

Why the cache is keyed as it is: a price depends on (provider, response model, request model, server address,
service tier, self-hosted) and on the request time. These six are resolved once into a compiled record
(or a cached *miss*: genai-prices does not memoise misses, which cost up to 0.7 ms); the time is handled by
the record's validity window, so a call only re-resolves when its timestamp leaves the window (a price change,
a sheet's effective date, an exchange-rate period, DeepSeek's off-peak hours). A few windows are kept per key
so out-of-order timestamps (replays, batch exports) do not thrash.

Lookup order for one call:

1. no model at all → unpriced `no_model`; no tokens → unpriced `no_usage`;
2. sheets, in the order given: for the response model, then the request model, the first entry matching
   provider/model/server address whose effective window contains the request time (a `multiplier` entry only
   where the catalog prices the call);
3. unless the call was self-hosted: the catalog, trying the provider found from `server_address` (its API URL
   pattern), then the provider mapped from the OTel name (`providers.py`), then — only when the provider is
   absent or unknown — the vendor whose model names match (`gpt-*` → openai, `claude*` → anthropic, ...);
4. otherwise unpriced: `self_hosted`, `unknown_provider` (no catalog provider could be determined) or
   `unknown_model`.

`cost()` never raises: an internal error gives unpriced `pricing_error`, logged once per distinct error.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from os import PathLike
from typing import Any

from otel_tokenomics.semconv.attributes import UnpricedReason
from otel_tokenomics.semconv.prices.catalog import Catalog, NotTokenPriced
from otel_tokenomics.semconv.prices.cost import Cost
from otel_tokenomics.semconv.prices.currency import USD, RateTable, is_currency_code
from otel_tokenomics.semconv.prices.providers import UNMAPPED, catalog_provider_id
from otel_tokenomics.semconv.prices.record import PriceRecord, compile_pricer
from otel_tokenomics.semconv.prices.sheet import PriceSheet, PriceSheetError
from otel_tokenomics.semconv.prices.validity import date_start, epoch, to_datetime, window_around
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "ENV_AUTO_UPDATE",
    "ENV_CURRENCY",
    "ENV_PRICE_SHEET",
    "PriceBook",
    "normalize_model",
]

ENV_PRICE_SHEET = "OTEL_TOKENOMICS_PRICE_SHEET"
ENV_CURRENCY = "OTEL_TOKENOMICS_CURRENCY"
ENV_AUTO_UPDATE = "OTEL_TOKENOMICS_PRICES_AUTO_UPDATE"

_logger = logging.getLogger("otel_tokenomics")
_MAX_KEYS = 8192  # distinct (provider, model, ...) keys before the cache is dropped and rebuilt
_WINDOWS_PER_KEY = 8
_TRUE = frozenset({"1", "true", "yes", "on"})

_CacheKey = tuple[str | None, str | None, str | None, str | None, str | None, bool]


def normalize_model(model: str | None) -> str | None:
    """A model id as looked up: trimmed, without Gemini's `models/` prefix; None when empty."""
    if not model:
        return None
    model = model.strip()
    if model[:7].lower() == "models/":
        model = model[7:]
    return model or None


class _Entry:
    """A cached answer for one key during [lo, hi): how to price a usage, and what matched."""

    __slots__ = ("hi", "lo", "no_usage", "price", "record")

    def __init__(
        self,
        lo: float,
        hi: float,
        price: Callable[[Usage], Cost],
        no_usage: Cost,
        record: PriceRecord | None,
    ) -> None:
        self.lo = lo
        self.hi = hi
        self.price = price
        self.no_usage = no_usage
        self.record = record


class PriceBook:
    """Prices token usage: price sheets first, then the genai-prices catalog, then unpriced.

    `sheets` are paths (`.toml`/`.yaml`/`.yml`) or `PriceSheet`s; a bad sheet raises `PriceSheetError` here.
    `currency` is the report currency; None takes the first sheet's `currency.report`, else USD. A currency
    other than USD needs an exchange rate in some sheet. `use_catalog=False` prices from sheets only.
    `auto_update=True` opts in to genai-prices' background price updates (network; off by default).
    """

    _default: PriceBook | None = None
    _default_lock = threading.Lock()

    def __init__(
        self,
        sheets: Iterable[str | PathLike[str] | PriceSheet] = (),
        *,
        use_catalog: bool = True,
        currency: str | None = None,
        auto_update: bool = False,
    ) -> None:
        self.sheets: tuple[PriceSheet, ...] = tuple(
            sheet if isinstance(sheet, PriceSheet) else PriceSheet.load(sheet) for sheet in sheets
        )
        self._rates = RateTable(rate for sheet in self.sheets for rate in sheet.rates)
        if currency is None:
            currency = next((s.report_currency for s in self.sheets if s.report_currency), USD)
        elif isinstance(currency, str):
            currency = currency.strip().upper()
        if not is_currency_code(currency):
            raise PriceSheetError(f"report currency: expected an ISO 4217 code like 'EUR', got {currency!r}")
        if currency not in self._rates:
            names = ", ".join(s.name for s in self.sheets) or "no sheet given"
            raise PriceSheetError(
                f"report currency {currency}: no exchange rate USD→{currency} in the price sheets ({names}); "
                f"add currency.rates.{currency} to a sheet"
            )
        self.currency: str = currency
        self.use_catalog = use_catalog
        self._catalog: Catalog | None = Catalog(auto_update=auto_update) if use_catalog else None
        self._watch_snapshot = bool(use_catalog and auto_update)
        self._snapshot_id: int | None = None
        self._cache: dict[_CacheKey, _Entry] = {}
        self._history: dict[_CacheKey, list[_Entry]] = {}
        self._lock = threading.Lock()
        self._logged: set[tuple[str, str]] = set()
        self._no_usage = Cost.unpriced(UnpricedReason.NO_USAGE, currency)
        self._no_model = Cost.unpriced(UnpricedReason.NO_MODEL, currency)
        self._no_model_entry = _Entry(-math.inf, math.inf, lambda usage: self._no_model, self._no_model, None)

    # --- the process-wide default -------------------------------------------------------------------------
    @classmethod
    def default(cls) -> PriceBook:
        """The process-wide book: the bundled catalog plus the sheets named by `OTEL_TOKENOMICS_PRICE_SHEET`
        (paths separated by `os.pathsep`), report currency `OTEL_TOKENOMICS_CURRENCY` (default: the sheets',
        else USD), auto-update only if `OTEL_TOKENOMICS_PRICES_AUTO_UPDATE=true`. Built once; a malformed
        sheet raises `PriceSheetError` (every time it is asked for, until fixed)."""
        book = cls._default
        if book is not None:
            return book
        with cls._default_lock:
            if cls._default is None:
                paths = [p for p in os.environ.get(ENV_PRICE_SHEET, "").split(os.pathsep) if p.strip()]
                currency = os.environ.get(ENV_CURRENCY, "").strip() or None
                auto = os.environ.get(ENV_AUTO_UPDATE, "").strip().lower() in _TRUE
                cls._default = cls([p.strip() for p in paths], currency=currency, auto_update=auto)
            return cls._default

    @classmethod
    def clear_default(cls) -> None:
        """Forgets the default book (tests; after changing the environment)."""
        with cls._default_lock:
            cls._default = None

    # --- pricing ------------------------------------------------------------------------------------------
    def cost(
        self,
        usage: Usage,
        provider: str | None = None,
        model: str | None = None,
        request_model: str | None = None,
        server_address: str | None = None,
        service_tier: str | None = None,
        when: float | None = None,
        self_hosted: bool = False,
    ) -> Cost:
        """The cost of one call. `model` is the response model, `request_model` the requested one, `when` the
        request time in epoch seconds (None = now). Never raises."""
        try:
            if when is None:
                when = time.time()
            elif type(when) is not float:
                when = _as_epoch(when)
            if self._watch_snapshot:
                self._check_snapshot()
            key = (provider, model, request_model, server_address, service_tier, self_hosted)
            entry = self._cache.get(key)
            if entry is None or not (entry.lo <= when < entry.hi):
                entry = self._entry(key, when)
            if usage.input_tokens or usage.output_tokens:
                return entry.price(usage)
            return entry.no_usage
        except Exception as error:
            return self._failed(error)

    def resolve(
        self,
        provider: str | None,
        model: str | None,
        server_address: str | None = None,
        service_tier: str | None = None,
        when: float | None = None,
        self_hosted: bool = False,
        request_model: str | None = None,
    ) -> PriceRecord | None:
        """The record that prices such a call (rates per million tokens in the report currency, provenance,
        validity), or None when the call would be unpriced. For display; uses the same cache as `cost`."""
        when = time.time() if when is None else _as_epoch(when)
        key = (provider, model, request_model, server_address, service_tier, self_hosted)
        entry = self._cache.get(key)
        if entry is None or not (entry.lo <= when < entry.hi):
            entry = self._entry(key, when)
        return entry.record

    def warm(self) -> None:
        """Loads the catalog now (import 0.25-0.5 s plus its data) so the first priced span does not pay
        for it. Meant for a background thread at startup; safe to call more than once."""
        if self._catalog is not None:
            self._catalog.find("openai", "gpt-4o")

    @property
    def catalog_version(self) -> str | None:
        """The genai-prices version in use (loads the catalog), or None without a catalog."""
        return self._catalog.version if self._catalog is not None else None

    def catalog_models(self) -> list[tuple[str, str]]:
        """Every (catalog provider id, model id), for tooling and tests; empty without a catalog."""
        return list(self._catalog.iter_models()) if self._catalog is not None else []

    def clear_cache(self) -> None:
        """Forgets every resolved record (e.g. after the catalog changed)."""
        with self._lock:
            self._cache.clear()
            self._history.clear()

    def close(self) -> None:
        """Stops the genai-prices updater if this book started one."""
        if self._catalog is not None:
            self._catalog.stop()

    # --- slow path ----------------------------------------------------------------------------------------
    def _check_snapshot(self) -> None:
        assert self._catalog is not None
        current = self._catalog.current_snapshot_id()
        if current != self._snapshot_id:
            self._snapshot_id = current
            self.clear_cache()

    def _failed(self, error: Exception) -> Cost:
        self._log_once(error, traceback=True)
        return Cost.unpriced(UnpricedReason.ERROR, self.currency)

    def _log_once(self, error: Exception, traceback: bool = False) -> None:
        """Logs each distinct error once (bounded, so a flood of distinct errors cannot grow memory)."""
        signature = (type(error).__name__, str(error))
        if signature not in self._logged and len(self._logged) < 1000:
            self._logged.add(signature)
            _logger.warning(
                "otel-tokenomics could not price a call: %s: %s",
                *signature,
                exc_info=error if traceback else None,
            )

    def _entry(self, key: _CacheKey, when: float) -> _Entry:
        """Finds (or builds and caches) the entry for `key` valid at `when`."""
        with self._lock:
            history = self._history.get(key)
            if history:
                for entry in history:
                    if entry.lo <= when < entry.hi:
                        self._cache[key] = entry
                        return entry
        entry = self._build(key, when)
        with self._lock:
            if len(self._history) >= _MAX_KEYS:
                self._cache.clear()
                self._history.clear()
            history = self._history.setdefault(key, [])
            history.insert(0, entry)
            del history[_WINDOWS_PER_KEY:]
            self._cache[key] = entry
        return entry

    def _build(self, key: _CacheKey, when: float) -> _Entry:
        provider, model, request_model, server_address, service_tier, self_hosted = key
        candidates = _candidates(model, request_model)
        if not candidates:
            return self._no_model_entry
        provider_name = provider.strip().lower() if provider else None
        server = server_address.strip().lower() if server_address else None
        try:
            record, reason, points = self._lookup(
                provider_name, candidates, server, service_tier, bool(self_hosted), when
            )
        except Exception as error:
            cost = self._failed(error)
            return _Entry(-math.inf, math.inf, lambda usage: cost, cost, None)
        lo, hi = window_around(when, points)
        if record is None:
            cost = Cost.unpriced(reason, self.currency)
            return _Entry(lo, hi, lambda usage: cost, cost, None)
        record = record.with_provenance(valid_from=lo, valid_until=hi)
        return _Entry(lo, hi, compile_pricer(record), self._no_usage, record)

    def _lookup(
        self,
        provider: str | None,
        candidates: list[str],
        server: str | None,
        service_tier: str | None,
        self_hosted: bool,
        when: float,
    ) -> tuple[PriceRecord | None, str, list[float]]:
        """(record in its own currency, or None; the unpriced reason; change points bounding the answer)."""
        points: list[float] = []
        catalog_answer: list[tuple[PriceRecord | None, str, list[float]]] = []

        def catalog() -> tuple[PriceRecord | None, str, list[float]]:
            if not catalog_answer:
                catalog_answer.append(self._catalog_lookup(provider, candidates, server, service_tier, when))
            return catalog_answer[0]

        record: PriceRecord | None = None
        for candidate in candidates:
            for sheet in self.sheets:
                for entry in sheet.entries:
                    if not entry.matches(provider, candidate, server):
                        continue
                    points.extend(p for p in (entry.valid_from, entry.valid_until) if math.isfinite(p))
                    if not entry.active(when):
                        continue
                    common = {
                        "provider": provider,
                        "model": candidate,
                        "source": sheet.source,
                        "source_version": sheet.version,
                    }
                    if entry.free:
                        record = PriceRecord(**common, currency=self.currency, free=True)
                    elif entry.multiplier is not None:
                        if self_hosted or self._catalog is None:
                            continue
                        listed, _, catalog_points = catalog()
                        points.extend(catalog_points)
                        if listed is None or listed.free:
                            continue
                        record = listed.scaled(entry.multiplier).with_provenance(
                            source=sheet.source, source_version=sheet.version
                        )
                    else:
                        record = PriceRecord(**common, currency=entry.currency, **entry.rates)
                    break
                if record is not None:
                    break
            if record is not None:
                break

        reason = UnpricedReason.UNKNOWN_MODEL
        if record is None:
            if self_hosted:
                return None, UnpricedReason.SELF_HOSTED, points
            if self._catalog is None:
                return None, UnpricedReason.UNKNOWN_MODEL, points
            record, reason, catalog_points = catalog()
            points.extend(catalog_points)
            if record is None:
                return None, reason, points

        if record.free or record.currency == self.currency:
            return record.with_provenance(currency=self.currency), reason, points
        factor = self._rates.factor(record.currency, self.currency, when)
        points.extend(self._rates.change_points(record.currency, self.currency))
        if factor is None:
            day = to_datetime(when).date()
            self._log_once(
                LookupError(f"no exchange rate {record.currency}→{self.currency} effective on {day}")
            )
            return None, UnpricedReason.ERROR, points
        return record.scaled(factor).with_provenance(currency=self.currency), reason, points

    def _catalog_lookup(
        self,
        provider: str | None,
        candidates: list[str],
        server: str | None,
        service_tier: str | None,
        when: float,
    ) -> tuple[PriceRecord | None, str, list[float]]:
        catalog = self._catalog
        assert catalog is not None
        ids: list[str] = []
        if server:
            by_address = catalog.provider_for_address(server)
            if by_address:
                ids.append(by_address)
        mapped = catalog_provider_id(provider, catalog.provider_ids)
        if isinstance(mapped, str) and mapped not in ids:
            ids.append(mapped)
        if provider is None or mapped is UNMAPPED:
            # Safe only here: no provider says otherwise, and a vendor model name (gpt-*, claude*, gemini*)
            # priced at the vendor's list price is the best guess for a proxy/gateway we do not know.
            for candidate in candidates:
                routed = catalog.route(candidate)
                if routed and routed not in ids:
                    ids.append(routed)
        if not ids:
            return None, UnpricedReason.UNKNOWN_PROVIDER, []
        for candidate in candidates:
            for provider_id in ids:
                match = catalog.find(provider_id, candidate)
                if match is None:
                    continue
                found, window = catalog.record(match, when, service_tier)
                points = [p for p in window if math.isfinite(p)]
                if isinstance(found, NotTokenPriced):
                    return None, UnpricedReason.UNKNOWN_MODEL, points
                return found, UnpricedReason.UNKNOWN_MODEL, points
        return None, UnpricedReason.UNKNOWN_MODEL, []


def _candidates(model: str | None, request_model: str | None) -> list[str]:
    """Response model first, then the request model (deployment names, `-latest` aliases), deduplicated."""
    result: list[str] = []
    for name in (normalize_model(model), normalize_model(request_model)):
        if name and all(name.lower() != seen.lower() for seen in result):
            result.append(name)
    return result


def _as_epoch(when: Any) -> float:
    """Epoch seconds from a float/int, an aware or naive (UTC) datetime, or a date (its UTC midnight)."""
    if isinstance(when, datetime):
        return epoch(when)
    if isinstance(when, date):
        return date_start(when)
    if isinstance(when, Decimal):
        return float(when)
    if isinstance(when, int | float) and not isinstance(when, bool):
        return float(when)
    raise TypeError(f"request time must be epoch seconds or a datetime, got {type(when).__name__}")
