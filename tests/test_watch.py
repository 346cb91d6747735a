"""The OS's reports of changes under a workspace, sorted by kind, with their paths (no Qt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from watchdog.events import (
    DirModifiedEvent,
    EventsLostEvent,
    FileModifiedEvent,
    FileMovedEvent,
)

from twinreview.services.watch import ASSETS, LOGS, ROSTER, FolderWatch, kind_of


def test_kinds_by_place(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    cases = {
        "assets/ava/1.jpg": ASSETS,
        "models/ava/references/r.jpg": ASSETS,
        "twinreview.toml": ASSETS,
        "logs/ana--0123456789abcdef.dlog": LOGS,
        "roster/requests/ava.req": ROSTER,
        "": None,  # the folder itself
        "notes.txt": None,
        ".git/index": None,
        "assets/ava/.1.jpg.part": None,
        ".twinreview-write-check-1": None,
        "assets/ava/1.jpg.tmp": None,
    }
    for rel, kind in cases.items():
        assert kind_of(root, str(root / rel)) == kind, rel
    assert kind_of(root, str(tmp_path / "elsewhere.jpg")) is None


class _Observer:
    """Stands for watchdog's observer: the test sends the events."""

    def __init__(self) -> None:
        self.handler: Any = None

    def schedule(self, handler: Any, path: str, **_k: Any) -> None:
        self.handler = handler

    def start(self) -> None:
        pass

    def is_alive(self) -> bool:
        return True

    def stop(self) -> None:
        pass

    def join(self, _timeout: float) -> None:
        pass


def test_reports_name_their_paths_and_lost_events_ask_for_everything(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    observer = _Observer()
    woken: list[int] = []
    watch = FolderWatch(lambda: woken.append(1), observer_factory=lambda: observer)
    watch.watch(root)
    send = observer.handler.on_any_event
    # A folder "modified" alone (a hidden file written in it) wakes nobody.
    send(DirModifiedEvent(str(root / "assets/ava")))
    assert woken == []
    send(FileModifiedEvent(str(root / "assets/ava/1.jpg")))
    send(FileMovedEvent(str(root / "assets/ava/.2.jpg.part"), str(root / "assets/ava/2.jpg")))
    assert len(woken) == 2
    got = watch.take()
    assert got.kinds == {ASSETS} and got.complete
    assert got.paths == {
        str(root / p) for p in ("assets/ava", "assets/ava/1.jpg", "assets/ava/2.jpg")
    }
    assert not watch.take()
    send(EventsLostEvent(str(root)))
    lost = watch.take()
    assert lost.kinds == {ASSETS, LOGS, ROSTER} and not lost.complete
    assert watch.take().complete  # the watch itself runs on
    watch.watch(None)


def test_a_watch_the_os_refuses_says_its_reports_are_incomplete(tmp_path: Path) -> None:
    class Refused(_Observer):
        def schedule(self, handler: Any, path: str, **_k: Any) -> None:
            raise OSError("inotify instance limit reached")

    watch = FolderWatch(observer_factory=Refused)
    watch.watch(tmp_path)
    assert not watch.live and watch.failure == "inotify instance limit reached"
    assert not watch.take().complete
    assert watch.watched() == {"directories": 0, "files": 0}
