"""The real :class:`~twinreview.ui.backend.ReviewBackend`: the services, called from workers.

Built once by the composition root (:mod:`twinreview.ui.app`) with the services it created.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from twinreview.core.approval.consent import UNREADABLE_USE
from twinreview.core.approval.policy import declared_uses
from twinreview.core.errors import TwinreviewError, one_line
from twinreview.core.logs.verify import NOTICES, SYNC_CONFLICT
from twinreview.core.roster.keyline import parse_key_line, principal_for
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import ROSTER_DIR
from twinreview.core.roster.people import Person, Roster
from twinreview.core.roster.views import policy_tables
from twinreview.core.workspace import (
    CONFIG_NAME,
    AssetRef,
    Workspace,
    WorkspaceError,
    read_file_config,
    read_sidecar,
)
from twinreview.services.compose import make_executor
from twinreview.services.consent import ConsentForm, consent_refusal
from twinreview.services.decisions import DecisionError, DecisionService
from twinreview.services.export import README as EXPORT_README
from twinreview.services.export import ExportError, export_signed
from twinreview.services.keys import Identity as KeyIdentity
from twinreview.services.keys import KeysError, KeyService
from twinreview.services.publish.check import (
    PublishedCheck,
    TrustAnchorError,
    check_published,
    read_trust_anchor,
)
from twinreview.services.publish.register import published_report
from twinreview.services.report import write as report_write
from twinreview.services.report.content import BAD_RELATIONS
from twinreview.services.report.write import ReportFiles, check_outputs
from twinreview.services.roster_admin import RosterAdminError, RosterService
from twinreview.services.scan.service import AssetResult, ScanResult, ScanService
from twinreview.services.status import compute_status, sha256_file
from twinreview.services.trust import PinCheck, Verifier
from twinreview.ui.backend import (
    AssetStatus,
    ExportOutcome,
    Identity,
    JoinOutcome,
    KeyringUnavailable,
    PairVerification,
    ReportOutcome,
    StatusSnapshot,
)
from twinreview.ui.roster_view import (
    NO_ROSTER,
    RosterView,
    TrustInfo,
    roster_view_from_show,
)
from twinreview.ui.scan_process import ProcessScanner, ScanProcessError

_log = logging.getLogger(__name__)


class ReportError(TwinreviewError):
    """The report cannot be written where asked; one line for the user."""


def _identity(ident: KeyIdentity) -> Identity:
    return Identity(ident.principal, ident.display_name, ident.role, ident.allowed_signers_line())


class ServicesBackend:
    """Adapts the scan, key, decision and status services to what the app needs.

    Args:
        scan_service: Scans workspaces on the shared executor, in this process.
        keys: The key service, or why there is none (no usable keyring: read-only mode).
        decisions: Signs and appends decisions (None in read-only mode).
        roster: Reads and changes the signed roster, pins owners (signing needs ``keys``).
        verifier: Verifies the logs against this device's rollback record and pin.
        scanner: Runs scans elsewhere (a :class:`~twinreview.ui.scan_process.ProcessScanner`,
            so the scan never competes with the GUI thread); ``scan_service`` is used when it
            is None or cannot start.
    """

    def __init__(
        self,
        scan_service: ScanService,
        keys: KeyService | str,
        decisions: DecisionService | None,
        roster: RosterService,
        verifier: Verifier,
        scanner: ProcessScanner | None = None,
    ) -> None:
        self._scan = scan_service
        self._keys = keys
        self._decisions = decisions
        self._roster = roster
        self._verifier = verifier
        self._scanner = scanner

    def _key_service(self) -> KeyService:
        if isinstance(self._keys, str):
            raise KeyringUnavailable(self._keys)
        return self._keys

    def scan(
        self, workspace: Workspace, progress: Callable[[Any], None] | None, cancel: threading.Event
    ) -> ScanResult:
        """Scan in the scan process, or on the shared executor when there is none."""
        if self._scanner is not None:
            try:
                self._scanner.start()
            except ScanProcessError as exc:
                _log.warning("scanning in the app's own process: %s", exc)
                self._scanner = None  # e.g. no way to start a process here: scan in-process
            else:
                return self._scanner.scan(workspace, progress, cancel)
        return self._scan.scan(workspace, progress=progress, cancel=cancel)

    def begin_scan(self, workspace: Workspace) -> None:
        """Start the scan of an opened workspace in the scan process now, ahead of :meth:`scan`.

        The scan process works while the window fills its queue; the :meth:`scan` that follows
        receives it. Does nothing without a scan process. Never blocks.
        """
        if self._scanner is not None:
            self._scanner.begin(workspace)

    def verify_pair(
        self, workspace: Workspace, query_path: Path, other_path: Path, prefer_mirrored: bool
    ) -> PairVerification | None:
        """Verify two images with the workspace's similarity thresholds (cached by the scan)."""
        th = workspace.settings.similarity
        v = self._scan.verify_pair(query_path, other_path, th, prefer_mirrored=prefer_mirrored)
        if v is None or not v.possible:
            return None
        # As the scan's evidence: a transform with too few inliers does not place the image.
        placed = v.homography is not None and v.inliers >= th.min_inliers
        rows = tuple(tuple(float(x) for x in r) for r in v.homography or ()) if placed else None
        return PairVerification(rows, v.inliers, v.mirrored)

    def load_identity(self) -> Identity | None:
        """This device's identity, None when there is none yet."""
        ident = self._key_service().current()
        return _identity(ident) if ident is not None else None

    def create_identity(self, principal: str, display_name: str, role: str) -> Identity:
        """Create the key in the keyring."""
        try:
            return _identity(self._key_service().init(principal, display_name, role))
        except KeysError as exc:
            raise ValueError(str(exc)) from None

    def decide(
        self,
        workspace: Workspace,
        result: AssetResult,
        decision: str,
        reasons: Sequence[str],
        note: str,
        override: bool,
    ) -> None:
        """Sign and append through the decision service (refuses with a one-line reason)."""
        if self._decisions is None:
            raise KeyringUnavailable(
                str(self._keys) if isinstance(self._keys, str) else "no signing key"
            )
        if decision == "approve":
            outside = consent_refusal(workspace, result.asset.rel)
            if outside is not None:
                raise DecisionError(f"This image cannot be approved. {outside}")
        self._decisions.decide(
            workspace,
            result.asset.rel,
            decision,
            reasons=tuple(reasons),
            note=note,
            findings=tuple(result.findings),
            override=override,
            expected_sha256=result.sha256,
            phash=result.phash,
            disclosure_verdict=result.disclosure.verdict.value if result.disclosure else None,
        )

    def withdraw(self, workspace: Workspace, rel: str, note: str) -> None:
        """Take back this reviewer's latest decision about ``rel`` (a signed withdraw entry)."""
        if self._decisions is None:
            raise KeyringUnavailable(
                str(self._keys) if isinstance(self._keys, str) else "no signing key"
            )
        self._decisions.withdraw(workspace, rel, note=note)

    def statuses(self, workspace: Workspace, results: Sequence[AssetResult]) -> StatusSnapshot:
        """Status of every asset over the merged, verified logs."""
        return self._statuses(workspace, results, None)

    def statuses_of(self, workspace: Workspace, results: Sequence[AssetResult]) -> StatusSnapshot:
        """Status of the assets of ``results`` alone (the logs are verified whole)."""
        return self._statuses(workspace, results, [r.asset for r in results])

    def _statuses(
        self,
        workspace: Workspace,
        results: Sequence[AssetResult],
        only: Sequence[AssetRef] | None,
    ) -> StatusSnapshot:
        # The scan just hashed every asset: reuse its sha256 instead of reading each file again.
        known = {r.asset.rel: r.sha256 for r in results if r.sha256}

        def sha256_of(asset: AssetRef) -> str:
            sha = known.get(asset.rel)
            return sha if sha is not None else sha256_file(asset.path)

        # Through the verifier: a log that went back since this device last verified it, or
        # an owner other than the pinned one, is reported (and blocks) here too.
        verified = self._verifier.verify(workspace.root)
        report = compute_status(workspace, report=verified, sha256_of=sha256_of, assets=only)
        state = verified.roster.current
        consent: dict[str, str] = {}
        if state is not None:
            for mid in workspace.models:
                given = state.consent_for(mid)
                if given is None:
                    consent[mid] = "missing"
                elif given.withdrawn:
                    consent[mid] = "withdrawn"
        return StatusSnapshot(
            {
                a.path: AssetStatus(a.evaluation, a.history, consent.get(a.model_id))
                for a in report.assets
            },
            report.verification_ok,
            tuple(_problem_line(p) for p in report.problems if p.kind not in NOTICES),
            tuple(r.sentence() for r in state.resets) if state is not None else (),
            any(p.restorable for p in verified.problems),
            tuple(f"{p.file}: {p.message}" for p in report.problems if p.kind == SYNC_CONFLICT),
        )

    def restore_signed(self, workspace: Workspace) -> tuple[str, ...]:
        """Put back what this device signed and the workspace lost (``verify --restore``)."""
        done = self._verifier.restore(workspace.root)
        return tuple(
            f"{r.file}: {r.lines} line(s) put back" + (" (written anew)" if r.created else "")
            for r in done
            if r.lines
        )

    # -- the signed roster ---------------------------------------------------------------------

    def check_trust(self, workspace: Workspace) -> TrustInfo:
        """How the workspace's owner compares with this device's pin."""
        return self._trust_info(workspace, self._roster.check_pin(workspace.root))

    def trust_workspace(self, workspace: Workspace, fingerprint: str) -> TrustInfo:
        """Pin the owner the user checked (refused if the roster's owner key changed since)."""
        return self._trust_info(
            workspace, self._roster.trust_workspace(workspace.root, fingerprint)
        )

    def create_workspace(self, root: Path, name: str) -> None:
        """``twinreview init`` on a new folder: its layout, then this device's key as owner."""
        self._key_service()  # no keyring: say so before writing anything
        root.mkdir(parents=True, exist_ok=True)
        for sub in ("models", "assets"):
            (root / sub).mkdir(exist_ok=True)
        config = root / CONFIG_NAME
        if not config.exists():
            config.write_text(f"[workspace]\nname = {json.dumps(name)}\n", encoding="utf-8")
        self._roster.init(root, name)

    def workspace_writable(self, workspace: Workspace) -> str | None:
        """Why decisions cannot be written here (a read-only folder or drive), or None."""
        return writable_problem(workspace.root)

    def make_owner(self, workspace: Workspace) -> TrustInfo:
        """This device's key becomes the owner (and is pinned).

        A workspace with a plain roster (``allowed_signers``, ``people.toml``) is taken over as
        ``twinreview roster migrate`` does: everyone on it keeps their keys and their decisions
        count; otherwise it is ``twinreview init``.
        """
        plain = Roster.load(workspace.root / ROSTER_DIR)
        if plain.people or plain.signers:
            self._roster.migrate(workspace.root)
        else:
            self._roster.init(workspace.root)
        return self.check_trust(workspace)

    def roster_view(self, workspace: Workspace, principal: str | None) -> RosterView:
        """The signed roster for the roster screen (and the identity's models)."""
        show = self._roster.show(workspace.root)
        view = roster_view_from_show(
            show,
            principal=principal,
            models={mid: m.display_name for mid, m in workspace.models.items()},
        )
        view = replace(view, approvable=_approvable(workspace), file_policy=_file_policy(workspace))
        if not view.my_consent_models:
            return view
        # The uses her images' sidecars name: what the consent screen offers to tick.
        mine = set(view.my_consent_models)
        uses: set[str] = set()
        for asset in workspace.iter_assets():
            if asset.model_id in mine and asset.sidecar is not None:
                uses.update(declared_uses(read_sidecar(asset.sidecar)[0]) or ())
        uses.discard(UNREADABLE_USE)  # not a use she could tick
        for mid in mine:
            given = view.consents.get(mid)
            if given is not None and given.uses:
                uses.update(given.uses)
        return replace(view, known_uses=tuple(sorted(uses)))

    def approve_join(self, workspace: Workspace, principal: str) -> None:
        """Approve a pending join request (owner or admin; refusals are one line)."""
        self._roster.approve(workspace.root, principal)

    def request_join(self, workspace: Workspace, models: Sequence[str]) -> str:
        """Write this device's signed join request; returns its file name."""
        return self._roster.request_join(workspace.root, tuple(models)).name

    def published(self, workspace: Workspace) -> Mapping[str, Any]:
        """Every published file and where it stands now, from the signed logs."""
        report = self._verifier.verify(workspace.root)
        return published_report(workspace, report=report).to_json()

    def give_consent(
        self,
        workspace: Workspace,
        model_id: str,
        form: ConsentForm | None,
        withdraw: bool,
    ) -> None:
        """Sign the model's consent with this device's key (the roster checks it is hers)."""
        if withdraw or form is None:
            self._roster.consent(workspace.root, model_id, withdraw=True)
        else:
            form.sign(self._roster, workspace.root)

    # -- the owner's work ------------------------------------------------------------------------

    def add_person(
        self,
        workspace: Workspace,
        key_line: str,
        principal: str,
        name: str,
        role: str,
        models: Sequence[str],
        admin: bool,
    ) -> str:
        """Add a person by the key line their identity shows (the roster refuses what it must)."""
        line = parse_key_line(key_line)
        who = principal_for(line, principal.strip() or None)
        person = Person(who, name.strip() or who, role, tuple(dict.fromkeys(models)))
        self._roster.add_person(workspace.root, person, line.key, admin=admin)
        return line.key.fingerprint

    def approve_joins(self, workspace: Workspace, principals: Sequence[str]) -> JoinOutcome:
        """Approve each request in turn; one refused does not stop the others."""
        added: list[str] = []
        refused: list[tuple[str, str]] = []
        for principal in principals:
            try:
                self._roster.approve(workspace.root, principal)
            except RosterAdminError as exc:
                refused.append((principal, one_line(exc)))
            else:
                added.append(principal)
        if not added and refused:
            raise RosterAdminError(refused[0][1])
        return JoinOutcome(tuple(added), tuple(refused))

    def remove_person(self, workspace: Workspace, principal: str) -> None:
        """Remove a person from the signed roster."""
        self._roster.remove_person(workspace.root, principal)

    def revoke_key(self, workspace: Workspace, principal: str, fingerprint: str) -> None:
        """Revoke one key of a person."""
        self._roster.revoke_key(workspace.root, principal, fingerprint)

    def set_admin(self, workspace: Workspace, principal: str, admin: bool) -> None:
        """Appoint or dismiss an admin."""
        self._roster.set_admin(workspace.root, principal, admin)

    def set_policy(self, workspace: Workspace, tables: Mapping[str, Any]) -> None:
        """Sign the rules (the same roster entry ``twinreview roster policy`` signs)."""
        self._roster.set_policy(workspace.root, tables)

    def reset_model(self, workspace: Workspace, principal: str, key_line: str) -> str:
        """Reset a model's key (``twinreview roster reset``): her line must name her, if any."""
        line = parse_key_line(key_line)
        self._roster.reset_model(workspace.root, principal_for(line, principal), line.key)
        return line.key.fingerprint

    def accept_log(self, workspace: Workspace, log: str) -> None:
        """Accept that a log now ends where it does (``twinreview roster accept``)."""
        self._roster.accept_head(workspace.root, log)

    def set_aside_bad_lines(self, workspace: Workspace) -> str | None:
        """Move roster lines that failed verification aside (``twinreview roster repair``).

        Returns:
            Where they went (workspace-relative), or None when there were none.
        """
        moved = self._roster.set_aside_bad_lines(workspace.root)
        return moved.relative_to(workspace.root).as_posix() if moved is not None else None

    def export_report(
        self, workspace: Workspace, scan: ScanResult, files: ReportFiles, exports: Sequence[Path]
    ) -> ReportOutcome:
        """Make the report from the app's finished scan and write the forms asked for."""
        problem = check_outputs(files, exports)
        if problem is not None:
            raise ReportError(problem)
        with make_executor() as executor:
            report = report_write.make_report(
                scan,
                self._verifier,
                exports=exports,
                executor=executor,
                thumbnails=files.html is not None,
            )
        written = report_write.write_report(report, files)
        bad = [s for s in report.exports if not s.valid or s.relation in BAD_RELATIONS]
        return ReportOutcome(
            tuple(written),
            len(report.assets),
            dict(report.counts),
            len(report.problems),
            len(bad),
        )

    def export_logs(self, workspace: Workspace, outdir: Path) -> ExportOutcome:
        """Export the signed roster and every log, signed with this device's key."""
        trust = self._verifier.trust
        if trust is None:  # a verifier without pins (tests): nothing to check the owner by
            raise ExportError("this device keeps no record of the owners it trusts")
        result = export_signed(workspace.root, outdir, self._key_service(), trust)
        logs = sum(1 for f in result.files if f.startswith("logs/") and f.endswith(".dlog"))
        roster = result.heads.get("roster") or {}
        report = result.report
        problems = tuple(_problem_line(p) for p in report.problems) if report else ()
        seq = roster.get("seq")
        return ExportOutcome(
            outdir, logs, seq if isinstance(seq, int) else None, problems, outdir / EXPORT_README
        )

    def check_published(
        self,
        files: Sequence[Path],
        export: Path,
        *,
        workspace: Path | None = None,
        trust_anchor: Path | None = None,
        owner: str | None = None,
    ) -> list[PublishedCheck]:
        """``check-published``, against an export, with this device's pinned owners."""
        anchors: list[str] = []
        if trust_anchor is not None:
            try:
                anchors.append(read_trust_anchor(trust_anchor))
            except TrustAnchorError as exc:
                raise TrustAnchorError(f"the trust anchor {trust_anchor.name} {exc}") from None
        return check_published(
            files,
            export,
            trust=self._verifier.trust,
            trust_anchors=anchors,
            workspace=workspace,
            owner=owner,
        )

    @staticmethod
    def _trust_info(workspace: Workspace, check: PinCheck) -> TrustInfo:
        name = workspace.name
        owner = None
        owner_name = ""
        if check.state != NO_ROSTER:
            roster = SignedRoster.load(workspace.root / ROSTER_DIR)
            name = roster.name or name
            owner = roster.owner
            state = roster.current
            person = state.persons.get(owner) if state is not None and owner else None
            owner_name = person.display_name if person is not None else ""
        return TrustInfo(
            check.state,
            name,
            owner,
            check.owner_fingerprint,
            check.pinned_fingerprint,
            check.message,
            owner_name,
        )


