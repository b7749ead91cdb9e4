"""Gemini contents → the conventions' message JSON (roles with typed parts). Used only when capture is on.

`contents` is a union in the SDK: a string, a `Part`, a `Content`, a list of any of those, or their dict forms
(plus PIL images and uploaded `File`s). The SDK's own rule applies: `Content`s are messages, anything else is a
part of a user message. Binary data is never copied: an inline blob is recorded by its MIME type only.
"""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.values import field as _field

__all__ = ["input_messages", "output_messages", "parts_of", "system_instructions"]

_ROLES = {"model": "assistant", "user": "user", "function": "tool", "tool": "tool"}


def _modality(mime_type: Any) -> str | None:
    return mime_type.split("/", 1)[0] if isinstance(mime_type, str) and "/" in mime_type else None


def _part(part: Any) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "text", "content": part}
    text = _field(part, "text")
    if isinstance(text, str):
        return {"type": "reasoning" if _field(part, "thought") else "text", "content": text}
    call = _field(part, "function_call")
    if call is not None:
        return {
            "type": "tool_call",
            "id": _field(call, "id"),
            "name": _field(call, "name"),
            "arguments": _field(call, "args"),
        }
    answer = _field(part, "function_response")
    if answer is not None:
        return {"type": "tool_call_response", "id": _field(answer, "id"), "response": _field(answer, "response")}
    file_data = _field(part, "file_data")
    if file_data is not None:
        mime = _field(file_data, "mime_type")
        return {"type": "uri", "modality": _modality(mime), "mime_type": mime, "uri": _field(file_data, "file_uri")}
    blob = _field(part, "inline_data")
    if blob is not None:
        mime = _field(blob, "mime_type")
        return {"type": "blob", "modality": _modality(mime), "mime_type": mime}
    uri = _field(part, "uri")  # an uploaded `File`
    if isinstance(uri, str):
        mime = _field(part, "mime_type")
        return {"type": "uri", "modality": _modality(mime), "mime_type": mime, "uri": uri}
    return {"type": type(part).__name__}


def _is_content(item: Any) -> bool:
    if isinstance(item, dict):
        return "parts" in item or "role" in item
    return type(item).__name__ == "Content" or _field(item, "parts") is not None


def parts_of(content: Any) -> list[dict[str, Any]]:
    """The parts of a `Content`, or of anything the SDK accepts in its place (a string, a part, a list)."""
    if content is None:
        return []
    if isinstance(content, str) or not _is_content(content):
        items = content if isinstance(content, list | tuple) else [content]
        return [_part(item) for item in items]
    return [_part(part) for part in _field(content, "parts") or ()]


def input_messages(contents: Any) -> list[dict[str, Any]]:
    items = contents if isinstance(contents, list | tuple) else [contents]
    messages: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []  # parts given without a Content: one user message, as the SDK sends them
    for item in items:
        if item is None:
            continue
        if isinstance(item, str) or not _is_content(item):
            loose.append(_part(item))
            continue
        if loose:
            messages.append({"role": "user", "parts": loose})
            loose = []
        role = _field(item, "role") or "user"
        messages.append({"role": _ROLES.get(role, role), "parts": parts_of(item)})
    if loose:
        messages.append({"role": "user", "parts": loose})
    return messages


def system_instructions(config: Any) -> list[dict[str, Any]]:
    return parts_of(_field(config, "system_instruction"))


def output_messages(candidates: Any, finish_reasons: list[str]) -> list[dict[str, Any]]:
    output = []
    for index, candidate in enumerate(candidates or ()):
        output.append(
            {
                "role": "assistant",
                "parts": parts_of(_field(candidate, "content")),
                "finish_reason": finish_reasons[index] if index < len(finish_reasons) else None,
            }
        )
    return output
