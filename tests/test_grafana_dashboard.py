"""The Grafana dashboard and the Prometheus scrape config in collector-config/, checked without Grafana.

Every PromQL query of the dashboard may only name series and labels that the Prometheus end-to-end test saw
(`prometheus_series.SERIES_LABELS`, which that test asserts against a live Prometheus); a renamed metric or
label therefore fails here instead of leaving an empty panel. When Debian's `promtool` is installed, it parses
every query (as recording rules) and checks the scrape config.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_series import DASHBOARD, SERIES_LABELS, dashboard_queries

SCRAPE_CONFIG = DASHBOARD.parent.parent / "prometheus" / "prometheus.yml"
PROMTOOL = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
NO_PROMTOOL = "Debian's prometheus (promtool) is not installed (make system-deps installs it)"

# --- a small PromQL reader: enough to list the series and labels a query uses -----------------------------
_TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
      |(?P<range>\[[^\]]*\])
      |(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      |(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
      |(?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){},])
      |(?P<space>\s+)""",
    re.VERBOSE,
)
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = _GROUPING | {"bool", "and", "or", "unless", "offset", "inf", "nan"}
_MATCHERS = {"=", "!=", "=~", "!~"}


@dataclass
class QueryParts:
    metrics: list[str] = field(default_factory=list)
    selector_labels: list[tuple[str, str]] = field(default_factory=list)  # (metric, label)
    grouping_labels: list[tuple[str, str]] = field(default_factory=list)  # (keyword, label)


