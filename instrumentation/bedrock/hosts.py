"""Where a `bedrock-runtime` client sends its requests, from its endpoint URL.

Every call through this adapter is the Bedrock API, so the provider is `aws.bedrock` whatever the host (regional
endpoints, FIPS and VPC-endpoint host names, a corporate proxy). The exceptions mirror the OpenAI adapter's rule,
so one `OTEL_TOKENOMICS_PROVIDER_HOSTS` setting means the same for every SDK: a user's host map wins, and a
loopback/private host (LocalStack, a local gateway, the fake provider) is treated as self-hosted, priced only
by a price sheet unless mapped.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

__all__ = ["PROVIDER", "Destination", "destination"]

PROVIDER = "aws.bedrock"
_DEFAULT_PORTS = {"https": 443, "http": 80}


class Destination(NamedTuple):
    provider: str
    address: str | None
    port: int | None
    self_hosted: bool


@lru_cache(maxsize=64)
def _split(endpoint_url: str) -> tuple[str, int | None, bool]:
    """(host, port, private) of an endpoint URL; cached because a client's URL never changes."""
    parts = urlsplit(endpoint_url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        port = None
    return host, port, _is_private(host)


def _is_private(host: str) -> bool:
    if host in ("localhost", "host.docker.internal") or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def destination(endpoint_url: str | None, overrides: Mapping[str, str]) -> Destination:
    """The provider, server address/port and self-hosted flag of a client's endpoint URL."""
    if not endpoint_url:
        return Destination(PROVIDER, None, None, False)
    host, port, private = _split(endpoint_url)
    if overrides:
        chosen = overrides.get(f"{host}:{port}") or overrides.get(host)
        if chosen:
            if chosen == "self_hosted":
                return Destination(PROVIDER, host or None, port, True)
            return Destination(chosen, host or None, port, False)
    return Destination(PROVIDER, host or None, port, private)
