"""The provider-independent core: span lifecycle, metrics, cost, content capture, error isolation, streams.

Adapters import from here; this package never imports an adapter or names a provider.
"""

from otel_tokenomics.instrumentation.core.config import ContentCapture, InstrumentationConfig
from otel_tokenomics.instrumentation.core.instrumentor import GenAIInstrumentor
from otel_tokenomics.instrumentation.core.invocation import Invocation
from otel_tokenomics.instrumentation.core.spec import (
    Endpoint,
    ProviderAdapter,
    ResultKind,
    StreamReader,
    Target,
)
from otel_tokenomics.instrumentation.core.wrapper import inside_instrumented_call

__all__ = [
    "ContentCapture",
    "Endpoint",
    "GenAIInstrumentor",
    "InstrumentationConfig",
    "Invocation",
    "ProviderAdapter",
    "ResultKind",
    "StreamReader",
    "Target",
    "inside_instrumented_call",
]
