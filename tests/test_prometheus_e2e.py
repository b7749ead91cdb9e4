"""A real Prometheus scrapes an instrumented app and answers what a FinOps dashboard asks.

The app (in this process) calls the fake provider through the real openai and anthropic SDKs: two priced models,
one model no catalog knows (unpriced) and one streamed call. Its metrics go to the OpenTelemetry
Prometheus exporter on a loopback port, its spans to memory. Debian's `prometheus` (started here, on a free
loopback port, with `collector-config/prometheus/prometheus.yml` pointed at the app) scrapes it every second.
Then PromQL over the cost, token and unpriced counters must give what the spans say, and the series names and
labels must be exactly those of `prometheus_series.py`, which the README and the Grafana dashboard rely on.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai
import opentelemetry.exporter.prometheus as prometheus_exporter
import prometheus_client
import pytest
import yaml
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from prometheus_series import (
    AS_SEEN_BY_PROMETHEUS,
    SERIES_LABELS,
    TARGET_INFO,
    dashboard_queries,
    readme_prometheus_table,
)

import otel_tokenomics
from otel_tokenomics.fake_provider import FakeProvider

PROMETHEUS = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)
SCRAPE_CONFIG = Path(__file__).resolve().parent.parent / "collector-config" / "prometheus" / "prometheus.yml"
SERVICE = "checkout-api"
UNKNOWN_MODEL = "acme-experimental-1"
MESSAGES = [{"role": "user", "content": "What does a token cost?"}]
WAIT_SECONDS = 60.0


@dataclass
class Scraped:
    """The app's spans, and a Prometheus that has scraped its metrics."""

    spans: list[ReadableSpan]
    query: Callable[[str], list[dict[str, Any]]]
    api: Callable[..., Any]

    def sum_by(self, label: str, selector: str) -> dict[str, float]:
        """`sum by (label) (selector)`, as {label value: sum}."""
        return by_label(self.query(f"sum by ({label}) ({selector})"), label)


def run_instrumented_app(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, *, failed_openai_call: bool = False
) -> None:
    with FakeProvider() as openai_fake, FakeProvider() as anthropic_fake:
        handle = otel_tokenomics.instrument(
            sdks=["openai", "anthropic"],
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            # Both fakes are on loopback (self-hosted by default): price them as the providers they imitate.
            provider_hosts={
                f"127.0.0.1:{openai_fake.port}": "openai",
                f"127.0.0.1:{anthropic_fake.port}": "anthropic",
            },
        )
        try:
            oai = openai.OpenAI(base_url=openai_fake.openai_base_url, api_key="sk-test", max_retries=0)
            claude = anthropic.Anthropic(base_url=anthropic_fake.base_url, api_key="sk-ant-test", max_retries=0)
            oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            stream = oai.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
            for _ in stream:
                pass
            oai.chat.completions.create(model=UNKNOWN_MODEL, messages=MESSAGES)
            claude.messages.create(model="claude-haiku-4-5", max_tokens=300, messages=MESSAGES)
            if failed_openai_call:
                with pytest.raises(openai.RateLimitError):
                    oai.chat.completions.create(model="fake-error-429", messages=MESSAGES)
        finally:
            handle.uninstrument()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bool(response.status == 200)


def wait_for(what: str, check: Callable[[], Any], log: Path) -> Any:
    """Poll until `check()` is truthy; fail naming what never happened, with Prometheus's log."""
    deadline = time.monotonic() + WAIT_SECONDS
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (OSError, ValueError) as error:
            last_error = error
        time.sleep(0.25)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    pytest.fail(f"waited {WAIT_SECONDS:.0f}s for {what} (last error: {last_error}); prometheus log:\n{tail}")


