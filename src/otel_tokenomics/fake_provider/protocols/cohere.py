"""The Cohere v2 wire format: chat (JSON and SSE), embed and rerank under ``/v2``.

Point the SDK at the fake with ``cohere.ClientV2(api_key=..., base_url=fake.base_url)``. Shapes follow what
api.cohere.com sends, which differs from OpenAI's in ways that matter for accounting:

* ``usage`` (chat) and ``meta`` (embed, rerank) report **two** counts: ``billed_units`` (what is charged) and
  ``tokens`` (what the model processed, including the prompt template Cohere adds — :data:`TEMPLATE_TOKENS`
  here), so ``tokens.input_tokens`` is larger than ``billed_units.input_tokens``;
* rerank is billed in ``search_units`` (one per query and started block of :data:`DOCUMENTS_PER_SEARCH_UNIT`
  documents), not tokens;
* chat responses carry no model name; ``finish_reason`` is upper case (``COMPLETE``, ``MAX_TOKENS``);
* a stream is SSE with ``event:`` lines (``message-start``, ``content-start``, ``content-delta``…,
  ``content-end``, ``message-end`` whose ``delta`` holds ``finish_reason`` and ``usage``); the SDK
  discriminates on the ``type`` inside ``data``;
* ``usage.cached_tokens`` is reported on a prompt-cache hit (header ``x-fake-cached-tokens: N`` forces it);
* errors are ``{"message": ...}``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from otel_tokenomics.fake_provider.protocols import (
    FakeRequest,
    FakeResponse,
    Protocol,
    ProviderState,
    Route,
    sse_event,
)
from otel_tokenomics.fake_provider.synthesis import (
    content_text,
    count_tokens,
    embedding_vector,
    generate_text,
    message_tokens,
    seed_of,
    split_chunks,
    stable_id,
    truncate_to_tokens,
)

__all__ = ["DOCUMENTS_PER_SEARCH_UNIT", "EMBEDDING_DIMENSIONS", "PROTOCOL", "TEMPLATE_TOKENS", "CohereProtocol"]

#: Tokens of the prompt template Cohere wraps around a chat, processed but not billed.
TEMPLATE_TOKENS = 200
DOCUMENTS_PER_SEARCH_UNIT = 100
EMBEDDING_DIMENSIONS = 16
_API_VERSION = {"version": "2"}


class _Invalid(Exception):
    """A validation failure, answered as a 400 with Cohere's error body."""


def _require_model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _Invalid("invalid request: model must be a non-empty string")
    return model


def _headers(request: FakeRequest, stream: bool) -> dict[str, str]:
    headers = {"x-debug-trace-id": stable_id("", request.path, request.json, length=32), "num_tokens": "0"}
    if stream:
        headers.update({"content-type": "text/event-stream", "cache-control": "no-cache"})
    return headers


