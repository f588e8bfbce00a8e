"""Price sync: Cloud Billing Catalog SKUs and Databricks DBU rates into the versioned `prices` table."""
