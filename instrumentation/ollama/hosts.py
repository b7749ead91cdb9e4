"""Where an `ollama` client sends its requests, and whether the server is the user's own.

Ollama is self-hosted by nature: whatever host it runs on (a laptop, a private GPU box, a public cloud VM), its
calls cost nothing per token unless a price sheet says otherwise, so they are `self_hosted` — priced only by
sheet entries and otherwise reported as `unpriced/self_hosted`, with their tokens still counted. The one
exception is Ollama's own cloud (`ollama.com`), a hosted service. A user's `provider_hosts` entry wins:
`self_hosted` forces sheet-only pricing, `ollama` keeps these rules, another provider name prices the host as
that provider. The private-address test mirrors `instrumentation/openai/hosts.py` (adapters never import each
other); it only decides the provider-name-free part, because the SDK always speaks Ollama's API.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Mapping
from typing import Any

from otel_tokenomics.instrumentation.hosts import DEFAULT_PORTS, Destination

__all__ = ["PROVIDER", "Destination", "client_destination"]

PROVIDER = "ollama"
_CLOUD = "ollama.com"


def _classify(host: str, port: int | None, overrides: Mapping[str, str]) -> tuple[str, bool]:
    if overrides:
        chosen = overrides.get(f"{host}:{port}") or overrides.get(host)
        if chosen == "self_hosted":
            return PROVIDER, True
        if chosen and chosen != PROVIDER:
            return chosen, False
    cloud = host == _CLOUD or host.endswith("." + _CLOUD)
    return PROVIDER, not cloud


_cache: weakref.WeakKeyDictionary[Any, tuple[Any, Destination]] = weakref.WeakKeyDictionary()


def client_destination(http_client: Any, overrides: Mapping[str, str]) -> Destination:
    """The destination of an `ollama.Client`'s httpx client, cached per client until its base URL changes."""
    base_url = getattr(http_client, "base_url", None)
    try:
        cached = _cache.get(http_client)
    except TypeError:  # an unhashable client: no caching
        cached = None
    if cached is not None and cached[0] is base_url:
        return cached[1]
    host = str(getattr(base_url, "host", "") or "").lower()
    scheme = str(getattr(base_url, "scheme", "") or "")
    port = getattr(base_url, "port", None) or DEFAULT_PORTS.get(scheme)
    provider, self_hosted = _classify(host, port, overrides)
    destination = Destination(provider, host or None, port, self_hosted)
    with contextlib.suppress(TypeError):
        _cache[http_client] = (base_url, destination)
    return destination
