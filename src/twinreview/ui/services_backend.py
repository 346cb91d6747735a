"""The real :class:`~twinreview.ui.backend.ReviewBackend`: the services, called from workers.

Built once by the composition root (:mod:`twinreview.ui.app`) with the services it created.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from twinreview.core.rosterlog import ROSTER_DIR, SignedRoster
from twinreview.core.workspace import AssetRef, Workspace
from twinreview.services.decisions import DecisionService
from twinreview.services.keys import Identity as KeyIdentity
from twinreview.services.keys import KeysError, KeyService
from twinreview.services.scan import ScanService
from twinreview.services.status import compute_status, sha256_file
from twinreview.ui.backend import (
    AssetResultLike,
    AssetStatus,
    Identity,
    KeyringUnavailable,
    ScanResultLike,
    StatusSnapshot,
)
from twinreview.ui.scan_process import ProcessScanner, ScanProcessError


def _identity(ident: KeyIdentity) -> Identity:
    return Identity(ident.principal, ident.display_name, ident.role, ident.allowed_signers_line())


class ServicesBackend:
    """Adapts the scan, key, decision and status services to what the app needs.

    Args:
        scan_service: Scans workspaces on the shared executor, in this process.
        keys: The key service, or why there is none (no usable keyring: read-only mode).
        decisions: Signs and appends decisions (None in read-only mode).
        scanner: Runs scans elsewhere (a :class:`~twinreview.ui.scan_process.ProcessScanner`,
            so the scan never competes with the GUI thread); ``scan_service`` is used when it
            is None or cannot start.
    """

    def __init__(
        self,
        scan_service: ScanService,
        keys: KeyService | str,
        decisions: DecisionService | None,
        scanner: ProcessScanner | None = None,
    ) -> None:
        self._scan = scan_service
        self._keys = keys
        self._decisions = decisions
        self._scanner = scanner

    def _key_service(self) -> KeyService:
        if isinstance(self._keys, str):
            raise KeyringUnavailable(self._keys)
        return self._keys

    def scan(
        self, workspace: Workspace, progress: Callable[[Any], None] | None, cancel: threading.Event
    ) -> ScanResultLike:
        """Scan in the scan process, or on the shared executor when there is none."""
        if self._scanner is not None:
            try:
                self._scanner.start()
            except ScanProcessError:
                self._scanner = None  # e.g. no way to start a process here: scan in-process
            else:
                return self._scanner.scan(workspace, progress, cancel)
        return self._scan.scan(workspace, progress=progress, cancel=cancel)

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

    def roster_models(self, workspace: Workspace, principal: str) -> tuple[str, ...]:
        """Models the roster lets ``principal`` decide for."""
        state = SignedRoster.load(workspace.root / ROSTER_DIR).current
        person = state.person(principal) if state is not None else None
        return tuple(person.models) if person is not None else ()

    def decide(
        self,
        workspace: Workspace,
        result: AssetResultLike,
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
            disclosure_verdict=(result.disclosure or {}).get("verdict"),
        )

    def statuses(self, workspace: Workspace, results: Sequence[AssetResultLike]) -> StatusSnapshot:
        """Status of every asset over the merged, verified logs."""
        # The scan just hashed every asset: reuse its sha256 instead of reading each file again.
        known = {r.asset.rel: r.sha256 for r in results if r.sha256}

        def sha256_of(asset: AssetRef) -> str:
            sha = known.get(asset.rel)
            return sha if sha is not None else sha256_file(asset.path)

        report = compute_status(workspace, sha256_of=sha256_of)
        return StatusSnapshot(
            {a.path: AssetStatus(a.evaluation, a.history) for a in report.assets},
            report.verification_ok,
            tuple(_problem_line(p) for p in report.problems),
        )


def _problem_line(problem: Any) -> str:
    parts = [
        str(getattr(problem, k)) for k in ("file", "seq") if getattr(problem, k, None) is not None
    ]
    where = ":".join(parts)
    kind = getattr(problem, "kind", "")
    message = getattr(problem, "message", "") or str(problem)
    return f"{where} {kind}: {message}".strip()