def write_scrape_config(directory: Path, app_port: int) -> Path:
    """The shipped scrape config, pointed at the test app and scraping every second."""
    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    config["global"]["scrape_interval"] = config["global"]["evaluation_interval"] = "1s"
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "llm-app"]
    job["static_configs"] = [{"targets": [f"127.0.0.1:{app_port}"]}]
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    if PROMETHEUS is None:
        missing = "Debian's prometheus is not installed (make system-deps installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: CI must run this test")
        pytest.skip(f"{missing}; CI installs it")
    workdir = tmp_path_factory.mktemp("prometheus")
    exporter = InMemorySpanExporter()
    resource = Resource({"service.name": SERVICE})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    registry = prometheus_client.CollectorRegistry()
    reader = prometheus_exporter.PrometheusMetricReader(registry=registry)
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource)
    run_instrumented_app(tracer_provider, meter_provider)

    metrics_server, metrics_thread = prometheus_client.start_http_server(0, addr="127.0.0.1", registry=registry)
    config = write_scrape_config(workdir, metrics_server.server_port)
    log = workdir / "prometheus.log"
    port = free_port()
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    def api(path: str, **params: Any) -> Any:
        body = http_json(f"{base}/api/v1/{path}?{urllib.parse.urlencode(params, doseq=True)}")
        assert body["status"] == "success", body
        return body["data"]

    def query(promql: str) -> list[dict[str, Any]]:
        data = api("query", query=promql)
        assert data["resultType"] == "vector", (promql, data)
        return data["result"]

    try:
        wait_for("Prometheus to be ready", lambda: process.poll() is None and http_ok(f"{base}/-/ready"), log)
        wait_for(
            "the app's target to be up",
            lambda: [t for t in api("targets")["activeTargets"] if t["health"] == "up"],
            log,
        )
        # Every call was made before the first scrape, so one scrape holds all series; rate() needs two.
        wait_for(
            "two scrapes of the cost counter",
            lambda: query("count_over_time(tokenomics_client_cost_total[1m]) > 1"),
            log,
        )
        yield Scraped(list(exporter.get_finished_spans()), query, api)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        metrics_server.shutdown()
        metrics_server.server_close()
        metrics_thread.join(timeout=5)
        meter_provider.shutdown()
        tracer_provider.shutdown()


