"""A first scan shows its end: what it does, the time left, and the copies before the faces."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from conftest import FakeBackend
from twinreview.core.workspace import Workspace
from twinreview.services.scan.model import ScanProgress
from twinreview.services.scan.service import ScanResult


@dataclasses.dataclass
class FacePassBackend(FakeBackend):
    """The fake scan, then a face pass that waits for ``faces_gate`` before the scan ends."""

    faces_gate: threading.Event = dataclasses.field(default_factory=threading.Event)

    def scan(self, workspace: Workspace, progress: Any, cancel: threading.Event) -> ScanResult:
        result = super().scan(workspace, None, cancel)
        n = len(result.assets)
        progress(ScanProgress(n, n, "analyse"))
        progress(ScanProgress(0, n, "faces", known=result))
        self.faces_gate.wait(10)
        progress(ScanProgress(n, n, "faces", known=result))
        return result


def test_copies_show_while_the_faces_are_checked(
    qtbot: Any, settings: QSettings, workspace: Path, thread_pool: Any, tmp_path: Path
) -> None:
    from twinreview.ui.app import build_window

    backend = FacePassBackend()
    window, session, _ = build_window(
        backend, settings, ui_executor=thread_pool, long_executor=thread_pool
    )
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    try:
        window.open_workspace(workspace)
        qtbot.waitUntil(lambda: session.scan.phase.startswith("Checking faces"), timeout=10_000)
        # The scan is still running, and the copy finding is already on its asset.
        assert session.scan.running
        qtbot.waitUntil(
            lambda: any(
                item.result is not None
                and any(f.kind == "near_copy_of_reference" for f in item.result.findings)
                for item in session.items
            ),
            timeout=10_000,
        )
        progress = window.status_line.progress
        qtbot.waitUntil(lambda: "Checking faces" in progress.format(), timeout=5_000)
        qtbot.wait(300)
        window.grab().save(str(tmp_path / "faces-pass.png"))
    finally:
        with qtbot.waitSignal(session.scan_finished, timeout=10_000):
            backend.faces_gate.set()
