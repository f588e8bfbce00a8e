"""The live spend estimate: price what runs now from the inventory, hours before the bill shows it (docs/live.md)."""
