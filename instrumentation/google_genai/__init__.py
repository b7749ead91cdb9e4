"""Google's `google-genai` SDK: the Gemini API (`gcp.gemini`) and Vertex AI (`gcp.vertex_ai`)."""

from __future__ import annotations

from otel_tokenomics.instrumentation.core import GenAIInstrumentor
from otel_tokenomics.instrumentation.google_genai.adapter import GoogleGenAIAdapter

__all__ = ["GoogleGenAIInstrumentor"]


class GoogleGenAIInstrumentor(GenAIInstrumentor):
    """Spans, metrics and cost for `google-genai`; see `GenAIInstrumentor` for the `instrument()` options."""

    adapter = GoogleGenAIAdapter()
