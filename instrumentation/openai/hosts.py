"""Which provider an OpenAI-compatible client is really talking to, from its base URL.

The OpenAI SDK is the de-facto client for a dozen providers; pricing DeepSeek or Groq traffic as OpenAI (or
not at all) is the most common cost error of peers that hard-code `openai`. Hosts are matched on label
boundaries (`api.groq.com` matches `groq.com`, `evilgroq.com` does not). Loopback and private addresses are
self-hosted servers (vLLM, Ollama, a gateway): they keep the `openai` provider name, as the conventions say for
unknown OpenAI-compatible backends, but are priced only by a price sheet. A user's own host map wins.
"""

from __future__ import annotations

import contextlib
import ipaddress
import weakref
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["Destination", "client_destination", "provider_for_host"]

# Suffix → gen_ai.provider.name (conventions' names where they exist; our own for the rest).
_HOST_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("api.openai.com", "openai"),
    ("openai.azure.com", "azure.ai.openai"),
    ("cognitiveservices.azure.com", "azure.ai.openai"),
    ("services.ai.azure.com", "azure.ai.inference"),
    ("models.inference.ai.azure.com", "azure.ai.inference"),
    ("api.deepseek.com", "deepseek"),
    ("api.groq.com", "groq"),
    ("api.x.ai", "x_ai"),
    ("openrouter.ai", "openrouter"),
    ("api.together.xyz", "together"),
    ("api.together.ai", "together"),
    ("api.fireworks.ai", "fireworks"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.perplexity.ai", "perplexity"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("api.anthropic.com", "anthropic"),
    ("api.cohere.ai", "cohere"),
    ("api.cohere.com", "cohere"),
    ("bedrock-runtime.amazonaws.com", "aws.bedrock"),
)
_AZURE_CLIENTS = frozenset({"AzureOpenAI", "AsyncAzureOpenAI"})
_DEFAULT_PORTS = {"https": 443, "http": 80}


class Destination(NamedTuple):
    provider: str
    address: str | None
    port: int | None
    self_hosted: bool


def _is_private(host: str) -> bool:
    if host in ("localhost", "host.docker.internal") or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def provider_for_host(
    host: str, port: int | None, overrides: Mapping[str, str], default: str = "openai"
) -> tuple[str, bool]:
    """(provider name, self_hosted) for a host; `overrides` maps `host` or `host:port` to a provider."""
    host = host.lower()
    if overrides:
        chosen = overrides.get(f"{host}:{port}") or overrides.get(host)
        if chosen:
            if chosen == "self_hosted":
                return default, True
            return chosen, False
    if bool(host) and _is_private(host):
        return default, True
    for suffix, provider in _HOST_SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            return provider, False
    return default, False


_cache: weakref.WeakKeyDictionary[Any, tuple[Any, Destination]] = weakref.WeakKeyDictionary()


def client_destination(client: Any, overrides: Mapping[str, str]) -> Destination:
    """Where an SDK client sends requests, cached per client until its base URL object changes."""
    base_url = getattr(client, "base_url", None)
    try:
        cached = _cache.get(client)
    except TypeError:  # an unhashable client: no caching
        cached = None
    if cached is not None and cached[0] is base_url:
        return cached[1]
    host = str(getattr(base_url, "host", "") or "")
    scheme = str(getattr(base_url, "scheme", "") or "")
    port = getattr(base_url, "port", None) or _DEFAULT_PORTS.get(scheme)
    if type(client).__name__ in _AZURE_CLIENTS:
        provider, self_hosted = "azure.ai.openai", False
        chosen = overrides.get(f"{host}:{port}") or overrides.get(host) if overrides else None
        if chosen:
            provider, self_hosted = provider_for_host(host, port, overrides)
    else:
        provider, self_hosted = provider_for_host(host, port, overrides)
    destination = Destination(provider, host or None, port, self_hosted)
    with contextlib.suppress(TypeError):
        _cache[client] = (base_url, destination)
    return destination
