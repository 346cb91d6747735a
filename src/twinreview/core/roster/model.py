"""The signed roster's vocabulary: its entry kinds and the roster state they build.

See :mod:`twinreview.core.roster.log` for the log format and the rules; this module only holds the
data: who is on the roster (:class:`RosterPerson`), each model's :class:`Consent`, the signed
workspace policy, revocations and removals with their effective points, and the
:class:`RosterState` after each entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twinreview.core.errors import TwinreviewError
from twinreview.core.logs.sshsig import SshPublicKey
from twinreview.core.roster.people import (
    Person,
)

ROSTER_DIR = "roster"
ROSTER_LOG = "roster.dlog"
REQUESTS_DIR = "requests"
REQUEST_SUFFIX = ".req"
ROSTER_LOG_ID = "roster"
KINDS: tuple[str, ...] = (
    "genesis",
    "add_person",
    "update_person",
    "add_key",
    "revoke_key",
    "remove_person",
    "policy",
    "consent",
    "accept_head",
)
ADMIN_KINDS = frozenset(
    {
        "add_person",
        "update_person",
        "add_key",
        "revoke_key",
        "remove_person",
        "policy",
    }
)
POLICY_TABLES: tuple[str, ...] = ("disclosure", "similarity")
JOIN_KIND = "join_request"


class RosterLogError(TwinreviewError, ValueError):
    """A roster change was refused or cannot be written; one line for the user."""


@dataclass(frozen=True)
class RosterPerson:
    """A person on the signed roster.

    Attributes:
        principal: Identity (usually an email address).
        display_name: Name shown in the app and reports.
        role: model | agent | brand.
        models: Model ids this person may decide for.
        admin: May change the roster (the owner is always admin).
        keys: Active keys by fingerprint.
    """

    principal: str
    display_name: str
    role: str
    models: tuple[str, ...] = ()
    admin: bool = False
    keys: Mapping[str, SshPublicKey] = field(default_factory=dict)

    def as_person(self) -> Person:
        """The plain :class:`~twinreview.core.roster.people.Person` view."""
        return Person(self.principal, self.display_name, self.role, self.models)


@dataclass(frozen=True)
class Consent:
    """A model's own signed consent.

    Attributes:
        model_id: The model it is about.
        principal: The model person who signed it.
        uses: Allowed uses (lower case), or None for any.
        expires: ``YYYY-MM-DD`` (consent holds through that day, UTC) or None.
        require: Roles that must approve.
        veto: A reject by the model always stands.
        withdrawn: Consent withdrawn: nothing of this model can be cleared.
        seq: The roster entry that set it.
        ts: Its time, as signed.
        purpose: What it is for, in her words (None: not recorded).
        pay_terms: Her reference to the pay terms (a contract number...), or None.
        exclude: Content she excludes (lower case), matched against an asset's categories.
        no_expiry: She chose explicitly that it has no end date.
        entry_hash: sha256 of the roster line that set it (a published file names it).
    """

    model_id: str
    principal: str
    uses: tuple[str, ...] | None
    expires: str | None
    require: tuple[str, ...]
    veto: bool
    withdrawn: bool
    seq: int
    ts: str
    purpose: str | None = None
    pay_terms: str | None = None
    exclude: tuple[str, ...] = ()
    no_expiry: bool = False
    entry_hash: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``roster show --json`` and reports."""
        return {
            "model": self.model_id,
            "signed_by": self.principal,
            "uses": list(self.uses) if self.uses is not None else None,
            "expires": self.expires,
            "require": list(self.require),
            "veto": self.veto,
            "withdrawn": self.withdrawn,
            "roster_seq": self.seq,
            "ts": self.ts,
            "purpose": self.purpose,
            "pay_terms": self.pay_terms,
            "exclude": list(self.exclude),
            "no_expiry": self.no_expiry,
            "entry_hash": self.entry_hash,
        }


@dataclass(frozen=True)
class Revocation:
    """A key revoked at roster ``seq``; entries of its logs past ``after`` do not count.

    ``head_only``: the revoking entry named no ``after`` (an owner's reset of a model's key
    signed without it); then only entries signed under a roster from ``seq`` on do not count.
    """

    fingerprint: str
    principal: str
    seq: int
    after: Mapping[str, int]
    head_only: bool = False
    #: Who signed the revocation (its ``after`` is their word, not hers).
    by: str = ""


@dataclass(frozen=True)
class Removal:
    """A person removed at roster ``seq``; entries of their logs past ``after`` do not count."""

    principal: str
    seq: int
    after: Mapping[str, int]
    #: Who signed the removal (its ``after`` is their word, not hers).
    by: str = ""


