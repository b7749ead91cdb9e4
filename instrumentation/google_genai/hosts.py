"""Which Google backend a `google-genai` client talks to: the Gemini API or Vertex AI.

The SDK serves both from one client class; its API client's `vertexai` flag decides the wire format, so it
also decides the provider name (`gcp.vertex_ai` or `gcp.gemini`) — a host name alone cannot (regional Vertex
hosts, private gateways). The base URL still gives `server.address`/`server.port`, and a loopback or private
host (a local proxy, the fake provider) is self-hosted unless the user's host map says otherwise, as in the
OpenAI adapter.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from otel_tokenomics.instrumentation.hosts import DEFAULT_PORTS, Destination, is_private_host

__all__ = ["GEMINI", "VERTEX_AI", "Destination", "client_destination"]

GEMINI = "gcp.gemini"
VERTEX_AI = "gcp.vertex_ai"
_SELF_HOSTED = "self_hosted"


def _field(item: Any, name: str) -> Any:
    if item is None:
        return None
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


@functools.lru_cache(maxsize=256)
def _host_port(base_url: str) -> tuple[str, int | None]:
    """Parsed once per distinct base URL: clients are long-lived, and this runs on every call."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return host, port or DEFAULT_PORTS.get(parts.scheme)


def _base_url(api_client: Any, config: Any) -> str:
    """The per-request `config.http_options.base_url` wins over the client's, as in the SDK."""
    url = _field(_field(config, "http_options"), "base_url")
    if not url:  # older SDK releases keep the client's options as a dict
        client_options = getattr(api_client, "_http_options", None)
        url = _field(client_options, "base_url")
    return url if isinstance(url, str) else ""


def client_destination(api_client: Any, config: Any, overrides: Mapping[str, str]) -> Destination:
    """Provider from the `vertexai` flag; address from the base URL; a user's host map wins."""
    default = VERTEX_AI if getattr(api_client, "vertexai", False) else GEMINI
    host, port = _host_port(_base_url(api_client, config))
    if overrides and host:
        chosen = overrides.get(f"{host}:{port}") or overrides.get(host)
        if chosen:
            if chosen == _SELF_HOSTED:
                return Destination(default, host, port, True)
            return Destination(chosen, host, port, False)
    return Destination(default, host or None, port, bool(host) and is_private_host(host))
