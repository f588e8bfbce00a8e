"""Arrow schemas of every warehouse table: the contract between collectors and both engines.

Raw tables keep the upstream shape (nested RECORDs stay nested). Every table carries `_day`, the
ingest partition that is replaced atomically, and `_source`, where the rows came from.
"""

from exporters.warehouse.schema.tables import TABLES, TableSpec, conform

__all__ = ["TABLES", "TableSpec", "conform"]
