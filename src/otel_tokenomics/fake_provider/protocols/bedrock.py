"""The AWS Bedrock runtime wire format: Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream.

Routes are Bedrock's own (``POST /model/{modelId}/converse`` ...), so boto3 talks to the fake unchanged with
``endpoint_url=fake.base_url``. The ``modelId`` arrives URL-encoded in the path (ARNs carry ``/`` and ``:``) and is
decoded here. Streams use the binary AWS event-stream framing of
:mod:`otel_tokenomics.fake_provider.aws_eventstream`, which botocore verifies (lengths and CRCs).

What real Bedrock does and this fake copies, because instrumentation depends on it:

* Converse ``usage.inputTokens`` *excludes* cache reads and writes (reported beside it); ``totalTokens`` sums all;
* InvokeModel answers in the body format of the model family, picked from the ``modelId`` (Anthropic, Meta
  Llama, Amazon Nova, Amazon Titan text and embeddings, Mistral, Cohere Command R); an unknown family (e.g. an
  application inference profile ARN) answers in Anthropic's format;
* every InvokeModel answer carries ``x-amzn-bedrock-input-token-count`` / ``-output-token-count`` headers (and the
  cache ones when caching happened), the only usage Mistral's body lacks;
* streamed InvokeModel chunks are ``{"bytes": base64(JSON)}`` events, the last one carrying
  ``amazon-bedrock-invocationMetrics``;
* errors are ``{"message": ...}`` with the error code in the ``x-amzn-ErrorType`` header;
* header ``x-fake-stream-exception: <type>`` (e.g. ``throttlingException``) makes a stream send
  :data:`STREAM_EXCEPTION_AFTER` events and then that modeled exception event, which botocore raises as
  ``EventStreamError`` mid-iteration (Bedrock's way of failing a stream that has started).

Prompt caching follows Bedrock's explicit checkpoints: the prompt up to the last ``cachePoint`` block (Converse,
Nova) or ``cache_control`` block (Anthropic) is written to the cache the first time and read from it afterwards,
when it is at least :data:`~otel_tokenomics.fake_provider.synthesis.MIN_CACHEABLE_TOKENS` long.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from otel_tokenomics.fake_provider.aws_eventstream import CONTENT_TYPE as EVENTSTREAM_CONTENT_TYPE
from otel_tokenomics.fake_provider.aws_eventstream import event_message, exception_message
from otel_tokenomics.fake_provider.protocols import FakeRequest, FakeResponse, Protocol, ProviderState, Route
from otel_tokenomics.fake_provider.synthesis import (
    IMAGE_TOKENS,
    MIN_CACHEABLE_TOKENS,
    REPLY_PRIMING,
    count_tokens,
    embedding_vector,
    generate_text,
    message_tokens,
    seed_of,
    split_chunks,
    stable_id,
    truncate_to_tokens,
)

__all__ = ["PROTOCOL", "STREAM_EXCEPTION_AFTER", "BedrockProtocol", "base_model_id", "model_family"]

#: Events a stream sends before the exception asked for with ``x-fake-stream-exception``.
STREAM_EXCEPTION_AFTER = 3

_LATENCY_MS = 120
_FIRST_BYTE_MS = 40
_EMBEDDING_DIMENSIONS = 16
_ERROR_TYPES: dict[int, str] = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_PROFILE_PREFIX = re.compile(r"^(?:us|eu|apac|us-gov|ca|jp|au|global)\.")
_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens"}
_META_STOP = {"stop": "stop", "length": "length"}
_TITAN_STOP = {"stop": "FINISH", "length": "LENGTH"}
_COHERE_STOP = {"stop": "COMPLETE", "length": "MAX_TOKENS"}


def base_model_id(model_id: str) -> str:
    """The foundation model behind an id: ARN and cross-region profile prefix (``us.``, ``eu.``...) removed."""
    if model_id.startswith("arn:"):
        model_id = model_id.rsplit("/", 1)[-1]
    return _PROFILE_PREFIX.sub("", model_id)


def model_family(model_id: str) -> str:
    """The InvokeModel body format of a model id: anthropic, meta, nova, titan, titan-embed, mistral, cohere."""
    base = base_model_id(model_id)
    if base.startswith("amazon.titan-embed"):
        return "titan-embed"
    for prefix, family in (
        ("amazon.nova", "nova"),
        ("amazon.titan", "titan"),
        ("meta.", "meta"),
        ("mistral.", "mistral"),
        ("cohere.", "cohere"),
    ):
        if base.startswith(prefix):
            return family
    return "anthropic"


class _ValidationError(Exception):
    """Answered as a 400 ``ValidationException``, like Bedrock's request validation."""


