"""Auto-instrumentation of LLM SDKs."""
