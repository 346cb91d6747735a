"""The roster: who may sign, who they are, and which keys are revoked.

Files: ``roster/allowed_signers``, ``roster/people.toml``, ``roster/revoked``.

Public API:
    ROLES: ("model", "agent", "brand").
    RosterError: unreadable/invalid roster input, with a one-line message.
    AllowedSigner: one allowed_signers line (principal patterns, options, key).
    parse_allowed_signers(text) -> (list[AllowedSigner], list[str] problems)
    format_allowed_signer(principal, key) -> str: a line with ``namespaces="twinreview-*"``.
    Person: principal, display_name, role, models.
    parse_people(text) -> (dict[str, Person], list[str] problems); format_people(people) -> str.
    Revocations: ``is_revoked(key)``; parse_revoked(data: bytes) -> Revocations (KRL or key list).
    Roster: the three together; ``Roster.load(roster_dir)``,
        ``signer_allowed(principal, key, namespace)``, ``person(principal)``, ``is_revoked(key)``,
        ``may_decide(principal, model_id)``, ``problems`` (anything that could not be read;
        verification treats these as failures).

File formats:
    people.toml::

        [people."ana@example.com"]
        name = "Ana Example"
        role = "model"           # model | agent | brand
        models = ["ana"]         # the model ids this person may decide for

    revoked: either an OpenSSH KRL (``ssh-keygen -k``) or text, one item per line: an OpenSSH
    public key (``ssh-ed25519 AAAA... [comment]``) or a fingerprint (``SHA256:...``); ``#``
    comments. Of a KRL, the explicit-key, SHA1- and SHA256-fingerprint sections are honoured;
    certificate sections are read past (twinreview keys are never certificates), the KRL's own
    signature section is not checked (trust in roster/ comes from where the workspace came from).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from twinreview.core.errors import TwinreviewError
from twinreview.core.logs.sshsig import SshPublicKey, SshsigError, WireReader

ROLES: tuple[str, ...] = ("model", "agent", "brand")
NAMESPACES_OPTION = "twinreview-*"
ALLOWED_SIGNERS = "allowed_signers"
PEOPLE = "people.toml"
REVOKED = "revoked"

_KRL_MAGIC = b"SSHKRL\n\0"
_KRL_CERTIFICATES = 1
_KRL_EXPLICIT_KEY = 2
_KRL_FINGERPRINT_SHA1 = 3
_KRL_SIGNATURE = 4
_KRL_FINGERPRINT_SHA256 = 5
_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-dss",
    }
)


class RosterError(TwinreviewError, ValueError):
    """Roster input that cannot be used; the message is one line for the user."""


def match_pattern(name: str, pattern: str) -> bool:
    """OpenSSH ``match_pattern``: ``*`` and ``?`` wildcards, everything else literal."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, name, flags=re.DOTALL) is not None


def match_pattern_list(name: str, patterns: str) -> bool:
    """OpenSSH ``match_pattern_list``: comma list, ``!`` negates and wins, else any match."""
    matched = False
    for pat in patterns.split(","):
        pat = pat.strip()
        if pat.startswith("!"):
            if match_pattern(name, pat[1:]):
                return False
        elif pat and match_pattern(name, pat):
            matched = True
    return matched


@dataclass(frozen=True)
class AllowedSigner:
    """One line of an OpenSSH allowed_signers file.

    Attributes:
        principals: The principal pattern list as written (comma separated, may hold wildcards).
        options: Options such as ``namespaces``, ``valid-after``; flag options map to None.
        key: The public key (ssh-ed25519 only; other key types are reported as problems).
        comment: Anything after the key.
        line: 1-based line number in the file.
    """

    principals: str
    options: Mapping[str, str | None]
    key: SshPublicKey
    comment: str = ""
    line: int = 0

    def matches(self, principal: str, namespace: str) -> bool:
        """True if this line lets ``principal`` sign in ``namespace``."""
        if "cert-authority" in self.options:
            return False  # a CA line authorises certificates, which twinreview never uses
        if not match_pattern_list(principal, self.principals):
            return False
        namespaces = self.options.get("namespaces")
        return namespaces is None or match_pattern_list(namespace, namespaces)


def _split_fields(line: str) -> list[str]:
    """Split on whitespace outside double quotes (OpenSSH allowed_signers tokenisation)."""
    fields: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch.isspace() and not quoted:
            if cur:
                fields.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if quoted:
        raise RosterError("unbalanced quotes")
    if cur:
        fields.append("".join(cur))
    return fields


def _parse_options(text: str) -> dict[str, str | None]:
    options: dict[str, str | None] = {}
    for item in re.findall(r'(?:[^,"]|"[^"]*")+', text):
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep:
            options[name] = None
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        options[name] = value
    return options


