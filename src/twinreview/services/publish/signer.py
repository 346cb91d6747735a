"""The brand's C2PA signing credentials: a certificate chain and its private key.

The chain comes from a PEM file; the private key from a PEM file or from the OS keyring, where
``twinreview keys import-c2pa`` stores it once (under the leaf certificate's sha256, in the same
allow-listed backends as the reviewer keys: never a plaintext or null keyring). The key is never
written anywhere else: it goes from the PEM file or the keyring to the C2PA signer in memory.

Certificates are checked against C2PA's signing-certificate profile before anything is signed, so
that the common mistakes get a plain reason (a CA certificate, no digitalSignature key usage, no
extended key usage, expired); c2pa-rs then applies its own checks when it signs, and its refusal
is reported in one line as well.

Public API:
    SignerCredentials: the parsed chain and key; ``load(chain_pem, key_pem)``.
    load_credentials(cert_path, key_path=None, keystore=None) -> SignerCredentials
    C2paKeyStore: the signing key in the keyring, by leaf certificate fingerprint.
    SignerError: one line for the user.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from twinreview.core.errors import TwinreviewError
from twinreview.core.files import open_regular
from twinreview.services.keys import KeysError, KeyStore

MAX_PEM_BYTES = 1024 * 1024
_ANY_EKU = x509.ObjectIdentifier("2.5.29.37.0")
# The EKUs C2PA 2.x accepts for a claim signer.
_C2PA_EKUS = frozenset(
    {
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12"),  # documentSigning (Microsoft)
        x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"),  # id-kp-documentSigning (RFC 9336)
        ExtendedKeyUsageOID.TIME_STAMPING,
        ExtendedKeyUsageOID.OCSP_SIGNING,
        x509.ObjectIdentifier("1.3.6.1.4.1.62558.2.1"),  # c2pa-kp-claimSigning
    }
)


class SignerError(TwinreviewError):
    """The signing certificate or key cannot be used; ``str(err)`` is one line."""


@dataclass(frozen=True)
class SignerCredentials:
    """A checked C2PA signing certificate chain and its private key (in memory only).

    Attributes:
        chain_pem: The chain, leaf first, as PEM.
        key_pem: The private key as unencrypted PKCS#8 PEM.
        alg: The C2PA signing algorithm for the key (``es256``, ``ps256``, ``ed25519``...).
        subject: The leaf's common name (or full subject), for messages.
        fingerprint: sha256 of the leaf certificate (DER), hex.
    """

    chain_pem: bytes
    key_pem: bytes
    alg: str
    subject: str
    fingerprint: str

    @classmethod
    def load(cls, chain_pem: bytes, key_pem: bytes) -> SignerCredentials:
        """Parse and check a chain and key.

        Raises:
            SignerError: unreadable PEM, a key that does not match the certificate, or a
                certificate outside C2PA's signing profile.
        """
        chain = _chain(chain_pem)
        key = _private_key(key_pem)
        leaf = chain[0]
        _check_match(leaf, key)
        _check_profile(leaf)
        pkcs8 = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
        return cls(pem, pkcs8, _alg(key), _subject(leaf), leaf_fingerprint(leaf))


def leaf_fingerprint(cert: x509.Certificate) -> str:
    """sha256 (hex) of a certificate's DER bytes."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def read_pem(path: Path, what: str) -> bytes:
    """Read a PEM file of at most 1 MiB.

    Raises:
        SignerError: it cannot be read or is too large.
    """
    try:
        with open_regular(path) as fh:
            data = fh.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        raise SignerError(f"cannot read the {what} {path} ({exc.strerror or exc})") from None
    if len(data) > MAX_PEM_BYTES:
        raise SignerError(f"the {what} {path} is too large to be a PEM file")
    return data


def load_credentials(
    cert_path: Path, key_path: Path | None, keystore: C2paKeyStore | None = None
) -> SignerCredentials:
    """The credentials from a chain file and a key file, or the key stored in the keyring.

    Raises:
        SignerError: see :meth:`SignerCredentials.load`; or no key file and none in the keyring.
    """
    chain_pem = read_pem(cert_path, "certificate chain")
    if key_path is not None:
        return SignerCredentials.load(chain_pem, read_pem(key_path, "private key"))
    if keystore is None:
        raise SignerError(
            "no signing key: give --signer-key KEY.pem or import it once with "
            "'twinreview keys import-c2pa'"
        )
    leaf = _chain(chain_pem)[0]
    key_pem = keystore.load(leaf_fingerprint(leaf))
    if key_pem is None:
        raise SignerError(
            f"the keyring ({keystore.backend_name}) holds no signing key for the certificate "
            f"{_subject(leaf)}; import it with 'twinreview keys import-c2pa' or give --signer-key"
        )
    return SignerCredentials.load(chain_pem, key_pem)


