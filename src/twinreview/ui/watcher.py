"""Watches the open workspace folder and says, debounced, what kind of thing changed.

Changes made outside the app (files copied in or deleted, another reviewer's log synced by a
shared drive, the owner's roster edits) show without F5. A ``QFileSystemWatcher`` watches the
workspace's folders (new and removed files) and its asset, log and roster files (edits and
appends); bursts of events (a sync writing fifty files) are folded into one ``changed`` signal
after a short quiet period.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

#: What changed, as :attr:`WorkspaceWatcher.changed` reports it.
ASSETS = "assets"  # generated images, sidecars, reference photos, model or workspace settings
LOGS = "logs"  # decision logs
ROSTER = "roster"  # the signed roster and its requests

#: Quiet time after the last event before ``changed`` is emitted (ms).
DEBOUNCE_MS = 250
# Temporary files the app itself writes (the write check, atomic renames) are not changes.
_OWN_PREFIXES = (".twinreview-",)


class WorkspaceWatcher(QObject):
    """Watches one workspace folder.

    Signals:
        changed(set[str]): after a quiet period, which of :data:`ASSETS`, :data:`LOGS` and
            :data:`ROSTER` changed since the last report.
    """

    changed = Signal(object)

    def __init__(self, parent: QObject | None = None, *, debounce_ms: int = DEBOUNCE_MS) -> None:
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

    @property
    def root(self) -> Path | None:
        """The folder watched (None: nothing)."""
        return self._root

    def watch(self, root: Path | None) -> None:
        """Watch ``root`` (None: stop watching)."""
        self._clear()
        self._pending.clear()
        self._timer.stop()
        self._root = root
        self._tops = self._top_level()
        if root is not None:
            self._arm()

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
        for sub in ("assets", "models", "logs", "roster"):
            top = root / sub
            if not top.is_dir():
                continue
            for folder, subdirs, names in os.walk(top):
                subdirs[:] = [d for d in subdirs if not d.startswith(".")]
                dirs.append(folder)
                files.extend(
                    os.path.join(folder, n)
                    for n in names
                    if not n.startswith(".") and not n.endswith(".tmp")
                )
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
        if changed:
            self.changed.emit(changed)
