"""Watches the open workspace folder and says, debounced, what changed: which kinds, which paths.

Changes made outside the app (files copied in, rewritten or deleted, another reviewer's log synced
by a shared drive, the owner's roster edits) show without F5. The OS reports them, with their
paths, through :class:`twinreview.services.watch.FolderWatch` (folders are watched, never the
images themselves: inotify holds a watch per folder, macOS and Windows one per tree); this is its
thin Qt adapter. Bursts of events (a sync writing fifty files) are folded into one report after a
short quiet period: :attr:`WorkspaceWatcher.paths_changed` says which files and folders changed
(None: any may have, look at all of them), then :attr:`WorkspaceWatcher.changed` which kinds.

A **sweep** off the GUI thread is the backstop for what the OS does not report (a full event
queue, a network drive, a file system without notifications): the ``stat`` of every file under
``assets/`` and ``models/`` (size, modification and change time, inode), compared with the last
sweep's. Its interval adapts to its cost, the sweeping thread's own CPU time (its wall time would
count the waits for the interpreter lock and for other programs, which a busy laptop stretches
tenfold): :data:`SWEEP_SHARE` of one core at most while the OS watch runs, so every ten seconds
or more, and :data:`SWEEP_SHARE_ALONE` when the sweep is all there is. A change only the sweep
saw has no paths: the rescan looks at every file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from twinreview.services.watch import ASSETS, LOGS, ROSTER, FolderWatch, visible

__all__ = ["ASSETS", "LOGS", "ROSTER", "WorkspaceWatcher", "sweep"]

#: Quiet time after the last event before ``changed`` is emitted (ms). Short: a rescan told
#: the paths costs what changed, and events that arrive while it runs get one rescan after it,
#: so a burst split in two costs one more small rescan, not a look at every file.
DEBOUNCE_MS = 120
#: The sweep's interval: at least SWEEP_MIN_MS (SWEEP_LIVE_MIN_MS while the OS watch runs),
#: and long enough that sweeping takes at most SWEEP_SHARE (SWEEP_SHARE_ALONE) of one core.
SWEEP_MIN_MS = 700
SWEEP_LIVE_MIN_MS = 10_000
SWEEP_MAX_MS = 60_000
SWEEP_SHARE = 0.005
SWEEP_SHARE_ALONE = 0.03
#: Folders whose files the sweep looks at.
_SWEPT = ("assets", "models")


def sweep(root: Path) -> str:
    """A digest of the ``stat`` of every file under ``assets/`` and ``models/`` of ``root``.

    Any file added, removed, renamed or rewritten (its size, modification or change time, or
    inode) changes it. Unreadable folders are left out, never raised.
    """
    h = hashlib.blake2b(digest_size=16)
    stack = [str(root / sub) for sub in _SWEPT]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        entries.sort(key=lambda e: e.name)
        for entry in entries:
            if not visible(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            h.update(
                f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}\n"
                .encode("utf-8", "surrogateescape")
            )  # fmt: skip
    return h.hexdigest()


class WorkspaceWatcher(QObject):
    """Watches one workspace folder.

    Args:
        parent: The Qt parent.
        debounce_ms: Quiet time before ``changed`` (ms).
        sweep: Whether to sweep as a backstop (off: the OS's reports only).

    Signals:
        paths_changed(object, object): just before ``changed``, when assets changed: the
            workspace folder and the absolute paths of the files and folders that changed (a
            frozenset), or None when any file may have changed (the OS lost events, or the
            sweep saw what it did not report).
        changed(set[str]): after a quiet period, which of :data:`ASSETS`, :data:`LOGS` and
            :data:`ROSTER` changed since the last report.
    """

    paths_changed = Signal(object, object)
    changed = Signal(object)
    _woken = Signal()
    _swept = Signal(object, str, float)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        debounce_ms: int = DEBOUNCE_MS,
        sweep: bool = True,
    ) -> None:
        super().__init__(parent)
        self._root: Path | None = None
        self._watch = FolderWatch(self._wake)
        self._woken.connect(self._on_woken)
        self._pending: set[str] = set()
        self._everything = False  # the sweep saw a change the OS did not report
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._flush)
        self._sweeping = sweep
        self._digest: str | None = None
        self._sweep_running = False
        self._rebase = False
        self._sweep_timer = QTimer(self)
        self._sweep_timer.setSingleShot(True)
        self._sweep_timer.timeout.connect(self._start_sweep)
        self._swept.connect(self._on_swept)
        self.destroyed.connect(self._watch.close)
        #: Sweeps done and the last one's cost (CPU seconds of its thread), for the benchmarks.
        self.sweeps = 0
        self.sweep_cost_s = 0.0

    @property
    def root(self) -> Path | None:
        """The folder watched (None: nothing)."""
        return self._root

    @property
    def live(self) -> bool:
        """Whether the OS reports the changes (else the sweep alone finds them)."""
        return self._watch.live

    def watched(self) -> dict[str, int]:
        """How many folders and files are watched now (never a file)."""
        return self._watch.watched()

    def watch(self, root: Path | None) -> None:
        """Watch ``root`` (None: stop watching)."""
        self._pending.clear()
        self._everything = False
        self._timer.stop()
        self._sweep_timer.stop()
        self._root = root
        self._digest = None
        self._watch.watch(root)
        if root is not None and self._sweeping:
            self._start_sweep()  # the first sweep only records the state

    def close(self) -> None:
        """Stop watching (the OS watch's thread ends)."""
        self.watch(None)

    def _wake(self) -> None:
        # On the OS watch's thread: queued to the GUI thread. The watcher may be gone meanwhile.
        with contextlib.suppress(RuntimeError):
            self._woken.emit()

    def _on_woken(self) -> None:
        if self._root is not None:
            self._timer.start()

    def _flush(self) -> None:
        found = self._watch.take()
        changed = set(self._pending) | set(found.kinds)
        self._pending.clear()
        everything, self._everything = self._everything or not found.complete, False
        if ASSETS in changed:
            if self._sweeping:
                # What is reported is being rescanned: the next sweep starts from here.
                self._rebase = True
                self._sweep_timer.start(0)
            self.paths_changed.emit(self._root, None if everything else found.paths)
        if changed:
            self.changed.emit(changed)

    # -- the sweep ------------------------------------------------------------------------------

    def _start_sweep(self) -> None:
        root = self._root
        if root is None or self._sweep_running:
            return
        self._sweep_running = True

        def run() -> None:
            t0 = time.thread_time()
            digest = sweep(root)
            # Queued to the GUI thread; the watcher may be gone meanwhile (the app closed).
            with contextlib.suppress(RuntimeError):
                self._swept.emit(root, digest, time.thread_time() - t0)

        threading.Thread(target=run, name="twinreview-sweep", daemon=True).start()

    def _on_swept(self, root: Path, digest: str, cost: float) -> None:
        self._sweep_running = False
        if root != self._root:
            return  # another workspace since: its own sweep follows
        self.sweeps += 1
        self.sweep_cost_s = cost
        before, self._digest = self._digest, digest
        rebase, self._rebase = self._rebase, False
        # Changes the OS reported and the quiet period has not passed on yet (a burst still
        # being written) explain what the sweep saw: they are rescanned with their paths, and
        # the sweep after their report starts from there, as after any report.
        if before is not None and digest != before and not rebase and not self._watch.pending:
            self._pending.add(ASSETS)
            self._everything = True
            self._timer.start()
        live = self._watch.live
        share = SWEEP_SHARE if live else SWEEP_SHARE_ALONE
        floor = SWEEP_LIVE_MIN_MS if live else SWEEP_MIN_MS
        interval = min(SWEEP_MAX_MS, max(floor, round(cost / share * 1000)))
        self._sweep_timer.start(interval)
