"""The sign-off report: one self-contained HTML file (plus CSV and JSON) a brand can file or send.

Public API:
    build_report(scan, status, verification, *, exports=(), executor=None) -> SignOffReport
        Assembles, per asset: a thumbnail (Pillow, ~160 px, embedded as a ``data:`` URI), its
        findings, its disclosure verdict, every decision about it found in the logs (principal,
        role, time, reasons, note) with its verification state and what it counts for under the
        consent policy, and its status; who set the workspace policy and each model's own signed
        consent (roster entries); then the heads of the signed roster and of every log (seq and
        sha256 of the last line) and, for each export folder given, its whole-file signatures
        and its signed heads file, checked against the export's signed roster and compared with
        the workspace (``services.export_check``). Nothing in the workspace is written.
    render_html(report) -> str: the printable HTML page. Every string from the workspace (file
        names, notes, metadata, reasons) is escaped; a Content-Security-Policy forbids scripts and
        every resource but inline styles and ``data:`` images, as a second line of defence.
    write_csv(report, out): one row per asset (formula-looking cells are neutralised).
    SignOffReport.to_json() -> dict: the whole report without the thumbnails.

The report is not signed itself: what pins it are the heads it lists (anyone holding the logs
can check that their copy has those heads, or extends them) and the export it names, whose
``heads.json`` the exporter signed (``twinreview verify WS --against EXPORT`` compares).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import html
import io
import json
import stat
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from twinreview import __version__
from twinreview.core.findings import Finding, Severity
from twinreview.core.imageio import MAX_FILE_BYTES, ImageLoadError, load_image
from twinreview.core.likeness import sentence as likeness_sentence
from twinreview.core.policy import (
    REASON_CODES,
    Decision,
    Evaluation,
    ModelPolicy,
    State,
    decision_from_payload,
    parse_timestamp,
)
from twinreview.core.rosterlog import SignedRoster
from twinreview.core.rostermodel import ROSTER_DIR, ROSTER_LOG, ROSTER_LOG_ID
from twinreview.core.verify import GOOD, TORN_TAIL, VerifiedEntry, VerifyReport
from twinreview.services.export_check import ExportSignature, check_export_signatures
from twinreview.services.scan import AssetResult, ScanResult
from twinreview.services.status import AssetStatus, StatusReport
from twinreview.services.trust import TrustStore

THUMB_PX = 160
# Every thumbnail the report embeds is re-encoded by us, so the page never carries the asset's
# own bytes (or metadata) and stays small: ~5-10 kB per asset.
_THUMB_QUALITY = 78
_MAX_EVIDENCE_CHARS = 240

# What a decision counts for under the policy, as the report words it.
COUNTS = "counts"
SUPERSEDED = "superseded"
STALE = "stale"
IGNORED = "ignored"
UNTRUSTED = "untrusted"
UNREADABLE_ENTRY = "unreadable"


@dataclass(frozen=True)
class DecisionRow:
    """One decision entry about an asset, as found in a log (verified or not).

    Attributes:
        principal: Who signed it (None when the entry cannot be decoded).
        display_name: Their name from roster/people.toml, when listed.
        role: The role the entry claims.
        ts: When, ISO 8601 UTC as written in the entry.
        decision: approve / reject (as written).
        reasons: Reason codes.
        note: The reviewer's note.
        override: Approved despite blocking findings.
        sha256: The bytes decided on.
        file: The log file (workspace-relative).
        seq: Position in the log.
        verification: The verification state (``good``, ``bad_signature``, ...).
        verification_detail: Why it is not good ("" when good).
        effect: counts / superseded / stale / ignored / untrusted / unreadable.
        effect_detail: One sentence explaining the effect.
    """

    principal: str | None
    display_name: str | None
    role: str | None
    ts: str | None
    decision: str | None
    reasons: tuple[str, ...]
    note: str
    override: bool
    sha256: str | None
    file: str
    seq: int | None
    verification: str
    verification_detail: str
    effect: str
    effect_detail: str

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "principal": self.principal,
            "display_name": self.display_name,
            "role": self.role,
            "ts": self.ts,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "note": self.note,
            "override": self.override,
            "sha256": self.sha256,
            "file": self.file,
            "seq": self.seq,
            "verification": self.verification,
            "verification_detail": self.verification_detail,
            "effect": self.effect,
            "effect_detail": self.effect_detail,
        }


@dataclass(frozen=True)
class AssetSection:
    """Everything the report says about one asset."""

    path: str
    model_id: str
    model_name: str | None
    sha256: str | None
    error: str | None
    facts: Mapping[str, Any]
    findings: tuple[Finding, ...]
    disclosure: Mapping[str, Any] | None
    state: str
    status_summary: str
    status_lines: tuple[str, ...]
    decisions: tuple[DecisionRow, ...]
    thumbnail: str | None = None
    evidence_thumbnails: Mapping[str, str] = field(default_factory=dict)
    likeness: Mapping[str, Any] | None = None
    likeness_text: str = ""

    @property
    def worst(self) -> Severity | None:
        """Highest finding severity."""
        return max((f.severity for f in self.findings), default=None)

    def to_json(self) -> dict[str, Any]:
        """JSON form (thumbnails left out)."""
        return {
            "path": self.path,
            "model": self.model_id,
            "model_name": self.model_name,
            "sha256": self.sha256,
            "error": self.error,
            "facts": dict(self.facts),
            "findings": [f.to_json() for f in self.findings],
            "disclosure": dict(self.disclosure) if self.disclosure is not None else None,
            "status": {
                "state": self.state,
                "summary": self.status_summary,
                "details": list(self.status_lines),
            },
            "decisions": [d.to_json() for d in self.decisions],
            "likeness": dict(self.likeness) if self.likeness is not None else None,
            "likeness_text": self.likeness_text,
        }


@dataclass(frozen=True)
class LogHead:
    """The last entry of one log file: what pins the report to the logs.

    Attributes:
        file: Workspace-relative path of the log file.
        log: The log's key fingerprint.
        principal: Whose device log it is.
        entries: Complete lines.
        last_seq: seq of the last complete line (None if it cannot be decoded).
        head_sha256: sha256 of the last complete line, newline included: the ``prev`` the next
            entry of this log must carry.
        file_sha256: sha256 of the whole file as read for this report.
        ok: The file verified cleanly.
        torn_tail: The file ends in an unfinished line.
    """

    file: str
    log: str | None
    principal: str | None
    entries: int
    last_seq: int | None
    head_sha256: str | None
    file_sha256: str | None
    ok: bool
    torn_tail: bool

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "file": self.file,
            "log": self.log,
            "principal": self.principal,
            "entries": self.entries,
            "last_seq": self.last_seq,
            "head_sha256": self.head_sha256,
            "file_sha256": self.file_sha256,
            "ok": self.ok,
            "torn_tail": self.torn_tail,
        }


@dataclass(frozen=True)
class SignOffReport:
    """The assembled report."""

    workspace: str
    workspace_name: str
    generated_at: dt.datetime
    version: str
    counts: Mapping[str, int]
    verification_ok: bool
    problems: tuple[Mapping[str, Any], ...]
    policies: Mapping[str, Mapping[str, Any]]
    model_names: Mapping[str, str]
    assets: tuple[AssetSection, ...]
    heads: tuple[LogHead, ...]
    exports: tuple[ExportSignature, ...]
    export_dirs: tuple[str, ...]
    orphans: tuple[Mapping[str, Any], ...]
    notices: tuple[str, ...]
    workspace_id: str | None = None
    owner: Mapping[str, str] | None = None
    roster_head: LogHead | None = None
    workspace_policy: Mapping[str, Any] | None = None
    consents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON document (``twinreview report --json``)."""
        return {
            "report": "twinreview sign-off",
            "version": self.version,
            "workspace": self.workspace,
            "workspace_name": self.workspace_name,
            "generated_at": _iso(self.generated_at),
            "workspace_id": self.workspace_id,
            "owner": dict(self.owner) if self.owner is not None else None,
            "counts": dict(self.counts),
            "verification": {"ok": self.verification_ok, "problems": list(self.problems)},
            "workspace_policy": (
                dict(self.workspace_policy) if self.workspace_policy is not None else None
            ),
            "consents": {k: dict(v) for k, v in self.consents.items()},
            "policies": {k: dict(v) for k, v in self.policies.items()},
            "assets": [a.to_json() for a in self.assets],
            "roster_head": self.roster_head.to_json() if self.roster_head is not None else None,
            "log_heads": [h.to_json() for h in self.heads],
            "exports": {
                "folders": list(self.export_dirs),
                "signatures": [s.to_json() for s in self.exports],
            },
            "orphans": list(self.orphans),
            "notices": list(self.notices),
        }


