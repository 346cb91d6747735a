"""Scans in a child process, so the scan's Python work never competes with the GUI thread.

The scan hashes, parses and matches in Python on several threads. In the app's own process those
threads and the GUI thread share one interpreter lock, and on a busy laptop the GUI thread could
wait 50 ms and more for it: the window froze in the middle of a scan. In a child process the
scan has its own interpreter; the app only receives progress and results.

The child is started once (``spawn``: never ``fork`` a process that runs Qt) and reused for every
scan. It builds the same services the app would (executor, scan cache, scan service) and sends:
``("progress", ScanProgress)``, then the assets in small ``("assets", chunk)`` messages (one big
result would be unpickled in one go, holding the interpreter lock for tens of milliseconds), then
``("done", result_without_assets)``, or ``("error", message)``. What the scan knows before its
face pass (``ScanProgress.known``) goes once, the same way (``("known_assets", chunk)`` then
``("known", result_without_assets)``), and the app attaches it to the progress it relays.

No Qt here: the child imports this module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import threading
import time
from collections.abc import Callable, Collection
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from twinreview.core.errors import TwinreviewError, one_line
from twinreview.services.diagnostics import configure_logging, is_expected, log_unexpected
from twinreview.services.memory import release_freed
from twinreview.services.scan.model import ScanProgress

_PROGRESS_INTERVAL_S = 0.05
#: The phase of the progress the app reports while a scan's results arrive (``done``: how many
#: so far; ``total`` 0: the scan process does not say how many are coming).
RECEIVING = "receiving"
# Assets per message: about 4 ms to unpickle on a laptop core, then the interpreter lock is
# handed to the GUI thread if it waits for it. A zero-length sleep hands it over without
# pausing: a pause of 2 ms after each message cost a load of 10,000 assets 0.6 s and more.
_CHUNK = 32
_YIELD_S = 0.0
_POLL_S = 0.05


class ScanProcessError(TwinreviewError, RuntimeError):
    """The scan process failed or stopped; the message is one line for the reviewer."""


def _child_main(conn: Connection, cancel: Any) -> None:
    """The child: build the scan service once, then run the scans the app asks for."""
    from twinreview.core.workspace import Workspace
    from twinreview.services.compose import default_cache_path, make_executor, make_scan_service
    from twinreview.services.scan.cache import ResultCache

    configure_logging()  # a process of its own: a failed scan's traceback is written here
    executor = make_executor()
    # The cache writes only a later process needs wait until the result went out.
    service = make_scan_service(executor, ResultCache(default_cache_path()), defer_saves=True)
    sent = _Sent()
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return  # the app went away
            if message[0] != "scan":
                return  # "quit"
            held = message[2] if len(message) > 2 else None
            named = message[3] if len(message) > 3 else None
            _child_scan(conn, service, Workspace, Path(message[1]), cancel, sent, held, named)
            try:
                service.settle()
            except Exception as exc:  # noqa: BLE001 - a cache write that failed is only a cache
                log_unexpected(exc)
            release_freed()
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


class _Sent:
    """What the child last sent for a workspace.

    The app keeps it, so a rescan sends only the assets whose results changed (and the order
    of all of them).
    """

    def __init__(self) -> None:
        self.token = 0
        self.by_root: dict[str, tuple[int, dict[str, Any]]] = {}

    def delta(self, root: str, held: int | None, assets: Any) -> tuple[list[Any], dict[str, Any]]:
        """The assets to send and the note that lets the app rebuild the rest.

        ``held`` is the token of the result the app holds for ``root`` (None: none).
        """
        self.token += 1
        now = {a.asset.rel: a for a in assets}
        last = self.by_root.get(root)
        self.by_root = {root: (self.token, now)}  # one workspace at a time is enough
        if last is None or held != last[0]:
            return list(assets), {"token": self.token, "base": None}
        before = last[1]
        # A result the scan kept is the very object sent before: no need to compare it.
        changed = [a for a in assets if before.get(a.asset.rel) is not a]
        changed = [a for a in changed if before.get(a.asset.rel) != a]
        rels = [a.asset.rel for a in assets]
        return changed, {"token": self.token, "base": last[0], "rels": rels}


def _child_scan(
    conn: Connection,
    service: Any,
    workspace_type: Any,
    root: Path,
    cancel: Any,
    sent: _Sent | None = None,
    held: int | None = None,
    named: list[str] | None = None,
) -> None:
    """One scan in the child; ``named``: the paths changed since the last (None: look at all)."""
    last_time = 0.0
    last_phase = ""
    known_sent: Any = None

    def progress(p: Any) -> None:
        nonlocal last_time, last_phase, known_sent
        known = getattr(p, "known", None)
        if known is not None:
            if known is not known_sent:
                known_sent = known
                _send_result(conn, known, "known_assets", "known")
            p = dataclasses.replace(p, known=None)
        now = time.monotonic()
        # Throttled, but every phase change and the end of each phase get through.
        if now - last_time >= _PROGRESS_INTERVAL_S or p.phase != last_phase or p.done >= p.total:
            last_time, last_phase = now, p.phase
            conn.send(("progress", p))

    try:
        ws = workspace_type.open(root)
        if named is None:
            result = service.scan(ws, progress=progress, cancel=cancel)
        else:
            result = service.scan(ws, progress=progress, cancel=cancel, changed=named)
    except Exception as exc:  # noqa: BLE001 - reported to the app as one line, never a crash
        if not is_expected(exc):
            log_unexpected(exc)  # the app only gets the line; the traceback stays here
        conn.send(("error", one_line(exc)))
        return
    if sent is not None and not getattr(result, "cancelled", True):
        changed, note = sent.delta(str(root), held, result.assets)
        for i in range(0, len(changed), _CHUNK):
            conn.send(("assets", changed[i : i + _CHUNK]))
        conn.send(("done", dataclasses.replace(result, assets=()), note))
        return
    _send_result(conn, result, "assets", "done")


def _send_result(conn: Connection, result: Any, chunk_kind: str, kind: str) -> None:
    """A scan result in small messages: its assets in chunks, then the rest."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        assets: Any = getattr(result, "assets", ())
        for i in range(0, len(assets), _CHUNK):
            conn.send((chunk_kind, assets[i : i + _CHUNK]))
        conn.send((kind, dataclasses.replace(result, assets=())))
    else:
        conn.send((kind, result))


