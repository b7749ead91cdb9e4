"""Mistral AI's `mistralai` SDK (La Plateforme): chat completions, streams and embeddings."""

from __future__ import annotations

from otel_tokenomics.instrumentation.core import GenAIInstrumentor
from otel_tokenomics.instrumentation.mistral.adapter import MistralAdapter

__all__ = ["MistralInstrumentor"]


class MistralInstrumentor(GenAIInstrumentor):
    """Spans, metrics and cost for the `mistralai` SDK; see `GenAIInstrumentor` for the `instrument()` options."""

    adapter = MistralAdapter()
