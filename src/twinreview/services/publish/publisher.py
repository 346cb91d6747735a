"""Publishing cleared assets: a copy that discloses AI generation and carries its sign-off.

``publish_workspace(ws, outdir, credentials, ...)`` takes the assets the status service calls
*cleared* (every role the model's consent requires approved these bytes), reads each file again
and checks that its sha256 is still the one approved, and writes into ``outdir`` a copy in the
same format with:

- the IPTC ``Iptc4xmpExt:DigitalSourceType`` in its XMP (the value the file or its sidecar
  already states, else trainedAlgorithmicMedia; added, never contradicting what is there);
- a C2PA manifest signed with the brand's certificate: actions declaring the same digital source
  type (``c2pa.created``, or ``c2pa.opened`` of the reviewed file when that file had Content
  Credentials of its own, which are kept as its parent), the reviewed file as ingredient, the
  ``org.twinreview.signoff`` assertion (``core.publish.signoff``: the decisions, the digest of the
  image data they approved, the label's box) and, with ``no_training``, the
  ``c2pa.training-mining`` assertion saying notAllowed;
- with ``label``, the workspace's visible AI label stamped in a corner first.

Every copy is read back before it counts (disclosed, the manifest intact, the label found), and
all of them are written into a staging folder next to ``outdir`` that is renamed into place at
the end: a refusal or an error leaves nothing behind. Each file is recorded, just before that, as
a signed ``published`` entry in the publisher's own log (``services.publish.register``); nothing
else in the workspace is written.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from twinreview import __version__
from twinreview.core.approval.policy import Decision, State, declared_categories, declared_uses
from twinreview.core.disclosure import C2paState, DisclosureReport, Verdict, inspect_bytes
from twinreview.core.disclosure.c2pa_writer import (
    C2paSignError,
    make_signer,
    sign_asset,
    signing_context,
)
from twinreview.core.disclosure.sniff import sniff
from twinreview.core.errors import TwinreviewError, iso_utc, one_line
from twinreview.core.files import open_regular, resolve_inside
from twinreview.core.logs.verify import VerifiedEntry, VerifyReport, verify_workspace
from twinreview.core.publish.imagedigest import AmbiguousImageError, image_digest
from twinreview.core.publish.labelstamp import LabelStampError, load_label, stamp_label
from twinreview.core.publish.signoff import (
    LABEL,
    TRAINED,
    SignedConsent,
    SignedDecision,
    Signoff,
    choose_source_type,
)
from twinreview.core.publish.xmpwrite import (
    PublishedFields,
    XmpWriteError,
    main_packet,
    packet_with_fields,
    put_main_packet,
)
from twinreview.core.roster.model import Consent, RosterState
from twinreview.core.workspace import AssetRef, Workspace, read_sidecar
from twinreview.services.consent import consent_reference
from twinreview.services.disclosure import DisclosureService
from twinreview.services.publish.register import PublishRegister, RegisterError
from twinreview.services.publish.signer import SignerCredentials
from twinreview.services.status import StatusReport, compute_status

MAX_ASSET_BYTES = 512 * 1024 * 1024
FORMATS = frozenset({"jpeg", "png", "webp"})
# The training-and-data-mining assertion as CAWG defines it now (C2PA's older
# ``c2pa.training-mining`` is still read, by ``core.disclosure.c2pa_reader``).
TRAINING_MINING = "cawg.training-mining"
_TRAINING_ENTRIES = (
    "cawg.ai_generative_training",
    "cawg.ai_training",
    "cawg.data_mining",
    "cawg.ai_inference",
)
METADATA = "c2pa.metadata"
_INGREDIENT_ID = "reviewed"
_PARENT_STATES = frozenset(
    {C2paState.TRUSTED, C2paState.VALID_UNTRUSTED, C2paState.INVALID_CREDENTIAL_ONLY}
)

Progress = Callable[[int, int, str], None]


class PublishError(TwinreviewError):
    """Publishing cannot start (OUTDIR, label, workspace); ``str(err)`` is one line."""


@dataclass(frozen=True)
class PublishOptions:
    """What to add besides the disclosure and the sign-off.

    Attributes:
        label: Stamp the workspace's visible AI label in a corner (re-encodes the image).
        no_training: Declare AI training and data mining not allowed.
    """

    label: bool = False
    no_training: bool = False


@dataclass(frozen=True)
class Published:
    """One file written.

    Attributes:
        asset: The reviewed asset (workspace-relative).
        output: The published copy, relative to the output folder.
        source_type: The digital source type it declares.
        approvals: ``principal (role)`` of each decision in its sign-off.
        size: Bytes written.
        record: The fields of its signed ``published`` entry (``core.publish.register``).
    """

    asset: str
    output: str
    source_type: str
    approvals: tuple[str, ...]
    size: int
    record: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Refusal:
    """An asset that was not published, and why (one line)."""

    asset: str
    reason: str


@dataclass
class PublishResult:
    """What :func:`publish_workspace` did: all of ``published``, or (refusals) nothing."""

    outdir: Path
    published: list[Published] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when something was published and nothing refused."""
        return bool(self.published) and not self.refused


