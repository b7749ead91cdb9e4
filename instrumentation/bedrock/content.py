"""Bedrock messages → the conventions' message JSON (roles with typed parts). Used only when capture is on.

Two block dialects reach Bedrock: Converse's (and Nova's) keyed blocks (`{"text": ...}`, `{"toolUse": ...}`) and
Anthropic's typed blocks (`{"type": "text", ...}`) inside InvokeModel bodies. Image and document bytes are never
copied into spans (a part says what it was, not its payload).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "blocks_to_parts",
    "messages_to_conventions",
    "prompt_message",
    "system_to_parts",
    "text_output",
]


def _image_part(image: Any) -> dict[str, Any]:
    source = image.get("source") if isinstance(image, dict) else None
    location = source.get("s3Location") if isinstance(source, dict) else None
    if isinstance(location, dict) and isinstance(location.get("uri"), str):
        return {"type": "uri", "modality": "image", "uri": location["uri"]}
    kind = image.get("format") or (source or {}).get("media_type") if isinstance(image, dict) else None
    part: dict[str, Any] = {"type": "blob", "modality": "image"}
    if isinstance(kind, str):
        part["mime_type"] = kind if "/" in kind else f"image/{kind}"
    return part


def _tool_result_content(content: Any) -> Any:
    if isinstance(content, str):
        return content
    values = []
    for item in content or ():
        if isinstance(item, dict):
            values.append(item.get("text", item.get("json", item)))
        else:
            values.append(item)
    return values[0] if len(values) == 1 else values


def _converse_block(block: dict[str, Any]) -> dict[str, Any] | None:
    if "text" in block:
        return {"type": "text", "content": block["text"]}
    if "image" in block:
        return _image_part(block["image"])
    if "toolUse" in block:
        call = block["toolUse"] or {}
        return {
            "type": "tool_call",
            "id": call.get("toolUseId"),
            "name": call.get("name"),
            "arguments": call.get("input"),
        }
    if "toolResult" in block:
        result = block["toolResult"] or {}
        response = _tool_result_content(result.get("content"))
        return {"type": "tool_call_response", "id": result.get("toolUseId"), "response": response}
    if "reasoningContent" in block:
        reasoning = block["reasoningContent"] or {}
        text = (reasoning.get("reasoningText") or {}).get("text")
        return {"type": "reasoning", "content": text} if isinstance(text, str) else {"type": "reasoning"}
    if "cachePoint" in block:
        return None
    return {"type": next(iter(block), "unknown")}


def _anthropic_block(block: dict[str, Any]) -> dict[str, Any] | None:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "content": block.get("text")}
    if kind == "image":
        return _image_part(block)
    if kind == "tool_use":
        return {"type": "tool_call", "id": block.get("id"), "name": block.get("name"), "arguments": block.get("input")}
    if kind == "tool_result":
        response = _tool_result_content(block.get("content"))
        return {"type": "tool_call_response", "id": block.get("tool_use_id"), "response": response}
    if kind == "thinking":
        return {"type": "reasoning", "content": block.get("thinking")}
    return {"type": str(kind)} if kind is not None else None


def blocks_to_parts(content: Any) -> list[dict[str, Any]]:
    """Content blocks of either dialect (or a plain string) → conventions parts."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in content or ():
        if isinstance(block, str):
            parts.append({"type": "text", "content": block})
        elif isinstance(block, dict):
            part = _anthropic_block(block) if "type" in block else _converse_block(block)
            if part is not None:
                parts.append(part)
    return parts


def system_to_parts(system: Any) -> list[dict[str, Any]]:
    """Converse/Nova `system` blocks or Anthropic's `system` (string or blocks) → instruction parts."""
    return blocks_to_parts(system)


def messages_to_conventions(messages: Any) -> list[dict[str, Any]]:
    return [
        {"role": message.get("role"), "parts": blocks_to_parts(message.get("content"))}
        for message in messages or ()
        if isinstance(message, dict)
    ]


def prompt_message(prompt: Any) -> list[dict[str, Any]]:
    """A single-prompt body (Llama, Titan, Mistral, Cohere) as one user message."""
    return [{"role": "user", "parts": [{"type": "text", "content": prompt}]}] if isinstance(prompt, str) else []


def text_output(texts: list[str], finish_reasons: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": text}],
            "finish_reason": finish_reasons[index] if index < len(finish_reasons) else None,
        }
        for index, text in enumerate(texts)
    ]
