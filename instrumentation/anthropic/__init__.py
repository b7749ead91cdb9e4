"""Anthropic's `anthropic` SDK: the first-party API and its Vertex AI and Bedrock clients."""

from __future__ import annotations

from otel_tokenomics.instrumentation.anthropic.adapter import AnthropicAdapter
from otel_tokenomics.instrumentation.core import GenAIInstrumentor

__all__ = ["AnthropicInstrumentor"]


class AnthropicInstrumentor(GenAIInstrumentor):
    """Spans, metrics and cost for the `anthropic` SDK; see `GenAIInstrumentor` for the `instrument()` options."""

    adapter = AnthropicAdapter()
