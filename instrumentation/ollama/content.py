"""Ollama messages → the conventions' message JSON (roles with typed parts). Used only when capture is on.

Ollama's messages are `{role, content, thinking, images, tool_calls, tool_name}` with tool-call arguments as
objects. Images (base64 or paths) are recorded as a bare `image` part: their bytes do not belong in a span.
"""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.values import field as _field

__all__ = ["chat_input", "message_output", "prompt_input", "text_output"]


def _parts(message: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    thinking = _field(message, "thinking")
    if isinstance(thinking, str) and thinking:
        parts.append({"type": "reasoning", "content": thinking})
    text = _field(message, "content")
    if isinstance(text, str) and text:
        parts.append({"type": "text", "content": text})
    parts.extend({"type": "image"} for _ in _field(message, "images") or ())
    for call in _field(message, "tool_calls") or ():
        function = _field(call, "function")
        parts.append(
            {"type": "tool_call", "name": _field(function, "name"), "arguments": _field(function, "arguments")}
        )
    return parts


def chat_input(messages: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system instructions, input messages); system messages become instructions."""
    system: list[dict[str, Any]] = []
    converted: list[dict[str, Any]] = []
    for message in messages or ():
        role = _field(message, "role")
        if role == "system":
            text = _field(message, "content")
            if isinstance(text, str):
                system.append({"type": "text", "content": text})
            continue
        if role == "tool":
            response = {"type": "tool_call_response", "response": _field(message, "content")}
            name = _field(message, "tool_name")
            converted.append({"role": "tool", "parts": [{**response, "name": name} if name else response]})
            continue
        converted.append({"role": role, "parts": _parts(message)})
    return system, converted


def prompt_input(prompt: Any, system: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`/api/generate`'s `system` and `prompt` as instructions and one user message."""
    instructions = [{"type": "text", "content": system}] if isinstance(system, str) and system else []
    messages = [{"role": "user", "parts": [{"type": "text", "content": prompt}]}] if isinstance(prompt, str) else []
    return instructions, messages


def message_output(message: Any, finish_reason: str | None) -> list[dict[str, Any]]:
    return [{"role": "assistant", "parts": _parts(message), "finish_reason": finish_reason}]


def text_output(text: str, thinking: str, finish_reason: str | None) -> list[dict[str, Any]]:
    """Generated or streamed text (and thinking) as one assistant message."""
    return message_output({"content": text, "thinking": thinking}, finish_reason)
