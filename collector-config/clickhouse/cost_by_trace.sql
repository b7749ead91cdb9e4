-- The most expensive traces (top 10; change LIMIT), with the root span's name, start and duration and the
-- number of LLM calls. A trace whose root span was not stored gets its earliest span's name and the extent of
-- the spans seen (`root_missing`). Sorted by the cost in the main currency (USD here), then by tokens.
WITH
    calls AS (
        SELECT
            trace_id,
            count() AS llm_calls,
            sum(input_tokens) AS input_tokens,
            sum(output_tokens) AS output_tokens,
            sumMapIf(map(currency, assumeNotNull(amount)), priced) AS cost,
            countIf(unpriced) AS unpriced_calls
        FROM llm_calls
        GROUP BY trace_id
    ),
    traces AS (
        SELECT
            TraceId AS trace_id,
            countIf(ParentSpanId = '') = 0 AS root_missing,
            if(root_missing, argMin(SpanName, Timestamp), argMinIf(SpanName, Timestamp, ParentSpanId = '')) AS root_span,
            if(root_missing, min(Timestamp), minIf(Timestamp, ParentSpanId = '')) AS start_time,
            if(root_missing,
               max(toUnixTimestamp64Nano(Timestamp) + Duration) - toUnixTimestamp64Nano(min(Timestamp)),
               argMinIf(Duration, Timestamp, ParentSpanId = '')) AS duration_ns
        FROM otel_traces
        WHERE TraceId IN (SELECT trace_id FROM calls)
        GROUP BY TraceId
    )
SELECT
    trace_id, root_span, root_missing, start_time, duration_ns / 1e9 AS duration_seconds,
    llm_calls, input_tokens, output_tokens, cost, unpriced_calls
FROM calls
INNER JOIN traces USING (trace_id)
ORDER BY cost['USD'] DESC, input_tokens + output_tokens DESC, start_time, trace_id
LIMIT 10;
