"""GCP budgets: the billing account's Cloud Billing budgets beside our budget rules, and a sync from rules to budgets.

spec (the comparable form) · parse (protos ↔ rows) · plan (rules → the budgets they map to) · diff (plan vs GCP) ·
fetch (the real BudgetServiceClient) · collector (the snapshot into `gcp_budgets`) · sync (the CLI's and page's flow).
"""