class C2paKeyStore:
    """The C2PA signing key in the OS keyring, by the leaf certificate's sha256.

    Uses the reviewer keys' allow-list (:class:`~twinreview.services.keys.KeyStore`): a keyring
    that would keep the key in a plain file is refused the same way.
    """

    def __init__(self, keystore: KeyStore) -> None:
        """Store through ``keystore`` (its allow-listed backend, its error handling)."""
        self._keystore = keystore
        self.backend_name = keystore.backend_name

    @classmethod
    def from_system(cls) -> C2paKeyStore:
        """The OS keyring, as :meth:`KeyStore.from_system` allows it.

        Raises:
            KeyringRefused: a keyring that would keep the key in a plain file (see
                :meth:`KeyStore.from_system`).
        """
        return cls(KeyStore.from_system())

    @staticmethod
    def _username(fingerprint: str) -> str:
        return f"c2pa-signing-key {fingerprint}"

    def store(self, credentials: SignerCredentials) -> None:
        """Keep the key, read it back to be sure.

        Raises:
            SignerError: the keyring refused or did not keep it.
        """
        # DER, base64: shorter than PEM, which matters to Windows' Credential Locker.
        der = serialization.load_pem_private_key(credentials.key_pem, None).private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        text = base64.b64encode(der).decode()
        try:
            self._keystore.put_secret(self._username(credentials.fingerprint), text, "the key")
        except KeysError as exc:
            raise SignerError(str(exc)) from None

    def load(self, fingerprint: str) -> bytes | None:
        """The key (PKCS#8 PEM) for the certificate with this sha256, or None.

        Raises:
            SignerError: the keyring cannot be read or holds something else.
        """
        try:
            text = self._keystore.get_secret(self._username(fingerprint), "the signing key")
        except KeysError as exc:
            raise SignerError(str(exc)) from None
        if text is None:
            return None
        try:
            der = base64.b64decode(text, validate=True)
            key = serialization.load_der_private_key(der, None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise SignerError(
                "the keyring entry for this certificate is not a private key"
            ) from None
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


# -- checks ---------------------------------------------------------------------------------------

_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def _chain(data: bytes) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise SignerError("the certificate chain is not a PEM file of X.509 certificates")
    return certs


def _private_key(data: bytes) -> _PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise SignerError(
            "the private key is encrypted; give it unencrypted (or store it in the keyring with "
            "'twinreview keys import-c2pa')"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise SignerError("the private key is not a PEM private key") from None
    if not isinstance(
        key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)
    ):
        raise SignerError(
            "the private key is of a kind C2PA cannot sign with (use EC, RSA or Ed25519)"
        )
    return key


def _alg(key: _PrivateKey) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    curve = key.curve.name
    algs = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
    if curve not in algs:
        raise SignerError(f"the private key's curve {curve} is not one C2PA signs with")
    return algs[curve]


def _check_match(leaf: x509.Certificate, key: _PrivateKey) -> None:
    probe = b"twinreview: does the key match the certificate?"
    public = leaf.public_key()
    try:
        if isinstance(key, ed25519.Ed25519PrivateKey) and isinstance(
            public, ed25519.Ed25519PublicKey
        ):
            public.verify(key.sign(probe), probe)
            return
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(
            public, ec.EllipticCurvePublicKey
        ):
            public.verify(
                key.sign(probe, ec.ECDSA(hashes.SHA256())), probe, ec.ECDSA(hashes.SHA256())
            )
            return
        if isinstance(key, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey):
            pad = padding.PKCS1v15()
            public.verify(key.sign(probe, pad, hashes.SHA256()), probe, pad, hashes.SHA256())
            return
    except InvalidSignature:
        pass
    raise SignerError("the private key does not belong to the first certificate of the chain")


def _check_profile(leaf: x509.Certificate) -> None:
    name = _subject(leaf)
    now = dt.datetime.now(dt.UTC)
    if leaf.not_valid_after_utc < now:
        raise SignerError(
            f"the signing certificate {name} expired on {leaf.not_valid_after_utc:%Y-%m-%d}"
        )
    if leaf.not_valid_before_utc > now:
        raise SignerError(
            f"the signing certificate {name} is not valid before "
            f"{leaf.not_valid_before_utc:%Y-%m-%d}"
        )
    ext = leaf.extensions
    try:
        if ext.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise SignerError(
                f"the signing certificate {name} is a CA certificate; C2PA signs with an "
                "end-entity certificate issued by it"
            )
    except x509.ExtensionNotFound:
        pass
    try:
        usage = ext.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            raise SignerError(
                f"the signing certificate {name} lacks the digitalSignature key usage C2PA needs"
            )
    except x509.ExtensionNotFound:
        raise SignerError(
            f"the signing certificate {name} has no key usage extension (C2PA needs "
            "digitalSignature)"
        ) from None
    try:
        ekus = set(ext.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        raise SignerError(
            f"the signing certificate {name} has no extended key usage (C2PA needs e.g. "
            "emailProtection or documentSigning)"
        ) from None
    if _ANY_EKU in ekus or not ekus & _C2PA_EKUS:
        raise SignerError(
            f"the signing certificate {name} has no extended key usage C2PA accepts (e.g. "
            "emailProtection or documentSigning; never anyExtendedKeyUsage)"
        )


def _subject(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    value = names[0].value if names else cert.subject.rfc4514_string()
    return value if isinstance(value, str) else value.decode("utf-8", "replace")