def by_label(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {sample["metric"].get(label, ""): float(sample["value"][1]) for sample in result}


def span_attributes(scraped: Scraped) -> list[dict[str, Any]]:
    return [
        dict(span.attributes or {}) for span in scraped.spans if (span.attributes or {}).get("gen_ai.operation.name")
    ]


def test_the_app_made_the_calls_the_scenario_needs(scraped: Scraped) -> None:
    spans = span_attributes(scraped)
    assert Counter(span["gen_ai.provider.name"] for span in spans) == {"openai": 3, "anthropic": 1}
    assert sum(1 for span in spans if span.get("tokenomics.cost.status") == "unpriced") == 1


def test_cost_per_model_in_promql_equals_the_span_costs(scraped: Scraped) -> None:
    expected: dict[str, float] = defaultdict(float)
    for span in span_attributes(scraped):
        if "gen_ai.usage.cost.amount" in span:
            expected[span["gen_ai.request.model"]] += span["gen_ai.usage.cost.amount"]
    assert set(expected) == {"gpt-4o-mini", "claude-haiku-4-5"}
    got = scraped.sum_by("gen_ai_request_model", "tokenomics_client_cost_total")
    assert got == pytest.approx(expected, rel=1e-9)
    by_provider = scraped.sum_by("gen_ai_provider_name", "tokenomics_client_cost_total")
    assert by_provider == pytest.approx({"openai": expected["gpt-4o-mini"], "anthropic": expected["claude-haiku-4-5"]})
    # The cost histogram's sum carries the same money as the counter.
    histogram = scraped.sum_by("gen_ai_request_model", "gen_ai_client_operation_cost_sum")
    assert histogram == pytest.approx(expected, rel=1e-9)


def test_cost_per_service_through_the_target_info_join(scraped: Scraped) -> None:
    """The dashboard's way to get `service.name` onto our series (it lives on target_info only)."""
    total = sum(span.get("gen_ai.usage.cost.amount", 0.0) for span in span_attributes(scraped))
    joined = "tokenomics_client_cost_total * on (job, instance) group_left (service_name) target_info"
    assert scraped.sum_by("service_name", joined) == pytest.approx({SERVICE: total}, rel=1e-9)


def test_tokens_by_type_equal_the_span_tokens(scraped: Scraped) -> None:
    with_usage = [span for span in span_attributes(scraped) if "gen_ai.usage.input_tokens" in span]
    assert len(with_usage) == 4, "every successful call reports usage"
    expected = {
        "input": sum(span["gen_ai.usage.input_tokens"] for span in with_usage),
        "output": sum(span["gen_ai.usage.output_tokens"] for span in with_usage),
    }
    assert scraped.sum_by("gen_ai_token_type", "gen_ai_client_token_usage_sum") == expected
    assert scraped.sum_by("gen_ai_token_type", "gen_ai_client_token_usage_count") == {"input": 4, "output": 4}


def test_unpriced_calls_are_counted_with_their_reason(scraped: Scraped) -> None:
    unpriced = [span for span in span_attributes(scraped) if span.get("tokenomics.cost.status") == "unpriced"]
    result = scraped.query(
        "sum by (gen_ai_request_model, tokenomics_cost_unpriced_reason) (tokenomics_client_unpriced_calls_total)"
    )
    assert [(s["metric"], float(s["value"][1])) for s in result] == [
        ({"gen_ai_request_model": UNKNOWN_MODEL, "tokenomics_cost_unpriced_reason": "unknown_model"}, len(unpriced))
    ]
    assert not scraped.query(f'tokenomics_client_cost_total{{gen_ai_request_model="{UNKNOWN_MODEL}"}}'), (
        "an unpriced call must not appear as a zero cost"
    )


def test_duration_histogram_buckets_count_every_call(scraped: Scraped) -> None:
    calls = len(span_attributes(scraped))
    assert scraped.query("count(gen_ai_client_operation_duration_seconds_bucket) > 0")
    everything = scraped.query('sum(gen_ai_client_operation_duration_seconds_bucket{le="+Inf"})')
    assert float(everything[0]["value"][1]) == calls


def test_series_names_and_labels_are_exactly_the_documented_ones(scraped: Scraped) -> None:
    """What README and the dashboard promise (prometheus_series.py) is what Prometheus stores."""
    found = scraped.api("series", **{"match[]": ['{otel_scope_name=~"otel_tokenomics.*"}', TARGET_INFO]})
    observed: dict[str, set[str]] = defaultdict(set)
    for labels in found:
        observed[labels["__name__"]].update(name for name in labels if name != "__name__")
    assert {name: frozenset(labels) for name, labels in observed.items()} == SERIES_LABELS


def test_metric_types_in_prometheus_metadata(scraped: Scraped) -> None:
    metadata = scraped.api("metadata")
    for otel_name, metric in AS_SEEN_BY_PROMETHEUS.items():
        assert metric.family in metadata, f"{otel_name}: no metadata for {metric.family}; have {sorted(metadata)}"
        assert metadata[metric.family][0]["type"] == metric.type, otel_name


def test_every_dashboard_query_returns_data(scraped: Scraped) -> None:
    """Each Grafana panel and variable query, evaluated by this Prometheus, finds series."""
    empty = []
    for dashboard_query in dashboard_queries():
        if not scraped.query(dashboard_query.promql):
            empty.append(f"{dashboard_query.where}: {dashboard_query.promql}")
    assert not empty, "queries without data:\n" + "\n".join(empty)


def test_label_values_stay_on_their_labels_when_one_sdk_saw_an_error() -> None:
    """What a user of two SDKs sees on /metrics once one SDK had an error: each series keeps its own labels.

    opentelemetry-exporter-prometheus 0.66b2 merges same-named metrics of different meter scopes with the first
    scope's label names, shifting other series' values onto the wrong labels; one meter scope for every adapter
    (instrumentation/core/instruments.py) keeps them apart."""
    registry = prometheus_client.CollectorRegistry()
    meter_provider = MeterProvider(metric_readers=[prometheus_exporter.PrometheusMetricReader(registry=registry)])
    tracer_provider = TracerProvider()
    try:
        run_instrumented_app(tracer_provider, meter_provider, failed_openai_call=True)
        exposition = prometheus_client.generate_latest(registry).decode()
    finally:
        meter_provider.shutdown()
        tracer_provider.shutdown()
    durations = [
        sample.labels
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "gen_ai_client_operation_duration_seconds_count"
    ]
    providers = Counter(labels["gen_ai_provider_name"] for labels in durations)
    assert providers == {"openai": 3, "anthropic": 1}, durations
    (claude,) = [labels for labels in durations if labels["gen_ai_provider_name"] == "anthropic"]
    assert claude["gen_ai_request_model"] == "claude-haiku-4-5"
    assert claude["otel_scope_name"] == "otel_tokenomics"  # every adapter records into one meter scope
    assert "error_type" not in claude or claude["error_type"] == ""


def test_readme_states_the_names_prometheus_showed() -> None:
    """The README table 'as seen by Prometheus' is the list the live Prometheus is checked against above."""
    table = readme_prometheus_table()
    assert table == {
        otel_name: (metric.type, set(metric.series)) for otel_name, metric in AS_SEEN_BY_PROMETHEUS.items()
    }
