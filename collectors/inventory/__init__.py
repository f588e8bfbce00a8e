"""Inventory: Databricks clusters, GCE instances and GKE node pools, their GPUs, hosts and hourly price."""