@dataclass(frozen=True)
class _Review:
    """What every sign-off of one run names: verified entries, roster head, workspace."""

    entries: dict[tuple[str | None, int | None], VerifiedEntry]
    roster_head: tuple[int, str] | None
    workspace_id: str
    workspace_name: str
    roster: RosterState | None


@dataclass(frozen=True)
class _Job:
    asset: AssetRef
    sha256: str
    approvals: tuple[Decision, ...]


def publish_workspace(
    ws: Workspace,
    outdir: Path,
    credentials: SignerCredentials,
    *,
    register: PublishRegister,
    assets: Sequence[str] | None = None,
    options: PublishOptions | None = None,
    verify: Callable[[Path], VerifyReport] | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    executor: Executor | None = None,
    sha256_of: Callable[[AssetRef], str] | None = None,
) -> PublishResult:
    """Publish the cleared assets of ``ws`` (or the ones named) into ``outdir``.

    Args:
        ws: The workspace (only read).
        outdir: Absent, or an empty folder, outside the workspace.
        credentials: The brand's signing certificate chain and key.
        register: Records each file in the publisher's signed log (checked before anything is
            signed; written before the files are moved into place).
        assets: Workspace-relative paths to publish; default: every cleared asset.
        options: Label and training-mining choices.
        verify: Verifies the workspace's logs (``services.trust.Verifier.verify`` with this
            device's records); default: a plain verification.
        progress: Called with (done, total, asset) as each file is written.
        cancelled: Polled between files; True abandons the run (nothing is kept).
        executor: Signs several files at once (c2pa releases the GIL); default: one by one.
        sha256_of: An asset's current sha256 for its status (e.g. the scan cache's fast path);
            default: read and hash it. What is published is hashed again as it is signed.

    Returns:
        Everything published, or the refusals (then nothing was written).

    Raises:
        PublishError: ``outdir`` is unusable, the label is asked for but the workspace has none,
            C2PA refused the certificate, the register cannot be written, or the run was
            cancelled.
    """
    options = options or PublishOptions()
    _check_outdir(ws, outdir)
    try:
        register.ready(ws)
    except RegisterError as exc:
        raise PublishError(str(exc)) from None
    disclosure = DisclosureService.for_workspace(ws)
    label = _label(ws, disclosure) if options.label else None
    report = (verify or verify_workspace)(ws.root)
    status = compute_status(ws, report=report, sha256_of=sha256_of)
    jobs, refused = _select(ws, status, assets)
    result = PublishResult(outdir, refused=refused)
    if refused or not jobs:
        return result
    review = _Review(
        {(e.log, e.seq): e for e in report.merged()},
        report.roster.head,
        report.roster.workspace_id or "",
        report.roster.name or ws.name,
        report.roster.current,
    )
    context = signing_context()
    _probe(credentials, context)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".twinreview-publish-", dir=outdir.parent))

    def one(job: _Job) -> Published | Refusal:
        if cancelled is not None and cancelled():
            raise _Cancelled
        # A signer per file: files may be signed on several threads at once.
        signer = make_signer(credentials.alg, credentials.chain_pem, credentials.key_pem)
        try:
            return _publish_one(job, review, disclosure, label, options, signer, context, staging)
        except (TwinreviewError, OSError) as exc:
            return Refusal(job.asset.rel, _reason(exc))
        finally:
            signer.close()

    try:
        done: list[Published | Refusal] = []
        outcomes = (
            map(one, jobs)
            if executor is None
            else (f.result() for f in as_completed([executor.submit(one, j) for j in jobs]))
        )
        for outcome in outcomes:
            done.append(outcome)
            if progress is not None:
                progress(len(done), len(jobs), outcome.asset)
        result.refused = [o for o in done if isinstance(o, Refusal)]
        if not result.refused:
            order = {job.asset.rel: i for i, job in enumerate(jobs)}
            published = [o for o in done if isinstance(o, Published)]
            result.published = sorted(published, key=lambda p: order[p.asset])
            try:
                register.record(ws, [p.record for p in result.published])
            except RegisterError as exc:
                raise PublishError(f"{exc}; nothing was written") from None
            _move_into_place(staging, outdir)
    except _Cancelled:
        raise PublishError("publishing was cancelled; nothing was written") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


