"""Self-telemetry of the span enricher: how many spans were seen, priced, unpriced or skipped, and why.

Why counters and not logs: a processor that silently drops a span's cost (string token counts, unknown
models, a missing model attribute) is the most reported failure of collector-side pricing. Every span gets
exactly one outcome, and every unpriced or skipped span a low-cardinality reason, so a dashboard can show
"12 % of GenAI spans unpriced: unknown_model" instead of a cost that is quietly too low.

The counters are plain integers bumped by the one thread that enriches (hosts enrich from their export
thread); `observations()` feeds an OpenTelemetry ObservableCounter and `snapshot()` feeds logs and tests.
"""

from __future__ import annotations

from otel_tokenomics.semconv import attributes as attr

__all__ = [
    "ALREADY_PRICED",
    "OUTCOMES",
    "PRICED",
    "PROVIDER_COST",
    "SKIPPED",
    "UNPRICED",
    "EnrichmentStats",
    "SkipReason",
]

PRICED = "priced"
UNPRICED = "unpriced"
PROVIDER_COST = "provider_cost"
ALREADY_PRICED = "already_priced"
SKIPPED = "skipped"
OUTCOMES: tuple[str, ...] = (PRICED, UNPRICED, PROVIDER_COST, ALREADY_PRICED, SKIPPED)


class SkipReason:
    """Why a span was not priced and is not a call: `not_genai` (no GenAI attribute at all), `not_llm_call`
    (agent/workflow/tool/chain spans: their children carry the cost), `failed_call` (the call errored and
    reported no usage), `no_llm_data` (GenAI-looking keys but no model, usage, operation or cost),
    `internal_error` (a bug of ours, logged once)."""

    NOT_GENAI = "not_genai"
    NOT_LLM_CALL = "not_llm_call"
    FAILED_CALL = "failed_call"
    NO_LLM_DATA = "no_llm_data"
    INTERNAL_ERROR = "internal_error"


class EnrichmentStats:
    """Span counts by outcome and reason. `not_genai` has its own field: it is 90 % of the traffic and its
    path must stay one integer increment."""

    __slots__ = ("_counts", "not_genai", "seen")

    def __init__(self) -> None:
        self.seen = 0
        self.not_genai = 0
        self._counts: dict[tuple[str, str | None], int] = {}

    def count(self, outcome: str, reason: str | None = None) -> None:
        key = (outcome, reason)
        counts = self._counts
        counts[key] = counts.get(key, 0) + 1

    def by_outcome(self) -> dict[tuple[str, str | None], int]:
        """Counts keyed by (outcome, reason), including the skipped `not_genai` spans."""
        counts = dict(self._counts)
        if self.not_genai:
            key = (SKIPPED, SkipReason.NOT_GENAI)
            counts[key] = counts.get(key, 0) + self.not_genai
        return counts

    def snapshot(self) -> dict[str, int]:
        """`seen`, one total per outcome, and `<outcome>.<reason>` for unpriced and skipped spans."""
        result = {"seen": self.seen, **dict.fromkeys(OUTCOMES, 0)}
        for (outcome, reason), value in self.by_outcome().items():
            result[outcome] = result.get(outcome, 0) + value
            if reason is not None:
                name = f"{outcome}.{reason}"
                result[name] = result.get(name, 0) + value
        return result

    def observations(self) -> list[tuple[int, dict[str, str]]]:
        """(value, attributes) per series, for an ObservableCounter `tokenomics.processor.spans`."""
        points = []
        for (outcome, reason), value in self.by_outcome().items():
            labels = {attr.TOKENOMICS_PROCESSOR_OUTCOME: outcome}
            if reason is not None:
                labels[attr.TOKENOMICS_PROCESSOR_REASON] = reason
            points.append((value, labels))
        return points

    def __repr__(self) -> str:
        return f"EnrichmentStats({self.snapshot()})"
