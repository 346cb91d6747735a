"""Assembling the sign-off report from a scan, the verified logs and the status under the policy.

Public API:
    build_report(scan, status, verification, *, roster=None, exports=(), executor=None,
                 thumbnails=True, trust=None) -> SignOffReport
        Per asset: a thumbnail (Pillow, ~160 px, re-encoded and embedded as a ``data:`` URI),
        its findings, its disclosure verdict, every decision about it found in the logs
        (principal, role, time, reasons, note) with its verification state and what it counts
        for under the consent policy, and its status; who set the workspace policy and each
        model's own signed consent (roster entries); then the heads of the signed roster and of
        every log (seq and sha256 of the last line) and, for each export folder given, its
        whole-file signatures and its signed heads file, checked against the export's signed
        roster and compared with the workspace (``services.export_check``); and every file that
        was published with its state under the model's consent (``services.publish.register``).
        Nothing in the workspace is written.
    thumbnail_data_uri(path, size=THUMB_PX) -> str | None.
    THUMB_PX.

The report is not signed itself: what pins it are the heads it lists (anyone holding the logs
can check that their copy has those heads, or extends them) and the export it names, whose
``heads.json`` the exporter signed (``twinreview verify WS --against EXPORT`` compares).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from twinreview import __version__
from twinreview.core.approval.policy import (
    Decision,
    Evaluation,
    ModelPolicy,
    State,
    decision_from_payload,
)
from twinreview.core.errors import iso_utc
from twinreview.core.files import read_regular
from twinreview.core.imageio import MAX_FILE_BYTES, ImageLoadError, load_image
from twinreview.core.likeness.model import sentence as likeness_sentence
from twinreview.core.logs.verify import TORN_TAIL, VerifiedEntry, VerifyReport
from twinreview.core.reasons import reasons_text
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import ROSTER_DIR, ROSTER_LOG, ROSTER_LOG_ID
from twinreview.services.export_check import check_export_signatures
from twinreview.services.publish.register import published_report
from twinreview.services.report.content import (
    COUNTS,
    IGNORED,
    STALE,
    SUPERSEDED,
    UNREADABLE_ENTRY,
    UNTRUSTED,
    AssetSection,
    DecisionRow,
    LogHead,
    SignOffReport,
)
from twinreview.services.scan.service import AssetResult, ScanResult
from twinreview.services.status import AssetStatus, StatusReport, sha256_file
from twinreview.services.trust import TrustStore

THUMB_PX = 160
# Every thumbnail the report embeds is re-encoded by us, so the page never carries the asset's
# own bytes (or metadata) and stays small: ~5-10 kB per asset.
_THUMB_QUALITY = 78


def thumbnail_data_uri(path: Path, size: int = THUMB_PX) -> str | None:
    """A JPEG thumbnail (long side ``size``) of the image at ``path`` as a ``data:`` URI.

    Returns:
        None when the file is not a regular file, too large, or not a readable image: the report
        then shows "no preview" (the scan's findings say why).
    """
    try:
        data = read_regular(path, MAX_FILE_BYTES)
        loaded = load_image(data, min_side=size, max_side=None)
    except (OSError, ImageLoadError):
        return None
    img = loaded.image
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=_THUMB_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def build_report(
    scan: ScanResult,
    status: StatusReport,
    verification: VerifyReport,
    *,
    roster: SignedRoster | None = None,
    exports: Sequence[Path] = (),
    executor: Executor | None = None,
    thumbnails: bool = True,
    trust: TrustStore | None = None,
) -> SignOffReport:
    """Assemble the sign-off report of one workspace.

    Args:
        scan: A finished scan of the workspace (findings, disclosure, file facts).
        status: The status under the consent policy, computed over ``verification``.
        verification: The verification of every log (every entry, good or not).
        roster: The signed roster (default: the one ``verification`` replayed): who set the
            policy, each model's consent, and the owner an export's roster must start from.
        exports: Folders written by ``twinreview export``, whose signatures and heads to check.
        executor: Where to make thumbnails (in the calling thread when None).
        thumbnails: False to leave thumbnails out (CSV/JSON only).
        trust: This device's pinned owners (an export of a pinned workspace must start from
            the pinned owner); None to anchor exports in the workspace's roster only.

    Returns:
        The report. Never raises for bad files or logs: they show up in it.
    """
    ws = scan.workspace
    if roster is None:
        roster = verification.roster
    # The names the app shows: model.toml's display_name, else its name, else the folder.
    model_names = {mid: m.display_name for mid, m in ws.models.items()}
    people = dict(status.people)
    rows_by_asset = _decision_rows(verification, status, people)
    scan_by_rel = {a.asset.rel: a for a in scan.assets}

    # Thumbnails of the assets, and of the reference photos the findings point at.
    ref_paths = {r.rel: r.path for r in scan.references}
    thumb_jobs: dict[str, Path] = {}
    if thumbnails:
        for a in scan.assets:
            thumb_jobs[a.asset.rel] = a.asset.path
            for f in a.findings:
                ref = f.evidence.get("reference")
                if isinstance(ref, str) and ref in ref_paths:
                    thumb_jobs[ref] = ref_paths[ref]
    thumbs = _make_thumbnails(thumb_jobs, executor)

    sections: list[AssetSection] = []
    for st in status.assets:
        scanned = scan_by_rel.get(st.path)
        sections.append(
            _section(st, scanned, rows_by_asset.get(st.path, []), model_names, people, thumbs)
        )

    return SignOffReport(
        workspace=str(ws.root),
        workspace_name=ws.name,
        generated_at=status.now,
        version=__version__,
        counts=status.counts(),
        verification_ok=verification.ok,
        problems=tuple(p.to_json() for p in verification.problems),
        policies={
            mid: (p.to_json() if isinstance(p, ModelPolicy) else {"error": str(p)})
            for mid, p in sorted(status.policies.items())
        },
        model_names=model_names,
        assets=tuple(sections),
        heads=tuple(_log_heads(ws.root, verification)),
        exports=tuple(
            s
            for d in exports
            for s in check_export_signatures(d, ws.root, roster, verification, trust=trust)
        ),
        export_dirs=tuple(str(d) for d in exports),
        orphans=tuple(d.to_json() for d in status.orphans),
        notices=tuple(scan.notices),
        workspace_id=roster.workspace_id,
        owner=(
            {"principal": roster.owner or "", "fingerprint": roster.owner_key.fingerprint}
            if roster.owner_key is not None
            else None
        ),
        roster_head=_roster_head(ws.root, roster),
        workspace_policy=_workspace_policy(roster),
        consents=_consents(roster, ws.models),
        published=published_report(ws, at=status.now, report=verification).to_json(),
    )


def _entry_sha256(roster: SignedRoster, seq: int) -> str | None:
    return roster.states[seq].head_hash if 0 <= seq < len(roster.states) else None


def _workspace_policy(roster: SignedRoster) -> dict[str, Any] | None:
    """Who signed the policy in force, and in which roster entry (None: defaults, unsigned)."""
    state = roster.current
    if state is None or state.policy is None:
        return None
    pol = state.policy
    person = state.persons.get(pol.principal)
    return {
        "set_by": pol.principal,
        "name": person.display_name if person is not None else None,
        "roster_seq": pol.seq,
        "entry_sha256": _entry_sha256(roster, pol.seq),
        "ts": pol.ts,
        "tables": json.loads(json.dumps(pol.tables)),
    }


def _consents(roster: SignedRoster, models: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Each model's own signed consent in force: who signed it, in which roster entry, what."""
    state = roster.current
    out: dict[str, dict[str, Any]] = {}
    if state is None:
        return out
    for mid in sorted(models):
        consent = state.consent_for(mid)
        if consent is None:
            continue
        person = state.persons.get(consent.principal)
        out[mid] = {
            **consent.to_json(),
            "name": person.display_name if person is not None else None,
            "entry_sha256": _entry_sha256(roster, consent.seq),
        }
    return out


