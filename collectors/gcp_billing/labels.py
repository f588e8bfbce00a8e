"""Repeated and RECORD fields written as text in CSV downloads: JSON, Python repr, or flat key:value lists.

Accepted for a key/value list (labels, system_labels, project.labels):
`[{"key":"team","value":"ml"}]` (JSON), `[{'key': 'team', 'value': 'ml'}]` (Python repr),
`{"team":"ml"}` (an object: key → value), `team:ml,env:prod` and `team=ml;env=prod` (flat),
and `''`, `[]`, `null`, `None` for an empty list. Other repeated fields (credits, tags, ancestors)
take the JSON or repr forms only. RECORD cells (`service` as one column) take a JSON or repr object.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

_EMPTY = frozenset({"", "[]", "null", "none", "{}"})
_PAIR_SEP = re.compile(r"[,;]")


class LabelTextError(ValueError):
    """A cell that fits none of the accepted serializations."""


def _literal(text: str) -> Any:
    """JSON first (what BigQuery writes), then a Python literal (what a pandas round trip writes)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting past the interpreter's limit
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):  # TypeError: {[1]: 2}, unhashable
        raise LabelTextError(f"cannot parse {text[:60]!r} as JSON or a Python literal") from None


def _flat_pairs(text: str) -> list[dict[str, Any]]:
    """`k:v,k2:v2` or `k=v;k2=v2`; the first '=' (else ':') splits, as label values hold neither."""
    out = []
    for pair in _PAIR_SEP.split(text):
        if not pair.strip():
            continue
        sep = "=" if "=" in pair else ":"
        key, found, value = pair.partition(sep)
        if not found or not key.strip():
            bad = pair.strip()
            raise LabelTextError(f"cannot parse {text[:60]!r}: {bad!r} is not key:value or key=value")
        out.append({"key": key.strip(), "value": value.strip()})
    return out


def parse_list_cell(text: str, key_value: bool) -> list[Any]:
    """A repeated field's cell as a list of element values (dicts for RECORD elements)."""
    stripped = text.strip()
    if stripped.lower() in _EMPTY:
        return []
    if stripped[0] in "[{(":
        value = _literal(stripped)
        if isinstance(value, dict):
            is_element = not key_value or "key" in {str(k).lower() for k in value}
            return [value] if is_element else [{"key": k, "value": v} for k, v in value.items()]
        if isinstance(value, list | tuple):
            return list(value)
        raise LabelTextError(f"cannot parse {text[:60]!r}: not a list")
    if key_value:
        return _flat_pairs(stripped)
    raise LabelTextError(f"cannot parse {text[:60]!r}: expected a JSON list")


def parse_record_cell(text: str) -> dict[str, Any] | None:
    """A RECORD written as one cell (a JSON or repr object); empty text is null."""
    stripped = text.strip()
    if stripped.lower() in _EMPTY:
        return None
    value = _literal(stripped)
    if not isinstance(value, dict):
        raise LabelTextError(f"cannot parse {text[:60]!r}: not an object")
    return value


def parse_flat_values(text: str) -> list[Any]:
    """One column of a flattened repeated field (`credits.amount`): a JSON list, or one scalar."""
    stripped = text.strip()
    if stripped.lower() in _EMPTY:
        return []
    if stripped[0] == "[":
        value = _literal(stripped)
        if isinstance(value, list):
            return value
    return [stripped]
