-- gpu_minutes rows for the UTC hours @hours (all on one or a few days), from gpu_samples with ts in
-- [@from, hour + 1h): @from = @tmin recomputes the hours whole; a later @from (the daemon: the earliest sample
-- written since its last rollup) recomputes only the minutes from then on, which gpu_rollup.py replaces by minute
-- — a few files of samples instead of the hour's hundreds, which set the daemon's memory.
-- Parameters: @hours ARRAY<TIMESTAMP>, @tmin / @tmax (the first hour, the last hour + 1h), @from,
-- @dmin / @dmax (gpu_samples _day range to read, one day wider than the hours for collectors that date
-- samples differently), @busy_gr, @busy_util (thresholds, settings.telemetry).
--
-- One GPU is COALESCE(gpu_uuid, host/gpu_index) plus its MIG instance: the UUID is what dcgm-exporter,
-- Prometheus, NVML and nvidia-smi all report, while their host names may differ (a Kubernetes node name
-- vs. the VM's hostname). When several sources report one GPU in the same minute only the best-ranked
-- source's samples are kept (dcgm > prometheus > nvml > nvidia-smi > anything else), so a GPU minute is
-- never counted twice and its means never mix two sources' sampling.
WITH s AS (
  SELECT
    *,
    TIMESTAMP_TRUNC(ts, MINUTE) AS m,
    COALESCE(gpu_uuid, CONCAT(IFNULL(host, ''), '/', IFNULL(CAST(gpu_index AS STRING), ''))) AS gpu_key,
    CASE source WHEN 'dcgm' THEN 1 WHEN 'prometheus' THEN 2 WHEN 'nvml' THEN 3 WHEN 'nvidia-smi' THEN 4 ELSE 5 END
      AS source_rank
  FROM gpu_samples
  WHERE _day BETWEEN @dmin AND @dmax
    AND ts >= @tmin AND ts < @tmax AND ts >= @from
    AND TIMESTAMP_TRUNC(ts, HOUR) IN UNNEST(@hours)
),
-- Aggregate per source rank first (a streaming hash aggregate: GPUs × minutes × sources groups), then keep
-- each GPU minute's best-ranked row. A window over the raw samples would hold a whole hour of them (millions
-- of rows × every column) in memory; this holds only the per-minute groups.
per_source AS (
  SELECT
    m AS minute,
    gpu_key,
    IFNULL(mig_instance, '') AS mig_key,
    source_rank,
    -- Identity columns: MAX keeps a value a few samples of the minute lack (an empty pod label, say).
    MAX(host) AS host,
    MAX(gpu_index) AS gpu_index,
    MAX(gpu_uuid) AS gpu_uuid,
    MAX(gpu_model) AS gpu_model,
    MAX(mig_instance) AS mig_instance,
    MAX(mig_profile) AS mig_profile,
    MAX(namespace) AS namespace,
    MAX(pod) AS pod,
    MAX(source) AS source,
    COUNT(*) AS samples,
    AVG(gpu_util_ratio) AS gpu_util_ratio,
    AVG(gr_engine_active_ratio) AS gr_engine_active_ratio,
    AVG(sm_active_ratio) AS sm_active_ratio,
    AVG(tensor_active_ratio) AS tensor_active_ratio,
    AVG(dram_active_ratio) AS dram_active_ratio,
    AVG(fb_used_bytes) AS fb_used_bytes,
    -- Framebuffer size: used + free (+ reserved where reported); null unless used and free are both known.
    MAX(fb_used_bytes + fb_free_bytes + IFNULL(fb_reserved_bytes, 0)) AS fb_total_bytes,
    AVG(power_watts) AS power_watts,
    MAX(gpu_temp_celsius) AS gpu_temp_celsius_max,
    -- The highest non-zero XID of the minute; 0 when only zeros were seen; null when XID is not reported.
    COALESCE(MAX(NULLIF(xid_last, 0)), MAX(xid_last)) AS xid_last,
    ANY_VALUE(_source) AS _source
  FROM s
  GROUP BY minute, gpu_key, mig_key, source_rank
),
agg AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY minute, gpu_key, mig_key ORDER BY source_rank) AS best
  FROM per_source
)
SELECT
  minute,
  TIMESTAMP_TRUNC(minute, HOUR) AS hour,
  host,
  gpu_index,
  gpu_uuid,
  gpu_model,
  mig_instance,
  mig_profile,
  namespace,
  pod,
  source,
  samples,
  gpu_util_ratio,
  gr_engine_active_ratio,
  sm_active_ratio,
  tensor_active_ratio,
  dram_active_ratio,
  fb_used_bytes,
  fb_total_bytes,
  power_watts,
  gpu_temp_celsius_max,
  xid_last,
  -- Graphics-engine activity is the better busy signal (utilization counts any kernel running, however
  -- small); utilization is the fallback for sources without profiling metrics (NVML, nvidia-smi).
  CASE
    WHEN gr_engine_active_ratio IS NOT NULL THEN gr_engine_active_ratio >= @busy_gr
    WHEN gpu_util_ratio IS NOT NULL THEN gpu_util_ratio >= @busy_util
  END AS busy,
  DATE(minute) AS _day,
  _source
FROM agg
WHERE best = 1
