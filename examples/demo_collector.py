"""The collector half of the demo: the app's traces, and a second app's, go through `otel-tokenomics collector`.

The second app ("rag-service") stands for a team that already runs another instrumentation (OpenInference and
OpenLLMetry attribute names, no cost on its spans) and will not re-instrument: the collector prices its spans
and rolls cost up per trace, which is printed at the end from the file the collector wrote.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from otel_tokenomics.analysis.otlp_reader import OtlpReader
from otel_tokenomics.collector import Collector, CollectorOptions

__all__ = ["DemoCollector"]

ROLLUP_WAIT_SECONDS = 0.5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DemoCollector:
    """Rotel with our processor on free loopback ports, writing OTLP JSON lines to `output`."""

    def __init__(self, output: Path) -> None:
        output.unlink(missing_ok=True)
        output.with_name(f"{output.stem}.metrics.jsonl").unlink(missing_ok=True)
        self.output = output
        self.http_port = _free_port()
        self.collector = Collector(
            CollectorOptions(
                upstream=f"file:{output}",
                grpc_port=_free_port(),
                http_port=self.http_port,
                rollup_wait_seconds=ROLLUP_WAIT_SECONDS,
                metrics_interval_seconds=1.0,
                log_file=output.with_name("rotel.log"),
            )
        )

    def start(self) -> DemoCollector:
        self.collector.start()
        print(f"Collector (Rotel + our processor) receiving OTLP on http://127.0.0.1:{self.http_port}")
        return self

    def span_processor(self) -> BatchSpanProcessor:
        return BatchSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{self.http_port}/v1/traces"))

    def run_foreign_app(self) -> None:
        """Spans as OpenInference (LangChain) and OpenLLMetry write them: tokens, no cost."""
        provider = TracerProvider(resource=Resource.create({"service.name": "rag-service"}))
        provider.add_span_processor(self.span_processor())
        tracer = provider.get_tracer("openinference.instrumentation.langchain")
        for question_tokens in (1800, 5200):
            with tracer.start_as_current_span("RetrievalQA", attributes={"openinference.span.kind": "CHAIN"}):
                with tracer.start_as_current_span(
                    "ChatAnthropic",
                    attributes={
                        "openinference.span.kind": "LLM",
                        "llm.provider": "anthropic",
                        "llm.model_name": "claude-sonnet-4-5",
                        "llm.token_count.prompt": question_tokens,
                        "llm.token_count.completion": 240,
                    },
                ):
                    pass
                openllmetry = provider.get_tracer("opentelemetry.instrumentation.openai")
                with openllmetry.start_as_current_span(
                    "openai.embeddings",
                    attributes={
                        "llm.request.type": "embedding",
                        "gen_ai.system": "OpenAI",
                        "gen_ai.request.model": "text-embedding-3-small",
                        "gen_ai.usage.prompt_tokens": 310,
                    },
                ):
                    pass
        provider.shutdown()

    def stop(self) -> dict[str, int]:
        """Waits for the last traces to be released (the roll-up wait), then stops Rotel and the relay."""
        time.sleep(ROLLUP_WAIT_SECONDS * 3)
        return self.collector.stop()

    def print_rollup(self, summary: dict[str, Any]) -> None:
        print(
            f"\nThe collector received {summary.get('spans_received', 0)} spans and wrote "
            f"{summary.get('spans_forwarded', 0)} to {self.output} ({summary.get('released_traces', 0)} traces "
            f"rolled up, {summary.get('late_spans', 0)} late spans, {summary.get('spans_dropped', 0)} dropped)."
        )
        print("Per-trace roll-up the collector attached to each root span (tokenomics.trace.*):")
        print(f"  {'TRACE ID':<32}  {'SERVICE':<12} {'ROOT SPAN':<18} {'CALLS':>5} {'INPUT':>6} {'OUTPUT':>6}  COST")
        for record in OtlpReader(self.output, log_problems=False):
            rolled = record.attributes
            if "tokenomics.trace.spans" not in rolled:
                continue
            calls = rolled.get("tokenomics.trace.llm_calls", 0)
            if not calls:
                continue
            amount = rolled.get("tokenomics.trace.cost.amount")
            cost = f"{amount:.6f} {rolled.get('tokenomics.trace.cost.currency')}" if amount is not None else "-"
            unpriced = rolled.get("tokenomics.trace.unpriced_calls", 0)
            cost += f"  (+{unpriced} unpriced)" if unpriced else ""
            print(
                f"  {record.trace_id:<32}  {record.resource.get('service.name', '')!s:<12} {record.name[:18]:<18}"
                f" {calls:>5} {rolled.get('tokenomics.trace.input_tokens', 0):>6}"
                f" {rolled.get('tokenomics.trace.output_tokens', 0):>6}  {cost}"
            )
