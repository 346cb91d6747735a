"""The review session: one open workspace, its assets, scan results and statuses.

A QObject on the GUI thread: the thin Qt adapter around the plain
:class:`~twinreview.ui.session_state.SessionState`. Everything slow (opening, scanning, statuses,
signing a decision) runs in workers through the :class:`~twinreview.ui.bridge.Bridge`; results
are applied to the state and announced with signals. Widgets read the state (through the
session's read-only attributes, e.g. :attr:`ReviewSession.items`) and listen.

A scan's results and a status refresh land in slices: each slice (its items and everything the
widgets do about them) gets a few milliseconds, then the event loop runs before the next one, so
a thousand results never freeze the window. ``scan_finished`` and ``statuses_refreshed`` come
after the last slice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from twinreview.core.approval.policy import APPROVE, REJECT, WITHDRAW
from twinreview.core.approval.rule import regrade
from twinreview.core.errors import one_line
from twinreview.core.workspace import AssetRef, Workspace
from twinreview.services.diagnostics import is_expected, log_failure, log_path
from twinreview.services.scan.clock import WORDS, ScanClock
from twinreview.services.scan.model import ScanProgress
from twinreview.services.scan.service import AssetResult, ScanResult
from twinreview.ui.backend import AssetStatus, Identity, ReviewBackend, StatusSnapshot
from twinreview.ui.bridge import Bridge
from twinreview.ui.items import AssetItem
from twinreview.ui.roster_view import TRUST_ERROR, RosterView, TrustInfo
from twinreview.ui.scan_process import RECEIVING
from twinreview.ui.session_state import ScanState, SessionState, gone_sentence
from twinreview.ui.watcher import ASSETS, LOGS, ROSTER, WorkspaceWatcher

_log = logging.getLogger(__name__)
T = TypeVar("T")


class _FromState(Generic[T]):
    """A read-only attribute of the session that is the state's attribute of the same name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _FromState[T]: ...
    @overload
    def __get__(self, obj: ReviewSession, objtype: type | None = None) -> T: ...
    def __get__(self, obj: ReviewSession | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(obj.state, self._name)


#: What :attr:`ReviewSession.landing_progress` says is landing: scan results, or statuses.
RESULTS, STATUSES = "results", "statuses"

#: GUI-thread time one slice of landing results may take (seconds), announcements included.
SLICE_BUDGET_S = 0.004
#: At most one ``progress`` report of a landing per this many seconds. A progress bar given a
#: new value repaints at once, and with it whatever else of the window waits to be painted (the
#: queue's rows just landed): at 10 a second that cost a warm load of 10,000 about as much
#: GUI-thread time as landing the results itself.
PROGRESS_INTERVAL_S = 0.25
_FIRST_SLICE = 8  # items in the first slice, before its cost is known


class _Landing:
    """Applies a list of updates in time-boxed slices, one event-loop turn apart.

    ``apply(update)`` changes one item and returns its rel (or None); after each slice the rels
    are announced through ``announce``; ``landed`` then ``finish`` run after the last slice, and
    ``progress(done, total)`` after each slice before it. The slice size adapts so that applying
    and announcing a slice takes about :data:`SLICE_BUDGET_S`. The slices stop when ``context``
    (the session whose signals announce them) is deleted.
    """

    def __init__(
        self,
        context: QObject,
        updates: Sequence[Any],
        apply: Callable[[Any], str | None],
        announce: Callable[[list[str]], None],
        finish: Callable[[], None],
        landed: Callable[[], None] = lambda: None,
        progress: Callable[[int, int], None] = lambda done, total: None,
    ) -> None:
        self._context = context
        self._landed = landed
        self._progress = progress
        self._updates = updates
        self._apply = apply
        self._announce = announce
        self._finish = finish
        self._next = 0
        self._said = 0.0
        self._size = _FIRST_SLICE
        self.cancelled = False
        self.done = False

    def start(self) -> None:
        """Apply the first slice now (the reviewer sees something at once), the rest later."""
        self._step()

    def _step(self) -> None:
        # A window closed mid-landing deletes the session whose signals announce the slices.
        if self.cancelled or not shiboken6.isValid(self._context):
            return
        t0 = time.perf_counter()
        end = min(len(self._updates), self._next + self._size)
        changed = [rel for u in self._updates[self._next : end] if (rel := self._apply(u))]
        count = end - self._next
        self._next = end
        if changed:
            self._announce(changed)
        elapsed = time.perf_counter() - t0
        # Aim the next slice at the budget, growing at most 4x at a time.
        per_item = elapsed / max(1, count)
        self._size = max(1, min(self._size * 4, int(SLICE_BUDGET_S / max(per_item, 1e-7))))
        if self._next < len(self._updates):
            now = time.perf_counter()
            if now - self._said >= PROGRESS_INTERVAL_S:
                # Throttled: a progress bar paints itself at once on every new value.
                self._said = now
                self._progress(self._next, len(self._updates))
            # A 1 ms timer, not a posted event: what the slice set off (repaints, the refresh of
            # the asset on screen) and the user's input run first, in their own turns.
            QTimer.singleShot(1, self._step)
            return
        self.done = True
        self._landed()
        self._finish()


def _open_workspace(
    backend: ReviewBackend, path: Path
) -> tuple[Workspace, list[AssetRef], TrustInfo, str | None]:
    ws = Workspace.open(path)
    try:
        read_only = backend.workspace_writable(ws)
    except Exception as exc:  # noqa: BLE001 - shown to the user; browsing still works
        log_failure(_log, "cannot check whether the workspace is writable", exc)
        read_only = f"cannot check whether this folder is writable: {one_line(exc)}"
    return ws, list(ws.iter_assets()), _check_trust(backend, ws), read_only


def _policy_seq(ws: Workspace) -> int | None:
    """The roster entry of the signed policy the workspace's settings were read under."""
    state = ws.roster.current
    return state.policy.seq if state is not None and state.policy is not None else None


def _check_trust(backend: ReviewBackend, ws: Workspace) -> TrustInfo:
    try:
        return backend.check_trust(ws)
    except Exception as exc:  # noqa: BLE001 - shown to the user, who can still browse read-only
        log_failure(_log, "cannot check the workspace's owner", exc)
        message = f"cannot check the owner: {one_line(exc)}"
        return TrustInfo(TRUST_ERROR, ws.name, message=message)


class ReviewSession(QObject):
    """Holds the open workspace and coordinates background work for it.

    Signals:
        workspace_opened(Workspace): a workspace was opened; ``items`` is reset.
        workspace_failed(str): opening failed, with a one-line message.
        scan_progress(done, total, phase): the scan moved on.
        scan_finished(bool): the scan ended; True when it was cancelled.
        items_changed(list[str]): these assets (relative paths) got new results or status.
        error_reported(str): background work without a handler of its own failed; a plain
            sentence for the status line (the details are in the log file).
        items_removed(list[str]): these assets are gone from the workspace (a rescan no longer
            found them); they are no longer in ``items``.
        batch_progress(int, int): a batch of decisions moved on (done, total).
        batch_finished(list[str], list[tuple[str, str]]): a batch ended: the assets decided,
            and each refused asset with its one-line reason.
        decision_recorded(str, str): asset, decision (``withdraw`` too): signed and appended.
        decision_failed(str, str): asset, message.
        identity_changed(): :attr:`identity` or :attr:`read_only_reason` changed.
        statuses_refreshed(): statuses were recomputed from the logs (after ``items_changed``).
        landing_progress(str, int, int): results or statuses still being applied slice by slice:
            what (``results`` or ``statuses``), how many applied, of how many.
        landed(): the results or statuses that were landing are all applied; what a widget put
            off while they landed (re-sorting the queue) can be done once now.
        trust_changed(): :attr:`trust` (the owner against this device's pin) changed.
        roster_changed(): :attr:`roster` (the signed roster as this identity sees it) changed.
        restored(str): lines this device signed were put back (what, in one sentence).
    """

    workspace_opened = Signal(object)
    workspace_failed = Signal(str)
    error_reported = Signal(str)
    scan_progress = Signal(int, int, str)
    scan_finished = Signal(bool)
    items_changed = Signal(list)
    items_removed = Signal(list)
    batch_progress = Signal(int, int)
    batch_finished = Signal(list, list)
    decision_recorded = Signal(str, str)
    decision_failed = Signal(str, str)
    identity_changed = Signal()
    statuses_refreshed = Signal()
    landing_progress = Signal(str, int, int)
    landed = Signal()
    trust_changed = Signal()
    roster_changed = Signal()
    restored = Signal(str)

    # The state, read-only here: it changes through the session's methods, which announce it.
    workspace: _FromState[Workspace | None] = _FromState()
    items: _FromState[list[AssetItem]] = _FromState()
    scan_result: _FromState[ScanResult | None] = _FromState()
    scan: _FromState[ScanState] = _FromState()
    identity: _FromState[Identity | None] = _FromState()
    read_only_reason: _FromState[str | None] = _FromState()
    workspace_read_only: _FromState[str | None] = _FromState()
    trust: _FromState[TrustInfo | None] = _FromState()
    roster: _FromState[RosterView | None] = _FromState()
    roster_error: _FromState[str | None] = _FromState()
    verification_ok: _FromState[bool] = _FromState()
    verification_problems: _FromState[tuple[str, ...]] = _FromState()
    can_decide: _FromState[bool] = _FromState()
    why_not_decide: _FromState[str | None] = _FromState()
    approvable: _FromState[frozenset[str]] = _FromState()
    notices: _FromState[tuple[str, ...]] = _FromState()
    restorable: _FromState[bool] = _FromState()
    sync_copies: _FromState[tuple[str, ...]] = _FromState()

    def __init__(
        self,
        backend: ReviewBackend,
        bridge: Bridge,
        parent: QObject | None = None,
        *,
        watcher: WorkspaceWatcher | None = None,
    ) -> None:
        super().__init__(parent)
        self._backend = backend
        self._bridge = bridge
        # A job submitted without on_error fails here: logged, and said in plain words.
        bridge.job_failed.connect(self.report_failure)
        #: Watches the open workspace; changes made outside the app show without F5.
        self.watcher = watcher
        self._rescan_after = False
        if watcher is not None:
            watcher.changed.connect(self._on_outside_change)
        #: Everything known about the open workspace (plain, no Qt).
        self.state = SessionState()
        self._status_seq = 0
        self._status_applied = 0
        # Every status must be recomputed at the next refresh (the logs or the roster changed,
        # or a workspace was opened), and how many refreshes are running.
        self._statuses_due = True
        self._statuses_running = 0
        self._generation = 0
        self._results_landing: _Landing | None = None
        self._status_landing: _Landing | None = None

    @property
    def backend(self) -> ReviewBackend:
        """The service calls."""
        return self._backend

    @property
    def bridge(self) -> Bridge:
        """The bridge to background work."""
        return self._bridge

    def item(self, rel: str) -> AssetItem | None:
        """Return the item for a workspace-relative path."""
        return self.state.item(rel)

    @property
    def busy(self) -> bool:
        """True while scan results or statuses are still being applied slice by slice."""
        return any(
            landing is not None and not landing.done and not landing.cancelled
            for landing in (self._results_landing, self._status_landing)
        )

    def _stop_landing(self) -> None:
        for landing in (self._results_landing, self._status_landing):
            if landing is not None:
                landing.cancelled = True
        self._results_landing = self._status_landing = None

    def why_not_approve(self, item: AssetItem) -> str | None:
        """Why ``item`` cannot be approved (even with an override), in one line; None: it can."""
        return self.state.why_not_approve(item)

    # -- identity -------------------------------------------------------------------------------

    def set_identity(self, identity: Identity | None, read_only_reason: str | None) -> None:
        """Record who reviews (None and a reason: read-only mode)."""
        self.state.identity = identity
        self.state.read_only_reason = read_only_reason
        self.identity_changed.emit()
        if self.workspace is not None:
            self.refresh_roster()

    # -- the signed roster ----------------------------------------------------------------------

    def refresh_roster(self) -> None:
        """Read the signed roster again (in the background); ``roster_changed`` follows.

        The identity's models (what simple mode shows) come from it.
        """
        ws, identity = self.workspace, self.identity
        if ws is None:
            return
        generation = self._generation
        view_principal = identity.principal if identity is not None else None

        def done(view: RosterView) -> None:
            if generation != self._generation:
                return
            if self.state.apply_roster(view, view_principal):
                self.identity_changed.emit()
            ws = self.state.workspace
            if ws is not None and view.policy_seq != _policy_seq(ws):
                self._reload_policy()
            self.roster_changed.emit()

        def failed(exc: BaseException) -> None:
            log_failure(_log, "cannot read the roster", exc)
            if generation != self._generation:
                return
            self.state.roster = None
            self.state.roster_error = one_line(exc)
            self.roster_changed.emit()

        self._bridge.submit(
            self._backend.roster_view, ws, view_principal, on_done=done, on_error=failed
        )

    def _reload_policy(self) -> None:
        """The owner signed another policy: judge and scan by it from now on.

        The workspace's settings are read again; the findings on screen are graded by the new
        policy at once (the one approval rule, ``core.approval.rule``), and a rescan follows (the
        thresholds may find other things).
        """
        ws = self.workspace
        if ws is None:
            return
        generation = self._generation

        def done(fresh: Workspace) -> None:
            if generation != self._generation or self.workspace is not ws:
                return
            self.state.workspace = fresh
            self._statuses_due = True  # another policy: every status may change
            changed: list[str] = []
            for item in self.items:
                if item.result is not None:
                    graded = regrade(item.result.findings, fresh.settings)
                    if graded != item.result.findings:
                        item.result = replace(item.result, findings=graded)
                        changed.append(item.rel)
            if changed:
                self.items_changed.emit(changed)
            self.identity_changed.emit()  # what may be approved changed
            self.start_scan()

        def failed(exc: BaseException) -> None:
            log_failure(_log, "cannot read the signed policy", exc)
            if generation == self._generation:
                self.workspace_failed.emit(f"cannot read the signed policy: {one_line(exc)}")

        self._bridge.submit(Workspace.open, ws.root, on_done=done, on_error=failed)

    def restore_signed(self) -> None:
        """Put back what this device signed and the workspace lost; the statuses follow."""
        ws = self.workspace
        if ws is None:
            return
        generation = self._generation

        def done(lines: tuple[str, ...]) -> None:
            if generation != self._generation:
                return
            self.restored.emit(
                "Put back what you signed: " + "; ".join(lines)
                if lines
                else "Nothing to put back: the workspace holds everything you signed."
            )
            self.refresh_statuses()

        def failed(exc: BaseException) -> None:
            log_failure(_log, "cannot put back the signed entries", exc)
            if generation == self._generation:
                self.error_reported.emit(f"Nothing was put back: {one_line(exc)}")

        self._bridge.submit(self._backend.restore_signed, ws, on_done=done, on_error=failed)

    def refresh_trust(self) -> None:
        """Check the owner against this device's pin again; ``trust_changed`` follows."""
        ws = self.workspace
        if ws is None:
            return
        generation = self._generation

        def done(info: TrustInfo) -> None:
            if generation == self._generation:
                self._set_trust(info)

        self._bridge.submit(_check_trust, self._backend, ws, on_done=done)

    def _set_trust(self, info: TrustInfo) -> None:
        self.state.trust = info
        self.trust_changed.emit()
        self.identity_changed.emit()  # what may be decided changed

    def roster_action(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        """Run a roster change ``fn(workspace, *args)`` in the background, then re-read it all.

        After a change the trust, the roster and every status are read again (a join approval
        or a consent changes what may be decided and what is cleared).

        Args:
            fn: A backend call taking the workspace first (``backend.approve_join`` ...).
            args: Its other arguments.
            on_done: Called with the result on the GUI thread.
            on_error: Called with a one-line message when the change was refused.
        """
        ws = self.workspace
        if ws is None:
            if on_error is not None:
                on_error("no workspace is open")
            return
        generation = self._generation

        def done(result: Any) -> None:
            if generation != self._generation:
                return
            if isinstance(result, TrustInfo):
                self._set_trust(result)
            else:
                self.refresh_trust()
            self.refresh_roster()
            self.refresh_statuses()
            if on_done is not None:
                on_done(result)

        def failed(exc: BaseException) -> None:
            log_failure(_log, f"roster change {getattr(fn, '__name__', fn)!s} failed", exc)
            if generation != self._generation:
                return  # another workspace is open now: the message would name the wrong one
            if on_error is not None:
                on_error(one_line(exc))
            else:
                self.report_failure(exc, logged=True)

        self._bridge.submit(fn, ws, *args, on_done=done, on_error=failed)

    # -- workspace and scan ---------------------------------------------------------------------

    def open_workspace(self, path: Path) -> None:
        """Open ``path`` in the background, then scan it."""
        self.cancel_scan()
        self._generation += 1
        generation = self._generation

        def done(value: tuple[Workspace, list[AssetRef], TrustInfo, str | None]) -> None:
            if generation != self._generation:
                return
            ws, refs, trust, read_only = value
            self._stop_landing()
            self._statuses_due = True
            self.state.open(ws, refs, trust, read_only)
            if self.watcher is not None:
                self.watcher.watch(ws.root)
            # Watched first: a change from here on is reported. The scan process starts on it
            # while the window fills its queue; start_scan below receives it.
            self._backend.begin_scan(ws)
            self.workspace_opened.emit(ws)
            self.trust_changed.emit()
            self.identity_changed.emit()  # what may be decided depends on the owner's pin
            self.refresh_roster()
            self.start_scan()

        def failed(exc: BaseException) -> None:
            log_failure(_log, f"cannot open the workspace {path}", exc)
            if generation == self._generation:
                self.workspace_failed.emit(one_line(exc))

        self._bridge.submit(
            _open_workspace, self._backend, Path(path), on_done=done, on_error=failed
        )

    def _on_outside_change(self, kinds: set[str]) -> None:
        """Refresh what changed in the workspace folder (files, logs, roster)."""
        if self.workspace is None:
            return
        if ROSTER in kinds:
            self.refresh_trust()
            self.refresh_roster()
        if LOGS in kinds or ROSTER in kinds:
            self._statuses_due = True  # whichever refresh comes next recomputes them all
        if ASSETS in kinds:
            if self.scan.running:
                self._rescan_after = True  # never cancel a scan for every burst of events
            else:
                self.start_scan()  # the statuses follow the scan
            return
        if LOGS in kinds or ROSTER in kinds:
            self.refresh_statuses()

    def start_scan(self) -> None:
        """Scan the open workspace (again); a running scan is cancelled first."""
        ws = self.workspace
        if ws is None:
            return
        self.cancel_scan()
        state = ScanState(
            running=True,
            total=len(self.items),
            phase=WORDS["starting"],
            clock=ScanClock(faces=ws.settings.likeness.enabled),
        )
        self.state.scan = state
        generation = self._generation

        def on_progress(p: Any) -> None:
            if self.scan is not state or not state.running:
                return
            state.done = int(getattr(p, "done", 0))
            state.total = int(getattr(p, "total", state.total))
            if isinstance(p, ScanProgress) and p.phase == RECEIVING:
                # Out of the images that have no results yet (a first load: all of them).
                waiting = sum(1 for item in self.items if item.result is None)
                state.total = max(state.done, waiting)
                state.phase = "Receiving the results"
            elif isinstance(p, ScanProgress):
                state.clock.update(p)
                state.phase = state.clock.text(counts=False)  # the bar shows the counts
                if p.known is not None and state.known is None:
                    # Copies and disclosure, before the face pass ends: usable at once.
                    state.known = p.known
                    self._apply_scan(p.known, lambda _landed: None)
            else:
                state.phase = str(getattr(p, "phase", ""))
            self.scan_progress.emit(state.done, state.total, state.phase)

        def done(result: ScanResult) -> None:
            if self.scan is not state or generation != self._generation:
                return
            state.running = False

            def finish(landed: list[AssetResult]) -> None:
                self.scan_finished.emit(bool(result.cancelled))
                if self._rescan_after:
                    self._rescan_after = False
                    # The next scan hands back what landed here as unchanged: its refresh
                    # recomputes every status, these included.
                    self._statuses_due = True
                    self.start_scan()
                    return
                # Only the assets whose results changed can have another status (a status
                # depends on the file and the logs alone): a rescan of a few changed files
                # recomputes and redraws a few statuses, not every one.
                self.refresh_statuses(only=None if result.cancelled else landed)

            self._apply_scan(result, finish)

        def failed(exc: BaseException) -> None:
            log_failure(_log, "scan failed", exc)
            if self.scan is not state:
                return
            state.running = False
            self.workspace_failed.emit(f"scan failed: {one_line(exc)}")
            self.scan_finished.emit(True)

        sink = self._bridge.progress_sink(on_progress)
        self._bridge.run_long(
            self._backend.scan, ws, sink, state.cancel, on_done=done, on_error=failed
        )
        self.scan_progress.emit(0, state.total, state.phase)

    def cancel_scan(self) -> None:
        """Ask the running scan to stop; it reports what it finished."""
        if self.scan.running:
            self.scan.cancel.set()

    def _apply_scan(self, result: ScanResult, finish: Callable[[list[AssetResult]], None]) -> None:
        self.state.scan_result = result
        if not result.cancelled:
            # A whole scan walked the workspace: what it did not find is gone (deleted, moved).
            gone = self.state.drop_missing(r.asset.rel for r in result.assets)
            if gone:
                self.items_removed.emit(gone)
        if self._results_landing is not None:
            self._results_landing.cancelled = True
        # A rescan hands back the very result objects of the assets that did not change:
        # only the others land (at 10,000 assets, a handful rather than every row).
        changed = [r for r in result.assets if not self.state.holds(r)]
        self._results_landing = _Landing(
            self,
            changed,
            self.state.apply_result,
            self.items_changed.emit,
            lambda: finish(changed),
            self.landed.emit,
            lambda done, total: self.landing_progress.emit(RESULTS, done, total),
        )
        self._results_landing.start()

    def refresh_statuses(self, only: Sequence[AssetResult] | None = None) -> None:
        """Recompute every asset's status from the logs (in the background).

        Args:
            only: Recompute just these assets' statuses (the logs are still verified whole):
                after a rescan, the assets whose results changed. Every status is recomputed
                instead when the logs or the roster changed since the last whole refresh, when
                an asset has none yet, or while another refresh runs (it could land later).
        """
        ws = self.workspace
        if ws is None:
            return
        if only is not None and (self._statuses_due or self._statuses_running):
            only = None
        if only is not None:
            fresh = {r.asset.rel for r in only}
            if any(i.status is None and i.rel not in fresh for i in self.items):
                only = None
        if only is None:
            self._statuses_due = False
            results = [item.result for item in self.items if item.result is not None]
            compute = self._backend.statuses
        else:
            results = list(only)
            compute = self._backend.statuses_of
        generation = self._generation
        self._status_seq += 1
        seq = self._status_seq
        self._statuses_running += 1

        def done(snapshot: StatusSnapshot) -> None:
            self._statuses_running -= 1
            # An older refresh finishing late must not overwrite a newer one.
            if generation != self._generation or seq < self._status_applied:
                return
            self._status_applied = seq
            self.state.verification_ok = snapshot.verification_ok
            self.state.verification_problems = snapshot.problems
            self.state.notices = snapshot.notices
            self.state.restorable = snapshot.restorable
            self.state.sync_copies = snapshot.sync_copies

            def apply(entry: tuple[str, AssetStatus]) -> str | None:
                # None when unchanged: nothing to redraw or re-sort.
                return self.state.apply_status(*entry)

            if self._status_landing is not None:
                self._status_landing.cancelled = True
            self._status_landing = _Landing(
                self,
                list(snapshot.assets.items()),
                apply,
                self.items_changed.emit,
                self.statuses_refreshed.emit,
                self.landed.emit,
                lambda done, total: self.landing_progress.emit(STATUSES, done, total),
            )
            self._status_landing.start()

        def failed(exc: BaseException) -> None:
            self._statuses_running -= 1
            self._statuses_due = True  # the next refresh recomputes every status
            log_failure(_log, "cannot read the decision logs", exc)
            self.workspace_failed.emit(f"cannot read the decision logs: {one_line(exc)}")
            self.statuses_refreshed.emit()

        self._bridge.submit(compute, ws, results, on_done=done, on_error=failed)

    # -- decisions ------------------------------------------------------------------------------

    def decide(
        self,
        rel: str,
        decision: str,
        reasons: Sequence[str] = (),
        note: str = "",
        override: bool = False,
    ) -> None:
        """Sign and append a decision about ``rel`` now; the status follows."""
        assert decision in (APPROVE, REJECT)
        ws, item = self.workspace, self.state.item(rel)
        if ws is None or item is None or item.result is None:
            self.decision_failed.emit(rel, "this asset has not been scanned yet")
            return
        why = self.why_not_approve(item) if decision == APPROVE else self.why_not_decide
        if why is None and not item.ref.path.exists():
            why = gone_sentence(item)
        if why is not None:
            self.decision_failed.emit(rel, why)
            return
        result = item.result

        def done(_: None) -> None:
            self.decision_recorded.emit(rel, decision)
            self._refresh_one(rel)

        def failed(exc: BaseException) -> None:
            log_failure(_log, f"{decision} {rel} refused", exc)
            self.decision_failed.emit(rel, one_line(exc))

        self._bridge.submit(
            self._backend.decide,
            ws,
            result,
            decision,
            tuple(reasons),
            note,
            override,
            on_done=done,
            on_error=failed,
        )

    def withdraw(self, rel: str, note: str = "") -> None:
        """Sign a ``withdraw`` entry for this reviewer's latest decision about ``rel``."""
        ws = self.workspace
        why = self.why_not_decide
        if ws is None or self.state.item(rel) is None:
            self.decision_failed.emit(rel, "this asset is not in the workspace")
            return
        if why is not None:
            self.decision_failed.emit(rel, why)
            return

        def done(_: None) -> None:
            self.decision_recorded.emit(rel, WITHDRAW)
            self._refresh_one(rel)

        def failed(exc: BaseException) -> None:
            log_failure(_log, f"withdraw {rel} refused", exc)
            self.decision_failed.emit(rel, one_line(exc))

        self._bridge.submit(self._backend.withdraw, ws, rel, note, on_done=done, on_error=failed)

    def decide_many(
        self, rels: Sequence[str], decision: str, reasons: Sequence[str] = (), note: str = ""
    ) -> None:
        """Sign one entry per asset, in one background job.

        ``batch_progress`` and ``batch_finished`` follow. Refusals (blocking findings, a
        verdict the workspace does not allow, a file gone) are collected per asset; the others
        are still signed.
        """
        assert decision in (APPROVE, REJECT)
        ws = self.workspace
        refused: list[tuple[str, str]] = []
        todo: list[AssetResult] = []
        for rel in rels:
            item = self.state.item(rel)
            why = (
                self.why_not_approve(item)
                if item is not None and decision == APPROVE
                else self.why_not_decide
            )
            if item is None or item.result is None:
                refused.append((rel, "not scanned yet"))
            elif why is not None:
                refused.append((rel, why))
            elif decision == APPROVE and (item.blocking or item.result.error):
                refused.append((rel, "it has blocking findings: open it and approve it on its own"))
            else:
                todo.append(item.result)
        if ws is None or not todo:
            self.batch_finished.emit([], refused)
            return
        backend = self._backend
        total = len(todo)
        generation = self._generation

        def run(report: Callable[[Any], None]) -> tuple[list[str], list[tuple[str, str]]]:
            ok: list[str] = []
            failed: list[tuple[str, str]] = []
            for i, result in enumerate(todo):
                rel = result.asset.rel
                try:
                    backend.decide(ws, result, decision, tuple(reasons), note, False)
                except Exception as exc:  # noqa: BLE001 - listed per asset for the reviewer
                    log_failure(_log, f"{decision} {rel} refused", exc)
                    failed.append((rel, one_line(exc)))
                else:
                    ok.append(rel)
                report((i + 1, total))
            return ok, failed

        def on_progress(p: Any) -> None:
            if generation == self._generation:
                self.batch_progress.emit(int(p[0]), int(p[1]))

        def done(value: tuple[list[str], list[tuple[str, str]]]) -> None:
            if generation != self._generation:
                return
            ok, failed = value
            self.batch_finished.emit(ok, refused + failed)
            self.refresh_statuses()

        def crashed(exc: BaseException) -> None:
            log_failure(_log, f"batch {decision} failed", exc)
            if generation == self._generation:
                rest = [(r.asset.rel, one_line(exc)) for r in todo]
                self.batch_finished.emit([], refused + rest)
                self.refresh_statuses()

        sink = self._bridge.progress_sink(on_progress)
        self.batch_progress.emit(0, total)
        self._bridge.submit(run, sink, on_done=done, on_error=crashed)

    # -- failures nobody else handles -------------------------------------------------------------

    def report_failure(self, exc: BaseException, *, logged: bool = False) -> None:
        """Log a failure of background work and announce it as ``error_reported``.

        The sentence is plain: a refusal or a file problem says what it was; anything else says
        that something went wrong and where its details are written.
        """
        if not logged:
            log_failure(_log, "background work failed", exc)
        if is_expected(exc):
            message = f"Could not finish: {one_line(exc)}"
        else:
            message = (
                "Something went wrong in the background and was not finished. "
                f"The details are in {log_path()}."
            )
        self.error_reported.emit(message)

    def _refresh_one(self, rel: str) -> None:
        ws, item = self.workspace, self.state.item(rel)
        if ws is None or item is None or item.result is None:
            return
        # Statuses of every asset sharing the model can change (e.g. a duplicate), but the one just
        # decided is what the reviewer looks at: refresh all, it is one pass over the logs.
        self.refresh_statuses()
