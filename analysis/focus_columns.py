"""The columns of our FOCUS export, in output order, with their FOCUS data type and nullability.

Why a table of its own: the CSV and Parquet writers, the CLI's `--help` and the README all describe the
same columns; one definition keeps them from drifting. Types are FOCUS's (Decimal, Date/Time, String, JSON)
plus `integer` for our `x_` counters; the Parquet writer maps them to decimal128, timestamp[us, UTC],
string (JSON as text) and int64.

Which FOCUS 1.2 columns are here and why (feature levels from the FOCUS 1.2 column specs):

* every Mandatory column;
* the Recommended ChargeFrequency and ServiceSubcategory;
* the Conditional columns whose feature applies to per-token LLM billing: usage measurement
  (ConsumedQuantity/Unit), public and negotiated unit prices (ListUnitPrice, ContractedUnitPrice), pricing
  categories, SKUs (SkuId, SkuPriceId, SkuMeter, SkuPriceDetails) and tags;
* ServiceProviderName and HostProviderName from FOCUS 1.3, which replace ProviderName/PublisherName there;
  carrying both sets lets a 1.2 and a 1.3 consumer read the same file.

Left out because the feature does not apply or the spans cannot know it: commitment discounts, capacity
reservations, regions and availability zones, resources (per-token APIs bill no provisioned resource),
sub-accounts, invoices, and the PricingCurrency* columns (we price in the billing currency).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COLUMNS", "COLUMN_NAMES", "Column"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # "decimal" | "datetime" | "string" | "json" | "integer"
    nullable: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("BilledCost", "decimal"),
    Column("BillingAccountId", "string"),
    Column("BillingAccountName", "string", nullable=True),
    Column("BillingCurrency", "string"),
    Column("BillingPeriodStart", "datetime"),
    Column("BillingPeriodEnd", "datetime"),
    Column("ChargeCategory", "string"),
    Column("ChargeClass", "string", nullable=True),
    Column("ChargeDescription", "string", nullable=True),
    Column("ChargeFrequency", "string"),
    Column("ChargePeriodStart", "datetime"),
    Column("ChargePeriodEnd", "datetime"),
    Column("ConsumedQuantity", "decimal", nullable=True),
    Column("ConsumedUnit", "string", nullable=True),
    Column("ContractedCost", "decimal"),
    Column("ContractedUnitPrice", "decimal", nullable=True),
    Column("EffectiveCost", "decimal"),
    Column("HostProviderName", "string"),
    Column("InvoiceIssuerName", "string"),
    Column("ListCost", "decimal"),
    Column("ListUnitPrice", "decimal", nullable=True),
    Column("PricingCategory", "string", nullable=True),
    Column("PricingQuantity", "decimal", nullable=True),
    Column("PricingUnit", "string", nullable=True),
    Column("ProviderName", "string"),
    Column("PublisherName", "string"),
    Column("ServiceCategory", "string"),
    Column("ServiceName", "string"),
    Column("ServiceProviderName", "string"),
    Column("ServiceSubcategory", "string"),
    Column("SkuId", "string", nullable=True),
    Column("SkuMeter", "string", nullable=True),
    Column("SkuPriceDetails", "json", nullable=True),
    Column("SkuPriceId", "string", nullable=True),
    Column("Tags", "json", nullable=True),
    # Ours, after every FOCUS column as the spec asks.
    Column("x_ServiceName", "string"),
    Column("x_ProviderId", "string"),
    Column("x_ModelId", "string"),
    Column("x_TokenClass", "string"),
    Column("x_PriceSource", "string"),
    Column("x_CallCount", "integer"),
    Column("x_TraceCount", "integer"),
    Column("x_UserCount", "integer"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in COLUMNS)
