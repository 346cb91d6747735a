"""What the desktop app needs from the services, as one narrow interface.

The widgets never call services directly: they go through a :class:`ReviewBackend`, whose every
method is a blocking call made from a worker through the :mod:`~twinreview.ui.bridge`. Scan results
are the scan service's own types (:class:`~twinreview.services.scan.service.AssetResult`,
:class:`~twinreview.services.scan.service.ScanResult`). The real
implementation (:class:`twinreview.ui.services_backend.ServicesBackend`) is built by the composition
root (:mod:`twinreview.ui.app`); tests pass a fake with the same methods.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from twinreview.core.approval.policy import Decision, Evaluation
from twinreview.core.errors import TwinreviewError
from twinreview.core.workspace import Workspace
from twinreview.services.consent import ConsentForm
from twinreview.services.publish.check import PublishedCheck
from twinreview.services.report.write import ReportFiles
from twinreview.services.scan.service import AssetResult, ScanResult
from twinreview.ui.roster_view import RosterView, TrustInfo


class KeyringUnavailable(TwinreviewError):
    """No usable OS keyring: the app runs read-only. ``str(err)`` explains how to fix it."""


@dataclass(frozen=True)
class Identity:
    """The reviewer using this laptop.

    Attributes:
        principal: Usually an e-mail address; the name in ``allowed_signers``.
        display_name: What people see.
        role: ``model``, ``agent`` or ``brand``.
        allowed_signers_line: The line to hand to the workspace owner.
        model_ids: Models the workspace roster lets this principal decide for (empty: unknown).
    """

    principal: str
    display_name: str
    role: str
    allowed_signers_line: str
    model_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssetStatus:
    """Status of one asset under its model's policy, and every decision ever made about it.

    Attributes:
        evaluation: The consent-policy evaluation (cleared / pending / rejected / blocked).
        history: All decisions about this asset, oldest first, superseded and stale included.
        consent: ``missing`` when the asset's model has not signed her consent yet,
            ``withdrawn`` when she withdrew it, None otherwise.
    """

    evaluation: Evaluation
    history: tuple[Decision, ...] = field(default=())
    consent: str | None = None


@dataclass(frozen=True)
class StatusSnapshot:
    """Statuses of every asset and the health of the logs they come from.

    Attributes:
        assets: Status per workspace-relative path.
        verification_ok: False when any log failed verification.
        problems: One line per verification problem (shown, never repaired).
        notices: What everyone is shown although nothing failed: a model's key reset by the
            owner (with the new key to check with her).
        restorable: This device signed entries the workspace no longer holds, and keeps a copy
            of them: they can be put back (:meth:`ReviewBackend.restore_signed`).
        sync_copies: One line per copy of a log a file sync left (merged; someone tidies up).
    """

    assets: Mapping[str, AssetStatus]
    verification_ok: bool = True
    problems: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    restorable: bool = False
    sync_copies: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairVerification:
    """Two images verified geometrically on demand, for the compare view.

    Attributes:
        homography: 3 x 3 rows mapping the first image's fractions onto the second's, or None
            when no transform places it (too few inliers).
        inliers: Matches consistent with the transform.
        mirrored: True when the first image matched mirrored.
    """

    homography: tuple[tuple[float, ...], ...] | None
    inliers: int
    mirrored: bool


@dataclass(frozen=True)
class JoinOutcome:
    """Join requests approved at once: who was added, and who was refused (and why)."""

    added: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ReportOutcome:
    """A sign-off report written.

    Attributes:
        written: The files written.
        assets: How many images it covers.
        counts: Images per status (``cleared``, ``pending`` ...).
        log_problems: Problems verification found in the decision logs.
        bad_exports: Export files not validly signed or no longer matching the workspace.
    """

    written: tuple[Path, ...]
    assets: int
    counts: Mapping[str, int]
    log_problems: int
    bad_exports: int


@dataclass(frozen=True)
class ExportOutcome:
    """An export of the signed logs written.

    Attributes:
        outdir: The export folder.
        logs: How many decision logs it holds.
        roster_seq: The signed roster's last entry in it.
        problems: What verification found in the copies (the export is written anyway).
        readme: Its README (the ``ssh-keygen`` instructions).
    """

    outdir: Path
    logs: int
    roster_seq: int | None
    problems: tuple[str, ...]
    readme: Path


class ReviewBackend(Protocol):
    """Blocking service calls the app makes from worker threads."""

    def scan(
        self,
        workspace: Workspace,
        progress: Callable[[Any], None] | None,
        cancel: threading.Event,
    ) -> ScanResult:
        """Scan the workspace (similarity, disclosure); may be cancelled."""
        ...

    def begin_scan(self, workspace: Workspace) -> None:
        """Start the scan of a workspace just opened, ahead of :meth:`scan` (never blocks).

        Where scans run elsewhere (the scan process), the scan that :meth:`scan` then asks
        for is under way already; elsewhere nothing happens.
        """
        ...

    def verify_pair(
        self, workspace: Workspace, query_path: Path, other_path: Path, prefer_mirrored: bool
    ) -> PairVerification | None:
        """Verify two images geometrically (cached; blocking, about 50 ms for two photos).

        Returns:
            The verification (its homography maps ``query_path`` onto ``other_path``), or None
            when either file cannot be read or has too few keypoints to verify.
        """
        ...

    def load_identity(self) -> Identity | None:
        """Return this laptop's reviewer identity, None when there is none yet.

        Raises:
            KeyringUnavailable: when no usable keyring exists.
        """
        ...

    def create_identity(self, principal: str, display_name: str, role: str) -> Identity:
        """Create a key in the keyring and return the new identity.

        Raises:
            KeyringUnavailable: when no usable keyring exists.
            ValueError: for an invalid principal, name or role (message for the user).
        """
        ...

    def decide(
        self,
        workspace: Workspace,
        result: AssetResult,
        decision: str,
        reasons: Sequence[str],
        note: str,
        override: bool,
    ) -> None:
        """Sign and append a decision at once.

        Raises:
            Exception: with a one-line message for the user when it cannot be recorded.
        """
        ...

    def withdraw(self, workspace: Workspace, rel: str, note: str) -> None:
        """Sign a ``withdraw`` entry taking back this reviewer's latest decision about ``rel``.

        Raises:
            Exception: with a one-line message (e.g. nothing to withdraw).
        """
        ...

    def statuses(self, workspace: Workspace, results: Sequence[AssetResult]) -> StatusSnapshot:
        """Return the status of each asset over the merged, verified logs."""
        ...

    def statuses_of(self, workspace: Workspace, results: Sequence[AssetResult]) -> StatusSnapshot:
        """Like :meth:`statuses`, for the assets of ``results`` alone (a rescan's changes)."""
        ...

    def restore_signed(self, workspace: Workspace) -> tuple[str, ...]:
        """Put back the entries this device signed that the workspace lost (from its copy).

        Returns:
            One line per file put back (empty: nothing was missing).

        Raises:
            Exception: with a one-line message (a file holds other entries: a fork).
        """
        ...

    # -- the signed roster (every call may raise with a one-line message for the user) ---------

    def check_trust(self, workspace: Workspace) -> TrustInfo:
        """How the workspace's owner compares with this device's pin."""
        ...

    def trust_workspace(self, workspace: Workspace, fingerprint: str) -> TrustInfo:
        """Pin the workspace's owner, refusing unless its key is still ``fingerprint``."""
        ...

    def create_workspace(self, root: Path, name: str) -> None:
        """Make ``root`` a workspace (folders, ``twinreview.toml``) owned by this device's key."""
        ...

    def workspace_writable(self, workspace: Workspace) -> str | None:
        """Why decisions cannot be written into this workspace folder (None: they can)."""
        ...

    def make_owner(self, workspace: Workspace) -> TrustInfo:
        """Create the signed roster with this device's key as the owner (and pin it)."""
        ...

    def roster_view(self, workspace: Workspace, principal: str | None) -> RosterView:
        """The signed roster as ``principal`` sees it (people, requests, policy, problems)."""
        ...

    def approve_join(self, workspace: Workspace, principal: str) -> None:
        """Approve ``principal``'s join request (the roster refuses anyone but owner/admins)."""
        ...

    def request_join(self, workspace: Workspace, models: Sequence[str]) -> str:
        """Write this device's signed join request for ``models``; returns its file name."""
        ...

    def published(self, workspace: Workspace) -> Mapping[str, Any]:
        """Every published file and where it stands now (``PublishedReport.to_json()``)."""
        ...

    def give_consent(
        self,
        workspace: Workspace,
        model_id: str,
        form: ConsentForm | None,
        withdraw: bool,
    ) -> None:
        """Sign the model's own consent (only she can): her terms, or a withdrawal."""
        ...

    # -- the owner's work (every call may raise with a one-line message for the user) ---------

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
        """Add a person by their key line (owner or admin); returns the key's fingerprint."""
        ...

    def approve_joins(self, workspace: Workspace, principals: Sequence[str]) -> JoinOutcome:
        """Approve several join requests, one signed entry each; refusals do not stop the rest."""
        ...

    def remove_person(self, workspace: Workspace, principal: str) -> None:
        """Remove a person (their earlier decisions keep counting)."""
        ...

    def revoke_key(self, workspace: Workspace, principal: str, fingerprint: str) -> None:
        """Revoke one key of a person."""
        ...

    def set_admin(self, workspace: Workspace, principal: str, admin: bool) -> None:
        """Appoint or dismiss an admin (the owner only)."""
        ...

    def set_policy(self, workspace: Workspace, tables: Mapping[str, Any]) -> None:
        """Sign these policy tables as the workspace's rules (as ``twinreview roster policy``)."""
        ...

    def reset_model(self, workspace: Workspace, principal: str, key_line: str) -> str:
        """Give a model a key she did not sign (the owner only); returns its fingerprint.

        The same roster entry as ``twinreview roster reset``: everyone is shown it, her consent
        lapses until she signs it again, her earlier rejects stand.
        """
        ...

    def accept_log(self, workspace: Workspace, log: str) -> None:
        """Accept that the log named by its key fingerprint now ends where it does."""
        ...

    def set_aside_bad_lines(self, workspace: Workspace) -> str | None:
        """Move roster lines that failed verification aside; where they went, or None."""
        ...

    def export_report(
        self, workspace: Workspace, scan: ScanResult, files: ReportFiles, exports: Sequence[Path]
    ) -> ReportOutcome:
        """Write the sign-off report of a finished scan (as ``twinreview report``)."""
        ...

    def export_logs(self, workspace: Workspace, outdir: Path) -> ExportOutcome:
        """Export and sign the roster and every log (as ``twinreview export``)."""
        ...

    def check_published(
        self,
        files: Sequence[Path],
        export: Path,
        *,
        workspace: Path | None = None,
        trust_anchor: Path | None = None,
        owner: str | None = None,
    ) -> list[PublishedCheck]:
        """Check published files' sign-off against an export (as ``twinreview check-published``).

        Args:
            files: The published images.
            export: The export of the signed logs.
            workspace: Where the approved files are, to compare the pixels outside a stamped
                label (``--workspace``).
            trust_anchor: A PEM file of certificate authorities trusted besides the export's
                (``--trust-anchor``).
            owner: The owner key fingerprint the auditor checked with the brand (``--owner``).

        Raises:
            ExportCheckError: the export itself cannot be used.
            TrustAnchorError: the trust anchor file cannot be used.
        """
        ...
