"""Price sheets: absolute prices, multipliers, free models, effective dates, server addresses, currencies,
environment loading, and every malformed-sheet error naming its file and key."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from otel_tokenomics.semconv.attributes import CostStatus, UnpricedReason
from otel_tokenomics.semconv.prices import (
    ENV_CURRENCY,
    ENV_PRICE_SHEET,
    PriceBook,
    PriceSheet,
    PriceSheetError,
)
from otel_tokenomics.semconv.usage import Usage

SHEETS = Path(__file__).parent / "data" / "sheets"
CONTRACT = SHEETS / "contract.toml"
EUR = SHEETS / "eur.yaml"
WATSONX = SHEETS / "watsonx.yaml"


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


NOW = at("2026-11-23T12:00:00")
TEN_K = Usage.from_inclusive(10_000, 1_000)


@pytest.fixture(scope="module")
def contract() -> PriceBook:
    return PriceBook([CONTRACT])


# --- absolute prices and effective dates ---


def test_absolute_prices_with_cache_read_fallback_and_provenance(contract: PriceBook) -> None:
    usage = Usage.from_inclusive(1_000, 500, cache_read_tokens=400)
    cost = contract.cost(
        usage, provider="openai", model="ft:gpt-4o-mini:acme:abc123", when=at("2026-03-01T00:00:00")
    )
    assert cost.status == CostStatus.PRICED
    assert cost.amount == pytest.approx(600 * 0.30e-6 + 400 * 0.15e-6 + 500 * 1.20e-6)
    assert cost.source == "sheet:contract.toml"
    assert cost.source_version == "acme-2026-q4"
    assert cost.catalog_model == "ft:gpt-4o-mini:acme:abc123"


def test_first_entry_whose_window_contains_the_request_time_wins(contract: PriceBook) -> None:
    usage = Usage.from_inclusive(1_000, 500, cache_read_tokens=400)
    model = "ft:gpt-4o-mini:acme:abc123"
    last_day = contract.cost(usage, provider="openai", model=model, when=at("2026-06-30T23:59:59"))
    next_period = contract.cost(usage, provider="openai", model=model, when=at("2026-07-01T00:00:00"))
    before = contract.cost(usage, provider="openai", model=model, when=at("2025-12-31T23:59:59"))
    assert last_day.amount == pytest.approx(600 * 0.30e-6 + 400 * 0.15e-6 + 500 * 1.20e-6)
    # models[2] has no cache_read rate: cache reads are billed as input.
    assert next_period.amount == pytest.approx(1_000 * 0.40e-6 + 500 * 1.60e-6)
    assert (before.status, before.unpriced_reason) == (CostStatus.UNPRICED, UnpricedReason.UNKNOWN_MODEL)


def test_deployment_name_entry_prices_1h_cache_writes_apart(contract: PriceBook) -> None:
    usage = Usage.from_inclusive(10_000, 1_000, cache_write_tokens=4_000, cache_write_1h_tokens=1_000)
    cost = contract.cost(usage, provider="azure.ai.openai", model=None, request_model="prod-chat", when=NOW)
    assert cost.input == pytest.approx(6_000 * 1e-6)
    assert cost.cache_write == pytest.approx(3_000 * 1.25e-6 + 1_000 * 2e-6)
    assert cost.output == pytest.approx(1_000 * 2e-6)


# --- multiplier ---


def test_multiplier_discounts_the_catalog_price(contract: PriceBook) -> None:
    cost = contract.cost(TEN_K, provider="openai", model="gpt-4o-2024-08-06", when=NOW)
    assert cost.amount == pytest.approx(0.035 * 0.8)
    assert cost.source == "sheet:contract.toml"
    assert (cost.catalog_provider, cost.catalog_model) == ("openai", "gpt-4o")
    record = contract.resolve("openai", "gpt-4o-2024-08-06", when=NOW)
    assert record is not None and record.input == pytest.approx(2.0)


def test_multiplier_entry_restricted_to_a_provider(contract: PriceBook) -> None:
    cost = contract.cost(TEN_K, provider="azure.ai.openai", model="gpt-4o-2024-08-06", when=NOW)
    assert (cost.amount, cost.source) == (pytest.approx(0.035), "genai-prices")


def test_multiplier_without_a_catalog_price_does_not_apply() -> None:
    book = PriceBook([PriceSheet.from_dict({"models": [{"model": "*", "multiplier": 0.5}]}, name="half")])
    unknown = book.cost(TEN_K, provider="openai", model="gpt-nonexistent", when=NOW)
    self_hosted = book.cost(TEN_K, provider="openai", model="gpt-4o", self_hosted=True, when=NOW)
    known = book.cost(TEN_K, provider="openai", model="gpt-4o", when=NOW)
    assert unknown.unpriced_reason == UnpricedReason.UNKNOWN_MODEL
    assert self_hosted.unpriced_reason == UnpricedReason.SELF_HOSTED
    assert (known.amount, known.source) == (pytest.approx(0.0175), "sheet:half")


def test_sheet_takes_precedence_over_the_catalog() -> None:
    sheet = PriceSheet.from_dict({"models": [{"model": "gpt-4o", "input": 1, "output": 1}]}, name="mine")
    cost = PriceBook([sheet]).cost(TEN_K, provider="openai", model="gpt-4o", when=NOW)
    assert (cost.amount, cost.source) == (pytest.approx(0.011), "sheet:mine")


# --- free and server_address ---


def test_free_self_hosted_server(contract: PriceBook) -> None:
    cost = contract.cost(
        TEN_K,
        provider="openai",
        model="qwen2.5-coder",
        server_address="vllm.internal:8000",
        self_hosted=True,
        when=NOW,
    )
    assert (cost.status, cost.amount, cost.input, cost.output) == (CostStatus.FREE, 0.0, 0.0, 0.0)
    attributes = cost.span_attributes()
    assert attributes["gen_ai.usage.cost.amount"] == 0.0
    assert attributes["tokenomics.cost.status"] == "free"


def test_server_address_with_port_must_match_the_port(contract: PriceBook) -> None:
    cost = contract.cost(
        TEN_K,
        provider="openai",
        model="qwen2.5-coder",
        server_address="vllm.internal:9000",
        self_hosted=True,
        when=NOW,
    )
    assert (cost.status, cost.unpriced_reason) == (CostStatus.UNPRICED, UnpricedReason.SELF_HOSTED)


@pytest.mark.parametrize("address", ["a.gpu.internal:1234", "B.GPU.internal"])
def test_server_address_glob_matches_any_port(contract: PriceBook, address: str) -> None:
    cost = contract.cost(
        TEN_K,
        provider=None,
        model="Llama-3.1-70B-Instruct",
        server_address=address,
        self_hosted=True,
        when=NOW,
    )
    assert cost.amount == pytest.approx(11_000 * 0.5e-6)


def test_sheet_prices_a_provider_the_catalog_lacks() -> None:
    book = PriceBook([WATSONX])
    cost = book.cost(TEN_K, provider="ibm.watsonx.ai", model="ibm/granite-3-8b-instruct", when=NOW)
    other = book.cost(TEN_K, provider="openai", model="ibm/granite-3-8b-instruct", when=NOW)
    assert cost.amount == pytest.approx(11_000 * 0.2e-6)
    assert other.status == CostStatus.UNPRICED


def test_sheet_only_book_never_touches_the_catalog() -> None:
    book = PriceBook([WATSONX], use_catalog=False)
    cost = book.cost(TEN_K, provider="openai", model="gpt-4o", when=NOW)
    assert (cost.status, cost.unpriced_reason) == (CostStatus.UNPRICED, UnpricedReason.UNKNOWN_MODEL)
    assert book.catalog_version is None


# --- currency ---


def test_report_currency_converts_catalog_prices_with_dated_rates() -> None:
    book = PriceBook([EUR])
    assert book.currency == "EUR"
    in_2026 = book.cost(TEN_K, provider="openai", model="gpt-4o", when=NOW)
    in_2025 = book.cost(TEN_K, provider="openai", model="gpt-4o", when=at("2025-11-23T12:00:00"))
    assert (in_2026.currency, in_2026.amount) == ("EUR", pytest.approx(0.035 * 0.8))
    assert in_2026.output == pytest.approx(0.010 * 0.8)
    assert in_2025.amount == pytest.approx(0.035 * 0.5)
    record = book.resolve("openai", "gpt-4o", when=NOW)
    assert record is not None and (record.currency, record.input) == ("EUR", pytest.approx(2.0))


def test_prices_quoted_in_the_report_currency_are_not_converted() -> None:
    cost = PriceBook([EUR]).cost(
        Usage.from_inclusive(1_000_000, 1_000_000), provider=None, model="house-model", when=NOW
    )
    assert (cost.amount, cost.currency) == (pytest.approx(12.0), "EUR")


def test_prices_in_another_currency_are_converted_to_the_report_currency() -> None:
    cost = PriceBook([EUR], currency="USD").cost(
        Usage.from_inclusive(1_000_000, 1_000_000), provider=None, model="house-model", when=NOW
    )
    assert (cost.amount, cost.currency) == (pytest.approx(12.0 / 0.8), "USD")


def test_request_outside_every_rate_window_is_a_pricing_error(tmp_path: Path) -> None:
    sheet = tmp_path / "late.toml"
    sheet.write_text(
        '[currency]\nreport = "GBP"\n[[currency.rates.GBP]]\nrate = 0.75\neffective_from = 2026-01-01\n'
    )
    book = PriceBook([sheet])
    early = book.cost(TEN_K, provider="openai", model="gpt-4o", when=at("2025-06-01T00:00:00"))
    late = book.cost(TEN_K, provider="openai", model="gpt-4o", when=NOW)
    assert (early.status, early.unpriced_reason, early.amount) == (
        CostStatus.UNPRICED,
        UnpricedReason.ERROR,
        None,
    )
    assert late.amount == pytest.approx(0.035 * 0.75)


def test_report_currency_without_a_rate_is_refused() -> None:
    with pytest.raises(PriceSheetError, match="no exchange rate USD→GBP"):
        PriceBook([CONTRACT], currency="GBP")
    with pytest.raises(PriceSheetError, match="ISO 4217"):
        PriceBook(currency="euro")


# --- environment ---


@pytest.fixture
def fresh_default():  # type: ignore[no-untyped-def]
    PriceBook.clear_default()
    yield
    PriceBook.clear_default()


def test_default_book_reads_sheets_and_currency_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fresh_default: None
) -> None:
    monkeypatch.setenv(ENV_PRICE_SHEET, os.pathsep.join([str(CONTRACT), str(WATSONX), ""]))
    monkeypatch.delenv(ENV_CURRENCY, raising=False)
    book = PriceBook.default()
    assert book is PriceBook.default()
    assert [s.name for s in book.sheets] == ["contract.toml", "watsonx.yaml"]
    assert book.cost(TEN_K, provider="openai", model="gpt-4o", when=NOW).amount == pytest.approx(0.028)
    assert book.cost(TEN_K, provider="ibm.watsonx.ai", model="ibm/granite-3", when=NOW).status == "priced"


def test_default_book_currency_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fresh_default: None
) -> None:
    monkeypatch.setenv(ENV_PRICE_SHEET, str(EUR))
    monkeypatch.setenv(ENV_CURRENCY, "usd")
    book = PriceBook.default()
    assert book.currency == "USD"
    assert book.cost(TEN_K, provider="openai", model="gpt-4o", when=NOW).currency == "USD"


def test_default_book_without_environment_is_catalog_in_usd(
    monkeypatch: pytest.MonkeyPatch, fresh_default: None
) -> None:
    monkeypatch.delenv(ENV_PRICE_SHEET, raising=False)
    monkeypatch.delenv(ENV_CURRENCY, raising=False)
    book = PriceBook.default()
    assert (book.sheets, book.currency) == ((), "USD")


def test_default_book_with_a_malformed_sheet_raises(
    monkeypatch: pytest.MonkeyPatch, fresh_default: None
) -> None:
    monkeypatch.setenv(ENV_PRICE_SHEET, str(SHEETS / "bad_price.toml"))
    with pytest.raises(PriceSheetError, match=r"bad_price\.toml: models\[1\]\.input"):
        PriceBook.default()


# --- provenance ---


def test_sheet_without_version_is_identified_by_a_content_hash(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("models:\n  - {model: x, input: 1, output: 1}\n")
    version = PriceSheet.load(first).version
    assert version.startswith("sha256:")
    first.write_text("models:\n  - {model: x, input: 2, output: 1}\n")
    assert PriceSheet.load(first).version != version


# --- malformed sheets ---

MALFORMED = [
    ("typo.toml", '[[models]]\nmodel = "x"\ninput = 1\nouput = 2\n', "models[0].ouput", "unknown key"),
    ("top.toml", 'model = "x"\n', "model", "unknown key"),
    (
        "neg.yaml",
        "models:\n  - {model: x, input: -1, output: 1}\n",
        "models[0].input",
        "expected a number >= 0, got -1",
    ),
    (
        "bool.yaml",
        "models:\n  - {model: x, input: true, output: 1}\n",
        "models[0].input",
        "expected a number >= 0, got True",
    ),
    (
        "regex.toml",
        '[[models]]\nmodel_regex = "gpt-(4o"\ninput = 1\noutput = 1\n',
        "models[0].model_regex",
        "invalid regular expression",
    ),
    (
        "both.toml",
        '[[models]]\nmodel = "x"\nmodel_regex = "x"\ninput = 1\noutput = 1\n',
        "models[0].model_regex",
        "either model (glob) or model_regex",
    ),
    (
        "dates.toml",
        '[[models]]\nmodel = "x"\ninput = 1\noutput = 1\neffective_from = 2026-07-01\n'
        "effective_until = 2026-06-30\n",
        "models[0].effective_from",
        "effective_from 2026-07-01 is after effective_until 2026-06-30",
    ),
    (
        "baddate.yaml",
        'models:\n  - {model: x, free: true, effective_from: "2026-13-01"}\n',
        "models[0].effective_from",
        "expected a date",
    ),
    (
        "mixed.toml",
        '[[models]]\nmodel = "x"\ninput = 1\noutput = 1\nmultiplier = 0.8\n',
        "models[0]",
        "only one of absolute prices, multiplier or free",
    ),
    (
        "freeprice.toml",
        '[[models]]\nmodel = "x"\nfree = true\ninput = 1\noutput = 1\n',
        "models[0]",
        "only one of",
    ),
    ("noprice.toml", '[[models]]\nmodel = "x"\n', "models[0]", "needs a price"),
    ("noselector.toml", "[[models]]\ninput = 1\noutput = 1\n", "models[0]", "needs a selector"),
    ("nooutput.toml", '[[models]]\nmodel = "x"\ninput = 1\n', "models[0].output", "missing required key"),
    (
        "zero.toml",
        '[[models]]\nmodel = "x"\nmultiplier = 0\n',
        "models[0].multiplier",
        "expected a number > 0",
    ),
    ("freeword.yaml", "models:\n  - {model: x, free: 'yes'}\n", "models[0].free", "expected true or false"),
    (
        "code.toml",
        '[currency]\nreport = "eur"\nrates = { EUR = 0.9 }\n',
        "currency.report",
        "expected an ISO 4217 currency code",
    ),
    ("ratecode.toml", "[currency]\nrates = { Euro = 0.9 }\n", "currency.rates.Euro", "ISO 4217"),
    ("norate.toml", '[currency]\nreport = "EUR"\n', "currency.report", "no exchange rate for EUR"),
    ("usdrate.toml", "[currency]\nrates = { USD = 1 }\n", "currency.rates.USD", "base currency"),
    (
        "entrycur.toml",
        '[[models]]\nmodel = "x"\ninput = 1\noutput = 1\ncurrency = "CHF"\n',
        "models[0].currency",
        "no exchange rate for CHF",
    ),
    (
        "curmult.toml",
        '[currency]\nrates = { CHF = 0.9 }\n[[models]]\nmodel = "x"\nmultiplier = 0.9\ncurrency = "CHF"\n',
        "models[0].currency",
        "only to absolute prices",
    ),
    (
        "ratekey.yaml",
        "currency:\n  rates:\n    EUR:\n      - {rate: 0.9, from: 2026-01-01}\n",
        "currency.rates.EUR[0].from",
        "unknown key",
    ),
    ("models.yaml", "models: {model: x}\n", "models", "expected a list of tables"),
    (
        "address.toml",
        '[[models]]\nserver_address = "http://h/x"\nfree = true\n',
        "models[0].server_address",
        "expected host or host:port",
    ),
]


@pytest.mark.parametrize(("name", "content", "key", "problem"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_sheet_names_file_key_and_problem(
    tmp_path: Path, name: str, content: str, key: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PriceSheetError) as caught:
        PriceSheet.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert problem in message


def test_non_numeric_price_in_fixture(tmp_path: Path) -> None:
    with pytest.raises(PriceSheetError) as caught:
        PriceBook([SHEETS / "bad_price.toml"])
    assert str(caught.value) == (
        f"{SHEETS / 'bad_price.toml'}: models[1].input: expected a number >= 0, got 'abc'"
    )


def test_toml_syntax_error_reports_its_line(tmp_path: Path) -> None:
    path = tmp_path / "syntax.toml"
    path.write_text('version = "1"\n[[models]]\nmodel = "x\n')
    with pytest.raises(PriceSheetError, match=r"syntax\.toml: TOML syntax error: .*line 3"):
        PriceSheet.load(path)


def test_yaml_syntax_error_reports_its_line(tmp_path: Path) -> None:
    path = tmp_path / "syntax.yaml"
    path.write_text("version: '1'\nmodels:\n  - {model: x, input: 1\n  - oops\n")
    with pytest.raises(PriceSheetError, match=r"syntax\.yaml: YAML syntax error at line \d+, column \d+"):
        PriceSheet.load(path)


@pytest.mark.parametrize(
    ("name", "problem"), [("prices.json", "unsupported file type"), ("missing.toml", "cannot read")]
)
def test_unreadable_sheets(tmp_path: Path, name: str, problem: str) -> None:
    if name.endswith(".json"):
        (tmp_path / name).write_text("{}")
    with pytest.raises(PriceSheetError, match=problem):
        PriceSheet.load(tmp_path / name)


def test_numeric_strings_are_accepted_for_yaml_exponents(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "models:\n  - {model: x, input: 1e-1, output: '0.2'}\n"
    )  # YAML 1.1 reads 1e-1 as a string
    entry = PriceSheet.load(path).entries[0]
    assert (str(entry.rates["input"]), str(entry.rates["output"])) == ("0.1", "0.2")
