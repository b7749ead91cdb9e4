"""Which provider a LiteLLM call really goes to, and where: from LiteLLM's own routing, not from the model string.

LiteLLM names its backends (`custom_llm_provider`) in its own vocabulary (`together_ai`, `vertex_ai`, `xai`, ...);
the span needs the conventions' `gen_ai.provider.name` (`together`, `gcp.vertex_ai`, `x_ai`, ...) so that LiteLLM
traffic prices and groups exactly like the same call made through the provider's own SDK. The routing question is
answered by `litellm.get_llm_provider` (the very function LiteLLM calls), once per (model, provider, base URL).

Where the request goes follows the rule of the other adapters: the user's `provider_hosts` entry wins, a loopback
or private `api_base` is a server of the user's own (self-hosted, priced only by a sheet), and backends that are
self-hosted by nature (Ollama, vLLM, LM Studio, ...) are too.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

from otel_tokenomics.instrumentation.hosts import DEFAULT_PORTS, is_private_host, override_for

__all__ = ["Route", "otel_provider", "resolve_route", "route_destination", "strip_provider_prefix"]

# LiteLLM's `custom_llm_provider` → gen_ai.provider.name; names not listed are kept as LiteLLM spells them.
_OTEL_NAMES: Mapping[str, str] = {
    "text-completion-openai": "openai",
    "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "anthropic_text": "anthropic",
    "bedrock": "aws.bedrock",
    "sagemaker": "aws.sagemaker",
    "sagemaker_chat": "aws.sagemaker",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "cohere_chat": "cohere",
    "mistral": "mistral_ai",
    "codestral": "mistral_ai",
    "text-completion-codestral": "mistral_ai",
    "xai": "x_ai",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "watsonx": "ibm.watsonx.ai",
    "watsonx_text": "ibm.watsonx.ai",
    "ollama_chat": "ollama",
}
# Backends that run on the user's own machines: never priced at a cloud's list price.
_SELF_HOSTED = frozenset({"ollama", "ollama_chat", "hosted_vllm", "vllm", "lm_studio", "llamafile", "xinference"})
# Where LiteLLM sends a provider's requests when no `api_base` is given (for `server.address`).
_DEFAULT_BASES: Mapping[str, str] = {
    "openai": "https://api.openai.com",
    "text-completion-openai": "https://api.openai.com",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
    "mistral": "https://api.mistral.ai",
    "cohere": "https://api.cohere.com",
    "cohere_chat": "https://api.cohere.com",
    "groq": "https://api.groq.com",
    "deepseek": "https://api.deepseek.com",
    "xai": "https://api.x.ai",
    "openrouter": "https://openrouter.ai",
    "together_ai": "https://api.together.xyz",
    "fireworks_ai": "https://api.fireworks.ai",
    "perplexity": "https://api.perplexity.ai",
}


class Route(NamedTuple):
    """LiteLLM's answer for one model string: its backend name, the model id that backend sees, its base URL."""

    litellm_provider: str | None
    model: str | None
    api_base: str | None


def otel_provider(litellm_provider: str | None) -> str:
    if not litellm_provider:
        return "_OTHER"
    return _OTEL_NAMES.get(litellm_provider, litellm_provider)


@functools.lru_cache(maxsize=1024)
def resolve_route(model: str, custom_llm_provider: str | None, api_base: str | None) -> Route:
    """`litellm.get_llm_provider`, cached: it is pure string logic, but not cheap enough for every call.

    A model LiteLLM cannot route makes LiteLLM itself fail the call; the span then records that failure, with
    the provider unknown.
    """
    import litellm

    try:
        model_id, provider, _, dynamic_base = litellm.get_llm_provider(
            model=model, custom_llm_provider=custom_llm_provider, api_base=api_base
        )
    except Exception:
        return Route(custom_llm_provider, model, api_base)
    return Route(provider, model_id, api_base or dynamic_base)


def route_destination(route: Route, overrides: Mapping[str, str]) -> tuple[str, str | None, int | None, bool]:
    """(gen_ai.provider.name, server address, server port, self_hosted) for a resolved route."""
    provider = otel_provider(route.litellm_provider)
    self_hosted = route.litellm_provider in _SELF_HOSTED
    base = route.api_base or _DEFAULT_BASES.get(route.litellm_provider or "")
    if not base:
        return provider, None, None, self_hosted
    try:
        parts = urlsplit(base)
        host = (parts.hostname or "").lower()
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a malformed api_base: LiteLLM will say so; we just don't name a server
        return provider, None, None, self_hosted
    chosen = override_for(host, port, overrides)
    if chosen == "self_hosted":
        self_hosted = True
    elif chosen:
        provider, self_hosted = chosen, False
    elif host and is_private_host(host):
        self_hosted = True
    return provider, host or None, port, self_hosted


@functools.cache
def _litellm_provider_names() -> frozenset[str]:
    import litellm

    return frozenset(str(getattr(name, "value", name)) for name in getattr(litellm, "provider_list", ()))


def strip_provider_prefix(model: str) -> str:
    """`openai/gpt-4o` → `gpt-4o`, as the provider's own SDK would report it; `meta-llama/Llama-3` stays whole."""
    prefix, slash, rest = model.partition("/")
    return rest if slash and prefix in _litellm_provider_names() else model
