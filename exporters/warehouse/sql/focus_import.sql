-- focus_costs rows from focus_import (FOCUS files from any provider), already in FOCUS columns.
-- Our x_ columns come from the Tags JSON object (keys team / env / workload / project).
SELECT
  BilledCost,
  COALESCE(EffectiveCost, BilledCost) AS EffectiveCost,
  COALESCE(ListCost, BilledCost) AS ListCost,
  COALESCE(ContractedCost, BilledCost) AS ContractedCost,
  BillingAccountId, BillingCurrency, BillingPeriodStart, BillingPeriodEnd,
  ChargePeriodStart, ChargePeriodEnd,
  COALESCE(ChargeCategory, 'Usage') AS ChargeCategory,
  ChargeClass, ChargeDescription, ProviderName, PublisherName, InvoiceIssuerName,
  ServiceName, ServiceCategory, SkuId, SkuPriceId, ResourceId, ResourceName, ResourceType,
  RegionId, RegionName, AvailabilityZone, SubAccountId, SubAccountName,
  ConsumedQuantity, ConsumedUnit, PricingQuantity, PricingUnit, ListUnitPrice, ContractedUnitPrice,
  PricingCategory, CommitmentDiscountId, CommitmentDiscountCategory, Tags,
  JSON_VALUE(Tags, '$.team') AS x_Team,
  JSON_VALUE(Tags, '$.env') AS x_Env,
  JSON_VALUE(Tags, '$.workload') AS x_Workload,
  COALESCE(JSON_VALUE(Tags, '$.project'), SubAccountName) AS x_Project,
  CASE
    WHEN LOWER(ProviderName) LIKE '%databricks%' THEN 'databricks'
    -- Only Google's Kubernetes service is GKE (AWS EKS and Azure AKS are 'other').
    WHEN LOWER(ServiceName) LIKE '%kubernetes%' AND LOWER(ProviderName) LIKE '%google%' THEN 'gke'
    WHEN ServiceName = 'Compute Engine' THEN 'gce'
    ELSE 'other'
  END AS x_Platform,
  CAST(NULL AS FLOAT64) AS x_GpuCount,
  -- NULLIF: DuckDB's REGEXP_EXTRACT gives '' where BigQuery gives NULL for no match.
  NULLIF(UPPER(REGEXP_EXTRACT(CONCAT(IFNULL(ChargeDescription, ''), ' ', IFNULL(SkuMeter, '')), r'(?i)\b(H100|H200|A100|L4|A10G|V100|T4|B200|GB200)\b')), '') AS x_GpuModel,
  PricingCategory = 'Dynamic' AS x_IsSpot,
  'focus_import' AS x_SourceTable,
  _day,
  _source
FROM focus_import
