"""Silence matchers (Alertmanager's =, !=, =~, !~ with anchored regexes) and their time window."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.silences import new_silence, parse_matcher
from alerts.store import AlertStore
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.errors import ConfigError

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "labels", "hit"),
    [
        ("team=ml", {"team": "ml"}, True),
        ("team=ml", {"team": "ml-infra"}, False),
        ("team!=ml", {"team": "ops"}, True),
        ("team!=ml", {}, True),
        ("alertname=~Budget.*", {"alertname": "BudgetExceeded"}, True),
        ("alertname=~Budget", {"alertname": "BudgetExceeded"}, False),  # anchored
        ("host!~gke-.*", {"host": "gke-pool-1"}, False),
        ("host!~gke-.*", {"host": "a3-train-01"}, True),
        ('cluster="gpu research"', {"cluster": "gpu research"}, True),
    ],
)
def test_matchers(text: str, labels: dict[str, str], hit: bool) -> None:
    assert parse_matcher(text).matches(labels) is hit


@pytest.mark.parametrize("bad", ["team", "=ml", "team=~(unclosed", "1team=x"])
def test_bad_matchers_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_matcher(bad)


def test_silence_window_and_all_matchers_must_hold() -> None:
    s = new_silence(["team=ml", "severity!=critical"], now=NOW, duration=dt.timedelta(hours=2), author="kim",
                    comment="upgrade")  # fmt: skip
    assert s.active(NOW) and s.active(NOW + dt.timedelta(minutes=119)) and not s.active(NOW + dt.timedelta(hours=2))
    assert s.matches({"team": "ml", "severity": "warning"})
    assert not s.matches({"team": "ml", "severity": "critical"})


def test_silence_needs_matchers_comment_and_duration() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        new_silence([], now=NOW, duration=dt.timedelta(hours=1), author="k", comment="x")
    with pytest.raises(ConfigError, match="comment"):
        new_silence(["a=b"], now=NOW, duration=dt.timedelta(hours=1), author="k", comment=" ")
    with pytest.raises(ConfigError, match="positive"):
        new_silence(["a=b"], now=NOW, duration=dt.timedelta(0), author="k", comment="x")


def test_silences_persist_and_expire(lake: DuckDbLake) -> None:
    store = AlertStore(lake)
    s = new_silence(["team=ml"], now=NOW, duration=dt.timedelta(hours=2), author="kim", comment="upgrade")
    store.add_silence(s)
    [back] = store.silences()
    assert back == s
    store.expire_silence(back, NOW + dt.timedelta(minutes=30))
    [expired] = store.silences()
    assert expired.expired_at == NOW + dt.timedelta(minutes=30)
    assert not expired.active(NOW + dt.timedelta(minutes=31)) and expired.active(NOW + dt.timedelta(minutes=29))
