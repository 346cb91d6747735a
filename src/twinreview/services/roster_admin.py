"""Changing the signed roster: create a workspace, add people, join, consent, revoke, migrate.

Used by the command line (``twinreview init``, ``trust``, ``roster ...``, ``consent``) and by the
app's roster and consent screens. Every change is an entry signed with this device's key and
appended to ``roster/roster.dlog`` (``core.roster.log``); the roster refuses what the signer may not
do. After each change the generated views (``allowed_signers``, ``people.toml``, ``revoked``) are
written again.

Public API:
    RosterService(keys, trust, verifier, *, clock=None)
        ``init(root, name)``, ``trust_workspace(root, fingerprint=None)``, ``add_person(...)``,
        ``request_join(...)``, ``approve(root, principal)``, ``revoke_key(...)``,
        ``remove_person(...)``, ``reset_model(...)``, ``set_admin(...)``,
        ``set_policy(root, tables=None)``, ``consent(...)``, ``migrate(root)``, ``show(root)``.
    RosterAdminError: one line for the user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinreview.core.errors import TwinreviewError
from twinreview.core.logs.log import LogError
from twinreview.core.logs.sshsig import SigningKey, SshPublicKey
from twinreview.core.logs.verify import verify_workspace
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import ROSTER_DIR, ROSTER_LOG_ID, RosterLogError, RosterPerson
from twinreview.core.roster.people import ROLES, Person, Roster
from twinreview.core.roster.views import policy_tables, view_problems, write_views
from twinreview.core.roster.write import JoinRequest, pending_requests
from twinreview.core.roster.write import RosterWriter as _Writer
from twinreview.core.settings import SettingsError, settings_from_config
from twinreview.core.workspace import Workspace, WorkspaceError, read_file_config
from twinreview.services.disclosure import pin_trust_anchors
from twinreview.services.keys import Identity, KeysError, KeyService
from twinreview.services.trust import PinCheck, TrustError, TrustStore, Verifier


class RosterAdminError(TwinreviewError):
    """A roster change was refused; the message is one line for the user."""


class NoSigningKey(RosterAdminError):
    """This device has no usable signing key (a setup problem, not a refusal)."""


@dataclass(frozen=True)
class Signer:
    """Who signs a roster change: a principal and a key (the device's, or a demo key)."""

    principal: str
    key: SigningKey


class RosterService:
    """Roster changes signed with this device's key. Built once by the composition root."""

    def __init__(
        self,
        keys: KeyService | None,
        trust: TrustStore,
        verifier: Verifier,
        *,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        """Sign with ``keys`` (None: read-only uses), pin in ``trust``, verify with ``verifier``."""
        self._keys = keys
        self._trust = trust
        self._verifier = verifier
        self._clock = clock

    # -- helpers -------------------------------------------------------------------------

    def _signer(self) -> tuple[Identity, Signer]:
        if self._keys is None:
            raise NoSigningKey("no signing key on this device")
        try:
            identity, key = self._keys.signer()
        except KeysError as exc:
            raise NoSigningKey(str(exc)) from None
        return identity, Signer(identity.principal, key)

    def _roster(self, root: Path, *, pinned: bool = True) -> SignedRoster:
        roster = SignedRoster.load(root / ROSTER_DIR)
        if not roster.exists or roster.workspace_id is None:
            raise RosterAdminError(
                "this workspace has no signed roster; the owner runs 'twinreview init' (or "
                "'twinreview roster migrate')"
            )
        if pinned:
            check = self._trust.check(roster, root)
            if check.state == "unpinned":
                raise RosterAdminError(
                    f"this device has not pinned this workspace's owner yet; check the key "
                    f"{check.owner_fingerprint} with the owner, then run 'twinreview trust {root}'"
                )
            if check.state != "pinned":
                raise RosterAdminError(check.message)
        if not roster.ok:
            raise RosterAdminError(
                f"the signed roster is not intact ({roster.problems[0].message}); nothing can be "
                "signed into it"
            )
        return roster

    def _heads(self, root: Path, roster: SignedRoster) -> list[dict[str, Any]]:
        report = self._verifier.verify(root, roster)
        good = {s.log for s in report.logs if s.ok}
        return [
            {"log": log, "seq": seq, "hash": h}
            for log, (seq, h) in sorted(report.heads.items())
            if log != ROSTER_LOG_ID and log in good
        ]

    def _append(
        self,
        root: Path,
        signer: Signer,
        kind: str,
        fields: Mapping[str, Any],
        heads: list[dict[str, Any]] | None = None,
    ) -> SignedRoster:
        roster = self._roster(root)
        if heads is None:
            heads = self._heads(root, roster)
        writer = self._writer(root, signer, roster)
        try:
            new = writer.append(kind, fields, heads)
        except (RosterLogError, LogError) as exc:
            raise RosterAdminError(str(exc)) from None
        except OSError as exc:
            raise RosterAdminError(f"cannot write the roster ({exc.strerror or exc})") from None
        self._write_views(root, new)
        return new

    def _writer(self, root: Path, signer: Signer, roster: SignedRoster) -> _Writer:
        """A roster writer that keeps this device's copy of what it signs (``logs.signedcopy``)."""
        writer = _Writer(root / ROSTER_DIR, signer.key, signer.principal, clock=self._clock)
        copies = self._verifier.copies(root, roster)
        if copies is not None:
            writer.copy = copies.for_file(writer.path)
        return writer

    @staticmethod
    def _write_views(root: Path, roster: SignedRoster) -> None:
        try:
            write_views(root / ROSTER_DIR, roster)
        except OSError as exc:
            raise RosterAdminError(f"cannot write the roster views ({exc.strerror})") from None

    def _after(self, root: Path, roster: SignedRoster, fingerprints: set[str]) -> dict[str, int]:
        """The last seq this device verified of each log signed by ``fingerprints``."""
        report = self._verifier.verify(root, roster)
        return {log: seq for log, (seq, _) in report.heads.items() if log in fingerprints}

    # -- creating and trusting a workspace ---------------------------------------------

    def init(
        self,
        root: Path,
        name: str | None = None,
        *,
        signer: Signer | None = None,
        person: Person | None = None,
    ) -> SignedRoster:
        """Make this device's key the owner of the workspace at ``root`` and pin it.

        The current ``twinreview.toml`` policy tables become the first signed policy.
        """
        ws = _open(root)
        if signer is None:
            identity, signer = self._signer()
            person = Person(identity.principal, identity.display_name, identity.role, ())
        assert person is not None
        if SignedRoster.load(ws.root / ROSTER_DIR).exists:
            raise RosterAdminError("this workspace already has a signed roster")
        writer = _Writer(ws.root / ROSTER_DIR, signer.key, signer.principal, clock=self._clock)
        try:
            roster = writer.genesis(name or ws.name, person)
            assert roster.workspace_id is not None
            assert roster.owner_key is not None
            self._trust.pin(roster.workspace_id, roster.owner_key.fingerprint, roster.name, ws.root)
            writer = self._writer(ws.root, signer, roster)
            if writer.copy is not None:
                writer.copy.record(writer.path, writer.path.stat().st_size)
            tables = pin_trust_anchors(ws.root, policy_tables(ws.file_config))
            if tables:
                roster = writer.append("policy", {"policy": tables})
        except (RosterLogError, LogError, TrustError) as exc:
            raise RosterAdminError(str(exc)) from None
        except OSError as exc:
            raise RosterAdminError(f"cannot write the roster ({exc.strerror or exc})") from None
        self._write_views(ws.root, roster)
        return roster

    def check_pin(self, root: Path) -> PinCheck:
        """How the workspace's owner compares with this device's pin."""
        return self._trust.check(SignedRoster.load(root / ROSTER_DIR), root)

    def trust_workspace(self, root: Path, fingerprint: str | None = None) -> PinCheck:
        """Pin the workspace's owner on this device (after checking ``fingerprint`` if given)."""
        roster = SignedRoster.load(root / ROSTER_DIR)
        check = self._trust.check(roster, root)
        if check.state == "no_roster":
            raise RosterAdminError(check.message)
        if check.state == "mismatch":
            raise RosterAdminError(check.message)
        assert check.workspace_id is not None
        assert check.owner_fingerprint is not None
        if fingerprint is not None and fingerprint != check.owner_fingerprint:
            raise RosterAdminError(
                f"the workspace's owner key is {check.owner_fingerprint}, not {fingerprint}: "
                "do not trust it"
            )
        try:
            self._trust.pin(check.workspace_id, check.owner_fingerprint, roster.name, root)
        except TrustError as exc:
            raise RosterAdminError(str(exc)) from None
        return self._trust.check(roster, root)

    # -- people --------------------------------------------------------------------------

    def add_person(
        self,
        root: Path,
        person: Person,
        key: SshPublicKey,
        *,
        admin: bool = False,
        request: str | None = None,
        signer: Signer | None = None,
    ) -> SignedRoster:
        """Add a person with one key (owner or admin); a known person gains the key/models."""
        ws = _open(root)
        _check_person(ws, person)
        if signer is None:
            _, signer = self._signer()
        state = self._roster(ws.root).current
        assert state is not None
        known = state.persons.get(person.principal)
        if known is None:
            fields: dict[str, Any] = {
                "person": person.principal,
                "name": person.display_name,
                "role": person.role,
                "models": list(person.models),
                "keys": [key.openssh()],
                "admin": admin,
                "request": request,
            }
            return self._append(ws.root, signer, "add_person", fields)
        if known.role != person.role:
            raise RosterAdminError(
                f"{person.principal} is already on the roster as {known.role}, not {person.role}"
            )
        roster = None
        if key.fingerprint not in known.keys:
            roster = self._append(
                ws.root, signer, "add_key", {"person": person.principal, "new_key": key.openssh()}
            )
        new_models = [m for m in person.models if m not in known.models]
        if new_models:
            roster = self._append(
                ws.root,
                signer,
                "update_person",
                {"person": person.principal, "models": [*known.models, *new_models]},
            )
        if roster is None:
            raise RosterAdminError(f"{person.principal} is already on the roster with this key")
        return roster

    def reset_model(
        self,
        root: Path,
        principal: str,
        key: SshPublicKey,
        *,
        models: Sequence[str] = (),
        name: str | None = None,
        role: str = "model",
    ) -> SignedRoster:
        """Give a model a key none of her own keys signed (owner only; everyone is shown it).

        For a model on the roster, the key is added to her entry (her laptop was lost), and with
        ``models`` she also becomes the model person of those model ids. For a model who was
        removed (or a new person), she is added with the key, for her former model ids or
        ``models``; each must have no model person now. Her consent from before lapses; her
        rejects from before stand. With ``role`` other than model, a former model comes back in
        that role (her principal still speaks for her, so only by a reset).
        """
        ws = _open(root)
        roster = self._roster(ws.root)
        state = roster.current
        assert state is not None
        _, signer = self._signer()
        known = state.persons.get(principal)
        if known is not None:
            if known.role != "model" and principal not in state.were_models:
                raise RosterAdminError(f"{principal} is not a model; only a model's key is reset")
            if known.role != role:
                raise RosterAdminError(
                    f"{principal} is on the roster as {known.role}: remove her first to bring "
                    f"her back as {role}"
                )
            done: SignedRoster | None = None
            if key.fingerprint not in known.keys:
                # Her old keys are revoked by the reset: what this device verified of their
                # logs still counts, nothing after it.
                fields: dict[str, Any] = {
                    "person": principal,
                    "new_key": key.openssh(),
                    "reset": True,
                    "after": self._after(ws.root, roster, set(known.keys)),
                }
                done = self._append(ws.root, signer, "add_key", fields)
            extra = [m for m in dict.fromkeys(models) if m not in known.models]
            if extra and role != "model":
                raise RosterAdminError(
                    f"{principal} is {role}: 'twinreview roster add' gives her more model ids"
                )
            if extra:
                _check_person(ws, Person(principal, known.display_name, "model", tuple(extra)))
                fields = {"person": principal, "models": [*known.models, *extra]}
                if any(state.model_of.get(m, principal) != principal for m in extra):
                    fields["reset"] = True  # a model id another person spoke for
                done = self._append(ws.root, signer, "update_person", fields)
            if done is None:
                raise RosterAdminError(f"{principal} already has this key for these model ids")
            return done
        earlier = _last_seen(roster, principal)
        chosen = tuple(dict.fromkeys(models)) or tuple(
            m for m, p in sorted(state.model_of.items()) if p == principal
        )
        if not chosen:
            raise RosterAdminError(
                f"{principal} was never a model here; name the model ids with --model"
            )
        person = Person(
            principal,
            name or (earlier.display_name if earlier is not None else principal),
            role,
            chosen,
        )
        _check_person(ws, person)
        fields = {
            "person": principal,
            "name": person.display_name,
            "role": role,
            "models": list(chosen),
            "keys": [key.openssh()],
            "admin": False,
            "request": None,
            "reset": True,
        }
        return self._append(ws.root, signer, "add_person", fields)

    def request_join(
        self, root: Path, models: Sequence[str], role: str | None = None, name: str | None = None
    ) -> Path:
        """Write this device's signed join request (the owner approves it)."""
        ws = _open(root)
        roster = self._roster(ws.root)
        identity, signer = self._signer()
        if role is not None and role != identity.role:
            raise RosterAdminError(f"your key was created for the role {identity.role}, not {role}")
        person = Person(
            identity.principal,
            name or identity.display_name,
            identity.role,
            tuple(dict.fromkeys(models)),
        )
        _check_person(ws, person)
        state = roster.current
        assert state is not None
        assert roster.workspace_id is not None
        if state.signer_allowed(identity.principal, signer.key.public):
            raise RosterAdminError(f"{identity.principal} is already on the roster with this key")
        try:
            return JoinRequest.make(
                ws.root / ROSTER_DIR, signer.key, person, roster.workspace_id, clock=self._clock
            )
        except OSError as exc:
            raise RosterAdminError(f"cannot write the request ({exc.strerror})") from None

    def pending(self, root: Path) -> tuple[list[JoinRequest], list[str]]:
        """Join requests waiting for the owner, and unusable request files."""
        roster = SignedRoster.load(root / ROSTER_DIR)
        return pending_requests(root / ROSTER_DIR, roster)

    def approve(self, root: Path, principal: str) -> SignedRoster:
        """Approve the pending join request of ``principal`` (owner or admin)."""
        requests, _ = self.pending(root)
        found = [r for r in requests if r.principal == principal]
        if not found:
            raise RosterAdminError(f"no pending join request from {principal}")
        req = found[-1]
        return self.add_person(
            root,
            Person(req.principal, req.display_name, req.role, req.models),
            req.key,
            request=req.sha256,
        )

    def revoke_key(self, root: Path, principal: str, fingerprint: str) -> SignedRoster:
        """Revoke one key; its entries past what this device verified stop counting."""
        roster = self._roster(root)
        _, signer = self._signer()
        after = self._after(root, roster, {fingerprint})
        return self._append(
            root,
            signer,
            "revoke_key",
            {"person": principal, "fingerprint": fingerprint, "after": after},
        )

    def remove_person(self, root: Path, principal: str) -> SignedRoster:
        """Remove a person; their earlier valid decisions keep counting."""
        roster = self._roster(root)
        _, signer = self._signer()
        fps = {fp for fp, (p, _) in roster.known_keys().items() if p == principal}
        after = self._after(root, roster, fps)
        return self._append(root, signer, "remove_person", {"person": principal, "after": after})

    def set_admin(self, root: Path, principal: str, admin: bool) -> SignedRoster:
        """Appoint or dismiss an admin (owner only)."""
        _, signer = self._signer()
        return self._append(root, signer, "update_person", {"person": principal, "admin": admin})

    def set_policy(self, root: Path, tables: Mapping[str, Any] | None = None) -> SignedRoster:
        """Sign policy tables as the workspace policy: ``tables``, or else ``twinreview.toml``'s.

        Invalid tables are refused, never signed (a signed policy that does not parse would
        keep the workspace from opening). The policy signed before is not parsed, so a broken
        one can be replaced.
        """
        try:
            if tables is None:
                folder, file_config = read_file_config(root)
                tables = pin_trust_anchors(folder, policy_tables(file_config))
                settings_from_config(tables)
            else:
                folder = Path(root).expanduser().resolve()
                given = tables
                tables = policy_tables(given)
                unknown = sorted(set(given) - set(tables))
                if unknown:
                    raise RosterAdminError(f"{unknown[0]!r} is not a table of the policy")
                tables = pin_trust_anchors(folder, tables)
                settings_from_config(tables, source="the new rules")
        except (WorkspaceError, SettingsError) as exc:
            raise RosterAdminError(str(exc)) from None
        _, signer = self._signer()
        return self._append(folder, signer, "policy", {"policy": tables})

    def set_aside_bad_lines(self, root: Path) -> Path | None:
        """Move roster lines that failed verification out of the way (owner or admin).

        They never counted; until they are gone nothing can be signed into the roster.
        """
        roster = SignedRoster.load(root / ROSTER_DIR)
        state = roster.current
        identity, signer = self._signer()
        if state is None:
            raise RosterAdminError("the roster has no good entry to keep")
        if not state.is_admin(identity.principal) or not state.signer_allowed(
            identity.principal, signer.key.public
        ):
            raise RosterAdminError("only the owner or an admin sets aside bad roster lines")
        writer = _Writer(root / ROSTER_DIR, signer.key, signer.principal, clock=self._clock)
        try:
            moved = writer.set_aside_bad_lines()
        except (RosterLogError, LogError) as exc:
            raise RosterAdminError(str(exc)) from None
        except OSError as exc:
            raise RosterAdminError(f"cannot change the roster ({exc.strerror or exc})") from None
        self._write_views(root, SignedRoster.load(root / ROSTER_DIR))
        return moved

    def accept_head(self, root: Path, log: str) -> SignedRoster:
        """Accept that a log now ends where it does, e.g. a lost laptop's log.

        A model's log only by herself (the gap may hide her veto); anyone else's by that person
        or the owner, never by an admin. Its rollback (or absence) is still reported by
        ``verify``, but no longer blocks the assets that depend on it. The acceptance names the
        exact head: if the log changes again, it blocks again.
        """
        roster = self._roster(root)
        _, signer = self._signer()
        report = self._verifier.verify(root, roster)
        head = report.heads.get(log)
        fields: dict[str, Any] = {
            "target_log": log,
            "target_seq": head[0] if head else -1,
            "target_hash": head[1] if head else None,
        }
        return self._append(root, signer, "accept_head", fields)

    # -- consent ---------------------------------------------------------------------------

    def consent(
        self,
        root: Path,
        model_id: str,
        *,
        uses: Sequence[str] | None = None,
        expires: dt.date | None = None,
        require: Sequence[str] = ("model", "agent"),
        withdraw: bool = False,
        signer: Signer | None = None,
        purpose: str | None = None,
        pay_terms: str | None = None,
        exclude: Sequence[str] = (),
        no_expiry: bool = False,
    ) -> SignedRoster:
        """Sign the model's consent (only she can): give, narrow, widen or withdraw it.

        The terms (``core.approval.consent``): the uses (None: any), the purpose in her words, the
        end date or an explicit ``no_expiry``, her pay-terms reference, the content she excludes and
        the roles that must approve. The command line and the app ask for each explicitly
        (``services.consent.ConsentForm``); this call signs what it is given.
        """
        if signer is None:
            _, signer = self._signer()
        bad = [r for r in require if r not in ROLES]
        if bad:
            raise RosterAdminError(f"unknown role {bad[0]!r} (roles: {', '.join(ROLES)})")
        if no_expiry and expires is not None:
            raise RosterAdminError("give an end date or no end date, not both")
        fields: dict[str, Any] = {
            "model": model_id,
            "uses": [u.strip().lower() for u in uses if u.strip()] if uses is not None else None,
            "expires": expires.isoformat() if expires is not None else None,
            "require": list(dict.fromkeys(require)),
            "veto": True,
            "withdrawn": withdraw,
        }
        # The terms are written only when given, so a consent signed without them reads as before.
        if purpose is not None:
            fields["purpose"] = purpose
        if pay_terms is not None:
            fields["pay_terms"] = pay_terms
        if exclude:
            fields["exclude"] = [c.strip().lower() for c in exclude if c.strip()]
        if no_expiry:
            fields["no_expiry"] = True
        return self._append(root, signer, "consent", fields)

    # -- migration ---------------------------------------------------------------------------

    def migrate(self, root: Path, name: str | None = None) -> tuple[SignedRoster, list[str]]:
        """Turn a plain roster (allowed_signers + people.toml) into a signed one.

        The current key becomes the owner (it must be on the plain roster, or the plain roster
        must be empty), every plain person is added with their keys, and the first entry after
        them names the heads of every existing log, so that decisions signed before the
        migration count under the migrated roster. Each model must then sign her consent.

        Returns:
            The roster and one line per person taken over.
        """
        ws = _open(root)
        if SignedRoster.load(ws.root / ROSTER_DIR).exists:
            raise RosterAdminError("this workspace already has a signed roster")
        plain = Roster.load(ws.root / ROSTER_DIR)
        if plain.problems:
            raise RosterAdminError(f"the plain roster cannot be read: {plain.problems[0]}")
        identity, signer = self._signer()
        me = plain.person(identity.principal)
        person = me or Person(identity.principal, identity.display_name, identity.role, ())
        roster = self.init(ws.root, name, signer=signer, person=person)
        done = [f"owner: {identity.principal} ({signer.key.public.fingerprint})"]
        # Keys listed for each principal (exact principal lines only: wildcards grant nothing).
        for p in plain.people.values():
            keys = [s.key for s in plain.signers if s.principals == p.principal]
            keys = [k for k in keys if not plain.is_revoked(k)]
            if p.principal == identity.principal:
                keys = [k for k in keys if k != signer.key.public]
                for k in keys:
                    roster = self._append(
                        ws.root, signer, "add_key", {"person": p.principal, "new_key": k.openssh()}
                    )
                continue
            if not keys:
                done.append(f"skipped {p.principal}: no usable key in allowed_signers")
                continue
            try:
                roster = self._append(
                    ws.root,
                    signer,
                    "add_person",
                    {
                        "person": p.principal,
                        "name": p.display_name,
                        "role": p.role,
                        "models": list(p.models),
                        "keys": [keys[0].openssh()],
                        "admin": False,
                        "request": None,
                    },
                )
                for k in keys[1:]:
                    roster = self._append(
                        ws.root, signer, "add_key", {"person": p.principal, "new_key": k.openssh()}
                    )
                done.append(f"added {p.principal} ({p.role}, models {', '.join(p.models)})")
            except RosterAdminError as exc:
                done.append(f"skipped {p.principal}: {exc}")
        # The heads of every log as they are now: decisions up to there count under this roster.
        # Only logs whose signer the plain roster listed with that key, and only their intact
        # prefix (signatures and chain), are taken over.
        report = verify_workspace(ws.root, roster)
        listed = {
            s.key.fingerprint
            for s in plain.signers
            if not plain.is_revoked(s.key) and plain.person(s.principals) is not None
        }
        heads = [
            {"log": log, "seq": seq, "hash": h}
            for log, (seq, h) in sorted(report.heads.items())
            if log in listed
        ]
        roster = self._append(
            ws.root,
            signer,
            "update_person",
            {"person": identity.principal, "name": person.display_name},
            heads,
        )
        done.append(f"took over {len(heads)} existing log(s) up to their current entries")
        return roster, done

    # -- reading -----------------------------------------------------------------------------

    def show(self, root: Path) -> dict[str, Any]:
        """The roster as ``roster show --json`` prints it."""
        roster = SignedRoster.load(root / ROSTER_DIR)
        state = roster.current
        check = self._trust.check(roster, root)
        requests, request_problems = pending_requests(root / ROSTER_DIR, roster)
        people = []
        if state is not None:
            for rp in sorted(state.persons.values(), key=lambda p: p.principal):
                people.append(
                    {
                        "principal": rp.principal,
                        "name": rp.display_name,
                        "role": rp.role,
                        "models": list(rp.models),
                        "admin": rp.admin or rp.principal == state.owner,
                        "owner": rp.principal == state.owner,
                        "keys": sorted(rp.keys),
                    }
                )
        head = roster.head
        return {
            "workspace_id": roster.workspace_id,
            "name": roster.name,
            "owner": (
                {"principal": roster.owner, "fingerprint": roster.owner_key.fingerprint}
                if roster.owner_key is not None
                else None
            ),
            "pinned": check.state,
            "head": {"seq": head[0], "hash": head[1]} if head else None,
            "ok": roster.ok,
            "problems": [p.message for p in roster.problems]
            + view_problems(root / ROSTER_DIR, roster) * roster.exists
            + request_problems,
            "people": people,
            "consents": (
                {mid: c.to_json() for mid, c in sorted(state.consents.items())}
                if state is not None
                else {}
            ),
            "policy": (
                {
                    "tables": dict(state.policy.tables),
                    "set_by": state.policy.principal,
                    "roster_seq": state.policy.seq,
                    "ts": state.policy.ts,
                }
                if state is not None and state.policy is not None
                else None
            ),
            "revoked": sorted(state.revoked) if state is not None else [],
            "resets": [r.to_json() for r in state.resets] if state is not None else [],
            # Whose key each log is, and who speaks for a model: who may accept a gap in it.
            "log_holders": dict(sorted(state.holders.items())) if state is not None else {},
            "model_people": sorted(state.were_models) if state is not None else [],
            "pending": [
                {
                    "principal": r.principal,
                    "name": r.display_name,
                    "role": r.role,
                    "models": list(r.models),
                    "fingerprint": r.key.fingerprint,
                    "file": r.file,
                }
                for r in requests
            ],
        }


def _open(root: Path) -> Workspace:
    try:
        return Workspace.open(root)
    except WorkspaceError as exc:
        raise RosterAdminError(str(exc)) from None


def _last_seen(roster: SignedRoster, principal: str) -> RosterPerson | None:
    """The person as the roster last listed them (they may have been removed since)."""
    for state in reversed(roster.states):
        found = state.persons.get(principal)
        if found is not None:
            return found
    return None


def _check_person(ws: Workspace, person: Person) -> None:
    if person.role not in ROLES:
        raise RosterAdminError(f"role must be one of {', '.join(ROLES)}, not {person.role!r}")
    unknown = [m for m in person.models if m not in ws.models]
    if unknown:
        known = ", ".join(sorted(ws.models)) or "none"
        raise RosterAdminError(
            f"unknown model id {', '.join(unknown)} (models in this workspace: {known})"
        )
    if not person.principal or any(ch.isspace() or ch in ',"*?!' for ch in person.principal):
        raise RosterAdminError(
            f"principal {person.principal!r} must not contain spaces, commas, quotes or wildcards"
        )
