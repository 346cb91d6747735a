"""Reviewer keys: the Ed25519 seed lives only in the OS keyring; the public identity in a file.

Public API:
    Identity: principal, display_name, role, public_key (SshPublicKey);
        ``allowed_signers_line()``.
    KeysError: no identity, missing seed, identity already exists (one-line message).
    KeyringRefused(KeysError): the keyring backend is not a real OS store; says how to fix it.
    check_backend(backend) -> KeyringBackend: the allow-listed backend to use (a chainer is
        unwrapped to its best real member), or raises KeyringRefused.
    KeyStore(backend, *, allow_untrusted_backend=False): seeds in a keyring backend.
        ``KeyStore.from_system()`` uses ``keyring.get_keyring()`` (never ``set_keyring``).
        Tests pass an in-memory backend with ``allow_untrusted_backend=True``.
    IdentityStore(config_dir): ``identity.toml`` (public part only);
        ``IdentityStore.default()`` uses the user config folder (``services.paths``).
    KeyService(keystore, identities): ``init(principal, name, role) -> Identity``,
        ``current() -> Identity | None``, ``signer() -> tuple[Identity, SigningKey]``.

Allowed backends: macOS Keychain, Windows Credential Locker (WinVaultKeyring), Secret Service
(SecretStorage or libsecret: gnome-keyring, KeePassXC, ...), KWallet. Everything else is refused:
the null and fail backends, and notably every ``keyrings.alt`` backend, which ``keyring`` picks
silently when installed and which stores secrets in plain or weakly obfuscated files.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from keyring.backend import KeyringBackend

from twinreview.core.errors import TwinreviewError, one_line
from twinreview.core.logs.sshsig import SigningKey, SshPublicKey, SshsigError
from twinreview.core.roster.people import ROLES, format_allowed_signer
from twinreview.services import paths

_log = logging.getLogger(__name__)

KEYRING_SERVICE = "twinreview"
IDENTITY_FILE = "identity.toml"
ALLOWED_BACKENDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("keyring.backends.macOS", "Keyring"),
        ("keyring.backends.Windows", "WinVaultKeyring"),
        ("keyring.backends.SecretService", "Keyring"),
        ("keyring.backends.libsecret", "Keyring"),
        ("keyring.backends.kwallet", "DBusKeyring"),
        ("keyring.backends.kwallet", "DBusKeyringKWallet4"),
    }
)
_CHAINER = ("keyring.backends.chainer", "ChainerBackend")


class KeysError(TwinreviewError):
    """A key or identity operation failed; the message is one line for the user."""


class KeyringRefused(KeysError):
    """The keyring backend would not keep the seed safe."""


def _backend_id(backend: KeyringBackend) -> tuple[str, str]:
    cls = type(backend)
    return cls.__module__, cls.__qualname__


def _fix_hint() -> str:
    platform: str = sys.platform  # a plain str, so mypy does not prune the other branches
    chosen = os.environ.get("PYTHON_KEYRING_BACKEND", "").strip()

    def choose(backend: str) -> str:
        # Advising the setting the user already has would send them round in circles.
        return "" if chosen == backend else f"set PYTHON_KEYRING_BACKEND={backend}"

    if platform.startswith("linux"):
        hint = (
            "install and unlock a Secret Service (e.g. gnome-keyring, KeePassXC or KWallet) and "
            "log in to a desktop session"
        )
        choice = choose("keyring.backends.SecretService.Keyring")
        return f"{hint}, or {choice}" if choice else hint
    if platform == "darwin":
        return choose("keyring.backends.macOS.Keyring") or "unlock the login keychain"
    if platform == "win32":
        return (
            choose("keyring.backends.Windows.WinVaultKeyring")
            or "check that Windows Credential Manager is available to this user"
        )
    return "configure keyring to use the operating system's credential store"


def check_backend(backend: KeyringBackend) -> KeyringBackend:
    """Return the backend to store seeds in, or refuse.

    A ``ChainerBackend`` is unwrapped to its highest-priority allow-listed member, which is then
    used directly so that a plaintext member of the chain can never receive the seed.

    Raises:
        KeyringRefused: no allow-listed backend; the message names the backend and the fix.
    """
    ident = _backend_id(backend)
    if ident == _CHAINER:
        members: list[KeyringBackend] = list(getattr(backend, "backends", []))
        for member in members:
            if _backend_id(member) in ALLOWED_BACKENDS:
                return member
        names = ", ".join(".".join(_backend_id(m)) for m in members) or "none"
        raise KeyringRefused(
            f"no secure keyring available (the keyring chain holds only: {names}); {_fix_hint()}"
        )
    if ident in ALLOWED_BACKENDS:
        return backend
    name = ".".join(ident)
    if ident[0].startswith("keyrings.alt"):
        why = "stores secrets in a file without real protection (keyrings.alt)"
        fix = f"uninstall keyrings.alt or {_fix_hint()}"
    elif ident[0] in ("keyring.backends.null", "keyring.backends.fail"):
        why = "cannot store anything"
        fix = _fix_hint()
    else:
        why = "is not an operating-system credential store twinreview trusts"
        fix = _fix_hint()
    raise KeyringRefused(f"refusing keyring backend {name}: it {why}; {fix}")


@dataclass(frozen=True)
class Identity:
    """The public half of a reviewer's identity on this device.

    Attributes:
        principal: Usually an email address; names the key in allowed_signers.
        display_name: Shown in the app and in reports.
        role: model | agent | brand.
        public_key: The device key.
    """

    principal: str
    display_name: str
    role: str
    public_key: SshPublicKey

    def allowed_signers_line(self) -> str:
        """The line to add to ``roster/allowed_signers``."""
        return format_allowed_signer(self.principal, self.public_key)


class KeyStore:
    """Ed25519 seeds in a keyring backend, by key fingerprint."""

    def __init__(self, backend: KeyringBackend, *, allow_untrusted_backend: bool = False) -> None:
        """Use ``backend``.

        Args:
            backend: A keyring backend instance.
            allow_untrusted_backend: Skip the allow-list (tests with an in-memory backend only).

        Raises:
            KeyringRefused: the backend is not allow-listed.
        """
        self.backend = backend if allow_untrusted_backend else check_backend(backend)

    @classmethod
    def from_system(cls) -> KeyStore:
        """The keyring the user's configuration selects, if it is allow-listed.

        Raises:
            KeyringRefused: see :func:`check_backend`.
        """
        import keyring

        try:
            backend = keyring.get_keyring()
        except Exception as exc:  # noqa: BLE001 (backends raise anything: RuntimeError, D-Bus errors)
            _log.warning("no usable keyring", exc_info=exc)  # the user gets one line
            raise KeysError(
                f"the system keyring cannot be used ({one_line(exc)}); {_fix_hint()}"
            ) from None
        return cls(backend)

    @property
    def backend_name(self) -> str:
        """``module.Class`` of the backend in use."""
        return ".".join(_backend_id(self.backend))

    # -- secrets: the one place that talks to the keyring backend ------------------------------

    def put_secret(self, name: str, text: str, what: str) -> None:
        """Store ``text`` under ``name`` and read it back to be sure it was kept.

        Args:
            name: The keyring user name (``<kind> <fingerprint>``).
            text: The secret, as text.
            what: What it is, for messages ("the key").

        Raises:
            KeysError: the keyring refused (locked, no daemon, ...) or did not keep it.
        """
        try:
            self.backend.set_password(KEYRING_SERVICE, name, text)
            kept = self.backend.get_password(KEYRING_SERVICE, name)
        except Exception as exc:  # noqa: BLE001 (any backend failure is the keyring's, not ours)
            _log.warning("the keyring refused to store %s", what, exc_info=exc)
            raise KeysError(
                f"the keyring refused to store {what} ({one_line(exc)}); {_fix_hint()}"
            ) from None
        if kept != text:
            raise KeysError(f"the keyring did not keep {what} (stored and read back differ)")

    def get_secret(self, name: str, what: str) -> str | None:
        """The secret stored under ``name``, or None when the keyring has none.

        Raises:
            KeysError: the keyring could not be read.
        """
        try:
            return self.backend.get_password(KEYRING_SERVICE, name)
        except Exception as exc:  # noqa: BLE001 (any backend failure is the keyring's, not ours)
            _log.warning("cannot read %s from the keyring", what, exc_info=exc)
            raise KeysError(
                f"cannot read {what} from the keyring ({one_line(exc)}); {_fix_hint()}"
            ) from None

    def delete_secret(self, name: str) -> None:
        """Remove a secret (nothing happens when it is not there)."""
        with contextlib.suppress(Exception):
            self.backend.delete_password(KEYRING_SERVICE, name)

    # -- reviewer seeds ----------------------------------------------------------------------

    @staticmethod
    def _username(fingerprint: str) -> str:
        return f"ed25519-seed {fingerprint}"

    def store_seed(self, fingerprint: str, seed: bytes) -> None:
        """Store a 32-byte seed under the key's fingerprint.

        Raises:
            KeysError: the keyring refused or did not keep it.
        """
        self.put_secret(self._username(fingerprint), base64.b64encode(seed).decode(), "the key")

    def load_seed(self, fingerprint: str) -> bytes | None:
        """The seed for ``fingerprint``, or None if the keyring has none.

        Raises:
            KeysError: the keyring could not be read or holds something that is not a seed.
        """
        text = self.get_secret(self._username(fingerprint), "the key")
        if text is None:
            return None
        try:
            seed = base64.b64decode(text, validate=True)
        except binascii.Error:
            seed = b""
        if len(seed) != 32:
            raise KeysError("the keyring entry for this key is not an Ed25519 seed")
        return seed

    def delete_seed(self, fingerprint: str) -> None:
        """Remove the seed (used when an init is rolled back)."""
        self.delete_secret(self._username(fingerprint))


class IdentityStore:
    """``identity.toml`` in a config directory: principal, name, role and public key."""

    def __init__(self, config_dir: Path) -> None:
        """Keep the record in ``config_dir/identity.toml``."""
        self.path = config_dir / IDENTITY_FILE

    @classmethod
    def default(cls) -> IdentityStore:
        """The user config folder (:func:`twinreview.services.paths.config_dir`)."""
        return cls(paths.config_dir())

    def load(self) -> Identity | None:
        """The stored identity, or None if there is none.

        Raises:
            KeysError: the file exists but cannot be read.
        """
        if not self.path.exists():
            return None
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
            return Identity(
                str(data["principal"]),
                str(data["name"]),
                str(data["role"]),
                SshPublicKey.parse(str(data["public_key"])),
            )
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, SshsigError) as exc:
            raise KeysError(f"cannot read {self.path}: {exc}") from None

    def save(self, identity: Identity) -> None:
        """Write the record (atomically: temp file then rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = (
            "# twinreview identity on this device (public part only; the private key is in the\n"
            "# operating system's keyring).\n"
            f"principal = {json.dumps(identity.principal, ensure_ascii=False)}\n"
            f"name = {json.dumps(identity.display_name, ensure_ascii=False)}\n"
            f"role = {json.dumps(identity.role)}\n"
            f"public_key = {json.dumps(identity.public_key.openssh())}\n"
        )
        tmp = self.path.with_name(IDENTITY_FILE + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)


class KeyService:
    """Creates and loads this device's reviewer identity."""

    def __init__(self, keystore: KeyStore, identities: IdentityStore) -> None:
        """Use ``keystore`` for the seed and ``identities`` for the public record."""
        self.keystore = keystore
        self.identities = identities

    def current(self) -> Identity | None:
        """The identity on this device, if any."""
        return self.identities.load()

    def init(self, principal: str, display_name: str, role: str) -> Identity:
        """Create a key: seed into the keyring (read back to be sure), then the public record.

        Raises:
            KeysError: bad role/principal, an identity already exists, or the keyring failed.
        """
        if role not in ROLES:
            raise KeysError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not principal or any(ch.isspace() or ch in ',"' for ch in principal):
            raise KeysError(f"principal {principal!r} must not contain spaces, commas or quotes")
        existing = self.identities.load()
        if existing is not None:
            raise KeysError(
                f"this device already has an identity ({existing.principal}, "
                f"{existing.public_key.fingerprint}); see 'twinreview keys show'"
            )
        key = SigningKey.generate()
        fingerprint = key.public.fingerprint
        try:
            self.keystore.store_seed(fingerprint, key.seed)
        except KeysError:
            self.keystore.delete_seed(fingerprint)
            raise
        identity = Identity(principal, display_name or principal, role, key.public)
        self.identities.save(identity)
        return identity

    def signer(self) -> tuple[Identity, SigningKey]:
        """The identity and its signing key (seed from the keyring).

        Raises:
            KeysError: no identity, or the keyring no longer holds its seed.
        """
        identity = self.identities.load()
        if identity is None:
            raise KeysError(
                "no reviewer key on this device; create one with "
                "'twinreview keys init --principal EMAIL --name NAME --role ROLE'"
            )
        seed = self.keystore.load_seed(identity.public_key.fingerprint)
        if seed is None:
            raise KeysError(
                f"the keyring ({self.keystore.backend_name}) has no private key for "
                f"{identity.public_key.fingerprint}"
            )
        key = SigningKey.from_seed(seed)
        if key.public != identity.public_key:
            raise KeysError("the key in the keyring does not match identity.toml")
        return identity, key
