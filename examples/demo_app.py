"""A small support-bot app calling the real `openai` SDK, instrumented by otel-tokenomics.

It talks to the project's fake provider on 127.0.0.1 (no keys, no network), prints each GenAI span as it ends,
writes every span as OTLP JSON lines (the OpenTelemetry Collector file exporter's format) and prints the
metrics it recorded. With `--collector-output`, its traces (and a second app's, instrumented by someone else)
also go through `otel-tokenomics collector` (Rotel + our processor), which prices and rolls them up per trace.
`make demo` then runs `otel-tokenomics report` on the files for the cost-per-trace tables.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

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


def run_multi_provider_trace(clients: dict[str, Any], tracer: trace.Tracer) -> None:
    """One user request answered by four providers: the report shows the trace's cost and the cost per provider."""
    question = "Give one tip to cut LLM costs."
    with tracer.start_as_current_span("POST /compare-answers", attributes={"user.id": "alice"}):
        clients["openai"].chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
        clients["anthropic"].messages.create(
            model="claude-sonnet-4-20250514", max_tokens=300, messages=[{"role": "user", "content": question}]
        )
        clients["gemini"].models.generate_content(model="gemini-2.5-flash", contents=question)
        clients["bedrock"].converse(
            modelId="amazon.nova-lite-v1:0",
            messages=[{"role": "user", "content": [{"text": question}]}],
            inferenceConfig={"maxTokens": 300},
        )


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


def _provider_clients(openai_client: Any, anthropic_fake: Any, gemini_fake: Any, bedrock_fake: Any) -> dict[str, Any]:
    import anthropic
    import boto3
    import botocore.config
    from google import genai
    from google.genai import types

    return {
        "openai": openai_client,
        "anthropic": anthropic.Anthropic(api_key="sk-ant-demo", base_url=anthropic_fake.base_url, max_retries=0),
        "gemini": genai.Client(
            api_key="demo-key",
            http_options=types.HttpOptions(
                base_url=gemini_fake.base_url, retry_options=types.HttpRetryOptions(attempts=1)
            ),
        ),
        "bedrock": boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=bedrock_fake.base_url,
            aws_access_key_id="demo",
            aws_secret_access_key="demo",
            config=botocore.config.Config(retries={"max_attempts": 0}),
        ),
    }


def print_metrics(reader: InMemoryMetricReader) -> None:
    """A compact summary of the metric points, summed over every SDK's instrumentation scope."""
    sums: dict[str, float] = {}
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    labels = point.attributes or {}
                    if metric.name == "gen_ai.client.token.usage":
                        key = f"{metric.name}{{gen_ai.token.type={labels.get('gen_ai.token.type')}}} sum"
                        value = point.sum
                    elif metric.name in ("gen_ai.client.operation.cost", "tokenomics.client.cost"):
                        key = f"{metric.name} ({metric.unit}) total, {labels.get('gen_ai.usage.cost.currency')}"
                        value = getattr(point, "value", None) or point.sum
                    elif metric.name == "gen_ai.client.operation.duration":
                        key, value = f"{metric.name} ({metric.unit}) count", point.count
                    elif metric.name == "tokenomics.client.unpriced_calls":
                        key = f"{metric.name}{{reason={labels.get('tokenomics.cost.unpriced_reason')}}}"
                        value = point.value
                    elif metric.name.startswith("tokenomics."):
                        label_text = ",".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in sorted(labels.items()))
                        key, value = f"{metric.name}{{{label_text}}}", point.value
                    else:
                        continue
                    sums[key] = sums.get(key, 0) + value
    print("\nMetrics recorded (what Prometheus or any OTLP backend receives), summed over all SDKs:")
    for key, value in sums.items():
        shown = f"{value:.6f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"
        print(f"  {key} = {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("demo-output/spans.jsonl"))
    parser.add_argument("--collector-output", type=Path, help="also send every trace through the collector")
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.unlink(missing_ok=True)

    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    tracer_provider.add_span_processor(PrintGenAISpans())
    tracer_provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(args.output)))
    collector = None
    if args.collector_output:
        from demo_collector import DemoCollector  # examples/ is on sys.path when run as a script

        collector = DemoCollector(args.collector_output).start()
        tracer_provider.add_span_processor(collector.span_processor())
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    tracer = tracer_provider.get_tracer("demo")

    # One fake server per provider it stands in for, so each port can be priced as that provider.
    with (
        FakeProvider() as fake,
        FakeProvider() as fake_anthropic,
        FakeProvider() as fake_gemini,
        FakeProvider() as fake_bedrock,
    ):
        print(f"Fake providers listening on {fake.base_url} (OpenAI), {fake_anthropic.base_url} (Anthropic),")
        print(f"  {fake_gemini.base_url} (Gemini), {fake_bedrock.base_url} (Bedrock)\n")
        handle = otel_tokenomics.instrument(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            price_book=PriceBook(sheets=[HERE / "demo-prices.toml"]),
            # The fakes stand in for the real APIs: price their calls as those providers'.
            provider_hosts={
                f"127.0.0.1:{fake.port}": "openai",
                f"127.0.0.1:{fake_anthropic.port}": "anthropic",
                f"127.0.0.1:{fake_gemini.port}": "gcp.gemini",
                f"127.0.0.1:{fake_bedrock.port}": "aws.bedrock",
            },
            budgets=HERE / "demo-budgets.toml",
        )
        print(f"Instrumented SDKs: {', '.join(handle.sdks)}\n")
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-demo-not-a-real-key", max_retries=0)
        run_traffic(client, tracer)
        print("\nOne request, four providers:")
        run_multi_provider_trace(_provider_clients(client, fake_anthropic, fake_gemini, fake_bedrock), tracer)
        print("\nBudgets (examples/demo-budgets.toml):")
        run_budgeted_traffic(client, tracer)
        async_client = openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="sk-demo", max_retries=0)
        asyncio.run(run_async_traffic(async_client, tracer))
        handle.uninstrument()

    tracer_provider.shutdown()
    print_metrics(reader)
    print(f"\nSpans written as OTLP JSON lines to {args.output}")
    if collector is not None:
        print("\nA second app (OpenInference + OpenLLMetry spans, no cost on them) sends its traces too:")
        collector.run_foreign_app()
        collector.print_rollup(collector.stop())


if __name__ == "__main__":
    main()
