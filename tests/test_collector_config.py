"""`otel-tokenomics collector-config`: the generated OTTL prices spans exactly as the Python price book does.

No collector binary can be installed here, so the statements are run by `tests/ottl_eval.py`, an OTTL
interpreter written from the grammar (RE2 regexes, int/float mixing is an error), and every priced amount is
compared with `PriceBook.cost()` for the usage a reader would derive by hand from the span.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from ottl_eval import OttlError, parse_statement, run

from otel_tokenomics.cli import main
from otel_tokenomics.processor.ottl import compile_price_book
from otel_tokenomics.semconv.prices import PriceBook
from otel_tokenomics.semconv.prices.sheet import PriceSheet
from otel_tokenomics.semconv.usage import Usage

WHEN = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
MODELS = ["gpt-4o", "gpt-4o-mini", "o3-mini", "claude-sonnet-4-5", "gemini-2.5-flash", "gemini-2.5-pro",
          "deepseek-chat"]
EXAMPLES = Path(__file__).resolve().parent.parent / "collector-config" / "otelcol"
EXAMPLE_MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash", "deepseek-chat"]
EXAMPLE_COMMANDS = {
    ("single.yaml",): ["--layout", "single", "--models", *EXAMPLE_MODELS, "--at", "2026-01-01"],
    ("tier1.yaml", "tier2.yaml"): ["--layout", "two-tier", "--group-by-trace", "--models", *EXAMPLE_MODELS,
                                   "--at", "2026-01-01"],
}
SHEET = {
    "version": "test-sheet-1",
    "models": [
        {"model": "acme-llm-*", "input": 0.5, "output": 1.5, "cache_read": 0.05},
        {"provider": "openai", "model": "gpt-4o-mini*", "multiplier": 0.8},
        {"server_address": "vllm.internal", "free": True},
    ],
}


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook([PriceSheet.from_dict(SHEET, name="test-sheet")])


@pytest.fixture(scope="module")
def program(book: PriceBook) -> Any:
    return compile_price_book(book, models=MODELS, when=WHEN)


@pytest.fixture(scope="module")
def parsed(program: Any) -> list[Any]:
    return [parse_statement(text) for text in program.statements]


def chat(provider: str | None, model: str | None, **counts: Any) -> dict[str, Any]:
    span: dict[str, Any] = {"gen_ai.operation.name": "chat"}
    if provider:
        span["gen_ai.provider.name"] = provider
    if model:
        span["gen_ai.response.model"] = model
    span.update({f"gen_ai.usage.{k.replace('__', '.')}": v for k, v in counts.items()})
    return span


# (span attributes, expected usage by hand, provider, response model, request model) for priced spans
PRICED_CASES = {
    "openai cached": (
        chat("openai", "gpt-4o-2024-08-06", input_tokens=2040, output_tokens=65, cache_read__input_tokens=1920),
        Usage(2040, 65, cache_read_tokens=1920), "openai", "gpt-4o-2024-08-06", None),
    "anthropic cache read+write": (
        chat("anthropic", "claude-sonnet-4-5-20250929", input_tokens=5000, output_tokens=300,
             cache_read__input_tokens=3000, cache_creation__input_tokens=1500),
        Usage(5000, 300, cache_read_tokens=3000, cache_write_tokens=1500), "anthropic",
        "claude-sonnet-4-5-20250929", None),
    "reasoning": (
        chat("openai", "o3-mini", input_tokens=100, output_tokens=900, reasoning__output_tokens=700),
        Usage(100, 900, reasoning_tokens=700), "openai", "o3-mini", None),
    "gemini tier above 200k": (
        chat("gcp.gemini", "models/gemini-2.5-pro", input_tokens=250_000, output_tokens=1000),
        Usage(250_000, 1000), "gcp.gemini", "gemini-2.5-pro", None),
    "gemini tier below 200k": (
        chat("gcp.gemini", "gemini-2.5-pro", input_tokens=150_000, output_tokens=1000),
        Usage(150_000, 1000), "gcp.gemini", "gemini-2.5-pro", None),
    "legacy names (semconv 1.26)": (
        {"gen_ai.system": "openai", "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
         "gen_ai.usage.prompt_tokens": 1200, "gen_ai.usage.completion_tokens": 80},
        Usage(1200, 80), "openai", None, "gpt-4o-mini"),
    "legacy provider alias az.ai.openai": (
        {"gen_ai.system": "az.ai.openai", "gen_ai.operation.name": "chat", "gen_ai.response.model": "gpt-4o",
         "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 20},
        Usage(10, 20), "azure.ai.openai", "gpt-4o", None),
    "openllmetry underscore cache names": (
        {"gen_ai.system": "Anthropic", "llm.request.type": "chat", "gen_ai.response.model": "claude-sonnet-4-5",
         "gen_ai.usage.prompt_tokens": 4000, "gen_ai.usage.completion_tokens": 10,
         "gen_ai.usage.cache_read_input_tokens": 2500},
        Usage(4000, 10, cache_read_tokens=2500), "anthropic", "claude-sonnet-4-5", None),
    "openlit anthropic: input excludes cache": (
        {"gen_ai.system": "anthropic", "gen_ai.operation.name": "chat", "gen_ai.sdk.version": "1.30",
         "gen_ai.response.model": "claude-sonnet-4-5", "gen_ai.usage.input_tokens": 50,
         "gen_ai.usage.output_tokens": 10, "gen_ai.usage.cache_read.input_tokens": 1000},
        Usage(1050, 10, cache_read_tokens=1000), "anthropic", "claude-sonnet-4-5", None),
    "openinference": (
        {"openinference.span.kind": "LLM", "llm.provider": "openai", "llm.model_name": "gpt-4o",
         "llm.token_count.prompt": 300, "llm.token_count.completion": 40,
         "llm.token_count.prompt_details.cache_read": 128},
        Usage(300, 40, cache_read_tokens=128), "openai", "gpt-4o", "gpt-4o"),
    "no provider: routed by model name": (
        chat(None, "claude-sonnet-4-5", input_tokens=100, output_tokens=100),
        Usage(100, 100), None, "claude-sonnet-4-5", None),
    "deepseek": (
        chat("deepseek", "deepseek-chat", input_tokens=1000, output_tokens=1000, cache_read__input_tokens=200),
        Usage(1000, 1000, cache_read_tokens=200), "deepseek", "deepseek-chat", None),
    "request model only, string counts": (
        {"gen_ai.provider.name": "openai", "gen_ai.operation.name": "embeddings",
         "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": "77"},
        Usage(77, 0), "openai", None, "gpt-4o-mini"),
    "sheet absolute price": (
        chat("openai", "ACME-LLM-7", input_tokens=1000, output_tokens=100, cache_read__input_tokens=400),
        Usage(1000, 100, cache_read_tokens=400), "openai", "ACME-LLM-7", None),
    "sheet multiplier on the catalog price": (
        chat("openai", "gpt-4o-mini", input_tokens=3000, output_tokens=500, cache_read__input_tokens=1000),
        Usage(3000, 500, cache_read_tokens=1000), "openai", "gpt-4o-mini", None),
    "subset larger than total raises the total": (
        chat("openai", "gpt-4o", input_tokens=10, output_tokens=5, cache_read__input_tokens=64),
        Usage(64, 5, cache_read_tokens=64), "openai", "gpt-4o", None),
}

COST_KEYS = ("gen_ai.usage.cost.amount", "tokenomics.cost.input", "tokenomics.cost.cache_read",
             "tokenomics.cost.cache_write", "tokenomics.cost.output")


@pytest.mark.parametrize("case", list(PRICED_CASES))
def test_generated_statements_price_like_the_price_book(case: str, book: PriceBook, parsed: list[Any]) -> None:
    span, usage, provider, model, request_model = PRICED_CASES[case]
    expected = book.cost(usage, provider, model, request_model, when=WHEN)
    assert expected.is_priced, expected
    result = run(parsed, span)
    want = expected.span_attributes()
    for key in COST_KEYS:
        assert result[key] == pytest.approx(want[key], rel=1e-12, abs=0), key
    for key in ("tokenomics.cost.status", "gen_ai.usage.cost.currency", "gen_ai.usage.cost.source",
                "tokenomics.cost.model", "tokenomics.price.source", "tokenomics.price.version"):
        assert result[key] == want[key], key
    assert result.get("tokenomics.cost.provider") == want.get("tokenomics.cost.provider")
    assert isinstance(result["gen_ai.usage.cost.amount"], float)
    # the conventions' token names are present (added when only a legacy/other name was there)
    assert result["gen_ai.usage.input_tokens"] == span.get("gen_ai.usage.input_tokens", usage.input_tokens)
    assert result["gen_ai.usage.output_tokens"] == span.get("gen_ai.usage.output_tokens", usage.output_tokens)
    assert result["tokenomics.usage.input_uncached_tokens"] == usage.uncached_input_tokens


def test_tiered_and_cached_amounts_by_hand(parsed: list[Any]) -> None:
    """Independent of the price book: rates read from the catalog table by a person (USD per million)."""
    above = run(parsed, chat("gcp.gemini", "gemini-2.5-pro", input_tokens=250_000, output_tokens=1000))
    assert above["gen_ai.usage.cost.amount"] == pytest.approx(250_000 * 2.5e-6 + 1000 * 15e-6, rel=1e-12)
    cached = run(parsed, chat("openai", "gpt-4o", input_tokens=2040, output_tokens=65,
                              cache_read__input_tokens=1920))
    assert cached["gen_ai.usage.cost.amount"] == pytest.approx(120 * 2.5e-6 + 1920 * 1.25e-6 + 65 * 10e-6,
                                                               rel=1e-12)


UNPRICED_CASES = {
    "unknown model": (chat("openai", "acme-experimental-1", input_tokens=16, output_tokens=53), "unknown_model"),
    "model not in config": (chat("openai", "gpt-4.1", input_tokens=5, output_tokens=5), "model_not_in_config"),
    "provider not in config": (chat("mistral_ai", "mistral-large-latest", input_tokens=5, output_tokens=5),
                               "provider_not_in_config"),
    "provider absent from catalog": (chat("ibm.watsonx.ai", "llama-3", input_tokens=5, output_tokens=5),
                                     "unknown_provider"),
    "no model": (chat("openai", None, input_tokens=5, output_tokens=5), "no_model"),
    "no usage": (chat("openai", "gpt-4o", input_tokens=0, output_tokens=0), "no_usage"),
    "invalid usage": (chat("openai", "gpt-4o", input_tokens="many", output_tokens=5), "invalid_usage"),
    "negative usage": (chat("openai", "gpt-4o", input_tokens=-3, output_tokens=5), "invalid_usage"),
}


@pytest.mark.parametrize("case", list(UNPRICED_CASES))
def test_unpriced_calls_are_marked_never_zero(case: str, parsed: list[Any]) -> None:
    span, reason = UNPRICED_CASES[case]
    result = run(parsed, span)
    assert result["tokenomics.cost.status"] == "unpriced"
    assert result["tokenomics.cost.unpriced_reason"] == reason
    assert "gen_ai.usage.cost.amount" not in result


def test_unpriced_reasons_agree_with_the_price_book(book: PriceBook, parsed: list[Any]) -> None:
    for span, usage, provider, model in (
        (chat("openai", "acme-experimental-1", input_tokens=16, output_tokens=53), Usage(16, 53), "openai",
         "acme-experimental-1"),
        (chat("ibm.watsonx.ai", "llama-3", input_tokens=5, output_tokens=5), Usage(5, 5), "ibm.watsonx.ai",
         "llama-3"),
        (chat("openai", "gpt-4o", input_tokens=0, output_tokens=0), Usage(), "openai", "gpt-4o"),
    ):
        expected = book.cost(usage, provider, model, when=WHEN)
        assert run(parsed, span)["tokenomics.cost.unpriced_reason"] == expected.unpriced_reason


def test_spans_already_priced_or_not_calls_are_left_alone(parsed: list[Any]) -> None:
    in_app = {**chat("openai", "gpt-4o", input_tokens=10, output_tokens=10), "tokenomics.cost.status": "priced",
              "gen_ai.usage.cost.amount": 0.5, "gen_ai.usage.cost.currency": "USD"}
    assert run(parsed, in_app) == in_app
    agent = {**chat("openai", "gpt-4o", input_tokens=10, output_tokens=10), "gen_ai.operation.name": "invoke_agent"}
    assert run(parsed, agent) == agent
    http = {"http.request.method": "GET", "url.path": "/"}
    assert run(parsed, http) == http


def test_an_upstream_cost_is_kept_not_overwritten(parsed: list[Any]) -> None:
    provider_cost = {**chat("openrouter", "openai/gpt-4o", input_tokens=10, output_tokens=10),
                     "gen_ai.usage.cost.amount": 0.123}
    result = run(parsed, provider_cost)
    assert result["gen_ai.usage.cost.amount"] == 0.123
    assert result["gen_ai.usage.cost.source"] == "provider"
    assert result["tokenomics.cost.status"] == "priced"
    assert result["tokenomics.cost.reported_by"] == "gen_ai.usage.cost.amount"
    openlit_zero = {"gen_ai.system": "openai", "gen_ai.operation.name": "chat", "gen_ai.response.model": "gpt-4o",
                    "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 0, "gen_ai.usage.cost": 0}
    priced = run(parsed, openlit_zero)  # OpenLIT writes 0 for a model it could not price: a miss, not a price
    assert priced["gen_ai.usage.cost.source"] == "local"
    assert priced["gen_ai.usage.cost.amount"] == pytest.approx(1000 * 2.5e-6, rel=1e-12)


def test_statement_text_is_what_ottl_accepts(program: Any) -> None:
    for text in program.statements:
        outside_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
        assert not re.search(r"\d[eE][+-]?\d", outside_strings), text  # float literals without exponent
        assert "attributes[" not in outside_strings.replace("span.attributes[", ""), text  # span.-prefixed paths
        assert "cache[" not in outside_strings.replace("span.cache[", ""), text


def test_full_catalog_compiles_and_lists_what_ottl_cannot_express(book: PriceBook) -> None:
    full = compile_price_book(PriceBook([]), when=WHEN)
    assert full.compiled_models > 2000
    assert 3000 < len(full.statements) < 10000
    reasons = {(item.provider, item.model): item.reason for item in full.unexpressible}
    assert reasons[("deepseek", "deepseek-chat")] == "time_of_day_price"
    assert reasons[("openai", "gpt-4o")] == "price_variants"
    assert "price_window" in reasons.values()
    sheet_program = compile_price_book(book, models=["gpt-4o"], when=WHEN)
    sheet_reasons = {item.reason for item in sheet_program.unexpressible if item.provider == "sheet:test-sheet"}
    assert sheet_reasons == {"sheet_server_address"}


def test_every_regex_is_valid_re2(program: Any) -> None:
    re2 = pytest.importorskip("re2", reason="google-re2 (dev extra) not installed")
    patterns = [m.group(1) for text in program.statements
                for m in re.finditer(r'(?:IsMatch|replace_pattern)\([^,]+, "((?:[^"\\]|\\.)*)"', text)]
    assert len(patterns) > 50
    for pattern in patterns:
        re2.compile(pattern.replace('\\"', '"').replace("\\\\", "\\"))


def test_the_evaluator_is_strict() -> None:
    with pytest.raises(OttlError, match="mix int64 and float64"):
        run([parse_statement('set(span.attributes["x"], span.attributes["n"] * 0.5)')], {"n": 3})
    with pytest.raises(OttlError, match="exponent"):
        parse_statement('set(span.attributes["x"], 2.5e-06)')
    assert run([parse_statement('set(span.attributes["x"], Double(span.attributes["n"]) * 0.5)')],
               {"n": 3})["x"] == 1.5


# --- YAML structure ------------------------------------------------------------------------------------------------


def _generate(tmp_path: Path, *args: str) -> dict[str, dict[str, Any]]:
    assert main(["collector-config", *args, "-o", str(tmp_path)]) == 0
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(tmp_path.glob("*.yaml"))}


def _check_wiring(config: dict[str, Any]) -> None:
    pipelines = config["service"]["pipelines"]
    connectors = set(config.get("connectors", {}))
    for name, pipeline in pipelines.items():
        for receiver in pipeline["receivers"]:
            assert receiver in config["receivers"] or receiver in connectors, (name, receiver)
        for processor in pipeline.get("processors", []):
            assert processor in config["processors"], (name, processor)
        for exporter in pipeline["exporters"]:
            assert exporter in config["exporters"] or exporter in connectors, (name, exporter)
    for connector in connectors:  # a connector is an exporter in one pipeline and a receiver in another
        assert any(connector in p["exporters"] for p in pipelines.values()), connector
        assert any(connector in p["receivers"] for p in pipelines.values()), connector
    used = {c for p in pipelines.values() for c in (*p["receivers"], *p.get("processors", []), *p["exporters"])}
    defined = {*config["receivers"], *config.get("processors", {}), *config["exporters"], *connectors}
    assert defined == used


def _check_pricing(config: dict[str, Any]) -> None:
    transform = config["processors"]["transform/tokenomics"]
    assert transform["error_mode"] == "ignore"
    assert all(isinstance(s, str) and "span." in s for s in transform["trace_statements"])
    metric = config["connectors"]["sum/tokenomics"]["spans"]["tokenomics.client.cost"]
    assert metric["source_attribute"] == "gen_ai.usage.cost.amount"
    assert len(metric["attributes"]) == 1
    traces = config["service"]["pipelines"]["traces"]
    assert traces["processors"].index("transform/tokenomics") < traces["processors"].index("batch")
    assert "sum/tokenomics" in traces["exporters"]
    assert "sum/tokenomics" in config["service"]["pipelines"]["metrics/tokenomics"]["receivers"]


def test_single_layout_structure(tmp_path: Path) -> None:
    files = _generate(tmp_path, "--models", "gpt-4o", "--at", "2026-01-01", "--upstream", "http://backend:4318")
    config = files["single.yaml"]
    _check_wiring(config)
    _check_pricing(config)
    assert config["exporters"]["otlphttp/upstream"]["endpoint"] == "http://backend:4318"


def test_two_tier_layout_structure(tmp_path: Path) -> None:
    files = _generate(tmp_path, "--layout", "two-tier", "--group-by-trace", "--models", "gpt-4o",
                      "--tier2-hostname", "t2.example.internal", "--at", "2026-01-01")
    tier1, tier2 = files["tier1.yaml"], files["tier2.yaml"]
    _check_wiring(tier1)
    _check_wiring(tier2)
    _check_pricing(tier2)
    balancer = tier1["exporters"]["loadbalancing/tier2"]
    assert balancer["routing_key"] == "traceID"
    assert balancer["resolver"]["dns"]["hostname"] == "t2.example.internal"
    assert "transform/tokenomics" not in tier1["processors"]
    chain = tier2["service"]["pipelines"]["traces"]["processors"]
    assert chain.index("groupbytrace") < chain.index("transform/tokenomics")


def test_header_and_stderr_list_what_is_not_expressed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collector-config", "--models", "deepseek-chat", "--at", "2026-01-01",
                 "-o", str(tmp_path / "c.yaml")]) == 0
    text = (tmp_path / "c.yaml").read_text()
    assert "# Not expressed exactly in OTTL" in text
    assert "deepseek/deepseek-chat: time_of_day_price" in text
    assert "deepseek/deepseek-chat: time_of_day_price" in capsys.readouterr().err


def test_usage_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collector-config", "--models", "no-such-model-xyz"]) == 2
    assert "no catalog model matches no-such-model-xyz" in capsys.readouterr().err
    assert main(["collector-config", "--at", "yesterday"]) == 2
    assert "--at 'yesterday'" in capsys.readouterr().err
    assert main(["collector-config", "--layout", "two-tier", "--models", "gpt-4o", "-o", str(tmp_path / "x.yaml")]) == 2
    assert "give a directory" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[[models]]\nmodel = 'x'\n")
    assert main(["collector-config", "--price-sheet", str(bad)]) == 2
    assert "bad.toml" in capsys.readouterr().err


@pytest.mark.parametrize("names", list(EXAMPLE_COMMANDS))
def test_committed_examples_equal_a_fresh_generation(names: tuple[str, ...], tmp_path: Path) -> None:
    assert main(["collector-config", *EXAMPLE_COMMANDS[names], "-o", str(tmp_path)]) == 0
    for name in names:
        fresh = (tmp_path / name).read_text()
        committed = (EXAMPLES / name).read_text()
        assert committed == fresh, f"{name} is stale: regenerate with the command in its header"