# --- assembly --------------------------------------------------------------------------------


def thumbnail_data_uri(path: Path, size: int = THUMB_PX) -> str | None:
    """A JPEG thumbnail (long side ``size``) of the image at ``path`` as a ``data:`` URI.

    Returns:
        None when the file is not a regular file, too large, or not a readable image: the report
        then shows "no preview" (the scan's findings say why).
    """
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
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
    model_names = {mid: _model_name(m.config, mid) for mid, m in ws.models.items()}
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


def _model_name(config: Mapping[str, Any], model_id: str) -> str:
    name = config.get("display_name")
    return name if isinstance(name, str) and name.strip() else model_id


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
        lines.append(f"Approved by {_who(d.principal, people)} as {d.role} on {_iso(d.ts)}.")
    for d in ev.rejections:
        why = ", ".join(d.reasons) or "no reason given"
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
        key: tuple[object, ...] = (
            (e.log, e.seq) if e.ok else (e.file, e.line, hashlib.sha256(e.data).hexdigest())
        )
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
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- CSV -------------------------------------------------------------------------------------

CSV_FIELDS: tuple[str, ...] = (
    "path",
    "model",
    "state",
    "status",
    "disclosure",
    "worst_finding",
    "findings",
    "approvals",
    "rejections",
    "decisions",
    "untrusted_decisions",
    "sha256",
    "likeness",
)


