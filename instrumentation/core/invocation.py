"""The state of one instrumented call, from request to the end of its span.

Adapters' readers write into it; the core reads it when the call ends. Its `finish`/`fail` are idempotent, so
every path that can end a call (normal return, exhaustion, error, close, context exit, garbage collection) may
call them without coordinating: the span is ended exactly once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from otel_tokenomics.instrumentation.core.guard import report_internal_error

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from otel_tokenomics.instrumentation.core.spec import Endpoint, StreamReader
    from otel_tokenomics.instrumentation.core.telemetry import Telemetry
    from otel_tokenomics.semconv.prices import PriceBook
    from otel_tokenomics.semconv.prices.cost import Cost
    from otel_tokenomics.semconv.usage import Usage

__all__ = ["Invocation"]


class Invocation:
    __slots__ = (
        "absorbed",
        "absorbed_requests",
        "attributes",
        "budget_state",
        "capture_content",
        "chunks_seen",
        "cost",
        "endpoint",
        "finished",
        "first_chunk_at",
        "input_messages",
        "output_messages",
        "provider",
        "provider_cost",
        "reader",
        "refusal",
        "request_attributes",
        "request_max_tokens",
        "request_model",
        "response_model",
        "self_hosted",
        "server_address",
        "server_port",
        "service_tier",
        "span",
        "started_at",
        "started_epoch",
        "stream",
        "stream_completed",
        "strip_usage_chunk",
        "system_instructions",
        "telemetry",
        "usage",
    )

    def __init__(self, telemetry: Telemetry, endpoint: Endpoint, capture_content: bool) -> None:
        self.telemetry = telemetry
        self.endpoint = endpoint
        self.capture_content = capture_content
        self.started_at = time.perf_counter()
        self.started_epoch = time.time()
        self.span: Span | None = None
        self.finished = False
        # Request side, written by the adapter's read_request.
        self.provider: str = "_OTHER"
        self.server_address: str | None = None
        self.server_port: int | None = None
        self.self_hosted = False
        self.request_model: str | None = None
        self.request_max_tokens: int | None = None
        self.stream = False
        self.request_attributes: dict[str, Any] = {}
        # Response side, written by read_response or the stream reader.
        self.response_model: str | None = None
        self.service_tier: str | None = None  # the tier that was billed (response's, else request's)
        self.usage: Usage | None = None
        self.provider_cost: float | None = None  # a cost the provider reported itself (e.g. OpenRouter)
        self.cost: Cost | None = None  # what the core priced the call at, once it ended
        self.attributes: dict[str, Any] = {}
        # Opt-in content, as conventions-shaped Python objects; serialized by the core only if enabled.
        self.input_messages: list[Any] | None = None
        self.output_messages: list[Any] | None = None
        self.system_instructions: list[Any] | None = None
        # Streams.
        self.reader: StreamReader | None = None
        self.first_chunk_at: float | None = None
        self.strip_usage_chunk = False
        self.stream_completed: bool | None = None
        self.chunks_seen = 0
        # Call guards (budgets).
        self.refusal: BaseException | None = None
        self.budget_state: Any = None
        # Round trips the SDK sent inside this call (`Target.absorb_usage`): each one's usage, and how many.
        self.absorbed: list[Usage] | None = None
        self.absorbed_requests = 0

    def absorb(self, usage: Usage | None) -> None:
        """Count one request the SDK sent on this call's behalf; its usage is billed on top of the others'."""
        self.absorbed_requests += 1
        if usage is None:
            return
        if self.absorbed is None:
            self.absorbed = [usage]
        else:
            self.absorbed.append(usage)

    def price(self, price_book: PriceBook, usage: Usage, when: float | None = None) -> Cost:
        """`usage` priced as this call's (provider, models, address, tier); `when` defaults to its start."""
        return price_book.cost(
            usage,
            provider=self.provider,
            model=self.response_model,
            request_model=self.request_model,
            server_address=self.server_address,
            service_tier=self.service_tier,
            when=self.started_epoch if when is None else when,
            self_hosted=self.self_hosted,
        )

    def on_chunk(self, chunk: Any) -> bool:
        """Feed one stream chunk to the reader; True means hide it from the caller. Never raises."""
        if self.first_chunk_at is None:
            self.first_chunk_at = time.perf_counter()
        self.chunks_seen += 1
        reader = self.reader
        if reader is None:
            return False
        try:
            return reader.feed(chunk) and self.strip_usage_chunk
        except Exception:
            report_internal_error("stream chunk reader")
            return False

    def finish(self, *, completed: bool | None = None) -> None:
        """End successfully (a stream: `completed` says whether it was read to its end)."""
        if not self.finished:
            self.finished = True
            self.stream_completed = completed if self.stream else None
            self.telemetry.end(self, None)

    def fail(self, error: BaseException) -> None:
        if not self.finished:
            self.finished = True
            self.telemetry.end(self, error)
