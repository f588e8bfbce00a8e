-- focus_costs rows from databricks_usage priced with databricks_list_prices (BigQuery Standard SQL).
-- Cost = usage_quantity × the price valid at usage_end_time (formats.md §2.5): the price row whose
-- [price_start_time, price_end_time) holds usage_end_time, price_end_time NULL meaning still current.
-- Prices loaded from config (`_source = 'config'`) only apply where list_prices has no row.
-- Rows with no price at all keep a NULL cost, so `spendscope costs` can report them as unpriced.
-- Prices are looked up once per distinct (sku_name, cloud, usage_unit, usage_end_time) and joined back
-- on those columns: a deterministic key. (A GENERATE_UUID() row key in a CTE referenced twice breaks on
-- BigQuery, which re-evaluates a non-recursive CTE at each reference, so the two UUIDs never match.)
WITH u AS (
  SELECT *
  FROM databricks_usage
),
k AS (
  SELECT DISTINCT sku_name, cloud, usage_unit, usage_end_time FROM u
),
priced AS (
  SELECT
    k.sku_name,
    k.cloud,
    k.usage_unit,
    k.usage_end_time,
    p.price_start_time,
    COALESCE(p.pricing.effective_list.default, p.pricing.promotional.default, p.pricing.default) AS effective_price,
    p.pricing.default AS list_price,
    p.currency_code
  FROM k
  JOIN databricks_list_prices AS p
    ON p.sku_name = k.sku_name
   AND (k.cloud IS NULL OR p.cloud IS NULL OR p.cloud = k.cloud)
   AND COALESCE(p.usage_unit, 'DBU') = COALESCE(k.usage_unit, 'DBU')
   AND k.usage_end_time >= p.price_start_time
   AND (p.price_end_time IS NULL OR k.usage_end_time < p.price_end_time)
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY k.sku_name, k.cloud, k.usage_unit, k.usage_end_time
    ORDER BY IF(p._source = 'config', 1, 0), p.price_start_time DESC
  ) = 1
),
r AS (
  SELECT
    u.*,
    pr.effective_price,
    pr.list_price,
    pr.price_start_time,
    pr.currency_code,
    COALESCE(u.billing_origin_product,
      CASE
        WHEN u.sku_name LIKE '%ALL_PURPOSE%' THEN 'ALL_PURPOSE'
        WHEN u.sku_name LIKE '%JOBS%' THEN 'JOBS'
        WHEN u.sku_name LIKE '%SQL%' THEN 'SQL'
        WHEN u.sku_name LIKE '%SERVING%' OR u.sku_name LIKE '%INFERENCE%' THEN 'MODEL_SERVING'
        WHEN u.sku_name LIKE '%DLT%' THEN 'DLT'
      END) AS product,
    LABEL_VALUE(u.custom_tags, 'team') AS tag_team,
    LABEL_VALUE(u.custom_tags, 'env') AS tag_env,
    LABEL_VALUE(u.custom_tags, 'workload') AS tag_workload,
    LABEL_VALUE(u.custom_tags, 'project') AS tag_project
  FROM u
  LEFT JOIN priced AS pr
    ON pr.sku_name = u.sku_name
   AND pr.usage_end_time = u.usage_end_time
   AND COALESCE(pr.cloud, '') = COALESCE(u.cloud, '')
   AND COALESCE(pr.usage_unit, '') = COALESCE(u.usage_unit, '')
)
SELECT
  usage_quantity * effective_price AS BilledCost,
  usage_quantity * effective_price AS EffectiveCost,
  usage_quantity * COALESCE(list_price, effective_price) AS ListCost,
  usage_quantity * effective_price AS ContractedCost,
  account_id AS BillingAccountId,
  COALESCE(currency_code, 'USD') AS BillingCurrency,
  TIMESTAMP(DATE_TRUNC(COALESCE(usage_date, DATE(usage_start_time)), MONTH)) AS BillingPeriodStart,
  TIMESTAMP(DATE_ADD(DATE_TRUNC(COALESCE(usage_date, DATE(usage_start_time)), MONTH), INTERVAL 1 MONTH)) AS BillingPeriodEnd,
  usage_start_time AS ChargePeriodStart,
  usage_end_time AS ChargePeriodEnd,
  'Usage' AS ChargeCategory,
  IF(record_type IN ('RETRACTION', 'RESTATEMENT'), 'Correction', CAST(NULL AS STRING)) AS ChargeClass,
  sku_name AS ChargeDescription,
  'Databricks' AS ProviderName,
  'Databricks' AS PublisherName,
  'Databricks' AS InvoiceIssuerName,
  CASE product
    WHEN 'ALL_PURPOSE' THEN 'All-Purpose Compute'
    WHEN 'JOBS' THEN 'Jobs Compute'
    WHEN 'SQL' THEN 'Databricks SQL'
    WHEN 'MODEL_SERVING' THEN 'Model Serving'
    WHEN 'VECTOR_SEARCH' THEN 'Vector Search'
    WHEN 'DLT' THEN 'Lakeflow Pipelines'
    WHEN 'INTERACTIVE' THEN 'All-Purpose Compute'
    ELSE COALESCE(product, 'Databricks')
  END AS ServiceName,
  IF(product IN ('MODEL_SERVING', 'VECTOR_SEARCH', 'FOUNDATION_MODEL_TRAINING', 'AI_GATEWAY'),
     'AI and Machine Learning', 'Analytics') AS ServiceCategory,
  sku_name AS SkuId,
  CONCAT(sku_name, '@', IFNULL(FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', price_start_time), 'unpriced')) AS SkuPriceId,
  COALESCE(usage_metadata.cluster_id, usage_metadata.warehouse_id, usage_metadata.endpoint_id,
           usage_metadata.dlt_pipeline_id, usage_metadata.job_id, usage_metadata.instance_pool_id) AS ResourceId,
  COALESCE(usage_metadata.endpoint_name, usage_metadata.job_name, usage_metadata.app_name,
           usage_metadata.cluster_id, usage_metadata.warehouse_id) AS ResourceName,
  CASE
    WHEN usage_metadata.cluster_id IS NOT NULL THEN 'cluster'
    WHEN usage_metadata.warehouse_id IS NOT NULL THEN 'sql_warehouse'
    WHEN usage_metadata.endpoint_id IS NOT NULL OR usage_metadata.endpoint_name IS NOT NULL THEN 'serving_endpoint'
    WHEN usage_metadata.dlt_pipeline_id IS NOT NULL THEN 'pipeline'
    WHEN usage_metadata.job_id IS NOT NULL THEN 'job'
  END AS ResourceType,
  CAST(NULL AS STRING) AS RegionId,
  CAST(NULL AS STRING) AS RegionName,
  CAST(NULL AS STRING) AS AvailabilityZone,
  workspace_id AS SubAccountId,
  CAST(NULL AS STRING) AS SubAccountName,
  usage_quantity AS ConsumedQuantity,
  usage_unit AS ConsumedUnit,
  usage_quantity AS PricingQuantity,
  usage_unit AS PricingUnit,
  list_price AS ListUnitPrice,
  effective_price AS ContractedUnitPrice,
  'Standard' AS PricingCategory,
  CAST(NULL AS STRING) AS CommitmentDiscountId,
  CAST(NULL AS STRING) AS CommitmentDiscountCategory,
  TAGS_JSON(custom_tags) AS Tags,
  tag_team AS x_Team,
  tag_env AS x_Env,
  tag_workload AS x_Workload,
  tag_project AS x_Project,
  'databricks' AS x_Platform,
  CAST(NULL AS FLOAT64) AS x_GpuCount,
  CASE
    WHEN REGEXP_CONTAINS(LOWER(usage_metadata.node_type), r'^a3-|h100|^p5\.') THEN 'H100'
    WHEN REGEXP_CONTAINS(LOWER(usage_metadata.node_type), r'^a2-|a100|^p4d') THEN 'A100'
    WHEN REGEXP_CONTAINS(LOWER(usage_metadata.node_type), r'^g2-|l4') THEN 'L4'
  END AS x_GpuModel,
  CAST(NULL AS BOOL) AS x_IsSpot,
  'databricks_usage' AS x_SourceTable,
  _day,
  _source
FROM r
