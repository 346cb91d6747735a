"""OpenSSH SSHSIG signatures (PROTOCOL.sshsig) on Ed25519 keys, built on ``cryptography``.

Public API:
    NS_ENTRY, NS_LOG, NS_ROSTER: the three twinreview namespaces.
    SshsigError: any malformed key/signature or failed verification (a ``ValueError``).
    SshPublicKey: an Ed25519 public key; ``parse(openssh_line)``, ``openssh()``, ``blob``,
        ``fingerprint`` (``SHA256:...`` exactly as ``ssh-keygen -l`` prints it), ``fp16``
        (filename-safe fingerprint prefix used in log file names).
    SigningKey: an Ed25519 private key; ``from_seed(seed32)``, ``generate()``, ``seed``,
        ``public``, ``sign(data, namespace) -> armored str``.
    WireReader: bounds-checked reader of SSH wire strings (also used for KRL files).
    SshSignature: a parsed signature blob; ``parse(armored)``, ``armored()``.
    sign(key, data, namespace) -> str: armored signature.
    verify(armored, data, namespace) -> SshPublicKey: the signer's key, or raises SshsigError.
        The caller decides whether that key is allowed (see ``twinreview.core.roster.people``).

Why hand-written: ``cryptography`` has Ed25519 and OpenSSH key (de)serialisation but no SSHSIG
container; the container is a few length-prefixed strings, so it is implemented here and checked
against the real ``ssh-keygen -Y sign`` / ``-Y verify`` in the tests.

Only ``ssh-ed25519`` keys and the ``sha512`` hash are produced; verification also accepts
``sha256`` (allowed by the spec) but still only Ed25519 keys, since twinreview never issues others.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import struct
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

NS_ENTRY = "twinreview-entry-v1"
NS_LOG = "twinreview-log-v1"
NS_ROSTER = "twinreview-roster-v1"

KEY_TYPE = "ssh-ed25519"
_MAGIC = b"SSHSIG"
_SIG_VERSION = 1
_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_END = "-----END SSH SIGNATURE-----"
# OpenSSH wraps the armored base64 at 70 columns (sshsig.c, sshbuf_dtob64(..., 70)).
_WRAP = 70
_UINT32 = struct.Struct(">I")
_VERSION_BYTES = _UINT32.pack(_SIG_VERSION)
_KEY_TYPE_BYTES = KEY_TYPE.encode()
_HASHES = {"sha512": hashlib.sha512, "sha256": hashlib.sha256}


class SshsigError(ValueError):
    """A malformed key or signature, or a signature that does not verify."""


def _take(data: bytes, off: int) -> tuple[bytes, int]:
    """The SSH ``string`` at ``off`` and the offset after it (bounds-checked)."""
    if off + 4 > len(data):
        raise SshsigError("truncated SSH data")
    (n,) = _UINT32.unpack_from(data, off)
    end = off + 4 + n
    if end > len(data):
        raise SshsigError("truncated SSH data")
    return data[off + 4 : end], end


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class WireReader:
    """Reads the SSH wire format (RFC 4251 ``string`` and ``uint32``) with bounds checks."""

    def __init__(self, data: bytes) -> None:
        """Read from ``data``; every method raises SshsigError past its end."""
        self._data = data
        self._pos = 0

    def raw(self, n: int) -> bytes:
        """Next ``n`` bytes."""
        if self._pos + n > len(self._data):
            raise SshsigError("truncated SSH data")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def uint32(self) -> int:
        """Next big-endian uint32."""
        value: int = struct.unpack(">I", self.raw(4))[0]
        return value

    def uint64(self) -> int:
        """Next big-endian uint64."""
        value: int = struct.unpack(">Q", self.raw(8))[0]
        return value

    def string(self) -> bytes:
        """Next length-prefixed string."""
        return self.raw(self.uint32())

    def byte(self) -> int:
        """Next single byte."""
        return self.raw(1)[0]

    @property
    def done(self) -> bool:
        """True when every byte was consumed."""
        return self._pos == len(self._data)


@dataclass(frozen=True)
class SshPublicKey:
    """An Ed25519 public key in OpenSSH terms.

    Attributes:
        raw: The 32 raw public key bytes.
    """

    raw: bytes
    _crypto: Ed25519PublicKey | None = field(default=None, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise SshsigError("an ssh-ed25519 public key is 32 bytes")

    @classmethod
    def from_blob(cls, blob: bytes) -> SshPublicKey:
        """Parse the SSH wire blob (``string "ssh-ed25519" || string key``).

        Raises:
            SshsigError: if the blob is not an ssh-ed25519 key.
        """
        reader = WireReader(blob)
        key_type = reader.string()
        if key_type != KEY_TYPE.encode():
            raise SshsigError(f"unsupported key type {key_type.decode(errors='replace')!r}")
        raw = reader.string()
        if not reader.done:
            raise SshsigError("trailing bytes after ssh-ed25519 key")
        return cls(raw)

    @classmethod
    def parse(cls, text: str) -> SshPublicKey:
        """Parse ``ssh-ed25519 AAAA... [comment]`` (the ``.pub`` file / allowed_signers form).

        Raises:
            SshsigError: for any other key type or malformed base64.
        """
        parts = text.strip().split()
        if len(parts) < 2:
            raise SshsigError("expected 'ssh-ed25519 <base64> [comment]'")
        if parts[0] != KEY_TYPE:
            raise SshsigError(f"unsupported key type {parts[0]!r} (only ssh-ed25519)")
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except binascii.Error:
            raise SshsigError("public key is not valid base64") from None
        return cls.from_blob(blob)

    @cached_property
    def blob(self) -> bytes:
        """The SSH wire encoding of the key."""
        return _ssh_string(KEY_TYPE.encode()) + _ssh_string(self.raw)

    def openssh(self, comment: str = "") -> str:
        """Return ``ssh-ed25519 AAAA...`` (plus `` comment`` if given)."""
        line = f"{KEY_TYPE} {base64.b64encode(self.blob).decode()}"
        return f"{line} {comment}" if comment else line

    @cached_property
    def fingerprint(self) -> str:
        """``SHA256:<unpadded base64>``, exactly as ``ssh-keygen -l`` prints it."""
        digest = hashlib.sha256(self.blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    @cached_property
    def fp16(self) -> str:
        """First 16 characters of the fingerprint in base64url (``+`` -> ``-``, ``/`` -> ``_``).

        Used in log file names: readable next to ``ssh-keygen -l`` output (same characters, two
        substituted) and 96 bits, so collisions are not a concern even on case-insensitive disks.
        """
        body = self.fingerprint.removeprefix("SHA256:")
        return body.replace("+", "-").replace("/", "_")[:16]

    def crypto(self) -> Ed25519PublicKey:
        """The ``cryptography`` key object (cached: verification loops reuse it)."""
        if self._crypto is None:
            object.__setattr__(self, "_crypto", Ed25519PublicKey.from_public_bytes(self.raw))
        assert self._crypto is not None
        return self._crypto


@functools.lru_cache(maxsize=256)
def _cached_key(blob: bytes) -> SshPublicKey:
    # A log holds one key thousands of times: parse it (and build its cryptography object) once.
    return SshPublicKey.from_blob(blob)


class SigningKey:
    """An Ed25519 private key that makes SSHSIG signatures."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        """Wrap a ``cryptography`` private key."""
        self._private = private
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public = SshPublicKey(raw)

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """Build the key from its 32-byte seed (what the OS keyring stores).

        Raises:
            SshsigError: if the seed is not 32 bytes.
        """
        if len(seed) != 32:
            raise SshsigError("an Ed25519 seed is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def generate(cls) -> SigningKey:
        """Make a fresh random key."""
        return cls(Ed25519PrivateKey.generate())

    @property
    def seed(self) -> bytes:
        """The 32-byte seed. Handle with care: it is the whole secret."""
        return self._private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def sign(self, data: bytes, namespace: str) -> str:
        """Return the armored SSHSIG signature of ``data`` in ``namespace``."""
        return sign(self, data, namespace)

    def raw_sign(self, message: bytes) -> bytes:
        """Plain Ed25519 signature of ``message`` (used by the SSHSIG wrapper)."""
        return self._private.sign(message)


@dataclass(frozen=True)
class SshSignature:
    """A decoded SSHSIG blob.

    Attributes:
        public_key: The signer's key as carried in the signature.
        namespace: The namespace the signature was made for.
        hash_algorithm: ``sha512`` or ``sha256``.
        signature: The raw Ed25519 signature (64 bytes).
    """

    public_key: SshPublicKey
    namespace: str
    hash_algorithm: str
    signature: bytes

    @classmethod
    def from_blob(cls, blob: bytes) -> SshSignature:
        """Decode the binary SSHSIG blob.

        Raises:
            SshsigError: if it is malformed or not an ssh-ed25519 signature.
        """
        # Hand-unrolled (not WireReader): verification of large logs parses one per entry.
        if blob[:6] != _MAGIC:
            raise SshsigError("not an SSHSIG signature (bad magic)")
        if blob[6:10] != _VERSION_BYTES:
            raise SshsigError("unsupported SSHSIG version")
        key_blob, off = _take(blob, 10)
        namespace, off = _take(blob, off)
        _reserved, off = _take(blob, off)
        hash_algorithm, off = _take(blob, off)
        inner, off = _take(blob, off)
        if off != len(blob):
            raise SshsigError("trailing bytes after SSHSIG signature")
        algorithm, ioff = _take(inner, 0)
        if algorithm != _KEY_TYPE_BYTES:
            raise SshsigError("signature algorithm is not ssh-ed25519")
        raw_sig, ioff = _take(inner, ioff)
        if ioff != len(inner) or len(raw_sig) != 64:
            raise SshsigError("malformed ssh-ed25519 signature")
        key = _cached_key(key_blob)
        return cls(
            key,
            namespace.decode("utf-8", errors="replace"),
            hash_algorithm.decode("ascii", errors="replace"),
            raw_sig,
        )

    @classmethod
    def parse(cls, armored: str) -> SshSignature:
        """Decode an armored ``-----BEGIN SSH SIGNATURE-----`` block.

        Raises:
            SshsigError: if the armor or the blob is malformed.
        """
        text = armored.strip()
        if not text.startswith(_BEGIN) or not text.endswith(_END):
            raise SshsigError("not an armored SSH signature")
        body = "".join(text[len(_BEGIN) : -len(_END)].split())
        try:
            blob = binascii.a2b_base64(body, strict_mode=True)
        except binascii.Error:
            raise SshsigError("SSH signature is not valid base64") from None
        return cls.from_blob(blob)

    def blob(self) -> bytes:
        """Encode as the binary SSHSIG blob."""
        inner = _ssh_string(KEY_TYPE.encode()) + _ssh_string(self.signature)
        return (
            _MAGIC
            + struct.pack(">I", _SIG_VERSION)
            + _ssh_string(self.public_key.blob)
            + _ssh_string(self.namespace.encode())
            + _ssh_string(b"")
            + _ssh_string(self.hash_algorithm.encode())
            + _ssh_string(inner)
        )

    def armored(self) -> str:
        """Encode in the armored form ``ssh-keygen -Y sign`` writes (with a final newline)."""
        b64 = base64.b64encode(self.blob()).decode()
        lines = [b64[i : i + _WRAP] for i in range(0, len(b64), _WRAP)]
        return "\n".join([_BEGIN, *lines, _END]) + "\n"


def _signed_data(namespace: str, hash_algorithm: str, data: bytes) -> bytes:
    digest = _HASHES[hash_algorithm](data).digest()
    return _signed_prefix(namespace, hash_algorithm, len(digest)) + digest


@functools.lru_cache(maxsize=64)
def _signed_prefix(namespace: str, hash_algorithm: str, digest_size: int) -> bytes:
    # Everything PROTOCOL.sshsig signs before the digest; the same for every entry of a log.
    return (
        _MAGIC
        + _ssh_string(namespace.encode())
        + _ssh_string(b"")
        + _ssh_string(hash_algorithm.encode())
        + _UINT32.pack(digest_size)
    )


def sign(key: SigningKey, data: bytes, namespace: str) -> str:
    """Sign ``data`` in ``namespace`` with sha512; return the armored signature.

    Raises:
        SshsigError: if the namespace is empty (PROTOCOL.sshsig forbids it).
    """
    if not namespace:
        raise SshsigError("SSHSIG namespace must not be empty")
    raw_sig = key.raw_sign(_signed_data(namespace, "sha512", data))
    return SshSignature(key.public, namespace, "sha512", raw_sig).armored()


def verify(armored: str | SshSignature, data: bytes, namespace: str) -> SshPublicKey:
    """Check an SSHSIG signature over ``data`` in ``namespace``.

    Args:
        armored: The armored text, or an already parsed signature.
        data: The exact signed bytes.
        namespace: The namespace the signature must carry.

    Returns:
        The signer's public key (from the signature). Whether that key may sign is the caller's
        question (roster, revocation).

    Raises:
        SshsigError: malformed signature, wrong namespace, unsupported hash or bad signature.
    """
    sig = armored if isinstance(armored, SshSignature) else SshSignature.parse(armored)
    if sig.namespace != namespace:
        raise SshsigError(f"signature namespace is {sig.namespace!r}, expected {namespace!r}")
    if sig.hash_algorithm not in _HASHES:
        raise SshsigError(f"unsupported hash algorithm {sig.hash_algorithm!r}")
    try:
        sig.public_key.crypto().verify(
            sig.signature, _signed_data(namespace, sig.hash_algorithm, data)
        )
    except InvalidSignature:
        raise SshsigError("signature does not match the data") from None
    except ValueError as exc:  # cryptography rejects some invalid points on load
        raise SshsigError(f"invalid public key: {exc}") from None
    return sig.public_key
