"""Where a `groq` client sends its requests, and whether that is Groq's cloud or a server of the user's own.

The SDK only ever speaks Groq's API, so the provider is `groq` whatever the host (a gateway or proxy in front
of api.groq.com is still Groq traffic, billed by Groq). Two exceptions, as for the other adapters: a user's own
`provider_hosts` entry wins (`self_hosted` marks a host priced by sheets only), and a loopback or private
address is treated as self-hosted (a local mock or an in-house relay), priced only by a price sheet.
The shared pieces (Destination, the private-address rule) come from `instrumentation/hosts.py`.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Mapping
from typing import Any

from otel_tokenomics.instrumentation.hosts import DEFAULT_PORTS, Destination, is_private_host

__all__ = ["PROVIDER", "Destination", "client_destination"]

PROVIDER = "groq"


def _classify(host: str, port: int | None, overrides: Mapping[str, str]) -> tuple[str, bool]:
    if overrides:
        chosen = overrides.get(f"{host}:{port}") or overrides.get(host)
        if chosen:
            return (PROVIDER, True) if chosen == "self_hosted" else (chosen, False)
    return PROVIDER, bool(host) and is_private_host(host)


_cache: weakref.WeakKeyDictionary[Any, tuple[Any, Destination]] = weakref.WeakKeyDictionary()


def client_destination(client: Any, overrides: Mapping[str, str]) -> Destination:
    """The destination of a `groq.Groq`/`AsyncGroq` client, cached per client until its base URL changes."""
    base_url = getattr(client, "base_url", None)
    try:
        cached = _cache.get(client)
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
        _cache[client] = (base_url, destination)
    return destination
