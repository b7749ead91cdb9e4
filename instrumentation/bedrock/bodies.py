"""InvokeModel bodies: every model family speaks its own JSON, in the request, the response and stream chunks.

Formats are recognised by their *keys*, not by the `modelId`: an application inference profile ARN names no
family, and several families share a shape (Anthropic-style `usage` is also what some partner models send).

Usage shapes (what each count includes decides the `Usage` constructor):

* Anthropic `usage.input_tokens` excludes cache reads/writes (`cache_read_input_tokens`,
  `cache_creation_input_tokens`) → `from_exclusive`;
* Amazon Nova `usage.inputTokens` excludes `cacheReadInputTokenCount`/`cacheWriteInputTokenCount`, like Converse
  → `from_exclusive`;
* Meta Llama `prompt_token_count` / `generation_token_count`, Titan `inputTextTokenCount` / `results[].tokenCount`,
  Cohere `meta.billed_units`, OpenAI-shaped `prompt_tokens` / `completion_tokens` → `from_inclusive` (no cache);
* anything else (Mistral's `outputs` has no usage) → the `x-amzn-bedrock-*-token-count` headers Bedrock adds to
  every InvokeModel answer, and in streams the last chunk's `amazon-bedrock-invocationMetrics`; both count input
  without cache reads/writes (reported beside it when any), so they are read with `from_exclusive` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_tokenomics.instrumentation.bedrock import content
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "INVOCATION_METRICS",
    "chunk_finish_reason",
    "chunk_text",
    "finish_reasons",
    "header_usage",
    "input_content",
    "metrics_usage",
    "output_texts",
    "read_request_parameters",
    "stream_usage",
    "usage",
]

INVOCATION_METRICS = "amazon-bedrock-invocationMetrics"
_HEADER_INPUT = "x-amzn-bedrock-input-token-count"
_HEADER_OUTPUT = "x-amzn-bedrock-output-token-count"
_HEADER_CACHE_READ = "x-amzn-bedrock-cache-read-input-token-count"
_HEADER_CACHE_WRITE = "x-amzn-bedrock-cache-write-input-token-count"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- request -----------------------------------------------------------------------------------------------
def read_request_parameters(body: Mapping[str, Any], attributes: dict[str, Any]) -> int | None:
    """Sampling parameters of any family into `attributes`; returns the output-token cap, if any."""
    nova = _dict(body.get("inferenceConfig"))
    titan = _dict(body.get("textGenerationConfig"))
    max_tokens = None
    for value in (
        body.get("max_tokens"),  # Anthropic, Mistral, Cohere
        body.get("max_gen_len"),  # Meta Llama
        body.get("max_completion_tokens"),  # OpenAI-shaped partner models
        nova.get("maxTokens"),
        nova.get("max_new_tokens"),
        titan.get("maxTokenCount"),
    ):
        max_tokens = _integer(value)
        if max_tokens is not None:
            attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
            break
    for name, candidates in (
        (attr.GEN_AI_REQUEST_TEMPERATURE, (body.get("temperature"), nova.get("temperature"), titan.get("temperature"))),
        (attr.GEN_AI_REQUEST_TOP_P, (body.get("top_p"), body.get("p"), nova.get("topP"), titan.get("topP"))),
        (attr.GEN_AI_REQUEST_TOP_K, (body.get("top_k"), body.get("k"), nova.get("topK"))),
    ):
        for value in candidates:
            if _number(value) is not None:
                attributes[name] = value
                break
    for stop in (body.get("stop_sequences"), body.get("stop"), nova.get("stopSequences"), titan.get("stopSequences")):
        if isinstance(stop, str):
            attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = (stop,)
            break
        if isinstance(stop, list | tuple) and stop and all(isinstance(item, str) for item in stop):
            attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)
            break
    return max_tokens


def input_content(body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system instructions, input messages) of a request body of any family."""
    system = body.get("system")
    if system is None:
        system = body.get("preamble")  # Cohere
    instructions = content.system_to_parts(system) if system else []
    if isinstance(body.get("messages"), list):
        return instructions, content.messages_to_conventions(body["messages"])
    for key in ("prompt", "inputText", "message"):
        if isinstance(body.get(key), str):
            return instructions, content.prompt_message(body[key])
    return instructions, []


