"""Budget files and the `Budget` model: TOML and YAML load to the same budgets, and every malformed file fails
at load with an error naming the file, the key path and the problem."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest

from otel_tokenomics.budgets import (
    Budget,
    BudgetConfigError,
    BudgetExceededError,
    Window,
    load_budgets,
    parse_budgets,
)

DATA = Path(__file__).parent / "data" / "budgets"


def test_toml_and_yaml_files_load_the_same_budgets() -> None:
    from_toml = load_budgets(DATA / "budgets.toml")
    from_yaml = load_budgets(DATA / "budgets.yaml")

    assert from_toml == from_yaml
    daily, search, per_request = from_toml
    assert daily == Budget(
        name="per-tenant-daily",
        limit=5.0,
        unit="cost",
        window=Window("day", timezone="Europe/Paris"),
        mode="enforce",
        scope=("tenant",),
        thresholds=(0.5, 0.8),
    )
    assert search.window == Window("rolling", 3600.0)
    assert search.limit == 2_000_000
    assert search.unit == "tokens"
    assert dict(search.match) == {"feature": "search"}
    assert search.degrade_fraction == 0.9
    assert dict(search.fallbacks) == {"gpt-4o": "gpt-4o-mini", "claude-*-sonnet*": "claude-3-5-haiku-latest"}
    assert dict(search.provider_fallbacks) == {"openai": "gpt-4o-mini"}
    assert per_request.mode == "observe"
    assert per_request.scope == ()
    assert per_request.thresholds == (0.8,)
    assert per_request.window.describe() == "trace"


def test_the_documented_examples_are_the_fixtures() -> None:
    """The TOML and YAML examples in config.py's docstring parse to the fixture budgets: the docs stay true."""
    import textwrap
    import tomllib

    import yaml

    from otel_tokenomics.budgets import config

    doc = config.__doc__ or ""
    toml_text = doc.split("Example (TOML)::")[1].split("The same in YAML::")[0]
    yaml_text = doc.split("The same in YAML::")[1].split("Top-level keys")[0]
    expected = load_budgets(DATA / "budgets.toml")
    assert parse_budgets(tomllib.loads(textwrap.dedent(toml_text)), source="doc") == expected
    assert parse_budgets(yaml.safe_load(textwrap.dedent(yaml_text)), source="doc") == expected


def test_an_empty_file_has_no_budgets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_budgets(empty) == []


def test_yaml_exponent_limits_written_without_a_dot_are_numbers(tmp_path: Path) -> None:
    """PyYAML reads `1e6` as a string (YAML 1.1); users mean a number."""
    file = tmp_path / "tokens.yaml"
    file.write_text("budgets:\n  - {name: t, window: day, limit: 1e6, unit: tokens}\n")
    assert load_budgets(file)[0].limit == 1_000_000


# --- malformed files: file + key path + problem -------------------------------------------------------------

BASE = 'name = "b"\nwindow = "day"\nlimit = 5\nunit = "cost"\n'