def _roster_head(root: Path, roster: SignedRoster) -> LogHead | None:
    """The signed roster's last line, like a log head."""
    if not roster.exists or not roster.entries:
        return None
    last = roster.entries[-1]
    rel = f"{ROSTER_DIR}/{ROSTER_LOG}"
    return LogHead(
        file=rel,
        log=ROSTER_LOG_ID,
        principal=roster.owner,
        entries=len(roster.entries),
        last_seq=last.seq,
        head_sha256=last.line_hash,
        file_sha256=_file_sha256(root / rel),
        ok=roster.ok,
        torn_tail=bool(roster.torn_tail),
    )


def _make_thumbnails(jobs: Mapping[str, Path], executor: Executor | None) -> dict[str, str]:
    keys = list(jobs)
    paths = [jobs[k] for k in keys]
    results: Iterable[str | None] = (
        executor.map(thumbnail_data_uri, paths) if executor else map(thumbnail_data_uri, paths)
    )
    return {k: uri for k, uri in zip(keys, results, strict=True) if uri is not None}


def _section(
    st: AssetStatus,
    scanned: AssetResult | None,
    rows: list[DecisionRow],
    model_names: Mapping[str, str],
    people: Mapping[str, str],
    thumbs: Mapping[str, str],
) -> AssetSection:
    findings = tuple(scanned.findings) if scanned else ()
    evidence = {
        ref: thumbs[ref]
        for f in findings
        if isinstance(ref := f.evidence.get("reference"), str) and ref in thumbs
    }
    lk = scanned.likeness if scanned else None
    return AssetSection(
        path=st.path,
        model_id=st.model_id,
        model_name=model_names.get(st.model_id),
        sha256=st.sha256,
        error=scanned.error if scanned else "not in the scan",
        facts=scanned.facts.to_json() if scanned else {},
        findings=findings,
        disclosure=scanned.disclosure if scanned else None,
        state=st.state.value,
        status_summary=_status_summary(st.evaluation, people),
        status_lines=_status_lines(st.evaluation, people),
        decisions=tuple(sorted(rows, key=lambda r: (r.ts or "", r.file, r.seq or 0))),
        thumbnail=thumbs.get(st.path),
        evidence_thumbnails=evidence,
        likeness=lk.to_json() if lk is not None else None,
        likeness_text=likeness_sentence(lk, model_names) if lk is not None else "",
    )