# --- response ----------------------------------------------------------------------------------------------
def usage(body: Mapping[str, Any]) -> Usage | None:
    """The usage a response body reports, or None when its family reports none (see the module docstring)."""
    reported = body.get("usage")
    if isinstance(reported, dict):
        if "input_tokens" in reported or "output_tokens" in reported:  # Anthropic
            creation = _dict(reported.get("cache_creation"))
            return Usage.from_exclusive(
                reported.get("input_tokens"),
                reported.get("output_tokens"),
                cache_read_tokens=reported.get("cache_read_input_tokens"),
                cache_write_tokens=reported.get("cache_creation_input_tokens"),
                cache_write_1h_tokens=creation.get("ephemeral_1h_input_tokens"),
            )
        if "inputTokens" in reported or "outputTokens" in reported:  # Amazon Nova
            return Usage.from_exclusive(
                reported.get("inputTokens"),
                reported.get("outputTokens"),
                cache_read_tokens=reported.get("cacheReadInputTokenCount"),
                cache_write_tokens=reported.get("cacheWriteInputTokenCount"),
            )
        if "prompt_tokens" in reported or "completion_tokens" in reported:  # OpenAI-shaped
            details = _dict(reported.get("prompt_tokens_details"))
            return Usage.from_inclusive(
                reported.get("prompt_tokens"),
                reported.get("completion_tokens"),
                cache_read_tokens=details.get("cached_tokens"),
            )
    if "prompt_token_count" in body or "generation_token_count" in body:  # Meta Llama
        return Usage.from_inclusive(body.get("prompt_token_count"), body.get("generation_token_count"))
    if "inputTextTokenCount" in body:  # Titan text and embeddings
        results = body.get("results")
        output = sum(_integer(_dict(r).get("tokenCount")) or 0 for r in results) if isinstance(results, list) else 0
        return Usage.from_inclusive(body.get("inputTextTokenCount"), output)
    billed = _dict(_dict(body.get("meta")).get("billed_units"))
    if billed:  # Cohere
        return Usage.from_inclusive(billed.get("input_tokens"), billed.get("output_tokens"))
    return None


def header_usage(headers: Mapping[str, Any]) -> Usage | None:
    """Bedrock's own counts, sent with every InvokeModel answer (botocore lower-cases header names)."""
    if _HEADER_INPUT not in headers and _HEADER_OUTPUT not in headers:
        return None
    return Usage.from_exclusive(
        headers.get(_HEADER_INPUT),
        headers.get(_HEADER_OUTPUT),
        cache_read_tokens=headers.get(_HEADER_CACHE_READ),
        cache_write_tokens=headers.get(_HEADER_CACHE_WRITE),
    )


def metrics_usage(metrics: Mapping[str, Any], reported: Usage | None = None) -> Usage:
    """A stream's `amazon-bedrock-invocationMetrics`; cache counts from the model's own report if it has none."""
    return Usage.from_exclusive(
        metrics.get("inputTokenCount"),
        metrics.get("outputTokenCount"),
        cache_read_tokens=metrics.get("cacheReadInputTokenCount", reported.cache_read_tokens if reported else 0),
        cache_write_tokens=metrics.get("cacheWriteInputTokenCount", reported.cache_write_tokens if reported else 0),
        cache_write_1h_tokens=reported.cache_write_1h_tokens if reported else 0,
    )


def finish_reasons(body: Mapping[str, Any]) -> list[str]:
    for key in ("stop_reason", "stopReason", "finish_reason"):  # Anthropic & Llama, Nova, Cohere
        if isinstance(body.get(key), str):
            return [body[key]]
    for key, reason_key in (("results", "completionReason"), ("outputs", "stop_reason"), ("choices", "finish_reason")):
        items = body.get(key)
        if isinstance(items, list):
            return [_dict(item)[reason_key] for item in items if isinstance(_dict(item).get(reason_key), str)]
    return []


