-- Each LLM call without a known price, with the reason (unknown_model, unknown_provider, self_hosted,
-- no_usage, pricing_error, or no_cost_on_span when the span carries usage but no cost at all). The summary
-- below it counts them per provider, model and reason: what to add to a price sheet.
SELECT trace_id, span_id, start_time, service, provider, model, unpriced_reason AS reason, input_tokens, output_tokens
FROM llm_calls
WHERE unpriced
ORDER BY start_time, trace_id, span_id;
