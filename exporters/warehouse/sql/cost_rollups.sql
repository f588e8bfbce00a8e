-- cost_daily and cost_hourly rows for the @days partitions of one source table (@source), from ONE scan of
-- focus_costs: two GROUPING SETS, and each row's _target names the table it belongs to (derive.py).
-- Evaluating the view (labels, credits, the platform rule) costs more than grouping, so one scan for both
-- rollups instead of one each: bench/ingest.py measured 1.6 s instead of 2.2 s per 31 days of 5M rows.
--
-- cost_daily: reporting days in @tz and every dimension. gpu_hours: GPU count × the charge period, for GPU
-- SKUs (x_GpuCount is NULL elsewhere). The reporting day is looked up per quarter hour (every zone's offset
-- is a multiple of 15 minutes, so a charge's local date is its quarter hour's): converting a few thousand
-- quarters in [@qmin, @qmax] instead of every row's timestamp. Rows outside that range (very late
-- adjustments) are converted one by one.
--
-- cost_hourly: usage spend per UTC hour, for the spike rule. Only usage charges of at most an hour: a
-- monthly fee or a daily FOCUS row spread over one hour would read as a spike. Other charges get a NULL
-- usage_hour; their hourly groups are dropped by HAVING.
WITH f AS (
  SELECT
    *,
    DIV(UNIX_SECONDS(ChargePeriodStart), 900) AS q,
    IF(ChargeCategory = 'Usage' AND UNIX_SECONDS(ChargePeriodEnd) - UNIX_SECONDS(ChargePeriodStart) <= 3600,
       TIMESTAMP_TRUNC(ChargePeriodStart, HOUR), CAST(NULL AS TIMESTAMP)) AS usage_hour
  FROM focus_costs
  WHERE x_SourceTable = @source AND _day IN UNNEST(@days)
),
quarters AS (
  SELECT qq AS q, DATE(TIMESTAMP_SECONDS(qq * 900), @tz) AS local_day
  FROM UNNEST(GENERATE_ARRAY(@qmin, @qmax)) AS qq
)
SELECT
  IF(GROUPING(usage_hour) = 0, 'cost_hourly', 'cost_daily') AS _target,
  COALESCE(quarters.local_day, DATE(ChargePeriodStart, @tz)) AS day,
  usage_hour AS hour,
  @tz AS tz,
  ProviderName AS provider,
  x_Platform AS platform,
  ServiceName AS service,
  ServiceCategory AS category,
  x_Team AS team,
  x_Env AS env,
  x_Workload AS workload,
  SubAccountId AS project,
  BillingAccountId AS account,
  x_GpuModel AS gpu,
  x_IsSpot AS is_spot,
  ChargeCategory AS charge_category,
  BillingCurrency AS currency,
  SUM(BilledCost) AS billed_cost,
  SUM(EffectiveCost) AS effective_cost,
  SUM(ListCost) AS list_cost,
  SUM(x_GpuCount * (UNIX_SECONDS(ChargePeriodEnd) - UNIX_SECONDS(ChargePeriodStart)) / 3600) AS gpu_hours,
  COUNT(*) AS charges,
  COUNTIF(BilledCost IS NULL) AS unpriced,
  MAX(ChargePeriodEnd) AS data_until,
  x_SourceTable,
  _day,
  ANY_VALUE(_source) AS _source
FROM f
LEFT JOIN quarters USING (q)
GROUP BY GROUPING SETS (
  (day, provider, platform, service, category, team, env, workload, project, account, gpu, is_spot,
   charge_category, currency, x_SourceTable, _day),
  (usage_hour, provider, platform, service, team, project, x_SourceTable, _day)
)
HAVING GROUPING(usage_hour) = 1 OR usage_hour IS NOT NULL
