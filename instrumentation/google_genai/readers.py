"""Readers for the `google-genai` shapes: `generate_content` (plain and streamed) and `embed_content`.

Token semantics (the reason this module exists): Gemini's `prompt_token_count` already includes
`cached_content_token_count`, `thoughts_token_count` is reported *beside* `candidates_token_count` but billed
as output, and `tool_use_prompt_token_count` (results of built-in tools fed back to the model) is input that
is *not* in the prompt count. `gemini_usage` turns that into the canonical `Usage` once; the price book then
picks the long-context tier (>200k prompt tokens) from the input total by itself.

Requests carry their options in `config`, a `GenerateContentConfig`/`EmbedContentConfig` or its dict form:
readers accept both. Responses are the SDK's pydantic models; `_field` also takes dicts so tests and odd
callers cannot break a reader.
"""

from __future__ import annotations

import dataclasses
import json
import re
from enum import Enum
from typing import Any

from otel_tokenomics.instrumentation.core import Invocation
from otel_tokenomics.instrumentation.google_genai import content
from otel_tokenomics.instrumentation.google_genai.hosts import client_destination
from otel_tokenomics.instrumentation.request_params import record_max_tokens, record_numbers
from otel_tokenomics.instrumentation.values import field as _field
from otel_tokenomics.instrumentation.values import integer as _integer
from otel_tokenomics.instrumentation.values import number as _number
from otel_tokenomics.instrumentation.values import string as _string
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.usage import Usage

__all__ = [
    "GenerateStreamReader",
    "finish_reason",
    "gemini_usage",
    "generate_usage",
    "model_name",
    "read_embed_request",
    "read_embed_response",
    "read_generate_request",
    "read_generate_response",
    "read_generate_stream_request",
]

# Gemini finish reasons → the conventions' vocabulary where one exists; the rest are lower-cased as sent.
_FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error",
    "MALFORMED_RESPONSE": "error",
    "MISSING_THOUGHT_SIGNATURE": "error",
}
# Vertex AI's billed traffic type / the request's `service_tier` → the price book's tier names.
_TRAFFIC_TIERS = {"ON_DEMAND_FLEX": "flex", "ON_DEMAND_PRIORITY": "priority", "PROVISIONED_THROUGHPUT": "provisioned"}
_REQUEST_TIERS = {"flex": "flex", "priority": "priority"}
_CAMEL = re.compile(r"([A-Z])")


def _enum_value(value: Any) -> str | None:
    """SDK enums are `str` subclasses; dict configs hold plain strings."""
    if isinstance(value, Enum):
        value = value.value
    return value if isinstance(value, str) and value else None


def model_name(model: Any) -> str | None:
    """`models/gemini-2.5-flash` and Vertex resource names (`projects/…/publishers/google/models/x`) → `x`.

    Tuned models (`tunedModels/…`) and endpoints are kept whole: they have no shorter public name.
    """
    if not isinstance(model, str) or not model:
        return None
    if "models/" in model:
        return model.rsplit("models/", 1)[1] or model
    return model


def finish_reason(value: Any) -> str | None:
    name = _enum_value(value)
    if name is None or name == "FINISH_REASON_UNSPECIFIED":
        return None
    return _FINISH_REASONS.get(name, name.lower())


def _modality_tokens(details: Any, modality: str) -> int:
    total = 0
    for detail in details or ():
        if _enum_value(_field(detail, "modality")) == modality:
            total += _integer(_field(detail, "token_count")) or 0
    return total


def gemini_usage(metadata: Any) -> Usage:
    """`usage_metadata` → `Usage` (see the module docstring for what each count includes)."""
    prompt = _integer(_field(metadata, "prompt_token_count")) or 0
    tool_use = _integer(_field(metadata, "tool_use_prompt_token_count")) or 0
    usage = Usage.from_separate_reasoning(
        prompt + tool_use,
        _field(metadata, "candidates_token_count"),
        _field(metadata, "thoughts_token_count"),
        cache_read_tokens=_field(metadata, "cached_content_token_count"),
    )
    audio = _modality_tokens(_field(metadata, "prompt_tokens_details"), "AUDIO")
    if audio:  # audio input has its own rate on most Gemini models
        usage = dataclasses.replace(usage, input_audio_tokens=min(audio, usage.input_tokens))
    return usage


# --- request side ------------------------------------------------------------------------------------------
def _read_destination(invocation: Invocation, instance: Any, config: Any) -> None:
    api_client = getattr(instance, "_api_client", None)
    destination = client_destination(api_client, config, invocation.telemetry.config.provider_hosts)
    invocation.provider = destination.provider
    invocation.server_address = destination.address
    invocation.server_port = destination.port
    invocation.self_hosted = destination.self_hosted


