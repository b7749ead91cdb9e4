"""Attribute names we emit and read.

The GenAI names follow the OpenTelemetry GenAI semantic conventions as released in v1.41.1, the last release
that carries them before they moved to their own repository. They are plain string literals on purpose:
`opentelemetry.semconv._incubating` marks them deprecated from 0.65b0 on, and an instrumentation must not
change its wire names because a helper package reshuffled. Cost names follow the open proposal
(semantic-conventions-genai PR #443); everything else we add lives under `tokenomics.*`.
"""

from __future__ import annotations

__all__ = [
    "ERROR_TYPE",
    "GEN_AI_CONVERSATION_ID",
    "GEN_AI_EMBEDDINGS_DIMENSION_COUNT",
    "GEN_AI_INPUT_MESSAGES",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_OUTPUT_MESSAGES",
    "GEN_AI_OUTPUT_TYPE",
    "GEN_AI_PROVIDER_NAME",
    "GEN_AI_REQUEST_CHOICE_COUNT",
    "GEN_AI_REQUEST_ENCODING_FORMATS",
    "GEN_AI_REQUEST_FREQUENCY_PENALTY",
    "GEN_AI_REQUEST_MAX_TOKENS",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_REQUEST_PRESENCE_PENALTY",
    "GEN_AI_REQUEST_SEED",
    "GEN_AI_REQUEST_STOP_SEQUENCES",
    "GEN_AI_REQUEST_STREAM",
    "GEN_AI_REQUEST_TEMPERATURE",
    "GEN_AI_REQUEST_TOP_K",
    "GEN_AI_REQUEST_TOP_P",
    "GEN_AI_RESPONSE_FINISH_REASONS",
    "GEN_AI_RESPONSE_ID",
    "GEN_AI_RESPONSE_MODEL",
    "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK",
    "GEN_AI_SYSTEM",
    "GEN_AI_SYSTEM_INSTRUCTIONS",
    "GEN_AI_TOKEN_TYPE",
    "GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS",
    "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS",
    "GEN_AI_USAGE_COST_AMOUNT",
    "GEN_AI_USAGE_COST_CURRENCY",
    "GEN_AI_USAGE_COST_SOURCE",
    "GEN_AI_USAGE_INPUT_TOKENS",
    "GEN_AI_USAGE_OUTPUT_TOKENS",
    "GEN_AI_USAGE_REASONING_OUTPUT_TOKENS",
    "OPENAI_API_TYPE",
    "OPENAI_REQUEST_SERVICE_TIER",
    "OPENAI_RESPONSE_SERVICE_TIER",
    "OPENAI_RESPONSE_SYSTEM_FINGERPRINT",
    "SERVER_ADDRESS",
    "SERVER_PORT",
    "TOKENOMICS_BUDGET_DEGRADED_BY",
    "TOKENOMICS_BUDGET_ESTIMATE",
    "TOKENOMICS_BUDGET_LIMIT",
    "TOKENOMICS_BUDGET_NAME",
    "TOKENOMICS_BUDGET_REFUSED_BY",
    "TOKENOMICS_BUDGET_REQUESTED_MODEL",
    "TOKENOMICS_BUDGET_SCOPE",
    "TOKENOMICS_BUDGET_SPENT",
    "TOKENOMICS_BUDGET_THRESHOLD",
    "TOKENOMICS_BUDGET_UNIT",
    "TOKENOMICS_COST_CACHE_READ",
    "TOKENOMICS_COST_CACHE_WRITE",
    "TOKENOMICS_COST_INPUT",
    "TOKENOMICS_COST_MODEL",
    "TOKENOMICS_COST_OUTPUT",
    "TOKENOMICS_COST_PROVIDER",
    "TOKENOMICS_COST_REPORTED_BY",
    "TOKENOMICS_COST_STATUS",
    "TOKENOMICS_COST_UNPRICED_REASON",
    "TOKENOMICS_PRICE_SOURCE",
    "TOKENOMICS_PRICE_VERSION",
    "TOKENOMICS_PROCESSOR_DIALECT",
    "TOKENOMICS_PROCESSOR_OUTCOME",
    "TOKENOMICS_PROCESSOR_REASON",
    "TOKENOMICS_STREAM_COMPLETED",
    "TOKENOMICS_TRACE_COST_AMOUNT",
    "TOKENOMICS_TRACE_COST_CURRENCY",
    "TOKENOMICS_TRACE_INPUT_TOKENS",
    "TOKENOMICS_TRACE_LLM_CALLS",
    "TOKENOMICS_TRACE_OUTPUT_TOKENS",
    "TOKENOMICS_TRACE_SPANS",
    "TOKENOMICS_TRACE_UNPRICED_CALLS",
    "TOKENOMICS_USAGE_CACHE_WRITE_1H_TOKENS",
    "TOKENOMICS_USAGE_INPUT_UNCACHED_TOKENS",
    "TOKENOMICS_USAGE_REPORTED",
    "TOKENOMICS_USAGE_REQUESTS",
    "CostSource",
    "CostStatus",
    "Operation",
    "TokenType",
    "UnpricedReason",
]