def _who(principal: str, people: Mapping[str, str]) -> str:
    name = people.get(principal)
    return f"{name} <{principal}>" if name else principal


def _status_summary(ev: Evaluation, people: Mapping[str, str]) -> str:
    if ev.state is State.CLEARED:
        roles = ", ".join(sorted({d.role for d in ev.approvals}))
        return f"Cleared: approved by {roles}."
    if ev.state is State.PENDING:
        return f"Pending: waiting for approval by {' and '.join(ev.missing_roles)}."
    if ev.state is State.REJECTED:
        who = "; ".join(_who(d.principal, people) for d in ev.rejections)
        return f"Rejected by {who}."
    return f"Blocked ({ev.blocked_by}): it cannot be cleared as things stand."


def _status_lines(ev: Evaluation, people: Mapping[str, str]) -> tuple[str, ...]:
    lines: list[str] = []
    for d in ev.approvals:
        lines.append(f"Approved by {_who(d.principal, people)} as {d.role} on {iso_utc(d.ts)}.")
    for d in ev.rejections:
        why = reasons_text(d.reasons)
        lines.append(f"Rejected by {_who(d.principal, people)} as {d.role} ({why}).")
    lines.extend(ev.problems)
    if ev.stale:
        who = ", ".join(sorted({_who(d.principal, people) for d in ev.stale}))
        lines.append(f"The file changed after {who} decided; those decisions no longer count.")
    return tuple(lines)


