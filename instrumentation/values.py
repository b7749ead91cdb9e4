"""Tolerant readers for SDK objects, shared by every adapter.

SDK responses are typed models in new releases and plain dicts (or untyped extras) in old ones or in
OpenAI-compatible providers' additions; request values may be the SDK's `NOT_GIVEN`/`omit` sentinels. These read
either form and return None for anything that is not a real value of the expected type, so readers stay short.
"""

from __future__ import annotations

from typing import Any

__all__ = ["field", "integer", "number", "string"]


def field(item: Any, name: str) -> Any:
    """`item[name]` for dicts, `item.name` otherwise; None when absent or when `item` is None."""
    if item is None:
        return None
    if isinstance(item, dict):
        return item.get(name)
    return getattr(item, name, None)


def number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def string(value: Any) -> str | None:
    return value if isinstance(value, str) else None
