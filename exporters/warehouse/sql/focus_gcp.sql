-- focus_costs rows from gcp_billing_export (BigQuery Standard SQL; transpiled for DuckDB).
-- Mapping follows Google's own FOCUS view (formats.md §1.6): BilledCost = EffectiveCost =
-- cost + SUM(credits.amount); credits are negative. SubAccount is the project, which teams use.
-- @days: the ingest partitions (_day) to derive.
WITH g AS (
  SELECT
    *,
    IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0) AS credit_total,
    (SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'team' LIMIT 1) AS label_team,
    (SELECT l.value FROM UNNEST(project.labels) AS l WHERE l.key = 'team' LIMIT 1) AS project_team,
    (SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'env' LIMIT 1) AS label_env,
    (SELECT l.value FROM UNNEST(project.labels) AS l WHERE l.key = 'env' LIMIT 1) AS project_env,
    (SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = 'workload' LIMIT 1) AS label_workload,
    (SELECT COUNT(*) FROM UNNEST(labels) AS l WHERE l.key = 'goog-k8s-cluster-name') AS gke_labels,
    (SELECT COUNT(*) FROM UNNEST(labels) AS l WHERE STARTS_WITH(l.key, 'databricks')) AS databricks_labels,
    REGEXP_EXTRACT(sku.description, r'(?i)nvidia (?:tesla )?([a-z0-9]+)') AS gpu_model
  FROM gcp_billing_export
  WHERE _day IN UNNEST(@days)
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
  (SELECT CASE MAX(c.type) WHEN 'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE' THEN 'Spend' WHEN 'COMMITTED_USAGE_DISCOUNT' THEN 'Usage' END
     FROM UNNEST(credits) AS c WHERE c.type LIKE 'COMMITTED_USAGE_DISCOUNT%') AS CommitmentDiscountCategory,
  TAGS_JSON(ARRAY_CONCAT(IFNULL(labels, []), IFNULL(project.labels, []))) AS Tags,
  COALESCE(label_team, project_team) AS x_Team,
  COALESCE(label_env, project_env) AS x_Env,
  label_workload AS x_Workload,
  project.id AS x_Project,
  CASE
    WHEN databricks_labels > 0 THEN 'databricks'
    WHEN gke_labels > 0 OR service.description = 'Kubernetes Engine' THEN 'gke'
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
