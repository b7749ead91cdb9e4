"""Fixtures shared by the LiteLLM suites (`make test-litellm`, in `.venv-litellm`: LiteLLM pins an older openai).

LiteLLM is imported only inside fixtures, so the main run collects these modules without it and deselects them
by their `litellm` marker. Two fake providers stand in for the backends, one speaking OpenAI's protocol and one
Anthropic's, each on its own port so that `provider_hosts` can name each port's provider (loopback is
self-hosted otherwise) exactly as a user would map a gateway. The OpenAI and Anthropic adapters are instrumented
too, into the same pipeline: LiteLLM calls the `openai` SDK, and the user must still see one span per request.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conformance_support import MESSAGES

from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.fake_provider.protocols import load_protocols

# LiteLLM fetches its cost map from GitHub on import unless told to use its bundled copy: tests stay offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-3-5-haiku-20241022"
__all__ = ["ANTHROPIC_MODEL", "MESSAGES", "OPENAI_MODEL", "Backends", "backends", "instrument_litellm", "litellm"]


@dataclass(frozen=True)
class Backends:
    openai: FakeProvider
    anthropic: FakeProvider

    @property
    def provider_hosts(self) -> dict[str, str]:
        return {f"127.0.0.1:{self.openai.port}": "openai", f"127.0.0.1:{self.anthropic.port}": "anthropic"}

    def call_options(self, backend: str) -> dict[str, Any]:
        """`model`, `api_base` and the rest of what routes a LiteLLM call to one fake backend, without retries."""
        if backend == "openai":
            model, api_base = f"openai/{OPENAI_MODEL}", self.openai.openai_base_url
        else:
            model, api_base = f"anthropic/{ANTHROPIC_MODEL}", self.anthropic.base_url
        return {"model": model, "api_base": api_base, "api_key": "sk-test", "max_retries": 0, "num_retries": 0}


@pytest.fixture(scope="session")
def litellm() -> Any:
    import litellm as module

    module.suppress_debug_info = True  # its "Give Feedback / Get Help" banner on every error
    return module


@pytest.fixture(scope="module")
def backends() -> Iterator[Backends]:
    with (
        FakeProvider(protocols=load_protocols(["openai"])) as openai_fake,
        FakeProvider(protocols=load_protocols(["anthropic"])) as anthropic_fake,
    ):
        yield Backends(openai_fake, anthropic_fake)


@pytest.fixture
def instrument_litellm(pipeline: Any, price_book: Any, backends: Backends, litellm: Any) -> Iterator[Any]:
    """Instrument LiteLLM, and the OpenAI and Anthropic SDKs beside it, into `pipeline`; undone afterwards."""
    from otel_tokenomics.instrumentation.anthropic import AnthropicInstrumentor
    from otel_tokenomics.instrumentation.litellm import LiteLLMInstrumentor
    from otel_tokenomics.instrumentation.openai import OpenAIInstrumentor

    instrumentors: list[Any] = []

    def instrument(*, sdk_adapters: bool = True, **options: Any) -> Any:
        options.setdefault("provider_hosts", backends.provider_hosts)
        options.setdefault("price_book", price_book)
        options.update(tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider)
        chosen = [LiteLLMInstrumentor()] + ([OpenAIInstrumentor(), AnthropicInstrumentor()] if sdk_adapters else [])
        for instrumentor in chosen:
            instrumentor.instrument(**options)
            instrumentors.append(instrumentor)
        return chosen[0]

    yield instrument
    for instrumentor in instrumentors:
        instrumentor.uninstrument()
