"""A fake LLM provider on 127.0.0.1 that the *real* SDKs talk to, so tests, demo and benchmarks stay offline.

Answers are deterministic (same request → same response and token usage), shaped exactly like the real
provider's wire format, and can be told to fail on demand (status codes, delays, dropped connections; see
:mod:`otel_tokenomics.fake_provider.server`). Two ways to use it::

    with FakeProvider() as fake:                      # a real HTTP server on a free port
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="test")

    transport = mock_transport(httpx2)                # no sockets at all, same answers
    client = openai.OpenAI(api_key="test", http_client=httpx2.Client(transport=transport))

Each wire format lives in its own module under :mod:`otel_tokenomics.fake_provider.protocols`.
"""

from otel_tokenomics.fake_provider.protocols import FakeRequest, FakeResponse, Protocol, Route
from otel_tokenomics.fake_provider.server import Dispatcher, FakeProvider
from otel_tokenomics.fake_provider.transport import mock_transport

__all__ = [
    "Dispatcher",
    "FakeProvider",
    "FakeRequest",
    "FakeResponse",
    "Protocol",
    "Route",
    "mock_transport",
]