def parse_allowed_signers(text: str) -> tuple[list[AllowedSigner], list[str]]:
    """Parse an allowed_signers file.

    Returns:
        The ssh-ed25519 lines, and one message per line that could not be parsed. Lines with
        other valid OpenSSH key types are skipped silently: twinreview only signs with Ed25519,
        and an allowed_signers file may be shared with other uses (git commit signing).
    """
    signers: list[AllowedSigner] = []
    problems: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            fields = _split_fields(line)
            if len(fields) < 3:
                raise RosterError("expected 'principals [options] key-type base64'")
            principals = fields[0].strip('"')
            rest = fields[1:]
            options: dict[str, str | None] = {}
            if rest[0] not in _KEY_TYPES:
                options = _parse_options(rest[0])
                rest = rest[1:]
            if len(rest) < 2:
                raise RosterError("missing key")
            if rest[0] in _KEY_TYPES and rest[0] != "ssh-ed25519":
                continue  # e.g. a git signing key: valid OpenSSH, never a twinreview signer
            limited = sorted(set(options) & {"valid-after", "valid-before"})
            if limited:
                # Stock ssh-keygen enforces these against the signature's time; twinreview
                # judges keys by the signed roster's revocations instead. Refusing the line keeps
                # the two from ever disagreeing about whether an entry verifies.
                raise RosterError(
                    f"{' and '.join(limited)} are not supported (time-limited keys are revoked "
                    "on the signed roster instead); remove the option"
                )
            key = SshPublicKey.parse(f"{rest[0]} {rest[1]}")
            signers.append(AllowedSigner(principals, options, key, " ".join(rest[2:]), lineno))
        except (RosterError, SshsigError) as exc:
            problems.append(f"allowed_signers line {lineno}: {exc}")
    return signers, problems


def format_allowed_signer(principal: str, key: SshPublicKey) -> str:
    """One allowed_signers line restricted to the twinreview namespaces (no newline)."""
    if not principal or any(ch.isspace() or ch in ',"' for ch in principal):
        raise RosterError(f"principal {principal!r} must not contain spaces, commas or quotes")
    return f'{principal} namespaces="{NAMESPACES_OPTION}" {key.openssh()}'


@dataclass(frozen=True)
class Person:
    """A reviewer as described in people.toml.

    Attributes:
        principal: The identity in allowed_signers (usually an email address).
        display_name: Name shown in the app and reports.
        role: ``model``, ``agent`` or ``brand``.
        models: Model ids this person may decide for (empty: none).
    """

    principal: str
    display_name: str
    role: str
    models: tuple[str, ...] = ()


