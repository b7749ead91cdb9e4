-- Unpriced LLM calls per provider, model and reason, most frequent first.
SELECT provider, model, unpriced_reason AS reason, count() AS calls
FROM llm_calls
WHERE unpriced
GROUP BY provider, model, reason
ORDER BY calls DESC, provider, model, reason;
