-- Measured and busy GPU-hours per reporting day (@tz) and host, from gpu_minutes (for unit economics).
-- A minute counts as measured when its busy flag is known (not NULL). A whole GPU's minute weighs 1; a
-- MIG instance's weighs its profile's compute slices ÷ its GPU's: 4 on an A30 (1g.6gb, 2g.12gb, 4g.24gb),
-- 7 on every other MIG GPU (A100 1g.5gb/1g.10gb … 7g.80gb, H100, H200, B200) — '3g.40gb' → 3/7,
-- '2g.12gb' on an A30 → 2/4, 1 slice if unparseable — so a GPU split into instances adds up to one GPU.
-- The same weight is in spendscope/economics.py (_IDLE_SQL).
WITH m AS (
  SELECT
    DATE(minute, @tz) AS day,
    host,
    busy,
    IF(mig_instance IS NULL, 1.0,
       IFNULL(SAFE_CAST(REGEXP_EXTRACT(mig_profile, r'^(\d+)g') AS FLOAT64), 1.0)
       / IF(STRPOS(UPPER(IFNULL(gpu_model, '')), 'A30') > 0, 4, 7)) AS w
  FROM gpu_minutes
  WHERE _day BETWEEN @dmin AND @dmax
)
SELECT
  day,
  host,
  SUM(IF(busy IS NULL, 0, w)) / 60 AS measured_gpu_hours,
  SUM(IF(busy, w, 0)) / 60 AS busy_gpu_hours
FROM m
WHERE day BETWEEN @since AND @until
GROUP BY day, host
