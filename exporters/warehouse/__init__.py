"""The warehouse: one API over two engines (DESIGN §4). `open_warehouse(settings)` picks the engine."""

from exporters.warehouse.engine import Key, Warehouse, open_warehouse

__all__ = ["Key", "Warehouse", "open_warehouse"]
