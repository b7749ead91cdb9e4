"""LiteLLM (`litellm`): `completion`, `acompletion`, `embedding`, `aembedding`, priced as the backend that answered.

LiteLLM is pinned to a vetted release in the `litellm` extra (see the README's LiteLLM section for why).
"""

from __future__ import annotations

import os
from typing import Any

from otel_tokenomics.instrumentation.core import GenAIInstrumentor
from otel_tokenomics.instrumentation.litellm.adapter import LiteLLMAdapter
from otel_tokenomics.instrumentation.litellm.readers import LITELLM_RESPONSE_COST, CostSource

__all__ = ["LITELLM_RESPONSE_COST", "LiteLLMInstrumentor"]

_COST_SOURCE_ENV = "OTEL_TOKENOMICS_LITELLM_COST_SOURCE"


class LiteLLMInstrumentor(GenAIInstrumentor):
    """Spans, metrics and cost for `litellm`; see `GenAIInstrumentor` for the common `instrument()` options.

    One more option, `cost_source`: `"price_book"` (default) prices calls with our price book and records
    LiteLLM's own estimate beside it as `tokenomics.litellm.response_cost`; `"litellm"` takes LiteLLM's
    estimate as the amount where it has one (`tokenomics.cost.reported_by`). Default from
    `OTEL_TOKENOMICS_LITELLM_COST_SOURCE`.
    """

    adapter = LiteLLMAdapter()

    def _instrument(self, **kwargs: Any) -> None:
        source = kwargs.get("cost_source") or os.environ.get(_COST_SOURCE_ENV) or CostSource.PRICE_BOOK
        if source not in (CostSource.PRICE_BOOK, CostSource.LITELLM):
            raise ValueError(
                f"LiteLLM cost_source (or {_COST_SOURCE_ENV}) must be 'price_book' or 'litellm', got {source!r}"
            )
        CostSource.current = source
        super()._instrument(**kwargs)

    def _uninstrument(self, **kwargs: Any) -> None:
        CostSource.current = CostSource.PRICE_BOOK
        super()._uninstrument(**kwargs)
