"""OpenTelemetry Collector (otelcol-contrib) configurations around the generated OTTL pricing statements.

Why two layouts: one collector is enough until a single machine cannot keep up. Past that, pricing itself is
stateless (every span is priced alone), but anything that looks at a whole trace (`groupbytrace`,
`tail_sampling` on cost) needs every span of a trace on the same collector, so tier 1 only routes by trace ID
(`loadbalancing` exporter, DNS resolver over a headless service) and tier 2 prices, optionally groups, exports
and turns cost into metrics.

Metrics come from connectors fed by the traces pipeline: `sum` adds up `gen_ai.usage.cost.amount` (a delta,
monotonic sum) and `count` counts unpriced calls. The sum connector gets exactly ONE grouping attribute: in
the releases read for this design, `sum` adds a span's value once per grouping key, so N keys multiply the
sums by N (contrib `connector/sumconnector/testdata/traces/multiple_attributes.yaml` encodes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from otel_tokenomics.processor.ottl import OttlProgram
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv import metrics

__all__ = ["CollectorOptions", "render", "single_config", "tier1_config", "tier2_config"]

TRANSFORM = "transform/tokenomics"
SUM = "sum/tokenomics"
COUNT = "count/tokenomics"
UPSTREAM = "otlphttp/upstream"
LOADBALANCING = "loadbalancing/tier2"
GROUPBYTRACE = "groupbytrace"


@dataclass(frozen=True, slots=True)
class CollectorOptions:
    """What a deployment varies; everything else is fixed by the layout."""

    upstream: str = "http://otel-backend:4318"  # OTLP/HTTP endpoint receiving priced spans and cost metrics
    tier2_hostname: str = "tokenomics-tier2-headless"  # DNS name resolving to every tier-2 collector
    tier2_port: int = 4317
    group_by_trace: bool = False
    group_wait: str = "10s"


def _receivers() -> dict[str, Any]:
    return {"otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}}}


def _memory_limiter() -> dict[str, Any]:
    return {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20}


def _connectors() -> dict[str, Any]:
    cost = attr.GEN_AI_USAGE_COST_AMOUNT
    return {
        SUM: {
            "spans": {
                metrics.TOKENOMICS_CLIENT_COST: {
                    "description": "LLM call cost (delta sum, in gen_ai.usage.cost.currency)",
                    "source_attribute": cost,
                    "conditions": [f'span.attributes["{cost}"] != nil'],
                    # exactly one key: more keys multiply the sums (see the module docstring)
                    "attributes": [{"key": attr.TOKENOMICS_COST_MODEL, "default_value": "unknown"}],
                }
            }
        },
        COUNT: {
            "spans": {
                metrics.TOKENOMICS_CLIENT_UNPRICED_CALLS: {
                    "description": "LLM calls that could not be priced",
                    "conditions": [f'span.attributes["{attr.TOKENOMICS_COST_STATUS}"] == "unpriced"'],
                    "attributes": [{"key": attr.TOKENOMICS_COST_UNPRICED_REASON, "default_value": "unknown"}],
                }
            }
        },
    }


def _upstream(options: CollectorOptions) -> dict[str, Any]:
    return {UPSTREAM: {"endpoint": options.upstream}}


def _pricing_collector(program: OttlProgram, options: CollectorOptions) -> dict[str, Any]:
    processors: dict[str, Any] = {"memory_limiter": _memory_limiter()}
    chain = ["memory_limiter"]
    if options.group_by_trace:
        processors[GROUPBYTRACE] = {"wait_duration": options.group_wait, "num_traces": 100000}
        chain.append(GROUPBYTRACE)
    processors[TRANSFORM] = {"error_mode": "ignore", "trace_statements": list(program.statements)}
    processors["batch"] = {}
    chain += [TRANSFORM, "batch"]
    return {
        "receivers": _receivers(),
        "processors": processors,
        "exporters": _upstream(options),
        "connectors": _connectors(),
        "service": {
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": chain, "exporters": [UPSTREAM, SUM, COUNT]},
                "metrics/tokenomics": {"receivers": [SUM, COUNT], "processors": ["batch"], "exporters": [UPSTREAM]},
            }
        },
    }


def single_config(program: OttlProgram, options: CollectorOptions = CollectorOptions()) -> dict[str, Any]:
    """One collector: receive, price, export spans, and sum cost into metrics."""
    return _pricing_collector(program, options)


def tier2_config(program: OttlProgram, options: CollectorOptions = CollectorOptions()) -> dict[str, Any]:
    """A tier-2 collector: receives whole traces from tier 1 and prices them (same as `single_config`)."""
    return _pricing_collector(program, options)


def tier1_config(options: CollectorOptions = CollectorOptions()) -> dict[str, Any]:
    """A stateless tier-1 collector: routes every span of a trace to the same tier-2 collector."""
    return {
        "receivers": _receivers(),
        "processors": {"memory_limiter": _memory_limiter(), "batch": {}},
        "exporters": {
            LOADBALANCING: {
                "routing_key": "traceID",
                "protocol": {"otlp": {"tls": {"insecure": True}, "timeout": "5s"}},
                "resolver": {"dns": {"hostname": options.tier2_hostname, "port": options.tier2_port}},
            }
        },
        "service": {
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"],
                           "exporters": [LOADBALANCING]}
            }
        },
    }


def _header(title: str, command: str, program: OttlProgram | None) -> str:
    lines = [f"# {title}", f"# Generated by: {command}", "# Do not edit: regenerate (prices change)."]
    if program is not None:
        when = datetime.fromtimestamp(program.when, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines += [
            f"# Prices: genai-prices {program.catalog_version or '(no catalog)'} plus price sheets, in effect at "
            f"{when}, currency {program.currency}.",
            f"# {len(program.statements)} OTTL statements; {program.compiled_models} catalog models compiled for "
            f"providers: {', '.join(program.providers) or '(none)'}.",
            "# Calls to other models/providers are marked unpriced (model_not_in_config / provider_not_in_config).",
            f"# Not expressed exactly in OTTL ({len(program.unexpressible)}):",
            *(f"#   - {item.line()}" for item in program.unexpressible),
            "# Limitations of every generated config:",
            *(f"#   - {note}" for note in program.notes),
        ]
    return "\n".join(lines) + "\n"


def render(config: dict[str, Any], *, title: str, command: str, program: OttlProgram | None = None) -> str:
    """The YAML text: a comment block (provenance, what is not expressed) then the configuration."""
    body = yaml.safe_dump(config, sort_keys=False, width=100000, allow_unicode=True)
    return _header(title, command, program) + body