class ProcessScanner:
    """Runs scans in one long-lived child process. Thread-safe; one scan at a time.

    Call :meth:`start` early (the child needs about a second to import the scan code, in
    parallel with the app's start-up), :meth:`scan` from a worker thread, :meth:`close` at exit.
    """

    def __init__(self) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None
        self._cancel: Any = None
        self._closed = False
        # The last whole result (child's token, workspace root, assets by rel): the child sends
        # only what changed since.
        self._held: tuple[int, str, dict[str, Any]] | None = None
        # The paths the app's watcher reported changed since the last scan, per workspace
        # folder (None: any file may have): the child looks at those only.
        self._named: dict[str, set[str] | None] = {}
        self._named_lock = threading.Lock()
        # The folder whose scan :meth:`begin` sent, not yet received by :meth:`scan`.
        self._early: str | None = None

    def note_changes(self, root: Any, paths: Collection[str] | None) -> None:
        """Remember that ``paths`` under ``root`` changed (None: any may have), for its next scan.

        Thread-safe. A scan with nothing noted looks at every file.
        """
        key = str(root)
        with self._named_lock:
            named = self._named.get(key, set())
            if paths is None or named is None:
                self._named[key] = None
            else:
                named.update(paths)
                self._named[key] = named

    def start(self) -> None:
        """Start the child process now if it is not running.

        Raises:
            ScanProcessError: when no child process can be started.
        """
        with self._lock:
            self._ensure_started()

    def begin(self, workspace: Any) -> None:
        """Send the scan of ``workspace`` to the child now, ahead of :meth:`scan`.

        The app calls it as soon as a workspace is open, so that the child scans while the
        window fills its queue; the next :meth:`scan` of that folder receives the result (what
        the child sends meanwhile waits in the pipe). A :meth:`scan` of another folder first
        lets it end, cancelled. Never blocks: while a scan runs, nothing is sent; a failure is
        left to :meth:`scan` to report.
        """
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._early is None:
                self._ensure_started()
                self._send_scan(str(workspace.root))
                self._early = str(workspace.root)
        except ScanProcessError:
            pass  # scan() starts again and says why if it fails too
        finally:
            self._lock.release()

    def _send_scan(self, root: str) -> None:
        """Ask the child to scan ``root`` (what the app holds of it, and the paths noted)."""
        assert self._conn is not None
        assert self._cancel is not None
        self._cancel.clear()
        held = self._held[0] if self._held is not None and self._held[1] == root else None
        with self._named_lock:
            named = self._named.pop(root, None)
        try:
            self._conn.send(("scan", root, held, None if named is None else sorted(named)))
        except (OSError, ValueError) as exc:
            self._forget()
            raise ScanProcessError(f"the scan process is gone ({exc})") from None

    def _drain(self) -> None:
        """Let the scan :meth:`begin` sent end, cancelled, and drop what it sends."""
        conn, proc, cancel = self._conn, self._proc, self._cancel
        if conn is None or proc is None or cancel is None:
            return
        cancel.set()
        while True:
            try:
                if conn.poll(_POLL_S):
                    if conn.recv()[0] in ("done", "error"):
                        return
                elif not proc.is_alive():
                    self._forget()
                    return
            except (EOFError, OSError):
                self._forget()
                return

    def _ensure_started(self) -> bool:
        """Start the child unless it runs; True when a new one was started."""
        if self._closed:
            raise ScanProcessError("the app is closing")
        if self._proc is not None and self._proc.is_alive():
            return False
        self._early = None  # a scan sent to a child that is gone never comes
        try:
            parent, child = self._ctx.Pipe()
            cancel = self._ctx.Event()
            proc = self._ctx.Process(
                target=_child_main, args=(child, cancel), name="twinreview-scan", daemon=True
            )
            proc.start()
        except (OSError, RuntimeError, ValueError) as exc:
            raise ScanProcessError(f"cannot start the scan process ({exc})") from None
        child.close()
        self._proc, self._conn, self._cancel = proc, parent, cancel
        return True

    def scan(
        self,
        workspace: Any,
        progress: Callable[[Any], None] | None,
        cancel: threading.Event,
    ) -> Any:
        """Scan ``workspace`` in the child; blocking. Progress is relayed on this thread.

        Raises:
            ScanProcessError: the scan failed (one-line reason) or the child stopped.
        """
        with self._lock:
            root = str(workspace.root)
            early, self._early = self._early, None
            if early is not None and early != root:
                self._drain()
            if self._ensure_started() or early != root:
                self._send_scan(root)
            conn, proc, child_cancel = self._conn, self._proc, self._cancel
            assert conn is not None
            chunks: list[Any] = []
            known_chunks: list[Any] = []
            known: Any = None
            forwarded = False
            said = 0.0
            while True:
                if cancel.is_set() and not forwarded:
                    child_cancel.set()
                    forwarded = True
                try:
                    ready = conn.poll(_POLL_S)
                    message = conn.recv() if ready else None
                except (EOFError, OSError):
                    message, ready = None, False
                    proc.join(1)
                if message is None:
                    if not proc.is_alive():
                        self._forget()
                        raise ScanProcessError(
                            f"the scan process stopped unexpectedly (exit code {proc.exitcode})"
                        )
                    continue
                kind = message[0]
                if kind == "progress":
                    if progress is not None:
                        p = message[1]
                        if known is not None and dataclasses.is_dataclass(p):
                            p = dataclasses.replace(p, known=known)  # type: ignore[type-var]
                        progress(p)
                elif kind == "known_assets":
                    known_chunks.extend(message[1])
                    time.sleep(_YIELD_S)
                elif kind == "known":
                    known = dataclasses.replace(
                        message[1], assets=tuple(known_chunks), workspace=workspace
                    )
                    known_chunks = []
                elif kind == "assets":
                    chunks.extend(message[1])
                    now = time.monotonic()
                    if progress is not None and now - said >= _PROGRESS_INTERVAL_S:
                        # Thousands of results take seconds to arrive: say so, rather than
                        # leave the scan's last phase on screen as if it were stuck.
                        said = now
                        progress(ScanProgress(len(chunks), 0, RECEIVING))
                    # Unpickling held the interpreter lock; hand it to the GUI thread before
                    # the next chunk, or back-to-back chunks starve it.
                    time.sleep(_YIELD_S)
                elif kind == "error":
                    raise ScanProcessError(message[1])
                elif kind == "done":
                    result = message[1]
                    note = message[2] if len(message) > 2 else None
                    if dataclasses.is_dataclass(result) and not isinstance(result, type):
                        assets = self._rebuild(root, chunks, note)
                        # The app's own Workspace object, not the child's copy of it.
                        result = dataclasses.replace(result, assets=assets, workspace=workspace)
                    return result

    def _rebuild(self, root: str, chunks: list[Any], note: dict[str, Any] | None) -> Any:
        """The whole result's assets: those sent, and the unchanged ones the app holds.

        An unchanged asset keeps the very object the app already has, so the app sees at once
        what did not change.
        """
        if note is None:
            self._held = None
            return tuple(chunks)
        if note.get("base") is None or self._held is None or self._held[1] != root:
            assets = tuple(chunks)
        else:
            before = self._held[2]
            fresh = {a.asset.rel: a for a in chunks}
            assets = tuple(fresh.get(rel) or before[rel] for rel in note["rels"])
        self._held = (note["token"], root, {a.asset.rel: a for a in assets})
        return assets

    def _forget(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None
        self._early = None
        self._held = None  # a new child knows nothing of it

    def close(self) -> None:
        """Stop the child (a running scan is cancelled first); never blocks for long."""
        self._closed = True
        proc, conn, cancel = self._proc, self._conn, self._cancel
        if proc is None or conn is None:
            return
        cancel.set()
        with contextlib.suppress(OSError, ValueError):
            conn.send(("quit",))
        proc.join(3)
        if proc.is_alive():
            proc.terminate()
            proc.join(2)
