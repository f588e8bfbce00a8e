"""Who may change things from the dashboard (ack alerts, add and expire silences): one decision, one place.

Reading needs no sign-in; writing does. The mode follows the deployment and is worked out on every check, so a
rotated secret or a changed setting takes effect without a restart:

- `readonly`: SPENDSCOPE_DASHBOARD_READONLY=1 (a hard override of everything below), or no sign-in configured.
- `oidc`: Streamlit's `[auth]` section exists in .streamlit/secrets.toml. `st.login()` signs people in with the
  identity provider; a signed-in user writes when their email is in the writers list (SPENDSCOPE_DASHBOARD_WRITERS,
  else `[app] writers`: emails, `@domain`, or `*` for anyone the provider signs in). No list: nobody writes.
- `secret`: SPENDSCOPE_DASHBOARD_SECRET, or the file at SPENDSCOPE_DASHBOARD_SECRET_FILE (at least 16 characters).
  The sidebar asks for a name and the secret (hmac.compare_digest); the session then holds a grant: the name, the
  time and an HMAC of both keyed by the secret, never the secret. A grant is good only while it verifies against
  the current secret (rotating it signs everyone out) and for SESSION_TTL_SECONDS.

Pages call `can_write()` to draw their forms and `writer()` again when a form is submitted; the identity it returns
is the author recorded with the ack or silence, and `audit()` logs every write.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import streamlit as st
from streamlit.auth_util import is_authlib_installed

from spendscope.errors import ConfigError
from spendscope.secrets import DASHBOARD_SECRET_ENV, read_secret

log = logging.getLogger(__name__)

READONLY_ENV = "SPENDSCOPE_DASHBOARD_READONLY"
SECRET_ENV = DASHBOARD_SECRET_ENV  # or SPENDSCOPE_DASHBOARD_SECRET_FILE: a mounted file
WRITERS_ENV = "SPENDSCOPE_DASHBOARD_WRITERS"
GRANT_KEY = "spendscope-auth-grant"
MIN_SECRET_CHARS = 16
SESSION_TTL_SECONDS = 12 * 3600
# Wrong secrets are throttled for the whole process: opening a new browser session must not reset the count.
MAX_FAILURES, FAILURE_WINDOW_SECONDS = 10, 300.0
_failures: collections.deque[float] = collections.deque()
_failures_lock = threading.Lock()

Mode = Literal["oidc", "secret", "readonly"]


@dataclass(frozen=True)
class AuthState:
    """The mode in force and, for people, why (never a secret); `secret` is set in mode "secret" only."""

    mode: Mode
    reason: str
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Grant:
    """A shared-secret sign-in kept in session_state: who, when, and an HMAC proving it was made with the secret."""

    who: str
    at: float
    tag: str


def auth_section() -> Mapping[str, Any] | None:
    """Streamlit's `[auth]` secrets section (what st.login reads) when configured, else None."""
    if not st.secrets.load_if_toml_exists():
        return None
    section = st.secrets.get("auth")
    return section if isinstance(section, Mapping) and len(section) else None


