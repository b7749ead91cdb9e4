"""The one `BaseInstrumentor` every provider shares; a provider subclass only names its adapter.

Keeping wrapping, unwrapping and set-up here means a new SDK is one small adapter module, and that
`instrument()`/`uninstrument()`/double-instrument behave identically for all of them.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Collection
from typing import Any, ClassVar

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from otel_tokenomics.instrumentation.core.config import InstrumentationConfig
from otel_tokenomics.instrumentation.core.guard import logger, report_internal_error
from otel_tokenomics.instrumentation.core.spec import ProviderAdapter
from otel_tokenomics.instrumentation.core.telemetry import Telemetry
from otel_tokenomics.instrumentation.core.wrapper import make_wrapper

__all__ = ["GenAIInstrumentor"]


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("otel-tokenomics")
    except Exception:
        return "0+unknown"


class GenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instrument one SDK described by `adapter`.

    Keyword arguments of `instrument()`: `tracer_provider`, `meter_provider`, `price_book` (a
    `otel_tokenomics.semconv.prices.PriceBook`; default: the catalog plus `OTEL_TOKENOMICS_PRICE_SHEET`),
    `capture_content` (bool or a mode name; default from `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`),
    `inject_stream_usage` (bool; default from `OTEL_TOKENOMICS_INJECT_STREAM_USAGE`), `provider_hosts`
    (`{"host[:port]": provider}`; default from `OTEL_TOKENOMICS_PROVIDER_HOSTS`), `budgets` (a `BudgetGuard`, a
    list of `Budget`s or a budget file path; default from `OTEL_TOKENOMICS_BUDGETS`).
    """

    adapter: ClassVar[ProviderAdapter]

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.adapter.instruments

    def _instrument(self, **kwargs: Any) -> None:
        config = InstrumentationConfig.from_env(
            capture_content=kwargs.get("capture_content"),
            inject_stream_usage=kwargs.get("inject_stream_usage"),
            provider_hosts=kwargs.get("provider_hosts"),
        )
        price_book = kwargs.get("price_book")
        if price_book is None:
            from otel_tokenomics.semconv.prices import PriceBook

            price_book = PriceBook.default()
        guard = _call_guard(kwargs.get("budgets"), price_book, kwargs.get("meter_provider"))
        telemetry = Telemetry(
            f"otel_tokenomics.instrumentation.{self.adapter.name}",
            _package_version(),
            config,
            price_book,
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            guard=guard,
        )
        self.telemetry = telemetry
        self._wrapped: list[tuple[Any, str]] = []
        for target in self.adapter.targets:
            owner_path, _, method = target.qualname.rpartition(".")
            try:
                owner: Any = importlib.import_module(target.module)
                for part in owner_path.split(".") if owner_path else ():  # "" = a module-level function
                    owner = getattr(owner, part)
                if not hasattr(owner, method):
                    raise AttributeError(method)
            except (ImportError, AttributeError):
                # Older SDK releases lack newer endpoints; that is expected, not an error.
                logger.debug("otel-tokenomics: %s.%s not found, not wrapped", target.module, target.qualname)
                continue
            wrap_function_wrapper(owner, method, make_wrapper(telemetry, self.adapter, target))
            self._wrapped.append((owner, method))
        _warm_in_background(price_book)

    def _uninstrument(self, **kwargs: Any) -> None:
        telemetry = getattr(self, "telemetry", None)
        if telemetry is not None:
            telemetry.enabled = False
        for owner, method in getattr(self, "_wrapped", ()):
            try:
                unwrap(owner, method)
            except Exception:
                report_internal_error("uninstrument")
        self._wrapped = []


def _call_guard(budgets: Any, price_book: Any, meter_provider: Any) -> Any:
    """The budget guard from `instrument(budgets=...)` or `OTEL_TOKENOMICS_BUDGETS`; None when there are none.

    Budgets live outside the core (`otel_tokenomics.budgets`); the core only knows the `CallGuard` protocol.
    Without budgets nothing is imported and every call skips the guard entirely.
    """
    if budgets is None and not os.environ.get("OTEL_TOKENOMICS_BUDGETS"):
        return None
    from otel_tokenomics.budgets.guard import guard_from

    return guard_from(budgets, price_book=price_book, meter_provider=meter_provider)


def _warm_in_background(price_book: Any) -> None:
    """Load the price catalog off the request path (its import takes a few hundred ms)."""
    warm = getattr(price_book, "warm", None)
    if warm is None:
        return

    def run() -> None:
        try:
            warm()
        except Exception:
            report_internal_error("price book warm-up")

    threading.Thread(target=run, name="otel-tokenomics-prices", daemon=True).start()
