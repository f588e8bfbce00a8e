"""FOCUS 1.2 Cost-and-Usage columns (formats.md §6.2), `focus_import` and the normalized `focus_costs`.

Decimal columns are DOUBLE (money as upstream gives it, DESIGN §4), Date/Time are UTC timestamps,
JSON columns (Tags, SkuPriceDetails) are JSON text so both engines store them the same way.
"""

from __future__ import annotations

import pyarrow as pa

from exporters.warehouse.schema.types import PROVENANCE, TS

S, D = pa.string(), pa.float64()

# name → (arrow type, feature level) for the 57 FOCUS 1.2 columns, in spec order.
FOCUS_12_COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "AvailabilityZone": (S, "Recommended"),
    "BilledCost": (D, "Mandatory"),
    "BillingAccountId": (S, "Mandatory"),
    "BillingAccountName": (S, "Mandatory"),
    "BillingAccountType": (S, "Conditional"),
    "BillingCurrency": (S, "Mandatory"),
    "BillingPeriodEnd": (TS, "Mandatory"),
    "BillingPeriodStart": (TS, "Mandatory"),
    "CapacityReservationId": (S, "Conditional"),
    "CapacityReservationStatus": (S, "Conditional"),
    "ChargeCategory": (S, "Mandatory"),
    "ChargeClass": (S, "Mandatory"),
    "ChargeDescription": (S, "Mandatory"),
    "ChargeFrequency": (S, "Recommended"),
    "ChargePeriodEnd": (TS, "Mandatory"),
    "ChargePeriodStart": (TS, "Mandatory"),
    "CommitmentDiscountCategory": (S, "Conditional"),
    "CommitmentDiscountId": (S, "Conditional"),
    "CommitmentDiscountName": (S, "Conditional"),
    "CommitmentDiscountQuantity": (D, "Conditional"),
    "CommitmentDiscountStatus": (S, "Conditional"),
    "CommitmentDiscountType": (S, "Conditional"),
    "CommitmentDiscountUnit": (S, "Conditional"),
    "ConsumedQuantity": (D, "Conditional"),
    "ConsumedUnit": (S, "Conditional"),
    "ContractedCost": (D, "Mandatory"),
    "ContractedUnitPrice": (D, "Conditional"),
    "EffectiveCost": (D, "Mandatory"),
    "InvoiceId": (S, "Recommended"),
    "InvoiceIssuerName": (S, "Mandatory"),
    "ListCost": (D, "Mandatory"),
    "ListUnitPrice": (D, "Conditional"),
    "PricingCategory": (S, "Conditional"),
    "PricingCurrency": (S, "Conditional"),
    "PricingCurrencyContractedUnitPrice": (D, "Conditional"),
    "PricingCurrencyEffectiveCost": (D, "Conditional"),
    "PricingCurrencyListUnitPrice": (D, "Conditional"),
    "PricingQuantity": (D, "Mandatory"),
    "PricingUnit": (S, "Mandatory"),
    "ProviderName": (S, "Mandatory"),
    "PublisherName": (S, "Mandatory"),
    "RegionId": (S, "Conditional"),
    "RegionName": (S, "Conditional"),
    "ResourceId": (S, "Conditional"),
    "ResourceName": (S, "Conditional"),
    "ResourceType": (S, "Conditional"),
    "ServiceCategory": (S, "Mandatory"),
    "ServiceName": (S, "Mandatory"),
    "ServiceSubcategory": (S, "Recommended"),
    "SkuId": (S, "Conditional"),
    "SkuMeter": (S, "Conditional"),
    "SkuPriceDetails": (S, "Conditional"),
    "SkuPriceId": (S, "Conditional"),
    "SubAccountId": (S, "Conditional"),
    "SubAccountName": (S, "Conditional"),
    "SubAccountType": (S, "Conditional"),
    "Tags": (S, "Conditional"),
}

# Our extensions (FOCUS allows x_-prefixed custom columns).
X_COLUMNS: dict[str, pa.DataType] = {
    "x_Team": S,
    "x_Env": S,
    "x_Workload": S,
    "x_Project": S,
    "x_Platform": S,  # gce | gke | databricks | other
    "x_GpuCount": D,
    "x_GpuModel": S,
    "x_IsSpot": pa.bool_(),
    "x_SourceTable": S,
}

# What a FOCUS file from another provider lands as: every 1.2 column, typed; 1.0/1.1 files simply
# leave the newer ones null. ProviderName is filled from ServiceProviderName (1.3+) when absent.
FOCUS_IMPORT = pa.schema(
    [pa.field(n, t) for n, (t, _) in FOCUS_12_COLUMNS.items()] + [pa.field("x_SourceFile", S), *PROVENANCE]
)
FOCUS_IMPORT_REQUIRED = ("BilledCost", "ChargePeriodStart", "ChargePeriodEnd")

# The normalized table every dashboard and rule reads: the FOCUS columns we can fill, plus x_.
FOCUS_COSTS_COLUMNS = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingCurrency",
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
    "ChargeClass", "ChargeDescription", "ProviderName", "PublisherName", "InvoiceIssuerName", "ServiceName",
    "ServiceCategory", "SkuId", "SkuPriceId", "ResourceId", "ResourceName", "ResourceType", "RegionId",
    "RegionName", "AvailabilityZone", "SubAccountId", "SubAccountName", "ConsumedQuantity", "ConsumedUnit",
    "PricingQuantity", "PricingUnit", "ListUnitPrice", "ContractedUnitPrice", "PricingCategory",
    "CommitmentDiscountId", "CommitmentDiscountCategory", "Tags",
)  # fmt: skip
FOCUS_COSTS = pa.schema(
    [pa.field(n, FOCUS_12_COLUMNS[n][0]) for n in FOCUS_COSTS_COLUMNS]
    + [pa.field(n, t) for n, t in X_COLUMNS.items()]
    + PROVENANCE
)
