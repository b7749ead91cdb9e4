"""Generate a realistic OTLP/JSON-lines trace file for the `report` benchmark.

Shape, chosen to look like what an instrumented web service sends through the Collector `file` exporter:

* traces of 8-12 spans: a SERVER root (`POST /ask`...), HTTP client, database and internal spans, and one or
  two LLM calls (so 10-20 % of spans carry `gen_ai.*` attributes, the share seen in real RAG/agent apps);
* LLM spans with the attributes our instrumentation writes (usage, cost, breakdown, status, price source), a
  few without a cost (priced later by the report's price book) and a few of an unknown model (unpriced);
* 5 services, 6 models over 4 providers, 300 users, 3,000 conversations, start times spread over 3 days;
* one `ExportTraceServiceRequest` per line, a batch of about 200 spans per line grouped by resource and scope,
  camelCase fields, hex ids, 64-bit integers as strings: the Collector `file` exporter's format.

Run: `python benchmarks/gen_spans.py OUT.jsonl --spans 1000000 [--seed 7] [--gzip]`. Deterministic per seed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path
from typing import IO, Any

__all__ = ["generate"]

_START_NS = 1_763_856_000_000_000_000  # 2025-11-23T00:00:00Z
_DAY_NS = 86_400 * 10**9
_BATCH_SPANS = 200

_SERVICES = ["support-bot", "search-api", "checkout", "agent-runner", "batch-summarizer"]
# (provider, model, input $/Mtok, output $/Mtok, priced by the instrumentation?)
_MODELS = [
    ("openai", "gpt-4o", 2.5, 10.0, True),
    ("openai", "gpt-4o-mini", 0.15, 0.6, True),
    ("anthropic", "claude-sonnet-4-20250514", 3.0, 15.0, True),
    ("gcp.gemini", "gemini-2.5-flash", 0.3, 2.5, True),
    ("openai", "text-embedding-3-small", 0.02, 0.0, False),  # no cost on the span: the report prices it
    ("acme", "acme-experimental-1", 0.0, 0.0, False),  # nobody knows its price: unpriced
]
_MODEL_WEIGHTS = [30, 35, 15, 10, 7, 3]
_ROUTES = ["POST /ask", "POST /search", "GET /orders/{id}", "POST /agent/run", "POST /summarize"]


def _str(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _int(key: str, value: int) -> dict[str, Any]:
    return {"key": key, "value": {"intValue": str(value)}}


def _dbl(key: str, value: float) -> dict[str, Any]:
    return {"key": key, "value": {"doubleValue": value}}


def _span(
    trace_id: str, span_id: str, parent: str, name: str, kind: int, start: int, end: int, attrs: list[Any]
) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": attrs,
        "status": {},
    }
    if parent:
        span["parentSpanId"] = parent
        span["flags"] = 257
    return span


def _llm_attributes(rng: random.Random, user: int, session: int) -> tuple[str, list[Any]]:
    provider, model, input_rate, output_rate, priced = rng.choices(_MODELS, _MODEL_WEIGHTS)[0]
    embeddings = model.startswith("text-embedding")
    operation = "embeddings" if embeddings else "chat"
    input_tokens = rng.randint(50, 4000)
    output_tokens = 0 if embeddings else rng.randint(5, 800)
    cached = rng.choice((0, 0, 0, input_tokens // 2))
    attrs = [
        _str("gen_ai.operation.name", operation),
        _str("gen_ai.provider.name", provider),
        _str("gen_ai.request.model", model),
        _str("gen_ai.response.model", model),
        _str("gen_ai.response.id", f"resp_{rng.getrandbits(48):012x}"),
        _int("gen_ai.usage.input_tokens", input_tokens),
        _int("gen_ai.usage.output_tokens", output_tokens),
        _int("gen_ai.usage.cache_read.input_tokens", cached),
        _str("server.address", "api.example.com"),
        _int("server.port", 443),
        _str("user.id" if user % 4 else "enduser.id", f"user-{user:03d}"),
        _str("gen_ai.conversation.id", f"conv-{session:04d}"),
    ]
    if priced:
        input_cost = (input_tokens - cached) * input_rate / 1e6
        cache_cost = cached * input_rate / 2 / 1e6
        output_cost = output_tokens * output_rate / 1e6
        attrs += [
            _dbl("gen_ai.usage.cost.amount", round(input_cost + cache_cost + output_cost, 9)),
            _str("gen_ai.usage.cost.currency", "USD"),
            _str("gen_ai.usage.cost.source", "local"),
            _dbl("tokenomics.cost.input", input_cost),
            _dbl("tokenomics.cost.cache_read", cache_cost),
            _dbl("tokenomics.cost.cache_write", 0.0),
            _dbl("tokenomics.cost.output", output_cost),
            _str("tokenomics.cost.status", "priced"),
            _str("tokenomics.price.source", "genai-prices"),
        ]
    elif provider == "acme":
        attrs += [_str("tokenomics.cost.status", "unpriced"), _str("tokenomics.cost.unpriced_reason", "unknown_model")]
    return f"{operation} {model}", attrs


def _trace(rng: random.Random, index: int, total_traces: int) -> tuple[str, list[dict[str, Any]]]:
    """One trace's spans and its service."""
    service_index = index % len(_SERVICES)
    trace_id = f"{rng.getrandbits(128):032x}"
    start = _START_NS + index * (3 * _DAY_NS // max(total_traces, 1)) + rng.randint(0, 10**9)
    span_count = rng.randint(8, 12)
    llm_count = 1 if rng.random() < 0.6 else 2
    ids = [f"{rng.getrandbits(64):016x}" for _ in range(span_count)]
    duration = rng.randint(200, 9000) * 10**6
    route = _ROUTES[service_index]
    spans = [
        _span(
            trace_id,
            ids[0],
            "",
            route,
            2,
            start,
            start + duration,
            [
                _str("http.request.method", route.split()[0]),
                _str("http.route", route.split()[1]),
                _int("http.response.status_code", 200),
                _str("url.scheme", "https"),
                _str("client.address", f"10.0.{rng.randint(0, 255)}.{rng.randint(0, 255)}"),
            ],
        )
    ]
    user = rng.randrange(300)
    session = rng.randrange(3000)
    step = duration // span_count
    for position in range(1, span_count):
        begin = start + position * step
        end = begin + rng.randint(1, max(2, step))
        if position <= llm_count:
            name, attrs = _llm_attributes(rng, user, session)
            spans.append(_span(trace_id, ids[position], ids[0], name, 3, begin, end, attrs))
        elif position % 3 == 0:
            statement = "SELECT id, body FROM documents WHERE tenant_id = $1 LIMIT 20"
            attrs = [
                _str("db.system.name", "postgresql"),
                _str("db.query.text", statement),
                _str("db.namespace", "app"),
            ]
            spans.append(_span(trace_id, ids[position], ids[0], "SELECT documents", 3, begin, end, attrs))
        elif position % 3 == 1:
            attrs = [
                _str("http.request.method", "GET"),
                _str("url.full", f"https://inventory.internal/items/{rng.randrange(10**6)}"),
                _int("http.response.status_code", 200),
                _str("server.address", "inventory.internal"),
            ]
            spans.append(_span(trace_id, ids[position], ids[0], "GET", 3, begin, end, attrs))
        else:
            attrs = [_str("code.function.name", "rank_documents"), _int("app.documents.count", rng.randint(1, 50))]
            spans.append(_span(trace_id, ids[position], ids[0], "rank_documents", 1, begin, end, attrs))
    return _SERVICES[service_index], spans


def _resource(service: str) -> dict[str, Any]:
    return {
        "attributes": [
            _str("service.name", service),
            _str("service.version", "1.4.2"),
            _str("deployment.environment.name", "production"),
            _str("telemetry.sdk.language", "python"),
            _str("telemetry.sdk.name", "opentelemetry"),
            _str("telemetry.sdk.version", "1.38.0"),
            _str("host.name", f"{service}-7d9f8c-x2p4q"),
        ]
    }


def _write_batch(out: IO[bytes], batch: dict[str, list[dict[str, Any]]]) -> None:
    request = {
        "resourceSpans": [
            {
                "resource": _resource(service),
                "scopeSpans": [
                    {"scope": {"name": "opentelemetry.instrumentation.app", "version": "0.1.0"}, "spans": spans}
                ],
            }
            for service, spans in batch.items()
        ]
    }
    out.write(json.dumps(request, separators=(",", ":")).encode("utf-8") + b"\n")


def generate(path: str | Path, spans: int, *, seed: int = 7, compress: bool = False) -> int:
    """Write about `spans` spans (whole traces, so a few more) to `path`; return the exact span count."""
    rng = random.Random(seed)
    total_traces = max(1, spans // 10)
    written = 0
    opener = gzip.open if compress else open
    with opener(path, "wb") as out:
        batch: dict[str, list[dict[str, Any]]] = {}
        in_batch = 0
        index = 0
        while written < spans:
            service, trace_spans = _trace(rng, index, total_traces)
            index += 1
            batch.setdefault(service, []).extend(trace_spans)
            in_batch += len(trace_spans)
            written += len(trace_spans)
            if in_batch >= _BATCH_SPANS:
                _write_batch(out, batch)
                batch, in_batch = {}, 0
        if batch:
            _write_batch(out, batch)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args(argv)
    count = generate(args.output, args.spans, seed=args.seed, compress=args.gzip)
    print(f"{args.output}: {count} spans", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
