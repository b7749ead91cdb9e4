"""Microbenchmark of `SpanEnricher.enrich`: µs per span for a non-GenAI span, GenAI spans in several dialects,
and a 90/10 mix (the Rotel host's target traffic), and a GenAI span with `cost_attributes="compact"`. Not a test:
run `python benchmarks/bench_enrich.py`.

Also times `looks_like_genai` on the keys alone, the pre-check a host runs before building a dict of values.
CPU time of this process is measured (`time.process_time`), best of 5, so other load on a shared machine
inflates the figures less than wall-clock time would.
"""

from __future__ import annotations

import time
import timeit

from otel_tokenomics.processor import SpanEnricher, looks_like_genai
from otel_tokenomics.semconv.prices import PriceBook

HTTP_SPAN = {
    "http.request.method": "GET",
    "url.full": "https://shop.example/api/cart?id=42",
    "http.response.status_code": 200,
    "server.address": "shop.example",
    "server.port": 443,
    "network.protocol.version": "1.1",
    "user_agent.original": "Mozilla/5.0",
    "http.route": "/api/cart",
}
OTEL_SPAN = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 150,
    "gen_ai.usage.cache_read.input_tokens": 1024,
    "server.address": "api.openai.com",
}
OPENINFERENCE_SPAN = {
    "openinference.span.kind": "LLM",
    "llm.provider": "anthropic",
    "llm.model_name": "claude-3-5-sonnet-20241022",
    "llm.token_count.prompt": 2100,
    "llm.token_count.completion": 300,
    "llm.token_count.prompt_details.cache_read": 2000,
}
ROUNDS = 20_000


def per_span_us(enricher: SpanEnricher, spans: list[dict]) -> float:
    def run() -> None:
        for span in spans:
            enricher.enrich(span, start_time_unix_nano=1_750_000_000_000_000_000)

    best = min(timeit.repeat(run, number=ROUNDS // len(spans), repeat=5, timer=time.process_time))
    return best / (ROUNDS // len(spans) * len(spans)) * 1e6


def main() -> None:
    book = PriceBook.default()
    enricher = SpanEnricher(book)
    enricher.enrich(OTEL_SPAN)  # resolve prices once, as a long-running host would have
    enricher.enrich(OPENINFERENCE_SPAN)
    keys = list(HTTP_SPAN)
    precheck = (
        min(timeit.repeat(lambda: looks_like_genai(keys), number=ROUNDS, repeat=5, timer=time.process_time))
        / ROUNDS
        * 1e6
    )
    mixed = [HTTP_SPAN] * 9 + [OTEL_SPAN]
    print(f"looks_like_genai, 8 non-GenAI keys : {precheck:6.2f} µs")
    print(f"enrich non-GenAI span (8 attrs)    : {per_span_us(enricher, [HTTP_SPAN]):6.2f} µs")
    print(f"enrich OTel GenAI span             : {per_span_us(enricher, [OTEL_SPAN]):6.2f} µs")
    print(f"enrich OpenInference span          : {per_span_us(enricher, [OPENINFERENCE_SPAN]):6.2f} µs")
    print(f"enrich 90 % non-GenAI / 10 % GenAI : {per_span_us(enricher, mixed):6.2f} µs per span")
    compact = SpanEnricher(book, cost_attributes="compact")
    compact.enrich(OTEL_SPAN)
    print(f"enrich OTel GenAI span, compact    : {per_span_us(compact, [OTEL_SPAN]):6.2f} µs (4 cost attributes)")


if __name__ == "__main__":
    main()
