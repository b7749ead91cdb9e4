"""Spans, metrics and cost for every instrumented call, whatever the provider.

One `Telemetry` per instrumentor holds the tracer, the metric instruments (shared by every adapter: instruments.py)
the price book and the settings. `begin` turns a request into an `Invocation` with a
started span; `end` is the single place where a call's outcome becomes attributes, metric points and cost.
Both contain their own errors: the application never sees an exception of ours.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from otel_tokenomics.instrumentation.core.guard import report_internal_error
from otel_tokenomics.instrumentation.core.instruments import SCHEMA_URL, instruments_for
from otel_tokenomics.instrumentation.core.invocation import Invocation
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.attributes import CostStatus
from otel_tokenomics.semconv.prices.cost import Cost
from otel_tokenomics.semconv.usage import Usage

if TYPE_CHECKING:
    from otel_tokenomics.instrumentation.core.config import InstrumentationConfig
    from otel_tokenomics.instrumentation.core.spec import CallGuard, Endpoint
    from otel_tokenomics.semconv.prices import PriceBook

__all__ = ["MetricAttributes", "Telemetry"]

_INPUT = {attr.GEN_AI_TOKEN_TYPE: attr.TokenType.INPUT}
_OUTPUT = {attr.GEN_AI_TOKEN_TYPE: attr.TokenType.OUTPUT}
_OPERATION_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_NO_USAGE = Usage()  # priced as `unpriced/no_usage`, never as 0
_ATTRIBUTE_SET_CACHE_LIMIT = 1000


class Telemetry:
    def __init__(
        self,
        scope: str,
        version: str,
        config: InstrumentationConfig,
        price_book: PriceBook,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        guard: CallGuard | None = None,
    ) -> None:
        self.config = config
        self.price_book = price_book
        self.enabled = True
        self.guard: CallGuard | None = guard
        self.capture_content = config.content.on_span or config.content.as_event
        self.tracer = trace.get_tracer(scope, version, tracer_provider, schema_url=SCHEMA_URL)
        instruments = instruments_for(meter_provider, version)
        self.duration = instruments.duration
        self.token_usage = instruments.token_usage
        self.time_to_first_chunk = instruments.time_to_first_chunk
        self.cost_histogram = instruments.cost_histogram
        self.cost_totals = instruments.cost_totals
        self.unpriced_totals = instruments.unpriced_totals
        self._attribute_sets: dict[tuple[Any, ...], MetricAttributes] = {}

    # --- start ---------------------------------------------------------------------------------------------
    def begin(self, endpoint: Endpoint, instance: Any, kwargs: dict[str, Any]) -> Invocation | None:
        """Read the request, consult the call guard and start the span.

        Returns None (the call proceeds uninstrumented) if anything of ours fails; raises only a guard's
        refusal (e.g. `BudgetExceededError`), which is the one exception a user asked us to raise.
        """
        try:
            invocation = Invocation(self, endpoint, self.capture_content)
            endpoint.read_request(invocation, instance, kwargs)
            if invocation.stream and self.config.inject_stream_usage and endpoint.inject_stream_usage is not None:
                invocation.strip_usage_chunk = endpoint.inject_stream_usage(invocation, kwargs)
            guard = self.guard
            if guard is not None:
                try:
                    guard.before(invocation, kwargs)
                except guard.refusal_types as refusal:
                    invocation.refusal = refusal
                except Exception:
                    report_internal_error("call guard")
            attributes = invocation.request_attributes
            attributes[attr.GEN_AI_OPERATION_NAME] = endpoint.operation
            attributes[attr.GEN_AI_PROVIDER_NAME] = invocation.provider
            if invocation.request_model:
                attributes[attr.GEN_AI_REQUEST_MODEL] = invocation.request_model
            if invocation.server_address:
                attributes[attr.SERVER_ADDRESS] = invocation.server_address
                if invocation.server_port:
                    attributes[attr.SERVER_PORT] = invocation.server_port
            if invocation.stream:
                attributes[attr.GEN_AI_REQUEST_STREAM] = True
            name = (
                f"{endpoint.operation} {invocation.request_model}" if invocation.request_model else (endpoint.operation)
            )
            invocation.span = self.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        except Exception:
            report_internal_error("request reader")
            return None
        if invocation.refusal is not None:
            # Refused before sending: the provider never sees the request; the span says why.
            invocation.fail(invocation.refusal)
            raise invocation.refusal
        return invocation

    # --- end -----------------------------------------------------------------------------------------------
    def end(self, invocation: Invocation, error: BaseException | None) -> None:
        """Turn the outcome into attributes, metric points and cost, then end the span. Never raises."""
        span = invocation.span
        if span is None:
            return
        try:
            self._record(invocation, span, error)
        except Exception:
            report_internal_error("span finish")
        guard = self.guard
        if guard is not None and invocation.budget_state is not None:
            try:
                guard.after(invocation, error)
            except Exception:
                report_internal_error("call guard")
        try:
            span.end()
        except Exception:
            report_internal_error("span end")

    def _record(self, invocation: Invocation, span: Any, error: BaseException | None) -> None:
        duration = time.perf_counter() - invocation.started_at
        if invocation.reader is not None:
            try:
                invocation.reader.close()
            except Exception:
                report_internal_error("stream reader close")
        attributes = invocation.attributes
        metric_set = self._metric_attribute_set(invocation)
        metric_attributes = metric_set.base
        if invocation.first_chunk_at is not None:
            ttfc = invocation.first_chunk_at - invocation.started_at
            attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = ttfc
            self.time_to_first_chunk.record(ttfc, metric_attributes)
        if invocation.stream_completed is not None:
            attributes[attr.TOKENOMICS_STREAM_COMPLETED] = invocation.stream_completed
        if invocation.absorbed_requests:
            attributes[attr.TOKENOMICS_USAGE_REQUESTS] = invocation.absorbed_requests
            if invocation.absorbed:
                # The final response is the last round trip's: the sum of all of them replaces it.
                invocation.usage = _sum_usage(invocation.absorbed)

        if error is not None:
            error_type = _error_type(error)
            attributes[attr.ERROR_TYPE] = error_type
            metric_attributes = {**metric_attributes, attr.ERROR_TYPE: error_type}
            status_code = _http_status(error)
            if status_code is not None:
                attributes["http.response.status_code"] = status_code
            # The message is left out on purpose: provider errors can echo (masked) keys back.
            span.set_status(Status(StatusCode.ERROR, error_type))
            if invocation.absorbed:  # round trips answered before the failure were billed all the same
                self._usage_and_cost(invocation, attributes, metric_set)
            self._content(invocation, span, attributes)
            span.set_attributes(attributes)
            self.duration.record(duration, metric_attributes)
            return

        if invocation.response_model:
            attributes[attr.GEN_AI_RESPONSE_MODEL] = invocation.response_model
        self._usage_and_cost(invocation, attributes, metric_set)
        self._content(invocation, span, attributes)
        span.set_attributes(attributes)
        self.duration.record(duration, metric_attributes)

    def _usage_and_cost(self, invocation: Invocation, attributes: dict[str, Any], metric_set: MetricAttributes) -> None:
        usage = invocation.usage
        attributes[attr.TOKENOMICS_USAGE_REPORTED] = usage is not None
        if usage is not None:
            attributes.update(usage.span_attributes())
            self.token_usage.record(usage.input_tokens, metric_set.input)
            self.token_usage.record(usage.output_tokens, metric_set.output)
        self._cost(invocation, attributes, metric_set)

    def _cost(self, invocation: Invocation, attributes: dict[str, Any], metric_set: MetricAttributes) -> None:
        absorbed = invocation.absorbed
        if absorbed is not None and len(absorbed) > 1:
            # Each round trip is billed on its own: a tier (Gemini's >200k prompt rate) applies per request,
            # never to the sum of them.
            cost = _sum_costs([invocation.price(self.price_book, usage) for usage in absorbed])
        elif invocation.provider_cost is not None:
            cost = Cost.reported_by_provider(invocation.provider_cost)
        else:
            cost = invocation.price(self.price_book, invocation.usage or _NO_USAGE)
        invocation.cost = cost
        attributes.update(cost.span_attributes())
        amount = cost.amount
        if amount is None:
            reason = cost.unpriced_reason or attr.UnpricedReason.ERROR
            self.unpriced_totals.add(
                (metric_set.key, reason), {**metric_set.base, attr.TOKENOMICS_COST_UNPRICED_REASON: reason}, 1
            )
            return
        cost_attributes = metric_set.with_currency(cost.currency)
        self.cost_histogram.record(amount, cost_attributes)
        self.cost_totals.add((metric_set.key, cost.currency), cost_attributes, amount)

    def _content(self, invocation: Invocation, span: Any, attributes: dict[str, Any]) -> None:
        """Prompts and completions, only when the user opted in; serialized once, here."""
        mode = self.config.content
        if not invocation.capture_content:
            return
        content: dict[str, str] = {}
        if invocation.system_instructions:
            content[attr.GEN_AI_SYSTEM_INSTRUCTIONS] = json.dumps(invocation.system_instructions, default=str)
        if invocation.input_messages:
            content[attr.GEN_AI_INPUT_MESSAGES] = json.dumps(invocation.input_messages, default=str)
        if invocation.output_messages:
            content[attr.GEN_AI_OUTPUT_MESSAGES] = json.dumps(invocation.output_messages, default=str)
        if mode.on_span:
            attributes.update(content)
        if mode.as_event and content:
            span.add_event(_OPERATION_DETAILS_EVENT, content)

    def _metric_attribute_set(self, invocation: Invocation) -> MetricAttributes:
        """The metric attribute dicts of this call's series, built once per series and reused."""
        key = (
            invocation.request_attributes[attr.GEN_AI_OPERATION_NAME],
            invocation.provider,
            invocation.request_model,
            invocation.response_model,
            invocation.server_address,
            invocation.server_port,
        )
        found = self._attribute_sets.get(key)
        if found is None:
            found = MetricAttributes(key)
            if len(self._attribute_sets) < _ATTRIBUTE_SET_CACHE_LIMIT:
                self._attribute_sets[key] = found
        return found


