"""``check-published``: was this published image really approved, by whom, per the signed logs?

An auditor holds a published image and an export (``twinreview export``), no workspace. For each
image :func:`check_published` reads its C2PA manifest (offline), which must be intact and signed
by a certificate that chains to a trust anchor (those the owner signed into the export's policy,
``disclosure.trust_anchor_certs``, or the ones given), takes the ``org.twinreview.signoff``
assertion from the active manifest, and looks up every decision it names in the export: the
export's heads file must verify (``services.export_check``), the decision's log must hold an
entry at that seq with that hash, the entry must verify against the exported signed roster, and
it must be an approval, by that principal in that role, of the very bytes the sign-off says were
reviewed, in the same workspace, and still stand: the principal's last word on the asset in the
export (withdrawn, rejected later) must still be that approval.

The pixels: every decision names the digest of the image data it approved
(``core.publish.imagedigest``); the published file's own digest must be that one. When the publisher
stamped a visible label the digest cannot match: the sign-off gives the label's box, and with
the workspace the approved file is read and every pixel outside the box compared
(``core.publish.labelstamp.compare_outside``); without it the file does not pass: the pixels outside
the label were not compared, so nothing shows they are the approved image. A decision signed
before decisions carried a digest is checked through the workspace's file (its sha256 must be
the approved one); without the workspace it fails. Each failure is one sentence. An ambiguous
file (one that decoders may show as different pictures under one digest,
``core.publish.imagedigest``) fails with that one line.

Named approvals are not enough: the asset must be cleared in the export under the one
approval rule (``core.approval.rule`` through ``core.approval.policy.evaluate``, as ``status``
judges it): a reject the model signed stands, and every role her consent requires must have
approved. A label box must be the one publishing stamps on an image of that size
(``core.publish.labelstamp.box_problem``). The ``c2pa.metadata`` assertion and the sign-off's
consent are required; the XMP must be what the assertion binds, its person shown the sign-off's
model (her id in this workspace, one of her names on the signed roster), its model release id the
consent entry the sign-off names.

Who made the export: anyone can make a workspace of their own, a CA, an export and published
files that all agree. Every answer names the export's workspace id and owner key, and whether
this device pinned that owner or the auditor gave its fingerprint (``--owner``, checked with the
brand); an export whose owner is neither is still checked, and the answer says the owner is not
known here. A given owner that is not the export's refuses the export.

The model's consent now is judged from her latest consent entry in the export's signed roster,
never from what the file carries, as ``twinreview published`` judges it (``core.publish.register``):
a file out of consent fails with the reason; a consent ending within 30 days gives its "take it
down by" date.

Public API:
    check_published(files, export, *, trust=None, trust_anchors=(), workspace=None, owner=None)
        -> list[PublishedCheck]
    PublishedCheck: path, ok, problems, notes, signoff, signer, c2pa_state, owner;
        ``to_json()``.
    ExportOwner: the export's workspace id and owner key, and whether this device pinned it
        (``PINNED``), the auditor gave it (``GIVEN``, ``--owner``) or neither (``NOT_PINNED``).
    owner_fingerprint(text) -> str: a typed fingerprint in the ``SHA256:...`` form.
    read_signoff(data, context) -> Signoff | None: the sign-off a file carries (not checked).
    ExportCheckError (re-raised from ``read_export_heads``): the export itself is unusable.
    read_trust_anchor(path) -> str: a trust anchor file's PEM text (TrustAnchorError otherwise).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from twinreview.core.approval.policy import (
    APPROVE,
    WITHDRAW,
    Decision,
    ModelPolicy,
    State,
    evaluate,
    latest_of,
    policy_from_consent,
)
from twinreview.core.disclosure import C2paState
from twinreview.core.disclosure.c2pa_reader import make_context, read_c2pa
from twinreview.core.disclosure.c2pa_writer import C2paSignError, read_store
from twinreview.core.disclosure.inspect import MAX_FILE_BYTES
from twinreview.core.disclosure.model import C2paReport
from twinreview.core.disclosure.policy import PEM_CERT
from twinreview.core.disclosure.sniff import sniff
from twinreview.core.disclosure.xmp import extract_packets
from twinreview.core.disclosure.xmpfields import read_fields
from twinreview.core.errors import TwinreviewError, iso_utc, one_line
from twinreview.core.files import open_regular, read_regular, resolve_inside
from twinreview.core.logs.verify import VerifiedEntry, find_log_files, verify_logs
from twinreview.core.publish.imagedigest import AmbiguousImageError, ambiguity, image_digest
from twinreview.core.publish.labelstamp import (
    LabelStampError,
    box_problem,
    compare_inside,
    compare_outside,
    load_label,
    shown_size,
    stamp_label,
)
from twinreview.core.publish.register import Judgement, PublishedRecord, judge
from twinreview.core.publish.signoff import LABEL, SignedDecision, Signoff, SignoffError
from twinreview.core.reasons import reasons_text
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.views import effective_config
from twinreview.core.settings import SettingsError, settings_from_config
from twinreview.core.workspace import SIGNED_POLICY_SOURCE, asset_model_id
from twinreview.services.consent import CONSENT_REF_PREFIX
from twinreview.services.export_check import (
    ROSTER_FILE,
    ExportCheckError,
    ExportHeads,
    compare_with_export,
    read_export_file,
    read_export_heads,
)
from twinreview.services.publish.publisher import METADATA, person_id
from twinreview.services.publish.register import published_records
from twinreview.services.status import (
    also_shown,
    approval_rule,
    eligible_for,
    valid_under_roster,
    verified_decisions,
    with_epoch,
)
from twinreview.services.trust import TrustStore

#: A trust anchor file larger than this is no certificate chain (it is not read).
MAX_ANCHOR_BYTES = 8 * 1024 * 1024
#: As ``publish --label`` reads the label.
MAX_LABEL_BYTES = 32 * 1024 * 1024
_BROKEN = frozenset({C2paState.INVALID_INTEGRITY, C2paState.UNREADABLE})
_INTACT = frozenset(
    {C2paState.TRUSTED, C2paState.VALID_UNTRUSTED, C2paState.INVALID_CREDENTIAL_ONLY}
)


class TrustAnchorError(TwinreviewError):
    """A trust anchor file that cannot be used; the message says why, without the path."""


def read_trust_anchor(path: Path) -> str:
    """The PEM text of a trust anchor file the auditor names (``--trust-anchor``).

    Raises:
        TrustAnchorError: it cannot be read, or holds no certificate.
    """
    try:
        text = read_regular(path, MAX_ANCHOR_BYTES).decode("ascii")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a PEM file"
        raise TrustAnchorError(f"cannot read it ({why})") from None
    if PEM_CERT not in text:
        raise TrustAnchorError("holds no PEM certificate")
    return text


#: ``ExportOwner.trust``: this device pinned the export's owner for its workspace.
PINNED = "pinned"
#: The auditor named the owner's fingerprint (``--owner``) and it is the export's.
GIVEN = "given"
#: Nothing ties the export's owner to the brand: anyone can make a workspace and an export.
NOT_PINNED = "not-pinned"


@dataclass(frozen=True)
class ExportOwner:
    """The workspace an export is of, its owner, and whether this device knows that owner.

    Attributes:
        workspace_id: The workspace id (sha256 of the roster's genesis payload).
        workspace_name: Its name, from the genesis.
        principal: The owner's principal.
        fingerprint: The owner's key fingerprint (``SHA256:...``).
        trust: :data:`PINNED`, :data:`GIVEN` or :data:`NOT_PINNED`.
    """

    workspace_id: str
    workspace_name: str
    principal: str
    fingerprint: str
    trust: str

    @property
    def known(self) -> bool:
        """The owner is pinned on this device or was given by the auditor."""
        return self.trust in (PINNED, GIVEN)

    def summary(self) -> str:
        """One line: the workspace, its owner's key, and whether it is known here."""
        where = (
            f"the export is of workspace {self.workspace_name!r} (id {self.workspace_id[:16]}), "
            f"owner {self.principal} with key {self.fingerprint}"
        )
        if self.trust == PINNED:
            return f"{where}: pinned on this device"
        if self.trust == GIVEN:
            return f"{where}: the owner key given with --owner"
        return (
            f"{where}: not pinned on this device, so nothing here shows this is the brand's "
            f"workspace: check {self.fingerprint} with the brand (then pass --owner)"
        )

    def to_json(self) -> dict[str, Any]:
        """The ``export`` member of a ``check-published --json`` record."""
        return {
            "workspace_id": self.workspace_id,
            "workspace_name": self.workspace_name,
            "owner": self.principal,
            "owner_fingerprint": self.fingerprint,
            "owner_trust": self.trust,
        }


def owner_fingerprint(text: str) -> str:
    """An owner key fingerprint as the auditor typed it, in the ``SHA256:...`` form."""
    text = text.strip()
    return text if text.startswith("SHA256:") else f"SHA256:{text}"


@dataclass(frozen=True)
class PublishedCheck:
    """The verdict on one published file.

    Attributes:
        path: The file as given.
        ok: Every decision of its sign-off is in the export, verifies, and approved its bytes.
        problems: One sentence each.
        signoff: The sign-off assertion, when one was read.
        signer: Who signed the C2PA manifest (the certificate's name), if read.
        c2pa_state: The manifest's state (``trusted``, ``invalid-integrity``...).
        notes: What was checked how, one sentence each (the label stamped by the publisher).
        pixels: ``same-image-data`` (its image data digest is the approved one),
            ``label-compared`` (stamped label; the rest compared with the approved file),
            ``label-not-compared`` (stamped label; no workspace to compare with), or "".
        consent: Her consent now per the export: ``in_consent``, ``take_down_by``,
            ``out_of_consent`` (then among the problems), or "" when not known.
        owner: Who the export says owns the workspace, and whether this device knows that key.
    """

    path: str
    ok: bool
    problems: tuple[str, ...]
    signoff: Signoff | None = None
    signer: str | None = None
    c2pa_state: str = ""
    notes: tuple[str, ...] = ()
    pixels: str = ""
    consent: str = ""
    owner: ExportOwner | None = None

    def to_json(self) -> dict[str, Any]:
        """One record of ``check-published --json``."""
        return {
            "path": self.path,
            "ok": self.ok,
            "export": self.owner.to_json() if self.owner is not None else None,
            "problems": list(self.problems),
            "notes": list(self.notes),
            "pixels": self.pixels,
            "consent": self.consent,
            "c2pa_state": self.c2pa_state,
            "signer": self.signer,
            "signoff": self.signoff.to_json() if self.signoff else None,
        }


@dataclass(frozen=True)
class _Export:
    heads: ExportHeads
    roster: SignedRoster
    entries: Mapping[tuple[str, int], Sequence[VerifiedEntry]]
    damaged: Mapping[str, str]
    decisions: Sequence[Decision]
    published: Sequence[PublishedRecord] = ()
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    #: The one approval rule (``core.approval.rule``) under the export's signed policy.
    approval_rule: Callable[[Decision], str | None] = lambda d: None
    #: Display names of everyone the exported roster ever named, by principal.
    names: Mapping[str, str] = field(default_factory=dict)
    #: The visible label the signed policy names (a path in the workspace), if any.
    label: str | None = None


@dataclass(frozen=True)
class _Pixels:
    """What is known about a file's pixels: its own digest, and the approved file's."""

    digest: str | None
    label_box: tuple[int, int, int, int] | None
    workspace_digest: str | None
    workspace_problem: str | None
    approved: bytes | None = field(default=None, repr=False)
    xmp: Mapping[str, Any] = field(default_factory=dict)


def check_published(
    files: Sequence[Path],
    export: Path,
    *,
    trust: TrustStore | None = None,
    trust_anchors: Sequence[str] = (),
    workspace: Path | None = None,
    owner: str | None = None,
) -> list[PublishedCheck]:
    """Check each published file's sign-off against the export (see the module docstring).

    Args:
        files: The published files.
        export: A ``twinreview export`` folder.
        trust: This device's pins (the export's owner must be the pinned one, when pinned).
        trust_anchors: PEM texts trusted besides those of the export's signed policy.
        workspace: The workspace folder, to compare a labelled image (or one approved before
            decisions named their image data) with the approved file.
        owner: The owner key fingerprint the auditor checked with the brand (``--owner``).

    Raises:
        ExportCheckError: the export's heads file is missing, malformed or not signed by a key
            its own roster gives the exporter (nothing in it can then be relied on), its owner
            is not ``owner`` (or not the one pinned here), or the trust anchors cannot be used.
    """
    loaded = _load_export(export, trust)
    known = _export_owner(loaded.heads, trust, owner)
    anchors = [*export_anchors(loaded.roster), *trust_anchors]
    try:
        context = make_context("".join(a.strip() + "\n" for a in anchors) or None)
    except ValueError as exc:
        raise ExportCheckError(str(exc)) from None
    return [
        replace(_check_file(path, loaded, context, bool(anchors), workspace), owner=known)
        for path in files
    ]


def _export_owner(heads: ExportHeads, trust: TrustStore | None, given: str | None) -> ExportOwner:
    """The export's owner, and whether this device pinned it or the auditor named it.

    Anyone can make a workspace, a CA, an export and a published file that all agree: only an
    owner key checked with the brand ties an export to the brand.

    Raises:
        ExportCheckError: ``given`` is not the export's owner key.
    """
    principal, fingerprint = heads.owner
    if given is not None and owner_fingerprint(given) != fingerprint:
        raise ExportCheckError(
            f"the export's owner key is {fingerprint}, not the one given with --owner "
            f"({owner_fingerprint(given)}): it is not the workspace you checked; refusing it"
        )
    pinned = trust.pinned(heads.workspace_id) if trust is not None else None
    state = PINNED if pinned == fingerprint else GIVEN if given is not None else NOT_PINNED
    return ExportOwner(heads.workspace_id, heads.workspace_name, principal, fingerprint, state)


def export_anchors(roster: SignedRoster) -> list[str]:
    """The trust anchors (PEM) of the latest policy the owner signed into the roster.

    Only the owner's: the roster refuses an admin's policy that changes them, and a policy an
    admin signed is never read for them here either.
    """
    owned = [
        s.policy
        for s in roster.states
        if s.policy is not None and s.policy.principal == roster.owner and s.policy.seq == s.seq
    ]
    if not owned:
        return []
    disclosure = owned[-1].tables.get("disclosure")
    certs = disclosure.get("trust_anchor_certs") if isinstance(disclosure, Mapping) else None
    if not isinstance(certs, Mapping):
        return []
    return [v for _, v in sorted(certs.items()) if isinstance(v, str) and PEM_CERT in v]


def _load_export(export: Path, trust: TrustStore | None) -> _Export:
    heads = read_export_heads(export, trust=trust)
    roster = SignedRoster.from_bytes(read_export_file(export / ROSTER_FILE, ROSTER_FILE))
    report = verify_logs(find_log_files(export), roster, export)
    entries: dict[tuple[str, int], list[VerifiedEntry]] = {}
    for e in report.entries:
        if e.log is not None and e.seq is not None:
            entries.setdefault((e.log, e.seq), []).append(e)
    damaged: dict[str, str] = {}
    for p in compare_with_export(report, heads):
        if p.file == ROSTER_FILE:
            damaged.setdefault("roster", f"{p.kind}: {p.message}")
        for log in heads.logs:
            if log in p.message or heads.logs[log].file == p.file:
                damaged.setdefault(log, f"{p.kind}: {p.message}")
    names = {
        principal: person.display_name
        for state in roster.states
        for principal, person in state.persons.items()
    }
    return _Export(
        heads,
        roster,
        entries,
        damaged,
        verified_decisions(report),
        published_records(report),
        approval_rule=_approval_rule(roster),
        names=names,
        label=_label_name(roster),
    )


def _label_name(roster: SignedRoster) -> str | None:
    try:
        settings = settings_from_config(effective_config({}, roster), source=SIGNED_POLICY_SOURCE)
    except SettingsError:
        return None  # said by the approval rule: no approval counts
    return settings.disclosure.label


def _approval_rule(roster: SignedRoster) -> Callable[[Decision], str | None]:
    """The one approval rule (``core.approval.rule``) under the export's signed policy."""
    try:
        settings = settings_from_config(effective_config({}, roster), source=SIGNED_POLICY_SOURCE)
    except SettingsError as exc:
        broken = f"the signed policy cannot be read ({exc}); no approval counts"
        return lambda d: broken
    return approval_rule(settings)


def _check_file(
    path: Path, export: _Export, context: Any, anchored: bool, workspace: Path | None
) -> PublishedCheck:
    label = str(path)
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except OSError as exc:
        return PublishedCheck(label, False, (f"cannot read the file ({exc.strerror or exc})",))
    ambiguous = ambiguity(data)
    if ambiguous is not None:
        return PublishedCheck(label, False, (ambiguous,))
    mime = sniff(data).mime
    c2pa = read_c2pa(data, mime, context, trust_configured=anchored)
    state = c2pa.state.value
    if c2pa.state in _BROKEN:
        why = ", ".join(c2pa.failures[:3]) or "unreadable"
        return PublishedCheck(
            label,
            False,
            (f"its Content Credentials were altered after signing or cannot be read ({why})",),
            signer=c2pa.signer,
            c2pa_state=state,
        )
    if c2pa.state not in _INTACT:
        return PublishedCheck(
            label,
            False,
            (f"it carries no intact Content Credentials ({state})",),
            signer=c2pa.signer,
            c2pa_state=state,
        )
    if c2pa.state is not C2paState.TRUSTED:
        return PublishedCheck(
            label, False, (_untrusted(c2pa, anchored),), signer=c2pa.signer, c2pa_state=state
        )
    try:
        manifest = _active_manifest(read_store(data, mime, context))
        signoff = Signoff.from_json(_assertion(manifest, LABEL))
    except (C2paSignError, SignoffError) as exc:
        return PublishedCheck(label, False, (one_line(exc),), signer=c2pa.signer, c2pa_state=state)
    if signoff.label_box is not None:
        size = shown_size(data)
        wrong = (
            box_problem(size, signoff.label_box)
            if size is not None
            else "its image cannot be read to place its label box (a damaged file)"
        )
        if wrong is not None:
            return PublishedCheck(label, False, (wrong,), signoff, c2pa.signer, state)
    pixels = _pixels(data, signoff, workspace)
    problems = _problems(signoff, manifest, export, pixels)
    notes: list[str] = []
    kind = "same-image-data"
    if signoff.label_box is not None:
        x, y, w, h = signoff.label_box
        where = f"a visible AI label was stamped by the publisher ({c2pa.signer}) at x {x}, y {y}"
        where += f", {w}x{h} pixels"
        if pixels.workspace_digest is not None:
            kind = "label-compared"
            notes.append(f"{where}; every other pixel was compared with the approved file")
            if not problems and pixels.approved is not None:
                problem = compare_outside(pixels.approved, data, signoff.label_box) or (
                    _stamp_problem(pixels.approved, data, signoff.label_box, export, workspace)
                )
                if problem:
                    problems.append(problem)
                else:
                    notes.append(
                        "the label in it is the workspace's label as publishing stamps it on "
                        "the approved image"
                    )
        else:
            # Without the approved file nothing shows that the pixels around the label are the
            # ones she approved: a check that did not look at them does not pass them.
            kind = "label-not-compared"
            notes.append(where)
            if pixels.workspace_problem is None:
                problems.append(
                    "it carries a stamped label, and its pixels outside the label were not "
                    "compared with the approved file, so nothing shows they are the approved "
                    "image: check it with --workspace WS (the workspace it was approved in)"
                )
    consent = _consent_now(data, signoff, export)
    if consent.out:
        problems.extend(f"out of consent: {r}" for r in consent.reasons)
    else:
        notes.append(f"the model's consent, per this export: {consent.summary()}")
    return PublishedCheck(
        label,
        not problems,
        tuple(problems),
        signoff,
        c2pa.signer,
        state,
        tuple(notes),
        kind,
        consent.state.value,
    )


def _stamp_problem(
    approved: bytes, data: bytes, box: tuple[int, int, int, int], export: _Export, ws: Path | None
) -> str | None:
    """Why the label box does not hold publishing's stamp (None: it does).

    "A visible AI label was stamped" is checked, not taken from the sign-off: the workspace's
    label (the one the signed policy names) is stamped on the approved file again, the way
    ``publish --label`` stamps it, and the box must hold that stamp.
    """
    if ws is None:
        return None
    if export.label is None:
        return (
            "the label is missing or altered: the export's signed policy names no visible label "
            "to check the box against"
        )
    try:
        with open_regular(resolve_inside(ws, export.label)) as fh:
            label = load_label(fh.read(MAX_LABEL_BYTES))
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(exc)
        return f"the workspace's label {export.label} cannot be read to check the stamp ({why})"
    except LabelStampError as exc:
        return f"the workspace's label {export.label} cannot be used to check the stamp ({exc})"
    try:
        expected, where = stamp_label(approved, sniff(approved).format or "", label)
    except LabelStampError as exc:
        return f"the label cannot be stamped again on the approved file to check it ({exc})"
    if where != box:
        return (
            "the label is missing or altered: publishing stamps the workspace's label at "
            f"x {where[0]}, y {where[1]}, {where[2]}x{where[3]} pixels on the approved image, "
            "not in the box the sign-off gives"
        )
    return compare_inside(expected, data, box)


def _consent_now(data: bytes, signoff: Signoff, export: _Export) -> Judgement:
    """Her consent now, per the export's signed roster, for the file.

    Never only from what the file carries: her latest consent entry on the exported roster
    decides (withdrawn, ended, a use no longer allowed, a reset). The record to judge is the
    file's ``published`` entry when the export has one, else the latest ``published`` entry of
    the same reviewed bytes (what it went out for), else what the sign-off says. The approvals
    are checked apart (``_superseded``).
    """
    sha = hashlib.sha256(data).hexdigest()
    record = next((r for r in export.published if r.output_sha256 == sha), None)
    if record is None:
        same = [
            r
            for r in export.published
            if r.asset == signoff.asset and r.sha256 == signoff.asset_sha256
        ]
        record = max(same, key=lambda r: r.ts) if same else None
    if record is None:
        consent = signoff.consent
        record = PublishedRecord(
            publisher="",
            ts=export.at,
            log="",
            seq=0,
            entry_hash="",
            asset=signoff.asset,
            sha256=signoff.asset_sha256,
            image_digest=signoff.image_digest,
            # Hers whose asset it is, whatever model the sign-off names.
            model=asset_model_id(signoff.asset) or signoff.model,
            output="",
            output_sha256=sha,
            label=signoff.label_box is not None,
            consent_hash=consent.entry_hash if consent is not None else "",
            consent_seq=consent.roster_seq if consent is not None else _head_seq(signoff),
            consent_principal="",
            uses=None,
            categories=(),
            approvals=(),
            uses_known=False,
        )
    # The sentences name the model the record is judged for (her consent decides).
    state = export.roster.current
    person = state.model_person(record.model) if state is not None else None
    return judge(
        record,
        export.roster,
        (),
        export.at,
        model_name=person.display_name if person is not None else None,
    )


def _head_seq(signoff: Signoff) -> int:
    return signoff.roster_head[0] if signoff.roster_head is not None else 0


def _untrusted(c2pa: C2paReport, anchored: bool) -> str:
    who = c2pa.signer or "an unnamed signer"
    issuer = f", issued by {c2pa.signer_issuer}" if c2pa.signer_issuer else ""
    if not anchored:
        return (
            f"its Content Credentials were signed by {who}{issuer}, and there is no trust anchor "
            "to check that signer against: the export's signed policy names none (pass "
            "--trust-anchor PEM)"
        )
    expired = " (its certificate has expired)" if any("expired" in f for f in c2pa.failures) else ""
    return (
        f"its Content Credentials were signed by {who}{issuer}, which is not trusted: the "
        f"certificate does not chain to a trust anchor of the export's signed policy or "
        f"--trust-anchor{expired}"
    )


def _pixels(data: bytes, signoff: Signoff, workspace: Path | None) -> _Pixels:
    digest = image_digest(data)
    packets, _ = extract_packets(data, sniff(data).format)
    xmp = read_fields(packets[0].data) if packets else {}
    if workspace is None:
        return _Pixels(digest, signoff.label_box, None, None, xmp=xmp)
    try:
        approved = read_regular(resolve_inside(workspace, signoff.asset), MAX_FILE_BYTES)
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(exc)
        return _Pixels(
            digest,
            signoff.label_box,
            None,
            f"cannot read {signoff.asset} in the workspace ({why})",
            xmp=xmp,
        )
    if hashlib.sha256(approved).hexdigest() != signoff.asset_sha256:
        return _Pixels(
            digest,
            signoff.label_box,
            None,
            f"the workspace's {signoff.asset} is no longer the file that was approved (its "
            "sha256 differs)",
            xmp=xmp,
        )
    try:
        approved_digest = image_digest(approved)
    except AmbiguousImageError as exc:
        why = f"the workspace's {signoff.asset} is ambiguous: {exc.why}"
        return _Pixels(digest, signoff.label_box, None, why, xmp=xmp)
    return _Pixels(digest, signoff.label_box, approved_digest, None, approved, xmp)


def read_signoff(data: bytes, context: Any) -> Signoff | None:
    """The sign-off assertion of ``data``'s active manifest, or None (not checked: display only).

    Args:
        data: The whole file.
        context: An offline c2pa context (``core.disclosure.c2pa_reader.make_context``).
    """
    try:
        manifest = _active_manifest(read_store(data, sniff(data).mime, context))
        return Signoff.from_json(_assertion(manifest, LABEL))
    except (C2paSignError, SignoffError):
        return None


def _active_manifest(store_json: str) -> Mapping[str, Any]:
    try:
        store = json.loads(store_json)
    except ValueError:
        raise SignoffError("the C2PA reader returned data that could not be parsed") from None
    manifests = store.get("manifests") if isinstance(store, dict) else None
    active = store.get("active_manifest") if isinstance(store, dict) else None
    if not isinstance(manifests, dict) or not isinstance(active, str):
        raise SignoffError("the file has no active C2PA manifest")
    manifest = manifests.get(active)
    if not isinstance(manifest, dict):
        raise SignoffError("the file has no active C2PA manifest")
    return manifest


def _assertion(manifest: Mapping[str, Any], label: str) -> Any:
    for assertion in manifest.get("assertions") or []:
        if isinstance(assertion, dict) and assertion.get("label") == label:
            return assertion.get("data")
    raise SignoffError(
        f"its active manifest carries no {label} assertion (not published by "
        "twinreview, or published before sign-offs were recorded)"
    )


def _problems(
    signoff: Signoff, manifest: Mapping[str, Any], export: _Export, pixels: _Pixels
) -> list[str]:
    problems: list[str] = []
    heads = export.heads
    if signoff.workspace_id != heads.workspace_id:
        problems.append(
            f"it was signed off in workspace {signoff.workspace_id[:16]}, but the export is of "
            f"workspace {heads.workspace_id[:16]}"
        )
        return problems
    wrong_model = _model_problem(signoff)
    if wrong_model is not None:
        # Everything else (her consent, her reject, who is shown) is judged for the model the
        # sign-off names: a sign-off naming another model than the asset's is not judged on.
        problems.append(wrong_model)
        return problems
    if "roster" in export.damaged:
        problems.append(
            "the exported signed roster does not match the export's signed heads "
            f"({export.damaged['roster']})"
        )
    for ing in manifest.get("ingredients") or []:
        instance = ing.get("instance_id") if isinstance(ing, dict) else None
        if (
            isinstance(instance, str)
            and instance.startswith("sha256:")
            and instance != f"sha256:{signoff.asset_sha256}"
        ):
            problems.append(
                "its ingredient is another file than the one the sign-off says was reviewed"
            )
    problems.extend(_metadata_problems(signoff, manifest, export, pixels.xmp))
    if signoff.roster_head is not None and export.roster.state_at(*signoff.roster_head) is None:
        problems.append(
            f"the roster head it names (entry {signoff.roster_head[0]}) is not in the exported "
            "signed roster"
        )
    approved: dict[str, list[str]] = {}
    for d in signoff.decisions:
        problem = _decision_problem(d, signoff, export)
        if problem:
            problems.append(problem)
            continue
        payload = _payload(d, export)
        speaks = (
            _decision_model_problem(
                f"the decision of {d.principal} ({d.role})", d, payload, signoff, export
            )
            if payload is not None
            else None
        )
        if speaks is not None:
            problems.append(speaks)
            continue
        digest = payload.get("image_digest") if payload is not None else None
        who = f"{d.principal} ({d.role})"
        if not isinstance(digest, str):
            if pixels.workspace_digest is None:
                problems.append(
                    f"the decision of {who} does not name the image data it approved (signed "
                    "before decisions did): check the file with --workspace WS"
                    + (f"; {pixels.workspace_problem}" if pixels.workspace_problem else "")
                )
                continue
            digest = pixels.workspace_digest
        approved.setdefault(digest, []).append(who)
    problems.extend(_pixel_problems(signoff, pixels, approved))
    if not problems:
        # Named approvals that all hold still leave out what decides: her standing reject, a
        # required role that never approved. (A decision that fails is said once, above.)
        problems.extend(_clearance_problems(signoff, export))
    return problems


def _model_problem(signoff: Signoff) -> str | None:
    """Why the sign-off's model is not the asset's own (its folder under ``assets/``)."""
    owner = asset_model_id(signoff.asset)
    if owner is None:
        return (
            f"its sign-off names asset {signoff.asset}, which is no asset of any model (not "
            "under assets/<model>/)"
        )
    if signoff.model != owner:
        return (
            f"its sign-off names model {signoff.model!r}, but {signoff.asset} is an asset of "
            f"model {owner!r}: it is judged as hers, under her consent, or not at all"
        )
    return None


def _decision_model_problem(
    who: str, d: SignedDecision, payload: Mapping[str, Any], signoff: Signoff, export: _Export
) -> str | None:
    """Why a named decision does not speak for the sign-off's model (None: it does)."""
    signed_for = payload.get("model")
    if signed_for is not None and signed_for != signoff.model:
        return f"{who} was signed for model {signed_for!r}, not {signoff.model!r}"
    if d.role != "model":
        return None
    state = (export.roster.state_at(*d.roster) if d.roster is not None else None) or (
        export.roster.current
    )
    person = state.model_person(signoff.model) if state is not None else None
    if person is None or person.principal != d.principal:
        return f"{who} is not a decision of model {signoff.model!r} (she is not that model)"
    return None


def _clearance_problems(signoff: Signoff, export: _Export) -> list[str]:
    """Whether the asset is cleared in the export under the one approval rule, not only named.

    A sign-off may name real approvals and still leave out the one that decides: her standing
    reject, or a required role that never approved. The asset's decisions in the export are
    evaluated as ``status`` evaluates them (``core.approval.policy.evaluate`` with the approval rule
    of the signed policy); her consent itself is judged apart (``_consent_now``).
    """
    state = export.roster.current
    if state is None:
        return []
    policy = policy_from_consent(signoff.model, state.consent_for(signoff.model))
    eligible = eligible_for(state, signoff.model)
    decisions = [
        with_epoch(d, state)
        for d in export.decisions
        if d.asset == signoff.asset and valid_under_roster(d, export.roster)
    ]
    for d in decisions:
        eligible.setdefault(d.principal, d.role)
    # The other models the image may show, by the findings recorded with decisions on these
    # bytes, as ``status`` asks: each one's own approval is needed, her reject is a veto.
    also = also_shown(state, signoff.model, decisions, signoff.asset_sha256)
    found = evaluate(
        asset=signoff.asset,
        current_sha256=signoff.asset_sha256,
        decisions=decisions,
        policy=policy,
        eligible=eligible,
        now=export.at,
        sidecar_sha256=signoff.sidecar_sha256,
        judge=export.approval_rule,
        also=also,
    )
    if found.state is State.REJECTED:
        out = []
        for d in found.rejections:
            who = f"{export.names.get(d.principal, d.principal)} ({d.role})"
            out.append(
                f"{who} rejected it on {iso_utc(d.ts, 'auto')[:10]} ({reasons_text(d.reasons)}): "
                "the reject stands, so it is not cleared in the export"
            )
        return out
    if not isinstance(policy, ModelPolicy):
        return []  # no consent to clear it under: said by the consent check
    out = [
        f"the image also looks like {name}: her own approval is needed and none stands in "
        "the export"
        for name in found.awaiting
    ]
    approved = {d.role for d in found.approvals}
    missing = [r for r in policy.required_roles if r not in approved]
    if missing:
        out.append(
            f"it is not cleared in the export: the model's consent requires an approval by the "
            f"{' and the '.join(missing)}, and none stands for these bytes"
        )
    return out


def _metadata_problems(
    signoff: Signoff, manifest: Mapping[str, Any], export: _Export, xmp: Mapping[str, Any]
) -> list[str]:
    """The person fields: bound by the manifest, and naming her and her consent per the export.

    Whatever the file carries, who is shown and under which consent is checked against the
    export's signed roster: the XMP must be what the ``c2pa.metadata`` assertion binds, the
    person shown must be the sign-off's model (her identifier in this workspace and one of her
    display names), and the model release id must name the consent entry the sign-off names,
    a consent of hers in the export. A missing assertion, consent or field is a failure.
    """
    out: list[str] = []
    try:
        bound = _assertion(manifest, METADATA)
    except SignoffError:
        bound = None
        out.append(
            f"its Content Credentials carry no {METADATA} assertion: who is shown and under "
            "which consent are not bound to the file, so it cannot be checked"
        )
    signed = (
        {k: v for k, v in bound.items() if k != "@context"} if isinstance(bound, Mapping) else {}
    )
    for name in sorted(set(signed) | set(xmp)) if bound is not None else ():
        if signed.get(name) != xmp.get(name):
            out.append(
                f"its XMP {name} is {_short(xmp.get(name))}, but its Content Credentials "
                f"bind {_short(signed.get(name))}: the metadata was changed"
            )
            break
    consent = signoff.consent
    if consent is None:
        out.append(
            f"its sign-off names no consent of model {signoff.model!r}: nothing says it went "
            "out under her consent"
        )
        return out
    entry = next(
        (e for e in export.roster.entries if e.line_hash == consent.entry_hash and e.ok), None
    )
    if entry is None or entry.kind != "consent" or entry.payload.get("model") != signoff.model:
        out.append(
            f"the consent it names ({consent.entry_hash[:16]}...) is not a consent of model "
            f"{signoff.model!r} in the exported signed roster"
        )
    if out:
        return out
    person = _person_problem(signoff, export, xmp)
    if person is not None:
        return [person]
    if xmp.get("plus:ModelReleaseID") != [CONSENT_REF_PREFIX + consent.entry_hash]:
        return [
            f"its model release id is {_short(xmp.get('plus:ModelReleaseID'))}, not the consent "
            f"its sign-off names ({CONSENT_REF_PREFIX}{consent.entry_hash[:16]}...)"
        ]
    return []


def _person_problem(signoff: Signoff, export: _Export, xmp: Mapping[str, Any]) -> str | None:
    """Why the IPTC person shown is not the sign-off's model (None: it is her)."""
    want_id = person_id(signoff.workspace_id, signoff.model)
    names = {
        p.display_name
        for state in export.roster.states
        if (p := state.model_person(signoff.model)) is not None
    }
    shown = xmp.get("Iptc4xmpExt:PersonInImage")
    details = xmp.get("Iptc4xmpExt:PersonInImageWDetails")
    ids: list[object] = []
    detail_names: list[object] = []
    if isinstance(details, list):
        for item in details:
            if isinstance(item, Mapping):
                found = item.get("Iptc4xmpExt:PersonId")
                ids.extend(found if isinstance(found, list) else [found])
                name = item.get("Iptc4xmpExt:PersonName")
                detail_names.append(name.get("x-default") if isinstance(name, Mapping) else name)
    if ids != [want_id]:
        return (
            f"its IPTC person shown is {_short(ids or None)}, not model {signoff.model!r} of "
            f"this workspace ({want_id}), whom its sign-off names"
        )
    shown_names = shown if isinstance(shown, list) else [shown]
    if any(n not in names for n in [*shown_names, *detail_names]) or not detail_names:
        return (
            f"its IPTC person shown is named {_short(shown)}, but model {signoff.model!r} is "
            f"{_short(sorted(names))} on the exported signed roster"
        )
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if value is not None else "absent"
    return text if len(text) <= 80 else text[:77] + "..."


def _pixel_problems(
    signoff: Signoff, pixels: _Pixels, approved: Mapping[str, Sequence[str]]
) -> list[str]:
    if pixels.workspace_problem is not None and signoff.label_box is not None:
        return [pixels.workspace_problem]
    if signoff.label_box is None and pixels.digest is None:
        return ["its image data cannot be read (a damaged file)"]
    out: list[str] = []
    if signoff.label_box is None:
        wrong = {d: who for d, who in approved.items() if d != pixels.digest}
        for d, who in sorted(wrong.items()):
            out.append(
                f"its image data (digest {str(pixels.digest)[:16]}...) is not the image that "
                f"was approved by {', '.join(who)} (digest {d[:16]}...)"
            )
        return out
    # A stamped label changes the pixels: the decisions must agree with each other, with the
    # sign-off and with the approved file; the pixels are compared outside the label.
    named = {signoff.image_digest, pixels.workspace_digest} - {None}
    if len(set(approved) | named) > 1:
        out.append(
            "the decisions, the sign-off and the approved file do not name the same image "
            "data: the label was stamped on another image than the one approved"
        )
    return out


def _payload(d: SignedDecision, export: _Export) -> Mapping[str, Any] | None:
    good = [e for e in export.entries.get((d.key, d.seq), ()) if e.hash == d.entry_hash and e.ok]
    return good[0].payload if good else None


def _decision_problem(d: SignedDecision, signoff: Signoff, export: _Export) -> str | None:
    who = f"the decision of {d.principal} ({d.role}) at {d.key} seq {d.seq}"
    found = export.entries.get((d.key, d.seq), ())
    if not found:
        return f"{who} is not in the export"
    same = [e for e in found if e.hash == d.entry_hash]
    if not same:
        return f"{who} differs in the export (another entry has that place: edited or replaced)"
    good = [e for e in same if e.ok]
    if not good:
        states = ", ".join(sorted({e.state for e in same}))
        return f"{who} does not verify in the export ({states})"
    if d.key in export.damaged:
        return (
            f"{who}: its log in the export does not match the export's signed heads "
            f"({export.damaged[d.key]})"
        )
    p = good[0].payload
    checks = (
        (p.get("kind") == "decision" and p.get("decision") == "approve", "is not an approval"),
        (p.get("principal") == d.principal, f"was signed by {p.get('principal')}"),
        (p.get("role") == d.role, f"was signed as {p.get('role')}"),
        (p.get("ws") == signoff.workspace_id, "belongs to another workspace"),
        (
            str(p.get("sha256", "")).lower() == signoff.asset_sha256,
            f"approved other bytes (sha256 {str(p.get('sha256', ''))[:16]}...), not the reviewed "
            f"file's ({signoff.asset_sha256[:16]}...)",
        ),
        (p.get("asset") == signoff.asset, f"is about {p.get('asset')}, not {signoff.asset}"),
        (_roster(p) == d.roster, "names another roster head than the sign-off says"),
        (
            p.get("sidecar_sha256") == signoff.sidecar_sha256,
            "was signed with another sidecar (intended use) than the sign-off names",
        ),
    )
    for ok, why in checks:
        if not ok:
            return f"{who} {why}"
    return _superseded(who, d, signoff, export)


def _superseded(who: str, d: SignedDecision, signoff: Signoff, export: _Export) -> str | None:
    # An approval counts only while it is the principal's last word on the asset: a model who
    # withdrew it (or rejected later) after publishing no longer approves the image.
    mine = [x for x in export.decisions if x.principal == d.principal and x.asset == signoff.asset]
    if not mine:
        return None
    last = latest_of(mine)
    if last.decision == APPROVE and last.sha256 == signoff.asset_sha256:
        return None
    when = iso_utc(last.ts, "auto")
    if last.decision == WITHDRAW:
        return f"{who} was withdrawn later ({when}): it no longer stands in the export"
    if last.decision == APPROVE:
        return f"{who} was followed by an approval of other bytes ({when}): it no longer stands"
    why = f"; {reasons_text(last.reasons)}" if last.reasons else ""
    return f"{who} was followed by a reject ({when}{why}): it no longer stands in the export"


def _roster(payload: Mapping[str, Any]) -> tuple[int, str] | None:
    head = payload.get("roster")
    if isinstance(head, dict) and isinstance(head.get("seq"), int):
        return int(head["seq"]), str(head.get("hash"))
    return None