def state(environ: Mapping[str, str] = os.environ) -> AuthState:
    """The mode this deployment is in right now, READONLY first, then OIDC, then the shared secret."""
    if environ.get(READONLY_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return AuthState("readonly", f"{READONLY_ENV}=1")
    if auth_section() is not None:
        return AuthState("oidc", "OIDC sign-in ([auth] in .streamlit/secrets.toml)")
    try:
        secret = read_secret(SECRET_ENV, environ)
    except ConfigError as exc:  # names the variable or the file's path, never its content
        return AuthState("readonly", f"the sign-in secret is unusable: {exc}")
    if secret is None:
        return AuthState("readonly", f"no sign-in configured ([auth] in .streamlit/secrets.toml, or {SECRET_ENV})")
    if len(secret) < MIN_SECRET_CHARS:
        return AuthState("readonly", f"{SECRET_ENV} is shorter than {MIN_SECRET_CHARS} characters")
    return AuthState("secret", "shared secret", secret)


def mode() -> Mode:
    """'oidc', 'secret' or 'readonly' (see the module docstring)."""
    return state().mode


def writers(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """Who may write under OIDC: SPENDSCOPE_DASHBOARD_WRITERS (comma-separated) when set, else `[app] writers`."""
    raw = environ.get(WRITERS_ENV, "")
    if raw.strip():
        return tuple(w.strip().lower() for w in raw.split(",") if w.strip())
    from dashboards import data  # the app's settings; imported late so the decision functions need no warehouse

    return tuple(data.settings().app.writers)


def listed(email: str, allowed: Sequence[str]) -> bool:
    """`email` is in `allowed`: the same address, its `@domain`, or `*` (case-insensitive)."""
    email = email.strip().lower()
    domain = "@" + email.rpartition("@")[2] if "@" in email else None
    return any(w in ("*", email) or (domain is not None and w == domain) for w in (a.strip().lower() for a in allowed))


def oidc_writer(user: Mapping[str, Any], allowed: Sequence[str]) -> str | None:
    """The identity that may write for an `st.user`: logged in, email not marked unverified, listed; else None."""
    if user.get("is_logged_in") is not True:
        return None
    email = user.get("email")
    who = email.strip().lower() if isinstance(email, str) and email.strip() else None
    if "*" in allowed:  # anyone the provider signs in: record the best name it gives
        other = next((user[k] for k in ("preferred_username", "name", "sub") if isinstance(user.get(k), str)), None)
        return who or other
    if who is None or user.get("email_verified") is False:
        return None
    return who if listed(who, allowed) else None


def grant_tag(secret: str, who: str, at: float) -> str:
    """HMAC-SHA256 of the grant's fields keyed by the secret: a session cannot forge it without the secret."""
    return hmac.new(secret.encode(), f"spendscope-dashboard-grant\n{who}\n{at!r}".encode(), hashlib.sha256).hexdigest()


def secret_writer(grant: object, secret: str | None, now: float) -> str | None:
    """The grant's name when it verifies against `secret` and is younger than SESSION_TTL_SECONDS, else None."""
    if secret is None or not isinstance(grant, Grant):
        return None
    if not (isinstance(grant.who, str) and isinstance(grant.at, float) and isinstance(grant.tag, str)):
        return None
    if not 0 <= now - grant.at <= SESSION_TTL_SECONDS:
        return None
    expected = grant_tag(secret, grant.who, grant.at)
    return grant.who if hmac.compare_digest(grant.tag.encode(), expected.encode()) else None


def _user() -> dict[str, Any]:
    return dict(st.user.to_dict())


def writer() -> str | None:
    """Who may write in this session right now (the author to record), or None: check at the moment of the write."""
    now = state()
    if now.mode == "oidc":
        return oidc_writer(_user(), writers())
    if now.mode == "secret":
        return secret_writer(st.session_state.get(GRANT_KEY), now.secret, time.time())
    return None


def can_write() -> bool:
    """May this viewer ack and silence? Only when signed in as a writer (see the module docstring)."""
    return writer() is not None


def _throttled(now: float) -> bool:
    with _failures_lock:
        while _failures and now - _failures[0] > FAILURE_WINDOW_SECONDS:
            _failures.popleft()
        return len(_failures) >= MAX_FAILURES


def _failed(now: float) -> None:
    with _failures_lock:
        _failures.append(now)


def sign_in(who: str, attempt: str) -> str | None:
    """Check `attempt` against the shared secret and keep a grant for `who`; None when signed in, else why not."""
    now, current = time.time(), state()
    if current.mode != "secret" or current.secret is None:
        return "sign-in with a shared secret is not configured"
    name = " ".join(who.split())[:80]  # one line: it goes into logs and the alert history
    if not name:
        return "Give your name: it is recorded with what you change."
    if _throttled(now):
        return "Too many wrong secrets: try again in a few minutes."
    if not hmac.compare_digest(attempt.encode(), current.secret.encode()):
        _failed(now)
        log.warning("dashboard:sign-in refused who:%s", name)
        return "Wrong secret."
    st.session_state[GRANT_KEY] = Grant(name, now, grant_tag(current.secret, name, now))
    log.info("dashboard:sign-in who:%s mode:secret", name)
    return None


def audit(action: str, who: str, detail: str) -> None:
    """One log line per dashboard write: what, by whom, signed in how (expiring a silence has no author column)."""
    log.info("dashboard:write action:%s by:%s mode:%s %s", action, who, mode(), detail)


def sign_in_widget() -> None:
    """The sidebar's sign-in: OIDC log in / out, the shared-secret form, or the read-only notice."""
    current = state()
    if current.mode == "readonly":
        st.sidebar.caption(f"Read-only dashboard: {current.reason}.")
    elif current.mode == "oidc":
        _oidc_widget()
    else:
        _secret_widget()


def _oidc_widget() -> None:
    user, box = _user(), st.sidebar
    if user.get("is_logged_in") is True:
        who = oidc_writer(user, writers())
        name = user.get("email") or user.get("name") or "?"
        box.caption(f"Signed in as {name}" + ("." if who else ": read-only (not in the dashboard's writers list)."))
        if box.button("Log out", key="auth-logout"):
            st.logout()
        return
    if not is_authlib_installed():
        box.error("OIDC sign-in is configured but Authlib is missing (pip install 'streamlit[auth]'): read-only.")
        return
    section = auth_section() or {}
    named = [k for k, v in section.items() if isinstance(v, Mapping) and k != "client_kwargs"]
    for provider in ([None] if "client_id" in section else []) + named:
        label = "Log in" if provider is None else f"Log in with {provider}"
        if box.button(label, key=f"auth-login-{provider or 'default'}"):
            st.login(provider)


def _secret_widget() -> None:
    box = st.sidebar
    who = writer()
    if who is not None:
        box.caption(f"Signed in as {who}: may ack and silence.")
        if box.button("Sign out", key="auth-signout"):
            st.session_state.pop(GRANT_KEY, None)
            log.info("dashboard:sign-out who:%s", who)
            st.rerun()
        return
    with box.form("auth-form", clear_on_submit=True):
        st.markdown("**Sign in** to ack and silence")
        name = st.text_input("Your name", key="auth-who")
        attempt = st.text_input("Dashboard secret", type="password", key="auth-secret")
        if st.form_submit_button("Sign in", key="auth-submit"):
            error = sign_in(name, attempt)
            if error is not None:
                st.error(error)
            else:
                st.rerun()
