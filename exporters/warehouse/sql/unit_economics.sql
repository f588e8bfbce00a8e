-- The billing side of GPU unit economics: per reporting day (@tz) and platform (gce | gke | databricks),
-- the billed cost of GPU resources, their billed GPU-hours, and the share labelled as training.
-- Reporting days @since..@until inclusive; @dmin / @dmax bound the partitions read (late rows included).
--
-- A GPU resource is a ResourceId with at least one GPU charge (x_GpuModel set) that day: a GCE VM or a
-- GKE node whose GPU SKU is billed, or a Databricks cluster whose node type has GPUs. All of its charges
-- that day count (GPU, core and RAM SKUs, local SSD, DBUs), since the VM exists for its GPUs. A GPU charge
-- with no ResourceId (a FOCUS file without resources) counts on its own. Databricks' own GCE VMs carry its
-- default tags as labels (vendor=databricks, clusterid, …), so focus_gcp.sql puts their charges on platform
-- 'databricks' beside the cluster's DBUs (the label rule of collectors/inventory/owners.py).
-- GPU-hours: x_GpuCount × the charge period, as in cost_daily (NULL where billing gives no GPU count,
-- e.g. DBU rows: Databricks GPU-hours come from the cluster VMs' GCP charges).
WITH f AS (
  SELECT
    DATE(ChargePeriodStart, @tz) AS day,
    x_Platform AS platform,
    ResourceId,
    BilledCost,
    x_GpuModel,
    STARTS_WITH(LOWER(IFNULL(x_Workload, '')), 'training') AS training,
    x_GpuCount * (UNIX_SECONDS(ChargePeriodEnd) - UNIX_SECONDS(ChargePeriodStart)) / 3600 AS gpu_hours
  FROM focus_costs
  WHERE _day BETWEEN @dmin AND @dmax
    AND x_Platform IN ('gce', 'gke', 'databricks')
    AND IFNULL(BillingCurrency, 'USD') = 'USD'
),
gpu_resources AS (
  SELECT DISTINCT day, platform, ResourceId
  FROM f
  WHERE x_GpuModel IS NOT NULL AND ResourceId IS NOT NULL AND day BETWEEN @since AND @until
),
g AS (
  SELECT f.*
  FROM f
  LEFT JOIN gpu_resources AS r
    ON r.day = f.day AND r.platform = f.platform AND r.ResourceId = f.ResourceId
  WHERE f.day BETWEEN @since AND @until
    AND (r.ResourceId IS NOT NULL OR (f.ResourceId IS NULL AND f.x_GpuModel IS NOT NULL))
)
SELECT
  day,
  platform,
  SUM(BilledCost) AS gpu_cost_usd,
  SUM(gpu_hours) AS gpu_hours,
  SUM(IF(training, gpu_hours, 0)) AS training_hours,
  SUM(IF(training, BilledCost, 0)) AS training_cost_usd
FROM g
GROUP BY day, platform
ORDER BY day, platform