# --- OpenTelemetry GenAI (v1.41.1) ---------------------------------------------------------------------
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_SYSTEM = "gen_ai.system"  # deprecated in v1.37.0; read by the processor, never emitted
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
GEN_AI_OUTPUT_TYPE = "gen_ai.output.type"

GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K = "gen_ai.request.top_k"
GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_SEED = "gen_ai.request.seed"
GEN_AI_REQUEST_STREAM = "gen_ai.request.stream"
GEN_AI_REQUEST_ENCODING_FORMATS = "gen_ai.request.encoding_formats"

GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"

GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"

# Opt-in content attributes (JSON strings on spans).
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"

OPENAI_API_TYPE = "openai.api.type"
OPENAI_REQUEST_SERVICE_TIER = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT = "openai.response.system_fingerprint"

SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"

# --- Cost (semantic-conventions-genai PR #443, open) ---------------------------------------------------
GEN_AI_USAGE_COST_AMOUNT = "gen_ai.usage.cost.amount"
GEN_AI_USAGE_COST_CURRENCY = "gen_ai.usage.cost.currency"
GEN_AI_USAGE_COST_SOURCE = "gen_ai.usage.cost.source"

# --- Our extensions --------------------------------------------------------------------------------------
# Non-overlapping cost breakdown; the four sum to gen_ai.usage.cost.amount.
TOKENOMICS_COST_INPUT = "tokenomics.cost.input"
TOKENOMICS_COST_CACHE_READ = "tokenomics.cost.cache_read"
TOKENOMICS_COST_CACHE_WRITE = "tokenomics.cost.cache_write"
TOKENOMICS_COST_OUTPUT = "tokenomics.cost.output"
# Provenance.
TOKENOMICS_COST_STATUS = "tokenomics.cost.status"
TOKENOMICS_COST_UNPRICED_REASON = "tokenomics.cost.unpriced_reason"
TOKENOMICS_COST_PROVIDER = "tokenomics.cost.provider"
TOKENOMICS_COST_MODEL = "tokenomics.cost.model"
TOKENOMICS_PRICE_SOURCE = "tokenomics.price.source"
TOKENOMICS_PRICE_VERSION = "tokenomics.price.version"
# Which attribute carried a cost we kept instead of computing one (`operation.cost`, `llm.cost.total`, ...).
TOKENOMICS_COST_REPORTED_BY = "tokenomics.cost.reported_by"
# Token buckets the conventions leave implicit.
TOKENOMICS_USAGE_INPUT_UNCACHED_TOKENS = "tokenomics.usage.input_uncached_tokens"
TOKENOMICS_USAGE_CACHE_WRITE_1H_TOKENS = "tokenomics.usage.cache_write_1h_tokens"
TOKENOMICS_USAGE_REPORTED = "tokenomics.usage.reported"
# Requests the SDK sent inside one call (Gemini's automatic function calling); the usage is their sum.
TOKENOMICS_USAGE_REQUESTS = "tokenomics.usage.requests"
TOKENOMICS_STREAM_COMPLETED = "tokenomics.stream.completed"
# The span processor (otel_tokenomics.processor): which attribute dialect a span was read in, and the
# outcome/reason labels of its self-telemetry counter.
TOKENOMICS_PROCESSOR_DIALECT = "tokenomics.processor.dialect"
TOKENOMICS_PROCESSOR_OUTCOME = "tokenomics.processor.outcome"
TOKENOMICS_PROCESSOR_REASON = "tokenomics.processor.reason"
# Per-trace roll-up, set on the trace's root span. The amount is a lower bound when unpriced_calls > 0.
TOKENOMICS_TRACE_COST_AMOUNT = "tokenomics.trace.cost.amount"
TOKENOMICS_TRACE_COST_CURRENCY = "tokenomics.trace.cost.currency"
TOKENOMICS_TRACE_INPUT_TOKENS = "tokenomics.trace.input_tokens"
TOKENOMICS_TRACE_OUTPUT_TOKENS = "tokenomics.trace.output_tokens"
TOKENOMICS_TRACE_LLM_CALLS = "tokenomics.trace.llm_calls"
TOKENOMICS_TRACE_UNPRICED_CALLS = "tokenomics.trace.unpriced_calls"
TOKENOMICS_TRACE_SPANS = "tokenomics.trace.spans"
# Budgets.
TOKENOMICS_BUDGET_NAME = "tokenomics.budget.name"
TOKENOMICS_BUDGET_SCOPE = "tokenomics.budget.scope"
TOKENOMICS_BUDGET_THRESHOLD = "tokenomics.budget.threshold"
TOKENOMICS_BUDGET_SPENT = "tokenomics.budget.spent"
TOKENOMICS_BUDGET_LIMIT = "tokenomics.budget.limit"
TOKENOMICS_BUDGET_UNIT = "tokenomics.budget.unit"
TOKENOMICS_BUDGET_ESTIMATE = "tokenomics.budget.estimate"
TOKENOMICS_BUDGET_REFUSED_BY = "tokenomics.budget.refused_by"
TOKENOMICS_BUDGET_DEGRADED_BY = "tokenomics.budget.degraded_by"
TOKENOMICS_BUDGET_REQUESTED_MODEL = "tokenomics.budget.requested_model"


class Operation:
    """`gen_ai.operation.name` values we produce."""

    CHAT = "chat"
    TEXT_COMPLETION = "text_completion"
    GENERATE_CONTENT = "generate_content"
    EMBEDDINGS = "embeddings"


class TokenType:
    """`gen_ai.token.type` values."""

    INPUT = "input"
    OUTPUT = "output"


class CostSource:
    """`gen_ai.usage.cost.source` values: who computed the amount."""

    LOCAL = "local"
    PROVIDER = "provider"


class CostStatus:
    """`tokenomics.cost.status` values. `unpriced` is never reported as an amount of 0."""

    PRICED = "priced"
    UNPRICED = "unpriced"
    FREE = "free"


class UnpricedReason:
    """`tokenomics.cost.unpriced_reason` values, low-cardinality so they can label a metric."""

    UNKNOWN_MODEL = "unknown_model"
    UNKNOWN_PROVIDER = "unknown_provider"
    NO_MODEL = "no_model"
    NO_USAGE = "no_usage"
    SELF_HOSTED = "self_hosted"
    ERROR = "pricing_error"
    # Token counts present but unusable (a string, negative, NaN, infinite or absurdly large); processor only.
    INVALID_USAGE = "invalid_usage"