def _missing(key: str) -> _ValidationError:
    return _ValidationError(f"Malformed input request: #: required key [{key}] not found, please reformat your input.")


# --------------------------------------------------------------------------------------------------- prompts


def _block_text(block: Any) -> tuple[str, int]:
    """Text and image count of one content block, Converse (``{"text": ...}``) or Anthropic (``{"type": ...}``)."""
    if isinstance(block, str):
        return block, 0
    if not isinstance(block, dict):
        return json.dumps(block, sort_keys=True, default=str), 0
    if isinstance(block.get("text"), str):
        return block["text"], 0
    if "image" in block or block.get("type") == "image":
        return "", 1
    if "cachePoint" in block:
        return "", 0
    return json.dumps(block, sort_keys=True, default=str), 0


def _is_checkpoint(block: Any) -> bool:
    """A Converse/Nova ``{"cachePoint": ...}`` block, or an Anthropic block marked with ``cache_control``."""
    return isinstance(block, dict) and ("cachePoint" in block or "cache_control" in block)


@dataclass
class _Prompt:
    """A normalized prompt: token-costing blocks in order, where the last cache checkpoint falls, the question."""

    blocks: list[tuple[Any, int]]
    checkpoint: int  # number of blocks before the last cache checkpoint (0: none)
    last_user_text: str

    @property
    def tokens(self) -> int:
        return REPLY_PRIMING + sum(tokens for _content, tokens in self.blocks)


def _prompt(system: Any, messages: Sequence[Any], tools: Any = None) -> _Prompt:
    """Blocks in cache order (tools, system, messages); each message is one block, as providers cache whole turns.

    A ``cachePoint`` block marks the end of the prefix before it; a ``cache_control`` mark on a block (Anthropic)
    includes that block in the prefix.
    """
    blocks: list[tuple[Any, int]] = []
    checkpoint = 0
    items: list[tuple[Any, int]] = []
    for tool in tools or ():
        items.append((tool, count_tokens(json.dumps(tool, sort_keys=True, default=str))))
    for block in [system] if isinstance(system, str) else list(system or ()):
        text, images = _block_text(block)
        items.append((block, count_tokens(text) + images * IMAGE_TOKENS))
    for item, tokens in items:
        if isinstance(item, dict) and "cachePoint" in item:
            checkpoint = len(blocks)
            continue
        blocks.append((item, tokens))
        if _is_checkpoint(item):
            checkpoint = len(blocks)
    last_user = ""
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        parts = [content] if isinstance(content, str) else list(content or ())
        texts, images = [], 0
        for part in parts:
            text, count = _block_text(part)
            texts.append(text)
            images += count
        text = "".join(texts)
        blocks.append((message, message_tokens(text, images)))
        if any(_is_checkpoint(part) for part in parts):
            checkpoint = len(blocks)
        if isinstance(message, dict) and message.get("role", "user") == "user":
            last_user = text
    return _Prompt(blocks, checkpoint, last_user)


