-- The most expensive traces by the collector's per-trace roll-up: `otel-tokenomics collector` (and
-- `CostEnrichingSpanExporter(rollup=True)`) put `tokenomics.trace.*` on each trace's root span. One row per
-- trace and no join over the call spans, so it stays cheap on a large store, and it still answers when the call
-- spans were sampled away. Single-currency traces carry a number in `tokenomics.trace.cost.amount`; a trace
-- priced in several currencies carries parallel JSON arrays there and in `.currency` (shown as they are, with
-- `cost` NULL). `cost` is a lower bound when `unpriced_calls` > 0.
SELECT
    TraceId AS trace_id,
    SpanName AS root_span,
    ServiceName AS service,
    Timestamp AS start_time,
    Duration / 1e9 AS duration_seconds,
    toUInt64OrZero(SpanAttributes['tokenomics.trace.llm_calls']) AS llm_calls,
    toUInt64OrZero(SpanAttributes['tokenomics.trace.input_tokens']) AS input_tokens,
    toUInt64OrZero(SpanAttributes['tokenomics.trace.output_tokens']) AS output_tokens,
    toDecimal128OrNull(SpanAttributes['tokenomics.trace.cost.amount'], 12) AS cost,
    SpanAttributes['tokenomics.trace.cost.currency'] AS currency,
    SpanAttributes['tokenomics.trace.cost.amount'] AS cost_as_stored,
    toUInt64OrZero(SpanAttributes['tokenomics.trace.unpriced_calls']) AS unpriced_calls
FROM otel_traces
WHERE mapContains(SpanAttributes, 'tokenomics.trace.llm_calls') AND llm_calls > 0
ORDER BY cost DESC NULLS LAST, input_tokens + output_tokens DESC, trace_id
LIMIT 10;
