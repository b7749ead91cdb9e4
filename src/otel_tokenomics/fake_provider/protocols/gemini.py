"""The Google Gemini wire format: Gemini API (generativelanguage) and Vertex AI (aiplatform) routes.

Shapes follow what Google sends (camelCase JSON, ``usageMetadata``, ``modelVersion``, SSE of whole
``GenerateContentResponse`` chunks for ``:streamGenerateContent?alt=sse``, the ``{"error": {"code", "message",
"status"}}`` error body), so the real ``google-genai`` SDK parses it unchanged. Answers are deterministic (see
:mod:`otel_tokenomics.fake_provider.synthesis`).

Behaviour worth knowing when writing tests:

* paths are accepted under ``v1``, ``v1beta`` and ``v1beta1``, bare (``/v1beta/models/{m}:…``, the Gemini
  API and Vertex express mode) or under ``projects/{p}/locations/{l}/publishers/{pub}/`` (Vertex AI); the
  ``models/`` prefix is what keeps them apart from OpenAI's ``/v1/models`` (GET only, no ``:`` verb);
* thinking models (``gemini-2.5-*``, ``gemini-3*``, ``*thinking*``) report ``thoughtsTokenCount`` beside
  ``candidatesTokenCount``, unless ``thinkingConfig.thinkingBudget`` is 0; ``maxOutputTokens`` caps both
  together, as Gemini does, and a capped answer ends with ``MAX_TOKENS``;
* ``promptTokenCount`` includes ``cachedContentTokenCount``: a request naming ``cachedContent`` reports
  :data:`EXPLICIT_CACHE_TOKENS` cached tokens on top of its own prompt; a repeated long prompt is cached
  implicitly (the shared prompt-cache memory); header ``x-fake-cached-tokens: N`` forces the count;
* tools ``googleSearch``/``codeExecution`` add ``toolUsePromptTokenCount``; with ``functionDeclarations`` and a
  last user text mentioning "weather", the answer is a ``functionCall``;
* a stream's chunks all carry ``usageMetadata`` with the prompt count; only the last one is complete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
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
    count_tokens,
    embedding_vector,
    generate_text,
    reasoning_tokens,
    seed_of,
    split_chunks,
    stable_id,
    truncate_to_tokens,
)

__all__ = [
    "EXPLICIT_CACHE_TOKENS",
    "IMAGE_TOKENS",
    "PROTOCOL",
    "THINKING_MODELS",
    "TOOL_USE_PROMPT_TOKENS",
    "GeminiProtocol",
]

THINKING_MODELS = re.compile(r"^(gemini-2\.5|gemini-3)|thinking")
#: Tokens of the cached content a request names with ``cachedContent`` (the fake keeps no cache store).
EXPLICIT_CACHE_TOKENS = 4096
#: Gemini's flat cost of one image part.
IMAGE_TOKENS = 258
#: Prompt tokens the results of a built-in tool (search, code execution) add.
TOOL_USE_PROMPT_TOKENS = 64
DEFAULT_EMBEDDING_DIMENSIONS = 16
_STATUSES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_PREFIX = r"/(?:v1|v1beta|v1beta1)/(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/[^/]+/)?models/(?P<model>[^/:]+)"


class _BadRequest(Exception):
    """A validation failure, answered as a 400 with Google's error body."""


# --------------------------------------------------------------------------------------------------- helpers


def _parts_text(parts: Any) -> tuple[str, int]:
    """Everything in a content's parts that costs tokens, as text, plus the number of images."""
    texts: list[str] = []
    images = 0
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif "inlineData" in part or "fileData" in part:
            images += 1
        else:
            texts.append(json.dumps(part, sort_keys=True))
    return "".join(texts), images


def _user_text(content: Any) -> str | None:
    """The words of a user turn; ``None`` for model turns and function results (they trigger no new call)."""
    if not isinstance(content, dict) or content.get("role", "user") != "user":
        return None
    parts = [part for part in content.get("parts") or () if isinstance(part, dict)]
    if any("functionResponse" in part for part in parts):
        return None
    return "".join(part["text"] for part in parts if isinstance(part.get("text"), str))


