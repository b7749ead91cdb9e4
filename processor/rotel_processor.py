"""The span processor Rotel loads (`ROTEL_OTLP_WITH_TRACE_PROCESSOR=<this file>`): prices every GenAI span.

Rotel calls `process_spans(resource_spans)` once per ResourceSpans, on its trace pipeline task, holding the
GIL, and takes the objects back when it returns. Three facts of the Rotel build on PyPI (rotel 0.0.1a15,
see collector-config/rotel/README.md) shape this file:

* **An exception that escapes kills the agent**, and so can a reference to Rotel's objects kept after
  returning (Rotel unwraps its `Arc`s and panics if Python still holds one). So every span is processed
  under its own `try`, nothing is stored between calls except plain counters, and a traceback is formatted
  to text at once, never kept.
* **Reading attributes through the Rust wrappers is what costs.** The first `span.attributes` converts the
  span's whole attribute list to Rotel's shared form (~5 µs for 10 attributes, and Rotel converts it back
  after we return); then ~0.2 µs per key, ~0.4 µs per value (a wrapper object and a copy; arrays far more),
  ~0.6 µs per attribute written (building the `KeyValue` is the cost, appending is cheap), while a span's
  `kind` or a scope's `name` costs ~0.1 µs. So non-GenAI spans are rejected as cheaply as possible, in
  order: the whole ScopeSpans when its instrumentation scope is a known HTTP/DB/messaging library (one read
  per scope, verdict cached); then SERVER/PRODUCER/CONSUMER spans (no dialect emits an LLM call with those
  kinds); then spans whose attribute *keys* have no GenAI prefix. The remaining spans read each key once
  and only the values the enricher can use (`dialects.VALUE_KEYS`; the others are present with a None
  placeholder, which is all the dialect detection needs). `OTEL_TOKENOMICS_COST_ATTRIBUTES=compact` (the
  launcher's `--cost-attributes`) writes 4 cost attributes instead of ~14 (see `enrich.py`).
* **The embedded interpreter does not see our virtualenv.** The launcher (`otel-tokenomics collector`)
  passes its site directories in `OTEL_TOKENOMICS_ROTEL_SITE`; they are added with `site.addsitedir` (which
  runs the editable install's `.pth` hook) ahead of the system's own.

Counters (spans seen, priced, unpriced, provider cost, already priced, skipped by reason, errors) are
written to stderr, which is the Rotel log, every `OTEL_TOKENOMICS_ROTEL_STATS_INTERVAL` seconds (default 30)
when spans flow, and at exit.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
import traceback

try:  # inside rotel-agent: the compiled SDK, already imported before our site directories are added
    from rotel_sdk.open_telemetry.common.v1 import KeyValue as _KeyValue
except ImportError:  # a plain interpreter: the rotel-sdk wheel holds type stubs only
    _KeyValue = None

__all__ = ["process_spans", "snapshot"]

# The launcher waits for one of these lines (otel_tokenomics.collector.rotel has the same two strings).
READY_MARK = "otel-tokenomics rotel processor: ready"
FAILED_MARK = "otel-tokenomics rotel processor: FAILED"

_SITE_ENV = "OTEL_TOKENOMICS_ROTEL_SITE"
_INTERVAL_ENV = "OTEL_TOKENOMICS_ROTEL_STATS_INTERVAL"
_COST_ATTRIBUTES_ENV = "OTEL_TOKENOMICS_COST_ATTRIBUTES"
_MAX_LOGGED_ERRORS = 5

# SpanKind SERVER, PRODUCER, CONSUMER: the receiving or messaging side; every dialect's LLM call is CLIENT or
# INTERNAL (or unspecified), so these are never priced.
_NOT_CALL_KINDS = frozenset({2, 4, 5})
# Attribute values copied out of Rotel; arrays and maps stay in Rust (pricing never needs them).
_PLAIN_TYPES = frozenset({str, int, float, bool})

# Instrumentation scopes that never write GenAI attributes (web servers, HTTP clients, databases, queues,
# runtime). Prefixes; a scope not listed here has its spans' keys checked. botocore is NOT listed (its
# Bedrock extension writes gen_ai.*), nor anything with an AI SDK inside.
_PLAIN_SCOPE_PREFIXES: tuple[str, ...] = tuple(
    [
        f"opentelemetry.instrumentation.{library}"
        for library in (
            "aiohttp_client", "aiohttp_server", "aiopg", "asgi", "asyncpg", "aio_pika", "cassandra", "celery",
            "confluent_kafka", "dbapi", "django", "elasticsearch", "falcon", "fastapi", "flask", "grpc", "httpx",
            "jinja2", "kafka", "logging", "mysql", "mysqlclient", "pika", "psycopg", "pymemcache", "pymongo",
            "pymysql", "pyramid", "redis", "remoulade", "requests", "sqlalchemy", "sqlite3", "starlette",
            "system_metrics", "threading", "tornado", "tortoiseorm", "urllib", "wsgi",
        )
    ]
    + [
        f"@opentelemetry/instrumentation-{library}"
        for library in (
            "http", "express", "koa", "fastify", "hapi", "nestjs-core", "pg", "mysql", "mysql2", "mongodb",
            "redis", "ioredis", "fs", "dns", "net", "graphql", "undici", "grpc", "kafkajs", "amqplib", "knex",
        )
    ]
    + [
        "go.opentelemetry.io/contrib/instrumentation/net/http",
        "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc",
        "io.opentelemetry.tomcat", "io.opentelemetry.jetty", "io.opentelemetry.servlet", "io.opentelemetry.jdbc",
        "io.opentelemetry.netty", "io.opentelemetry.spring-web", "io.opentelemetry.http-url-connection",
        "io.opentelemetry.okhttp", "io.opentelemetry.apache-httpclient", "io.opentelemetry.lettuce",
        "io.opentelemetry.jedis", "io.opentelemetry.kafka", "io.opentelemetry.grpc", "io.opentelemetry.hibernate",
        "Microsoft.AspNetCore", "System.Net.Http", "System.Data.SqlClient", "Npgsql",
    ]
)
_MAX_CACHED_SCOPES = 4096


def _add_site_directories() -> None:
    """Our virtualenv's site directories, ahead of the embedded interpreter's own (system packages of
    another version must not shadow ours)."""
    import site

    directories = [d for d in os.environ.get(_SITE_ENV, "").split(os.pathsep) if d]
    before = list(sys.path)
    for directory in directories:
        if directory not in before:
            site.addsitedir(directory)
    added = [entry for entry in sys.path if entry not in before]
    sys.path[:] = added + before


def _interval() -> float:
    try:
        value = float(os.environ.get(_INTERVAL_ENV, "30"))
    except ValueError:
        return 30.0
    return value if value > 0 else 30.0


class _State:
    """Module-global, plain-data state: counters and caches that survive between calls (never Rotel objects)."""

    def __init__(self) -> None:
        self.enricher = None
        self.prefixes: tuple[str, ...] = ()
        self.value_keys: frozenset[str] = frozenset()
        self.constructors: dict[type, object] = {}
        self.seen = 0
        self.skipped_scope = 0
        self.skipped_kind = 0
        self.skipped_keys = 0
        self.errors = 0
        self.scopes: dict[str, bool] = {}
        self.interval = _interval()
        self.next_report = time.monotonic() + self.interval
        self.reported_seen = -1


_state = _State()


def _load() -> None:
    _add_site_directories()
    from otel_tokenomics.processor.dialects import GENAI_KEY_PREFIXES, VALUE_KEYS
    from otel_tokenomics.processor.enrich import SpanEnricher

    mode = os.environ.get(_COST_ATTRIBUTES_ENV, "").strip() or "full"
    try:
        _state.enricher = SpanEnricher(cost_attributes=mode)
    except ValueError as error:
        raise ValueError(f"{_COST_ATTRIBUTES_ENV}: {error}") from None
    _state.prefixes = GENAI_KEY_PREFIXES
    _state.value_keys = VALUE_KEYS
    if _KeyValue is not None:
        _state.constructors = {
            str: _KeyValue.new_string_value,
            bool: _KeyValue.new_bool_value,
            int: _KeyValue.new_int_value,
            float: _KeyValue.new_double_value,
        }


try:
    _load()
    print(f"{READY_MARK} (embedded python {sys.version.split()[0]} at {sys.prefix})", file=sys.stderr, flush=True)
except Exception as _error:  # keep the agent alive; the launcher reads this line and refuses to start
    print(f"{FAILED_MARK}: {type(_error).__name__}: {_error}", file=sys.stderr, flush=True)
    del _error


def snapshot() -> dict[str, int]:
    """Every counter: ours (what was rejected before enrichment) merged with the enricher's outcomes."""
    result = {"seen": _state.seen}
    if _state.enricher is not None:
        enriched = _state.enricher.stats.snapshot()
        result["enriched"] = enriched.pop("seen", 0)
        for key, value in enriched.items():
            result[key] = result.get(key, 0) + value
    skipped = {"scope": _state.skipped_scope, "span_kind": _state.skipped_kind, "not_genai": _state.skipped_keys}
    result["skipped"] = result.get("skipped", 0) + sum(skipped.values())
    for reason, value in skipped.items():
        key = f"skipped.{reason}"
        result[key] = result.get(key, 0) + value
    result["errors"] = _state.errors
    return result