def _cell(value: str) -> str:
    # A cell starting with = + - @ (or a tab/CR) is a formula to Excel and LibreOffice: a hostile
    # file name or note could run one in the reader's spreadsheet (OWASP "CSV injection").
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(report: SignOffReport, out: IO[str]) -> None:
    """One row per asset: status, disclosure, findings and decisions in a few columns."""
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for a in report.assets:
        counting = [d for d in a.decisions if d.effect == COUNTS]
        row = {
            "path": a.path,
            "model": a.model_id,
            "state": a.state,
            "status": a.status_summary,
            "disclosure": (a.disclosure or {}).get("verdict") or "",
            "worst_finding": a.worst.label if a.worst is not None else "",
            "findings": "; ".join(f"{f.kind} ({f.severity.label})" for f in a.findings),
            "approvals": "; ".join(
                f"{d.principal} ({d.role}) {d.ts}" for d in counting if d.decision == "approve"
            ),
            "rejections": "; ".join(
                f"{d.principal} ({d.role}) {d.ts}: {', '.join(d.reasons) or 'no reason'}"
                for d in counting
                if d.decision == "reject"
            ),
            "decisions": str(len(a.decisions)),
            "untrusted_decisions": str(sum(d.verification != GOOD for d in a.decisions)),
            "sha256": a.sha256 or "",
            "likeness": a.likeness_text,
        }
        writer.writerow({k: _cell(v) for k, v in row.items()})


# --- HTML ------------------------------------------------------------------------------------


def _e(value: object) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


_STATE_TEXT = {
    "cleared": "✔ Cleared",
    "pending": "… Pending",
    "rejected": "✘ Rejected",
    "blocked": "⊘ Blocked",
}
_SEVERITY_TEXT = {Severity.BLOCK: "Blocking", Severity.WARN: "Warning", Severity.INFO: "Info"}
_VERDICT_TEXT = {
    "disclosed": "Disclosed: C2PA and IPTC both say it is AI-made",
    "partial": "Partial: only one of C2PA / IPTC says it is AI-made",
    "missing": "Missing: nothing in the file says it is AI-made",
    "blocked": "Blocked: tampered or contradictory provenance",
}
_RELATION_TEXT = {
    "identical": "identical to the workspace's log now",
    "extended": "the workspace's log has grown since (the export is a prefix of it)",
    "differs": "DIFFERS from the workspace's log (edited, forked or replaced)",
    "missing": "no such log in the workspace now",
    "roster": "the roster's keys (allowed_signers) at export time",
    "heads": "every exported head is still in the workspace (it holds them or extends them)",
    "refused": "not compared: this heads file cannot be trusted",
}

