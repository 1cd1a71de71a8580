"""Test certificates: a throwaway CA and certificates it signs, as PEM files.

EC P-256 keys throughout: generating them takes microseconds, RSA takes tens of
milliseconds, and both Go's TLS stack and urllib3 accept them.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path
from typing import NamedTuple, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Subject alternative names of the server certificate: what a client on loopback dials.
DEFAULT_SERVER_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost")


class KeyPair(NamedTuple):
    """A private key and the certificate for it."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


class TlsPaths(NamedTuple):
    """PEM files for a TLS server and the CA bundle a client needs to trust it."""

    ca_cert: str
    cert: str
    key: str


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fleetrewind testbed"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _validity(builder: x509.CertificateBuilder, *, expired: bool = False) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    if expired:  # valid for a day, ten days ago
        return builder.not_valid_before(now - datetime.timedelta(days=11)).not_valid_after(
            now - datetime.timedelta(days=10)
        )
    return builder.not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(
        now + datetime.timedelta(days=2)
    )


def make_ca(common_name: str = "fleetrewind testbed CA") -> KeyPair:
    """Create a self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    builder = (
        _validity(x509.CertificateBuilder())
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return KeyPair(key, builder.sign(key, hashes.SHA256()))


def issue_cert(
    ca: KeyPair,
    common_name: str,
    *,
    names: Sequence[str] = (),
    server: bool = True,
    expired: bool = False,
) -> KeyPair:
    """Create a leaf certificate signed by ``ca``; ``names`` become IP or DNS SANs."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _validity(x509.CertificateBuilder(), expired=expired)
        .subject_name(_name(common_name))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if names:
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if server:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return KeyPair(key, builder.sign(ca.key, hashes.SHA256()))


def cert_pem(cert: x509.Certificate) -> bytes:
    """PEM text of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM text of a private key."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> str:
    path.write_bytes(data)
    if private:
        os.chmod(path, 0o600)
    return str(path)


def make_server_tls(
    directory: str | os.PathLike[str],
    *,
    names: Sequence[str] = DEFAULT_SERVER_NAMES,
    prefix: str = "registry",
    expired: bool = False,
) -> TlsPaths:
    """Write ``ca.pem``, ``<prefix>.pem`` and ``<prefix>-key.pem`` into ``directory``.

    The server certificate carries SANs IP:127.0.0.1 and DNS:localhost by default.
    Pass ``ca_cert`` to requests as ``verify=`` (never rely on REQUESTS_CA_BUNDLE).
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    ca = make_ca()
    leaf = issue_cert(ca, names[0] if names else "localhost", names=names, expired=expired)
    return TlsPaths(
        ca_cert=_write(out / "ca.pem", cert_pem(ca.cert)),
        cert=_write(out / f"{prefix}.pem", cert_pem(leaf.cert)),
        key=_write(out / f"{prefix}-key.pem", key_pem(leaf.key), private=True),
    )
