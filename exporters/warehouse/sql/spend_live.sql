-- spend_live: hourly spend, billed where each platform's billing is complete, the live estimate after it.
-- The cut per platform is recorded by the live job in ingest_state (source 'spend_live', partition = platform;
-- spendscope/live/complete.py): hours before it come from cost_hourly (basis 'billed'), later hours from
-- cost_estimates (basis 'estimated'), so no hour of a platform is counted twice. Spend on platforms without a
-- cut (nothing estimates them) is billed as it arrives. projected_usd carries an hour under way to its end at
-- the current run-rate (estimated rows); for billed rows it equals usd.
WITH cuts AS (
  SELECT `partition` AS platform, MAX(watermark) AS complete_until
  FROM ingest_state
  WHERE source = 'spend_live'
  GROUP BY `partition`
)
SELECT
  h.hour,
  h.provider,
  h.platform,
  h.service,
  h.team,
  h.project,
  h.billed_cost AS usd,
  h.effective_cost AS effective_usd,
  h.billed_cost AS projected_usd,
  'billed' AS basis,
  h.x_SourceTable AS source,
  h.data_until
FROM cost_hourly AS h
LEFT JOIN cuts AS c ON h.platform = c.platform
WHERE c.complete_until IS NULL OR h.hour < c.complete_until
UNION ALL
SELECT
  e.hour,
  e.provider,
  e.platform,
  e.service,
  e.team,
  e.project,
  e.usd,
  e.usd AS effective_usd,
  e.projected_usd,
  'estimated' AS basis,
  'cost_estimates' AS source,
  e.until AS data_until
FROM cost_estimates AS e
JOIN cuts AS c ON e.platform = c.platform
WHERE e.hour >= c.complete_until AND e.usd IS NOT NULL
