"""Ollama's SDK (`ollama`): chat, generate and embeddings, counted in tokens; priced only by a price sheet."""

from __future__ import annotations

from otel_tokenomics.instrumentation.core import GenAIInstrumentor
from otel_tokenomics.instrumentation.ollama.adapter import OllamaAdapter

__all__ = ["OllamaInstrumentor"]


class OllamaInstrumentor(GenAIInstrumentor):
    """Spans, metrics and cost for the `ollama` SDK; see `GenAIInstrumentor` for the `instrument()` options."""

    adapter = OllamaAdapter()
