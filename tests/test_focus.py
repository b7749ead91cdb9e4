"""`otel-tokenomics focus`: FOCUS 1.2 rows checked against the spec's columns, types, values and invariants.

The validator below is written from the FOCUS 1.2 column specs (as summarised in the project's reference
notes: feature levels, nullability, data types, allowed values, unit and date formats, cost invariants), not
from our column table, so a column we drop or mistype fails here. Expected quantities and costs are computed
by hand from the fixture's token counts and the catalog's per-million rates.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from otel_tokenomics.analysis.focus_identity import model_identity, provider_identity
from otel_tokenomics.cli import main
from otel_tokenomics.semconv.prices import PriceBook

# --- the FOCUS 1.2 rules (reference §3.2-3.5) ---------------------------------------------------------------

FOCUS_12_COLUMNS = {
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId",
    "CapacityReservationStatus", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountQuantity", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice",
    "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
    "PricingCurrency", "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
    "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName",
    "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId",
    "SubAccountName", "SubAccountType", "Tags",
}  # fmt: skip
FOCUS_13_PROVIDER_COLUMNS = {"ServiceProviderName", "HostProviderName"}  # 1.3's replacements, allowed alongside
MANDATORY = {
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
}  # fmt: skip
# Conditional columns whose feature applies to per-token billing (usage measurement, unit prices, SKUs).
CONDITIONAL_APPLICABLE = {
    "ConsumedQuantity", "ConsumedUnit", "ListUnitPrice", "ContractedUnitPrice", "SkuId", "SkuPriceId", "SkuMeter",
    "SkuPriceDetails", "PricingCategory",
}  # fmt: skip
RECOMMENDED_USED = {"ChargeFrequency", "ServiceSubcategory"}
NOT_NULL = {
    "BilledCost", "BillingAccountId", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
    "ChargeCategory", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost",
    "EffectiveCost", "InvoiceIssuerName", "ListCost", "ProviderName", "PublisherName", "ServiceCategory",
    "ServiceName", "ServiceSubcategory",
}  # fmt: skip
DECIMAL = {
    "BilledCost", "ConsumedQuantity", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "ListCost",
    "ListUnitPrice", "PricingQuantity",
}  # fmt: skip
DATETIME = {"BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"}
JSON_COLUMNS = {"SkuPriceDetails", "Tags"}
SERVICE_CATEGORIES = {
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools",
    "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance", "Media",
    "Migration", "Mobile", "Networking", "Security", "Storage", "Web", "Other",
}  # fmt: skip
ALLOWED = {
    "ChargeCategory": {"Usage", "Purchase", "Tax", "Credit", "Adjustment"},
    "ChargeClass": {"", "Correction"},
    "ChargeFrequency": {"One-Time", "Recurring", "Usage-Based"},
    "PricingCategory": {"", "Standard", "Dynamic", "Committed", "Other"},
    "ServiceCategory": SERVICE_CATEGORIES,
}
AI_SUBCATEGORIES = {
    "AI Platforms", "Bots", "Generative AI", "Machine Learning", "Natural Language Processing",
    "Other (AI and Machine Learning)",
}  # fmt: skip
NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")  # plain decimal; FOCUS also allows mEn, our brief forbids it
DATETIME_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
UNIT = re.compile(r"^(\d+ )?[A-Z][A-Za-z]*s?(/[A-Z][a-z]+)?$")  # "Tokens", "1000000 Tokens", "Requests/Hour"
PASCAL_KEY = re.compile(r"^(x_[A-Za-z0-9_]+|[A-Z][A-Za-z0-9]*)$")


def _when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def validate_focus(header: list[str], rows: list[dict[str, str]], period: timedelta) -> None:
    """Assert every FOCUS 1.2 rule we can check on a cost-and-usage file."""
    columns = set(header)
    missing = (MANDATORY | CONDITIONAL_APPLICABLE | RECOMMENDED_USED) - columns
    assert not missing, f"missing FOCUS columns: {sorted(missing)}"
    custom = [name for name in header if name not in FOCUS_12_COLUMNS | FOCUS_13_PROVIDER_COLUMNS]
    assert all(name.startswith("x_") for name in custom), f"custom columns without x_: {custom}"
    first_custom = min((header.index(name) for name in custom), default=len(header))
    assert all(header.index(name) < first_custom for name in columns - set(custom)), "x_ columns must come last"
    assert rows, "no rows"
    for number, row in enumerate(rows, 2):
        where = f"row {number}"
        for name in NOT_NULL:
            assert row[name] != "", f"{where}: {name} is null"
        for name in DECIMAL:
            assert row[name] == "" or NUMERIC.match(row[name]), f"{where}: {name}={row[name]!r} is not numeric"
        for name in DATETIME:
            assert DATETIME_FORMAT.match(row[name]), f"{where}: {name}={row[name]!r} is not UTC ISO 8601"
        for name in JSON_COLUMNS:
            if row[name]:
                value = json.loads(row[name])
                assert isinstance(value, dict), f"{where}: {name} is not a JSON object"
                assert all(not isinstance(v, dict | list) for v in value.values()), f"{where}: {name} is nested"
        for key in json.loads(row["SkuPriceDetails"]):
            assert PASCAL_KEY.match(key), f"{where}: SkuPriceDetails key {key!r} is neither PascalCase nor x_"
        for name, allowed in ALLOWED.items():
            assert row[name] in allowed, f"{where}: {name}={row[name]!r} not allowed"
        if row["ServiceCategory"] == "AI and Machine Learning":
            assert row["ServiceSubcategory"] in AI_SUBCATEGORIES, f"{where}: bad ServiceSubcategory"
        assert CURRENCY.match(row["BillingCurrency"]), f"{where}: BillingCurrency not ISO 4217"
        for name in ("ConsumedUnit", "PricingUnit"):
            assert UNIT.match(row[name]), f"{where}: {name}={row[name]!r} is not a FOCUS unit"
        # Periods: exclusive end = start + period; the charge period lies inside its billing period (a month).
        charge_start, charge_end = _when(row["ChargePeriodStart"]), _when(row["ChargePeriodEnd"])
        billing_start, billing_end = _when(row["BillingPeriodStart"]), _when(row["BillingPeriodEnd"])
        assert charge_end - charge_start == period, f"{where}: charge period is not {period}"
        assert billing_start <= charge_start and charge_end <= billing_end, f"{where}: outside billing period"
        assert billing_start.day == 1 and billing_end.day == 1 and billing_start.time() == datetime.min.time()
        # Costs: not negative; unit price x pricing quantity = cost (§3.5); usage rows have quantities.
        for name in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
            assert Decimal(row[name]) >= 0, f"{where}: {name} negative"
        assert row["ChargeCategory"] == "Usage" and row["ChargeClass"] == ""
        assert row["PricingQuantity"] and row["PricingUnit"], f"{where}: usage row without pricing quantity"
        assert row["ConsumedQuantity"] and row["ConsumedUnit"], f"{where}: usage row without consumed quantity"
        quantity = Decimal(row["PricingQuantity"])
        for price, cost in (("ListUnitPrice", "ListCost"), ("ContractedUnitPrice", "ContractedCost")):
            if row[price]:
                assert abs(Decimal(row[price]) * quantity - Decimal(row[cost])) <= Decimal("1e-15"), where
        tokens_per_unit = Decimal(row["PricingUnit"].split()[0]) if " " in row["PricingUnit"] else Decimal(1)
        assert Decimal(row["ConsumedQuantity"]) == quantity * tokens_per_unit, f"{where}: quantities disagree"


# --- fixture: hand-written OTLP JSON lines ----------------------------------------------------------------

DAY = datetime(2026, 11, 23, tzinfo=UTC)
T10 = int((DAY + timedelta(hours=10)).timestamp()) * 1_000_000_000
MINUTE = 60 * 1_000_000_000


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value}


def _line(service: str, spans: list[dict[str, Any]]) -> str:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    scope = {"scope": {"name": "test"}, "spans": spans}
    return json.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [scope]}]})


def _span(trace: str, span: str, start: int, attributes: dict[str, Any], name: str = "chat") -> dict[str, Any]:
    return {
        "traceId": trace * 32,
        "spanId": span * 16,
        "name": name,
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 1_000_000),
        "attributes": [{"key": key, "value": _value(value)} for key, value in attributes.items()],
    }


def _chat(provider: str, model: str, tokens_in: int, tokens_out: int, **extra: Any) -> dict[str, Any]:
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.response.model": model,
        "gen_ai.usage.input_tokens": tokens_in,
        "gen_ai.usage.output_tokens": tokens_out,
    }
    attributes.update({key.replace("__", "."): value for key, value in extra.items()})
    return attributes


def _priced(source: str, currency: str = "USD", **classes: float) -> dict[str, Any]:
    """Cost attributes as our instrumentation writes them (breakdown classes default to 0)."""
    parts = {name: classes.get(name, 0.0) for name in ("input", "cache_read", "cache_write", "output")}
    attributes = {
        "tokenomics.cost.status": "priced",
        "gen_ai.usage.cost.amount": sum(parts.values()),
        "gen_ai.usage.cost.currency": currency,
        "gen_ai.usage.cost.source": "local",
        "tokenomics.price.source": source,
    }
    attributes.update({f"tokenomics.cost.{name}": value for name, value in parts.items()})
    return attributes


# gpt-4o list: input 2.5, cache_read 1.25, output 10 USD per million (the catalog's rates, hand-multiplied)
GPT4O_CALL_1 = _chat(
    "openai", "gpt-4o", 2000, 100, gen_ai__usage__cache_read__input_tokens=1000, user__id="alice",
    **_priced("genai-prices", input=0.0025, cache_read=0.00125, output=0.001),
)  # fmt: skip
GPT4O_CALL_2 = _chat(
    "openai", "gpt-4o", 500, 50, user__id="alice", **_priced("genai-prices", input=0.00125, output=0.0005)
)
GPT4O_CALL_3 = _chat(
    "openai", "gpt-4o", 1000, 200, user__id="bob", **_priced("genai-prices", input=0.0025, output=0.002)
)
# Another instrumentation: tokens, no cost. Priced at export with the catalog.
CLAUDE_NO_COST = _chat(
    "anthropic", "claude-sonnet-4-20250514", 3000, 100,
    gen_ai__usage__cache_read__input_tokens=2000, gen_ai__usage__cache_creation__input_tokens=500,
)  # fmt: skip
# Priced at run time by a contract sheet: 0.12 / 0.48 per million (the list price is 0.15 / 0.60).
MINI_SHEET = _chat("openai", "gpt-4o-mini", 1000, 1000, **_priced("sheet:acme", input=0.00012, output=0.00048))
UNPRICED = _chat(
    "openai", "acme-experimental-1", 16, 53,
    tokenomics__cost__status="unpriced", tokenomics__cost__unpriced_reason="unknown_model",
)  # fmt: skip
ROOT = {"http.route": "/ask"}


@pytest.fixture
def traces(tmp_path: Path) -> Path:
    path = tmp_path / "spans.jsonl"
    lines = [
        _line(
            "api",
            [
                _span("a", "1", T10, ROOT, name="POST /ask"),
                _span("a", "2", T10 + MINUTE, GPT4O_CALL_1),
                _span("a", "3", T10 + 30 * MINUTE, GPT4O_CALL_2),
                _span("b", "4", T10 + 70 * MINUTE, GPT4O_CALL_3),
                _span("b", "5", T10 + 71 * MINUTE, MINI_SHEET),
                _span("b", "6", T10 + 72 * MINUTE, UNPRICED),
            ],
        ),
        '{"resourceSpans": [{"resource": {"attributes": [',  # torn line, as a crashed writer leaves
        _line("worker", [_span("c", "7", T10 + 5 * MINUTE, CLAUDE_NO_COST)]),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["focus", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    assert "\r\n" in text, "RFC 4180 line ends are CRLF"
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames or []), list(reader)


def _by_key(rows: list[dict[str, str]]) -> dict[tuple[str, str, str, str], dict[str, str]]:
    keyed = {(r["x_ServiceName"], r["x_ModelId"], r["x_TokenClass"], r["ChargePeriodStart"]): r for r in rows}
    assert len(keyed) == len(rows), "two rows share a key"
    return keyed


def _rate(provider: str, model: str, name: str) -> Decimal:
    record = PriceBook().resolve(provider, model, when=T10 / 1e9)
    assert record is not None
    return record.rates()[name]


# --- tests ------------------------------------------------------------------------------------------------


def test_daily_export_is_valid_focus_with_hand_computed_rows(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, str(traces))
    assert status == 0
    header, rows = _rows(out)
    validate_focus(header, rows, timedelta(days=1))
    rows_by_key = _by_key(rows)
    day = "2026-11-23T00:00:00Z"
    assert len(rows) == 3 + 4 + 2  # gpt-4o: input/cache_read/output; claude: four classes; mini: two

    gpt_input = rows_by_key[("api", "gpt-4o", "input", day)]
    assert Decimal(gpt_input["ConsumedQuantity"]) == 1000 + 500 + 1000  # uncached input only
    assert Decimal(gpt_input["PricingQuantity"]) == Decimal("0.0025")
    assert Decimal(gpt_input["BilledCost"]) == Decimal("0.0025") + Decimal("0.00125") + Decimal("0.0025")
    assert Decimal(gpt_input["ListUnitPrice"]) == Decimal("2.5")
    assert gpt_input["x_CallCount"] == "3" and gpt_input["x_TraceCount"] == "2" and gpt_input["x_UserCount"] == "2"
    gpt_cached = rows_by_key[("api", "gpt-4o", "cache_read", day)]
    assert (gpt_cached["ConsumedQuantity"], Decimal(gpt_cached["BilledCost"])) == ("1000", Decimal("0.00125"))
    assert gpt_cached["x_CallCount"] == "1"
    gpt_output = rows_by_key[("api", "gpt-4o", "output", day)]
    assert Decimal(gpt_output["ConsumedQuantity"]) == 350
    assert Decimal(gpt_output["BilledCost"]) == Decimal("0.0035")
    # Per-class rows add up to the spans' totals (0.00475 + 0.00175 + 0.0045).
    gpt_total = sum(Decimal(r["BilledCost"]) for r in (gpt_input, gpt_cached, gpt_output))
    assert gpt_total == Decimal("0.011")

    # The span without a cost is priced at the catalog's rates, class by class.
    claude = "claude-sonnet-4-20250514"
    expected = {"input": 500, "cache_read": 2000, "cache_write": 500, "output": 100}
    for token_class, tokens in expected.items():
        row = rows_by_key[("worker", claude, token_class, day)]
        rate = _rate("anthropic", claude, token_class)
        assert Decimal(row["ConsumedQuantity"]) == tokens
        assert Decimal(row["BilledCost"]) == tokens * rate / 1_000_000
        assert Decimal(row["ListCost"]) == Decimal(row["BilledCost"])
        assert row["x_PriceSource"] == "genai-prices"

    # Identity and fixed values.
    assert gpt_input["ServiceName"] == "OpenAI API" and gpt_input["ProviderName"] == "OpenAI"
    assert gpt_input["SkuMeter"] == "Input Tokens" and gpt_output["SkuMeter"] == "Output Tokens"
    assert gpt_input["SkuId"] == gpt_cached["SkuId"] != gpt_output["SkuId"]
    assert gpt_input["SkuPriceId"] != gpt_cached["SkuPriceId"]
    details = json.loads(gpt_cached["SkuPriceDetails"])
    assert details["ModelId"] == "gpt-4o" and details["ModelDeveloper"] == "OpenAI"
    assert details["x_CacheStatus"] == "CacheRead"
    assert gpt_input["BillingCurrency"] == "USD" and gpt_input["PricingUnit"] == "1000000 Tokens"
    assert gpt_input["ServiceSubcategory"] == "Generative AI" and gpt_input["ChargeFrequency"] == "Usage-Based"
    assert (gpt_input["BillingPeriodStart"], gpt_input["BillingPeriodEnd"]) == (
        "2026-11-01T00:00:00Z",
        "2026-12-01T00:00:00Z",
    )
    assert json.loads(gpt_input["Tags"]) == {"service.name": "api"}


def test_unpriced_calls_are_left_out_and_reported(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, str(traces))
    _, rows = _rows(out)
    assert status == 0
    assert not [row for row in rows if row["x_ModelId"] == "acme-experimental-1"]
    assert "1 unpriced LLM call(s) not exported" in err
    assert "openai acme-experimental-1: 1 call(s), 16 input + 53 output tokens (unknown_model)" in err
    status, _, _ = _run(capsys, str(traces), "--fail-on-unpriced")
    assert status == 1


def test_corrupt_line_is_reported_and_the_rest_exported(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, str(traces))
    assert status == 0
    assert f"{traces}:2:" in err and "truncated" in err
    assert "1 unreadable line(s) skipped" in err
    _, rows = _rows(out)
    assert any(row["x_ServiceName"] == "worker" for row in rows)  # the line after the torn one was read


def test_list_and_contracted_prices_differ_under_a_price_sheet(
    traces: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Recorded at run time with a contract sheet: contracted = the span's cost, list = the catalog's price.
    _, out, _ = _run(capsys, str(traces))
    rows = _by_key(_rows(out)[1])
    mini_in = rows[("api", "gpt-4o-mini", "input", "2026-11-23T00:00:00Z")]
    mini_out = rows[("api", "gpt-4o-mini", "output", "2026-11-23T00:00:00Z")]
    assert Decimal(mini_in["ContractedCost"]) == Decimal(mini_in["BilledCost"]) == Decimal("0.00012")
    assert Decimal(mini_in["ListCost"]) == 1000 * _rate("openai", "gpt-4o-mini", "input") / 1_000_000
    assert Decimal(mini_out["ListCost"]) == 1000 * _rate("openai", "gpt-4o-mini", "output") / 1_000_000
    assert Decimal(mini_in["ContractedUnitPrice"]) == Decimal("0.12")
    assert Decimal(mini_in["ListUnitPrice"]) == _rate("openai", "gpt-4o-mini", "input")
    assert mini_in["x_PriceSource"] == "sheet:acme"

    # A sheet given to the export: half price on gpt-4o, and a price for the model nobody knew.
    sheet = tmp_path / "contract.toml"
    sheet.write_text(
        '[[models]]\nprovider = "openai"\nmodel = "gpt-4o"\nmultiplier = 0.5\n\n'
        '[[models]]\nmodel = "acme-experimental-1"\ninput = 1.0\noutput = 2.0\n',
        encoding="utf-8",
    )
    status, out, err = _run(capsys, str(traces), "--price-sheet", str(sheet))
    assert status == 0 and "unpriced" not in err
    header, rows_list = _rows(out)
    validate_focus(header, rows_list, timedelta(days=1))
    rows = _by_key(rows_list)
    gpt_input = rows[("api", "gpt-4o", "input", "2026-11-23T00:00:00Z")]
    assert Decimal(gpt_input["ListCost"]) == Decimal("0.00625")
    assert Decimal(gpt_input["ContractedCost"]) == Decimal("0.003125") == Decimal(gpt_input["EffectiveCost"])
    assert Decimal(gpt_input["ContractedUnitPrice"]) == Decimal("1.25")
    acme_out = rows[("api", "acme-experimental-1", "output", "2026-11-23T00:00:00Z")]
    # Not in the catalog: the sheet's price is the only one, so it is also the list price.
    assert Decimal(acme_out["BilledCost"]) == Decimal(acme_out["ListCost"]) == Decimal(53 * 2) / 1_000_000


def test_hourly_periods_split_rows(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, str(traces), "--period", "hour")
    header, rows_list = _rows(out)
    validate_focus(header, rows_list, timedelta(hours=1))
    rows = _by_key(rows_list)
    ten = rows[("api", "gpt-4o", "input", "2026-11-23T10:00:00Z")]
    eleven = rows[("api", "gpt-4o", "input", "2026-11-23T11:00:00Z")]
    assert (ten["ConsumedQuantity"], ten["x_CallCount"], ten["x_TraceCount"]) == ("1500", "2", "1")
    assert ten["ChargePeriodEnd"] == "2026-11-23T11:00:00Z"
    assert (eleven["ConsumedQuantity"], Decimal(eleven["BilledCost"])) == ("1000", Decimal("0.0025"))


def test_filters_are_the_report_filters(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, str(traces), "--service", "worker")
    assert {row["x_ServiceName"] for row in _rows(out)[1]} == {"worker"}
    _, out, _ = _run(capsys, str(traces), "--model", "gpt-4o", "--until", "2026-11-23T10:30:00Z")
    rows = _rows(out)[1]
    assert {row["x_ModelId"] for row in rows} == {"gpt-4o"}
    assert sum(int(row["x_CallCount"]) for row in rows if row["x_TokenClass"] == "input") == 1


def test_provider_reported_total_is_split_by_catalog_shares(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    attributes = _chat(
        "openai", "gpt-4o", 1000, 100,
        tokenomics__cost__status="priced", gen_ai__usage__cost__amount=0.01, gen_ai__usage__cost__currency="USD",
        gen_ai__usage__cost__source="provider", tokenomics__price__source="provider",
    )  # fmt: skip
    path = tmp_path / "reported.jsonl"
    path.write_text(_line("api", [_span("d", "1", T10, attributes)]) + "\n", encoding="utf-8")
    _, out, _ = _run(capsys, str(path))
    rows = {row["x_TokenClass"]: row for row in _rows(out)[1]}
    # Catalog shares: input 1000 x 2.5 = 2500, output 100 x 10 = 1000 (per million): 5/7 and 2/7 of 0.01.
    billed_in, billed_out = Decimal(rows["input"]["BilledCost"]), Decimal(rows["output"]["BilledCost"])
    assert billed_in + billed_out == Decimal("0.01")
    assert abs(billed_in - Decimal("0.05") / 7) < Decimal("1e-18")
    assert Decimal(rows["input"]["ListCost"]) == Decimal("0.0025")


def test_parquet_round_trip_keeps_types(traces: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pa = pytest.importorskip("pyarrow", reason="pyarrow not installed on this machine (CI installs it via [dev])")
    import pyarrow.parquet as pq

    target = tmp_path / "focus.parquet"
    status, _, err = _run(capsys, str(traces), "--format", "parquet", "-o", str(target))
    assert status == 0, err
    _, csv_out, _ = _run(capsys, str(traces))
    csv_rows = _rows(csv_out)[1]
    table = pq.read_table(target)
    schema = table.schema
    for name in DECIMAL:
        assert pa.types.is_decimal(schema.field(name).type), name
    for name in DATETIME:
        field_type = schema.field(name).type
        assert pa.types.is_timestamp(field_type) and field_type.unit == "us" and field_type.tz == "UTC", name
    for name in ("BillingCurrency", "ServiceName", "SkuPriceDetails", "Tags"):
        assert pa.types.is_string(schema.field(name).type), name
    assert pa.types.is_int64(schema.field("x_CallCount").type)
    assert schema.metadata[b"FocusVersion"] == b"1.2"
    parquet_rows = table.to_pylist()
    assert len(parquet_rows) == len(csv_rows)
    for from_parquet, from_csv in zip(parquet_rows, csv_rows, strict=True):
        assert from_parquet["BilledCost"] == Decimal(from_csv["BilledCost"])
        assert from_parquet["ChargePeriodStart"] == _when(from_csv["ChargePeriodStart"])
        assert json.loads(from_parquet["SkuPriceDetails"]) == json.loads(from_csv["SkuPriceDetails"])
        assert from_parquet["ChargeClass"] is None and from_csv["ChargeClass"] == ""


def test_parquet_without_pyarrow_is_a_clear_error(
    traces: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow → ImportError
    status, _, err = _run(capsys, str(traces), "--format", "parquet", "-o", str(tmp_path / "x.parquet"))
    assert status == 2
    assert "needs pyarrow" in err and "--format csv" in err
    status, _, err = _run(capsys, str(traces), "--format", "parquet")
    assert status == 2 and "-o FILE" in err


def test_bad_arguments_are_clear_errors(traces: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(capsys, str(tmp_path / "missing.jsonl"))
    assert status == 2 and "missing.jsonl" in err
    bad_sheet = tmp_path / "bad.toml"
    bad_sheet.write_text('[[models]]\nmodel = "x"\ninput = "cheap"\n', encoding="utf-8")
    status, _, err = _run(capsys, str(traces), "--price-sheet", str(bad_sheet))
    assert status == 2 and "bad.toml" in err and "models[0].input" in err
    status, _, err = _run(capsys, str(traces), "--since", "yesterday-ish")
    assert status == 2 and "--since" in err


def test_output_file(traces: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "focus.csv"
    status, out, err = _run(capsys, str(traces), "-o", str(target))
    assert status == 0 and out == ""
    assert f"to {target}" in err
    header, rows = _rows(target.read_bytes().decode("utf-8"))
    validate_focus(header, rows, timedelta(days=1))


@pytest.mark.parametrize(
    ("model", "family", "developer", "version"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o", "OpenAI", "2024-08-06"),
        ("gpt-4o-mini", "gpt-4o-mini", "OpenAI", None),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet", "Anthropic", "20241022"),
        ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet", "Anthropic", "20241022"),
        ("amazon.nova-lite-v1:0", "nova-lite", "Amazon", "v1:0"),
        ("models/gemini-2.0-flash", "gemini-2.0-flash", "Google", None),
        ("meta-llama/Llama-3.3-70B-Instruct", "Llama-3.3-70B-Instruct", "Meta", None),
        ("ft:gpt-4o-mini-2024-07-18:acme:support:abc123", "gpt-4o-mini", "OpenAI", "2024-07-18"),
        ("acme-experimental-1", "acme-experimental-1", None, None),
    ],
)
def test_model_identity(model: str, family: str, developer: str | None, version: str | None) -> None:
    identity = model_identity(model)
    assert (identity.family, identity.developer, identity.version) == (family, developer, version)


def test_provider_identity() -> None:
    bedrock = provider_identity("aws.bedrock")
    assert (bedrock.provider, bedrock.service) == ("Amazon Web Services", "Amazon Bedrock")
    unknown = provider_identity("acme.llm")
    assert (unknown.provider, unknown.service) == ("acme.llm", "acme.llm API")


def test_list_price_in_the_billing_currency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Priced at run time by a EUR contract sheet: 1,000 gpt-4o input tokens at 2.00 EUR per million.
    attributes = _chat("openai", "gpt-4o", 1000, 0, **_priced("sheet:eur", currency="EUR", input=0.002))
    path = tmp_path / "eur.jsonl"
    path.write_text(_line("api", [_span("e", "1", T10, attributes)]) + "\n", encoding="utf-8")
    rates = tmp_path / "rates.toml"
    rates.write_text("[currency]\nrates = { EUR = 0.9 }\n", encoding="utf-8")
    _, out, _ = _run(capsys, str(path), "--price-sheet", str(rates))
    (row,) = _rows(out)[1]
    assert row["BillingCurrency"] == "EUR" and Decimal(row["BilledCost"]) == Decimal("0.002")
    # List: the catalog's 2.5 USD per million, converted at the sheet's 0.9 EUR per USD.
    assert Decimal(row["ListCost"]) == 1000 * _rate("openai", "gpt-4o", "input") * Decimal("0.9") / 1_000_000
    # Without an exchange rate the contracted price is the only one in EUR.
    _, out, _ = _run(capsys, str(path))
    (row,) = _rows(out)[1]
    assert Decimal(row["ListCost"]) == Decimal(row["BilledCost"]) == Decimal("0.002")


def test_the_validator_rejects_what_focus_forbids(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The checks above are only as good as the validator: it must fail on rule breaks."""
    _, out, _ = _run(capsys, str(traces))
    header, rows = _rows(out)
    validate_focus(header, rows, timedelta(days=1))
    breaks: list[tuple[str, str]] = [
        ("ChargeCategory", "usage"),
        ("BilledCost", ""),
        ("ListCost", "1E-7"),
        ("ChargePeriodEnd", "2026-11-25T00:00:00Z"),
        ("BillingCurrency", "usd"),
        ("ServiceSubcategory", "Chatbots"),
        ("ListUnitPrice", "99"),
        ("SkuPriceDetails", '{"model_id": "gpt-4o"}'),
    ]
    for column, value in breaks:
        broken = [dict(rows[0], **{column: value}), *rows[1:]]
        with pytest.raises(AssertionError):
            validate_focus(header, broken, timedelta(days=1))
    with pytest.raises(AssertionError):
        validate_focus([name for name in header if name != "ListCost"], rows, timedelta(days=1))
    with pytest.raises(AssertionError):
        validate_focus([*header, "ModelName"], [dict(row, ModelName="x") for row in rows], timedelta(days=1))


def test_a_call_read_twice_is_billed_once(traces: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy" / "spans.jsonl"
    copy.parent.mkdir()
    copy.write_bytes(traces.read_bytes())
    _, once, _ = _run(capsys, str(traces))
    _, twice, err = _run(capsys, str(traces), str(copy))
    assert _rows(twice)[1] == _rows(once)[1]
    assert "6 LLM call(s) read more than once, counted once" in err