@dataclass
class _Prompt:
    blocks: list[tuple[Any, int]]
    last_user_text: str | None

    @property
    def tokens(self) -> int:
        return sum(tokens for _content, tokens in self.blocks)


def _prompt(body: Mapping[str, Any], contents: Sequence[Any]) -> _Prompt:
    blocks: list[tuple[Any, int]] = []
    system = body.get("systemInstruction")
    if isinstance(system, dict):
        text, images = _parts_text(system.get("parts"))
        blocks.append((system, count_tokens(text) + images * IMAGE_TOKENS))
    tools = body.get("tools")
    if tools:
        blocks.append((tools, count_tokens(json.dumps(tools, sort_keys=True))))
    last_user: str | None = None
    for content in contents:
        text, images = _parts_text(content.get("parts") if isinstance(content, dict) else None)
        blocks.append((content, count_tokens(text) + images * IMAGE_TOKENS))
        last_user = _user_text(content)
    return _Prompt(blocks, last_user)


def _contents(body: Mapping[str, Any]) -> list[Any]:
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents or not all(isinstance(c, dict) for c in contents):
        raise _BadRequest("* GenerateContentRequest.contents: contents is not specified")
    return contents


def _int_field(config: Mapping[str, Any], name: str) -> int | None:
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _BadRequest(f"* GenerateContentRequest.generation_config.{name}: must be a non-negative integer")
    return value


def _cached_tokens(
    request: FakeRequest, state: ProviderState, model: str, body: Mapping[str, Any], prompt: _Prompt
) -> int:
    forced = request.headers.get("x-fake-cached-tokens")
    if forced is not None:
        try:
            return max(0, int(forced))
        except ValueError:
            raise _BadRequest(f"x-fake-cached-tokens must be an integer, got {forced!r}") from None
    implicit = state.prompt_cache.observe(f"gemini:{model}", prompt.blocks, prompt.tokens)
    explicit = EXPLICIT_CACHE_TOKENS if isinstance(body.get("cachedContent"), str) else 0
    return explicit + implicit


def _tool_use_tokens(body: Mapping[str, Any]) -> int:
    builtin = ("googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext")
    tools = [tool for tool in body.get("tools") or () if isinstance(tool, dict)]
    return TOOL_USE_PROMPT_TOKENS if any(key in tool for tool in tools for key in builtin) else 0


def _function_call(body: Mapping[str, Any], prompt: _Prompt) -> dict[str, Any] | None:
    """A ``functionCall`` part when function tools are offered and the user asks about the weather."""
    if not re.search(r"\bweather\b", prompt.last_user_text or "", re.IGNORECASE):
        return None
    for tool in body.get("tools") or ():
        declarations = tool.get("functionDeclarations") if isinstance(tool, dict) else None
        if declarations:
            declaration = declarations[0]
            schema = declaration.get("parameters") or declaration.get("parametersJsonSchema") or {}
            names = list(schema.get("properties") or {})
            found = re.search(r"\bin ([A-Z][\w-]*(?: [A-Z][\w-]*)*)", prompt.last_user_text or "")
            place = found.group(1) if found else "San Francisco"
            return {"name": str(declaration.get("name")), "args": {name: place for name in names[:1]}}
    return None


@dataclass
class _Answer:
    text: str | None
    finish_reason: str
    thoughts: int
    function_call: dict[str, Any] | None = None

    @property
    def visible_tokens(self) -> int:
        tokens = count_tokens(self.text or "")
        if self.function_call is not None:
            tokens += count_tokens(json.dumps(self.function_call, sort_keys=True))
        return tokens


