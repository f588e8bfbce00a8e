"""BigQuery names that reach SQL text (project, dataset, table): validated against BigQuery's own naming rules.

Values are query parameters, but a table name cannot be one: the billing export table (config), our dataset
(config) and the names BigQuery reports back are written into SQL as backquoted identifiers, so each part must
be a name BigQuery itself allows — no backquote, quote, space, semicolon or comment can get through.
Project: lowercase letters, digits and hyphens, optionally after a `domain.example:` prefix (domain-scoped
projects); dataset: letters, digits, underscores; table: letters, digits (any script), underscores, hyphens.
"""

from __future__ import annotations

import re

PROJECT = r"(?:[a-z0-9][a-z0-9.-]*:)?[a-z0-9][a-z0-9-]{0,62}"
DATASET = r"[A-Za-z0-9_]{1,1024}"
TABLE = r"[\w-]{1,1024}"
_PROJECT = re.compile(PROJECT)
_DATASET = re.compile(DATASET)
_TABLE = re.compile(TABLE)
_TABLE_REF = re.compile(rf"({PROJECT})\.({DATASET})\.({TABLE})")


def project_id(value: str) -> str:
    """`value` if it is a valid project id, else ValueError (pydantic names the key)."""
    if not _PROJECT.fullmatch(value):
        raise ValueError(f"{value!r} is not a BigQuery project id (lowercase letters, digits, hyphens)")
    return value


def dataset_id(value: str) -> str:
    """`value` if it is a valid dataset name, else ValueError."""
    if not _DATASET.fullmatch(value):
        raise ValueError(f"{value!r} is not a BigQuery dataset name (letters, digits, underscores)")
    return value


def table_ref(value: str) -> str:
    """`value` if it is `project.dataset.table` with each part valid, else ValueError."""
    if not _TABLE_REF.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a BigQuery table as project.dataset.table "
            "(e.g. billing-prj.billing_export.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9)"
        )
    return value


def quoted_table(project: str, dataset: str, table: str) -> str:
    """`project.dataset.table` as one backquoted SQL identifier, each part checked first (ValueError if not)."""
    ok = _PROJECT.fullmatch(project) and _DATASET.fullmatch(dataset) and _TABLE.fullmatch(table)
    if not ok:
        raise ValueError(f"not a BigQuery table name: {project!r}.{dataset!r}.{table!r}")
    return f"`{project}.{dataset}.{table}`"


def quote_identifier(name: str) -> str:
    """A backquoted BigQuery identifier for any name (a column BigQuery reported), backslash and backquote escaped."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"
