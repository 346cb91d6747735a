"""Signing decisions: approve or reject one asset, appended to this device's log at once.

A decision entry (log kind ``decision``) carries, besides the log header::

    asset      workspace-relative posix path, e.g. "assets/ana/spring/look1.jpg"
    sha256     hex sha256 of the file's bytes when the decision was made
    phash      64-bit pHash as 16 hex digits (null when the bytes are not a readable image)
    model      the model id (the ``assets/<model-id>/`` folder)
    decision   "approve" | "reject"
    reasons    reason codes (twinreview.core.reasons.REASON_CODES); at least one for a reject
    note       free text ("" when none)
    findings   the findings the reviewer was shown, each ``Finding.to_json()``
    override   true when approving although a finding blocks
    image_digest  digest of the image data alone (``core.publish.imagedigest``): what a published
    copy
               keeps byte for byte; null for formats without one and for the reject of an
               ambiguous file (one decoders may show as another picture: it cannot be approved)

The service refuses (``DecisionError``, one line) rather than sign something the status would
ignore or that misstates what happened: an unknown or missing file, a file outside ``assets/``, a
reviewer the roster does not know or does not allow for that model, a revoked key, a file that
changed since the findings were computed, or an approval the one approval rule refuses
(``core.approval.rule``: graded by the policy signed *now*, a blocking finding needs an explicit
override, an unapprovable disclosure verdict cannot be approved); also anything in a workspace
without an intact signed roster or whose owner this device has not pinned.

Every entry also binds (``SigningContext``): the workspace id (``ws``), the roster head it was
signed under (``roster``), the heads of every other log this device verified (``heads``, so that a
later rollback of those logs is evident), and the decision adds ``sidecar_sha256`` (the intended use
is part of what was approved; null when there is no sidecar).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from twinreview.core.approval.policy import (
    APPROVE,
    DECISIONS,
    REJECT,
    WITHDRAW,
    latest_of,
    validate_reasons,
)
from twinreview.core.approval.rule import check_approval, models_whose_word_is_needed, regrade
from twinreview.core.errors import TwinreviewError
from twinreview.core.files import read_regular
from twinreview.core.findings import Finding
from twinreview.core.imageio import MAX_FILE_BYTES, ImageLoadError, load_image
from twinreview.core.logs.log import Entry, LogError, LogWriter
from twinreview.core.logs.sshsig import SigningKey, SshPublicKey
from twinreview.core.publish.imagedigest import AmbiguousImageError, image_digest
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import ROSTER_DIR, ROSTER_LOG_ID, RosterState
from twinreview.core.settings import SettingsError
from twinreview.core.similarity import hashing
from twinreview.core.workspace import ASSETS_DIR, SIDECAR_SUFFIX, Workspace
from twinreview.services.keys import Identity, KeysError, KeyService
from twinreview.services.status import sha256_file, sidecar_sha256, verified_decisions
from twinreview.services.trust import TrustStore, Verifier

MAX_NOTE_CHARS = 4000
# The workspace walk skips these (sidecars and notes beside images); a decision on one is a slip.
_METADATA_SUFFIXES = frozenset({".json", ".xmp", ".txt", ".md", ".toml"})


class DecisionError(TwinreviewError):
    """A decision could not be signed. ``str(err)`` is one line for the user."""


class NeedsOverride(DecisionError):
    """An approval over blocking findings was asked for without an explicit override."""


@dataclass(frozen=True)
class AssetBytes:
    """What a decision records about the file itself.

    Attributes:
        rel: Workspace-relative posix path.
        model_id: The ``assets/<model-id>/`` folder.
        sha256: Hex digest of the bytes.
        phash: 16 hex digits, or None when the bytes are not a readable image.
    """

    rel: str
    model_id: str
    sha256: str
    phash: str | None


def resolve_asset(ws: Workspace, asset: str | Path) -> tuple[Path, str, str]:
    """Find an asset of ``ws`` from a workspace-relative path or an absolute path.

    Returns:
        ``(absolute path, workspace-relative posix path, model id)``.

    Raises:
        DecisionError: the file does not exist, is not a regular file, lies outside the workspace
            (also through a symlink), or is not under ``assets/<model-id>/``.
    """
    given = Path(asset)
    path = Path(os.path.normpath(given if given.is_absolute() else ws.root / given))
    if not path.exists():
        raise DecisionError(f"{asset}: no such file")
    if not path.is_file():
        raise DecisionError(f"{asset}: not a file")
    if not ws.inside(path):
        raise DecisionError(f"{asset}: lies outside the workspace")
    try:
        rel = Path(path).absolute().relative_to(ws.root).as_posix()
    except ValueError:
        # An absolute path spelled through a symlinked parent: fall back to the resolved one.
        rel = path.resolve().relative_to(ws.root).as_posix()
    parts = rel.split("/")
    if len(parts) < 3 or parts[0] != ASSETS_DIR or ".." in parts:
        raise DecisionError(f"{asset}: not an asset (assets live under {ASSETS_DIR}/<model-id>/)")
    if path.suffix.lower() in _METADATA_SUFFIXES or path.name.startswith("."):
        raise DecisionError(f"{asset}: a metadata file, not an asset")
    return path, rel, parts[1]


def read_asset(ws: Workspace, asset: str | Path) -> AssetBytes:
    """Resolve ``asset`` and compute its sha256 and pHash from one read.

    Raises:
        DecisionError: see :func:`resolve_asset`; also when the file cannot be read or is larger
            than any photo.
    """
    path, rel, model_id = resolve_asset(ws, asset)
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except OSError as exc:
        raise DecisionError(f"{rel}: cannot read ({exc.strerror or exc})") from None
    return AssetBytes(rel, model_id, hashlib.sha256(data).hexdigest(), phash_of(data))


def phash_of(data: bytes) -> str | None:
    """64-bit pHash of an image's bytes as 16 hex digits, or None when it is not readable.

    Computed exactly as the scan computes it (same safe loader, same reduction, same hash), so a
    decision records the value ``twinreview scan --json`` shows for the same bytes.
    """
    try:
        loaded = load_image(data, min_side=hashing.MIN_SIDE)
        return f"{hashing.fingerprint(loaded.image).phash:016x}"
    except ImageLoadError:
        return None


def decision_fields(
    facts: AssetBytes,
    decision: str,
    reasons: Sequence[str],
    note: str,
    findings: Sequence[Finding],
    *,
    override: bool,
) -> dict[str, Any]:
    """The payload fields of a ``decision`` log entry (DESIGN section 3)."""
    return {
        "asset": facts.rel,
        "sha256": facts.sha256,
        "phash": facts.phash,
        "model": facts.model_id,
        "decision": decision,
        "reasons": list(reasons),
        "note": note,
        "findings": [f.to_json() for f in findings],
        "override": override,
    }


class DecisionService:
    """Signs decisions with this device's key into the workspace's ``logs/``.

    Build once (the composition root passes the key service down); call :meth:`decide` per action.
    """

    def __init__(
        self,
        keys: KeyService,
        *,
        clock: Callable[[], datetime] | None = None,
        verifier: Verifier | None = None,
        trust: TrustStore | None = None,
    ) -> None:
        """Sign with ``keys``.

        Args:
            keys: The identity and signing key.
            clock: Timestamps (tests pass a fixed one).
            verifier: Verifies the logs before signing, for the heads a decision names (default:
                the user's own records).
            trust: The pinned workspace owners (default: the user's own); signing in a workspace
                whose owner this device has not pinned is refused.
        """
        self._keys = keys
        self._clock = clock
        self._verifier = verifier or Verifier.default()
        self._trust = trust or TrustStore.default()

    def decide(
        self,
        ws: Workspace,
        asset: str | Path,
        decision: str,
        *,
        reasons: Sequence[str] = (),
        note: str = "",
        findings: Sequence[Finding] = (),
        override: bool = False,
        expected_sha256: str | None = None,
        phash: str | None = None,
        disclosure_verdict: str | None = None,
    ) -> Entry:
        """Sign one decision and append it (fsync'ed before this returns).

        Args:
            ws: The workspace.
            asset: Workspace-relative path (posix or native) or absolute path of the asset.
            decision: ``approve`` or ``reject``.
            reasons: Reason codes; a reject needs at least one, an approval takes none.
            note: Optional free text.
            findings: The findings the reviewer was shown for this asset (an approval records
                them graded by the policy in force).
            override: The reviewer confirmed approving despite blocking findings.
            expected_sha256: The sha256 the findings were computed on (the scan's); when the
                file no longer has these bytes the decision is refused (rescan first).
            phash: The scan's pHash for these bytes, to skip decoding the image again.
            disclosure_verdict: The asset's disclosure verdict from the scan. An approval is
                refused when the workspace's ``[disclosure] approvable`` list does not include
                it; no override lifts that, it is the brand's publication rule.

        Returns:
            The written log entry.

        Raises:
            DecisionError: with a one-line reason; nothing is written then.
        """
        if decision not in DECISIONS:
            raise DecisionError(f"decision must be approve or reject, not {decision!r}")
        try:
            codes = validate_reasons(reasons)
        except ValueError as exc:
            raise DecisionError(str(exc)) from None
        if decision == REJECT and not codes:
            raise DecisionError("a reject needs at least one reason code")
        if decision == APPROVE and codes:
            raise DecisionError(
                "reason codes explain a reject; an approval takes none (use a note)"
            )
        if len(note) > MAX_NOTE_CHARS:
            raise DecisionError(f"the note is longer than {MAX_NOTE_CHARS} characters")

        # The roster as it is now: its policy judges the approval, and the entry names its head.
        roster = SignedRoster.load(ws.root / ROSTER_DIR)
        override_recorded = False
        if decision == APPROVE:
            findings, override_recorded = judge_approval(
                ws,
                roster,
                findings,
                override=override,
                verdict=disclosure_verdict,
                own_word=self._own_word(roster),
            )

        if phash is not None and expected_sha256 is not None:
            path, rel, model_id = resolve_asset(ws, asset)
            try:
                sha = sha256_file(path)
            except OSError as exc:
                raise DecisionError(f"{rel}: cannot read ({exc.strerror or exc})") from None
            facts = AssetBytes(rel, model_id, sha, phash)
        else:
            facts = read_asset(ws, asset)
        if expected_sha256 is not None and facts.sha256 != expected_sha256.lower():
            raise DecisionError(
                f"{facts.rel} changed since it was scanned; rescan before deciding on it"
            )
        if facts.model_id not in ws.models:
            raise DecisionError(
                f"{facts.rel}: model {facts.model_id!r} is not in this workspace "
                f"(no models/{facts.model_id} folder)"
            )

        try:
            identity, key = self._keys.signer()
        except KeysError as exc:
            raise DecisionError(str(exc)) from None
        signing = signing_context(ws, self._verifier, self._trust, key.public, roster)
        try:
            role = self._check_roster(signing.state, identity.principal, key.public, facts.model_id)
        except DecisionError:
            # The image may show another model (its findings name her): she decides it too,
            # as the model person of her own model id.
            person = signing.state.person(identity.principal)
            hers = [
                m
                for m in models_whose_word_is_needed(findings)
                if person is not None and person.role == "model" and m in person.models
            ]
            if not hers:
                raise
            role = self._check_roster(signing.state, identity.principal, key.public, hers[0])
            facts = replace(facts, model_id=hers[0])

        fields = decision_fields(facts, decision, codes, note, findings, override=override_recorded)
        fields["sidecar_sha256"] = sidecar_sha256(_sidecar_of(ws, facts.rel))
        try:
            fields["image_digest"] = _image_digest(ws, facts)
        except AmbiguousImageError as exc:
            # Nothing could bind the pixels she saw, so no approval; her veto needs no digest.
            if decision != "reject":
                raise DecisionError(f"{facts.rel} cannot be approved: {exc}") from None
            fields["image_digest"] = None
        return self._append(ws, identity, key, role, signing, "decision", fields)

    def withdraw(self, ws: Workspace, asset: str | Path, *, note: str = "") -> Entry:
        """Withdraw this reviewer's latest decision about ``asset``: they are undecided again.

        The withdrawal is its own signed entry (kind ``withdraw``) naming the entry it takes
        back; nothing is deleted. Only the reviewer's own decisions can be withdrawn.

        Raises:
            DecisionError: nothing to withdraw, or the same refusals as :meth:`decide`.
        """
        if len(note) > MAX_NOTE_CHARS:
            raise DecisionError(f"the note is longer than {MAX_NOTE_CHARS} characters")
        rel, model_id = _asset_rel(ws, asset)
        try:
            identity, key = self._keys.signer()
        except KeysError as exc:
            raise DecisionError(str(exc)) from None
        signing = signing_context(ws, self._verifier, self._trust, key.public)
        role = self._check_roster(signing.state, identity.principal, key.public, model_id)
        report = self._verifier.verify(ws.root)
        mine = [
            d
            for d in verified_decisions(report)
            if d.principal == identity.principal and d.asset == rel
        ]
        if not mine:
            raise DecisionError(f"{rel}: you have no decision about it to withdraw")
        latest = latest_of(mine)
        if latest.decision == WITHDRAW:
            raise DecisionError(f"{rel}: your last decision about it is already withdrawn")
        fields: dict[str, Any] = {
            "asset": rel,
            "sha256": latest.sha256,
            "phash": latest.phash,
            "model": latest.model_id,
            "decision": WITHDRAW,
            "reasons": [],
            "note": note,
            "findings": [],
            "override": False,
            "sidecar_sha256": latest.sidecar_sha256,
            "withdraws": {"log": latest.log, "seq": latest.seq, "hash": latest.entry_hash},
        }
        return self._append(ws, identity, key, role, signing, "withdraw", fields)

    def _append(
        self,
        ws: Workspace,
        identity: Identity,
        key: SigningKey,
        role: str,
        signing: SigningContext,
        kind: str,
        fields: dict[str, Any],
    ) -> Entry:
        writer = LogWriter.for_workspace(
            ws.root,
            key,
            identity.principal,
            role,
            display_name=identity.display_name,
            clock=self._clock,
            context=signing.fields,
        )
        # This device keeps its own copy of what it signs, and signs nothing on top of a log
        # that lost lines it signed (that would fork its own log).
        if self._verifier.signed is not None:
            copies = self._verifier.signed.for_workspace(signing.workspace_id, ws.root)
            writer.copy = copies.for_file(writer.path)
        try:
            return writer.append(kind, fields)
        except LogError as exc:
            raise DecisionError(str(exc)) from None
        except OSError as exc:
            raise DecisionError(f"cannot write the log ({exc.strerror or exc})") from None

    def _own_word(self, roster: SignedRoster) -> frozenset[str]:
        """The models this device's identity is the model person of, on the roster now."""
        identity = self._keys.current()
        state = roster.current
        person = state.person(identity.principal) if identity and state else None
        if person is None or person.role != "model":
            return frozenset()
        return frozenset(person.models)

    @staticmethod
    def _check_roster(
        state: RosterState, principal: str, public: SshPublicKey, model_id: str
    ) -> str:
        """Refuse a signer the signed roster does not allow; returns their role on it."""
        if state.is_revoked(public):
            raise DecisionError(f"your key {public.fingerprint} was revoked on the signed roster")
        if not state.signer_allowed(principal, public):
            raise DecisionError(
                f"the signed roster does not list {principal} with this device's key "
                f"{public.fingerprint}; ask to join ('twinreview roster add WS --self' writes a "
                "request the owner approves)"
            )
        person = state.person(principal)
        assert person is not None
        if model_id not in person.models:
            raise DecisionError(
                f"the signed roster does not allow {principal} to decide for model {model_id!r}"
            )
        return person.role


def judge_approval(
    ws: Workspace,
    roster: SignedRoster,
    findings: Sequence[Finding],
    *,
    override: bool,
    verdict: str | None,
    own_word: frozenset[str] = frozenset(),
) -> tuple[tuple[Finding, ...], bool]:
    """The one approval rule (``core.approval.rule``) at signing time, under the policy signed now.

    Returns:
        The findings graded by the policy in force (what the entry records), and whether the
        approval overrides blocking findings.

    Raises:
        DecisionError: the policy in force refuses the approval (its disclosure verdict).
        NeedsOverride: a finding blocks under the policy in force and ``override`` is False.
    """
    try:
        settings = ws.settings_under(roster)
    except SettingsError as exc:
        raise DecisionError(str(exc)) from None
    check = check_approval(findings, settings, verdict=verdict, own_word=own_word)
    if check.refused is not None:
        raise DecisionError(check.refused)
    if check.blocking and not override:
        raise NeedsOverride(
            f"the asset has blocking findings ({check.blocking_kinds}) under the workspace's "
            "policy in force; approving it needs an explicit override"
        )
    return regrade(findings, settings), bool(check.blocking)


@dataclass(frozen=True)
class SigningContext:
    """What every entry this device signs in a workspace binds (DESIGN 3.1).

    Attributes:
        state: The current signed roster state.
        workspace_id: The workspace id.
        roster_head: (seq, hash) of the roster head.
        heads: (log fingerprint, seq, hash) of every other log this device verified.
    """

    state: RosterState
    workspace_id: str
    roster_head: tuple[int, str]
    heads: tuple[tuple[str, int, str], ...]

    def fields(self) -> dict[str, Any]:
        """The fields added to each entry: ``ws``, ``roster``, ``heads``."""
        return {
            "ws": self.workspace_id,
            "roster": {"seq": self.roster_head[0], "hash": self.roster_head[1]},
            "heads": [{"log": log, "seq": seq, "hash": h} for log, seq, h in self.heads],
        }


def signing_context(
    ws: Workspace,
    verifier: Verifier,
    trust: TrustStore,
    own: SshPublicKey | None,
    roster: SignedRoster | None = None,
) -> SigningContext:
    """Check that this device may sign in ``ws`` at all, and collect what an entry binds.

    Args:
        ws: The workspace.
        verifier: Verifies the logs (with this device's verified-prefix cache).
        trust: This device's pins.
        own: The signing key (its own log is not bound as another's head).
        roster: The signed roster if the caller loaded it already in this call; else loaded.

    Raises:
        DecisionError: no intact signed roster, the owner is not pinned (or not the pinned one).
    """
    if roster is None:
        roster = SignedRoster.load(ws.root / ROSTER_DIR)
    check = trust.check(roster, ws.root)
    if check.state == "no_roster":
        raise DecisionError(check.message)
    if check.state == "unpinned":
        raise DecisionError(
            f"this device has not pinned this workspace's owner yet; check the owner's key "
            f"{check.owner_fingerprint} with them, then run 'twinreview trust {ws.root}'"
        )
    if check.state == "mismatch":
        raise DecisionError(check.message)
    state, head = roster.current, roster.head
    if not roster.ok or state is None or head is None or roster.workspace_id is None:
        first = roster.problems[0].message if roster.problems else "no entries"
        raise DecisionError(f"the signed roster is not intact ({first}); nothing can be signed")
    report = verifier.verify(ws.root, roster)
    own_fp = own.fingerprint if own is not None else None
    good = {s.log for s in report.logs if s.ok}
    heads = tuple(
        (log, seq, h)
        for log, (seq, h) in sorted(report.heads.items())
        if log != ROSTER_LOG_ID and log != own_fp and log in good
    )
    return SigningContext(state, roster.workspace_id, head, heads)


def _asset_rel(ws: Workspace, asset: str | Path) -> tuple[str, str]:
    """The asset's workspace path and model id; the file itself may be gone (a withdrawal)."""
    try:
        _, rel, model_id = resolve_asset(ws, asset)
        return rel, model_id
    except DecisionError:
        given = Path(asset)
        if given.is_absolute():
            raise
        rel = Path(os.path.normpath(given)).as_posix()
        parts = rel.split("/")
        if len(parts) < 3 or parts[0] != ASSETS_DIR or ".." in parts:
            raise
        return rel, parts[1]


def _sidecar_of(ws: Workspace, rel: str) -> Path | None:
    sidecar = (ws.root / rel).with_suffix(SIDECAR_SUFFIX)
    return sidecar if sidecar.is_file() and ws.inside(sidecar) else None


def _image_digest(ws: Workspace, facts: AssetBytes) -> str | None:
    """The image-data digest of the very bytes decided on (their sha256 is checked again).

    Raises:
        AmbiguousImageError: decoders may show the file as another picture under its digest.
    """
    try:
        data = read_regular(ws.root / facts.rel, MAX_FILE_BYTES)
    except OSError as exc:
        raise DecisionError(f"{facts.rel}: cannot read ({exc.strerror or exc})") from None
    if hashlib.sha256(data).hexdigest() != facts.sha256:
        raise DecisionError(f"{facts.rel} changed while the decision was signed; decide again")
    return image_digest(data)
