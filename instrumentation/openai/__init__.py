"""OpenAI and OpenAI-compatible providers (Azure OpenAI, DeepSeek, Groq, xAI, OpenRouter, Together, ...)."""

from __future__ import annotations

from otel_tokenomics.instrumentation.core import GenAIInstrumentor
from otel_tokenomics.instrumentation.openai.adapter import OpenAIAdapter

__all__ = ["OpenAIInstrumentor"]


class OpenAIInstrumentor(GenAIInstrumentor):
    """Spans, metrics and cost for the `openai` SDK; see `GenAIInstrumentor` for the `instrument()` options."""

    adapter = OpenAIAdapter()
