-- One row per LLM call (inference and embeddings spans), with the same rules as `otel-tokenomics report`:
-- agent/workflow/tool spans are not calls (they repeat their children's usage); a call read twice is kept
-- once; a call is `unpriced` when marked so or when it has usage but no cost; a failed call with no usage
-- billed nothing (`failed`); a `free` call without an amount costs 0. Calls whose span has no cost are NOT
-- priced here (SQL has no price book): they count as unpriced with reason `no_cost_on_span`.
CREATE VIEW IF NOT EXISTS llm_calls AS
SELECT
    TraceId AS trace_id,
    SpanId AS span_id,
    Timestamp AS start_time,
    ServiceName AS service,
    SpanAttributes['gen_ai.operation.name'] AS operation,
    coalesce(nullIf(SpanAttributes['gen_ai.provider.name'], ''), nullIf(SpanAttributes['gen_ai.system'], ''),
             nullIf(ResourceAttributes['gen_ai.provider.name'], ''), '(none)') AS provider,
    coalesce(nullIf(SpanAttributes['gen_ai.response.model'], ''), nullIf(SpanAttributes['gen_ai.request.model'], ''),
             '(none)') AS model,
    coalesce(nullIf(SpanAttributes['user.id'], ''), nullIf(SpanAttributes['enduser.id'], ''),
             nullIf(ResourceAttributes['user.id'], ''), nullIf(ResourceAttributes['enduser.id'], ''), '(none)') AS user,
    coalesce(nullIf(SpanAttributes['gen_ai.conversation.id'], ''), nullIf(SpanAttributes['session.id'], ''),
             nullIf(ResourceAttributes['gen_ai.conversation.id'], ''), nullIf(ResourceAttributes['session.id'], ''),
             '(none)') AS session,
    toInt64OrZero(SpanAttributes['gen_ai.usage.input_tokens']) AS input_tokens,
    toInt64OrZero(SpanAttributes['gen_ai.usage.output_tokens']) AS output_tokens,
    (mapContains(SpanAttributes, 'gen_ai.usage.input_tokens')
        OR mapContains(SpanAttributes, 'gen_ai.usage.output_tokens')) AS has_usage,
    toDecimal128OrNull(SpanAttributes['gen_ai.usage.cost.amount'], 12) AS recorded_amount,
    upper(trim(SpanAttributes['gen_ai.usage.cost.currency'])) AS currency,
    SpanAttributes['tokenomics.cost.status'] AS cost_status,
    (recorded_amount IS NULL AND NOT has_usage
        AND (SpanAttributes['error.type'] != '' OR StatusCode IN ('Error', 'STATUS_CODE_ERROR'))) AS failed,
    (NOT failed AND (cost_status = 'unpriced'
        OR (recorded_amount IS NULL AND has_usage AND cost_status != 'free'))) AS unpriced,
    if(unpriced, coalesce(nullIf(SpanAttributes['tokenomics.cost.unpriced_reason'], ''),
                          if(has_usage, 'no_cost_on_span', 'no_usage')), '') AS unpriced_reason,
    multiIf(failed OR unpriced, NULL, recorded_amount IS NULL AND cost_status = 'free', toDecimal128(0, 12),
            recorded_amount) AS amount,
    -- A `free` call without an amount or currency costs nothing in any currency: counted, not summed.
    (amount IS NOT NULL AND NOT (currency = '' AND amount = 0)) AS priced
FROM otel_traces
WHERE SpanAttributes['gen_ai.operation.name'] IN ('chat', 'text_completion', 'generate_content', 'embeddings')
LIMIT 1 BY TraceId, SpanId;
