"""OpenTelemetry provider names mapped to genai-prices provider ids, and service tiers to price contexts.

Why our own table: genai-prices matches a `provider_id` by exact id, then by each provider's loose
`provider_match` clause. With OTel `gen_ai.provider.name` values that goes wrong in both directions:
`azure.ai.openai` lands on *openai* (its clause is `contains 'openai'`), while `x_ai`, `gcp.gen_ai`,
`azure.ai.inference` and `ibm.watsonx.ai` raise `LookupError`. So every name we emit is mapped explicitly, and
a name mapped to `None` is a provider we know the catalog does not price (it must not be guessed from the
model name: watsonx bills Llama at its own rates, not Meta's).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "OTEL_TO_CATALOG",
    "UNMAPPED",
    "catalog_provider_id",
    "price_context",
]

#: OTel `gen_ai.provider.name` (plus the non-standard names we use for OpenAI-compatible hosts) →
#: genai-prices provider id, or `None` for a provider the catalog has no prices for.
OTEL_TO_CATALOG: Mapping[str, str | None] = MappingProxyType(
    {
        "openai": "openai",
        "azure.ai.openai": "azure",  # azure falls back to openai's models with azure as the provider
        "azure.ai.inference": "azure",
        "anthropic": "anthropic",
        "aws.bedrock": "aws",
        "gcp.gemini": "google",
        "gcp.vertex_ai": "google",  # Vertex Claude ids resolve through google's fallback to anthropic
        "gcp.gen_ai": "google",
        "x_ai": "x-ai",
        "mistral_ai": "mistral",
        "cohere": "cohere",
        "deepseek": "deepseek",
        "groq": "groq",
        "perplexity": "perplexity",
        "ibm.watsonx.ai": None,  # not in the catalog: price it with a sheet
        # Non-standard names for OpenAI-compatible hosts.
        "openrouter": "openrouter",
        "together": "together",
        "fireworks": "fireworks",
    }
)


class _Unmapped:
    """Sentinel type: the name is in neither our table nor the catalog's id list."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNMAPPED"


#: Returned by `catalog_provider_id` for a provider name nobody knows.
UNMAPPED = _Unmapped()


def catalog_provider_id(
    provider: str | None, catalog_ids: frozenset[str] = frozenset()
) -> str | _Unmapped | None:
    """The genai-prices id for an OTel provider name.

    Returns the id; `None` when the provider is known to be absent from the catalog (or no provider was
    given); `UNMAPPED` when the name is unknown. A name that already *is* a catalog id (`novita`,
    `cerebras`, ...) maps to itself, so callers may pass catalog ids directly.
    """
    if not provider:
        return None
    name = provider.strip().lower()
    if name in OTEL_TO_CATALOG:
        return OTEL_TO_CATALOG[name]
    if name in catalog_ids:
        return name
    return UNMAPPED


def price_context(service_tier: str | None) -> dict[str, str] | None:
    """The genai-prices `price_context` selecting price variants for a service tier.

    Batch is a processing mode in the catalog (`processing: batch`), not a service tier; Anthropic's fast
    mode is `speed: fast` while OpenAI's is `service_tier: fast`, so `fast` sets both (a variant matches when
    all of its keys agree, extra keys are ignored). Any other tier (`flex`, `priority`, `default`, ...) is
    passed through.
    """
    if not service_tier:
        return None
    tier = service_tier.strip().lower()
    if tier == "batch":
        return {"processing": "batch"}
    if tier == "fast":
        return {"service_tier": "fast", "speed": "fast"}
    return {"service_tier": tier}
