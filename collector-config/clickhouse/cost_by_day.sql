-- Cost and tokens per UTC day, oldest first. See cost_by_model.sql for the columns.
SELECT
    toString(toDate(start_time, 'UTC')) AS day,
    count() AS llm_calls,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sumMapIf(map(currency, assumeNotNull(amount)), priced) AS cost,
    countIf(unpriced) AS unpriced_calls,
    countIf(failed) AS failed_calls
FROM llm_calls
GROUP BY day
ORDER BY day;
