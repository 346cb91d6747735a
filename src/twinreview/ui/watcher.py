"""Watches the open workspace folder and says, debounced, what kind of thing changed.

Changes made outside the app (files copied in or deleted, another reviewer's log synced by a
shared drive, the owner's roster edits) show without F5. A ``QFileSystemWatcher`` watches the
workspace's **folders** (files that appear, go or are renamed over) and a small fixed set of
files: ``twinreview.toml`` and the files directly in ``logs/`` and ``roster/`` (one log per
reviewer's device, the signed roster and its views: a handful, appended to in place). It never
watches the images themselves: Qt's macOS backend holds an open file per watched path, and a
campaign holds thousands of images.

What a folder watch does not see is a file rewritten in place (an image editor saving over the
file, a sync tool writing into it): Qt's inotify backend, for one, reports no modification of a
file inside a watched folder. A **sweep** off the GUI thread covers it: the ``stat`` of every file
under ``assets/`` and ``models/`` (size, modification and change time, inode), compared with the
last sweep's. Its interval adapts to its cost, the sweeping thread's own CPU time:
:data:`SWEEP_SHARE` of one core at most (about 0.04 s for 10,000 files, so about every 1.5 s),
and never more often than :data:`SWEEP_MIN_MS`. Its wall time would count the waits for the
interpreter lock and for other programs' use of the cores, which a busy app and a busy laptop
stretch tenfold: a file rewritten in place would then show only after tens of seconds.
Bursts of events (a sync writing fifty files) are folded into one ``changed`` signal after a
short quiet period.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

#: What changed, as :attr:`WorkspaceWatcher.changed` reports it.
ASSETS = "assets"  # generated images, sidecars, reference photos, model or workspace settings
LOGS = "logs"  # decision logs
ROSTER = "roster"  # the signed roster and its requests

#: Quiet time after the last event before ``changed`` is emitted (ms).
DEBOUNCE_MS = 250
#: The sweep's interval: at least this (ms), and long enough that sweeping takes at most
#: SWEEP_SHARE of one core.
SWEEP_MIN_MS = 700
SWEEP_MAX_MS = 30_000
SWEEP_SHARE = 0.03
# Temporary files the app itself writes (the write check, atomic renames) are not changes.
_OWN_PREFIXES = (".twinreview-",)
#: Folders whose own files are watched (appended to in place: logs, the roster).
_FILE_FOLDERS = ("logs", "roster")
#: Folders whose files the sweep looks at.
_SWEPT = ("assets", "models")


def _visible(name: str) -> bool:
    return not name.startswith(".") and not name.endswith(".tmp")


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
            if not _visible(entry.name):
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
        sweep: Whether to sweep for files rewritten in place (off: folder events only).

    Signals:
        changed(set[str]): after a quiet period, which of :data:`ASSETS`, :data:`LOGS` and
            :data:`ROSTER` changed since the last report.
    """

    changed = Signal(object)
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
        self._tops: set[str] = set()
        self._fs = QFileSystemWatcher(self)
        self._fs.directoryChanged.connect(self._on_directory)
        self._fs.fileChanged.connect(self._on_file)
        self._pending: set[str] = set()
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
        #: Sweeps done and the last one's cost (CPU seconds of its thread), for the benchmarks.
        self.sweeps = 0
        self.sweep_cost_s = 0.0

    @property
    def root(self) -> Path | None:
        """The folder watched (None: nothing)."""
        return self._root

    def watched(self) -> dict[str, int]:
        """How many folders and files are watched now."""
        return {"directories": len(self._fs.directories()), "files": len(self._fs.files())}

    def watch(self, root: Path | None) -> None:
        """Watch ``root`` (None: stop watching)."""
        self._clear()
        self._pending.clear()
        self._timer.stop()
        self._sweep_timer.stop()
        self._root = root
        self._digest = None
        self._tops = self._top_level()
        if root is not None:
            self._arm()
            if self._sweeping:
                self._start_sweep()  # the first sweep only records the state

    def _clear(self) -> None:
        paths = self._fs.files() + self._fs.directories()
        if paths:
            self._fs.removePaths(paths)

    def _arm(self) -> None:
        """Add every folder and watched file that exists now (new ones since the last time)."""
        root = self._root
        if root is None or not root.is_dir():
            return
        dirs: list[str] = [str(root)]
        files: list[str] = []
        config = root / "twinreview.toml"
        if config.is_file():
            files.append(str(config))
        for sub in ("assets", "models", *_FILE_FOLDERS):
            top = root / sub
            if not top.is_dir():
                continue
            for folder, subdirs, names in os.walk(top):
                subdirs[:] = [d for d in subdirs if not d.startswith(".")]
                dirs.append(folder)
                if sub in _FILE_FOLDERS and folder == str(top):
                    files.extend(os.path.join(folder, n) for n in names if _visible(n))
        watched = set(self._fs.files()) | set(self._fs.directories())
        new = [p for p in dirs + files if p not in watched]
        if new:
            self._fs.addPaths(new)

    def _kind(self, path: str) -> str | None:
        root = self._root
        if root is None:
            return None
        p = Path(path)
        if p.name.startswith(_OWN_PREFIXES):
            return None
        try:
            rel = p.relative_to(root)
        except ValueError:
            return None
        top = rel.parts[0] if rel.parts else ""
        if top == "logs":
            return LOGS
        if top == "roster":
            return ROSTER
        return ASSETS  # assets/, models/, twinreview.toml, or the root folder itself

    def _top_level(self) -> set[str]:
        root = self._root
        try:
            return {n for n in os.listdir(root) if not n.startswith(".")} if root else set()
        except OSError:
            return set()

    def _on_directory(self, path: str) -> None:
        if self._root is not None and Path(path) == self._root:
            # Something appeared or went at the top: only folders that hold assets, logs or the
            # roster matter (the app's own first log creates ``logs/``: that is a log change).
            now = self._top_level()
            appeared = now ^ self._tops
            self._tops = now
            for name in appeared:
                kind = self._kind(str(self._root / name))
                if kind is not None:
                    self._pending.add(kind)
            self._timer.start()
            return
        kind = self._kind(path)
        if kind is not None:
            self._pending.add(kind)
            self._timer.start()

    def _on_file(self, path: str) -> None:
        kind = self._kind(path)
        if kind is not None:
            self._pending.add(kind)
            self._timer.start()

    def _flush(self) -> None:
        # Files replaced by a rename drop out of the watch, new folders are not in it yet.
        self._arm()
        changed, self._pending = self._pending, set()
        if ASSETS in changed and self._sweeping:
            # What the folder events said is being rescanned: the next sweep starts from here.
            self._rebase = True
            self._sweep_timer.start(0)
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
        if before is not None and digest != before and not rebase:
            self._pending.add(ASSETS)
            self._timer.start()
        interval = min(SWEEP_MAX_MS, max(SWEEP_MIN_MS, round(cost / SWEEP_SHARE * 1000)))
        self._sweep_timer.start(interval)