def parse_people(text: str) -> tuple[dict[str, Person], list[str]]:
    """Parse people.toml; returns the people by principal and messages for unusable entries."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"people.toml: {exc}"]
    people: dict[str, Person] = {}
    problems: list[str] = []
    table = data.get("people", {})
    if not isinstance(table, dict):
        return {}, ["people.toml: [people] must be a table"]
    for principal, entry in table.items():
        if not isinstance(entry, dict):
            problems.append(f"people.toml: people.{principal!r} must be a table")
            continue
        role = entry.get("role")
        if role not in ROLES:
            problems.append(
                f"people.toml: {principal}: role must be one of {', '.join(ROLES)}, not {role!r}"
            )
            continue
        name = entry.get("name", principal)
        models = entry.get("models", [])
        if (
            not isinstance(name, str)
            or not isinstance(models, list)
            or not all(isinstance(m, str) for m in models)
        ):
            problems.append(f"people.toml: {principal}: name must be text, models a list of ids")
            continue
        people[principal] = Person(principal, name, role, tuple(models))
    return people, problems


def _toml_str(value: str) -> str:
    # JSON string escapes (\" \\ \n \uXXXX) are a subset of TOML basic-string escapes.
    import json

    return json.dumps(value, ensure_ascii=False)


def format_people(people: Iterable[Person], *, header: bool = True) -> str:
    """Serialise people to people.toml text (stable order: as given)."""
    chunks = (
        ["# twinreview roster: principal -> display name, role (model|agent|brand), model ids.\n"]
        if header
        else []
    )
    for p in people:
        models = ", ".join(_toml_str(m) for m in p.models)
        chunks.append(
            f"\n[people.{_toml_str(p.principal)}]\n"
            f"name = {_toml_str(p.display_name)}\n"
            f"role = {_toml_str(p.role)}\n"
            f"models = [{models}]\n"
        )
    return "".join(chunks)


@dataclass(frozen=True)
class Revocations:
    """Revoked keys, by raw key bytes and by fingerprints."""

    keys: frozenset[bytes] = frozenset()
    sha256: frozenset[bytes] = frozenset()
    sha1: frozenset[bytes] = frozenset()

    def is_revoked(self, key: SshPublicKey) -> bool:
        """True if ``key`` is listed by key, SHA256 or SHA1 fingerprint."""
        return (
            key.raw in self.keys
            or hashlib.sha256(key.blob).digest() in self.sha256
            or hashlib.sha1(key.blob, usedforsecurity=False).digest() in self.sha1
        )

    def __len__(self) -> int:
        return len(self.keys) + len(self.sha256) + len(self.sha1)


def _parse_krl(data: bytes) -> Revocations:
    reader = WireReader(data)
    reader.raw(len(_KRL_MAGIC))
    if reader.uint32() != 1:
        raise RosterError("revoked: unsupported KRL format version")
    reader.uint64()  # krl_version
    reader.uint64()  # generated_date
    reader.uint64()  # flags
    reader.string()  # reserved
    reader.string()  # comment
    keys: set[bytes] = set()
    sha256: set[bytes] = set()
    sha1: set[bytes] = set()
    while not reader.done:
        section = reader.byte()
        body = WireReader(reader.string())
        if section == _KRL_EXPLICIT_KEY:
            while not body.done:
                blob = body.string()
                # Other key types cannot match an Ed25519 twinreview key: skip them.
                with contextlib.suppress(SshsigError):
                    keys.add(SshPublicKey.from_blob(blob).raw)
        elif section in (_KRL_FINGERPRINT_SHA1, _KRL_FINGERPRINT_SHA256):
            target = sha1 if section == _KRL_FINGERPRINT_SHA1 else sha256
            while not body.done:
                target.add(body.string())
        elif section in (_KRL_CERTIFICATES, _KRL_SIGNATURE):
            continue
        else:
            raise RosterError(f"revoked: unknown KRL section type {section}")
    return Revocations(frozenset(keys), frozenset(sha256), frozenset(sha1))


def parse_revoked(data: bytes) -> Revocations:
    """Parse ``roster/revoked``: an OpenSSH KRL or a text list of keys/fingerprints.

    Raises:
        RosterError: if the file cannot be read as either.
    """
    if data.startswith(_KRL_MAGIC):
        try:
            return _parse_krl(data)
        except SshsigError as exc:
            raise RosterError(f"revoked: malformed KRL ({exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RosterError("revoked: neither an OpenSSH KRL nor a text key list") from None
    keys: set[bytes] = set()
    sha256: set[bytes] = set()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("SHA256:"):
            body = line.split()[0].removeprefix("SHA256:")
            try:
                digest = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
            except ValueError:
                digest = b""
            if len(digest) != 32:
                raise RosterError(f"revoked line {lineno}: bad SHA256 fingerprint")
            sha256.add(digest)
            continue
        fields = line.split()
        if len(fields) >= 2 and fields[0] in _KEY_TYPES and fields[0] != "ssh-ed25519":
            continue  # another key type: cannot match an Ed25519 twinreview key
        try:
            keys.add(SshPublicKey.parse(line).raw)
        except SshsigError as exc:
            raise RosterError(f"revoked line {lineno}: {exc}") from None
    return Revocations(frozenset(keys), frozenset(sha256))


@dataclass
class Roster:
    """The workspace roster as read from ``roster/``.

    Attributes:
        signers: allowed_signers lines.
        people: people.toml entries by principal.
        revoked: revoked keys.
        problems: messages for anything that could not be read. Verification treats a non-empty
            list as a failure (an unreadable revocation list must not pass silently).
    """

    signers: list[AllowedSigner] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)
    revoked: Revocations = field(default_factory=Revocations)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, roster_dir: Path) -> Roster:
        """Read ``roster_dir`` (missing files are an empty roster, never an exception)."""
        roster = cls()
        text = _read_text(roster_dir / ALLOWED_SIGNERS, roster.problems)
        if text is not None:
            roster.signers, problems = parse_allowed_signers(text)
            roster.problems += problems
        text = _read_text(roster_dir / PEOPLE, roster.problems)
        if text is not None:
            roster.people, problems = parse_people(text)
            roster.problems += problems
        revoked_path = roster_dir / REVOKED
        if revoked_path.exists():
            try:
                roster.revoked = parse_revoked(revoked_path.read_bytes())
            except OSError as exc:
                roster.problems.append(f"revoked: cannot read ({exc.strerror})")
            except RosterError as exc:
                roster.problems.append(str(exc))
        return roster

    def signer_allowed(self, principal: str, key: SshPublicKey, namespace: str) -> bool:
        """True if an allowed_signers line lets ``principal`` sign with ``key`` in ``namespace``."""
        return any(s.key == key and s.matches(principal, namespace) for s in self.signers)

    def person(self, principal: str) -> Person | None:
        """The people.toml entry for ``principal``, if any."""
        return self.people.get(principal)

    def is_revoked(self, key: SshPublicKey) -> bool:
        """True if ``key`` is in roster/revoked."""
        return self.revoked.is_revoked(key)

    def may_decide(self, principal: str, model_id: str) -> bool:
        """True if people.toml lists ``model_id`` for ``principal``."""
        person = self.people.get(principal)
        return person is not None and model_id in person.models


def _read_text(path: Path, problems: list[str]) -> str | None:
    if not path.exists():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: cannot read ({exc})")
        return None
