"""`otel-tokenomics prices`: record display, cost breakdown, JSON output, exit codes and sheet errors."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from otel_tokenomics.cli import CommandError
from otel_tokenomics.semconv.prices import ENV_PRICE_SHEET

SHEETS = Path(__file__).parent / "data" / "sheets"
AT = ["--at", "2026-11-23T12:00:00"]


def _standalone_main(argv: Sequence[str]) -> int:
    """Our handler behind a parser holding only `prices` (used if other subcommands cannot be imported)."""
    import sys

    from otel_tokenomics.cli import prices

    parser = argparse.ArgumentParser(prog="otel-tokenomics")
    prices.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    try:
        return int(args.handler(args) or 0)
    except CommandError as error:
        print(f"otel-tokenomics {args.command}: {error}", file=sys.stderr)
        return 2


def _entry_point() -> Callable[[Sequence[str]], int]:
    try:
        from otel_tokenomics.cli import build_parser, main

        build_parser()
    except Exception:  # another engineer's subcommand is not importable yet
        return _standalone_main
    return main


run = _entry_point()


@pytest.fixture(autouse=True)
def no_env_sheets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_PRICE_SHEET, raising=False)


def test_shows_record_and_cost_breakdown(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        [
            "prices",
            "gpt-4o-2024-08-06",
            "--provider",
            "openai",
            "--input",
            "10000",
            "--cache-read",
            "4000",
            "--output",
            "1000",
            *AT,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == "openai/gpt-4o"
    assert "genai-prices" in out
    assert "input            2.5" in out and "cache_read       1.25" in out
    assert "cost      0.03 USD (priced)" in out
    assert "cache_read       0.005" in out


def test_shows_tiers_without_token_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["prices", "models/gemini-2.5-pro", "--provider", "gcp.gemini", *AT])
    out = capsys.readouterr().out
    assert code == 0
    assert "above 200,000 input tokens: input 2.5" in out
    assert "cost" not in out


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        [
            "prices",
            "o3",
            "--provider",
            "openai",
            "--input",
            "5000",
            "--output",
            "3000",
            "--reasoning",
            "2500",
            "--at",
            "2025-06-01",
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["status"] == "priced"
    assert data["record"]["rates_per_million"] == {"input": 10.0, "output": 40.0, "cache_read": 0.5}
    assert data["record"]["valid_until"] == "2025-06-10T00:00:00Z"
    assert data["cost"]["amount"] == pytest.approx(0.17)
    assert data["cost"]["output"] == pytest.approx(0.12)
    assert data["usage"]["reasoning_tokens"] == 2500


def test_service_tier(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        [
            "prices",
            "o3",
            "--provider",
            "openai",
            "--service-tier",
            "flex",
            "--input",
            "1000",
            "--output",
            "500",
            "--json",
            *AT,
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["cost"]["amount"] == pytest.approx(0.003)


def test_cache_write_1h_counts_as_cache_write(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        [
            "prices",
            "claude-sonnet-4-20250514",
            "--provider",
            "anthropic",
            "--input",
            "3000",
            "--cache-write-1h",
            "1000",
            "--output",
            "0",
            "--json",
            *AT,
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["cost"]["cache_write"] == pytest.approx(1000 * 6e-6)  # counted as cache write, 1h rate
    assert data["cost"]["input"] == pytest.approx(2000 * 3e-6)


def test_unknown_model_exits_1_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["prices", "gpt-nonexistent-9", "--provider", "openai", "--input", "10"])
    captured = capsys.readouterr()
    assert code == 1
    assert "no price for openai/gpt-nonexistent-9: unknown_model" in captured.err
    assert captured.out == ""


def test_unknown_model_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["prices", "house-llm", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert (code, data["record"], data["unpriced_reason"]) == (1, None, "unknown_provider")


def test_sheet_and_currency(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        [
            "prices",
            "gpt-4o",
            "--provider",
            "openai",
            "--sheet",
            str(SHEETS / "contract.toml"),
            "--sheet",
            str(SHEETS / "eur.yaml"),
            "--currency",
            "EUR",
            "--input",
            "10000",
            "--output",
            "1000",
            "--json",
            *AT,
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["record"]["source"] == "sheet:contract.toml"
    assert data["cost"]["currency"] == "EUR"
    assert data["cost"]["amount"] == pytest.approx(0.035 * 0.8 * 0.8)


def test_sheets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV_PRICE_SHEET, str(SHEETS / "watsonx.yaml"))
    code = run(["prices", "ibm/granite-3-8b-instruct", "--provider", "ibm.watsonx.ai"])
    assert code == 0
    assert "sheet:watsonx.yaml" in capsys.readouterr().out


def test_free_self_hosted(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        [
            "prices",
            "qwen2.5",
            "--server-address",
            "vllm.internal:8000",
            "--self-hosted",
            "--sheet",
            str(SHEETS / "contract.toml"),
            "--input",
            "100",
            "--output",
            "10",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "free (explicit zero price)" in out
    assert "cost      0 USD (free)" in out


def test_malformed_sheet_is_a_command_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["prices", "gpt-4o", "--sheet", str(SHEETS / "bad_price.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad_price.toml: models[1].input: expected a number >= 0, got 'abc'" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["prices", "compare", "gpt-4o", "o3"], "needs the expected usage"),
        (["prices", "compare", "--input", "10"], "at least one MODEL"),
        (["prices", "gpt-4o", "o3"], "expected one MODEL"),
        (["prices", "gpt-4o", "--at", "yesterday"], "--at: expected an ISO date"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(argv) == 2
    assert message in capsys.readouterr().err


def test_negative_token_count_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(["prices", "gpt-4o", "--input", "-5"])
    assert caught.value.code == 2
    assert "expected a token count" in capsys.readouterr().err


def test_compare_ranks_models_cheapest_first_with_unpriced_last(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["prices", "compare", "gpt-4o", "no-such-model-xyz", "gpt-4o-mini", "--input", "10000", "--output",
                "1000", "--provider", "openai", "--json"])
    ranked = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [row["model"] for row in ranked] == ["gpt-4o-mini", "gpt-4o", "no-such-model-xyz"]
    # gpt-4o-mini list price $0.15 / $0.60, gpt-4o $2.50 / $10 per million tokens.
    assert ranked[0]["amount"] == pytest.approx((10_000 * 0.15 + 1_000 * 0.60) / 1e6)
    assert ranked[1]["amount"] == pytest.approx((10_000 * 2.5 + 1_000 * 10) / 1e6)
    assert ranked[2]["status"] == "unpriced" and ranked[2]["amount"] is None


def test_compare_respects_sheets_and_the_python_function_agrees(tmp_path: Path) -> None:
    from otel_tokenomics.semconv.prices import PriceBook, cheapest, rank_by_cost
    from otel_tokenomics.semconv.usage import Usage

    sheet = tmp_path / "deal.toml"
    sheet.write_text('[[models]]\nmodel = "gpt-4o"\nmultiplier = 0.01\n')  # a 99 % discount flips the ranking
    book = PriceBook([sheet])
    usage = Usage.from_inclusive(10_000, 1_000)
    ranked = rank_by_cost(["gpt-4o-mini", "gpt-4o"], usage, book=book, provider="openai")
    assert [quote.model for quote in ranked] == ["gpt-4o", "gpt-4o-mini"]
    assert cheapest(["gpt-4o-mini", "gpt-4o"], usage, book=book, provider="openai").model == "gpt-4o"
    assert cheapest(["no-such-model-xyz"], usage, book=book, provider="openai") is None
