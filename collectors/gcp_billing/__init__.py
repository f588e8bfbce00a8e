"""GCP Cloud Billing export collector: live from BigQuery, or from extracted JSON/CSV/Parquet files.

File ingest and its replace semantics are described in `from_files`; one parser per format
(`parse_json`, `parse_csv`, `parse_parquet`) feeds the shared vectorized `normalize`.
"""
