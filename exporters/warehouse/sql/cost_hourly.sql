-- cost_hourly rows for the @days partitions of one source table (@source): usage spend per UTC hour.
-- Only usage charges of at most an hour: a monthly fee or a daily FOCUS row spread over one hour would
-- read as a spike. Hours are UTC; the spike rule compares an hour with the same hour of earlier days.
SELECT
  TIMESTAMP_TRUNC(ChargePeriodStart, HOUR) AS hour,
  ProviderName AS provider,
  x_Platform AS platform,
  ServiceName AS service,
  x_Team AS team,
  SubAccountId AS project,
  SUM(BilledCost) AS billed_cost,
  SUM(EffectiveCost) AS effective_cost,
  COUNT(*) AS charges,
  MAX(ChargePeriodEnd) AS data_until,
  x_SourceTable,
  _day,
  ANY_VALUE(_source) AS _source
FROM focus_costs
WHERE x_SourceTable = @source AND _day IN UNNEST(@days)
  AND ChargeCategory = 'Usage'
  AND UNIX_SECONDS(ChargePeriodEnd) - UNIX_SECONDS(ChargePeriodStart) <= 3600
GROUP BY hour, provider, platform, service, team, project, x_SourceTable, _day
