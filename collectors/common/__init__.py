"""Helpers shared by the file-ingest collectors."""
