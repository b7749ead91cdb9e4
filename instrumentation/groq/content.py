"""Groq messages → the conventions' message JSON: Groq speaks the OpenAI chat shape, so the shared converter serves."""

from __future__ import annotations

from otel_tokenomics.instrumentation.chat_messages import chat_input, chat_output, text_output

__all__ = ["chat_input", "chat_output", "text_output"]
