"""Anthropic messages → the conventions' message JSON (roles with typed parts). Used only when capture is on."""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.values import field as _field

__all__ = ["FINISH_REASONS", "input_messages", "output_message", "output_parts", "system_instructions"]

#: Anthropic `stop_reason` → the conventions' output-message `finish_reason` (others pass through as sent).
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
}


def _part(block: Any) -> dict[str, Any]:
    kind = _field(block, "type")
    if kind == "text":
        return {"type": "text", "content": _field(block, "text")}
    if kind in ("thinking", "redacted_thinking"):
        return {"type": "reasoning", "content": _field(block, "thinking")}
    if kind in ("tool_use", "server_tool_use"):
        return {
            "type": "tool_call",
            "id": _field(block, "id"),
            "name": _field(block, "name"),
            "arguments": _field(block, "input"),
        }
    if kind == "tool_result":
        return {"type": "tool_call_response", "id": _field(block, "tool_use_id"), "response": _field(block, "content")}
    if kind in ("image", "document"):
        source = _field(block, "source")
        modality = "image" if kind == "image" else "document"
        if _field(source, "type") == "url":
            return {"type": "uri", "modality": modality, "uri": _field(source, "url")}
        return {"type": "blob", "modality": modality, "mime_type": _field(source, "media_type")}
    return {"type": str(kind)}


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    return [_part(block) for block in content]


def system_instructions(system: Any) -> list[dict[str, Any]] | None:
    """The `system` parameter (a string or text blocks) as instruction parts; None when not given."""
    if isinstance(system, str):
        return [{"type": "text", "content": system}]
    if isinstance(system, list | tuple):
        return _parts(system)
    return None


def input_messages(messages: Any) -> list[dict[str, Any]]:
    return [
        {"role": _field(message, "role"), "parts": _parts(_field(message, "content"))} for message in messages or ()
    ]


def output_message(parts: list[dict[str, Any]], stop_reason: str | None) -> list[dict[str, Any]]:
    """The single assistant message of a Messages response."""
    finish = FINISH_REASONS.get(stop_reason, stop_reason) if stop_reason else None
    return [{"role": "assistant", "parts": parts, "finish_reason": finish}]


def output_parts(content: Any) -> list[dict[str, Any]]:
    return _parts(content)
