-- cost_daily rows for the @days partitions of one source table (@source), reporting days in @tz.
-- gpu_hours: GPU count × the charge period, for GPU SKUs (x_GpuCount is NULL elsewhere).
SELECT
  DATE(ChargePeriodStart, @tz) AS day,
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
  SUM(x_GpuCount * TIMESTAMP_DIFF(ChargePeriodEnd, ChargePeriodStart, SECOND) / 3600) AS gpu_hours,
  COUNT(*) AS charges,
  COUNTIF(BilledCost IS NULL) AS unpriced,
  MAX(ChargePeriodEnd) AS data_until,
  x_SourceTable,
  _day,
  ANY_VALUE(_source) AS _source
FROM focus_costs
WHERE x_SourceTable = @source AND _day IN UNNEST(@days)
GROUP BY day, tz, provider, platform, service, category, team, env, workload, project, account, gpu, is_spot,
  charge_category, currency, x_SourceTable, _day