MALFORMED_TOML = [
    ("unknown key", BASE + "limt = 5\n", "budgets[0].limt", "unknown key"),
    ("missing unit", 'name = "b"\nwindow = "day"\nlimit = 5\n', "budgets[0].unit", "missing required key"),
    ("negative limit", BASE.replace("limit = 5", "limit = -5"), "budgets[0].limit", "expected a number > 0, got -5"),
    ("zero limit", BASE.replace("limit = 5", "limit = 0"), "budgets[0].limit", "expected a number > 0"),
    ("text limit", BASE.replace("limit = 5", 'limit = "five"'), "budgets[0].limit", "expected a number > 0"),
    ("bad window", BASE.replace('"day"', '"weekly"'), "budgets[0].window", "rolling <N><s|m|h|d>"),
    ("bad rolling unit", BASE.replace('"day"', '"rolling 5y"'), "budgets[0].window", "got 'rolling 5y'"),
    ("rolling too short", BASE.replace('"day"', '"rolling 0.5s"'), "budgets[0].window", "at least 1 second"),
    ("bad time zone", BASE + 'timezone = "Mars/Olympus_Mons"\n', "budgets[0].timezone", "unknown time zone"),
    (
        "time zone on a rolling window",
        BASE.replace('"day"', '"rolling 1h"') + 'timezone = "Europe/Paris"\n',
        "budgets[0].timezone",
        "applies only to day and month windows",
    ),
    ("threshold above 1", BASE + "thresholds = [0.5, 1.5]\n", "budgets[0].thresholds[1]", "fraction in (0, 1]"),
    ("threshold zero", BASE + "thresholds = [0]\n", "budgets[0].thresholds[0]", "fraction in (0, 1]"),
    ("unsorted thresholds", BASE + "thresholds = [0.9, 0.5]\n", "budgets[0].thresholds[1]", "ascending"),
    ("repeated threshold", BASE + "thresholds = [0.5, 0.5]\n", "budgets[0].thresholds[1]", "ascending"),
    ("unknown mode", BASE + 'mode = "block"\n', "budgets[0].mode", "expected one of 'observe', 'enforce'"),
    ("unit not cost/tokens", BASE.replace('"cost"', '"dollars"'), "budgets[0].unit", "expected 'cost' or 'tokens'"),
    ("degrade without fallbacks", BASE + 'mode = "degrade"\n', "budgets[0].fallbacks", "degrade mode needs"),
    (
        "degrade without a threshold",
        BASE + 'mode = "degrade"\nthresholds = []\nfallbacks = { "gpt-4o" = "gpt-4o-mini" }\n',
        "budgets[0].degrade_at",
        "degrade_at or at least one threshold",
    ),
    (
        "enforce with fallbacks",
        BASE + 'mode = "enforce"\nfallbacks = { "gpt-4o" = "gpt-4o-mini" }\n',
        "budgets[0].fallbacks",
        "applies only to mode 'degrade'",
    ),
    (
        "observe with provider fallbacks",
        BASE + 'provider_fallbacks = { openai = "gpt-4o-mini" }\n',
        "budgets[0].provider_fallbacks",
        "applies only to mode 'degrade'",
    ),
    ("degrade_at without degrade", BASE + "degrade_at = 0.9\n", "budgets[0].degrade_at", "only to mode 'degrade'"),
    (
        "empty fallback model",
        BASE + 'mode = "degrade"\nfallbacks = { "gpt-4o" = "" }\n',
        "budgets[0].fallbacks.gpt-4o",
        "non-empty string",
    ),
    ("match value not text", BASE + "match = { tenant = 42 }\n", "budgets[0].match.tenant", "non-empty string"),
    ("scope key not text", BASE + 'scope = ["tenant", 7]\n', "budgets[0].scope[1]", "non-empty string"),
    ("repeated scope key", BASE + 'scope = ["user", "user"]\n', "budgets[0].scope[1]", "duplicate key 'user'"),
    ("empty name", BASE.replace('"b"', '""'), "budgets[0].name", "non-empty string"),
]


@pytest.mark.parametrize(("case", "entry", "key", "problem"), MALFORMED_TOML, ids=[c[0] for c in MALFORMED_TOML])
def test_malformed_budget_fails_at_load_naming_file_key_and_problem(
    tmp_path: Path, case: str, entry: str, key: str, problem: str
) -> None:
    file = tmp_path / "budgets.toml"
    file.write_text("[[budgets]]\n" + entry)

    with pytest.raises(BudgetConfigError) as caught:
        load_budgets(file)

    message = str(caught.value)
    assert message.startswith(f"{file}: {key}: "), message
    assert problem in message


def test_the_key_path_counts_entries_from_zero(tmp_path: Path) -> None:
    with pytest.raises(BudgetConfigError, match=r"bad_threshold\.toml: budgets\[1\]\.thresholds\[1\]: .*ascending"):
        load_budgets(DATA / "bad_threshold.toml")


