"""Who bills a call and which model it was, in the words a FOCUS consumer expects.

Spans name providers with OTel ids (`aws.bedrock`, `gcp.vertex_ai`) and models with whatever id the API
returned (`us.anthropic.claude-3-5-sonnet-20241022-v2:0`). A FinOps tool groups by company and product names
(ProviderName "Amazon Web Services", ServiceName "Amazon Bedrock") and, following the FOCUS working draft
(FOCUS_Spec PR #2442), by model identity in SkuPriceDetails: ModelDeveloper, ModelFamily, ModelId,
ModelVersion. Both are derived here, once per output row (never per span).

The model identity is a best effort from the id's shape: a trailing date or Bedrock revision is the
version (`gpt-4o-2024-08-06` → family `gpt-4o`, version `2024-08-06`), a Bedrock region/vendor prefix is
dropped from the family, a fine-tune (`ft:gpt-4o-mini:acme:x`) belongs to its base model's family, and the
developer comes from the vendor prefix or the family's name. An id we do not recognise keeps itself as
family and gets no developer rather than a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ModelIdentity", "ProviderIdentity", "model_identity", "provider_identity"]


@dataclass(frozen=True, slots=True)
class ProviderIdentity:
    """FOCUS names for one OTel provider id.

    `provider` sells the service and issues the invoice (ProviderName, ServiceProviderName, InvoiceIssuerName);
    `host` runs the model (HostProviderName); `service` is the product (ServiceName).
    """

    provider: str
    service: str
    host: str


_AWS = "Amazon Web Services"
_GOOGLE_CLOUD = "Google Cloud"
_MICROSOFT = "Microsoft"

_PROVIDERS: dict[str, ProviderIdentity] = {
    "openai": ProviderIdentity("OpenAI", "OpenAI API", "OpenAI"),
    "anthropic": ProviderIdentity("Anthropic", "Anthropic API", "Anthropic"),
    "aws.bedrock": ProviderIdentity(_AWS, "Amazon Bedrock", _AWS),
    "azure.ai.openai": ProviderIdentity(_MICROSOFT, "Azure OpenAI", _MICROSOFT),
    "azure.ai.inference": ProviderIdentity(_MICROSOFT, "Azure AI Inference", _MICROSOFT),
    "gcp.vertex_ai": ProviderIdentity(_GOOGLE_CLOUD, "Vertex AI", _GOOGLE_CLOUD),
    "gcp.gemini": ProviderIdentity("Google", "Gemini API", "Google"),
    "gcp.gen_ai": ProviderIdentity("Google", "Google Gen AI", "Google"),
    "cohere": ProviderIdentity("Cohere", "Cohere API", "Cohere"),
    "mistral_ai": ProviderIdentity("Mistral AI", "Mistral AI API", "Mistral AI"),
    "deepseek": ProviderIdentity("DeepSeek", "DeepSeek API", "DeepSeek"),
    "groq": ProviderIdentity("Groq", "GroqCloud", "Groq"),
    "x_ai": ProviderIdentity("xAI", "xAI API", "xAI"),
    "perplexity": ProviderIdentity("Perplexity", "Perplexity API", "Perplexity"),
    "ibm.watsonx.ai": ProviderIdentity("IBM", "watsonx.ai", "IBM"),
    "openrouter": ProviderIdentity("OpenRouter", "OpenRouter", "OpenRouter"),
    "together": ProviderIdentity("Together AI", "Together AI API", "Together AI"),
    "fireworks": ProviderIdentity("Fireworks AI", "Fireworks AI API", "Fireworks AI"),
    "ollama": ProviderIdentity("Ollama", "Ollama", "Self-hosted"),
}


def provider_identity(provider_id: str) -> ProviderIdentity:
    """Names for an OTel `gen_ai.provider.name`; an unknown id is used as the company name itself."""
    known = _PROVIDERS.get(provider_id.strip().lower())
    if known is not None:
        return known
    return ProviderIdentity(provider_id, f"{provider_id} API", provider_id)


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    """SkuPriceDetails' model keys; `developer` and `version` are None when the id does not say."""

    model_id: str
    family: str
    developer: str | None
    version: str | None