def _cache_counts(state: ProviderState, model_id: str, prompt: _Prompt) -> tuple[int, int]:
    """``(cache read, cache write)`` tokens for the prefix up to the last checkpoint."""
    if prompt.checkpoint == 0:
        return 0, 0
    prefix = prompt.blocks[: prompt.checkpoint]
    prefix_tokens = sum(tokens for _content, tokens in prefix)
    if prefix_tokens < MIN_CACHEABLE_TOKENS:
        return 0, 0
    # observe() reports a hit only for a prefix seen before; the sentinel block makes the prefix a strict one.
    hit = state.prompt_cache.observe(f"bedrock:{base_model_id(model_id)}", [*prefix, ("<tail>", 0)], prefix_tokens)
    return (prefix_tokens, 0) if hit else (0, prefix_tokens)


#: What an InvokeModel family handler returns: the whole response body, its stream chunks (empty when the
#: model cannot stream) and the usage counts for the headers and invocation metrics (input without cache).
_Family = tuple[dict[str, Any], list[Any], dict[str, int]]


@dataclass
class _Answer:
    text: str
    stop: str  # "stop" or "length", mapped to each family's own words
    tool_use: dict[str, Any] | None = None

    @property
    def output_tokens(self) -> int:
        tokens = count_tokens(self.text)
        if self.tool_use is not None:
            tokens += count_tokens(self.tool_use["name"] + json.dumps(self.tool_use["input"]))
        return tokens


def _answer(seed: int, cap: Any) -> _Answer:
    full = generate_text(seed)
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
        return _Answer(full, "stop")
    text = truncate_to_tokens(full, cap)
    return _Answer(text, "length" if text != full else "stop")


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _tool_use(tool_config: Any, prompt: _Prompt, seed: int) -> dict[str, Any] | None:
    """Converse answers with a call of the first tool when the question mentions the weather (or it is forced)."""
    if not isinstance(tool_config, dict):
        return None
    specs = [
        tool["toolSpec"] for tool in tool_config.get("tools") or () if isinstance(tool, dict) and "toolSpec" in tool
    ]
    choice = tool_config.get("toolChoice") or {"auto": {}}
    forced = isinstance(choice, dict) and ("any" in choice or "tool" in choice)
    if not specs or not (forced or re.search(r"\bweather\b", prompt.last_user_text, re.IGNORECASE)):
        return None
    spec = specs[0]
    if isinstance(choice, dict) and isinstance(choice.get("tool"), dict):
        spec = next((s for s in specs if s.get("name") == choice["tool"].get("name")), spec)
    schema = (spec.get("inputSchema") or {}).get("json") or {}
    properties = schema.get("properties") or {}
    names = schema.get("required") or list(properties)
    found = re.search(r"\bin ([A-Z][\w-]*(?: [A-Z][\w-]*)*)", prompt.last_user_text)
    arguments = {name: found.group(1) if found else "Paris" for name in names}
    return {"toolUseId": stable_id("tooluse_", seed, length=22), "name": str(spec.get("name")), "input": arguments}


def _request_id(request: FakeRequest) -> str:
    digest = stable_id("", request.path, request.json_object or request.body.hex(), length=32)
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _headers(request: FakeRequest, content_type: str = "application/json") -> dict[str, str]:
    return {"content-type": content_type, "x-amzn-requestid": _request_id(request)}


def _stream(request: FakeRequest, frames: list[bytes]) -> Iterator[bytes]:
    """The frames, or their first few followed by the modeled exception the request asked for."""
    failure = request.headers.get("x-fake-stream-exception")
    if not failure:
        yield from frames
        return
    yield from frames[:STREAM_EXCEPTION_AFTER]
    yield exception_message(failure, "Injected stream exception from the fake provider.")


def _padding(seed: Any) -> str:
    """Bedrock pads each stream event with a ``p`` field of varying length (to hide token lengths)."""
    return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"[: 1 + seed_of(seed) % 50]


# --------------------------------------------------------------------------------------------------- protocol


