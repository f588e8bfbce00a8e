"""TLS for every outbound HTTP client: certificates are always verified; `ca_file` names the CAs to trust instead.

Without `ca_file` each client keeps its own trust store (httpx: certifi's public CAs; urllib3, under
datadog-api-client: the system's). With `ca_file` — a PEM bundle — only its CAs are trusted: an Alertmanager,
webhook receiver, proxy or exporter behind a private CA, or with a self-signed certificate (such a certificate
is its own CA: point `ca_file` at it). There is deliberately no key that turns verification off.
"""

from __future__ import annotations

import ssl

from spendscope.errors import ConfigError


def ssl_context(ca_file: str | None, key: str) -> ssl.SSLContext:
    """A verifying client context over the default CAs, or only `ca_file`'s; ConfigError naming `key` if unreadable."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{key}: cannot load the CA bundle {ca_file}: {why}") from None


def httpx_verify(ca_file: str | None, key: str) -> ssl.SSLContext | bool:
    """httpx's `verify=`: True (its default CAs) without `ca_file`, else a context trusting only that bundle."""
    return ssl_context(ca_file, key) if ca_file else True


def checked_ca_file(ca_file: str | None, key: str) -> str | None:
    """`ca_file` once it loads as a PEM bundle (for clients that take a path: urllib3's `ca_certs`)."""
    if ca_file:
        ssl_context(ca_file, key)
    return ca_file


def ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The first ssl.SSLError behind a client error, searched along its causes; None when there is none."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        e = todo.pop(0)
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLError):
            return e
        # httpx chains its causes; urllib3's MaxRetryError keeps the error in `reason`, its SSLError in args.
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None), *e.args]
    return None


def tls_failure(exc: BaseException) -> str | None:
    """The TLS failure behind a client error, said plainly; None when there is none."""
    e = ssl_error(exc)
    if isinstance(e, ssl.SSLCertVerificationError):
        return (
            f"TLS certificate verification failed ({e.verify_message or e.reason}); "
            "set ca_file to the PEM bundle of the CA that signed the server's certificate"
        )
    return None if e is None else f"TLS handshake failed ({e.reason or e})"