class _Cancelled(Exception):
    pass


def _probe(credentials: SignerCredentials, context: Any) -> None:
    """Sign a tiny image once, so that a certificate C2PA refuses stops the run with one line."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (128, 128, 128)).save(buf, "JPEG")
    manifest = {
        "claim_generator_info": [{"name": "twinreview", "version": __version__}],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": TRAINED}]},
            }
        ],
    }
    try:
        signer = make_signer(credentials.alg, credentials.chain_pem, credentials.key_pem)
        try:
            sign_asset(
                buf.getvalue(),
                "image/jpeg",
                manifest,
                {"title": "probe.jpg", "relationship": "componentOf"},
                buf.getvalue(),
                signer,
                context,
            )
        finally:
            signer.close()
    except C2paSignError as exc:
        raise PublishError(str(exc)) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"cannot read or write it ({exc.strerror or exc})"
    return one_line(exc)


def _check_outdir(ws: Workspace, outdir: Path) -> None:
    target = outdir.expanduser().resolve()
    if target.is_relative_to(ws.root.resolve()):
        raise PublishError(f"{outdir} is inside the workspace; publish to a folder outside it")
    if outdir.exists() and (not outdir.is_dir() or any(outdir.iterdir())):
        raise PublishError(f"{outdir} exists and is not an empty folder")


def _label(ws: Workspace, disclosure: DisclosureService) -> Image.Image:
    name = disclosure.policy.label
    if name is None:
        raise PublishError(
            "--label: the workspace names no visible label ([disclosure] label in "
            "twinreview.toml, signed into the roster)"
        )
    try:
        with open_regular(resolve_inside(ws.root, name)) as fh:
            return load_label(fh.read(32 * 1024 * 1024))
    except (OSError, ValueError) as exc:
        raise PublishError(f"--label: cannot read the label {name} ({one_line(exc)})") from None
    except LabelStampError as exc:
        raise PublishError(f"--label: {name}: {exc}") from None


def _select(
    ws: Workspace, status: StatusReport, named: Sequence[str] | None
) -> tuple[list[_Job], list[Refusal]]:
    refs = {a.rel: a for a in ws.iter_assets()}
    jobs: list[_Job] = []
    refused: list[Refusal] = []
    wanted = list(dict.fromkeys(named)) if named else [a.path for a in status.assets]
    for rel in wanted:
        found = status.get(rel)
        ref = refs.get(rel)
        if found is None or ref is None:
            refused.append(Refusal(rel, "not an asset of this workspace"))
            continue
        if found.state is not State.CLEARED or found.sha256 is None:
            if named:
                refused.append(Refusal(rel, f"not cleared ({found.evaluation.summary()})"))
            continue
        jobs.append(_Job(ref, found.sha256, found.evaluation.approvals))
    return jobs, refused


def _read(path: Path) -> bytes:
    with open_regular(path) as fh:
        data = fh.read(MAX_ASSET_BYTES + 1)
    if len(data) > MAX_ASSET_BYTES:
        raise PublishError("the file is too large to be a photo")
    return data


def _publish_one(
    job: _Job,
    review: _Review,
    disclosure: DisclosureService,
    label: Image.Image | None,
    options: PublishOptions,
    signer: Any,
    context: Any,
    staging: Path,
) -> Published:
    data = _read(job.asset.path)
    if hashlib.sha256(data).hexdigest() != job.sha256:
        raise PublishError("the file changed since it was cleared; review it again")
    fmt = sniff(data).format
    if fmt not in FORMATS:
        raise PublishError(
            f"publishing {fmt or 'this kind of'} file is not supported (JPEG, PNG, WebP)"
        )
    mime = f"image/{fmt}"
    before = disclosure.inspect_report(data, job.asset.path)
    if before.c2pa.state in (C2paState.INVALID_INTEGRITY, C2paState.UNREADABLE):
        raise PublishError(
            "its Content Credentials are damaged or were tampered with; "
            "a published copy would carry that on"
        )
    sidecar = read_sidecar(job.asset.sidecar)[0] if job.asset.sidecar is not None else None
    active = [s.value for s in before.c2pa.source_types if s.active]
    source_type = choose_source_type(before.xmp.source_type, active, sidecar)
    parent = before.c2pa.state in _PARENT_STATES

    try:
        digest = image_digest(data)
    except AmbiguousImageError as exc:
        raise PublishError(str(exc)) from None
    if digest is None:
        raise PublishError("its image data cannot be read (a damaged file)")
    consent = review.roster.consent_for(job.asset.model_id) if review.roster else None
    if consent is None:
        raise PublishError("the model's signed consent is gone; nothing can go out under it")
    fields = _fields(job, review, consent, sidecar, source_type, options)
    box = None
    work = data
    if label is not None:
        work, box = stamp_label(data, fmt, label)
    try:
        packet = packet_with_fields(main_packet(data, fmt), fields)
    except XmpWriteError as exc:
        raise PublishError(str(exc)) from None
    work = put_main_packet(work, fmt, packet)

    signoff = _signoff(job, review, digest, box, consent)
    manifest = _manifest(job.asset.rel, source_type, signoff, parent, options, fields)
    ingredient = {
        "title": Path(job.asset.rel).name,
        "relationship": "parentOf" if parent else "componentOf",
        "instance_id": f"sha256:{job.sha256}",
        "label": _INGREDIENT_ID,
    }
    signed = sign_asset(work, mime, manifest, ingredient, data, signer, context)
    signer_name = _check_output(signed, disclosure, label is not None)
    uses = declared_uses(sidecar)
    if label is None and _digest_after(signed) != digest:
        raise PublishError("publishing changed its image data; nothing was written")

    rel_out = job.asset.rel.removeprefix("assets/")
    dest = staging / rel_out
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("xb") as fh:
        fh.write(signed)
        fh.flush()
        os.fsync(fh.fileno())
    record = {
        "asset": job.asset.rel,
        "sha256": job.sha256,
        "image_digest": digest,
        "model": job.asset.model_id,
        "person": fields.person_name,
        "output": rel_out,
        "output_sha256": hashlib.sha256(signed).hexdigest(),
        "label": box is not None,
        "label_box": signoff.to_json()["label_box"],
        "source_type": source_type,
        "signer": signer_name,
        "consent": {
            "entry_hash": consent.entry_hash,
            "roster_seq": consent.seq,
            "principal": consent.principal,
        },
        "uses": list(uses) if uses is not None else None,
        "categories": list(declared_categories(sidecar)),
        "decisions": [
            {
                "principal": d.principal,
                "role": d.role,
                "log": d.key,
                "seq": d.seq,
                "hash": d.entry_hash,
            }
            for d in signoff.decisions
        ],
    }
    return Published(
        job.asset.rel,
        rel_out,
        source_type,
        tuple(f"{d.principal} ({d.role})" for d in signoff.decisions),
        len(signed),
        record,
    )


def _fields(
    job: _Job,
    review: _Review,
    consent: Consent,
    sidecar: Mapping[str, Any] | None,
    source_type: str,
    options: PublishOptions,
) -> PublishedFields:
    """Who is shown and under which consent, for the XMP and the ``c2pa.metadata`` assertion."""
    model = job.asset.model_id
    person = review.roster.model_person(model) if review.roster else None
    generator = (sidecar or {}).get("generator")
    if isinstance(generator, Mapping):
        generator = generator.get("name")
    return PublishedFields(
        source_type=source_type,
        person_name=person.display_name if person is not None else model,
        person_id=person_id(review.workspace_id, model),
        release_id=consent_reference(consent),
        ai_system=generator.strip() if isinstance(generator, str) and generator.strip() else None,
        no_training=options.no_training,
    )


def _digest_after(signed: bytes) -> str | None:
    """The published bytes' image digest (None: unreadable, or made ambiguous by publishing)."""
    try:
        return image_digest(signed)
    except AmbiguousImageError:
        return None


