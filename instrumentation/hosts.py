"""Which provider an SDK client is really talking to, from its host: shared by every adapter.

Many SDKs reach more than one provider (the OpenAI SDK alone serves a dozen OpenAI-compatible APIs), and pricing
DeepSeek traffic as OpenAI — or self-hosted traffic at a cloud's list price — is a common cost error. Hosts are
matched on label boundaries (`api.groq.com` matches `groq.com`, `evilgroq.com` does not). Loopback and private
addresses are servers of the user's own: they keep the SDK's provider name (the conventions' rule for unknown
backends) but are priced only by a price sheet. A user's own host map (`provider_hosts`) always wins; the value
`self_hosted` marks a host as the user's own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["DEFAULT_PORTS", "Destination", "is_private_host", "override_for", "provider_for_host"]

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
DEFAULT_PORTS = {"https": 443, "http": 80}


class Destination(NamedTuple):
    """Where an SDK client sends its requests, as the core needs it on the invocation."""

    provider: str
    address: str | None
    port: int | None
    self_hosted: bool


def is_private_host(host: str) -> bool:
    """Loopback, private and link-local addresses and local names: a server of the user's own."""
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
    if bool(host) and is_private_host(host):
        return default, True
    for suffix, provider in _HOST_SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            return provider, False
    return default, False


def override_for(host: str, port: int | None, overrides: Mapping[str, str]) -> str | None:
    """The user's `provider_hosts` entry for `host:port` or `host`, if any."""
    if not overrides:
        return None
    host = host.lower()
    return overrides.get(f"{host}:{port}") or overrides.get(host)
