"""The canonical Usage: one meaning for every provider's counts (the root of most cost bugs in the field)."""

from __future__ import annotations

import pytest

from otel_tokenomics.semconv.usage import Usage


def test_openai_shape_prompt_tokens_already_include_cached() -> None:
    # OpenAI: prompt_tokens=10_000 of which cached_tokens=4_000; completion 1_000 of which reasoning 600.
    usage = Usage.from_inclusive(10_000, 1_000, cache_read_tokens=4_000, reasoning_tokens=600)
    assert usage.input_tokens == 10_000  # not 14_000
    assert usage.uncached_input_tokens == 6_000
    assert usage.cache_read_tokens == 4_000
    assert usage.output_tokens == 1_000  # reasoning is inside, not added
    assert usage.reasoning_tokens == 600


def test_anthropic_shape_cache_counts_are_added_into_input() -> None:
    # Anthropic: input_tokens=100 excludes cache_read=2_000 and cache_creation=3_000 (of which 1h: 1_000).
    usage = Usage.from_exclusive(
        100, 50, cache_read_tokens=2_000, cache_write_tokens=3_000, cache_write_1h_tokens=1_000
    )
    assert usage.input_tokens == 5_100
    assert usage.uncached_input_tokens == 100
    assert usage.cache_write_tokens == 3_000
    assert usage.cache_write_5m_tokens == 2_000
    assert usage.cache_write_1h_tokens == 1_000


def test_gemini_shape_thoughts_are_billed_as_output() -> None:
    # Gemini: candidates_token_count=200 and thoughts_token_count=800 are reported side by side.
    usage = Usage.from_separate_reasoning(1_000, 200, 800, cache_read_tokens=600)
    assert usage.output_tokens == 1_000
    assert usage.reasoning_tokens == 800
    assert usage.uncached_input_tokens == 400


@pytest.mark.parametrize("junk", [None, "abc", -5, float("nan"), float("inf"), True, [], {}])
def test_junk_counts_become_zero_never_an_exception(junk: object) -> None:
    usage = Usage.from_inclusive(junk, junk, cache_read_tokens=junk, reasoning_tokens=junk)
    assert usage == Usage()
    assert usage.is_empty


def test_numeric_strings_and_floats_are_read() -> None:
    assert Usage.from_inclusive("120", 7.0).input_tokens == 120
    assert Usage.from_inclusive("120", 7.0).output_tokens == 7


def test_subsets_larger_than_the_total_keep_the_larger_count() -> None:
    # A provider that says 500 input but 800 cached under-reports one of them; keep the larger (never under-bill).
    usage = Usage.from_inclusive(500, 10, cache_read_tokens=800)
    assert usage.input_tokens == 800
    assert usage.uncached_input_tokens == 0
    assert Usage.from_inclusive(10, 5, reasoning_tokens=9).output_tokens == 9
    assert Usage.from_inclusive(10, 50, reasoning_tokens=90).output_tokens == 90


def test_1h_writes_cannot_exceed_all_writes() -> None:
    assert Usage.from_inclusive(100, 1, cache_write_tokens=10, cache_write_1h_tokens=50).cache_write_1h_tokens == 10
    assert Usage.from_inclusive(100, 1, cache_write_1h_tokens=50).cache_write_1h_tokens == 0


def test_buckets_never_overlap() -> None:
    usage = Usage.from_exclusive(300, 40, cache_read_tokens=200, cache_write_tokens=100)
    parts = usage.uncached_input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    assert parts == usage.input_tokens
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_addition_sums_every_field() -> None:
    total = Usage.from_inclusive(10, 5, cache_read_tokens=4) + Usage.from_exclusive(1, 2, cache_write_tokens=3)
    assert total == Usage(14, 7, 4, 3, 0, 0, 0, 0)


def test_span_attributes_follow_the_conventions() -> None:
    usage = Usage.from_inclusive(1_000, 300, cache_read_tokens=200, cache_write_tokens=100, reasoning_tokens=50)
    assert usage.span_attributes() == {
        "gen_ai.usage.input_tokens": 1_000,
        "gen_ai.usage.output_tokens": 300,
        "tokenomics.usage.input_uncached_tokens": 700,
        "gen_ai.usage.cache_read.input_tokens": 200,
        "gen_ai.usage.cache_creation.input_tokens": 100,
        "gen_ai.usage.reasoning.output_tokens": 50,
    }
    assert "gen_ai.usage.cache_read.input_tokens" not in Usage.from_inclusive(5, 5).span_attributes()


def test_usage_read_back_from_span_attributes_is_the_usage_written() -> None:
    """A report prices spans from their token attributes: reading them back must give the same usage."""
    usage = Usage.from_exclusive(1000, 300, cache_read_tokens=400, cache_write_tokens=200, cache_write_1h_tokens=50)
    assert Usage.from_span_attributes(usage.span_attributes()) == usage