def _answer(body: Mapping[str, Any], model: str, contents: Any, prompt: _Prompt) -> _Answer:
    config = body.get("generationConfig") or {}
    seed = seed_of("gemini", model, contents)
    thinking = config.get("thinkingConfig") or {}
    budget = thinking.get("thinkingBudget") if isinstance(thinking, dict) else None
    planned_thoughts = reasoning_tokens(seed) if THINKING_MODELS.search(model) and budget != 0 else 0
    if isinstance(budget, int) and budget > 0:
        planned_thoughts = min(planned_thoughts, budget)
    call = _function_call(body, prompt)
    if call is not None:
        return _Answer(None, "STOP", planned_thoughts, call)
    full = generate_text(seed)
    cap = _int_field(config, "maxOutputTokens")
    if cap is None:
        return _Answer(full, "STOP", planned_thoughts)
    thoughts = min(planned_thoughts, cap)
    text = truncate_to_tokens(full, cap - thoughts)
    truncated = thoughts < planned_thoughts or text != full
    return _Answer(text, "MAX_TOKENS" if truncated else "STOP", thoughts)


def _usage(prompt_tokens: int, cached: int, tool_use: int, answer: _Answer | None, vertex: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
    }
    total = prompt_tokens + tool_use
    if cached:
        usage["cachedContentTokenCount"] = cached
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    if tool_use:
        usage["toolUsePromptTokenCount"] = tool_use
    if answer is not None:
        usage["candidatesTokenCount"] = answer.visible_tokens
        total += answer.visible_tokens + answer.thoughts
        if answer.thoughts:
            usage["thoughtsTokenCount"] = answer.thoughts
    usage["totalTokenCount"] = total
    if vertex:
        usage["trafficType"] = "ON_DEMAND"
    return usage


def _response_model(model: str) -> str:
    """Gemini reports the model it ran under ``modelVersion``: the stable alias, without ``models/``."""
    return model.removeprefix("models/")


# --------------------------------------------------------------------------------------------------- protocol


