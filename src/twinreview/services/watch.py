"""Which files of a workspace folder changed, as the operating system reports them. No Qt.

A :class:`FolderWatch` asks the OS for the changes under one folder through ``watchdog``: inotify
on Linux (one watch per folder, with the writes into a file: an image editor saving over an image
is seen), one FSEvents stream on macOS and one recursive ``ReadDirectoryChangesW`` on Windows.
It never holds a watch per file: a campaign holds thousands of images, and Qt's macOS backend,
for one, needed an open file per watched path.

Each change is kept with the path it names, so that a rescan can look at those paths only
(:meth:`twinreview.services.scan.service.ScanService.scan`, its ``changed`` argument). When the
OS says that events were lost (a full inotify queue, a volume that was unmounted), the changes
are marked incomplete: whoever takes them must look at everything. A network drive may report
nothing at all: the app keeps a slow sweep of its own as a backstop (``ui.watcher``).

Reads are not changes (opening and closing a file without writing is left out: the scan reads
every file it analyses), nor are the files the app itself writes (``.twinreview-*``), hidden
files and folders, and ``*.tmp`` files.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    EventsLostEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

_log = logging.getLogger(__name__)

#: What changed, by kind.
ASSETS = "assets"  # generated images, sidecars, reference photos, model or workspace settings
LOGS = "logs"  # decision logs
ROSTER = "roster"  # the signed roster and its requests
ALL_KINDS = frozenset({ASSETS, LOGS, ROSTER})

# Temporary files the app itself writes (the write check, atomic renames) are not changes.
OWN_PREFIX = ".twinreview-"
_TOPS = {"assets": ASSETS, "models": ASSETS, "logs": LOGS, "roster": ROSTER}
_CONFIG = "twinreview.toml"
# What is a change: writes, creations, deletions, renames, and the OS saying events were lost.
_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileMovedEvent,
    DirCreatedEvent, DirModifiedEvent, DirDeletedEvent, DirMovedEvent, EventsLostEvent,
]  # fmt: skip


def visible(name: str) -> bool:
    """Whether a file or folder of this name can be a change worth a look."""
    return not name.startswith(".") and not name.endswith(".tmp")


def kind_of(root: Path, path: str) -> str | None:
    """What a change at ``path`` (absolute) under ``root`` is, or None when it does not matter.

    ``assets/`` and ``models/`` and ``twinreview.toml`` are :data:`ASSETS`, ``logs/``
    :data:`LOGS`, ``roster/`` :data:`ROSTER`; the root folder itself and anything else at the
    top level, hidden names at any depth and the app's own temporary files are nothing.
    """
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return None  # another drive (Windows)
    parts = Path(rel).parts
    if not parts or parts[0] in (".", "..") or not all(visible(p) for p in parts):
        return None
    if len(parts) == 1 and parts[0] == _CONFIG:
        return ASSETS
    return _TOPS.get(parts[0])


@dataclass(frozen=True)
class Changes:
    """What changed since the last :meth:`FolderWatch.take`.

    Attributes:
        kinds: Which of :data:`ASSETS`, :data:`LOGS` and :data:`ROSTER` changed.
        paths: The absolute paths of the files and folders that changed (for a rename, both
            names), of every kind.
        complete: False when the OS lost events (or the watch could not run): any file may
            have changed, and only a look at all of them tells.
    """

    kinds: frozenset[str]
    paths: frozenset[str]
    complete: bool = True

    def __bool__(self) -> bool:
        return bool(self.kinds) or not self.complete


NOTHING = Changes(frozenset(), frozenset())


class FolderWatch:
    """Watches one folder tree for changes, off the caller's thread.

    Args:
        on_change: Called (on the watch's own thread) after each change that matters: a cue to
            :meth:`take` them, soon. Must be quick and thread-safe.
        observer_factory: Builds the ``watchdog`` observer (tests may pass a polling one).
    """

    def __init__(
        self,
        on_change: Callable[[], None] | None = None,
        *,
        observer_factory: Callable[[], Any] = Observer,
    ) -> None:
        self._on_change = on_change or (lambda: None)
        self._factory = observer_factory
        self._lock = threading.Lock()
        self._root: Path | None = None
        self._observer: Any = None
        self._kinds: set[str] = set()
        self._paths: set[str] = set()
        self._complete = True
        self._watches = 0
        #: Why the OS watch could not start (None: it runs, or nothing is watched).
        self.failure: str | None = None

    @property
    def root(self) -> Path | None:
        """The folder watched (None: nothing)."""
        return self._root

    @property
    def live(self) -> bool:
        """Whether the OS reports the changes under the folder now."""
        observer = self._observer
        return observer is not None and observer.is_alive()

    def watch(self, root: Path | None) -> None:
        """Watch ``root`` and the folders under it (None: stop watching).

        Never raises: when the OS refuses (too many watches, an unsupported file system), the
        reason is in :attr:`failure` and :meth:`take` says the changes are incomplete.
        """
        self.close()
        with self._lock:
            self._root = root
            self._kinds, self._paths, self._complete = set(), set(), True
            self.failure = None
        if root is None:
            return
        observer = self._factory()
        try:
            observer.schedule(_Handler(self, root), str(root), recursive=True, event_filter=_EVENTS)
            observer.start()
        except (OSError, RuntimeError, ValueError) as exc:
            _log.warning("cannot watch %s for changes: %s", root, exc)
            self.failure = str(exc) or type(exc).__name__
            with self._lock:
                self._complete = False
            return
        self._observer = observer
        # inotify holds one watch per folder; FSEvents and ReadDirectoryChangesW one per tree.
        inotify = "inotify" in type(observer).__name__.lower()
        self._watches = _count_folders(root) if inotify else 1

    @property
    def pending(self) -> bool:
        """Whether changes were reported since the last :meth:`take`."""
        with self._lock:
            return bool(self._kinds)

    def watched(self) -> dict[str, int]:
        """How many watches the OS holds for folders (and for files: never any)."""
        return {"directories": self._watches if self.live else 0, "files": 0}

    def take(self) -> Changes:
        """The changes since the last call, and forget them."""
        with self._lock:
            out = Changes(frozenset(self._kinds), frozenset(self._paths), self._complete)
            self._kinds, self._paths = set(), set()
            self._complete = self.live or self._root is None
        return out

    def close(self) -> None:
        """Stop watching; waits briefly for the watch's thread."""
        observer, self._observer = self._observer, None
        if observer is not None:
            try:
                observer.stop()
                observer.join(2)
            except (OSError, RuntimeError) as exc:
                _log.debug("stopping the folder watch: %s", exc)

    def _event(self, root: Path, event: FileSystemEvent) -> None:
        if root != self._root:
            return  # a late event of a folder watched before
        if isinstance(event, EventsLostEvent):
            with self._lock:
                self._kinds |= ALL_KINDS
                self._complete = False
            self._on_change()
            return
        found = []
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(raw)
            if path:
                kind = kind_of(root, path)
                if kind is not None:
                    found.append((kind, path))
        if not found:
            return
        # A folder "modified" comes with every change of a file in it (the OS or watchdog says
        # so for the parent), hidden files included: its path is kept, for a look at its
        # listing, but it reports nothing on its own.
        folder = isinstance(event, DirModifiedEvent)
        with self._lock:
            for kind, path in found:
                if not folder:
                    self._kinds.add(kind)
                self._paths.add(path)
        if not folder:
            self._on_change()


class _Handler(FileSystemEventHandler):
    def __init__(self, watch: FolderWatch, root: Path) -> None:
        self._watch = watch
        self._root = root

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._watch._event(self._root, event)


def _count_folders(root: Path) -> int:
    """Folders under ``root``, itself included, links not followed."""
    n = 0
    for _dirpath, _dirnames, _files in os.walk(root):
        n += 1
    return n
