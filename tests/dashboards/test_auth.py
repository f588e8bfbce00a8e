"""Dashboard sign-in (dashboards/auth.py) through Streamlit's AppTest on the "Alerts & actions" page, plus the pure
decision functions.

AppTest seeds `st.user` from `at.user` and `st.secrets` from `at.secrets`, which is how the OIDC mode is driven
here: no identity provider runs (Authlib is not installed), so the logged-in user is the claims a provider would
put in its ID token (synthetic). The shared-secret mode is the real sidebar form with the secret from the env.
"""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.auth_util import is_authlib_installed
from streamlit.testing.v1 import AppTest

from alerts.store import AlertStore
from dashboards import auth
from exporters.warehouse.duckdb import DuckDbLake
from tests.dashboards.apptest import APP, open_page, sign_in

SECRET = "dashboard-test-secret-8c21f0"  # synthetic
# A default-provider [auth] section as Streamlit documents it (synthetic values; nothing is contacted).
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "cookie-secret-for-tests-0123456789",
    "client_id": "spendscope-test",
    "client_secret": "client-secret-for-tests",
    "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
}


@pytest.fixture(autouse=True)
def clean_env(app_config: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No sign-in configured, no override, and a fresh wrong-secret throttle for each test."""
    for name in (auth.READONLY_ENV, auth.SECRET_ENV, auth.SECRET_ENV + "_FILE", auth.WRITERS_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(auth, "_failures", collections.deque())
    return app_config


def write_buttons(at: AppTest) -> list[str]:
    return [b.key for b in at.button if b.key in ("ack-submit", "silence-submit", "expire-submit")]


def silences(cfg: Path) -> list[Any]:
    return AlertStore(DuckDbLake(cfg.parent / "lake")).silences()


def add_silence(at: AppTest, comment: str) -> AppTest:
    at.text_area(key="silence-matchers").input("provider=Databricks")
    at.text_input(key="silence-comment").input(comment)
    at.button(key="silence-submit").click().run()
    assert not at.exception, at.exception
    return at


def oidc_app(user: dict[str, Any]) -> AppTest:
    """The alerts page with Streamlit's [auth] configured and `user` as st.user (what AppTest seeds)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["auth"] = dict(AUTH)
    at.user = user
    at.run()
    at.switch_page("dashboards/pages/alerts.py").run()
    assert not at.exception, at.exception
    return at


# -- through the app -----------------------------------------------------------------------------------------


def test_read_only_without_sign_in_configured() -> None:
    at = open_page("alerts")
    assert auth.mode() == "readonly"
    assert write_buttons(at) == [] and not at.text_input and not at.text_area
    assert [b.key for b in at.button if b.key and b.key.startswith("auth-")] == []  # nothing to sign in with
    assert any(c.value.startswith("Read-only dashboard: no sign-in configured") for c in at.sidebar.caption)


def test_secret_sign_in_enables_writes_as_the_signed_in_name(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.SECRET_ENV, SECRET)
    at = open_page("alerts")
    assert write_buttons(at) == [] and at.button(key="auth-submit").label == "Sign in"
    assert any("Sign in (sidebar)" in c.value for c in at.caption)
    sign_in(at, "kim", SECRET)
    assert write_buttons(at) == ["silence-submit"]  # no alert, so no ack form; no silence, no expire form
    assert any(c.value == "Signed in as kim: may ack and silence." for c in at.sidebar.caption)
    grant = at.session_state[auth.GRANT_KEY]
    assert isinstance(grant, auth.Grant) and grant.who == "kim" and SECRET not in repr(grant)

    add_silence(at, "maintenance")
    [silence] = silences(clean_env)
    assert (silence.created_by, silence.comment) == ("kim", "maintenance")

    at.button(key="auth-signout").click().run()
    assert write_buttons(at) == [] and auth.GRANT_KEY not in at.session_state


def test_a_wrong_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.SECRET_ENV, SECRET)
    at = sign_in(open_page("alerts"), "mallory", SECRET + "x")
    assert [e.value for e in at.error] == ["Wrong secret."]
    assert write_buttons(at) == [] and auth.GRANT_KEY not in at.session_state
    assert at.button(key="auth-submit").label == "Sign in"  # the form is offered again