def _tokens(promql: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(promql):
        found = _TOKEN.match(promql, position)
        if found is None:
            raise ValueError(f"cannot read PromQL at {promql[position:]!r} in {promql!r}")
        if found.lastgroup != "space":
            tokens.append((found.lastgroup or "", found.group()))
        position = found.end()
    return tokens


def query_parts(promql: str) -> QueryParts:
    """The series names, selector labels and grouping labels (by/on/group_left...) a PromQL query uses."""
    tokens = _tokens(promql)
    parts = QueryParts()
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
        if kind == "ident" and text in _GROUPING:
            index += 1
            if following == ("op", "("):
                index += 1
                while tokens[index] != ("op", ")"):
                    if tokens[index][0] == "ident":
                        parts.grouping_labels.append((text, tokens[index][1]))
                    index += 1
            continue
        if kind == "ident" and text.lower() not in _KEYWORDS:
            is_function = following == ("op", "(") or (following[0] == "ident" and following[1] in ("by", "without"))
            if not is_function:
                parts.metrics.append(text)
                if following == ("op", "{"):
                    index = _read_selector(tokens, index + 1, text, parts)
        elif (kind, text) == ("op", "{"):
            raise ValueError(f"a selector without a metric name in {promql!r}: say which series it is")
        index += 1
    return parts


def _read_selector(tokens: list[tuple[str, str]], index: int, metric: str, parts: QueryParts) -> int:
    """Read `{label op "value", ...}` starting at the brace; returns the index of the closing brace."""
    while tokens[index] != ("op", "}"):
        kind, text = tokens[index]
        if kind == "ident" and tokens[index + 1][0] == "op" and tokens[index + 1][1] in _MATCHERS:
            parts.selector_labels.append((metric, text))
        index += 1
    return index


def test_query_parts_reads_names_selectors_and_grouping() -> None:
    parts = query_parts(
        'histogram_quantile(0.95, sum by (le, model) (rate(a_bucket{x=~"1|2", y!="b"}[5m]) '
        '* on (job, instance) group_left (svc) info{svc=~".*"})) * 3600 > bool 1e-3'
    )
    assert parts.metrics == ["a_bucket", "info"]
    assert parts.selector_labels == [("a_bucket", "x"), ("a_bucket", "y"), ("info", "svc")]
    assert parts.grouping_labels == [
        ("by", "le"),
        ("by", "model"),
        ("on", "job"),
        ("on", "instance"),
        ("group_left", "svc"),
    ]
    assert query_parts("sum(rate(c_total[1m])) by (provider)").grouping_labels == [("by", "provider")]


# --- the dashboard ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panel_targets(dashboard: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(panel, target) for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_every_query_uses_only_series_and_labels_prometheus_showed() -> None:
    problems: list[str] = []
    queries = dashboard_queries()
    assert len(queries) >= 20, "every panel and variable query is read"
    for query in queries:
        parts = query_parts(query.promql)
        if not parts.metrics:
            problems.append(f"{query.where}: names no series")
        unknown = [name for name in parts.metrics if name not in SERIES_LABELS]
        problems += [f"{query.where}: unknown series {name}" for name in unknown]
        known = [name for name in parts.metrics if name in SERIES_LABELS]
        for metric, label in parts.selector_labels:
            if metric in SERIES_LABELS and label not in SERIES_LABELS[metric]:
                problems.append(f"{query.where}: {metric} has no label {label}")
        for keyword, label in parts.grouping_labels:
            carriers = [name for name in known if label in SERIES_LABELS[name]]
            # A join label must be on both sides; a grouping label on at least one series.
            if (keyword in ("on", "ignoring") and len(carriers) != len(known)) or not carriers:
                problems.append(f"{query.where}: {keyword} ({label}) but {label} is not on {known}")
    assert not problems, "\n".join(problems)


def test_the_asked_for_panels_are_there(dashboard: dict[str, Any]) -> None:
    exprs = {panel["title"]: " ".join(t["expr"] for t in panel["targets"]) for panel in dashboard["panels"]}
    for by, label in (
        ("provider", "gen_ai_provider_name"),
        ("model", "gen_ai_request_model"),
        ("service", "service_name"),
    ):
        rate = exprs[f"Cost rate by {by} ($currency / hour)"]
        total = exprs[f"Total cost by {by} ($currency)"]
        assert f"sum by ({label})" in rate and "rate(tokenomics_client_cost_total" in rate
        assert f"sum by ({label})" in total and "increase(tokenomics_client_cost_total" in total
    assert "sum by (gen_ai_token_type)" in exprs["Tokens per second by type"]
    assert "tokenomics_client_unpriced_calls_total" in exprs["Unpriced calls"]
    assert "tokenomics_cost_unpriced_reason" in exprs["Unpriced calls by model and reason"]
    p95 = exprs["p95 operation duration by model"]
    assert p95.startswith("histogram_quantile(0.95,") and "gen_ai_client_operation_duration_seconds_bucket" in p95
    cost_per_call = [panel for panel in dashboard["panels"] if panel["title"] == "Cost per call ($currency)"]
    assert cost_per_call[0]["type"] == "heatmap"
    assert "sum by (le)" in cost_per_call[0]["targets"][0]["expr"]
    assert "gen_ai_client_operation_cost_bucket" in cost_per_call[0]["targets"][0]["expr"]


def test_every_panel_follows_the_provider_model_and_service_selection(dashboard: dict[str, Any]) -> None:
    for panel, target in panel_targets(dashboard):
        expr = target["expr"]
        for variable in ("$provider", "$model", "$service"):
            assert variable in expr, f"panel {panel['title']!r} ignores {variable}: {expr}"
        priced = [name for name in query_parts(expr).metrics if "gen_ai_usage_cost_currency" in SERIES_LABELS[name]]
        if priced:
            # Amounts in different currencies must never be summed together.
            assert expr.count('gen_ai_usage_cost_currency="$currency"') == len(priced), panel["title"]


def test_dashboard_is_importable_grafana_json(dashboard: dict[str, Any]) -> None:
    assert dashboard["schemaVersion"] == 39
    assert dashboard["uid"] and dashboard["title"]
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    datasource = variables["DS_PROMETHEUS"]
    assert (datasource["type"], datasource["query"]) == ("datasource", "prometheus")
    for name in ("service", "provider", "model"):
        assert variables[name]["type"] == "query" and variables[name]["multi"] and variables[name]["includeAll"]
        assert variables[name]["allValue"] == ".*", "the All value must be a regex for =~ selectors"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]
        assert all(target["datasource"] == panel["datasource"] for target in panel["targets"]), panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, f"{panel['title']!r} is wider than the dashboard"
    for name in ("service", "provider", "model", "currency"):
        assert variables[name]["datasource"]["uid"] == "${DS_PROMETHEUS}"


# --- promtool -----------------------------------------------------------------------------------------------
def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if PROMTOOL is None:
        if os.environ.get("CI"):
            pytest.fail(f"{NO_PROMTOOL}: CI must run this test")
        pytest.skip(NO_PROMTOOL)
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False)


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    """Recording rules are the one place promtool parses arbitrary PromQL offline."""
    queries = dashboard_queries()
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [{"record": f"dashboard:query_{i}", "expr": q.promql} for i, q in enumerate(queries)],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = run_promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout + result.stderr


def test_promtool_accepts_the_scrape_config() -> None:
    result = run_promtool("check", "config", str(SCRAPE_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
