"""The real :class:`~twinreview.ui.backend.ReviewBackend`: the services, called from workers.

Built once by the composition root (:mod:`twinreview.ui.app`) with the services it created.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from twinreview.core.roster import Roster
from twinreview.core.workspace import Workspace
from twinreview.services.keys import Identity as KeyIdentity
from twinreview.services.keys import KeysError, KeyService
from twinreview.services.scan import ScanService
from twinreview.ui.backend import (
    AssetResultLike,
    AssetStatus,
    Identity,
    KeyringUnavailable,
    ScanResultLike,
)


def _identity(ident: KeyIdentity) -> Identity:
    return Identity(ident.principal, ident.display_name, ident.role, ident.allowed_signers_line())


class ServicesBackend:
    """Adapts the scan, key, decision and status services to what the app needs.

    Args:
        scan_service: Scans workspaces on the shared executor.
        keys: The key service, or a callable explaining why there is none (no usable keyring).
        decisions: The decision service (``twinreview.services.decisions``), when available.
        status: The status service (``twinreview.services.status``), when available.
    """

    def __init__(
        self,
        scan_service: ScanService,
        keys: KeyService | str,
        decisions: Any = None,
        status: Any = None,
    ) -> None:
        self._scan = scan_service
        self._keys = keys
        self._decisions = decisions
        self._status = status

    def _key_service(self) -> KeyService:
        if isinstance(self._keys, str):
            raise KeyringUnavailable(self._keys)
        return self._keys

    def scan(
        self, workspace: Workspace, progress: Callable[[Any], None] | None, cancel: threading.Event
    ) -> ScanResultLike:
        """Scan on the shared executor."""
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
        roster = Roster.load(workspace.root / "roster")
        person = roster.person(principal)
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
        """Sign and append through the decision service."""
        if self._decisions is None:
            raise RuntimeError("decisions are not available in this build")
        self._decisions.decide(
            workspace, result, decision, reasons=tuple(reasons), note=note, override=override
        )

    def statuses(
        self, workspace: Workspace, results: Sequence[AssetResultLike]
    ) -> dict[str, AssetStatus]:
        """Status of every asset over the merged, verified logs."""
        if self._status is None:
            return {}
        return dict(self._status.statuses(workspace, results))


def optional_service(module: str, attr: str) -> Any:
    """Return ``module.attr`` when that service exists in this build, else None."""
    try:
        return getattr(import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def _unused(_: Path) -> None:  # pragma: no cover - keeps Path imported for type readers
    return None