def test_wrong_secrets_are_throttled_for_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.SECRET_ENV, SECRET)
    monkeypatch.setattr(auth, "MAX_FAILURES", 2)
    at = open_page("alerts")
    for _ in range(2):
        sign_in(at, "mallory", "guess-" + "0" * 16)
    fresh = sign_in(open_page("alerts"), "kim", SECRET)  # a new session does not reset the count
    assert [e.value for e in fresh.error] == ["Too many wrong secrets: try again in a few minutes."]
    assert write_buttons(fresh) == []


def test_a_forged_session_state_cannot_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the secret nobody can make a grant that verifies: the flag, a dict or a Grant with a made-up tag."""
    monkeypatch.setenv(auth.SECRET_ENV, SECRET)
    forgeries: list[object] = [
        True,
        {"who": "mallory", "signed_in": True},
        auth.Grant("mallory", time.time(), "0" * 64),
    ]
    for forged in forgeries:
        at = AppTest.from_file(APP, default_timeout=120)
        at.session_state[auth.GRANT_KEY] = forged
        at.run()
        at.switch_page("dashboards/pages/alerts.py").run()
        assert not at.exception, at.exception
        assert write_buttons(at) == [], forged
        assert at.button(key="auth-submit").label == "Sign in"


def test_the_write_rechecks_the_sign_in_when_submitted(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The form is drawn for a writer, but the check made when the form is submitted says no: nothing is written."""
    monkeypatch.setenv(auth.SECRET_ENV, SECRET)
    at = sign_in(open_page("alerts"), "kim", SECRET)
    real: Callable[[], str | None] = auth.writer

    def signed_out_at_submit() -> str | None:
        # The page's `_writer()` is the check made at the moment of the write; every other caller sees "kim".
        return None if sys._getframe(1).f_code.co_name == "_writer" else real()

    monkeypatch.setattr(auth, "writer", signed_out_at_submit)
    add_silence(at, "should not land")
    assert any("Not signed in as a writer any more" in e.value for e in at.error)
    assert silences(clean_env) == []


def test_rotating_the_secret_signs_everyone_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.SECRET_ENV, SECRET)
    at = sign_in(open_page("alerts"), "kim", SECRET)
    assert write_buttons(at) == ["silence-submit"]
    monkeypatch.setenv(auth.SECRET_ENV, "a-brand-new-secret-after-rotation")
    at.run()
    assert write_buttons(at) == [] and at.button(key="auth-submit").label == "Sign in"


def test_a_short_secret_leaves_the_dashboard_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.SECRET_ENV, "tiny-pw")
    at = open_page("alerts")
    assert auth.mode() == "readonly" and write_buttons(at) == []
    assert any(f"shorter than {auth.MIN_SECRET_CHARS} characters" in c.value for c in at.sidebar.caption)
    assert all("tiny-pw" not in c.value for c in at.sidebar.caption)


def test_the_secret_can_come_from_a_mounted_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mounted = tmp_path / "dashboard-secret"
    mounted.write_text(SECRET + "\n")
    monkeypatch.setenv(auth.SECRET_ENV + "_FILE", str(mounted))
    at = sign_in(open_page("alerts"), "kim", SECRET)
    assert write_buttons(at) == ["silence-submit"]


def test_oidc_user_in_the_writers_list_writes_as_their_email(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.WRITERS_ENV, "bob@other.org, @acme.com")
    at = oidc_app({"is_logged_in": True, "email": "Alice@Acme.com", "email_verified": True, "name": "Alice"})
    assert write_buttons(at) == ["silence-submit"]
    assert any(c.value == "Signed in as Alice@Acme.com." for c in at.sidebar.caption)
    assert at.button(key="auth-logout").label == "Log out"
    add_silence(at, "deploy window")
    [silence] = silences(clean_env)
    assert silence.created_by == "alice@acme.com"


def test_oidc_user_outside_the_list_reads_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.WRITERS_ENV, "@acme.com")
    at = oidc_app({"is_logged_in": True, "email": "eve@acme.com.evil.io", "email_verified": True})
    assert write_buttons(at) == []
    assert any("not in the dashboard's writers list" in c.value for c in at.sidebar.caption)


