"""Decoded JSON that is valid JSON but not text: a lone UTF-16 surrogate escape (`"\\ud800"`).

Python's json module decodes such an escape to a str that cannot be encoded as UTF-8, so Arrow refuses
it with a UnicodeEncodeError when the rows are built. The JSON export readers test each record (cheaply:
only text that escapes a surrogate at all is walked) and quarantine the ones that hold one.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def may_hold_surrogates(json_text: str) -> bool:
    """Whether JSON text escapes a UTF-16 surrogate (a cheap test before `has_lone_surrogate`)."""
    return _SURROGATE_ESCAPE.search(json_text) is not None


def has_lone_surrogate(value: Any) -> bool:
    """Whether a decoded JSON value holds a lone surrogate (`"\\ud800"`): valid JSON, but no text Arrow can store."""
    stack = [value]
    while stack:  # iterative: the value may be nested as deep as the decoder allowed
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, dict):
            stack += [*v.keys(), *v.values()]
        elif isinstance(v, list):
            stack += v
    return False
