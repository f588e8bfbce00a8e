-- focus_costs rows from gcp_billing_export (BigQuery Standard SQL; transpiled for DuckDB).
-- Mapping follows Google's own FOCUS view (formats.md §1.6): BilledCost = EffectiveCost =
-- cost + SUM(credits.amount); credits are negative. SubAccount is the project, which teams use.
-- LABEL_VALUE, HAS_LABEL_PREFIX, CREDITS_TOTAL, CUD_CATEGORY and TAGS_JSON are defined per engine
-- (exporters/warehouse/sqltext.py): in BigQuery they are the UNNEST subqueries you would expect.
WITH g AS (
  SELECT
    *,
    CREDITS_TOTAL(credits) AS credit_total,
    COALESCE(LABEL_VALUE(labels, 'team'), LABEL_VALUE(project.labels, 'team')) AS team,
    COALESCE(LABEL_VALUE(labels, 'env'), LABEL_VALUE(project.labels, 'env')) AS env,
    LABEL_VALUE(labels, 'workload') AS workload,
    -- NULLIF: DuckDB's REGEXP_EXTRACT gives '' where BigQuery gives NULL on no match.
    NULLIF(REGEXP_EXTRACT(sku.description, r'(?i)nvidia (?:tesla )?([a-z0-9]+)'), '') AS gpu_model
  FROM gcp_billing_export
)
SELECT
  cost + credit_total AS BilledCost,
  cost + credit_total AS EffectiveCost,
  COALESCE(cost_at_list, cost) AS ListCost,
  cost AS ContractedCost,
  billing_account_id AS BillingAccountId,
  currency AS BillingCurrency,
  TIMESTAMP(PARSE_DATE('%Y%m', invoice.month), 'America/Los_Angeles') AS BillingPeriodStart,
  TIMESTAMP(DATE_ADD(PARSE_DATE('%Y%m', invoice.month), INTERVAL 1 MONTH), 'America/Los_Angeles') AS BillingPeriodEnd,
  usage_start_time AS ChargePeriodStart,
  usage_end_time AS ChargePeriodEnd,
  CASE LOWER(cost_type)
    WHEN 'tax' THEN 'Tax'
    WHEN 'adjustment' THEN 'Adjustment'
    WHEN 'rounding_error' THEN 'Adjustment'
    ELSE 'Usage'
  END AS ChargeCategory,
  IF(adjustment_info.id IS NOT NULL, 'Correction', CAST(NULL AS STRING)) AS ChargeClass,
  sku.description AS ChargeDescription,
  'Google Cloud' AS ProviderName,
  IF(transaction_type IS NULL OR transaction_type = 'GOOGLE', 'Google Cloud', seller_name) AS PublisherName,
  'Google Cloud' AS InvoiceIssuerName,
  service.description AS ServiceName,
  CASE
    WHEN service.description IN ('Compute Engine', 'Kubernetes Engine', 'Cloud Run', 'Cloud Functions') THEN 'Compute'
    WHEN service.description IN ('Cloud Storage', 'Filestore', 'Persistent Disk') THEN 'Storage'
    WHEN service.description IN ('BigQuery', 'BigQuery Storage API', 'Dataflow', 'Dataproc', 'Pub/Sub') THEN 'Analytics'
    WHEN service.description IN ('Vertex AI', 'Cloud TPU', 'Gemini API') THEN 'AI and Machine Learning'
    WHEN service.description IN ('Networking', 'Cloud DNS', 'Cloud CDN', 'Network Intelligence Center') THEN 'Networking'
    WHEN service.description IN ('Cloud Logging', 'Cloud Monitoring', 'Stackdriver Monitoring') THEN 'Management and Governance'
    WHEN service.description IN ('Cloud SQL', 'Cloud Spanner', 'Firestore', 'Cloud Bigtable', 'Memorystore for Redis') THEN 'Databases'
    WHEN service.description LIKE 'Databricks%' THEN 'Analytics'
    ELSE 'Other'
  END AS ServiceCategory,
  IF(LOWER(cost_type) = 'regular' OR cost_type IS NULL, sku.id, CAST(NULL AS STRING)) AS SkuId,
  sku.id AS SkuPriceId,
  resource.global_name AS ResourceId,
  resource.name AS ResourceName,
  CAST(NULL AS STRING) AS ResourceType,
  location.region AS RegionId,
  location.region AS RegionName,
  location.zone AS AvailabilityZone,
  project.id AS SubAccountId,
  project.name AS SubAccountName,
  usage.amount AS ConsumedQuantity,
  usage.unit AS ConsumedUnit,
  COALESCE(price.pricing_unit_quantity, usage.amount_in_pricing_units) AS PricingQuantity,
  COALESCE(price.unit, usage.pricing_unit) AS PricingUnit,
  price.list_price AS ListUnitPrice,
  price.effective_price AS ContractedUnitPrice,
  CASE
    WHEN subscription.instance_id IS NOT NULL OR STARTS_WITH(sku.description, 'Commitment') THEN 'Committed'
    WHEN sku.description LIKE '%Preemptible%' OR sku.description LIKE '%Spot%' THEN 'Dynamic'
    ELSE 'Standard'
  END AS PricingCategory,
  subscription.instance_id AS CommitmentDiscountId,
  CUD_CATEGORY(credits) AS CommitmentDiscountCategory,
  TAGS_JSON(ARRAY_CONCAT(IFNULL(labels, []), IFNULL(project.labels, []))) AS Tags,
  team AS x_Team,
  env AS x_Env,
  workload AS x_Workload,
  project.id AS x_Project,
  -- The label rule of collectors/inventory/owners.py (inventory uses it for VMs; a test holds the two equal):
  -- Databricks' default tags reach its GCE VMs as labels vendor=databricks, clusterid, … (documented there).
  CASE
    WHEN HAS_LABEL_PREFIX(labels, 'databricks') OR LOWER(LABEL_VALUE(labels, 'vendor')) = 'databricks' THEN 'databricks'
    WHEN LABEL_VALUE(labels, 'goog-k8s-cluster-name') IS NOT NULL OR service.description = 'Kubernetes Engine' THEN 'gke'
    WHEN service.description = 'Compute Engine' THEN 'gce'
    ELSE 'other'
  END AS x_Platform,
  IF(gpu_model IS NOT NULL AND usage.unit = 'seconds' AND usage_end_time > usage_start_time,
     usage.amount / TIMESTAMP_DIFF(usage_end_time, usage_start_time, SECOND), CAST(NULL AS FLOAT64)) AS x_GpuCount,
  UPPER(gpu_model) AS x_GpuModel,
  (sku.description LIKE '%Preemptible%' OR sku.description LIKE '%Spot%') AS x_IsSpot,
  'gcp_billing_export' AS x_SourceTable,
  _day,
  _source
FROM g
