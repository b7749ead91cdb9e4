"""Where an OpenAI SDK client sends requests: Azure clients by class, every other base URL by host.

The host table and the self-hosted rule are shared by all adapters (`instrumentation/hosts.py`); this module adds
what only the OpenAI SDK needs: `AzureOpenAI` clients are Azure OpenAI whatever their endpoint host.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Mapping
from typing import Any

from otel_tokenomics.instrumentation.hosts import DEFAULT_PORTS, Destination, override_for, provider_for_host

__all__ = ["client_destination"]

_AZURE_CLIENTS = frozenset({"AzureOpenAI", "AsyncAzureOpenAI"})

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
    port = getattr(base_url, "port", None) or DEFAULT_PORTS.get(scheme)
    if type(client).__name__ in _AZURE_CLIENTS:
        provider, self_hosted = "azure.ai.openai", False
        if override_for(host, port, overrides):
            provider, self_hosted = provider_for_host(host, port, overrides)
    else:
        provider, self_hosted = provider_for_host(host, port, overrides)
    destination = Destination(provider, host or None, port, self_hosted)
    with contextlib.suppress(TypeError):
        _cache[client] = (base_url, destination)
    return destination
