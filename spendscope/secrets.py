"""Secrets come from the environment only: the variable the config names, or a mounted file named by `<NAME>_FILE`.

`read_secret("DD_API_KEY")` returns $DD_API_KEY, else the content of the file at $DD_API_KEY_FILE (a Docker or
Kubernetes secret mount; one trailing newline stripped), else None. Setting both is an error, as in the official
Docker images: which one wins would be a guess. Files are read at each use, so a rotated mount takes effect
without a restart. Nothing here logs or returns a value anywhere but to the caller; `secret_refs` (for
`spendscope config check`) reports only names and whether each is set.

Every value read is also remembered (in this process's memory only) so `redact()` can blank it out of any text
that is about to leave the process: log lines, CLI errors and SpendscopeError messages, which store them in
alert_events and action_log. That catches what no format rule can, e.g. a server echoing the token it got.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from spendscope.errors import ConfigError

FILE_SUFFIX = "_FILE"
# Env-only secrets that no config key names: the dashboard's shared sign-in secret (dashboards/auth.py).
DASHBOARD_SECRET_ENV = "SPENDSCOPE_DASHBOARD_SECRET"
REDACTED = "***"
# Shorter values are not blanked out of text: they would match ordinary words (and no real credential is so short).
MIN_REDACT_CHARS = 8
# user:password@ in a URL (a config may carry one despite the advice): errors and logs show the URL without it.
# The scheme is bounded and anchored so a long run of scheme characters cannot make the search quadratic.
_USERINFO = re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}://)[^/\s@?#]+@")
_known: set[str] = set()
_known_lock = threading.Lock()


def read_secret(env_name: str | None, environ: Mapping[str, str] = os.environ, *, remember: bool = True) -> str | None:
    """$env_name, else the file at $env_name_FILE (trailing newline stripped); None when neither is set.

    `remember=False` for values read the same way that are not secret (an SMTP user name): they are not redacted.
    """
    if not env_name:
        return None
    value = environ.get(env_name, "")
    path = environ.get(env_name + FILE_SUFFIX, "")
    if value and path:
        raise ConfigError(f"both {env_name} and {env_name}{FILE_SUFFIX} are set: keep one")
    if value:
        return _remember(value) if remember else value
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        # The path is not secret (it names a mount); the content never reaches the message.
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(f"{env_name}{FILE_SUFFIX}: cannot read {path}: {why}") from None
    content = text.removesuffix("\n").removesuffix("\r")
    if not content:
        return None
    return _remember(content) if remember else content


def _remember(value: str) -> str:
    if len(value) >= MIN_REDACT_CHARS:
        with _known_lock:
            _known.add(value)
    return value


def redact(text: str) -> str:
    """`text` with every secret this process has read, and any URL's user:password@, replaced by ***."""
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)  # a secret containing another is blanked whole
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    if "://" not in text or "@" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)


def secret_state(env_name: str, environ: Mapping[str, str] = os.environ) -> str:
    """How `env_name` is provided, for people: 'set', 'from file <path>', 'missing' or 'error: …' (never the value)."""
    try:
        value = read_secret(env_name, environ, remember=False)  # it names user names too, which are not redacted
    except ConfigError as exc:
        return f"error: {exc}"
    if value is None:
        return "missing"
    return "set" if environ.get(env_name) else f"from file {environ[env_name + FILE_SUFFIX]}"


@dataclass(frozen=True)
class SecretRef:
    """One config key naming a secret's environment variable (`key` dotted, e.g. collectors.databricks.token_env)."""

    key: str
    env_name: str
    enabled: bool = True  # False under a section switched off (`enabled = false`): the daemon does not use it


def secret_refs(settings: BaseModel) -> list[SecretRef]:
    """Every `*_env` key the config holds (defaults included), in schema order, each marked enabled or not."""
    return list(_walk(settings, "", True))


def _walk(model: BaseModel, prefix: str, enabled: bool) -> Iterator[SecretRef]:
    enabled = enabled and getattr(model, "enabled", True) is not False
    for name in type(model).model_fields:
        value: Any = getattr(model, name)
        key = f"{prefix}{name}"
        if name.endswith("_env") and isinstance(value, str) and value:
            yield SecretRef(key, value, enabled)
        elif isinstance(value, BaseModel):
            yield from _walk(value, key + ".", enabled)
        elif isinstance(value, Mapping):
            for sub, item in value.items():
                if isinstance(item, BaseModel):
                    yield from _walk(item, f"{key}.{sub}.", enabled)
