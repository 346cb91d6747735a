"""What the app knows about the open workspace, and what it allows: plain state, no Qt.

:class:`SessionState` holds the open workspace, its assets with their scan results and statuses,
who reviews, the owner's trust and the signed roster, and answers the questions every screen
asks (may decisions be signed here, may this image be approved). It changes only through its
methods, each a plain function of its inputs, so it is tested without a display.
:class:`~twinreview.ui.session.ReviewSession` is the thin Qt adapter around it: it runs the slow
work in the background, applies the answers here and announces the changes as Qt signals.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from twinreview.core.approval.policy import State
from twinreview.core.approval.rule import check_approval
from twinreview.core.disclosure.policy import DEFAULT_APPROVABLE
from twinreview.core.workspace import AssetRef, Workspace
from twinreview.services.scan.clock import ScanClock
from twinreview.services.scan.service import AssetResult, ScanResult
from twinreview.ui.backend import AssetStatus, Identity
from twinreview.ui.items import AssetItem, disclosure_verdict
from twinreview.ui.roster_view import RosterView, TrustInfo


@dataclass
class ScanState:
    """Progress of the running scan."""

    running: bool = False
    done: int = 0
    total: int = 0
    phase: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)
    clock: ScanClock = field(default_factory=ScanClock)
    #: What the scan already knows before it ends (copies, disclosure), when it says so.
    known: Any = None


def gone_sentence(item: AssetItem) -> str:
    """The refusal for an image whose file is no longer there."""
    return f"{item.ref.path.name} is no longer in the workspace (deleted or moved)."


def consent_refusal(item: AssetItem) -> str | None:
    """Why the model's signed consent does not allow ``item`` (None: it does, or is not given).

    A consent she has not given yet is waited for, not a refusal: the others may approve first.
    """
    status = item.status
    if status is None or status.consent == "missing":
        return None
    ev = status.evaluation
    if ev.state is not State.BLOCKED or ev.blocked_by != "policy":
        return None
    if status.consent == "withdrawn":
        return "The model's consent does not allow this image: she withdrew it."
    said = [p for p in ev.problems if p.startswith("The model")]
    if not said:
        return None  # blocked for another reason (nobody may sign for a role)
    return "The model's consent does not allow this image: " + " ".join(said)


@dataclass
class SessionState:
    """The open workspace and what may be done in it.

    Attributes:
        workspace: The open workspace (None: none).
        items: Its assets, in workspace order (new ones are appended).
        scan_result: The last scan's result.
        scan: The running (or last) scan's progress.
        identity: Who reviews on this device (None: nobody yet).
        read_only_reason: Why this device cannot sign at all (no keyring, no identity).
        workspace_read_only: Why the open workspace's folder cannot take decisions.
        trust: The open workspace's owner against this device's pin.
        roster: The signed roster as this identity sees it (None until read).
        roster_error: Why the roster could not be read.
        verification_ok: False when a decision log failed verification.
        verification_problems: One line per verification problem.
        notices: What everyone is shown although nothing failed (a model's key reset by the
            owner).
        restorable: This device signed entries the workspace lost (the session can put them
            back).
        sync_copies: Copies of logs a file sync left (merged; shown so that someone tidies up).
    """

    workspace: Workspace | None = None
    items: list[AssetItem] = field(default_factory=list)
    scan_result: ScanResult | None = None
    scan: ScanState = field(default_factory=ScanState)
    identity: Identity | None = None
    read_only_reason: str | None = None
    workspace_read_only: str | None = None
    trust: TrustInfo | None = None
    roster: RosterView | None = None
    roster_error: str | None = None
    verification_ok: bool = True
    verification_problems: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    restorable: bool = False
    sync_copies: tuple[str, ...] = ()
    _by_rel: dict[str, AssetItem] = field(default_factory=dict, repr=False)

    # -- questions ------------------------------------------------------------------------------

    def item(self, rel: str) -> AssetItem | None:
        """The item for a workspace-relative path."""
        return self._by_rel.get(rel)

    @property
    def can_decide(self) -> bool:
        """True when decisions can be signed: an identity, a keyring and a trusted owner."""
        return self.why_not_decide is None

    @property
    def why_not_decide(self) -> str | None:
        """Why decisions cannot be signed now, in one line (None when they can)."""
        if self.read_only_reason is not None:
            return self.read_only_reason
        if self.identity is None:
            return "No reviewer identity yet: create one to approve or reject."
        if self.workspace is not None and self.workspace_read_only is not None:
            return self.workspace_read_only
        if self.trust is not None and not self.trust.ok:
            return self.trust.why_not()
        roster = self.roster
        if roster is not None and roster.exists and roster.me is None:
            if roster.my_request is not None:
                return (
                    "You asked to join this workspace; until the owner approves your request "
                    "you cannot approve or reject here."
                )
            return (
                "You are not on this workspace's roster yet, so you cannot approve or reject "
                "here: ask to join (Roster… › Join this workspace)."
            )
        return None

    @property
    def approvable(self) -> frozenset[str]:
        """The AI-disclosure verdicts this workspace lets a reviewer approve (signed policy)."""
        if self.roster is not None and self.roster.approvable is not None:
            return self.roster.approvable
        ws = self.workspace
        if ws is None:
            return frozenset(v.value for v in DEFAULT_APPROVABLE)
        return frozenset(v.value for v in ws.settings.disclosure.approvable)

    def why_not_approve(self, item: AssetItem) -> str | None:
        """Why ``item`` cannot be approved (even with an override), in one line; None: it can."""
        why = self.why_not_decide
        if why is not None:
            return why
        if item.result is None:
            return "Wait until the scan has looked at this image."
        if not item.ref.path.exists():
            return gone_sentence(item)
        verdict = disclosure_verdict(item)
        # The one approval rule (core.approval.rule) under the policy this window holds; the
        # verdicts the signed roster allows now are checked as well, in case its policy is newer
        # still.
        ws = self.workspace
        refused = (
            check_approval(item.findings, ws.settings, verdict=verdict).refused
            if ws is not None
            else None
        )
        if verdict is not None and (refused is not None or verdict not in self.approvable):
            return (
                f"This workspace does not allow approving an image whose AI disclosure is "
                f"{verdict}: reject it, or have the image re-exported with its AI label."
            )
        return consent_refusal(item)

    # -- changes --------------------------------------------------------------------------------

    def open(
        self,
        workspace: Workspace,
        refs: Iterable[AssetRef],
        trust: TrustInfo,
        read_only: str | None,
    ) -> None:
        """A workspace was opened: its assets, not scanned yet; the roster unread."""
        self.workspace = workspace
        self.workspace_read_only = read_only
        self.trust = trust
        self.roster = None
        self.roster_error = None
        self.scan_result = None
        self.items = [AssetItem(ref, self._model_name(ref.model_id)) for ref in refs]
        self._by_rel = {item.rel: item for item in self.items}

    def _model_name(self, model_id: str) -> str:
        ws = self.workspace
        model = ws.models.get(model_id) if ws is not None else None
        return model.display_name if model is not None else model_id

    def drop_missing(self, found: Iterable[str]) -> list[str]:
        """Forget the assets a whole scan did not find (deleted, moved); returns their rels."""
        keep = set(found)
        gone = [item.rel for item in self.items if item.rel not in keep]
        if gone:
            dropped = set(gone)
            self.items = [item for item in self.items if item.rel not in dropped]
            for rel in gone:
                self._by_rel.pop(rel, None)
        return gone

    def holds(self, result: AssetResult) -> bool:
        """True when this very result is its asset's already (nothing to apply)."""
        item = self._by_rel.get(result.asset.rel)
        return item is not None and item.result is result

    def apply_result(self, result: AssetResult) -> str:
        """Record one asset's scan result (an asset new since opening is added); its rel."""
        item = self._by_rel.get(result.asset.rel)
        if item is None:
            item = AssetItem(result.asset, self._model_name(result.asset.model_id))
            self.items.append(item)
            self._by_rel[item.rel] = item
        item.result = result
        return item.rel

    def apply_status(self, rel: str, status: AssetStatus) -> str | None:
        """Record one asset's status; its rel when that changed anything, else None."""
        item = self._by_rel.get(rel)
        if item is None or item.status == status:
            return None
        item.status = status
        return rel

    def apply_roster(self, view: RosterView, principal: str | None) -> bool:
        """Record the roster read for ``principal``; True when the identity's models changed."""
        self.roster = view
        self.roster_error = None
        current = self.identity
        if current is None or current.principal != principal:
            return False
        if view.my_models == current.model_ids:
            return False
        self.identity = Identity(
            current.principal,
            current.display_name,
            current.role,
            current.allowed_signers_line,
            view.my_models,
        )
        return True
