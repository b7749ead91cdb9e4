"""Our metrics as Prometheus stores them: the one list the e2e test, the README and the Grafana dashboard share.

Written by hand from a real scrape (Debian's Prometheus 2.42 scraping opentelemetry-exporter-prometheus 0.66b2).
Nothing generates it: `test_prometheus_e2e.py` asserts that a live Prometheus exposes exactly these series with
exactly these labels, `test_grafana_dashboard.py` checks that every dashboard query uses only them, and the README
table "as seen by Prometheus" is checked against `AS_SEEN_BY_PROMETHEUS`. A change in the exporter's name
translation therefore fails the e2e test instead of silently emptying dashboards.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

from otel_tokenomics.semconv import metrics as m

__all__ = [
    "AS_SEEN_BY_PROMETHEUS",
    "DASHBOARD",
    "SERIES_LABELS",
    "TARGET_INFO",
    "PrometheusMetric",
    "dashboard_queries",
    "readme_prometheus_table",
]

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "collector-config" / "grafana" / "tokenomics-dashboard.json"
README = ROOT / "README.md"


class PrometheusMetric(NamedTuple):
    """One OTel instrument in Prometheus: its metric family (as `/api/v1/metadata` names it) and type."""

    family: str
    type: str  # "counter" or "histogram"
    labels: frozenset[str]  # on every sample series, besides the scrape's and the scope's

    @property
    def series(self) -> tuple[str, ...]:
        if self.type == "histogram":
            return (f"{self.family}_bucket", f"{self.family}_sum", f"{self.family}_count")
        return (f"{self.family}_total",)


# Added by Prometheus (job, instance) and by the exporter (the instrumentation scope) to every series of ours.
_SCRAPE = frozenset({"job", "instance"})
_SCOPE = frozenset({"otel_scope_name", "otel_scope_version", "otel_scope_schema_url"})
_COMMON = frozenset(
    {
        "gen_ai_operation_name",
        "gen_ai_provider_name",
        "gen_ai_request_model",
        "gen_ai_response_model",
        "server_address",
        "server_port",
    }
)

AS_SEEN_BY_PROMETHEUS: dict[str, PrometheusMetric] = {
    m.TOKENOMICS_CLIENT_COST: PrometheusMetric(
        "tokenomics_client_cost", "counter", _COMMON | {"gen_ai_usage_cost_currency"}
    ),
    m.TOKENOMICS_CLIENT_UNPRICED_CALLS: PrometheusMetric(
        "tokenomics_client_unpriced_calls", "counter", _COMMON | {"tokenomics_cost_unpriced_reason"}
    ),
    m.GEN_AI_CLIENT_TOKEN_USAGE: PrometheusMetric(
        "gen_ai_client_token_usage", "histogram", _COMMON | {"gen_ai_token_type"}
    ),
    # Failed calls add `error_type`; the e2e scenario has none (see its xfail test for why), so no query relies on it.
    m.GEN_AI_CLIENT_OPERATION_DURATION: PrometheusMetric(
        "gen_ai_client_operation_duration_seconds", "histogram", _COMMON
    ),
    m.GEN_AI_CLIENT_OPERATION_COST: PrometheusMetric(
        "gen_ai_client_operation_cost", "histogram", _COMMON | {"gen_ai_usage_cost_currency"}
    ),
    m.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK: PrometheusMetric(
        "gen_ai_client_operation_time_to_first_chunk_seconds", "histogram", _COMMON
    ),
}

# The resource (service.name, ...) is not on our series: the exporter puts it on one `target_info` gauge per
# target, which queries join on (job, instance). The e2e app's resource is only service.name.
TARGET_INFO = "target_info"


def _series_labels() -> dict[str, frozenset[str]]:
    labels: dict[str, frozenset[str]] = {TARGET_INFO: _SCRAPE | {"service_name"}}
    for metric in AS_SEEN_BY_PROMETHEUS.values():
        for series in metric.series:
            extra = {"le"} if series.endswith("_bucket") else set()
            labels[series] = metric.labels | _SCRAPE | _SCOPE | extra
    return labels


# Every series name a query may use → the union of the label names its series carry.
SERIES_LABELS: dict[str, frozenset[str]] = _series_labels()

# What Grafana substitutes before a query reaches Prometheus; values that select everything.
_GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__range": "1h",
    "$provider": ".*",
    "$model": ".*",
    "$service": ".*",
    "$currency": "USD",
}


def substitute_variables(expr: str) -> str:
    for name, value in _GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    if "$" in expr:
        raise AssertionError(f"unknown Grafana variable left in query: {expr}")
    return expr


class DashboardQuery(NamedTuple):
    where: str  # "panel 'Title' target A" or "variable 'provider'"
    raw: str  # as written in the dashboard
    promql: str  # ready for Prometheus (variables substituted; label_values(...) turned into PromQL)


_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>[a-zA-Z_]\w*)\)$")


def dashboard_queries(path: Path = DASHBOARD) -> list[DashboardQuery]:
    """Every Prometheus query of the dashboard: panel targets and template-variable queries."""
    dashboard = json.loads(path.read_text())
    queries: list[DashboardQuery] = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            where = f"panel {panel['title']!r} target {target['refId']}"
            queries.append(DashboardQuery(where, target["expr"], substitute_variables(target["expr"])))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        raw = variable["definition"]
        found = _LABEL_VALUES.match(raw)
        if found is None:
            raise AssertionError(f"variable {variable['name']!r}: expected label_values(selector, label), got {raw}")
        # label_values(sel, label) lists the label's values on the series sel matches: the same as this.
        promql = f"count by ({found['label']}) ({found['selector']})"
        queries.append(DashboardQuery(f"variable {variable['name']!r}", raw, substitute_variables(promql)))
    return queries


def readme_prometheus_table(path: Path = README) -> dict[str, tuple[str, set[str]]]:
    """The README table "as seen by Prometheus": OTel name → (type, Prometheus series names)."""
    text = path.read_text()
    header = text.find("| metric | as seen by Prometheus |")
    if header < 0:
        raise AssertionError("README.md has no table starting '| metric | as seen by Prometheus |'")
    rows: dict[str, tuple[str, set[str]]] = {}
    for line in text[header:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        otel, series, kind = (cell.strip() for cell in line.strip("|").split("|"))
        rows[otel.strip("`")] = (kind, set(re.findall(r"`([^`]+)`", series)))
    return rows
