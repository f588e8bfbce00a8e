"""`spendscope healthcheck`: the container HEALTHCHECK of the one image, for the daemon and for the dashboard.

The daemon is healthy when its Prometheus exporter answers `GET /metrics` with 200 and our own series (a port
answering with someone else's metrics is not us); the dashboard when Streamlit's `GET /_stcore/health` answers
200 `ok`. The URL comes from the config (`exporters.prometheus.host:port`, `app.host:port`; a wildcard listen
address is probed on loopback) unless `--url` names it. Exit 0 healthy, 1 unhealthy with one line saying why,
2 when there is nothing to probe. Proxy variables are ignored: a probe of our own port must not go through one.

Registered on the main group by spendscope/cli.py.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from spendscope.config import Settings

TARGETS = ("daemon", "dashboard")
METRICS_MARKER = b"spendscope_"  # every series we expose carries our prefix
STREAMLIT_HEALTH = "/_stcore/health"
WILDCARDS = {"", "0.0.0.0", "::", "[::]", "*"}


class Unhealthy(Exception):
    """The probe got no healthy answer; the message says what it got instead."""


def probe_host(host: str) -> str:
    """The address to probe for a listen address: loopback for a wildcard, IPv6 literals bracketed."""
    if host in WILDCARDS:
        return "127.0.0.1"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def default_url(settings: Settings, target: str) -> str:
    """The URL `target` serves on according to the config; UsageError when the daemon serves no /metrics."""
    if target == "dashboard":
        return f"http://{probe_host(settings.app.host)}:{settings.app.port}{STREAMLIT_HEALTH}"
    cfg = settings.exporters.prometheus
    if not cfg.enabled or cfg.port == 0:
        why = "enabled = false" if not cfg.enabled else "port = 0 (a random port)"
        raise click.UsageError(f"exporters.prometheus.{why}: the daemon serves no known /metrics; pass --url")
    return f"http://{probe_host(cfg.host)}:{cfg.port}/metrics"


def probe(url: str, target: str, timeout: float) -> str:
    """GET `url` and judge the answer for `target`; returns a short description, raises Unhealthy."""
    import httpx

    try:
        # trust_env=False: HTTP(S)_PROXY set for the collectors must not route a loopback probe.
        with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as client:
            resp = client.get(url, headers={"User-Agent": "spendscope-healthcheck"})
    except httpx.TimeoutException:
        raise Unhealthy(f"no answer within {timeout:g}s") from None
    except httpx.HTTPError as exc:
        reason = str(exc).strip() or type(exc).__name__
        raise Unhealthy(f"cannot connect ({reason})") from None
    if resp.status_code != 200:
        raise Unhealthy(f"HTTP {resp.status_code}: {resp.text.strip()[:120]}")
    if target == "daemon" and METRICS_MARKER not in resp.content:
        raise Unhealthy("HTTP 200 but no spendscope_ series: not the spendscope exporter")
    if target == "dashboard" and resp.text.strip() != "ok":
        raise Unhealthy(f"HTTP 200 but {resp.text.strip()[:60]!r} instead of 'ok': not Streamlit's health endpoint")
    return f"HTTP 200, {len(resp.content)} bytes"


@click.command("healthcheck")
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default="daemon",
    show_default=True,
    envvar="SPENDSCOPE_HEALTHCHECK_TARGET",
    help="what to probe: the daemon's /metrics or the dashboard's /_stcore/health ($SPENDSCOPE_HEALTHCHECK_TARGET)",
)
@click.option(
    "--url",
    default=None,
    envvar="SPENDSCOPE_HEALTHCHECK_URL",
    help="probe this URL instead of the one the config gives ($SPENDSCOPE_HEALTHCHECK_URL)",
)
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(min=0.1), help="seconds")
@click.pass_context
def healthcheck(ctx: click.Context, target: str, url: str | None, timeout: float) -> None:
    """Exit 0 if the daemon (or the dashboard) answers its health probe, 1 if not: a container HEALTHCHECK."""
    if url is None:
        from spendscope.cli import _settings

        url = default_url(_settings(ctx), target)
    try:
        detail = probe(url, target, timeout)
    except Unhealthy as exc:
        click.echo(f"unhealthy: {target} {url}: {exc}", err=True)
        sys.exit(1)
    click.echo(f"ok: {target} {url}: {detail}")


def register(group: click.Group) -> None:
    """Add `healthcheck` to the main command group."""
    group.add_command(healthcheck)