def person_id(workspace_id: str, model_id: str) -> str:
    """A stable identifier of a model in a workspace (no e-mail address leaves with the file)."""
    return f"urn:twinreview:{workspace_id}:model:{model_id}"


def _signoff(
    job: _Job,
    review: _Review,
    digest: str,
    box: tuple[int, int, int, int] | None,
    consent: Consent,
) -> Signoff:
    if not job.approvals:
        raise PublishError("cleared without a counting approval; nothing to sign off")
    decisions = []
    sidecar = None
    for d in job.approvals:
        entry = review.entries.get((d.log, d.seq))
        if entry is None or entry.hash != d.entry_hash:
            raise PublishError(f"the decision of {d.principal} is not among the verified entries")
        approved = entry.payload.get("image_digest")
        if approved is not None and approved != digest:
            raise PublishError(
                f"the decision of {d.principal} names other image data than the file holds"
            )
        decisions.append(
            SignedDecision(
                principal=d.principal,
                role=d.role,
                key=d.log,
                seq=d.seq,
                entry_hash=d.entry_hash,
                ts=iso_utc(d.ts, "auto"),
                roster=_roster_of(entry),
            )
        )
        sidecar = d.sidecar_sha256
    return Signoff(
        workspace_id=review.workspace_id,
        workspace_name=review.workspace_name,
        asset=job.asset.rel,
        asset_sha256=job.sha256,
        model=job.asset.model_id,
        roster_head=review.roster_head,
        decisions=tuple(decisions),
        sidecar_sha256=sidecar,
        image_digest=digest,
        label_box=box,
        consent=SignedConsent(
            entry_hash=consent.entry_hash,
            roster_seq=consent.seq,
            uses=consent.uses,
            purpose=consent.purpose,
            expires=consent.expires,
            no_expiry=consent.no_expiry,
        ),
    )


