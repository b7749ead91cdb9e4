"""Deterministic content shared by every fake protocol: text, token counts, embeddings, prompt-cache memory.

Everything here is a pure function of its inputs (the prompt cache aside), so the same request always gets
the same answer and the same usage numbers — which is what lets tests assert exact token counts and lets
benchmarks compare runs. Nothing is random at run time: "random" choices come from :class:`random.Random`
seeded with a SHA-256 of the request, which is stable across Python versions and platforms.

Token heuristic (documented because tests and cost assertions depend on it):

* a text costs ``ceil(len(text) / 4)`` tokens (``0`` for an empty text) — OpenAI's own rule of thumb;
* a chat message costs :data:`MESSAGE_OVERHEAD` tokens on top of its text, and a chat prompt costs
  :data:`REPLY_PRIMING` more, as in OpenAI's published counting recipe for gpt-4o-class models;
* an image content part costs a flat :data:`IMAGE_TOKENS` (a low-detail image).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

__all__ = [
    "CACHE_GRANULARITY",
    "CHARS_PER_TOKEN",
    "FIXED_TIMESTAMP",
    "IMAGE_TOKENS",
    "MESSAGE_OVERHEAD",
    "MIN_CACHEABLE_TOKENS",
    "REPLY_PRIMING",
    "PromptCache",
    "count_tokens",
    "embedding_vector",
    "generate_text",
    "message_tokens",
    "reasoning_tokens",
    "seed_of",
    "split_chunks",
    "stable_id",
    "truncate_to_tokens",
]

CHARS_PER_TOKEN = 4
#: Every ``created`` timestamp (2025-01-01T00:00:00Z): a wall-clock value would break "same request, same
#: response", and nothing downstream needs the real time of a fake answer.
FIXED_TIMESTAMP = 1_735_689_600
MESSAGE_OVERHEAD = 3
REPLY_PRIMING = 3
IMAGE_TOKENS = 85
MIN_CACHEABLE_TOKENS = 1024
CACHE_GRANULARITY = 128

#: Vocabulary of the generated answers; a whitespace-separated string keeps it readable.
_VOCABULARY = """
the a token model span trace metric cost budget cache prompt answer stream latency request
reply system user context window vector signal value quick steady bright careful simple useful
clear measure count record export observe price compute return collect follow explain summarize
carefully quietly often rarely today again together through within across before after
"""
_WORDS = tuple(_VOCABULARY.split())


def _digest(*parts: Any) -> bytes:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).digest()


def seed_of(*parts: Any) -> int:
    """A stable integer seed for any JSON-able parts (dict key order does not matter)."""
    return int.from_bytes(_digest(*parts)[:8], "big")


def stable_id(prefix: str, *parts: Any, length: int = 24) -> str:
    """A provider-looking id (``chatcmpl-…``) that is the same for the same request."""
    return prefix + _digest(*parts).hex()[:length]


def count_tokens(text: str) -> int:
    """Tokens of a text under the ~4-characters-a-token heuristic."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def message_tokens(text: str, images: int = 0) -> int:
    """Tokens of one chat message: its text, its images and the per-message overhead."""
    return MESSAGE_OVERHEAD + count_tokens(text) + images * IMAGE_TOKENS


def truncate_to_tokens(text: str, limit: int) -> str:
    """The longest prefix of ``text`` that costs at most ``limit`` tokens (so a capped answer costs exactly
    ``limit`` tokens when it had to be cut, as real providers report)."""
    return text[: max(limit, 0) * CHARS_PER_TOKEN]


def generate_text(seed: int, min_words: int = 30, max_words: int = 50) -> str:
    """Plausible-looking sentences whose length and words are fixed by ``seed``."""
    rng = random.Random(seed)
    count = rng.randint(min_words, max_words)
    sentences: list[str] = []
    while count > 0:
        length = min(count, rng.randint(6, 12))
        words = [rng.choice(_WORDS) for _ in range(length)]
        sentences.append(" ".join(words).capitalize() + ".")
        count -= length
    return " ".join(sentences)


def split_chunks(text: str, target_chunks: int = 20) -> list[str]:
    """Split ``text`` into about ``target_chunks`` word-aligned pieces that concatenate back to it — the
    granularity of a real token stream, without emitting hundreds of one-word events."""
    if not text:
        return []
    pieces = re.findall(r"\S+\s*", text)
    leading = text[: len(text) - len("".join(pieces))]
    if leading:
        pieces.insert(0, leading)
    size = max(1, math.ceil(len(pieces) / target_chunks))
    return ["".join(pieces[index : index + size]) for index in range(0, len(pieces), size)]


def reasoning_tokens(seed: int, effort: str | None = None) -> int:
    """Hidden reasoning a reasoning model "spent": 128-352 tokens at medium effort, halved for ``low`` /
    ``minimal`` and doubled for ``high``."""
    base = 128 + (seed % 8) * 32
    scale = {"minimal": 0.25, "low": 0.5, "high": 2.0}.get(effort or "medium", 1.0)
    return int(base * scale)


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A unit-length vector fixed by ``text``; equal texts embed equally, different ones don't."""
    rng = random.Random(seed_of("embedding", text))
    raw = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(value * value for value in raw)) or 1.0
    return [value / norm for value in raw]


class PromptCache:
    """Which prompt prefixes this server has seen, to report cached input tokens the way OpenAI does.

    A prompt is a sequence of blocks (its messages, tools first). When a prompt of at least
    :data:`MIN_CACHEABLE_TOKENS` tokens starts with blocks an earlier prompt (same namespace, e.g. model)
    also started with, the longest such prefix — never the whole prompt — counts as cached, rounded down to
    a multiple of :data:`CACHE_GRANULARITY` (and only if that is still at least the minimum). Only digests
    are kept, bounded in number, so a long benchmark cannot grow memory without limit.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def observe(self, namespace: str, blocks: Sequence[tuple[Any, int]], total_tokens: int) -> int:
        """Return the cached tokens for this prompt, then remember its prefixes.

        ``blocks`` are ``(canonical content, token count)`` pairs in prompt order.
        """
        digests: list[bytes] = []
        previous = _digest("prompt-cache", namespace)
        for content, _tokens in blocks:
            previous = _digest(previous.hex(), content)
            digests.append(previous)
        with self._lock:
            hit_blocks = 0
            for index in range(len(digests) - 1):
                if digests[index] in self._seen:
                    hit_blocks = index + 1
            for digest in digests:
                self._seen[digest] = None
                self._seen.move_to_end(digest)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
        if total_tokens < MIN_CACHEABLE_TOKENS or hit_blocks == 0:
            return 0
        prefix_tokens = sum(tokens for _content, tokens in blocks[:hit_blocks])
        cached = prefix_tokens // CACHE_GRANULARITY * CACHE_GRANULARITY
        return cached if cached >= MIN_CACHEABLE_TOKENS else 0


def content_text(content: Any) -> str:
    """The text of a message's content: a string, or a list of parts whose `text` is used (others as JSON)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                texts.append(json.dumps(part, sort_keys=True))
        return "".join(texts)
    return json.dumps(content, sort_keys=True)
