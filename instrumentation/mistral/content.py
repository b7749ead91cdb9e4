"""Mistral messages → the conventions' message JSON (roles with typed parts). Used only when capture is on.

Mistral content is a string or a list of chunks: `text`, `image_url`, `thinking` (Magistral's reasoning, itself
a list of text chunks), documents, audio... Messages and chunks arrive as dicts or as the SDK's pydantic
models, so every field is read through `field()`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["chat_input", "chat_output", "content_parts", "field", "message_parts", "text_output"]


def field(item: Any, name: str) -> Any:
    if item is None:
        return None
    if isinstance(item, dict):
        return item.get(name)
    return getattr(item, name, None)


def _chunk_text(chunks: Any) -> str:
    if isinstance(chunks, str):
        return chunks
    return "".join(text for chunk in chunks or () if isinstance(text := field(chunk, "text"), str))


def content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}] if content else []
    parts: list[dict[str, Any]] = []
    for chunk in content if isinstance(content, list | tuple) else ():
        kind = field(chunk, "type")
        if kind == "text":
            parts.append({"type": "text", "content": field(chunk, "text")})
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": _chunk_text(field(chunk, "thinking"))})
        elif kind == "image_url":
            image = field(chunk, "image_url")
            uri = image if isinstance(image, str) else field(image, "url")
            parts.append({"type": "uri", "modality": "image", "uri": uri})
        elif kind is not None:
            parts.append({"type": str(kind)})
    return parts


def _tool_call_parts(tool_calls: Any) -> list[dict[str, Any]]:
    parts = []
    for call in tool_calls or ():
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
    tool_calls = field(message, "tool_calls")
    return content_parts(field(message, "content")) + _tool_call_parts(
        tool_calls if isinstance(tool_calls, list | tuple) else None
    )


def chat_input(messages: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system instructions, input messages); system messages become instructions.

    Only lists and tuples are read: the SDK accepts any iterable, and consuming a user's generator here would
    send the provider an empty conversation.
    """
    if not isinstance(messages, list | tuple):
        return [], []
    system: list[dict[str, Any]] = []
    converted: list[dict[str, Any]] = []
    for message in messages or ():
        role = field(message, "role")
        if role == "system":
            system.extend(content_parts(field(message, "content")))
        elif role == "tool":
            response = {"type": "tool_call_response", "id": field(message, "tool_call_id")}
            response["response"] = _chunk_text(field(message, "content"))
            converted.append({"role": "tool", "parts": [response]})
        else:
            converted.append({"role": role, "parts": message_parts(message)})
    return system, converted


def chat_output(choices: Any) -> list[dict[str, Any]]:
    return [
        {
            "role": "assistant",
            "parts": message_parts(field(choice, "message")),
            "finish_reason": field(choice, "finish_reason"),
        }
        for choice in choices or ()
    ]


def text_output(parts_by_choice: list[list[dict[str, Any]]], finish_reasons: list[str]) -> list[dict[str, Any]]:
    """Streamed answers, one message per choice."""
    return [
        {
            "role": "assistant",
            "parts": parts,
            "finish_reason": finish_reasons[index] if index < len(finish_reasons) else None,
        }
        for index, parts in enumerate(parts_by_choice)
    ]
