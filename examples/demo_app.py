"""A small support-bot app calling the real `openai` SDK, instrumented by otel-tokenomics.

It talks to the project's fake provider on 127.0.0.1 (no keys, no network), prints each GenAI span as it ends,
writes every span as OTLP JSON lines (the OpenTelemetry Collector file exporter's format) and prints the
metrics it recorded. `make demo` then runs `otel-tokenomics report` on the file for the cost-per-trace table.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import openai
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import otel_tokenomics
from otel_tokenomics.budgets import BudgetExceededError, budget_scope
from otel_tokenomics.exporters import JsonLinesSpanExporter
from otel_tokenomics.fake_provider import FakeProvider
from otel_tokenomics.semconv.prices import PriceBook

HERE = Path(__file__).resolve().parent
SHARED_CONTEXT = "You answer questions about the ACME billing handbook. " + "Handbook section text. " * 350


class PrintGenAISpans(SpanProcessor):
    """Shows what each LLM call recorded, the moment its span ends."""

    def on_end(self, span: ReadableSpan) -> None:
        a = span.attributes or {}
        if "gen_ai.operation.name" not in a:
            return
        if "error.type" in a:
            outcome = f"error {a['error.type']}"
        elif a.get("tokenomics.cost.status") == "unpriced":
            outcome = f"UNPRICED ({a.get('tokenomics.cost.unpriced_reason')})"
        else:
            outcome = f"{a.get('gen_ai.usage.cost.amount', 0):.8f} {a.get('gen_ai.usage.cost.currency', '')}"
            outcome += f"  [{a.get('tokenomics.price.source')}]"
        if "tokenomics.budget.degraded_by" in a:
            outcome += f"  (degraded from {a['tokenomics.budget.requested_model']} by budget"
            outcome += f" '{a['tokenomics.budget.degraded_by']}')"
        print(
            f"  span {span.name:<34} in={a.get('gen_ai.usage.input_tokens', '-'):>5}"
            f" cached={a.get('gen_ai.usage.cache_read.input_tokens', 0):>5}"
            f" out={a.get('gen_ai.usage.output_tokens', '-'):>4}  {outcome}"
        )
        for event in span.events:
            if event.name == "tokenomics.budget.threshold":
                e = event.attributes or {}
                print(
                    f"  BUDGET WARNING: '{e['tokenomics.budget.name']}' ({e['tokenomics.budget.scope']}) passed"
                    f" {e['tokenomics.budget.threshold']:.0%}: spent {e['tokenomics.budget.spent']:.6f}"
                    f" of {e['tokenomics.budget.limit']}"
                    f" {'USD' if e['tokenomics.budget.unit'] == 'cost' else 'tokens'}"
                )


def run_traffic(client: openai.OpenAI, tracer: trace.Tracer) -> None:
    user = [{"role": "user", "content": "How do refunds work for annual plans?"}]
    with tracer.start_as_current_span("POST /chat", attributes={"user.id": "alice"}):
        client.chat.completions.create(model="gpt-4o-mini", messages=user, max_tokens=200)

    with tracer.start_as_current_span("POST /chat/stream", attributes={"user.id": "bob"}):
        stream = client.chat.completions.create(
            model="gpt-4o", messages=user, stream=True, stream_options={"include_usage": True}
        )
        print("  (streamed", sum(1 for _ in stream), "chunks)")

    with tracer.start_as_current_span("POST /ask-docs", attributes={"user.id": "alice"}):
        client.embeddings.create(model="text-embedding-3-small", input=["refund policy", "annual plans"])
        for question in ("What is the refund window?", "Are taxes refunded?"):
            # Same long system prompt twice: the second call reads it from the provider's prompt cache.
            client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "system", "content": SHARED_CONTEXT}, {"role": "user", "content": question}],
            )

    with tracer.start_as_current_span("POST /plan", attributes={"user.id": "carol"}):
        client.responses.create(model="o3-mini", input="Plan a migration of 40 invoices to the new ledger.")

    with tracer.start_as_current_span("POST /summarize", attributes={"user.id": "bob"}):
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=user, extra_headers={"x-fake-status": "500"})
        except openai.InternalServerError:
            print("  (provider failed with 500; the app retries)")
            client.chat.completions.create(model="gpt-4o-mini", messages=user)

    with tracer.start_as_current_span("POST /classify", attributes={"user.id": "dave"}):
        client.chat.completions.create(model="ft:gpt-4o-mini:acme:support", messages=user)
        client.chat.completions.create(model="acme-experimental-1", messages=user)


def run_budgeted_traffic(client: openai.OpenAI, tracer: trace.Tracer) -> None:
    question = [{"role": "user", "content": "Draft a polite reminder for an overdue invoice."}]
    with tracer.start_as_current_span("POST /assist", attributes={"tenant": "acme"}), budget_scope(tenant="acme"):
        for _ in range(3):  # the tenant's degrade budget swaps gpt-4o for gpt-4o-mini once half is spent
            client.chat.completions.create(model="gpt-4o", messages=question)
    with (
        tracer.start_as_current_span("POST /assist", attributes={"tenant": "trial-17"}),
        budget_scope(tenant="trial-17", plan="trial"),
    ):
        try:
            client.chat.completions.create(model="gpt-4o", messages=question, max_tokens=4000)
        except BudgetExceededError as refused:
            print(f"  REFUSED before sending: {refused}")


async def run_async_traffic(client: openai.AsyncOpenAI, tracer: trace.Tracer) -> None:
    with tracer.start_as_current_span("POST /batch-tag", attributes={"user.id": "erin"}):
        await asyncio.gather(
            *(
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": f"Tag ticket {n}"}]
                )
                for n in range(3)
            )
        )


def print_metrics(reader: InMemoryMetricReader) -> None:
    print("\nMetrics recorded (what Prometheus or any OTLP backend receives):")
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points = metric.data.data_points
                if metric.name == "gen_ai.client.token.usage":
                    for kind in ("input", "output"):
                        total = sum(p.sum for p in points if p.attributes.get("gen_ai.token.type") == kind)
                        print(f"  {metric.name}{{gen_ai.token.type={kind}}} sum = {total}")
                elif metric.name in ("tokenomics.client.cost", "gen_ai.client.operation.cost"):
                    by_currency: dict[str, float] = {}
                    for p in points:
                        currency = p.attributes.get("gen_ai.usage.cost.currency", "?")
                        by_currency[currency] = by_currency.get(currency, 0) + (getattr(p, "value", None) or p.sum)
                    totals = ", ".join(f"{v:.6f} {c}" for c, v in by_currency.items())
                    print(f"  {metric.name} ({metric.unit}) total = {totals}")
                elif metric.name == "tokenomics.client.unpriced_calls":
                    for p in points:
                        print(
                            f"  {metric.name}{{reason={p.attributes.get('tokenomics.cost.unpriced_reason')}}}"
                            f" = {p.value}"
                        )
                elif metric.name.startswith("tokenomics.budget."):
                    for p in points:
                        labels = ",".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in sorted(p.attributes.items()))
                        print(f"  {metric.name}{{{labels}}} = {p.value}")
                elif metric.name == "gen_ai.client.operation.duration":
                    print(f"  {metric.name} ({metric.unit}) count = {sum(p.count for p in points)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("demo-output/spans.jsonl"))
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.unlink(missing_ok=True)

    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    tracer_provider.add_span_processor(PrintGenAISpans())
    tracer_provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(args.output)))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    tracer = tracer_provider.get_tracer("demo")

    with FakeProvider() as fake:
        print(f"Fake OpenAI-compatible provider listening on {fake.openai_base_url}\n")
        handle = otel_tokenomics.instrument(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            price_book=PriceBook(sheets=[HERE / "demo-prices.toml"]),
            # The fake provider stands in for api.openai.com: price its calls as OpenAI's.
            provider_hosts={"127.0.0.1": "openai"},
            budgets=HERE / "demo-budgets.toml",
        )
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-demo-not-a-real-key", max_retries=0)
        run_traffic(client, tracer)
        print("\nBudgets (examples/demo-budgets.toml):")
        run_budgeted_traffic(client, tracer)
        async_client = openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="sk-demo", max_retries=0)
        asyncio.run(run_async_traffic(async_client, tracer))
        handle.uninstrument()

    tracer_provider.shutdown()
    print_metrics(reader)
    print(f"\nSpans written as OTLP JSON lines to {args.output}")


if __name__ == "__main__":
    main()
