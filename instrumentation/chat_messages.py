"""OpenAI-style chat messages → the conventions' message JSON (roles with typed parts), for content capture.

The chat-completions message shape (roles, string or part-list content, tool calls) is spoken by the OpenAI SDK
and by OpenAI-compatible SDKs (Groq, ...); one converter serves them all. Used only when capture is on.
"""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.values import field as _field

__all__ = ["chat_input", "chat_output", "text_output", "text_parts"]


def text_parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = _field(part, "type")
        if kind in ("text", "input_text", "output_text"):
            parts.append({"type": "text", "content": _field(part, "text")})
        elif kind in ("image_url", "input_image"):
            image = _field(part, "image_url")
            uri = _field(image, "url") if image is not None and not isinstance(image, str) else image
            parts.append({"type": "uri", "modality": "image", "uri": uri})
        elif kind is not None:
            parts.append({"type": str(kind)})
    return parts


def _tool_call_parts(tool_calls: Any) -> list[dict[str, Any]]:
    parts = []
    for call in tool_calls or ():
        function = _field(call, "function")
        parts.append(
            {
                "type": "tool_call",
                "id": _field(call, "id"),
                "name": _field(function, "name"),
                "arguments": _field(function, "arguments"),
            }
        )
    return parts


def chat_input(messages: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system instructions, input messages); system/developer messages become instructions."""
    system: list[dict[str, Any]] = []
    converted: list[dict[str, Any]] = []
    for message in messages or ():
        role = _field(message, "role")
        content = _field(message, "content")
        if role in ("system", "developer"):
            system.extend(text_parts(content))
            continue
        if role == "tool":
            parts = [{"type": "tool_call_response", "id": _field(message, "tool_call_id"), "response": content}]
        else:
            parts = text_parts(content) + _tool_call_parts(_field(message, "tool_calls"))
        converted.append({"role": role, "parts": parts})
    return system, converted


def chat_output(choices: Any) -> list[dict[str, Any]]:
    output = []
    for choice in choices or ():
        message = _field(choice, "message")
        reasoning = _field(message, "reasoning")  # Groq and other compatible APIs return it beside the content
        parts = [{"type": "reasoning", "content": reasoning}] if isinstance(reasoning, str) and reasoning else []
        parts += text_parts(_field(message, "content")) + _tool_call_parts(_field(message, "tool_calls"))
        output.append({"role": "assistant", "parts": parts, "finish_reason": _field(choice, "finish_reason")})
    return output


def text_output(texts: list[str], finish_reasons: list[str]) -> list[dict[str, Any]]:
    """Streamed or legacy-completion text, one message per choice."""
    return [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": text}],
            "finish_reason": finish_reasons[index] if index < len(finish_reasons) else None,
        }
        for index, text in enumerate(texts)
    ]
