"""A reviewer's public key as people hand it over: the identity line, or a bare key.

The app's identity dialog copies the reviewer's allowed_signers line
(``sam@agency.example namespaces="twinreview-*" ssh-ed25519 AAAA...``); ``twinreview keys show``
prints the same line. An owner pastes it into ``roster add --key`` or the app's "Add person"
screen; both read it with :func:`parse_key_line`. A bare ``ssh-ed25519 AAAA... [comment]`` key
(an OpenSSH ``.pub`` file) is accepted too; it names nobody, so the principal is then given
separately.

Public API:
    KeyLine: the key and the principal the line names (None for a bare key).
    parse_key_line(text) -> KeyLine
    principal_for(line, given) -> str: whose key it is, from the line and/or the name given.
    KeyLineError: one line for the user, naming no command or option.
"""

from __future__ import annotations

from dataclasses import dataclass

from twinreview.core.errors import TwinreviewError
from twinreview.core.logs.sshsig import KEY_TYPE, SshPublicKey, SshsigError
from twinreview.core.roster.people import parse_allowed_signers

_EXPECTED = (
    "expected a reviewer's key line: their e-mail address, then ssh-ed25519 and the key "
    "(or only ssh-ed25519 and the key)"
)
_OTHER_KEY_PREFIXES = ("ssh-", "ecdsa-", "sk-")


class KeyLineError(TwinreviewError, ValueError):
    """The text is not one person's Ed25519 public key; the message is one line."""


@dataclass(frozen=True)
class KeyLine:
    """A public key as handed over.

    Attributes:
        key: The Ed25519 public key.
        principal: The principal the line names (None for a bare key).
    """

    key: SshPublicKey
    principal: str | None = None


def parse_key_line(text: str) -> KeyLine:
    """Read one public key from pasted text.

    Accepts the identity's allowed_signers line (principal, options, key, comment) or a bare
    ``ssh-ed25519`` key; white space around it and blank lines are ignored.

    Raises:
        KeyLineError: nothing, several keys, another key type, a certificate authority line, a
            pattern or list of principals (a key belongs to one person), or a malformed key.
    """
    lines = [x.strip() for x in text.splitlines() if x.strip() and not x.strip().startswith("#")]
    if not lines:
        raise KeyLineError(f"no key given: {_EXPECTED}")
    if len(lines) > 1:
        raise KeyLineError("give one key line, not several: one key belongs to one person")
    line = lines[0]
    first = line.split()[0]
    if first.startswith(_OTHER_KEY_PREFIXES):
        if first != KEY_TYPE:
            raise KeyLineError(f"a {first} key: only ssh-ed25519 keys can sign here")
        try:
            return KeyLine(SshPublicKey.parse(line))
        except SshsigError:
            raise KeyLineError(f"not a key: {_EXPECTED}") from None
    signers, problems = parse_allowed_signers(line)
    if problems or not signers:
        fields = line.split()
        other = [f for f in fields[1:] if f.startswith(_OTHER_KEY_PREFIXES) and f != KEY_TYPE]
        if not problems and other:
            raise KeyLineError(f"a {other[0]} key: only ssh-ed25519 keys can sign here")
        raise KeyLineError(f"not a key: {_EXPECTED}")
    signer = signers[0]
    if "cert-authority" in signer.options:
        raise KeyLineError("a certificate authority line, not a person's key")
    principal = signer.principals
    if not principal or any(ch in principal for ch in ",*?!"):
        raise KeyLineError(
            f"the line names {principal!r}: a key belongs to one person, give one e-mail address"
        )
    return KeyLine(signer.key, principal)


def principal_for(line: KeyLine, given: str | None) -> str:
    """The principal the key is added for: ``given``, checked against the line's own.

    Raises:
        KeyLineError: a bare key and no principal, or a line naming someone else.
    """
    if given is None:
        if line.principal is None:
            raise KeyLineError("a bare key names nobody: give the person's e-mail address too")
        return line.principal
    if line.principal is not None and line.principal != given:
        raise KeyLineError(
            f"this is the key line of {line.principal}, not of {given}: check whose key you "
            "were given"
        )
    return given
