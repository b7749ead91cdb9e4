"""What to wrap in the `ollama` SDK, and how to tell its return values apart.

Seam: `Client._request` / `AsyncClient._request`, the one method every API call goes through, with `select`
picking the endpoint from the request path. Not the public `chat`/`generate`/`embed`, because:

* the module-level helpers (`ollama.chat(...)`, the most common usage) are bound methods of a default client,
  captured at import time: patching `Client.chat` afterwards would never see them, while `self._request` is
  looked up on every call;
* the public methods take positional arguments (`chat("llama3.2", messages)`), whereas `_request` receives the
  request body as the `json` dict that is actually sent: readers see every parameter by name, and a budget
  guard's model swap in that dict reaches the server.

`_request` returns the response model, or for `stream=True` a generator (sync) or an async generator (async) of
parts, which the core proxies. Calls to other paths (`pull`, `list`, `show`, ...) pass through untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from otel_tokenomics.instrumentation.core import Endpoint, Invocation, ResultKind, Target
from otel_tokenomics.instrumentation.ollama import readers
from otel_tokenomics.semconv.attributes import Operation

__all__ = ["CHAT", "EMBED", "GENERATE", "LEGACY_EMBEDDINGS", "OllamaAdapter", "select_endpoint"]

CHAT = Endpoint(Operation.CHAT, readers.read_chat_request, readers.read_chat_response, readers.StreamReader)
GENERATE = Endpoint(
    Operation.TEXT_COMPLETION, readers.read_generate_request, readers.read_generate_response, readers.StreamReader
)
EMBED = Endpoint(Operation.EMBEDDINGS, readers.read_embeddings_request, readers.read_embed_response)
LEGACY_EMBEDDINGS = Endpoint(
    Operation.EMBEDDINGS, readers.read_embeddings_request, readers.read_legacy_embeddings_response
)
_ENDPOINTS = {"/api/chat": CHAT, "/api/generate": GENERATE, "/api/embed": EMBED, "/api/embeddings": LEGACY_EMBEDDINGS}


def select_endpoint(
    instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Endpoint | None, dict[str, Any]]:
    """`_request(cls, method, path, json=body, stream=...)` → (endpoint, the body dict that will be sent)."""
    path = args[2] if len(args) > 2 else None
    endpoint = _ENDPOINTS.get(path) if isinstance(path, str) else None
    body = kwargs.get("json")
    if endpoint is None or not isinstance(body, dict):
        return None, {}
    return endpoint, body


_TARGETS = (
    Target("ollama._client", "Client._request", select=select_endpoint),
    Target("ollama._client", "AsyncClient._request", is_async=True, select=select_endpoint),
)


class OllamaAdapter:
    name = "ollama"
    instruments = ("ollama >= 0.4.0",)
    targets = _TARGETS

    def classify(self, result: Any, invocation: Invocation) -> ResultKind:
        if isinstance(result, AsyncIterator):
            return ResultKind.ASYNC_STREAM
        if isinstance(result, Iterator):  # pydantic models iterate their fields but are not iterators
            return ResultKind.STREAM
        return ResultKind.RESPONSE