_CSS = """
:root { --ink:#1b1f24; --muted:#5b6470; --line:#d5dae1; --bg:#ffffff; --soft:#f4f6f8;
  --ok:#1f7a3f; --okbg:#e3f4e8; --warn:#8a5a00; --warnbg:#fff3d6; --bad:#a3161b; --badbg:#fde4e4;
  --info:#1f4f8a; --infobg:#e4eefb; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); background: var(--bg); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 10px;
  border-bottom: 2px solid var(--line); padding-bottom: 4px; } h3 { font-size: 15px; margin: 0; }
h4 { font-size: 13px; margin: 12px 0 4px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
p { margin: 4px 0; } .muted { color: var(--muted); }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 12px; }
.wrap, td, h3, p, li, dd { overflow-wrap: anywhere; word-break: break-word; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
table.decisions { table-layout: fixed; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px;
  border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600;
  font-size: 12px; border: 1px solid currentColor; white-space: nowrap; }
.s-cleared { color: var(--ok); background: var(--okbg); }
.s-pending { color: var(--info); background: var(--infobg); }
.s-rejected, .s-blocked, .sev-block, .bad { color: var(--bad); background: var(--badbg); }
.sev-warn { color: var(--warn); background: var(--warnbg); }
.sev-info, .good { color: var(--info); background: var(--infobg); }
.ok { color: var(--ok); background: var(--okbg); }
.summary { display: flex; gap: 10px; flex-wrap: wrap; margin: 12px 0; }
.summary div { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px;
  min-width: 110px; }
.summary b { display: block; font-size: 22px; }
.asset { border: 1px solid var(--line); border-radius: 10px; padding: 14px; margin: 14px 0;
  break-inside: avoid; page-break-inside: avoid; }
.asset-head { display: flex; gap: 14px; align-items: flex-start; }
.thumb { width: 160px; min-width: 160px; height: 160px; display: flex; align-items: center;
  justify-content: center; background: var(--soft); border: 1px solid var(--line);
  border-radius: 6px; }
.thumb img { max-width: 158px; max-height: 158px; }
.thumb.small { width: 84px; min-width: 84px; height: 84px; }
.thumb.small img { max-width: 82px; max-height: 82px; }
.evidence { display: flex; gap: 8px; align-items: center; margin: 4px 0; }
.faces { position: relative; display: inline-block; line-height: 0; }
.faces i { position: absolute; border: 2px solid; border-radius: 2px; }
.f-own { border-color: #1f7a3f; } .f-other { border-color: #a3161b; }
.f-unknown, .f-ambiguous { border-color: #c77800; }
ul { margin: 4px 0; padding-left: 20px; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 4px 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; }
.sig { white-space: pre-wrap; font-size: 10px; max-height: 9em; overflow: hidden; margin: 4px 0;
  background: var(--soft); padding: 4px; border-radius: 4px; }
.note { font-style: italic; white-space: pre-wrap; }
nav.toc td a { color: inherit; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  .sig { max-height: none; font-size: 8px; }
  .asset { padding: 8px 10px; margin: 8px 0; }
  .thumb { width: 120px; min-width: 120px; height: 120px; }
  .thumb img { max-width: 118px; max-height: 118px; }
  h4 { margin: 6px 0 2px; }
}
"""