@dataclass(frozen=True)
class Reset:
    """The owner gave a model a key that none of her own keys signed (DESIGN 3.1).

    Re-adding her, giving her model id to another person, or adding a key to her entry: each
    makes a key speak for her that she never vouched for, so only the owner may, every device
    shows it, her consent from before lapses, and her rejects from before stand.

    Attributes:
        principal: The model person after the reset.
        display_name: Her name, for the sentence everyone is shown.
        models: The model ids the reset is about.
        fingerprints: The keys the reset gave her (to check with her).
        seq: The roster entry of the reset.
        ts: Its time, as signed.
        by: Who signed it (the owner).
    """

    principal: str
    display_name: str
    models: tuple[str, ...]
    fingerprints: tuple[str, ...]
    seq: int
    ts: str
    by: str

    @property
    def date(self) -> str:
        """The day of the reset (UTC), ``YYYY-MM-DD``."""
        return self.ts[:10]

    def sentence(self) -> str:
        """What everyone is told, in plain words."""
        keys = " and ".join(self.fingerprints)
        return (
            f"{self.display_name}'s key was reset by the owner on {self.date} (roster entry "
            f"{self.seq}): check the new key {keys} with her; her consent from before lapsed "
            "and her rejects from before still stand"
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``verify --json``, ``roster show --json`` and reports."""
        return {
            "principal": self.principal,
            "name": self.display_name,
            "models": list(self.models),
            "fingerprints": list(self.fingerprints),
            "roster_seq": self.seq,
            "ts": self.ts,
            "by": self.by,
            "message": self.sentence(),
        }


@dataclass(frozen=True)
class PolicySetting:
    """The signed workspace policy and who set it."""

    tables: Mapping[str, Any]
    principal: str
    seq: int
    ts: str


@dataclass(frozen=True)
class RosterState:
    """The roster as it stood after one entry (immutable; each entry makes a new one)."""

    seq: int
    head_hash: str
    owner: str
    persons: Mapping[str, RosterPerson]
    consents: Mapping[str, Consent]
    policy: PolicySetting | None
    revoked: Mapping[str, Revocation]
    removed: Mapping[str, tuple[Removal, ...]]
    accepted: Mapping[str, tuple[int, str | None, int]] = field(default_factory=dict)
    #: Model id -> the principal who was last her model person (also after removal).
    model_of: Mapping[str, str] = field(default_factory=dict)
    #: Every reset of a model, oldest first.
    resets: tuple[Reset, ...] = ()
    #: Key fingerprint -> the principal the roster gave it to (every key ever given).
    holders: Mapping[str, str] = field(default_factory=dict)
    #: Principal -> every model id she was ever the model person of (also after removal): such
    #: a principal speaks for a model, so she comes back, in any role, only by the owner's reset.
    were_models: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    # -- the interface verification and policy evaluation use --------------------------------

    @property
    def people(self) -> dict[str, Person]:
        """Principal -> plain person (role, models)."""
        return {p: rp.as_person() for p, rp in self.persons.items()}

    def person(self, principal: str) -> Person | None:
        """The person, if on the roster at this point."""
        rp = self.persons.get(principal)
        return rp.as_person() if rp is not None else None

    def signer_allowed(self, principal: str, key: SshPublicKey) -> bool:
        """True if ``key`` is an active key of ``principal`` at this point."""
        rp = self.persons.get(principal)
        return rp is not None and key.fingerprint in rp.keys

    def is_revoked(self, key: SshPublicKey) -> bool:
        """True if ``key`` was revoked at or before this point."""
        return key.fingerprint in self.revoked

    def may_decide(self, principal: str, model_id: str) -> bool:
        """True if ``principal`` may decide for ``model_id`` at this point."""
        rp = self.persons.get(principal)
        return rp is not None and model_id in rp.models

    def principal_of(self, key: SshPublicKey) -> str | None:
        """The person holding ``key`` as an active key, if any."""
        for rp in self.persons.values():
            if key.fingerprint in rp.keys:
                return rp.principal
        return None

    def is_admin(self, principal: str) -> bool:
        """Owner or appointed admin."""
        rp = self.persons.get(principal)
        return principal == self.owner or (rp is not None and rp.admin)

    def consent_for(self, model_id: str) -> Consent | None:
        """The model's consent, when it was signed by the person who is her model now."""
        consent = self.consents.get(model_id)
        if consent is None:
            return None
        rp = self.persons.get(consent.principal)
        if rp is None or rp.role != "model" or model_id not in rp.models:
            return None
        return consent

    def resets_of(self, principal: str, model_id: str) -> list[Reset]:
        """The resets that gave ``principal`` a key for ``model_id``, oldest first."""
        return [r for r in self.resets if r.principal == principal and model_id in r.models]

    def model_person(self, model_id: str) -> RosterPerson | None:
        """The person with role model for ``model_id``."""
        return next(
            (p for p in self.persons.values() if p.role == "model" and model_id in p.models), None
        )


@dataclass(frozen=True)
class RosterEntry:
    """One line of roster.dlog and what replay made of it."""

    seq: int | None
    line: int
    kind: str | None
    principal: str | None
    payload: Mapping[str, Any]
    line_hash: str
    ok: bool
    problem: str | None = None
    state: str = "good"
    data: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class RosterProblem:
    """Something wrong with the roster log (or its views)."""

    seq: int | None
    line: int | None
    kind: str
    message: str