def _decision_rows(
    verification: VerifyReport, status: StatusReport, people: Mapping[str, str]
) -> dict[str, list[DecisionRow]]:
    """Asset path -> every decision entry about it, verified or not, each (log, seq) once."""
    evaluations = {a.path: a.evaluation for a in status.assets}
    out: dict[str, list[DecisionRow]] = {}
    seen: set[tuple[object, ...]] = set()
    for e in verification.entries:
        if e.kind not in ("decision", "withdraw") or e.state == TORN_TAIL:
            continue
        asset = e.payload.get("asset")
        if not isinstance(asset, str):
            continue
        # Copies of one log from several laptops repeat entries: list each once. A bad entry is
        # kept per copy, since copies may differ in exactly that line.
        key: tuple[object, ...] = (e.log, e.seq) if e.ok else (e.file, e.line, e.hash)
        if key in seen:
            continue
        seen.add(key)
        out.setdefault(asset, []).append(_row(e, evaluations.get(asset), people))
    return out


def _row(e: VerifiedEntry, ev: Evaluation | None, people: Mapping[str, str]) -> DecisionRow:
    p = e.payload
    reasons = p.get("reasons")
    principal = p.get("principal") if isinstance(p.get("principal"), str) else None
    base: dict[str, Any] = {
        "principal": principal,
        "display_name": people.get(principal) if principal else None,
        "role": _text(p.get("role")),
        "ts": _text(p.get("ts")),
        "decision": _text(p.get("decision")),
        "reasons": tuple(str(r) for r in reasons) if isinstance(reasons, list) else (),
        "note": _text(p.get("note")) or "",
        "override": p.get("override") is True,
        "sha256": _text(p.get("sha256")),
        "file": e.file,
        "seq": e.seq,
        "verification": e.state,
        "verification_detail": "; ".join(pr.message for pr in e.problems),
    }
    if not e.ok:
        return DecisionRow(
            **base,
            effect=UNTRUSTED,
            effect_detail="Not trusted: this entry failed verification, so it does not count.",
        )
    try:
        d = decision_from_payload(p)
    except ValueError as exc:
        return DecisionRow(**base, effect=UNREADABLE_ENTRY, effect_detail=f"Cannot be read: {exc}.")
    effect, detail = _effect(d, ev)
    return DecisionRow(**base, effect=effect, effect_detail=detail)


def _effect(d: Decision, ev: Evaluation | None) -> tuple[str, str]:
    if ev is None:
        return IGNORED, "The asset is not in the workspace."

    def same(x: Decision) -> bool:
        return (x.log, x.seq) == (d.log, d.seq)

    if any(same(x) for x in ev.counting):
        return COUNTS, "Counts: the latest decision of this reviewer about the current file."
    if any(same(x) for x in ev.stale):
        return STALE, "Does not count: it was about other bytes (the file changed since)."
    for x, why in ev.ignored:
        if same(x):
            return IGNORED, f"Does not count: {why}."
    return SUPERSEDED, "Superseded by a later decision of the same reviewer."


def _log_heads(root: Path, verification: VerifyReport) -> list[LogHead]:
    by_file: dict[str, list[VerifiedEntry]] = {}
    for e in verification.entries:
        by_file.setdefault(e.file, []).append(e)
    heads: list[LogHead] = []
    for s in verification.logs:
        entries = by_file.get(s.file, [])
        # Entries reused from the verified-prefix cache carry their hash, not their bytes.
        complete = [e for e in entries if e.state != TORN_TAIL]
        last = max(complete, key=lambda e: e.line, default=None)
        heads.append(
            LogHead(
                file=s.file,
                log=s.log,
                principal=s.principal,
                entries=s.entries,
                last_seq=last.seq if last else None,
                head_sha256=last.hash if last else None,
                file_sha256=_file_sha256(root / s.file),
                ok=s.ok,
                torn_tail=any(e.state == TORN_TAIL for e in entries),
            )
        )
    return heads


def _file_sha256(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


__all__ = ["THUMB_PX", "build_report", "thumbnail_data_uri"]
