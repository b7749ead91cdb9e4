"""otel-tokenomics: LLM token usage and cost inside OpenTelemetry.

`otel_tokenomics.instrument()` instruments every installed supported LLM SDK; see the README.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["instrument"]

if TYPE_CHECKING:
    from otel_tokenomics.instrumentation import Instrumentation


def instrument(**options: Any) -> Instrumentation:
    """Instrument every installed supported SDK; returns a handle whose `uninstrument()` undoes it.

    Options: `tracer_provider`, `meter_provider`, `price_book`, `capture_content`, `inject_stream_usage`,
    `provider_hosts`, `sdks` (a subset of SDK names).
    """
    from otel_tokenomics.instrumentation import instrument as _instrument

    return _instrument(**options)
