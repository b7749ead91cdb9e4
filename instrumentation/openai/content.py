"""OpenAI messages → the conventions' message JSON. Chat messages use the shared converter; this adds Responses."""

from __future__ import annotations

from typing import Any

from otel_tokenomics.instrumentation.chat_messages import chat_input, chat_output, text_output, text_parts
from otel_tokenomics.instrumentation.values import field as _field

__all__ = ["chat_input", "chat_output", "responses_input", "text_output"]


def responses_input(input_value: Any) -> list[dict[str, Any]]:
    if isinstance(input_value, str):
        return [{"role": "user", "parts": [{"type": "text", "content": input_value}]}]
    converted = []
    for item in input_value or ():
        role = _field(item, "role")
        if role is None:
            converted.append({"role": "user", "parts": [{"type": str(_field(item, "type"))}]})
        else:
            converted.append({"role": role, "parts": text_parts(_field(item, "content"))})
    return converted
