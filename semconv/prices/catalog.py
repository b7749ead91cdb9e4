"""The genai-prices adapter: finds a model in the catalog and freezes its prices into a `PriceRecord`.

Why an adapter instead of calling `calc_price`: `calc_price` costs 100-225 µs a call and a miss up to
0.7 ms, so the book resolves each model once through this module and prices calls from the compiled record.
genai-prices stays the reference: `tests/test_prices_catalog.py` checks our totals against `calc_price` across
the catalog.

Rules followed here:

* genai-prices is imported lazily (0.25-0.5 s), on the first lookup, never at import of this package.
* We use our own `DataSnapshot` of the bundled data, not the process-global one: another library starting
  `UpdatePrices` must not change our prices or provenance behind our back. With `auto_update=True` (opt-in) we
  start `UpdatePrices` ourselves and read the global snapshot, which it replaces when a fetch succeeds.
* `set_custom_snapshot` is never called (it is process-global).
* genai-prices applies price variants (service tier, batch) only when the model belongs to the provider asked
  for, not when it was found through a fallback provider (azure → openai); we mirror that.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from otel_tokenomics.semconv.prices.providers import price_context
from otel_tokenomics.semconv.prices.record import PriceRecord, PriceTier
from otel_tokenomics.semconv.prices.validity import date_start, time_of_day_points, to_datetime, window_around

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, ModelPrice, Provider

__all__ = ["SOURCE", "Catalog", "CatalogMatch", "NotTokenPriced"]

SOURCE = "genai-prices"
_logger = logging.getLogger("otel_tokenomics")

#: genai-prices price keys → our rate names.
_TOKEN_KEYS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write",
    "cache_write_1h_mtok": "cache_write_1h",
    "input_audio_mtok": "input_audio",
    "output_audio_mtok": "output_audio",
    "output_reasoning_mtok": "output_reasoning",
}


class NotTokenPriced:
    """Marker: the model is in the catalog but priced only in units a token `Usage` does not carry
    (audio hours, pages, characters), so pricing it from tokens would report a false 0."""

    __slots__ = ("model", "provider")

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model


class CatalogMatch:
    """A (provider, model) found in the catalog."""

    __slots__ = ("model", "provider")

    def __init__(self, provider: Provider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model


class Catalog:
    """Lazy, read-only view of the genai-prices catalog."""

    def __init__(self, *, auto_update: bool = False) -> None:
        self._auto_update = auto_update
        self._lock = threading.Lock()
        self._snapshot: DataSnapshot | None = None
        self._updater: Any = None
        self._version: str | None = None
        self._ids: frozenset[str] = frozenset()
        self._address_cache: dict[str, str | None] = {}

    # --- loading ----------------------------------------------------------------------------------------
    def _load(self) -> DataSnapshot:
        with self._lock:
            if self._snapshot is None:
                import genai_prices
                from genai_prices import data_snapshot

                self._version = genai_prices.__version__
                if self._auto_update:
                    self._updater = genai_prices.UpdatePrices()
                    self._updater.start(wait=False)
                    snapshot = data_snapshot.get_snapshot()
                else:
                    from genai_prices.data import providers

                    snapshot = data_snapshot.DataSnapshot(providers=providers, from_auto_update=False)
                self._ids = frozenset(p.id for p in snapshot.providers)
                self._snapshot = snapshot
            return self._snapshot

    def snapshot(self) -> DataSnapshot:
        """The snapshot in use (the auto-updated one when enabled)."""
        if self._auto_update:
            from genai_prices import data_snapshot

            self._load()
            current = data_snapshot.get_snapshot()
            if current is not self._snapshot:
                self._snapshot = current
                self._ids = frozenset(p.id for p in current.providers)
            return current
        return self._snapshot or self._load()

    @property
    def auto_update(self) -> bool:
        return self._auto_update

    def current_snapshot_id(self) -> int:
        """Identity of the snapshot in use: changes when the auto-updater replaces the catalog."""
        from genai_prices import data_snapshot

        return id(data_snapshot.get_snapshot())

    @property
    def version(self) -> str:
        """Provenance: the genai-prices package version, plus the fetch time for auto-updated data."""
        snapshot = self.snapshot()
        if snapshot.from_auto_update:
            return f"{self._version}+auto-update:{snapshot.timestamp.isoformat(timespec='seconds')}"
        return self._version or "unknown"

    @property
    def provider_ids(self) -> frozenset[str]:
        self.snapshot()
        return self._ids

    def stop(self) -> None:
        """Stops the auto-updater if this catalog started it."""
        if self._updater is not None:
            self._updater.stop()
            self._updater = None

    # --- lookups ----------------------------------------------------------------------------------------
    def provider_for_address(self, server_address: str) -> str | None:
        """The catalog provider whose API URL pattern matches `https://<server_address>`."""
        key = server_address.lower()
        if key in self._address_cache:
            return self._address_cache[key]
        url = f"https://{key}"
        found = None
        for provider in self.snapshot().providers:
            if re.match(provider.api_pattern, url):
                found = provider.id
                break
        self._address_cache[key] = found
        return found

    def find(self, provider_id: str | None, model: str) -> CatalogMatch | None:
        """The model in provider `provider_id` (with genai-prices' own fallbacks), or routed by model name
        to its vendor when `provider_id` is None. None when not found."""
        try:
            provider, info = self.snapshot().find_provider_model(model, None, provider_id, None)
        except LookupError:
            return None
        return CatalogMatch(provider, info)

    def route(self, model: str) -> str | None:
        """The vendor whose model names match `model` (genai-prices' `model_match`), or None."""
        try:
            return self.snapshot().find_provider(model.lower(), None, None).id
        except LookupError:
            return None

    def iter_models(self) -> Iterator[tuple[str, str]]:
        """Every (provider id, model id) in the catalog, in catalog order (for tests and tooling)."""
        for provider in self.snapshot().providers:
            for model in provider.models:
                yield provider.id, model.id

    # --- freezing prices --------------------------------------------------------------------------------
    def record(
        self, match: CatalogMatch, when: float, service_tier: str | None
    ) -> tuple[PriceRecord | NotTokenPriced, tuple[float, float]]:
        """The prices of `match` at `when` (epoch s) and the window during which they stay the same."""
        provider, info = match.provider, match.model
        context = price_context(service_tier)
        if context and not any(info is model for model in provider.models):
            context = None  # genai-prices ignores variants for fallback-provider models
        moment = to_datetime(when)
        model_price = info.get_prices(moment, context)
        window = window_around(when, _change_points(info, when, context))
        record = self._freeze(provider.id, info.id, model_price)
        if record is None:
            return NotTokenPriced(provider.id, info.id), window
        return record.with_provenance(valid_from=window[0], valid_until=window[1]), window

    def _freeze(self, provider_id: str, model_id: str, model_price: ModelPrice) -> PriceRecord | None:
        values = {key: value for key, value in model_price.__dict__.items() if value is not None}
        base: dict[str, Decimal] = {}
        tiers: dict[int, dict[str, Decimal]] = {}
        for key, name in _TOKEN_KEYS.items():
            value = values.get(key)
            if value is None:
                continue
            if isinstance(value, Decimal):
                base[name] = value
            else:  # TieredPrices
                base[name] = value.base
                for tier in value.tiers:
                    tiers.setdefault(tier.start, {})[name] = tier.price
        per_request = values.get("requests_kcount")
        if isinstance(per_request, Decimal):
            per_request = per_request / 1000
        elif per_request is not None:
            per_request = per_request.base / 1000
        common = {
            "provider": provider_id,
            "model": model_id,
            "source": SOURCE,
            "source_version": self.version,
        }
        if not base and per_request is None:
            if values:
                return None
            return PriceRecord(**common, free=True)
        return PriceRecord(
            **common,
            **base,
            tiers=tuple(PriceTier(start, MappingProxyType(rates)) for start, rates in sorted(tiers.items())),
            per_request=per_request,
        )


def _change_points(info: ModelInfo, when: float, context: dict[str, str] | None) -> list[float]:
    """Instants at which `info`'s applicable prices may change: start dates and times of day."""
    from genai_prices.types import StartDateConstraint, TimeOfDateConstraint

    constraints: list[Any] = []
    if isinstance(info.prices, list):
        constraints.extend(conditional.constraint for conditional in info.prices)
    if context:
        constraints.extend(variant.constraint for variant in info.price_variants or ())
    points: list[float] = []
    times: list[Any] = []
    for constraint in constraints:
        if isinstance(constraint, StartDateConstraint):
            points.append(date_start(constraint.start_date))
        elif isinstance(constraint, TimeOfDateConstraint):
            times.extend((constraint.start_time, constraint.end_time))
    if times:
        points.extend(time_of_day_points(when, times))
    return points
