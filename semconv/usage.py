"""The canonical token usage of one call.

Providers disagree on what their counts include, and most cost bugs in the field come from that (OpenAI's
`prompt_tokens` already includes cached tokens, Anthropic's `input_tokens` excludes both cache reads and
writes, Gemini reports thinking tokens beside the output). Each provider shape gets one named constructor
here; past that point everything reads the same fields with one meaning:

* `input_tokens` is every input token, cached or not (the `gen_ai.usage.input_tokens` convention);
  `cache_read_tokens` and `cache_write_tokens` are subsets of it, `cache_write_1h_tokens` a subset of those.
* `output_tokens` is every output token; `reasoning_tokens` is a subset of it.

The non-overlapping buckets a price applies to are derived (`uncached_input_tokens`, ...), never stored, so
they cannot disagree with the totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from otel_tokenomics.semconv import attributes as attr

__all__ = ["Usage"]


def _count(value: object) -> int:
    """A token count from whatever a provider sent; junk and negatives count as 0."""
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value if value > 0 else 0
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    if number != number or number <= 0 or number == float("inf"):
        return 0
    return int(number)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call, inclusive totals plus their subsets (see the module docstring)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0

    # --- constructors, one per provider shape -----------------------------------------------------------
    @classmethod
    def from_inclusive(
        cls,
        input_tokens: object = 0,
        output_tokens: object = 0,
        *,
        cache_read_tokens: object = 0,
        cache_write_tokens: object = 0,
        cache_write_1h_tokens: object = 0,
        reasoning_tokens: object = 0,
        input_audio_tokens: object = 0,
        output_audio_tokens: object = 0,
    ) -> Usage:
        """Counts whose input total already includes cache reads/writes (OpenAI, conventions).

        A provider that reports a subset larger than its total is wrong about one of them; the larger count is
        kept, because under-reporting spend is the worse error.
        """
        cache_read = _count(cache_read_tokens)
        cache_write = _count(cache_write_tokens)
        cache_write_1h = min(_count(cache_write_1h_tokens), cache_write) if cache_write else 0
        reasoning = _count(reasoning_tokens)
        input_audio = _count(input_audio_tokens)
        output_audio = _count(output_audio_tokens)
        total_in = max(_count(input_tokens), cache_read + cache_write, input_audio)
        total_out = max(_count(output_tokens), reasoning, output_audio)
        return cls(
            total_in, total_out, cache_read, cache_write, cache_write_1h, reasoning, input_audio, output_audio
        )

    @classmethod
    def from_exclusive(
        cls,
        uncached_input_tokens: object = 0,
        output_tokens: object = 0,
        *,
        cache_read_tokens: object = 0,
        cache_write_tokens: object = 0,
        cache_write_1h_tokens: object = 0,
        reasoning_tokens: object = 0,
    ) -> Usage:
        """Counts whose input excludes the cache counts (Anthropic): they are added into the total."""
        cache_read = _count(cache_read_tokens)
        cache_write = _count(cache_write_tokens)
        return cls.from_inclusive(
            _count(uncached_input_tokens) + cache_read + cache_write,
            output_tokens,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            cache_write_1h_tokens=cache_write_1h_tokens,
            reasoning_tokens=reasoning_tokens,
        )

    @classmethod
    def from_separate_reasoning(
        cls,
        input_tokens: object = 0,
        visible_output_tokens: object = 0,
        reasoning_tokens: object = 0,
        *,
        cache_read_tokens: object = 0,
        cache_write_tokens: object = 0,
    ) -> Usage:
        """Counts that report reasoning beside the output (Gemini's thoughts): both are billed as output."""
        reasoning = _count(reasoning_tokens)
        return cls.from_inclusive(
            input_tokens,
            _count(visible_output_tokens) + reasoning,
            cache_read_tokens=cache_read_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning,
        )

    # --- non-overlapping buckets -------------------------------------------------------------------------
    @property
    def uncached_input_tokens(self) -> int:
        """Input tokens billed at the plain input rate."""
        return self.input_tokens - self.cache_read_tokens - self.cache_write_tokens

    @property
    def cache_write_5m_tokens(self) -> int:
        """Cache writes at the default (short) retention."""
        return self.cache_write_tokens - self.cache_write_1h_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def is_empty(self) -> bool:
        return self.input_tokens == 0 and self.output_tokens == 0

    @classmethod
    def from_span_attributes(cls, attributes: Mapping[str, object]) -> Usage:
        """The usage a span in the conventions' names reports (the inverse of `span_attributes`): what a report
        prices when the span carries tokens but no cost."""
        get = attributes.get
        return cls.from_inclusive(
            get(attr.GEN_AI_USAGE_INPUT_TOKENS),
            get(attr.GEN_AI_USAGE_OUTPUT_TOKENS),
            cache_read_tokens=get(attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
            cache_write_tokens=get(attr.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS),
            cache_write_1h_tokens=get(attr.TOKENOMICS_USAGE_CACHE_WRITE_1H_TOKENS),
            reasoning_tokens=get(attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
        )

    def span_attributes(self) -> dict[str, int]:
        """The conventions' token attributes plus our uncached-input bucket; zero subsets are left out."""
        attributes = {
            attr.GEN_AI_USAGE_INPUT_TOKENS: self.input_tokens,
            attr.GEN_AI_USAGE_OUTPUT_TOKENS: self.output_tokens,
            attr.TOKENOMICS_USAGE_INPUT_UNCACHED_TOKENS: self.uncached_input_tokens,
        }
        if self.cache_read_tokens:
            attributes[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = self.cache_read_tokens
        if self.cache_write_tokens:
            attributes[attr.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = self.cache_write_tokens
            if self.cache_write_1h_tokens:
                attributes[attr.TOKENOMICS_USAGE_CACHE_WRITE_1H_TOKENS] = self.cache_write_1h_tokens
        if self.reasoning_tokens:
            attributes[attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = self.reasoning_tokens
        return attributes

    def __add__(self, other: Usage) -> Usage:
        """Sums usages (stream chunks reporting deltas, several calls of one trace)."""
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.cache_write_1h_tokens + other.cache_write_1h_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.input_audio_tokens + other.input_audio_tokens,
            self.output_audio_tokens + other.output_audio_tokens,
        )
