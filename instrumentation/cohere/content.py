"""Cohere v2 messages → the conventions' message JSON (roles with typed parts). Used only when capture is on.

v2 messages are OpenAI-like (`system`/`user`/`assistant`/`tool`, `tool_calls` with `function.name/arguments`)
but content is a string or a list of typed items (`text`, `image_url`, `thinking`, `document`), and an
assistant may carry a `tool_plan`. Messages and items arrive as dicts or as the SDK's pydantic models.
"""

from __future__ import annotations

from typing import Any

__all__ = ["chat_input", "content_parts", "field", "finish_reason", "message_parts", "output_message"]

# Cohere's finish reasons → the conventions' values.
_FINISH_REASONS = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_call",
    "ERROR": "error",
    "TIMEOUT": "error",
}


def field(item: Any, name: str) -> Any:
    if item is None:
        return None
    if isinstance(item, dict):
        return item.get(name)
    return getattr(item, name, None)


def finish_reason(reason: Any) -> str | None:
    """A conventions finish reason (`stop`, `length`, `tool_call`, `error`); unknown ones lower-cased."""
    if not reason:
        return None
    text = str(reason)
    return _FINISH_REASONS.get(text.upper(), text.lower())


def content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}] if content else []
    parts: list[dict[str, Any]] = []
    for item in content if isinstance(content, list | tuple) else ():
        kind = field(item, "type")
        if kind == "text":
            parts.append({"type": "text", "content": field(item, "text")})
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": field(item, "thinking")})
        elif kind == "image_url":
            image = field(item, "image_url")
            uri = image if isinstance(image, str) else field(image, "url")
            parts.append({"type": "uri", "modality": "image", "uri": uri})
        elif kind is not None:
            parts.append({"type": str(kind)})
    return parts


def tool_call_parts(tool_calls: Any) -> list[dict[str, Any]]:
    parts = []
    for call in tool_calls if isinstance(tool_calls, list | tuple) else ():
        function = field(call, "function")
        parts.append(
            {
                "type": "tool_call",
                "id": field(call, "id"),
                "name": field(function, "name"),
                "arguments": field(function, "arguments"),
            }
        )
    return parts


def message_parts(message: Any) -> list[dict[str, Any]]:
    return content_parts(field(message, "content")) + tool_call_parts(field(message, "tool_calls"))


def chat_input(messages: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system instructions, input messages); system messages become instructions.

    Only lists and tuples are read: consuming a user's iterator here would send Cohere an empty conversation.
    """
    system: list[dict[str, Any]] = []
    converted: list[dict[str, Any]] = []
    for message in messages if isinstance(messages, list | tuple) else ():
        role = field(message, "role")
        if role == "system":
            system.extend(content_parts(field(message, "content")))
        elif role == "tool":
            content = field(message, "content")
            texts = content if isinstance(content, str) else [part.get("content") for part in content_parts(content)]
            response = {"type": "tool_call_response", "id": field(message, "tool_call_id"), "response": texts}
            converted.append({"role": "tool", "parts": [response]})
        else:
            converted.append({"role": role, "parts": message_parts(message)})
    return system, converted


def output_message(parts: list[dict[str, Any]], reason: str | None) -> list[dict[str, Any]]:
    return [{"role": "assistant", "parts": parts, "finish_reason": reason}]
