"""Databricks cost collector: system.billing usage and list prices, live (Statement API) or from files."""