# A dated snapshot (`-2024-08-06`, `-20241022`), optionally followed by a Bedrock revision (`-v2:0`), or a
# bare Bedrock revision / Vertex `@version`.
_VERSION = re.compile(r"(?:[-@](\d{4}-\d{2}-\d{2}|\d{8})(?:-v\d+(?::\d+)?)?|-(v\d+(?::\d+)?)|@(\d+|latest))$")
# Bedrock ids: optional cross-region prefix (`us.`, `eu.`, `apac.`, `global.`), then `vendor.model`.
_BEDROCK = re.compile(r"^(?:(?:us|eu|apac|global|us-gov|ca|jp|au)\.)?([a-z0-9-]+)\.(.+)$")

_BEDROCK_VENDORS = {
    "anthropic": "Anthropic",
    "amazon": "Amazon",
    "meta": "Meta",
    "mistral": "Mistral AI",
    "cohere": "Cohere",
    "ai21": "AI21 Labs",
    "deepseek": "DeepSeek",
    "writer": "Writer",
    "openai": "OpenAI",
    "qwen": "Alibaba Cloud",
}
# Family prefixes → developer, first match wins (longer, more specific prefixes first).
_DEVELOPERS: tuple[tuple[str, str], ...] = (
    ("text-embedding-gecko", "Google"),
    ("gpt-", "OpenAI"),
    ("chatgpt", "OpenAI"),
    ("text-embedding", "OpenAI"),
    ("davinci", "OpenAI"),
    ("babbage", "OpenAI"),
    ("o1", "OpenAI"),
    ("o3", "OpenAI"),
    ("o4", "OpenAI"),
    ("claude", "Anthropic"),
    ("gemini", "Google"),
    ("gemma", "Google"),
    ("mistral", "Mistral AI"),
    ("mixtral", "Mistral AI"),
    ("codestral", "Mistral AI"),
    ("ministral", "Mistral AI"),
    ("magistral", "Mistral AI"),
    ("pixtral", "Mistral AI"),
    ("devstral", "Mistral AI"),
    ("open-mistral", "Mistral AI"),
    ("llama", "Meta"),
    ("meta-llama", "Meta"),
    ("command", "Cohere"),
    ("embed-", "Cohere"),
    ("rerank-", "Cohere"),
    ("deepseek", "DeepSeek"),
    ("grok", "xAI"),
    ("qwen", "Alibaba Cloud"),
    ("nova", "Amazon"),
    ("titan", "Amazon"),
    ("sonar", "Perplexity"),
    ("granite", "IBM"),
    ("phi-", "Microsoft"),
)


def model_identity(model_id: str) -> ModelIdentity:
    """ModelId (as billed), ModelFamily (without snapshot date or revision), ModelDeveloper, ModelVersion."""
    name = model_id.strip()
    family = name.removeprefix("models/")
    developer: str | None = None
    bedrock = _BEDROCK.match(family)
    if bedrock and bedrock.group(1) in _BEDROCK_VENDORS:
        developer = _BEDROCK_VENDORS[bedrock.group(1)]
        family = bedrock.group(2)
    if family.startswith("ft:") and family.count(":") >= 2:  # OpenAI fine-tune: ft:<base model>:<org>:...
        family = family.split(":")[1]
    if "/" in family:  # `meta-llama/Llama-3-70b` (OpenRouter, Together): the org names the developer
        family = family.rsplit("/", 1)[1]
    version: str | None = None
    match = _VERSION.search(family)
    if match and match.start() > 0:
        version = next(group for group in match.groups() if group)
        family = family[: match.start()]
    if developer is None:
        lowered = family.lower()
        developer = next((who for prefix, who in _DEVELOPERS if lowered.startswith(prefix)), None)
    return ModelIdentity(name, family or name, developer, version)