def _roster_of(entry: VerifiedEntry) -> tuple[int, str] | None:
    head = entry.payload.get("roster")
    if isinstance(head, dict):
        seq, h = head.get("seq"), head.get("hash")
        if isinstance(seq, int) and isinstance(h, str):
            return seq, h
    return None


def _manifest(
    rel: str,
    source_type: str,
    signoff: Signoff,
    parent: bool,
    options: PublishOptions,
    fields: PublishedFields,
) -> dict[str, Any]:
    agent = {"name": "twinreview", "version": __version__}
    first: dict[str, Any] = (
        {
            "action": "c2pa.opened",
            "digitalSourceType": source_type,
            "parameters": {"ingredientIds": [_INGREDIENT_ID]},
        }
        if parent
        else {"action": "c2pa.created", "digitalSourceType": source_type}
    )
    first["softwareAgent"] = agent
    actions = [first]
    if options.label:
        actions.append(
            {
                "action": "c2pa.edited",
                "softwareAgent": agent,
                "description": "the visible AI label of the workspace was stamped in a corner",
            }
        )
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions.v2", "data": {"actions": actions}},
        {"label": LABEL, "data": signoff.to_json()},
        # Binds the XMP fields: an edit of them breaks the manifest, a re-signed copy differs.
        {"label": METADATA, "data": fields.metadata_assertion()},
    ]
    if options.no_training:
        assertions.append(
            {
                "label": TRAINING_MINING,
                "data": {"entries": {k: {"use": "notAllowed"} for k in _TRAINING_ENTRIES}},
            }
        )
    return {
        "claim_generator_info": [agent],
        "title": Path(rel).name,
        "assertions": assertions,
    }


def _check_output(data: bytes, disclosure: DisclosureService, labelled: bool) -> str:
    report: DisclosureReport = inspect_bytes(data, settings=disclosure.settings)
    if report.c2pa.state in (C2paState.INVALID_INTEGRITY, C2paState.UNREADABLE, C2paState.ABSENT):
        raise PublishError(
            f"the signed copy does not verify ({report.c2pa.state.value}: "
            f"{', '.join(report.c2pa.failures) or 'no detail'})"
        )
    if report.verdict is not Verdict.DISCLOSED:
        raise PublishError(f"the signed copy reads as {report.verdict.value}, not disclosed")
    if labelled and (report.label is None or not report.label.found):
        raise PublishError("the stamped label is not found by the label check")
    return report.c2pa.signer or ""


def _move_into_place(staging: Path, outdir: Path) -> None:
    if outdir.exists():
        outdir.rmdir()  # empty (checked before); replaced by the finished folder at once
    os.replace(staging, outdir)
