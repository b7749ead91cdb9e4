"""Readers for the four `bedrock-runtime` operations: Converse, ConverseStream, InvokeModel(+WithResponseStream).

botocore hands `_make_api_call` the operation's parameter dict (`modelId`, `messages`, `body`, ...) and returns a
plain dict, so readers work on dicts only. Converse is one shape for every model; InvokeModel bodies are per
model family and are read by `bodies`.

The one reader that does more than read is `read_invoke_response`: InvokeModel's `body` is a one-shot
`botocore.response.StreamingBody`, and the usage is inside it. It reads the bytes and puts a fresh
`StreamingBody` over the same bytes back into the returned dict, so the application's `.read()`,
`iter_lines()`, `iter_chunks()` still work and see the same data (see `_buffer_body`).
"""

from __future__ import annotations

import functools
import io
import json
from typing import Any

from otel_tokenomics.instrumentation.bedrock import bodies, content
from otel_tokenomics.instrumentation.bedrock.hosts import destination
from otel_tokenomics.instrumentation.core import Invocation
from otel_tokenomics.instrumentation.values import integer as _integer
from otel_tokenomics.instrumentation.values import number as _number
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "ConverseStreamReader",
    "InvokeStreamReader",
    "read_converse_request",
    "read_converse_response",
    "read_converse_stream_request",
    "read_invoke_request",
    "read_invoke_response",
    "read_invoke_stream_request",
]

#: Bodies larger than this are not parsed (image generation answers carry megabytes of base64); the usage
#: headers still price the call.
MAX_PARSED_BODY = 2 * 1024 * 1024


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _read_destination(invocation: Invocation, client: Any, params: dict[str, Any]) -> None:
    meta = getattr(client, "meta", None)
    found = destination(getattr(meta, "endpoint_url", None), invocation.telemetry.config.provider_hosts)
    invocation.provider = found.provider
    invocation.server_address = found.address
    invocation.server_port = found.port
    invocation.self_hosted = found.self_hosted
    model = params.get("modelId")
    # Kept exactly as given (a cross-region profile `us.…`, an ARN): the price book resolves those itself.
    invocation.request_model = model if isinstance(model, str) else None


def _service_tier(invocation: Invocation, tier: Any) -> None:
    """Converse sends `{"type": "flex"}`, InvokeModel the bare string (a header on the wire)."""
    name = tier.get("type") if isinstance(tier, dict) else tier
    if isinstance(name, str) and name:
        invocation.service_tier = name


# --- Converse / ConverseStream -----------------------------------------------------------------------------
def read_converse_request(invocation: Invocation, client: Any, params: dict[str, Any]) -> None:
    _read_destination(invocation, client, params)
    attributes = invocation.request_attributes
    config = _dict(params.get("inferenceConfig"))
    max_tokens = _integer(config.get("maxTokens"))
    if max_tokens is not None:
        attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        invocation.request_max_tokens = max_tokens
    for key, name in (("temperature", attr.GEN_AI_REQUEST_TEMPERATURE), ("topP", attr.GEN_AI_REQUEST_TOP_P)):
        value = _number(config.get(key))
        if value is not None:
            attributes[name] = value
    stop = config.get("stopSequences")
    if isinstance(stop, list | tuple) and stop and all(isinstance(item, str) for item in stop):
        attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)
    extra = _dict(params.get("additionalModelRequestFields"))
    top_k = _number(extra.get("top_k", extra.get("topK")))
    if top_k is not None:
        attributes[attr.GEN_AI_REQUEST_TOP_K] = top_k
    _service_tier(invocation, params.get("serviceTier"))
    if invocation.capture_content:
        system = content.system_to_parts(params.get("system"))
        invocation.system_instructions = system or None
        invocation.input_messages = content.messages_to_conventions(params.get("messages"))


def read_converse_stream_request(invocation: Invocation, client: Any, params: dict[str, Any]) -> None:
    read_converse_request(invocation, client, params)
    invocation.stream = True


