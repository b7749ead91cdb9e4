"""Settings an instrumentor reads once, at `instrument()` time, from arguments and environment variables.

Reading them once keeps `os.environ` look-ups off the per-call path, and gives one place that documents every
switch (the README's configuration table mirrors this module).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "ENV_CAPTURE_CONTENT",
    "ENV_INJECT_STREAM_USAGE",
    "ENV_PROVIDER_HOSTS",
    "ContentCapture",
    "InstrumentationConfig",
    "parse_provider_hosts",
]

ENV_CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
ENV_INJECT_STREAM_USAGE = "OTEL_TOKENOMICS_INJECT_STREAM_USAGE"
ENV_PROVIDER_HOSTS = "OTEL_TOKENOMICS_PROVIDER_HOSTS"

_TRUE = {"1", "true", "yes", "on"}


class ContentCapture(Enum):
    """Where prompts and completions go; `NONE` unless the user opts in (they may hold personal data)."""

    NONE = "no_content"
    SPAN = "span_only"
    EVENT = "event_only"
    SPAN_AND_EVENT = "span_and_event"

    @property
    def on_span(self) -> bool:
        return self in (ContentCapture.SPAN, ContentCapture.SPAN_AND_EVENT)

    @property
    def as_event(self) -> bool:
        return self in (ContentCapture.EVENT, ContentCapture.SPAN_AND_EVENT)

    @classmethod
    def parse(cls, raw: str | None) -> ContentCapture:
        """Accepts both spellings the contrib instrumentations use: `true`/`false` and the mode names."""
        value = (raw or "").strip().lower()
        if value in _TRUE:
            return cls.SPAN
        for mode in cls:
            if value == mode.value:
                return mode
        return cls.NONE


def parse_provider_hosts(raw: str | Mapping[str, str] | None) -> dict[str, str]:
    """`host[:port]=provider` pairs, comma separated, e.g. `127.0.0.1:8787=openai,llm.corp=self_hosted`."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return {str(host).lower(): str(provider) for host, provider in raw.items()}
    hosts: dict[str, str] = {}
    for pair in raw.split(","):
        if not pair.strip():
            continue
        host, sep, provider = pair.partition("=")
        if not sep or not host.strip() or not provider.strip():
            raise ValueError(f"{ENV_PROVIDER_HOSTS}: expected host[:port]=provider, got {pair.strip()!r}")
        hosts[host.strip().lower()] = provider.strip()
    return hosts


@dataclass(frozen=True, slots=True)
class InstrumentationConfig:
    content: ContentCapture = ContentCapture.NONE
    inject_stream_usage: bool = False
    provider_hosts: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(
        cls,
        *,
        capture_content: bool | str | None = None,
        inject_stream_usage: bool | None = None,
        provider_hosts: str | Mapping[str, str] | None = None,
    ) -> InstrumentationConfig:
        """Explicit arguments win over the environment."""
        if capture_content is None:
            content = ContentCapture.parse(os.environ.get(ENV_CAPTURE_CONTENT))
        elif isinstance(capture_content, bool):
            content = ContentCapture.SPAN if capture_content else ContentCapture.NONE
        else:
            content = ContentCapture.parse(capture_content)
        if inject_stream_usage is None:
            inject_stream_usage = os.environ.get(ENV_INJECT_STREAM_USAGE, "").strip().lower() in _TRUE
        if provider_hosts is None:
            provider_hosts = os.environ.get(ENV_PROVIDER_HOSTS)
        return cls(content, inject_stream_usage, parse_provider_hosts(provider_hosts))