class GeminiProtocol(Protocol):
    """Gemini API and Vertex AI ``generateContent``/``streamGenerateContent``/embedding routes."""

    name = "gemini"

    def __init__(self) -> None:
        self.routes = (
            Route("POST", _PREFIX + r":generateContent", self._guarded(self.generate_content)),
            Route("POST", _PREFIX + r":streamGenerateContent", self._guarded(self.stream_generate_content)),
            Route("POST", _PREFIX + r":embedContent", self._guarded(self.embed_content)),
            Route("POST", _PREFIX + r":batchEmbedContents", self._guarded(self.batch_embed_contents)),
            Route("POST", _PREFIX + r":predict", self._guarded(self.predict)),
        )

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> FakeResponse:
        code = _STATUSES.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
        body = {"error": {"code": status, "message": message, "status": code}}
        return FakeResponse.json_body(body, status, headers)

    def model_of(self, request: FakeRequest) -> str | None:
        return request.path_params.get("model")

    def _guarded(self, handler: Any) -> Any:
        def guarded(request: FakeRequest, state: ProviderState) -> FakeResponse:
            if not isinstance(request.json, dict):
                return self.error_response(400, "Invalid JSON payload received.")
            try:
                return handler(request, state)
            except _BadRequest as error:
                return self.error_response(400, str(error))

        return guarded

    # ----------------------------------------------------------------------------------------- generate

    def _generate(self, request: FakeRequest, state: ProviderState) -> tuple[str, _Answer, dict[str, Any], str]:
        body = request.json_object
        model = request.path_params["model"]
        contents = _contents(body)
        prompt = _prompt(body, contents)
        cached = _cached_tokens(request, state, model, body, prompt)
        answer = _answer(body, model, contents, prompt)
        vertex = "/publishers/" in request.path
        usage = _usage(prompt.tokens + cached, cached, _tool_use_tokens(body), answer, vertex)
        return model, answer, usage, stable_id("", body, length=22)

    def generate_content(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        model, answer, usage, response_id = self._generate(request, state)
        parts: list[dict[str, Any]] = []
        if answer.function_call is not None:
            parts.append({"functionCall": answer.function_call})
        else:
            parts.append({"text": answer.text})
        payload = {
            "candidates": [
                {"content": {"parts": parts, "role": "model"}, "finishReason": answer.finish_reason, "index": 0}
            ],
            "usageMetadata": usage,
            "modelVersion": _response_model(model),
            "responseId": response_id,
        }
        return FakeResponse.json_body(payload)

    def stream_generate_content(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        model, answer, usage, response_id = self._generate(request, state)
        prompt_only = {key: usage[key] for key in ("promptTokenCount", "promptTokensDetails") if key in usage}
        prompt_only["totalTokenCount"] = usage["promptTokenCount"]
        common = {"modelVersion": _response_model(model), "responseId": response_id}
        chunks: list[dict[str, Any]] = []
        if answer.function_call is not None:
            pieces: list[dict[str, Any]] = [{"functionCall": answer.function_call}]
        else:
            pieces = [{"text": text} for text in split_chunks(answer.text or "", 6)] or [{"text": ""}]
        for index, part in enumerate(pieces):
            candidate: dict[str, Any] = {"content": {"parts": [part], "role": "model"}, "index": 0}
            last = index == len(pieces) - 1
            if last:
                candidate["finishReason"] = answer.finish_reason
            chunks.append({"candidates": [candidate], "usageMetadata": usage if last else prompt_only, **common})
        return FakeResponse(
            headers={"content-type": "text/event-stream", "x-goog-request-id": response_id},
            body=_sse(chunks),
        )

    # ----------------------------------------------------------------------------------------- embeddings

    def _embedding(self, content: Any, dimensions: Any) -> tuple[dict[str, Any], int]:
        if not isinstance(content, dict):
            raise _BadRequest("* EmbedContentRequest.content: content is not specified")
        text, images = _parts_text(content.get("parts"))
        size = dimensions if isinstance(dimensions, int) and dimensions > 0 else DEFAULT_EMBEDDING_DIMENSIONS
        return {"values": embedding_vector(text, size)}, count_tokens(text) + images * IMAGE_TOKENS

    def embed_content(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body = request.json_object
        config = body.get("embedContentConfig") or {}
        dimensions = body.get("outputDimensionality") or config.get("outputDimensionality")
        embedding, tokens = self._embedding(body.get("content"), dimensions)
        return FakeResponse.json_body(
            {"embedding": embedding, "usageMetadata": {"promptTokenCount": tokens, "totalTokenCount": tokens}}
        )

    def batch_embed_contents(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        requests = request.json_object.get("requests")
        if not isinstance(requests, list) or not requests:
            raise _BadRequest("* BatchEmbedContentsRequest.requests: requests is not specified")
        embeddings = []
        total = 0
        for item in requests:
            item = item if isinstance(item, dict) else {}
            embedding, tokens = self._embedding(item.get("content"), item.get("outputDimensionality"))
            embeddings.append(embedding)
            total += tokens
        return FakeResponse.json_body(
            {"embeddings": embeddings, "usageMetadata": {"promptTokenCount": total, "totalTokenCount": total}}
        )

    def predict(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        """Vertex AI's text-embedding models (``text-embedding-005``, ...): ``instances`` → ``predictions``."""
        body = request.json_object
        instances = body.get("instances")
        if not isinstance(instances, list) or not instances:
            raise _BadRequest("instances must be a non-empty list")
        parameters = body.get("parameters") or {}
        dimensions = parameters.get("outputDimensionality")
        size = dimensions if isinstance(dimensions, int) and dimensions > 0 else DEFAULT_EMBEDDING_DIMENSIONS
        predictions = []
        characters = 0
        for instance in instances:
            text = instance.get("content") if isinstance(instance, dict) else None
            text = text if isinstance(text, str) else json.dumps(instance, sort_keys=True)
            characters += len(text)
            statistics = {"truncated": False, "token_count": count_tokens(text)}
            predictions.append({"embeddings": {"values": embedding_vector(text, size), "statistics": statistics}})
        return FakeResponse.json_body({"predictions": predictions, "metadata": {"billableCharacterCount": characters}})


def _sse(chunks: Sequence[Any]) -> Iterator[bytes]:
    for chunk in chunks:
        yield sse_event(chunk)


PROTOCOL = GeminiProtocol()