def writable_problem(root: Path) -> str | None:
    """Why this computer cannot write decisions into the workspace at ``root`` (None: it can).

    Tries for real (a temporary file in ``logs/``, or in the workspace when that does not exist
    yet): permissions, read-only mounts and full shared drives all show up the same way.
    """
    where = root / "logs" if (root / "logs").is_dir() else root
    try:
        fd, name = tempfile.mkstemp(prefix=".twinreview-write-check-", dir=where)
    except OSError:
        return (
            "This workspace folder is read-only on this computer: you can look and compare, "
            "but your decisions cannot be saved here. Ask for write access, or copy the folder."
        )
    os.close(fd)
    os.unlink(name)
    return None


def _file_policy(workspace: Workspace) -> Mapping[str, Any] | None:
    """The policy tables ``twinreview.toml`` holds now (None: it cannot be read)."""
    try:
        return policy_tables(read_file_config(workspace.root)[1])
    except WorkspaceError:
        return None


def _approvable(workspace: Workspace) -> frozenset[str] | None:
    """The disclosure verdicts the policy in force (the signed one) lets a reviewer approve."""
    roster = SignedRoster.load(workspace.root / ROSTER_DIR)
    try:
        return frozenset(v.value for v in workspace.settings_under(roster).disclosure.approvable)
    except ValueError:
        return None  # a broken table: the decision service refuses with its own message


def _problem_line(problem: Any) -> str:
    parts = [
        str(getattr(problem, k)) for k in ("file", "seq") if getattr(problem, k, None) is not None
    ]
    where = ":".join(parts)
    kind = getattr(problem, "kind", "")
    message = getattr(problem, "message", "") or str(problem)
    return f"{where} {kind}: {message}".strip()