def _read_generation_config(invocation: Invocation, config: Any) -> None:
    attributes = invocation.request_attributes
    record_numbers(
        attributes,
        lambda key: _field(config, key),
        (
            ("temperature", attr.GEN_AI_REQUEST_TEMPERATURE),
            ("top_p", attr.GEN_AI_REQUEST_TOP_P),
            ("top_k", attr.GEN_AI_REQUEST_TOP_K),
            ("frequency_penalty", attr.GEN_AI_REQUEST_FREQUENCY_PENALTY),
            ("presence_penalty", attr.GEN_AI_REQUEST_PRESENCE_PENALTY),
        ),
    )
    record_max_tokens(invocation, _field(config, "max_output_tokens"))
    seed = _integer(_field(config, "seed"))
    if seed is not None:
        attributes[attr.GEN_AI_REQUEST_SEED] = seed
    choices = _integer(_field(config, "candidate_count"))
    if choices is not None and choices != 1:
        attributes[attr.GEN_AI_REQUEST_CHOICE_COUNT] = choices
    stop = _field(config, "stop_sequences")
    if isinstance(stop, list | tuple) and stop and all(isinstance(item, str) for item in stop):
        attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)
    mime = _string(_field(config, "response_mime_type"))
    if mime is not None and (mime.endswith("json") or mime.startswith("text/")):
        attributes[attr.GEN_AI_OUTPUT_TYPE] = "json" if mime.endswith("json") else "text"
    tier = _REQUEST_TIERS.get(_enum_value(_field(config, "service_tier")) or "")
    if tier is not None:
        invocation.service_tier = tier


def read_generate_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    config = kwargs.get("config")
    _read_destination(invocation, instance, config)
    invocation.request_model = model_name(kwargs.get("model"))
    if config is not None:
        _read_generation_config(invocation, config)
    if invocation.capture_content:
        invocation.system_instructions = content.system_instructions(config) or None
        invocation.input_messages = content.input_messages(kwargs.get("contents"))


def read_generate_stream_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    invocation.stream = True
    read_generate_request(invocation, instance, kwargs)


# --- response side -----------------------------------------------------------------------------------------
def _read_identity(invocation: Invocation, response: Any) -> None:
    model = _string(_field(response, "model_version"))
    if model:
        invocation.response_model = model_name(model)
    response_id = _string(_field(response, "response_id"))
    if response_id:
        invocation.attributes[attr.GEN_AI_RESPONSE_ID] = response_id


def _read_traffic_tier(invocation: Invocation, metadata: Any) -> None:
    tier = _TRAFFIC_TIERS.get(_enum_value(_field(metadata, "traffic_type")) or "")
    if tier is not None:
        invocation.service_tier = tier


def _finish_reasons(response: Any) -> list[str]:
    candidates = _field(response, "candidates") or ()
    reasons = [finish_reason(_field(candidate, "finish_reason")) for candidate in candidates]
    found = [reason for reason in reasons if reason]
    if not candidates and _field(_field(response, "prompt_feedback"), "block_reason") is not None:
        found = ["content_filter"]  # the prompt itself was blocked: no candidate at all
    return found


def _raw_body(response: Any) -> Any:
    """With `config.should_return_http_response` the SDK returns the raw HTTP body only: read it as sent."""
    body = _field(_field(response, "sdk_http_response"), "body")
    if not isinstance(body, str) or not body:
        return None
    parsed = json.loads(body)
    if not isinstance(parsed, dict):
        return None
    candidates = parsed.get("candidates")
    return {
        "model_version": parsed.get("modelVersion"),
        "response_id": parsed.get("responseId"),
        "candidates": [{"finish_reason": _field(item, "finishReason"), "content": None} for item in candidates or ()],
        "usage_metadata": _snake_keys(parsed.get("usageMetadata")),
    }


def _snake_keys(value: Any) -> Any:
    if isinstance(value, list):
        return [_snake_keys(item) for item in value]
    if isinstance(value, dict):
        return {_CAMEL.sub(r"_\1", key).lower(): _snake_keys(item) for key, item in value.items()}
    return value


def _parsed(response: Any) -> Any:
    if _field(response, "usage_metadata") is None and _field(response, "candidates") is None:
        return _raw_body(response) or response
    return response


def generate_usage(response: Any) -> Usage | None:
    """The usage of one `generateContent` request: what each automatic-function-calling round trip adds."""
    metadata = _field(_parsed(response), "usage_metadata")
    return None if metadata is None else gemini_usage(metadata)


