"""Pricing what runs: the price book over the versioned `prices` table, and the fleet's machine shapes."""

from spendscope.pricing.book import Part, PriceBook, Quote

__all__ = ["Part", "PriceBook", "Quote"]
