"""Signing certificates outside C2PA's profile (and one valid other one), for refusal tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tools.c2pa_pki import make_pki

ANY_EKU = x509.ObjectIdentifier("2.5.29.37.0")


def _cert(
    *, ca: bool, eku: list[x509.ObjectIdentifier] | None, not_after: dt.datetime
) -> tuple[bytes, bytes]:
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bad signer")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(now - dt.timedelta(days=400), not_after - dt.timedelta(days=1)))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    return cert.public_bytes(pem), key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def bad_credentials(case: str, pw: Any, tmp_path: Path) -> tuple[Path, Path]:
    """(chain, key) files for one refusal case; ``other`` is a valid chain of another brand."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    email = [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    if case == "ca":
        chain, key = _cert(ca=True, eku=email, not_after=later)
    elif case == "no_eku":
        chain, key = _cert(ca=False, eku=None, not_after=later)
    elif case == "any_eku":
        chain, key = _cert(ca=False, eku=[ANY_EKU], not_after=later)
    elif case == "expired":
        chain, key = _cert(
            ca=False, eku=email, not_after=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
        )
    elif case == "not_pem":
        chain, key = b"this is not a certificate\n", pw.key.read_bytes()
    elif case == "wrong_key":
        chain, key = pw.chain.read_bytes(), make_pki("Other", later).key_pem
    elif case == "other":
        other = make_pki("Other Brand", later)
        chain, key = other.chain_pem, other.key_pem
    else:
        raise ValueError(case)
    chain_path, key_path = tmp_path / f"{case}-chain.pem", tmp_path / f"{case}-key.pem"
    chain_path.write_bytes(chain)
    key_path.write_bytes(key)
    return chain_path, key_path
