"""Throwaway TLS for loopback servers in tests, generated with `cryptography` (nothing is downloaded or kept).

`make_pki(folder)`: a test CA, a server certificate it signs for localhost / 127.0.0.1, and a second CA that
signed nothing (a client trusting only it must refuse the server). `self_signed(folder)`: one certificate that is
its own CA (the SMTP tests' server, tests/common/smtp.py). `serve_tls(httpd, context)` makes an
http.server instance speak HTTPS before its thread starts serving.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from http.server import HTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_SAN = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey, ca: bool
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # cert and CRL signing
        builder = builder.add_extension(usage, critical=True)
    else:
        builder = builder.add_extension(_SAN, critical=False).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA certificate (PEM): what a client's ca_file names
    cert: Path  # the server certificate, signed by `ca`
    key: Path  # the server's private key
    other_ca: Path  # a CA that signed nothing here

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def make_pki(folder: Path) -> Pki:
    """A test CA and a localhost server certificate it signs, under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, other_key, server_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _certificate("spendscope test CA", ca_key, _name("spendscope test CA"), ca_key, ca=True)
    other = _certificate("some other CA", other_key, _name("some other CA"), other_key, ca=True)
    server = _certificate("localhost", server_key, ca.subject, ca_key, ca=False)
    return Pki(
        ca=_pem(folder / "ca.pem", ca),
        cert=_pem(folder / "server.pem", server),
        key=_write_key(folder / "server.key", server_key),
        other_ca=_pem(folder / "other-ca.pem", other),
    )


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1 that is its own CA, and its key: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    crt = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(_name("localhost"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(_SAN, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _pem(folder / "cert.pem", crt), _write_key(folder / "key.pem", key)


def serve_tls(httpd: HTTPServer, context: ssl.SSLContext) -> None:
    """Make `httpd` answer HTTPS (call before its serve_forever thread starts); a refused handshake is dropped."""
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
