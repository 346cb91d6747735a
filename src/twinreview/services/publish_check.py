"""``check-published``: was this published image really approved, by whom, per the signed logs?

An auditor holds a published image and an export (``twinreview export``), no workspace. For each
image :func:`check_published` reads its C2PA manifest (offline), which must be intact, takes the
``org.twinreview.signoff`` assertion from the active manifest, and looks up every decision it
names in the export: the export's heads file must verify (``services.export_check``), the
decision's log must hold an entry at that seq with that hash, the entry must verify against the
exported signed roster, and it must be an approval, by that principal in that role, of the very
bytes the sign-off says were reviewed, in the same workspace, and still stand: the principal's
last word on the asset in the export (withdrawn, rejected later) must still be that approval.
Each failure is one sentence.

Public API:
    check_published(files, export, *, trust=None) -> list[PublishedCheck]
    PublishedCheck: path, ok, problems, signoff, signer, c2pa_state; ``to_json()``.
    read_signoff(data, context) -> Signoff | None: the sign-off a file carries (not checked).
    ExportCheckError (re-raised from ``read_export_heads``): the export itself is unusable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinreview.core.disclosure import C2paState
from twinreview.core.disclosure.c2pa_reader import make_context, read_c2pa
from twinreview.core.disclosure.c2pa_writer import C2paSignError, read_store
from twinreview.core.disclosure.inspect import MAX_FILE_BYTES
from twinreview.core.disclosure.sniff import sniff
from twinreview.core.errors import iso_utc, one_line
from twinreview.core.files import read_regular
from twinreview.core.policy import APPROVE, WITHDRAW, Decision, latest_of
from twinreview.core.rosterlog import SignedRoster
from twinreview.core.signoff import LABEL, SignedDecision, Signoff, SignoffError
from twinreview.core.verify import VerifiedEntry, find_log_files, verify_logs
from twinreview.services.export_check import (
    ROSTER_FILE,
    ExportHeads,
    compare_with_export,
    read_export_file,
    read_export_heads,
)
from twinreview.services.status import verified_decisions
from twinreview.services.trust import TrustStore

_BROKEN = frozenset({C2paState.INVALID_INTEGRITY, C2paState.UNREADABLE})
_INTACT = frozenset(
    {C2paState.TRUSTED, C2paState.VALID_UNTRUSTED, C2paState.INVALID_CREDENTIAL_ONLY}
)


@dataclass(frozen=True)
class PublishedCheck:
    """The verdict on one published file.

    Attributes:
        path: The file as given.
        ok: Every decision of its sign-off is in the export, verifies, and approved its bytes.
        problems: One sentence each.
        signoff: The sign-off assertion, when one was read.
        signer: Who signed the C2PA manifest (the certificate's name), if read.
        c2pa_state: The manifest's state (``valid-untrusted``, ``invalid-integrity``...).
    """

    path: str
    ok: bool
    problems: tuple[str, ...]
    signoff: Signoff | None = None
    signer: str | None = None
    c2pa_state: str = ""

    def to_json(self) -> dict[str, Any]:
        """One record of ``check-published --json``."""
        return {
            "path": self.path,
            "ok": self.ok,
            "problems": list(self.problems),
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


def check_published(
    files: Sequence[Path], export: Path, *, trust: TrustStore | None = None
) -> list[PublishedCheck]:
    """Check each published file's sign-off against the export (see the module docstring).

    Raises:
        ExportCheckError: the export's heads file is missing, malformed or not signed by a key
            its own roster gives the exporter (nothing in it can then be relied on).
    """
    loaded = _load_export(export, trust)
    context = make_context()
    return [_check_file(path, loaded, context) for path in files]


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
    return _Export(heads, roster, entries, damaged, verified_decisions(report))


def _check_file(path: Path, export: _Export, context: Any) -> PublishedCheck:
    label = str(path)
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except OSError as exc:
        return PublishedCheck(label, False, (f"cannot read the file ({exc.strerror or exc})",))
    mime = sniff(data).mime
    c2pa = read_c2pa(data, mime, context, trust_configured=False)
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
    # An expired or untrusted brand certificate does not make the content or the sign-off
    # less intact (and without a timestamp every certificate expires one day): integrity counts.
    if c2pa.state not in _INTACT:
        return PublishedCheck(
            label,
            False,
            (f"it carries no intact Content Credentials ({state})",),
            signer=c2pa.signer,
            c2pa_state=state,
        )
    try:
        manifest = _active_manifest(read_store(data, mime, context))
        signoff = Signoff.from_json(_assertion(manifest, LABEL))
    except (C2paSignError, SignoffError) as exc:
        return PublishedCheck(label, False, (one_line(exc),), signer=c2pa.signer, c2pa_state=state)
    problems = _problems(signoff, manifest, export)
    return PublishedCheck(label, not problems, tuple(problems), signoff, c2pa.signer, state)


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


def _problems(signoff: Signoff, manifest: Mapping[str, Any], export: _Export) -> list[str]:
    problems: list[str] = []
    heads = export.heads
    if signoff.workspace_id != heads.workspace_id:
        problems.append(
            f"it was signed off in workspace {signoff.workspace_id[:16]}, but the export is of "
            f"workspace {heads.workspace_id[:16]}"
        )
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
    if signoff.roster_head is not None and export.roster.state_at(*signoff.roster_head) is None:
        problems.append(
            f"the roster head it names (entry {signoff.roster_head[0]}) is not in the exported "
            "signed roster"
        )
    for d in signoff.decisions:
        problem = _decision_problem(d, signoff, export)
        if problem:
            problems.append(problem)
    return problems


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
    return f"{who} was followed by a reject ({when}): it no longer stands in the export"


def _roster(payload: Mapping[str, Any]) -> tuple[int, str] | None:
    head = payload.get("roster")
    if isinstance(head, dict) and isinstance(head.get("seq"), int):
        return int(head["seq"]), str(head.get("hash"))
    return None