def test_duplicate_budget_names_are_refused(tmp_path: Path) -> None:
    file = tmp_path / "dup.yaml"
    file.write_text(
        "budgets:\n"
        "  - {name: a, window: day, limit: 1, unit: cost}\n"
        "  - {name: b, window: day, limit: 1, unit: cost}\n"
        "  - {name: a, window: month, limit: 9, unit: cost}\n"
    )
    with pytest.raises(
        BudgetConfigError, match=r"dup\.yaml: budgets\[2\]\.name: duplicate budget name 'a' \(also budgets\[0\]\)"
    ):
        load_budgets(file)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("top.toml", "budget = []\n", r"top\.toml: budget: unknown key \(allowed: budgets, description\)"),
        ("list.yaml", "budgets: {name: a}\n", r"list\.yaml: budgets: expected a list of tables, got a table"),
        ("entry.yaml", "budgets: [daily]\n", r"entry\.yaml: budgets\[0\]: expected a table of keys, got 'daily'"),
        ("window.yaml", "budgets: [{name: a, window: 5, limit: 1, unit: cost}]\n", r"budgets\[0\]\.window: expected"),
        ("top.yaml", "- a\n- b\n", r"top\.yaml: expected a table of keys, got a list"),
    ],
)
def test_structural_errors_name_the_key(tmp_path: Path, name: str, text: str, expected: str) -> None:
    file = tmp_path / name
    file.write_text(text)
    with pytest.raises(BudgetConfigError, match=expected):
        load_budgets(file)


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "broken.toml"
    file.write_text('[[budgets]]\nname = "a"\nlimit = = 5\n')
    with pytest.raises(BudgetConfigError, match=r"broken\.toml: TOML syntax error: .*line 3"):
        load_budgets(file)


def test_yaml_syntax_error_names_file_and_line() -> None:
    with pytest.raises(BudgetConfigError, match=r"syntax_error\.yaml: YAML syntax error at line 5, column 4"):
        load_budgets(DATA / "syntax_error.yaml")


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    json_file = tmp_path / "budgets.json"
    json_file.write_text("{}")
    with pytest.raises(BudgetConfigError, match=r"budgets\.json: unsupported file type '\.json'"):
        load_budgets(json_file)
    with pytest.raises(BudgetConfigError, match=r"nowhere\.toml: cannot read the file"):
        load_budgets(tmp_path / "nowhere.toml")


def test_the_error_is_a_value_error_and_survives_pickling(tmp_path: Path) -> None:
    file = tmp_path / "b.toml"
    file.write_text("[[budgets]]\n" + BASE.replace("limit = 5", "limit = -1"))
    with pytest.raises(ValueError) as caught:
        load_budgets(file)
    error = caught.value
    assert isinstance(error, BudgetConfigError)
    assert error.key == "budgets[0].limit"
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    assert copy.key == error.key


def test_parse_budgets_takes_data_and_names_the_source() -> None:
    data = {"budgets": [{"name": "x", "window": "month", "limit": "oops", "unit": "cost"}]}
    with pytest.raises(BudgetConfigError, match=r"^settings: budgets\[0\]\.limit: expected a number > 0, got 'oops'"):
        parse_budgets(data, source="settings")


# --- budgets in code -------------------------------------------------------------------------------------------


def test_budgets_built_in_code_are_validated_too() -> None:
    with pytest.raises(BudgetConfigError, match=r"^budget 'x': limit: expected a number > 0, got -1"):
        Budget("x", -1, "cost", Window("day"))
    with pytest.raises(BudgetConfigError, match=r"^budget 'x': window: expected .*got 'fortnight'"):
        Budget("x", 1, "cost", "fortnight")  # type: ignore[arg-type]
    with pytest.raises(BudgetConfigError, match=r"^budget 'x': on_threshold: expected a callable"):
        Budget("x", 1, "cost", Window("day"), on_threshold="print")  # type: ignore[arg-type]


def test_code_conveniences_window_text_single_scope_key_and_lists() -> None:
    budget = Budget("per-user", 100, "tokens", "rolling 30m", scope="user", thresholds=[0.5, 0.9])  # type: ignore[arg-type]
    assert budget.window == Window("rolling", 1800.0)
    assert budget.scope == ("user",)
    assert budget.thresholds == (0.5, 0.9)
    assert hash(budget) == hash(
        Budget("per-user", 100, "tokens", Window("rolling", 1800), scope=("user",), thresholds=(0.5, 0.9))
    )