def render_html(report: SignOffReport) -> str:
    """The report as one self-contained, printable HTML page."""
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No scripts, no network: only inline styles and data: images may load.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Sign-off report: {_e(report.workspace_name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<header>",
        f"<h1>Sign-off report: {_e(report.workspace_name)}</h1>",
        f'<p class="muted wrap">Workspace <code>{_e(report.workspace)}</code> · generated '
        f"{_e(_iso(report.generated_at))} by twinreview {_e(report.version)}</p>",
        "</header>",
    ]
    parts += _html_summary(report)
    parts += _html_policies(report)
    parts.append("<h2>Assets</h2>")
    if not report.assets:
        parts.append('<p class="muted">This workspace has no assets.</p>')
    for i, a in enumerate(report.assets):
        parts += _html_asset(i, a)
    if report.orphans:
        parts += _html_orphans(report)
    parts += _html_pins(report)
    parts.append(
        "<footer><p>Perceptual hashes find derived copies of photos, not identity: a match never "
        "means “same person”. Decisions are SSHSIG-signed (OpenSSH), one append-only "
        "hash-chained log per reviewer device; <code>twinreview verify</code> or "
        "<code>ssh-keygen -Y verify</code> checks them without trusting this page.</p></footer>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_summary(report: SignOffReport) -> list[str]:
    total = len(report.assets)
    out = ["<h2>Summary</h2>", '<div class="summary">', f"<div><b>{total}</b>assets</div>"]
    for state in ("cleared", "pending", "rejected", "blocked"):
        out.append(
            f'<div class="s-{state}"><b>{int(report.counts.get(state, 0))}</b>'
            f"{_e(_STATE_TEXT[state])}</div>"
        )
    out.append("</div>")
    if not report.heads and report.verification_ok:
        out.append('<p class="muted">No decision logs yet: nobody has decided anything.</p>')
    elif report.verification_ok:
        out.append(
            f'<p><span class="badge ok">✔ Logs verified</span> All {len(report.heads)} decision '
            "log(s) verified: signatures, roster, revocation and hash chain.</p>"
        )
    else:
        out.append(
            f'<p><span class="badge bad">✘ Verification problems</span> '
            f"{len(report.problems)} problem(s) in the decision logs; the assets they touch are "
            "blocked.</p><ul>"
        )
        for p in report.problems:
            where = f" seq {p.get('seq')}" if p.get("seq") is not None else ""
            out.append(
                f"<li><code>{_e(p.get('file'))}</code>{_e(where)}: {_e(p.get('kind'))}: "
                f"{_e(p.get('message'))}</li>"
            )
        out.append("</ul>")
    for notice in report.notices:
        out.append(f'<p class="muted">Scan note: {_e(notice)}</p>')
    if report.assets:
        out.append('<nav class="toc"><table><thead><tr><th>Asset</th><th>Model</th>')
        out.append("<th>Status</th><th>Disclosure</th><th>Worst finding</th></tr></thead><tbody>")
        for i, a in enumerate(report.assets):
            worst = a.worst
            sev = (
                f'<span class="badge sev-{worst.label}">{_e(_SEVERITY_TEXT[worst])}</span>'
                if worst is not None
                else "none"
            )
            verdict = (a.disclosure or {}).get("verdict") or "not checked"
            out.append(
                f'<tr><td class="wrap"><a href="#asset-{i}">{_e(a.path)}</a></td>'
                f"<td>{_e(a.model_name or a.model_id)}</td>"
                f'<td><span class="badge s-{_e(a.state)}">{_e(_STATE_TEXT.get(a.state, a.state))}'
                f"</span></td><td>{_e(verdict)}</td><td>{sev}</td></tr>"
            )
        out.append("</tbody></table></nav>")
    return out


def _html_policies(report: SignOffReport) -> list[str]:
    out = ["<h2>Workspace policy and consent</h2>"]
    wp = report.workspace_policy
    if wp is None:
        out.append(
            '<p class="muted">No signed workspace policy: the built-in rules apply (which '
            "disclosure verdicts may be approved, finding severities). Edits to "
            "<code>twinreview.toml</code> count only once the owner signs them.</p>"
        )
    else:
        who = f"{wp.get('name')} <{wp.get('set_by')}>" if wp.get("name") else ""
        out.append(
            f"<p>Workspace policy set by <b>{_e(who or wp.get('set_by'))}</b> in signed roster "
            f"entry {_e(wp.get('roster_seq'))} ({_e(_when(wp.get('ts')))} UTC) "
            f'<span class="muted mono wrap">sha256 {_e(wp.get("entry_sha256") or "?")}</span>'
            "</p>"
        )
    if not report.policies:
        return [*out, '<p class="muted">No models.</p>']
    out.append(
        "<table><thead><tr><th>Model</th><th>Consent signed by</th><th>Required approvals</th>"
        "<th>Model veto</th><th>Consent until</th><th>Allowed uses</th></tr></thead><tbody>"
    )
    for mid, pol in report.policies.items():
        name = _e(report.model_names.get(mid, mid))
        signed = _consent_signer(report.consents.get(mid))
        if "error" in pol:
            out.append(
                f"<tr><td>{name} <span class='muted'>({_e(mid)})</span></td><td>{signed}</td>"
                f'<td colspan="4" class="bad">Nothing can be cleared: {_e(pol["error"])}</td>'
                "</tr>"
            )
            continue
        uses = pol.get("allowed_uses")
        out.append(
            f"<tr><td>{name} <span class='muted'>({_e(mid)})</span></td><td>{signed}</td>"
            f"<td>{_e(', '.join(pol.get('required_roles') or []))}</td>"
            f"<td>{'yes' if pol.get('model_veto') else 'no'}</td>"
            f"<td>{_e(pol.get('expires') or 'no expiry')}</td>"
            f"<td>{_e('any' if uses is None else (', '.join(uses) or 'none'))}</td></tr>"
        )
    out.append("</tbody></table>")
    out.append(
        '<p class="muted">Each model signs her own consent with her own key (a consent entry '
        "in the signed roster); nobody else can give, widen or extend it.</p>"
    )
    return out


def _consent_signer(consent: Mapping[str, Any] | None) -> str:
    if consent is None:
        return '<span class="muted">not signed</span>'
    who = str(consent.get("signed_by") or "?")
    name = consent.get("name")
    text = f"{name} <{who}>" if name else who
    withdrawn = " (withdrawn)" if consent.get("withdrawn") else ""
    return (
        f"{_e(text)}{_e(withdrawn)}<div class='muted'>roster entry "
        f"{_e(consent.get('roster_seq'))}, {_e(_when(consent.get('ts')))} UTC</div>"
    )


def _html_asset(index: int, a: AssetSection) -> list[str]:
    thumb = (
        f'<span class="faces"><img src="{_e(a.thumbnail)}" alt="thumbnail of {_e(a.path)}">'
        f"{_face_boxes(a.likeness)}</span>"
        if a.thumbnail
        else '<span class="muted">no preview</span>'
    )
    facts = a.facts
    size = (
        f"{facts.get('width')} × {facts.get('height')} px, "
        if facts.get("width") and facts.get("height")
        else ""
    )
    fmt = facts.get("format") or "unknown format"
    out = [
        f'<section class="asset" id="asset-{index}">',
        '<div class="asset-head">',
        f'<div class="thumb">{thumb}</div>',
        "<div>",
        f"<h3>{_e(a.path)}</h3>",
        f'<p class="muted">Model: {_e(a.model_name or a.model_id)} ({_e(a.model_id)}) · '
        f"{_e(size)}{_e(fmt)}, {_e(facts.get('size', '?'))} bytes</p>",
        f'<p class="mono muted wrap">sha256 {_e(a.sha256 or "unreadable")}</p>',
        f'<p><span class="badge s-{_e(a.state)}">{_e(_STATE_TEXT.get(a.state, a.state))}</span> '
        f"{_e(a.status_summary)}</p>",
    ]
    if a.status_lines:
        out.append("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in a.status_lines) + "</ul>")
    if a.error:
        out.append(f'<p class="bad">Could not be analysed: {_e(a.error)}</p>')
    out.append("</div></div>")

    out.append("<h4>Findings</h4>")
    if not a.findings:
        out.append('<p class="muted">No findings.</p>')
    else:
        out.append("<ul>")
        for f in a.findings:
            out.append(
                f'<li><span class="badge sev-{f.severity.label}">'
                f"{_e(_SEVERITY_TEXT[f.severity])}</span> <b>{_e(f.kind)}</b>: {_e(f.message)}"
            )
            ref = f.evidence.get("reference")
            if isinstance(ref, str) and ref in a.evidence_thumbnails:
                out.append(
                    f'<div class="evidence"><div class="thumb small"><img src='
                    f'"{_e(a.evidence_thumbnails[ref])}" alt="reference {_e(ref)}"></div>'
                    f'<span class="muted">{_e(_evidence_label(ref))} <code>{_e(ref)}</code>'
                    "</span></div>"
                )
            ev = _evidence_text(f.evidence)
            if ev:
                out.append(f'<div class="muted mono wrap">{_e(ev)}</div>')
            out.append("</li>")
        out.append("</ul>")

    out += _html_likeness(a)
    out += _html_disclosure(a.disclosure)
    out += _html_decisions(a.decisions)
    out.append("</section>")
    return out


_FACE_VERDICT_TEXT = {
    "own": "the model",
    "other": "another model",
    "ambiguous": "the model or another model",
    "unknown": "nobody in this workspace",
}


def _face_boxes(likeness: Mapping[str, Any] | None) -> str:
    """Face boxes drawn over the thumbnail (the boxes are fractions of the image)."""
    out = []
    for face in _faces(likeness):
        x0, y0, x1, y1 = face["box"]
        style = (
            f"left:{100 * x0:.1f}%;top:{100 * y0:.1f}%;"
            f"width:{100 * (x1 - x0):.1f}%;height:{100 * (y1 - y0):.1f}%"
        )
        out.append(f'<i class="f-{_e(face["verdict"])}" style="{_e(style)}"></i>')
    return "".join(out)


def _faces(likeness: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    faces = (likeness or {}).get("faces") or []
    return [
        f
        for f in faces
        if isinstance(f, Mapping)
        and isinstance(f.get("box"), list)
        and len(f["box"]) == 4
        and all(isinstance(v, int | float) for v in f["box"])
    ]


def _html_likeness(a: AssetSection) -> list[str]:
    out = ["<h4>Likeness (faces)</h4>"]
    if a.likeness is None:
        return [*out, '<p class="muted">Not checked.</p>']
    if a.likeness_text:
        out.append(f"<p>{_e(a.likeness_text)}</p>")
    faces = _faces(a.likeness)
    if faces:
        out.append("<ul>")
        for n, face in enumerate(faces, 1):
            parts = [f"Face {n}: {_FACE_VERDICT_TEXT.get(str(face.get('verdict')), '?')}"]
            own = face.get("own")
            if isinstance(own, Mapping):
                parts.append(f"own model {own.get('distance')} to {own.get('reference')}")
            best = face.get("best")
            if isinstance(best, Mapping) and best.get("model") != a.model_id:
                parts.append(
                    f"closest model {best.get('model')} {best.get('distance')} to "
                    f"{best.get('reference')}"
                )
            out.append(f'<li class="mono wrap">{_e(" · ".join(parts))}</li>')
        out.append("</ul>")
    out.append(
        f'<p class="muted">Face distances: {_e(a.likeness.get("threshold"))} or less is a '
        "match. A likeness aid for the reviewer, not proof of identity.</p>"
    )
    return out


def _evidence_label(rel: str) -> str:
    return "Reference photo" if rel.startswith("models/") else "Compared with"


def _evidence_text(evidence: Mapping[str, Any]) -> str:
    items = []
    for k, v in evidence.items():
        if v is None or v == [] or v == {}:
            continue
        text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        if len(text) > _MAX_EVIDENCE_CHARS:
            text = text[:_MAX_EVIDENCE_CHARS] + "…"
        items.append(f"{k}: {text}")
    return " · ".join(items)


def _html_disclosure(d: Mapping[str, Any] | None) -> list[str]:
    out = ["<h4>AI disclosure</h4>"]
    if d is None:
        return [*out, '<p class="muted">Not checked.</p>']
    verdict = str(d.get("verdict") or "unknown")
    cls = {"disclosed": "ok", "partial": "sev-warn"}.get(verdict, "bad")
    out.append(
        f'<p><span class="badge {cls}">{_e(verdict)}</span> {_e(_VERDICT_TEXT.get(verdict, ""))}'
        "</p>"
    )
    c2pa = _mapping(d.get("c2pa"))
    xmp = _mapping(d.get("xmp"))
    out.append('<dl class="kv">')
    out.append(f"<dt>C2PA</dt><dd>{_e(c2pa.get('state') or 'absent')}</dd>")
    if c2pa.get("signer"):
        out.append(f"<dt>Signer</dt><dd>{_e(c2pa.get('signer'))}</dd>")
    if c2pa.get("generator"):
        out.append(f"<dt>Generator</dt><dd>{_e(c2pa.get('generator'))}</dd>")
    failures = c2pa.get("failures") or []
    if failures:
        out.append(f"<dt>C2PA failures</dt><dd>{_e('; '.join(map(str, failures)))}</dd>")
    for st in c2pa.get("source_types") or []:
        if isinstance(st, Mapping):
            out.append(
                f"<dt>Source type</dt><dd>{_e(st.get('value'))} "
                f'<span class="muted">({_e(st.get("where"))})</span></dd>'
            )
    out.append(f"<dt>IPTC source type</dt><dd>{_e(xmp.get('source_type') or 'none')}</dd>")
    out.append("</dl>")
    notes = d.get("notes") or []
    if notes:
        out.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    return out


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


_EFFECT_CLASS = {
    COUNTS: "ok",
    SUPERSEDED: "sev-info",
    STALE: "sev-warn",
    IGNORED: "sev-warn",
    UNTRUSTED: "bad",
    UNREADABLE_ENTRY: "bad",
}


def _html_decisions(rows: Sequence[DecisionRow]) -> list[str]:
    out = ["<h4>Decisions</h4>"]
    if not rows:
        return [*out, '<p class="muted">No decisions yet.</p>']
    out.append(
        '<table class="decisions"><colgroup><col style="width:13%"><col style="width:19%">'
        '<col style="width:10%"><col style="width:24%"><col style="width:17%">'
        '<col style="width:17%"></colgroup>'
        "<thead><tr><th>When (UTC)</th><th>Who</th><th>Decision</th><th>Reasons and note"
        "</th><th>Signature</th><th>Counts?</th></tr></thead><tbody>"
    )
    for r in rows:
        who = _e(r.principal or "unknown")
        if r.display_name:
            who = f"{_e(r.display_name)}<br><span class='muted'>{who}</span>"
        reasons = "".join(
            f"<div>{_e(code)}: {_e(REASON_CODES.get(code, 'unknown reason code'))}</div>"
            for code in r.reasons
        )
        note = f'<div class="note">“{_e(r.note)}”</div>' if r.note else ""
        override = (
            '<div class="bad">Approved despite blocking findings (override).</div>'
            if r.override
            else ""
        )
        decision = (r.decision or "?").lower()
        dcls = {"approve": "ok", "reject": "bad"}.get(decision, "sev-warn")
        ver_cls = "ok" if r.verification == GOOD else "bad"
        ver_text = "✔ verified" if r.verification == GOOD else f"✘ {r.verification}"
        ver_detail = (
            f'<div class="muted">{_e(r.verification_detail)}</div>' if r.verification_detail else ""
        )
        where = f"{r.file} seq {r.seq}" if r.seq is not None else r.file
        out.append(
            f"<tr><td>{_e(_when(r.ts))}</td><td>{who}<br>"
            f"<span class='muted'>{_e(r.role or '?')}</span></td>"
            f'<td><span class="badge {dcls}">{_e(decision)}</span></td>'
            f"<td>{reasons or '<span class=muted>none</span>'}{note}{override}</td>"
            f'<td><span class="badge {ver_cls}">{_e(ver_text)}</span>{ver_detail}'
            f'<div class="muted mono wrap">{_e(where)}</div></td>'
            f'<td><span class="badge {_EFFECT_CLASS.get(r.effect, "bad")}">{_e(r.effect)}</span>'
            f'<div class="muted">{_e(r.effect_detail)}</div></td></tr>'
        )
    out.append("</tbody></table>")
    return out


def _when(ts: str | None) -> str:
    """``2026-03-01 09:01:00`` for an ISO timestamp; anything else as written."""
    if ts is None:
        return "?"
    try:
        return parse_timestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return ts


def _html_orphans(report: SignOffReport) -> list[str]:
    out = [
        "<h2>Decisions about files no longer in the workspace</h2>",
        "<table><thead><tr><th>Asset</th><th>Latest decision</th><th>Who</th><th>When</th>"
        "</tr></thead><tbody>",
    ]
    for d in report.orphans:
        out.append(
            f"<tr><td>{_e(d.get('asset'))}</td><td>{_e(d.get('decision'))}</td>"
            f"<td>{_e(d.get('principal'))} ({_e(d.get('role'))})</td><td>{_e(d.get('ts'))}</td>"
            "</tr>"
        )
    out.append("</tbody></table>")
    return out


def _html_pins(report: SignOffReport) -> list[str]:
    out = [
        "<h2>What pins this report</h2>",
        "<p>This page is not signed itself. It was computed from the signed roster and the "
        "decision logs below; each head is the sha256 of the file's last line, which the next "
        "entry must name as its <code>prev</code>. Anyone holding the logs can check that their "
        "copy ends with these heads, or extends them, and verify every entry with "
        "<code>ssh-keygen -Y verify</code>. An export's <code>heads.json</code> is signed by "
        "its exporter; <code>twinreview verify WS --against EXPORT</code> compares.</p>",
        "<h4>Heads of the signed roster and the decision logs</h4>",
    ]
    if report.workspace_id:
        owner = report.owner or {}
        out.append(
            f'<p class="muted wrap">Workspace id <code>{_e(report.workspace_id)}</code> · owner '
            f"{_e(owner.get('principal', '?'))} <code>{_e(owner.get('fingerprint', '?'))}</code>"
            "</p>"
        )
    rows = ([report.roster_head] if report.roster_head is not None else []) + list(report.heads)
    if not report.heads:
        out.append('<p class="muted">No decision logs yet.</p>')
    if rows:
        out.append(
            "<table><thead><tr><th>Log file</th><th>Reviewer</th><th>Entries</th>"
            "<th>Head (last seq, sha256 of last line)</th><th>File sha256</th><th>Verified</th>"
            "</tr></thead><tbody>"
        )
        for h in rows:
            ok = (
                '<span class="badge ok">✔ yes</span>'
                if h.ok
                else '<span class="badge bad">✘ no</span>'
            )
            torn = '<div class="muted">unfinished last line</div>' if h.torn_tail else ""
            out.append(
                f'<tr><td class="mono wrap">{_e(h.file)}<div class="muted">{_e(h.log or "")}'
                f"</div></td><td>{_e(h.principal or '?')}</td><td>{h.entries}</td>"
                f'<td class="mono wrap">seq {_e(h.last_seq)}<br>{_e(h.head_sha256 or "-")}</td>'
                f'<td class="mono wrap">{_e(h.file_sha256 or "unreadable")}</td>'
                f"<td>{ok}{torn}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("<h4>Export signatures</h4>")
    if not report.export_dirs:
        out.append(
            '<p class="muted">No export was given. <code>twinreview export WS OUTDIR</code> '
            "signs every log and the signed roster as a whole, and their heads "
            "(<code>heads.json</code>); pass <code>--export OUTDIR</code> to check those "
            "signatures here and compare the workspace with the exported heads.</p>"
        )
        return out
    out.append(
        "<table><thead><tr><th>Export</th><th>Signed file</th><th>Signer</th><th>Check</th>"
        "<th>Against the workspace</th></tr></thead><tbody>"
    )
    for s in report.exports:
        badge = (
            '<span class="badge ok">✔ good</span>'
            if s.valid
            else '<span class="badge bad">✘ not valid</span>'
        )
        rel_cls = "bad" if s.relation in ("differs", "missing", "refused") else ""
        sig = f'<div class="mono sig">{_e(s.signature)}</div>' if s.signature else ""
        found = (
            "<ul>" + "".join(f"<li>{_e(p)}</li>" for p in s.problems) + "</ul>"
            if s.problems
            else ""
        )
        out.append(
            f'<tr><td class="mono wrap">{_e(s.export)}</td><td class="mono wrap">{_e(s.file)}'
            f"{sig}</td><td>{_e(s.signer or 'unknown')}<div class='muted mono'>{_e(s.key)}</div>"
            f"</td><td>{badge}<div class='muted'>{_e(s.detail)}</div></td>"
            f'<td class="{rel_cls}">{_e(_RELATION_TEXT.get(s.relation, s.relation))}{found}'
            "</td></tr>"
        )
    out.append("</tbody></table>")
    return out


def decisions_by_effect(report: SignOffReport) -> Mapping[str, int]:
    """How many decision rows have each effect (for summaries and tests)."""
    counts: dict[str, int] = {}
    for a in report.assets:
        for d in a.decisions:
            counts[d.effect] = counts.get(d.effect, 0) + 1
    return counts


__all__ = [
    "CSV_FIELDS",
    "THUMB_PX",
    "AssetSection",
    "DecisionRow",
    "ExportSignature",
    "LogHead",
    "SignOffReport",
    "build_report",
    "decisions_by_effect",
    "render_html",
    "thumbnail_data_uri",
    "write_csv",
]
