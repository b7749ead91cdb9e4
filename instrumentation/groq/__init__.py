"""Groq's own SDK (`groq`): chat completions and embeddings, priced as provider `groq`."""

from __future__ import annotations

from otel_tokenomics.instrumentation.core import GenAIInstrumentor
from otel_tokenomics.instrumentation.groq.adapter import GroqAdapter

__all__ = ["GroqInstrumentor"]


class GroqInstrumentor(GenAIInstrumentor):
    """Spans, metrics and cost for the `groq` SDK; see `GenAIInstrumentor` for the `instrument()` options."""

    adapter = GroqAdapter()
