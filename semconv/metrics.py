"""Metric names, units and bucket advice.

The GenAI histograms use the boundaries the conventions advise (v1.41.1, gen-ai-metrics.md); the SDK default
buckets (0..10000) are useless for token counts and sub-cent costs. Cost is also a monotonic counter because a
histogram sum cannot be `increase()`d reliably by every backend, and FinOps dashboards want totals.
"""

from __future__ import annotations

__all__ = [
    "COST_BUCKETS",
    "DURATION_BUCKETS",
    "GEN_AI_CLIENT_OPERATION_COST",
    "GEN_AI_CLIENT_OPERATION_DURATION",
    "GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK",
    "GEN_AI_CLIENT_TOKEN_USAGE",
    "TOKENOMICS_BUDGET_DEGRADATIONS",
    "TOKENOMICS_BUDGET_LEDGER_UNAVAILABLE",
    "TOKENOMICS_BUDGET_REFUSALS",
    "TOKENOMICS_BUDGET_THRESHOLD_CROSSINGS",
    "TOKENOMICS_CLIENT_COST",
    "TOKENOMICS_CLIENT_UNPRICED_CALLS",
    "TOKENOMICS_PROCESSOR_LATE_SPANS",
    "TOKENOMICS_PROCESSOR_SPANS",
    "TOKENOMICS_PROCESSOR_TRACES",
    "TOKENOMICS_TRACE_COST",
    "TOKEN_BUCKETS",
    "UNIT_CALL",
    "UNIT_COST",
    "UNIT_SECONDS",
    "UNIT_SPAN",
    "UNIT_TOKEN",
    "UNIT_TRACE",
]

GEN_AI_CLIENT_TOKEN_USAGE = "gen_ai.client.token.usage"
GEN_AI_CLIENT_OPERATION_DURATION = "gen_ai.client.operation.duration"
GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
# Proposed in semantic-conventions-genai PR #443.
GEN_AI_CLIENT_OPERATION_COST = "gen_ai.client.operation.cost"
# Ours: a monotonic counter of cost, and a counter of calls we could not price.
TOKENOMICS_CLIENT_COST = "tokenomics.client.cost"
TOKENOMICS_CLIENT_UNPRICED_CALLS = "tokenomics.client.unpriced_calls"
# The span processor: cost of each released trace (histogram), and spans seen by outcome/reason (counter).
TOKENOMICS_TRACE_COST = "tokenomics.trace.cost"
TOKENOMICS_PROCESSOR_SPANS = "tokenomics.processor.spans"
# The roll-up: traces released (outcome released | evicted) and spans that came after their trace left.
TOKENOMICS_PROCESSOR_TRACES = "tokenomics.processor.traces"
TOKENOMICS_PROCESSOR_LATE_SPANS = "tokenomics.processor.late_spans"
# Budgets.
TOKENOMICS_BUDGET_THRESHOLD_CROSSINGS = "tokenomics.budget.threshold_crossings"
TOKENOMICS_BUDGET_REFUSALS = "tokenomics.budget.refusals"
TOKENOMICS_BUDGET_DEGRADATIONS = "tokenomics.budget.degradations"
TOKENOMICS_BUDGET_LEDGER_UNAVAILABLE = "tokenomics.budget.ledger_unavailable"

UNIT_TOKEN = "{token}"
UNIT_SECONDS = "s"
# The amount is in the currency named by gen_ai.usage.cost.currency on the same point.
UNIT_COST = "{cost}"
UNIT_CALL = "{call}"
UNIT_SPAN = "{span}"
UNIT_TRACE = "{trace}"

TOKEN_BUCKETS: tuple[float, ...] = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
DURATION_BUCKETS: tuple[float, ...] = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
# Most calls cost fractions of a cent; a few agentic ones cost dollars.
COST_BUCKETS: tuple[float, ...] = (
    0.00001,
    0.00005,
    0.0001,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
)
