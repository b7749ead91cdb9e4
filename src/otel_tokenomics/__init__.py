"""otel-tokenomics: LLM token usage and cost inside OpenTelemetry."""

__all__: list[str] = []
