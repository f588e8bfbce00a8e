-- cost_daily rows for the @days partitions of one source table (@source), reporting days in @tz.
-- gpu_hours: GPU count × the charge period, for GPU SKUs (x_GpuCount is NULL elsewhere).
-- The reporting day is looked up per quarter hour (every zone's offset is a multiple of 15 minutes, so a
-- charge's local date is its quarter hour's): converting a few thousand quarters in [@qmin, @qmax] instead
-- of every row's timestamp. Rows outside that range (very late adjustments) are converted one by one.
WITH f AS (
  SELECT *, DIV(UNIX_SECONDS(ChargePeriodStart), 900) AS q
  FROM focus_costs
  WHERE x_SourceTable = @source AND _day IN UNNEST(@days)
),
quarters AS (
  SELECT qq AS q, DATE(TIMESTAMP_SECONDS(qq * 900), @tz) AS local_day
  FROM UNNEST(GENERATE_ARRAY(@qmin, @qmax)) AS qq
)
SELECT
  COALESCE(quarters.local_day, DATE(ChargePeriodStart, @tz)) AS day,
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
GROUP BY day, tz, provider, platform, service, category, team, env, workload, project, account, gpu, is_spot,
  charge_category, currency, x_SourceTable, _day