class CohereProtocol(Protocol):
    """Routes under ``/v2`` answering like api.cohere.com."""

    name = "cohere"

    def __init__(self) -> None:
        self.routes = (
            Route("POST", r"/v2/chat", self._guarded(self.chat)),
            Route("POST", r"/v2/embed", self._guarded(self.embed)),
            Route("POST", r"/v2/rerank", self._guarded(self.rerank)),
        )

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> FakeResponse:
        return FakeResponse.json_body({"message": message}, status, headers)

    def _guarded(self, handler: Any) -> Any:
        def guarded(request: FakeRequest, state: ProviderState) -> FakeResponse:
            if not isinstance(request.json, dict):
                return self.error_response(400, "invalid request: could not parse the JSON body")
            try:
                return handler(request, state)
            except _Invalid as error:
                return self.error_response(400, str(error))

        return guarded

    # ----------------------------------------------------------------------------------- chat

    def chat(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        model = _require_model(body)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise _Invalid("invalid request: messages must be a non-empty list of messages")
        blocks = [(message, message_tokens(content_text(message.get("content")))) for message in messages]
        billed_input = sum(tokens for _message, tokens in blocks)
        cached = self._cached(request, state, model, blocks, billed_input)
        text = generate_text(seed_of("cohere-chat", model, messages))
        finish = "COMPLETE"
        cap = body.get("max_tokens")
        if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
            capped = truncate_to_tokens(text, cap)
            finish = "MAX_TOKENS" if capped != text else "COMPLETE"
            text = capped
        output = count_tokens(text)
        usage: dict[str, Any] = {
            "billed_units": {"input_tokens": billed_input, "output_tokens": output},
            "tokens": {"input_tokens": billed_input + TEMPLATE_TOKENS, "output_tokens": output},
        }
        if cached:
            usage["cached_tokens"] = cached
        response_id = stable_id("", body, length=32)
        if body.get("stream"):
            return FakeResponse(200, _headers(request, True), self._events(response_id, text, finish, usage))
        payload = {
            "id": response_id,
            "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
            "finish_reason": finish,
            "usage": usage,
        }
        return FakeResponse.json_body(payload, headers=_headers(request, False))

    @staticmethod
    def _cached(
        request: FakeRequest, state: ProviderState, model: str, blocks: Sequence[tuple[Any, int]], total: int
    ) -> int:
        observed = state.prompt_cache.observe(f"cohere:{model}", blocks, total)
        forced = request.headers.get("x-fake-cached-tokens")
        if forced is None:
            return observed
        if not forced.strip().isdigit():
            raise _Invalid(f"x-fake-cached-tokens must be an integer, got {forced!r}")
        return min(int(forced), total)

    @staticmethod
    def _events(response_id: str, text: str, finish: str, usage: dict[str, Any]) -> Iterator[bytes]:
        def event(payload: dict[str, Any]) -> bytes:
            return sse_event(payload, event=payload["type"])

        start = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
        yield event({"id": response_id, "type": "message-start", "delta": {"message": start}})
        opening = {"message": {"content": {"type": "text", "text": ""}}}
        yield event({"type": "content-start", "index": 0, "delta": opening})
        for piece in split_chunks(text):
            yield event({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": piece}}}})
        yield event({"type": "content-end", "index": 0})
        yield event({"type": "message-end", "delta": {"finish_reason": finish, "usage": usage}})

    # ----------------------------------------------------------------------------------- embed, rerank

    def embed(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        _require_model(body)
        texts = body.get("texts")
        if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
            raise _Invalid("invalid request: texts must be a non-empty list of strings")
        dimension = body.get("output_dimension")
        dimensions = dimension if isinstance(dimension, int) and dimension > 0 else EMBEDDING_DIMENSIONS
        kinds = body.get("embedding_types") or ["float"]
        vectors = [embedding_vector(text, dimensions) for text in texts]
        embeddings: dict[str, Any] = {}
        for kind in kinds:
            embeddings[kind] = vectors if kind == "float" else [[round(v * 127) for v in vec] for vec in vectors]
        tokens = sum(count_tokens(text) for text in texts)
        payload = {
            "id": stable_id("", body, length=32),
            "embeddings": embeddings,
            "texts": texts,
            "meta": {"api_version": _API_VERSION, "billed_units": {"input_tokens": tokens}},
            "response_type": "embeddings_by_type",
        }
        return FakeResponse.json_body(payload, headers=_headers(request, False))

    def rerank(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        _require_model(body)
        query, documents = body.get("query"), body.get("documents")
        if not isinstance(query, str) or not query:
            raise _Invalid("invalid request: query must be a non-empty string")
        if not isinstance(documents, list) or not documents:
            raise _Invalid("invalid request: documents must be a non-empty list")
        query_words = set(query.lower().split())
        scores = []
        for index, document in enumerate(documents):
            words = set(content_text(document).lower().split())
            overlap = len(query_words & words) / (len(query_words) or 1)
            jitter = (seed_of("rerank", query, index) % 1000) / 100_000
            scores.append({"index": index, "relevance_score": round(min(overlap + jitter, 1.0), 6)})
        scores.sort(key=lambda item: (-item["relevance_score"], item["index"]))
        top_n = body.get("top_n")
        if isinstance(top_n, int) and top_n > 0:
            scores = scores[:top_n]
        search_units = math.ceil(len(documents) / DOCUMENTS_PER_SEARCH_UNIT)
        payload = {
            "id": stable_id("", body, length=32),
            "results": scores,
            "meta": {"api_version": _API_VERSION, "billed_units": {"search_units": search_units}},
        }
        return FakeResponse.json_body(payload, headers=_headers(request, False))


PROTOCOL = CohereProtocol()