class BedrockProtocol(Protocol):
    """Routes under ``/model/{modelId}/`` answering like ``bedrock-runtime.<region>.amazonaws.com``."""

    name = "bedrock"

    def __init__(self) -> None:
        model = r"/model/(?P<model>[^/]+)"
        self.routes = (
            Route("POST", model + r"/converse", self._guarded(self.converse)),
            Route("POST", model + r"/converse-stream", self._guarded(self.converse_stream)),
            Route("POST", model + r"/invoke", self._guarded(self.invoke)),
            Route("POST", model + r"/invoke-with-response-stream", self._guarded(self.invoke_stream)),
        )

    def model_of(self, request: FakeRequest) -> str | None:
        model = request.path_params.get("model")
        return unquote(model) if model else None

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> FakeResponse:
        error_type = _ERROR_TYPES.get(status, "InternalServerException" if status >= 500 else "ValidationException")
        merged = {"x-amzn-errortype": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
        return FakeResponse.json_body({"message": message}, status, {**merged, **(headers or {})})

    def _guarded(self, handler: Any) -> Any:
        def guarded(request: FakeRequest, state: ProviderState) -> FakeResponse:
            try:
                return handler(request, state)
            except _ValidationError as error:
                return self.error_response(400, str(error))

        return guarded

    # ----------------------------------------------------------------------------------- Converse

    def _converse(
        self, request: FakeRequest, state: ProviderState
    ) -> tuple[str, dict[str, Any], _Answer, dict[str, Any]]:
        if not isinstance(request.json, dict):
            raise _ValidationError("Malformed input request, please reformat your input and try again.")
        body = request.json
        model_id = self.model_of(request) or ""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise _ValidationError(
                "A conversation must start with a user message. Try again with a conversation that starts with a "
                "user message."
            )
        tool_config = body.get("toolConfig")
        tools = tool_config.get("tools") if isinstance(tool_config, dict) else None
        prompt = _prompt(body.get("system"), messages, tools)
        read, write = _cache_counts(state, model_id, prompt)
        seed = seed_of("bedrock-converse", base_model_id(model_id), body.get("system"), messages)
        tool_use = _tool_use(tool_config, prompt, seed)
        if tool_use is not None:
            answer = _Answer("", "tool_use", tool_use)
        else:
            answer = _answer(seed, (body.get("inferenceConfig") or {}).get("maxTokens"))
        usage: dict[str, Any] = {
            "inputTokens": prompt.tokens - read - write,
            "outputTokens": answer.output_tokens,
            "totalTokens": prompt.tokens + answer.output_tokens,
        }
        if prompt.checkpoint:
            usage.update(cacheReadInputTokens=read, cacheWriteInputTokens=write)
        stop = {"stop": "end_turn", "length": "max_tokens"}.get(answer.stop, answer.stop)
        return stop, usage, answer, body

    def converse(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        stop, usage, answer, body = self._converse(request, state)
        content: list[dict[str, Any]] = [{"text": answer.text}] if answer.text else []
        if answer.tool_use is not None:
            content.append({"toolUse": answer.tool_use})
        payload: dict[str, Any] = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop,
            "usage": usage,
            "metrics": {"latencyMs": _LATENCY_MS},
        }
        if isinstance(body.get("serviceTier"), dict):
            payload["serviceTier"] = body["serviceTier"]
        return FakeResponse.json_body(payload, headers=_headers(request))

    def converse_stream(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        stop, usage, answer, body = self._converse(request, state)
        events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
        index = 0
        if answer.text:
            for piece in split_chunks(answer.text):
                events.append(("contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": index}))
            events.append(("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        if answer.tool_use is not None:
            start = {"toolUse": {"toolUseId": answer.tool_use["toolUseId"], "name": answer.tool_use["name"]}}
            events.append(("contentBlockStart", {"start": start, "contentBlockIndex": index}))
            for piece in split_chunks(json.dumps(answer.tool_use["input"]), 3):
                events.append(
                    ("contentBlockDelta", {"delta": {"toolUse": {"input": piece}}, "contentBlockIndex": index})
                )
            events.append(("contentBlockStop", {"contentBlockIndex": index}))
        events.append(("messageStop", {"stopReason": stop}))
        metadata: dict[str, Any] = {"usage": usage, "metrics": {"latencyMs": _LATENCY_MS}}
        if isinstance(body.get("serviceTier"), dict):
            metadata["serviceTier"] = body["serviceTier"]
        events.append(("metadata", metadata))
        frames = [
            event_message(kind, {**payload, "p": _padding((kind, number))})
            for number, (kind, payload) in enumerate(events)
        ]
        return FakeResponse(200, _headers(request, EVENTSTREAM_CONTENT_TYPE), _stream(request, frames))

    # ----------------------------------------------------------------------------------- InvokeModel

    def _invoke(self, request: FakeRequest, state: ProviderState, stream: bool) -> _Family:
        """(whole body, stream chunks, usage counts) for the model family of the path's modelId."""
        if not isinstance(request.json, dict):
            raise _ValidationError("Malformed input request, please reformat your input and try again.")
        model_id = self.model_of(request) or ""
        family = model_family(model_id)
        handler = getattr(self, "_body_" + family.replace("-", "_"))
        return handler(request.json, model_id, state, stream)

    def invoke(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        body, _chunks, counts = self._invoke(request, state, False)
        headers = {
            **_headers(request),
            **self._usage_headers(counts),
            "x-amzn-bedrock-invocation-latency": str(_LATENCY_MS),
        }
        return FakeResponse.json_body(body, headers=headers)

    def invoke_stream(self, request: FakeRequest, state: ProviderState) -> FakeResponse:
        _body, chunks, counts = self._invoke(request, state, True)
        if not chunks:
            raise _ValidationError("The model does not support streaming.")
        metrics = {
            "inputTokenCount": counts["input"],
            "outputTokenCount": counts["output"],
            "invocationLatency": _LATENCY_MS,
            "firstByteLatency": _FIRST_BYTE_MS,
        }
        if counts.get("cache_read") or counts.get("cache_write"):
            metrics.update(
                cacheReadInputTokenCount=counts["cache_read"], cacheWriteInputTokenCount=counts["cache_write"]
            )
        chunks = [*chunks[:-1], {**chunks[-1], "amazon-bedrock-invocationMetrics": metrics}]
        frames = []
        for number, chunk in enumerate(chunks):
            data = base64.b64encode(json.dumps(chunk, separators=(",", ":")).encode()).decode()
            frames.append(event_message("chunk", {"bytes": data, "p": _padding(("chunk", number))}))
        headers = {**_headers(request, EVENTSTREAM_CONTENT_TYPE), "x-amzn-bedrock-content-type": "application/json"}
        return FakeResponse(200, headers, _stream(request, frames))

    @staticmethod
    def _usage_headers(counts: Mapping[str, int]) -> dict[str, str]:
        headers = {
            "x-amzn-bedrock-input-token-count": str(counts["input"]),
            "x-amzn-bedrock-output-token-count": str(counts["output"]),
        }
        if counts.get("cache_read") or counts.get("cache_write"):
            headers["x-amzn-bedrock-cache-read-input-token-count"] = str(counts.get("cache_read", 0))
            headers["x-amzn-bedrock-cache-write-input-token-count"] = str(counts.get("cache_write", 0))
        return headers

    # --- families: each returns (body, stream chunks, counts); counts' "input" excludes cache, like Bedrock's

    @staticmethod
    def _text_prompt(body: Mapping[str, Any], key: str) -> _Prompt:
        text = body.get(key)
        if not isinstance(text, str) or not text:
            raise _ValidationError(
                f"Malformed input request: #: required key [{key}] not found, please reformat your input and try again."
            )
        return _prompt(None, [{"role": "user", "content": text}])

    @staticmethod
    def _messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise _missing("messages")
        return messages

    def _body_anthropic(self, body: dict[str, Any], model_id: str, state: ProviderState, stream: bool) -> _Family:
        messages = self._messages(body)
        if _positive(body.get("max_tokens")) is None:
            raise _missing("max_tokens")
        prompt = _prompt(body.get("system"), messages, body.get("tools"))
        read, write = _cache_counts(state, model_id, prompt)
        answer = _answer(
            seed_of("bedrock-anthropic", base_model_id(model_id), body.get("system"), messages), body["max_tokens"]
        )
        stop = _ANTHROPIC_STOP[answer.stop]
        usage = {
            "input_tokens": prompt.tokens - read - write,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "output_tokens": answer.output_tokens,
        }
        message_id = stable_id("msg_bdrk_", model_id, messages)
        model = re.sub(r"^anthropic\.|-v\d+(:\d+)?$", "", base_model_id(model_id))
        message = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": answer.text}],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }
        chunks: list[Any] = []
        if stream:
            start_usage = {**usage, "output_tokens": 1}
            chunks.append(
                {
                    "type": "message_start",
                    "message": {**message, "content": [], "stop_reason": None, "usage": start_usage},
                }
            )
            chunks.append({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
            for piece in split_chunks(answer.text):
                chunks.append(
                    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
                )
            chunks.append({"type": "content_block_stop", "index": 0})
            chunks.append(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": answer.output_tokens},
                }
            )
            chunks.append({"type": "message_stop"})
        counts = {
            "input": usage["input_tokens"],
            "output": answer.output_tokens,
            "cache_read": read,
            "cache_write": write,
        }
        return message, chunks, counts

    def _body_meta(self, body: dict[str, Any], model_id: str, state: ProviderState, stream: bool) -> _Family:
        prompt = self._text_prompt(body, "prompt")
        answer = _answer(seed_of("bedrock-meta", base_model_id(model_id), body["prompt"]), body.get("max_gen_len"))
        stop = _META_STOP[answer.stop]
        whole = {
            "generation": answer.text,
            "prompt_token_count": prompt.tokens,
            "generation_token_count": answer.output_tokens,
            "stop_reason": stop,
        }
        chunks: list[Any] = []
        if stream:
            pieces = split_chunks(answer.text)
            spent = 0
            for number, piece in enumerate(pieces):
                spent += count_tokens(piece)
                last = number == len(pieces) - 1
                chunks.append(
                    {
                        "generation": piece,
                        "prompt_token_count": prompt.tokens if number == 0 else None,
                        "generation_token_count": answer.output_tokens if last else spent,
                        "stop_reason": stop if last else None,
                    }
                )
        return whole, chunks, {"input": prompt.tokens, "output": answer.output_tokens}

    def _body_nova(self, body: dict[str, Any], model_id: str, state: ProviderState, stream: bool) -> _Family:
        messages = self._messages(body)
        prompt = _prompt(body.get("system"), messages, (body.get("toolConfig") or {}).get("tools"))
        read, write = _cache_counts(state, model_id, prompt)
        config = body.get("inferenceConfig") or {}
        cap = config.get("maxTokens", config.get("max_new_tokens"))
        answer = _answer(seed_of("bedrock-nova", base_model_id(model_id), body.get("system"), messages), cap)
        stop = {"stop": "end_turn", "length": "max_tokens"}[answer.stop]
        usage = {
            "inputTokens": prompt.tokens - read - write,
            "outputTokens": answer.output_tokens,
            "totalTokens": prompt.tokens + answer.output_tokens,
            "cacheReadInputTokenCount": read,
            "cacheWriteInputTokenCount": write,
        }
        whole = {
            "output": {"message": {"content": [{"text": answer.text}], "role": "assistant"}},
            "stopReason": stop,
            "usage": usage,
        }
        chunks: list[Any] = []
        if stream:
            chunks.append({"messageStart": {"role": "assistant"}})
            for piece in split_chunks(answer.text):
                chunks.append({"contentBlockDelta": {"delta": {"text": piece}, "contentBlockIndex": 0}})
            chunks.append({"contentBlockStop": {"contentBlockIndex": 0}})
            chunks.append({"messageStop": {"stopReason": stop}})
            chunks.append({"metadata": {"usage": usage, "metrics": {}, "trace": {}}})
        counts = {
            "input": usage["inputTokens"],
            "output": answer.output_tokens,
            "cache_read": read,
            "cache_write": write,
        }
        return whole, chunks, counts

    def _body_titan(self, body: dict[str, Any], model_id: str, state: ProviderState, stream: bool) -> _Family:
        text = body.get("inputText")
        if not isinstance(text, str) or not text:
            raise _missing("inputText")
        input_tokens = count_tokens(text)
        config = body.get("textGenerationConfig") or {}
        answer = _answer(seed_of("bedrock-titan", base_model_id(model_id), text), config.get("maxTokenCount"))
        stop = _TITAN_STOP[answer.stop]
        whole = {
            "inputTextTokenCount": input_tokens,
            "results": [{"tokenCount": answer.output_tokens, "outputText": answer.text, "completionReason": stop}],
        }
        chunks: list[Any] = []
        if stream:
            pieces = split_chunks(answer.text)
            spent = 0
            for number, piece in enumerate(pieces):
                spent += count_tokens(piece)
                last = number == len(pieces) - 1
                chunks.append(
                    {
                        "outputText": piece,
                        "index": 0,
                        "totalOutputTextTokenCount": answer.output_tokens if last else spent,
                        "completionReason": stop if last else None,
                        "inputTextTokenCount": input_tokens if number == 0 else None,
                    }
                )
        return whole, chunks, {"input": input_tokens, "output": answer.output_tokens}

    def _body_titan_embed(self, body: dict[str, Any], model_id: str, state: ProviderState, stream: bool) -> _Family:
        text = body.get("inputText")
        if not isinstance(text, str) or not text:
            raise _missing("inputText")
        dimensions = _positive(body.get("dimensions")) or _EMBEDDING_DIMENSIONS
        tokens = count_tokens(text)
        whole = {"embedding": embedding_vector(text, dimensions), "inputTextTokenCount": tokens}
        return whole, [], {"input": tokens, "output": 0}

    def _body_mistral(self, body: dict[str, Any], model_id: str, state: ProviderState, stream: bool) -> _Family:
        prompt = self._text_prompt(body, "prompt")
        answer = _answer(seed_of("bedrock-mistral", base_model_id(model_id), body["prompt"]), body.get("max_tokens"))
        stop = _META_STOP[answer.stop]
        whole = {"outputs": [{"text": answer.text, "stop_reason": stop}]}
        chunks: list[Any] = []
        if stream:
            pieces = split_chunks(answer.text)
            for number, piece in enumerate(pieces):
                last = number == len(pieces) - 1
                chunks.append({"outputs": [{"text": piece, "stop_reason": stop if last else None}]})
        return whole, chunks, {"input": prompt.tokens, "output": answer.output_tokens}

    def _body_cohere(self, body: dict[str, Any], model_id: str, state: ProviderState, stream: bool) -> _Family:
        prompt = self._text_prompt(body, "message")
        answer = _answer(seed_of("bedrock-cohere", base_model_id(model_id), body["message"]), body.get("max_tokens"))
        stop = _COHERE_STOP[answer.stop]
        tokens = {"input_tokens": prompt.tokens, "output_tokens": answer.output_tokens}
        whole = {
            "response_id": stable_id("", model_id, body["message"], length=32),
            "text": answer.text,
            "generation_id": stable_id("", "generation", body["message"], length=32),
            "chat_history": [
                {"role": "USER", "message": body["message"]},
                {"role": "CHATBOT", "message": answer.text},
            ],
            "finish_reason": stop,
            "meta": {"api_version": {"version": "1"}, "billed_units": tokens, "tokens": tokens},
        }
        chunks: list[Any] = []
        if stream:
            chunks.append({"is_finished": False, "event_type": "stream-start", "generation_id": whole["generation_id"]})
            for piece in split_chunks(answer.text):
                chunks.append({"is_finished": False, "event_type": "text-generation", "text": piece})
            chunks.append({"is_finished": True, "event_type": "stream-end", "finish_reason": stop, "response": whole})
        return whole, chunks, {"input": prompt.tokens, "output": answer.output_tokens}


PROTOCOL = BedrockProtocol()