class MetricAttributes:
    """One series' metric attributes: low-cardinality only (a host, not a URL; no ids, no lists)."""

    __slots__ = ("base", "by_currency", "input", "key", "output")

    def __init__(self, key: tuple[Any, ...]) -> None:
        operation, provider, request_model, response_model, address, port = key
        base: dict[str, Any] = {attr.GEN_AI_OPERATION_NAME: operation, attr.GEN_AI_PROVIDER_NAME: provider}
        if request_model:
            base[attr.GEN_AI_REQUEST_MODEL] = request_model
        if response_model:
            base[attr.GEN_AI_RESPONSE_MODEL] = response_model
        if address:
            base[attr.SERVER_ADDRESS] = address
            if port:
                base[attr.SERVER_PORT] = port
        self.key = key
        self.base = base
        self.input = {**base, **_INPUT}
        self.output = {**base, **_OUTPUT}
        self.by_currency: dict[str, dict[str, Any]] = {}

    def with_currency(self, currency: str) -> dict[str, Any]:
        found = self.by_currency.get(currency)
        if found is None:
            found = self.by_currency[currency] = {**self.base, attr.GEN_AI_USAGE_COST_CURRENCY: currency}
        return found


def _sum_usage(usages: list[Usage]) -> Usage:
    total = usages[0]
    for usage in usages[1:]:
        total = total + usage
    return total


def _sum_costs(costs: list[Cost]) -> Cost:
    """One call's cost from its round trips'; one unpriced round trip leaves the call unpriced (no partial sum)."""
    for cost in costs:
        if cost.amount is None:
            return cost
    first = costs[0]
    status = CostStatus.PRICED if any(cost.status == CostStatus.PRICED for cost in costs) else first.status
    return first._replace(
        status=status,
        amount=sum(cost.amount or 0.0 for cost in costs),
        input=sum(cost.input or 0.0 for cost in costs),
        cache_read=sum(cost.cache_read or 0.0 for cost in costs),
        cache_write=sum(cost.cache_write or 0.0 for cost in costs),
        output=sum(cost.output or 0.0 for cost in costs),
    )


def _http_status(error: BaseException) -> int | None:
    """The HTTP status of an SDK error, wherever the SDK keeps it (`status_code`, `code`, botocore's response)."""
    for candidate in (getattr(error, "status_code", None), getattr(error, "code", None)):
        if isinstance(candidate, int) and 100 <= candidate < 600:
            return candidate
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int):
            return status
    return None


def _error_type(error: BaseException) -> str:
    return type(error).__qualname__