def _report() -> None:
    if _state.seen == _state.reported_seen:
        return
    _state.reported_seen = _state.seen
    counts = snapshot()
    text = " ".join(f"{key}={value}" for key, value in counts.items() if value or "." not in key)
    print(f"otel-tokenomics rotel processor: {text}", file=sys.stderr, flush=True)


atexit.register(_report)


def _log_error() -> None:
    _state.errors += 1
    if _state.errors <= _MAX_LOGGED_ERRORS:
        lines = traceback.format_exc().rstrip().replace("\n", "\n    ")
        print(f"otel-tokenomics rotel processor: error (span passed on unchanged): {lines}", file=sys.stderr)


def _plain_scope(name: str) -> bool:
    verdict = _state.scopes.get(name)
    if verdict is None:
        verdict = name.startswith(_PLAIN_SCOPE_PREFIXES)
        if len(_state.scopes) < _MAX_CACHED_SCOPES:
            _state.scopes[name] = verdict
    return verdict


def _enrich_span(span: object) -> None:
    kind = span.kind
    if kind in _NOT_CALL_KINDS:
        _state.skipped_kind += 1
        return
    attributes = span.attributes
    entries = list(attributes)
    keys = [entry.key for entry in entries]
    prefixes = _state.prefixes
    for key in keys:
        if key.startswith(prefixes):
            break
    else:
        _state.skipped_keys += 1
        return
    values: dict[str, object] = dict.fromkeys(keys)  # every key present; a None placeholder unless read below
    value_keys = _state.value_keys
    for key, entry in zip(keys, entries, strict=True):
        if key in value_keys:
            wrapped = entry.value
            value = wrapped.value if wrapped is not None else None
            if type(value) in _PLAIN_TYPES:
                values[key] = value
            else:  # an array, a map, bytes or nothing: as if absent (pricing never reads those)
                values.pop(key, None)
    del entries, entry  # the KeyValue wrappers: nothing of Rotel's may outlive this call
    enrichment = _state.enricher.enrich(
        values, name=span.name, kind=kind, start_time_unix_nano=span.start_time_unix_nano
    )
    additions = enrichment.attributes
    if not additions:
        return
    constructors = _state.constructors
    # `values` holds every key unless one was repeated or its value was not plain (then: the full key set)
    present = values if len(values) == len(keys) else set(keys)
    new = []
    for key, value in additions.items():
        if key in present:
            attributes[keys.index(key)] = constructors[type(value)](key, value)  # replace, never duplicate a key
        else:
            new.append(constructors[type(value)](key, value))
    if new:
        attributes.append_attributes(new)  # one call into Rotel instead of one per attribute


def process_spans(resource_spans: object) -> None:
    """Rotel's entry point: prices the GenAI spans of one ResourceSpans in place; never raises."""
    state = _state
    try:
        if state.enricher is not None:
            for scope_spans in resource_spans.scope_spans:
                spans = scope_spans.spans
                count = len(spans)
                state.seen += count
                scope = scope_spans.scope
                if scope is not None and _plain_scope(scope.name):
                    state.skipped_scope += count
                    continue
                for span in spans:
                    try:
                        _enrich_span(span)
                    except Exception:
                        _log_error()
        now = time.monotonic()
        if now >= state.next_report:
            state.next_report = now + state.interval
            _report()
    except Exception:
        _log_error()
