-- Measured and busy GPU-hours per reporting day (@tz) and host, from gpu_minutes (for unit economics).
-- A minute counts as measured when its busy flag is known (not NULL). A whole GPU's minute weighs 1; a
-- MIG instance's weighs its compute slices out of 7 (profile '3g.40gb' → 3/7; 1/7 if unparseable), so a
-- GPU split into instances adds up to one GPU, not seven.
WITH m AS (
  SELECT
    DATE(minute, @tz) AS day,
    host,
    busy,
    IF(mig_instance IS NULL, 1.0,
       IFNULL(SAFE_CAST(REGEXP_EXTRACT(mig_profile, r'^(\d+)g') AS FLOAT64), 1.0) / 7) AS w
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