def test_oidc_without_a_writers_list_nobody_writes() -> None:
    at = oidc_app({"is_logged_in": True, "email": "alice@acme.com", "email_verified": True})
    assert write_buttons(at) == []


def test_oidc_logged_out_sees_the_login_and_no_forms() -> None:
    at = oidc_app({"is_logged_in": False})
    assert write_buttons(at) == []
    if is_authlib_installed():
        assert at.button(key="auth-login-default").label == "Log in"
    else:  # st.login needs Authlib: the sidebar says so instead of a button that would fail
        assert any("Authlib is missing" in e.value for e in at.sidebar.error)


def test_readonly_override_wins_over_a_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.WRITERS_ENV, "@acme.com")
    monkeypatch.setenv(auth.READONLY_ENV, "1")
    at = oidc_app({"is_logged_in": True, "email": "alice@acme.com", "email_verified": True})
    assert write_buttons(at) == [] and auth.mode() == "readonly"
    monkeypatch.setenv(auth.SECRET_ENV, SECRET)
    at = open_page("alerts")
    assert [b.key for b in at.button if b.key == "auth-submit"] == []  # no sign-in form either
    assert any("Read-only dashboard: SPENDSCOPE_DASHBOARD_READONLY=1" in c.value for c in at.sidebar.caption)


# -- the decisions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "allowed", "who"),
    [
        ({"is_logged_in": True, "email": "alice@acme.com"}, ["alice@acme.com"], "alice@acme.com"),
        ({"is_logged_in": True, "email": "ALICE@acme.com"}, ["@ACME.com"], "alice@acme.com"),
        ({"is_logged_in": True, "email": "alice@sub.acme.com"}, ["@acme.com"], None),  # exact domain only
        ({"is_logged_in": True, "email": "alice@acme.com", "email_verified": False}, ["@acme.com"], None),
        ({"is_logged_in": False, "email": "alice@acme.com"}, ["@acme.com"], None),
        ({"email": "test@example.com"}, ["*"], None),  # st.user without a login (AppTest's default user)
        ({"is_logged_in": True, "email": "alice@acme.com"}, [], None),
        ({"is_logged_in": True, "sub": "1234"}, ["@acme.com"], None),  # no email: cannot be listed
        ({"is_logged_in": True, "sub": "1234", "name": "Ann"}, ["*"], "Ann"),
    ],
)
def test_oidc_writer(user: dict[str, Any], allowed: list[str], who: str | None) -> None:
    assert auth.oidc_writer(user, allowed) == who


def test_secret_writer_verifies_the_grant() -> None:
    now = time.time()
    good = auth.Grant("kim", now, auth.grant_tag(SECRET, "kim", now))
    assert auth.secret_writer(good, SECRET, now + 60) == "kim"
    assert auth.secret_writer(good, "another-secret-entirely", now + 60) is None  # rotated
    assert auth.secret_writer(good, None, now) is None  # sign-in no longer configured
    assert auth.secret_writer(good, SECRET, now + auth.SESSION_TTL_SECONDS + 1) is None  # expired
    renamed = auth.Grant("admin", now, good.tag)
    assert auth.secret_writer(renamed, SECRET, now) is None  # the tag covers the name
    assert auth.secret_writer(auth.Grant("kim", now, "é"), SECRET, now) is None  # a non-hex tag is refused, no crash
    assert auth.secret_writer({"who": "kim", "at": now, "tag": good.tag}, SECRET, now) is None


def test_writers_env_overrides_the_config(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st

    clean_env.write_text(clean_env.read_text() + '[app]\nwriters = ["@Acme.com", "ops@other.org"]\n')
    st.cache_resource.clear()  # the app's settings are cached per config path
    assert auth.writers() == ("@acme.com", "ops@other.org")
    monkeypatch.setenv(auth.WRITERS_ENV, "Bob@x.io, @y.io")
    assert auth.writers() == ("bob@x.io", "@y.io")


def test_grant_age_uses_the_sign_in_time() -> None:
    """A grant from the future (clock skew or a forgery) is not trusted either."""
    now = time.time()
    later = now + 3600
    grant = auth.Grant("kim", later, auth.grant_tag(SECRET, "kim", later))
    assert auth.secret_writer(grant, SECRET, now) is None