def output_texts(body: Mapping[str, Any]) -> list[str]:
    """The generated text(s) of a response body of any family (content capture only)."""
    if isinstance(body.get("content"), list):  # Anthropic
        return ["".join(str(block.get("text", "")) for block in body["content"] if _dict(block).get("type") == "text")]
    message = _dict(_dict(body.get("output")).get("message"))
    if message:  # Amazon Nova
        return ["".join(str(_dict(block).get("text", "")) for block in message.get("content") or ())]
    for key in ("generation", "text"):  # Meta Llama, Cohere
        if isinstance(body.get(key), str):
            return [body[key]]
    for key, text_key in (("results", "outputText"), ("outputs", "text"), ("generations", "text")):
        items = body.get(key)
        if isinstance(items, list):
            return [str(_dict(item).get(text_key, "")) for item in items]
    choices = body.get("choices")
    if isinstance(choices, list):
        return [str(_dict(_dict(choice).get("message")).get("content") or "") for choice in choices]
    return []


# --- stream chunks -----------------------------------------------------------------------------------------
def chunk_finish_reason(chunk: Mapping[str, Any]) -> str | None:
    delta = _dict(chunk.get("delta"))  # Anthropic message_delta
    for value in (
        delta.get("stop_reason"),
        chunk.get("stop_reason"),  # Meta Llama
        _dict(chunk.get("messageStop")).get("stopReason"),  # Amazon Nova
        chunk.get("completionReason"),  # Titan
        chunk.get("finish_reason"),  # Cohere
    ):
        if isinstance(value, str):
            return value
    outputs = chunk.get("outputs")  # Mistral
    if isinstance(outputs, list) and outputs and isinstance(_dict(outputs[0]).get("stop_reason"), str):
        return str(outputs[0]["stop_reason"])
    return None


def chunk_text(chunk: Mapping[str, Any]) -> str | None:
    if chunk.get("type") == "content_block_delta":  # Anthropic
        text = _dict(chunk.get("delta")).get("text")
        return text if isinstance(text, str) else None
    nova = _dict(_dict(chunk.get("contentBlockDelta")).get("delta"))
    if nova:
        text = nova.get("text")
        return text if isinstance(text, str) else None
    for key in ("generation", "outputText"):  # Meta Llama, Titan
        if isinstance(chunk.get(key), str):
            return str(chunk[key])
    if chunk.get("event_type") == "text-generation" and isinstance(chunk.get("text"), str):  # Cohere
        return str(chunk["text"])
    outputs = chunk.get("outputs")  # Mistral
    if isinstance(outputs, list) and outputs and isinstance(_dict(outputs[0]).get("text"), str):
        return str(outputs[0]["text"])
    return None


def stream_usage(chunk: Mapping[str, Any], started: Usage | None) -> tuple[Usage | None, Usage | None]:
    """(usage announced at the start, final model-reported usage) carried by one stream chunk, if any.

    Anthropic announces input and cache counts in `message_start` (with a placeholder output of 1) and the
    output count in `message_delta`: only the latter completes the report, so a stream closed early has no
    usage rather than an under-count. Nova's `metadata` chunk is complete by itself.
    """
    kind = chunk.get("type")
    if kind == "message_start":
        return usage(_dict(chunk.get("message"))), None
    if kind == "message_delta":
        delta = _dict(chunk.get("usage"))
        if "input_tokens" in delta:  # newer Anthropic releases repeat every count in message_delta
            return started, usage({"usage": delta})
        base = started or Usage()
        final = Usage.from_inclusive(
            base.input_tokens,
            delta.get("output_tokens"),
            cache_read_tokens=base.cache_read_tokens,
            cache_write_tokens=base.cache_write_tokens,
            cache_write_1h_tokens=base.cache_write_1h_tokens,
        )
        return started, final
    metadata = chunk.get("metadata")
    if isinstance(metadata, dict):
        return started, usage(metadata)
    return started, None