def test_threshold_callback_is_set_in_code() -> None:
    seen: list[str] = []
    budget = dataclasses.replace(load_budgets(DATA / "budgets.toml")[0], on_threshold=lambda *a: seen.append("x"))
    assert budget.on_threshold is not None
    budget.on_threshold()
    assert seen == ["x"]


def test_applies_to_needs_the_match_values_and_every_scope_key() -> None:
    budget = Budget("search", 10, "cost", Window("day"), scope=("tenant",), match={"feature": "search"})
    assert budget.applies_to({"tenant": "acme", "feature": "search", "user": "u1"})
    assert not budget.applies_to({"tenant": "acme", "feature": "chat"})
    assert not budget.applies_to({"feature": "search"})  # no tenant: the per-tenant budget has nothing to count
    assert not budget.applies_to({"tenant": "", "feature": "search"})
    assert Budget("global", 10, "cost", Window("day")).applies_to({})


def test_series_ids_keep_scopes_apart() -> None:
    budget = Budget("per-tenant", 5, "cost", Window("day"), scope=("tenant", "user"))
    assert budget.series({"tenant": "acme", "user": "u1", "feature": "x"}) == "per-tenant|tenant=acme|user=u1"
    assert Budget("global", 5, "cost", Window("day")).series({"tenant": "acme"}) == "global"
    # A value containing the separators cannot impersonate another scope.
    tricky = budget.series({"tenant": "acme|user=u1", "user": "u2"})
    assert tricky != budget.series({"tenant": "acme", "user": "u1"})
    assert "{" not in budget.series({"tenant": "{x}", "user": "y"})
    assert budget.scope_of({"tenant": "acme", "user": "u1", "feature": "x"}) == {"tenant": "acme", "user": "u1"}


def test_fallback_for_prefers_model_rules_then_provider_rules() -> None:
    budget = Budget(
        "degrade",
        1,
        "cost",
        Window("day"),
        mode="degrade",
        fallbacks={"gpt-4o": "gpt-4o-mini", "claude-*-sonnet*": "claude-3-5-haiku-latest", "o1*": "o1*"},
        provider_fallbacks={"OpenAI": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest"},
    )
    assert budget.fallback_for("gpt-4o", "openai") == "gpt-4o-mini"
    assert budget.fallback_for("GPT-4o", None) == "gpt-4o-mini"
    assert budget.fallback_for("claude-3-7-sonnet-20250219", "anthropic") == "claude-3-5-haiku-latest"
    assert budget.fallback_for("gpt-4.1", "openai") == "gpt-4o-mini"  # no model rule: the provider's
    assert budget.fallback_for("gpt-4o-mini", "openai") is None  # already the cheap model
    assert budget.fallback_for("mistral-large", "mistral_ai") is None
    assert budget.fallback_for(None, "anthropic") == "claude-3-5-haiku-latest"
    assert budget.degrade_fraction == 0.8  # the first threshold when degrade_at is not set


def test_exceeded_error_names_budget_scope_window_limit_spent_and_estimate() -> None:
    error = BudgetExceededError(
        budget="per-tenant",
        scope={"tenant": "acme"},
        window=Window("day").describe(),
        limit=5.0,
        spent=4.98,
        estimate=0.05,
        unit="cost",
        currency="USD",
    )
    assert str(error) == (
        "budget 'per-tenant' (tenant=acme, window day (UTC)) would be exceeded: "
        "spent 4.98 USD of 5.00 USD, this call is estimated at 0.05 USD"
    )
    assert (error.budget, error.limit, error.spent, error.estimate, error.currency) == (
        "per-tenant",
        5.0,
        4.98,
        0.05,
        "USD",
    )
    tokens = BudgetExceededError(
        budget="g", scope={}, window="rolling 1h", limit=10_000, spent=9_800, estimate=512, unit="tokens"
    )
    assert "(global, window rolling 1h)" in str(tokens)
    assert "spent 9,800 tokens of 10,000 tokens, this call is estimated at 512 tokens" in str(tokens)
    cheap = BudgetExceededError(
        budget="c", scope={}, window="call", limit=0.001, spent=0, estimate=0.0012345, currency="EUR"
    )
    assert "estimated at 0.0012 EUR" in str(cheap)  # sub-cent amounts are not rounded to 0.00
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