def read_generate_response(invocation: Invocation, response: Any) -> None:
    response = _parsed(response)
    _read_identity(invocation, response)
    reasons = _finish_reasons(response)
    if reasons:
        invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    metadata = _field(response, "usage_metadata")
    if metadata is not None:
        invocation.usage = gemini_usage(metadata)
        _read_traffic_tier(invocation, metadata)
    if invocation.capture_content:
        invocation.output_messages = content.output_messages(_field(response, "candidates"), reasons)


class GenerateStreamReader:
    """`GenerateContentResponse` chunks: identity from the first, usage from the latest, text only if captured.

    Within one request each chunk's `usage_metadata` is a running total, so the latest wins. Automatic
    function calling streams several requests through one iterator: a chunk with content after a chunk that
    carried a finish reason starts the next request, whose usage is *added* (the SDK's own continuation hops
    already arrive summed and without intermediate finish reasons, so they are not counted twice).
    """

    __slots__ = ("done", "finish_reasons", "hop", "hop_ended", "invocation", "parts")

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.done: Usage | None = None  # usage of the requests already ended (automatic function calling)
        self.hop: Usage | None = None  # latest usage of the current request
        self.hop_ended = False
        self.finish_reasons: dict[int, str] = {}
        self.parts: dict[int, list[dict[str, Any]]] = {}

    def feed(self, chunk: Any) -> bool:
        invocation = self.invocation
        if invocation.response_model is None:
            _read_identity(invocation, chunk)
        candidates = chunk.candidates or ()
        if self.hop_ended and any(candidate.content for candidate in candidates):
            if self.hop is not None:
                self.done = self.hop if self.done is None else self.done + self.hop
            self.hop = None
            self.hop_ended = False
            self.parts.clear()  # the final answer is the last request's
        metadata = chunk.usage_metadata
        if metadata is not None:
            self.hop = gemini_usage(metadata)
            _read_traffic_tier(invocation, metadata)
        for candidate in candidates:
            index = candidate.index or 0
            reason = finish_reason(candidate.finish_reason)
            if reason:
                self.finish_reasons[index] = reason
                self.hop_ended = True
            if invocation.capture_content and candidate.content is not None:
                self.parts.setdefault(index, []).extend(content.parts_of(candidate.content))
        return False

    def close(self) -> None:
        invocation = self.invocation
        usage = self.done
        if self.hop is not None:
            usage = self.hop if usage is None else usage + self.hop
        if usage is not None:
            invocation.usage = usage
        reasons = [self.finish_reasons[index] for index in sorted(self.finish_reasons)]
        if reasons:
            invocation.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
        if invocation.capture_content and self.parts:
            invocation.output_messages = [
                {
                    "role": "assistant",
                    "parts": _merge_text(self.parts[index]),
                    "finish_reason": self.finish_reasons.get(index),
                }
                for index in sorted(self.parts)
            ]


def _merge_text(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Streamed text arrives in pieces; the message holds it whole."""
    merged: list[dict[str, Any]] = []
    for part in parts:
        previous = merged[-1] if merged else None
        if previous is not None and part["type"] in ("text", "reasoning") and previous["type"] == part["type"]:
            previous["content"] += part["content"]
        else:
            merged.append(dict(part))
    return merged


# --- embeddings --------------------------------------------------------------------------------------------
def read_embed_request(invocation: Invocation, instance: Any, kwargs: dict[str, Any]) -> None:
    config = kwargs.get("config")
    _read_destination(invocation, instance, config)
    invocation.request_model = model_name(kwargs.get("model"))
    dimensions = _integer(_field(config, "output_dimensionality"))
    if dimensions is not None:
        invocation.request_attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimensions


def read_embed_response(invocation: Invocation, response: Any) -> None:
    """Usage from `usage_metadata` (Gemini API, Vertex `embedContent`), else per-embedding statistics (Vertex)."""
    embeddings = _field(response, "embeddings") or ()
    metadata = _field(response, "usage_metadata")
    tokens = _integer(_field(metadata, "prompt_token_count"))
    if tokens is None:
        counts = [_number(_field(_field(item, "statistics"), "token_count")) for item in embeddings]
        if counts and all(count is not None for count in counts):
            tokens = int(sum(counts))  # type: ignore[arg-type]
    if tokens is not None:
        invocation.usage = Usage.from_inclusive(tokens, 0)
    if embeddings and attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT not in invocation.request_attributes:
        values = _field(embeddings[0], "values")
        if isinstance(values, list):
            invocation.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(values)