def converse_usage(usage: dict[str, Any]) -> Usage:
    """Converse's `inputTokens` excludes cache reads and writes; `cacheDetails` splits writes by TTL."""
    one_hour = sum(
        _integer(_dict(detail).get("inputTokens")) or 0
        for detail in usage.get("cacheDetails") or ()
        if _dict(detail).get("ttl") == "1h"
    )
    return Usage.from_exclusive(
        usage.get("inputTokens"),
        usage.get("outputTokens"),
        cache_read_tokens=usage.get("cacheReadInputTokens"),
        cache_write_tokens=usage.get("cacheWriteInputTokens"),
        cache_write_1h_tokens=one_hour,
    )


def read_converse_response(invocation: Invocation, response: Any) -> None:
    response = _dict(response)
    reason = response.get("stopReason")
    if isinstance(reason, str):
        invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]
    usage = response.get("usage")
    if isinstance(usage, dict):
        invocation.usage = converse_usage(usage)
    _service_tier(invocation, response.get("serviceTier"))
    if invocation.capture_content:
        message = _dict(_dict(response.get("output")).get("message"))
        if message:
            parts = content.blocks_to_parts(message.get("content"))
            invocation.output_messages = [
                {"role": message.get("role", "assistant"), "parts": parts, "finish_reason": reason}
            ]


class ConverseStreamReader:
    """ConverseStream events: `messageStop` has the stop reason, the final `metadata` event the usage."""

    __slots__ = ("invocation", "reason", "texts")

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.reason: str | None = None
        self.texts: list[str] = []

    def feed(self, event: Any) -> bool:
        if "contentBlockDelta" in event:
            if self.invocation.capture_content:
                text = event["contentBlockDelta"].get("delta", {}).get("text")
                if isinstance(text, str):
                    self.texts.append(text)
        elif "messageStop" in event:
            reason = event["messageStop"].get("stopReason")
            self.reason = reason if isinstance(reason, str) else None
        elif "metadata" in event:
            metadata = event["metadata"]
            usage = metadata.get("usage")
            if isinstance(usage, dict):
                self.invocation.usage = converse_usage(usage)
            _service_tier(self.invocation, metadata.get("serviceTier"))
        return False

    def close(self) -> None:
        invocation = self.invocation
        if self.reason:
            invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [self.reason]
        if invocation.capture_content and self.texts:
            invocation.output_messages = content.text_output(["".join(self.texts)], [self.reason or ""])


# --- InvokeModel / InvokeModelWithResponseStream -----------------------------------------------------------
def _request_body(params: dict[str, Any]) -> dict[str, Any]:
    """The JSON request body when it is bytes or text; a file-like body is the app's to read, never ours."""
    body = params.get("body")
    if isinstance(body, bytes | bytearray | str) and len(body) <= MAX_PARSED_BODY:
        try:
            return _dict(json.loads(body))
        except ValueError:
            return {}
    return {}


def read_invoke_request(invocation: Invocation, client: Any, params: dict[str, Any]) -> None:
    _read_destination(invocation, client, params)
    _service_tier(invocation, params.get("serviceTier"))
    body = _request_body(params)
    if not body:
        return
    max_tokens = bodies.read_request_parameters(body, invocation.request_attributes)
    if max_tokens is not None:
        invocation.request_max_tokens = max_tokens
    if invocation.capture_content:
        system, messages = bodies.input_content(body)
        invocation.system_instructions = system or None
        invocation.input_messages = messages or None


def read_invoke_stream_request(invocation: Invocation, client: Any, params: dict[str, Any]) -> None:
    read_invoke_request(invocation, client, params)
    invocation.stream = True


def _buffer_body(invocation: Invocation, response: dict[str, Any]) -> bytes | None:
    """Read InvokeModel's one-shot body and hand the app an equivalent, unread `StreamingBody` over the bytes.

    Reading here is what the application would do anyway (the whole answer is one JSON document); doing it first
    costs no extra network time and only holds the bytes once more until the app reads them. If reading fails
    (the connection dropped mid-body), the app gets a body that raises that very error on read, exactly when it
    would have seen it, and the span records the failure.
    """
    from botocore.response import StreamingBody

    body = response.get("body")
    if not isinstance(body, StreamingBody):
        return None
    try:
        data = body.read()
    except Exception as error:
        response["body"] = _unreadable_body_type()(error)
        invocation.fail(error)
        return None
    response["body"] = StreamingBody(io.BytesIO(data), len(data))
    return data


