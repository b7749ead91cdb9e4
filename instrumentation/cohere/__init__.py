"""Cohere's `cohere` SDK, v2 API (`ClientV2`/`AsyncClientV2`): chat, chat streams, embed and rerank."""

from __future__ import annotations

from otel_tokenomics.instrumentation.cohere.adapter import CohereAdapter
from otel_tokenomics.instrumentation.core import GenAIInstrumentor

__all__ = ["CohereInstrumentor"]


class CohereInstrumentor(GenAIInstrumentor):
    """Spans, metrics and cost for the `cohere` SDK; see `GenAIInstrumentor` for the `instrument()` options."""

    adapter = CohereAdapter()
