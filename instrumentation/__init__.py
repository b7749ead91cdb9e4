"""Auto-instrumentation of LLM SDKs: one core (`core/`) and one small adapter package per SDK."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from otel_tokenomics.instrumentation.core.guard import logger

__all__ = ["SUPPORTED_SDKS", "Instrumentation", "instrument"]

# SDK import name → instrumentor ("module:Class"). A new adapter adds one line here and one entry point.
SUPPORTED_SDKS: dict[str, str] = {
    "openai": "otel_tokenomics.instrumentation.openai:OpenAIInstrumentor",
    "anthropic": "otel_tokenomics.instrumentation.anthropic:AnthropicInstrumentor",
    "boto3": "otel_tokenomics.instrumentation.bedrock:BedrockInstrumentor",
    "google.genai": "otel_tokenomics.instrumentation.google_genai:GoogleGenAIInstrumentor",
    "mistralai": "otel_tokenomics.instrumentation.mistral:MistralInstrumentor",
    "cohere": "otel_tokenomics.instrumentation.cohere:CohereInstrumentor",
    "groq": "otel_tokenomics.instrumentation.groq:GroqInstrumentor",
    "ollama": "otel_tokenomics.instrumentation.ollama:OllamaInstrumentor",
    "litellm": "otel_tokenomics.instrumentation.litellm:LiteLLMInstrumentor",
}


class Instrumentation:
    """What `instrument()` switched on; `uninstrument()` (or leaving a `with` block) switches it off."""

    def __init__(self, instrumentors: dict[str, Any]) -> None:
        self.instrumentors = instrumentors

    @property
    def sdks(self) -> list[str]:
        return sorted(self.instrumentors)

    def uninstrument(self) -> None:
        for instrumentor in self.instrumentors.values():
            instrumentor.uninstrument()
        self.instrumentors = {}

    def __enter__(self) -> Instrumentation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstrument()

    def __repr__(self) -> str:
        return f"Instrumentation(sdks={self.sdks})"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a dotted name whose parent package is missing
        return False


def instrument(*, sdks: list[str] | None = None, **options: Any) -> Instrumentation:
    """Instrument every installed supported SDK (or only `sdks`).

    `options` go to each instrumentor's `instrument()`: `tracer_provider`, `meter_provider`, `price_book`,
    `capture_content`, `inject_stream_usage`, `provider_hosts`, `budgets`. SDKs that are not installed are
    skipped.
    """
    unknown = set(sdks or ()) - set(SUPPORTED_SDKS)
    if unknown:
        raise ValueError(f"unsupported SDKs {sorted(unknown)}; supported: {sorted(SUPPORTED_SDKS)}")
    if options.get("budgets") is not None:
        # One guard, hence one ledger, for every SDK: spend through Anthropic and OpenAI counts against one budget.
        from otel_tokenomics.budgets.guard import guard_from

        options["budgets"] = guard_from(
            options["budgets"], price_book=options.get("price_book"), meter_provider=options.get("meter_provider")
        )
    done: dict[str, Any] = {}
    for sdk, path in SUPPORTED_SDKS.items():
        if sdks is not None and sdk not in sdks:
            continue
        if not _installed(sdk):
            logger.debug("otel-tokenomics: %s is not installed, not instrumented", sdk)
            continue
        module_name, _, class_name = path.partition(":")
        instrumentor = getattr(importlib.import_module(module_name), class_name)()
        if instrumentor.is_instrumented_by_opentelemetry:
            done[sdk] = instrumentor
            continue
        instrumentor.instrument(**options)
        if instrumentor.is_instrumented_by_opentelemetry:
            done[sdk] = instrumentor
    return Instrumentation(done)