def _parsed_body(response: dict[str, Any], data: bytes | None) -> dict[str, Any]:
    content_type = response.get("contentType")
    if not data or len(data) > MAX_PARSED_BODY or (isinstance(content_type, str) and "json" not in content_type):
        return {}
    try:
        return _dict(json.loads(data))
    except ValueError:
        return {}


def read_invoke_response(invocation: Invocation, response: Any) -> None:
    response = _dict(response)
    data = _buffer_body(invocation, response)
    if invocation.finished:
        return
    _service_tier(invocation, response.get("serviceTier"))
    body = _parsed_body(response, data)
    headers = _dict(_dict(response.get("ResponseMetadata")).get("HTTPHeaders"))
    invocation.usage = (bodies.usage(body) if body else None) or bodies.header_usage(headers)
    if not body:
        return
    reasons = bodies.finish_reasons(body)
    if reasons:
        invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    vector = body.get("embedding")
    if isinstance(vector, list):
        invocation.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)
    if invocation.capture_content and "embedding" not in body and "embeddings" not in body:
        invocation.output_messages = content.text_output(bodies.output_texts(body), reasons) or None


class InvokeStreamReader:
    """`{"chunk": {"bytes": <model JSON>}}` events; the last carries `amazon-bedrock-invocationMetrics`.

    Bedrock's metrics are authoritative for usage; a model's own report (Anthropic's `message_start` and
    `message_delta`, Nova's `metadata`) supplies cache counts the metrics lack, and usage if a stream is read to
    its end without metrics. A stream closed early has neither: it stays unpriced rather than under-priced.
    """

    __slots__ = ("invocation", "metrics", "model_usage", "reason", "started", "texts")

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.metrics: dict[str, Any] | None = None
        self.started: Usage | None = None
        self.model_usage: Usage | None = None
        self.reason: str | None = None
        self.texts: list[str] = []

    def feed(self, event: Any) -> bool:
        chunk = event.get("chunk")
        if not isinstance(chunk, dict) or not isinstance(chunk.get("bytes"), bytes | bytearray):
            return False
        payload = json.loads(chunk["bytes"])
        if not isinstance(payload, dict):
            return False
        metrics = payload.get(bodies.INVOCATION_METRICS)
        if isinstance(metrics, dict):
            self.metrics = metrics
        self.started, final = bodies.stream_usage(payload, self.started)
        if final is not None:
            self.model_usage = final
        reason = bodies.chunk_finish_reason(payload)
        if reason is not None:
            self.reason = reason
        if self.invocation.capture_content:
            text = bodies.chunk_text(payload)
            if text:
                self.texts.append(text)
        return False

    def close(self) -> None:
        invocation = self.invocation
        reported = self.model_usage or self.started
        if self.metrics is not None:
            invocation.usage = bodies.metrics_usage(self.metrics, reported)
        elif self.model_usage is not None:
            invocation.usage = self.model_usage
        if self.reason:
            invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [self.reason]
        if invocation.capture_content and self.texts:
            invocation.output_messages = content.text_output(["".join(self.texts)], [self.reason or ""])


@functools.cache
def _unreadable_body_type() -> type:
    """Built on first use: botocore is imported by then, and never by importing this module."""
    from botocore.response import StreamingBody

    class UnreadableBody(StreamingBody):  # type: ignore[misc]
        """A `StreamingBody` whose reading failed in our hands: every read raises the original error."""

        def __init__(self, error: BaseException) -> None:
            super().__init__(io.BytesIO(b""), None)
            self._error = error

        def read(self, amt: int | None = None) -> bytes:
            raise self._error

        def readinto(self, b: Any) -> int:
            raise self._error

    return UnreadableBody
