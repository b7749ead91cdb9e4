-- Cost and tokens per provider, most expensive first. Costs are kept per currency (never added across them);
-- `unpriced_calls` are calls without a known price, not counted in `cost`. Add a time range with
-- `WHERE start_time >= '2025-11-01' AND start_time < '2025-12-01'` (and any other column of llm_calls).
SELECT
    provider,
    count() AS llm_calls,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sumMapIf(map(currency, assumeNotNull(amount)), priced) AS cost,
    countIf(unpriced) AS unpriced_calls,
    countIf(failed) AS failed_calls
FROM llm_calls
GROUP BY provider
ORDER BY arraySum(mapValues(cost)) DESC, input_tokens + output_tokens DESC, provider;
