"""Which provider an Anthropic SDK client bills through: its class first, then its base URL.

The SDK's platform clients (`AnthropicVertex`, `AnthropicBedrock`, ...) send the same Messages API to a cloud
that bills at its own rates, so the client class decides the provider; a plain `Anthropic` client is priced by
its host, because it is also the client of Anthropic-compatible endpoints (DeepSeek's `/anthropic`, gateways).
Host matching, loopback/self-hosted handling and the user's `provider_hosts` map are shared with the OpenAI
adapter; as there, a user's explicit host mapping wins over everything.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Mapping
from typing import Any

from otel_tokenomics.instrumentation.hosts import Destination, provider_for_host

__all__ = ["PLATFORM_PROVIDERS", "client_destination"]

#: SDK client class names (matched along the MRO, so subclasses count) → gen_ai.provider.name.
PLATFORM_PROVIDERS: Mapping[str, str] = {
    "AnthropicVertex": "gcp.vertex_ai",
    "AsyncAnthropicVertex": "gcp.vertex_ai",
    "AnthropicBedrock": "aws.bedrock",
    "AsyncAnthropicBedrock": "aws.bedrock",
    "AnthropicBedrockMantle": "aws.bedrock",
    "AsyncAnthropicBedrockMantle": "aws.bedrock",
}
_DEFAULT_PORTS = {"https": 443, "http": 80}

_cache: weakref.WeakKeyDictionary[Any, tuple[Any, Destination]] = weakref.WeakKeyDictionary()


def _platform_provider(client: Any) -> str | None:
    for cls in type(client).__mro__:
        provider = PLATFORM_PROVIDERS.get(cls.__name__)
        if provider is not None:
            return provider
    return None


def client_destination(client: Any, overrides: Mapping[str, str]) -> Destination:
    """Where an SDK client sends requests, cached per client until its base URL object changes."""
    base_url = getattr(client, "base_url", None)
    try:
        cached = _cache.get(client)
    except TypeError:  # an unhashable client: no caching
        cached = None
    if cached is not None and cached[0] is base_url:
        return cached[1]
    host = str(getattr(base_url, "host", "") or "").lower()
    scheme = str(getattr(base_url, "scheme", "") or "")
    port = getattr(base_url, "port", None) or _DEFAULT_PORTS.get(scheme)
    platform = _platform_provider(client)
    chosen = (overrides.get(f"{host}:{port}") or overrides.get(host)) if overrides else None
    if platform is not None and not chosen:
        provider, self_hosted = platform, False
    else:
        provider, self_hosted = provider_for_host(host, port, overrides, default="anthropic")
    destination = Destination(provider, host or None, port, self_hosted)
    with contextlib.suppress(TypeError):
        _cache[client] = (base_url, destination)
    return destination
