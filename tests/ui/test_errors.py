"""Errors in the app: the excepthook, failed background jobs and the session's failure handlers.

Each failure must reach the log file (with its traceback when it is a bug) and the user in plain
words, and the window must not stay busy.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox, QPushButton

from conftest import Harness, make_workspace, open_and_scan
from twinreview.services.diagnostics import configure_logging, log_path
from twinreview.ui.excepthook import UNEXPECTED_TEXT, ErrorReporter


@pytest.fixture
def log_file() -> Path:
    """The rotating log, in this test's own folder (TWINREVIEW_LOG_DIR, tests/conftest.py)."""
    path = configure_logging()
    assert path is not None
    return path


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


@pytest.fixture
def boxes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The message boxes opened: (text, informative text); none is really shown."""
    opened: list[tuple[str, str]] = []

    def fake_open(box: QMessageBox) -> None:
        opened.append((box.text(), box.informativeText()))

    monkeypatch.setattr(QMessageBox, "open", fake_open)
    return opened


def _boom() -> None:
    raise RuntimeError("slot exploded\non two lines")


def test_an_exception_in_a_slot_is_logged_and_shown(
    qtbot: Any, log_file: Path, boxes: list[tuple[str, str]]
) -> None:
    button = QPushButton("go")
    qtbot.addWidget(button)
    button.clicked.connect(_boom)
    before = sys.excepthook
    with ErrorReporter(button) as reporter:
        assert sys.excepthook == reporter.excepthook
        button.click()  # a slot called by Qt: the exception cannot reach a caller
        qtbot.waitUntil(lambda: len(boxes) == 1)
    assert sys.excepthook is before  # pytest-qt's own capture is back
    assert before is not sys.__excepthook__
    text, details = boxes[0]
    assert text == UNEXPECTED_TEXT
    assert str(log_path()) in details
    assert "RuntimeError" not in text + details  # plain words: no type names, no traceback
    logged = _read(log_file)
    assert "Traceback" in logged
    assert "RuntimeError: slot exploded" in logged


def test_an_exception_from_the_event_loop_opens_one_box_and_logs_repeats_briefly(
    qtbot: Any, log_file: Path, boxes: list[tuple[str, str]]
) -> None:
    # A failing paint raises on every repaint: one message, one traceback, a count in the log.
    with ErrorReporter(None) as reporter:
        for _ in range(4):
            QTimer.singleShot(0, _boom)
        qtbot.waitUntil(lambda: reporter.count == 4)
    assert len(boxes) == 1
    logged = _read(log_file)
    assert logged.count("Traceback") == 1
    assert "the same unexpected error again (4 times)" in logged


def test_an_exception_in_a_result_callback_reaches_the_hook_and_the_bridge_goes_on(
    qtbot: Any, harness: Harness, log_file: Path, boxes: list[tuple[str, str]]
) -> None:
    def broken_callback(value: int) -> None:
        raise KeyError(f"no row {value}")

    results: list[int] = []
    with ErrorReporter(harness.window) as reporter:
        harness.bridge.submit(lambda: 1, on_done=broken_callback)
        qtbot.waitUntil(lambda: reporter.count == 1)
        harness.bridge.submit(lambda: 2, on_done=results.append)
        qtbot.waitUntil(lambda: results == [2])
    assert harness.bridge.pending() == 0
    assert len(boxes) == 1
    assert "KeyError: 'no row 1'" in _read(log_file)


def test_the_real_box_is_window_modal_and_does_not_block(qtbot: Any, log_file: Path) -> None:
    button = QPushButton("go")
    qtbot.addWidget(button)
    button.show()
    with ErrorReporter(button) as reporter:
        reporter.excepthook(RuntimeError, RuntimeError("first"), None)
        box = button.findChild(QMessageBox)
        assert box is not None and box.isVisible()
        assert box.text() == UNEXPECTED_TEXT
        reporter.excepthook(ValueError, ValueError("second"), None)  # no second box over it
        assert len(button.findChildren(QMessageBox)) == 1
        box.accept()
        reporter.excepthook(KeyError, KeyError("third"), None)  # the first was read: a new one
        qtbot.waitUntil(lambda: any(b.isVisible() for b in button.findChildren(QMessageBox)))


def test_the_hook_never_recurses_and_passes_on_what_is_not_an_error(
    monkeypatch: pytest.MonkeyPatch, log_file: Path
) -> None:
    passed_on: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "excepthook", lambda t, v, tb: passed_on.append(t))
    shown: list[str] = []

    def show(text: str, details: str) -> None:
        shown.append(text)
        # An error while telling the user goes to the previous hook, not round again.
        reporter.excepthook(ValueError, ValueError("while showing"), None)
        raise OSError("the display is gone")

    reporter = ErrorReporter(None, show).install()
    try:
        reporter.excepthook(RuntimeError, RuntimeError("first"), None)  # must not raise
        reporter.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)
    finally:
        reporter.uninstall()
    assert shown == [UNEXPECTED_TEXT]
    assert passed_on == [ValueError, KeyboardInterrupt]
    assert sys.excepthook is not reporter.excepthook


def test_uninstall_leaves_a_hook_installed_after_it_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def first(*args: object) -> None:
        return None

    def later(*args: object) -> None:
        return None

    monkeypatch.setattr(sys, "excepthook", first)
    reporter = ErrorReporter(None, lambda text, details: None).install()
    sys.excepthook = later  # someone else's hook on top: not ours to remove
    reporter.uninstall()
    assert sys.excepthook is later


# --- failed background jobs and the session's handlers -------------------------------------------


def _fail(exc: BaseException) -> None:
    raise exc


def test_a_failed_job_is_logged_said_plainly_and_the_window_stops_looking_busy(
    qtbot: Any, harness: Harness, log_file: Path
) -> None:
    w = harness.window
    w.status_line.progress.show()
    w.status_line.cancel_button.show()
    w.acts["cancel_scan"].setEnabled(True)
    w.status_line.say("Building the demo workspace…")
    with qtbot.waitSignal(harness.bridge.job_failed):
        harness.bridge.submit(_fail, RuntimeError("bug in a worker"), on_done=lambda _: None)
    text = w.status_line.text()
    assert text.startswith("Something went wrong in the background")
    assert str(log_path()) in text
    assert "RuntimeError" not in text
    assert w.status_line.progress.isHidden()
    assert w.status_line.cancel_button.isHidden()
    assert not w.acts["cancel_scan"].isEnabled()
    logged = _read(log_file)
    assert "background work failed" in logged
    assert "RuntimeError: bug in a worker" in logged


def test_a_failed_job_with_a_file_problem_says_what_it_was(
    qtbot: Any, harness: Harness, log_file: Path
) -> None:
    with qtbot.waitSignal(harness.session.error_reported) as blocker:
        harness.bridge.submit(
            _fail, FileNotFoundError(2, "No such file or directory", "a.jpg"), on_done=print
        )
    assert blocker.args[0].startswith("Could not finish:")
    assert harness.window.status_line.text() == blocker.args[0]
    # Expected: one line in the log, no traceback.
    logged = _read(log_file)
    assert "background work failed: [Errno 2] No such file or directory: 'a.jpg'" in logged
    assert "Traceback" not in logged


def test_a_failed_roster_change_without_a_handler_is_logged_and_surfaced(
    qtbot: Any, harness: Harness, tmp_path: Path, log_file: Path
) -> None:
    open_and_scan(qtbot, harness, make_workspace(tmp_path / "ws2"))
    session = harness.session
    # The fake backend's approve_join is not implemented: a bug, as far as the app can tell.
    with qtbot.waitSignal(session.error_reported) as blocker:
        session.roster_action(session.backend.approve_join, "someone@example.com")
    assert "The details are in" in blocker.args[0]
    assert harness.window.status_line.text() == blocker.args[0]
    logged = _read(log_file)
    assert "roster change approve_join failed" in logged
    assert "NotImplementedError" in logged


def test_a_refused_decision_is_logged_as_one_line(
    qtbot: Any, harness: Harness, tmp_path: Path, log_file: Path
) -> None:
    open_and_scan(qtbot, harness, make_workspace(tmp_path / "ws3"))
    rel = "assets/ana/look-1.jpg"
    harness.backend.refuse[rel] = "the disk is full"
    with qtbot.waitSignal(harness.session.decision_failed) as blocker:
        harness.session.decide(rel, "reject", ("other",))
    assert blocker.args == [rel, "the disk is full"]
    assert f"reject {rel} refused" in _read(log_file)


def test_log_records_never_reach_stderr_without_a_log_file() -> None:
    # Without configure_logging (a library caller, an unwritable log folder), logging's
    # last-resort handler would print warnings and tracebacks under the CLI's one line.
    code = (
        "import logging, twinreview.services.keys; "
        "logging.getLogger('twinreview.services.keys').warning('no usable keyring', "
        "exc_info=RuntimeError('boom'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr == ""


def test_a_failed_workspace_creation_says_one_short_line(
    qtbot: Any, harness: Harness, tmp_path: Path, boxes: list[tuple[str, str]]
) -> None:
    # A file-system error can carry a whole path listing: the window shows one line, cut the
    # way every other error line of the app is (core.errors.one_line).
    def refuse(root: Path, name: str) -> None:
        raise OSError("cannot create\n" + "very/deep/folder/" * 60)

    harness.backend.create_workspace = refuse  # type: ignore[method-assign]
    harness.window.create_workspace_at(tmp_path / "new-ws", "Spring")
    qtbot.waitUntil(lambda: bool(boxes))
    line = harness.window.status_line.text()
    assert line.startswith("Workspace not created: cannot create very/deep/folder/")
    assert "\n" not in line
    assert len(line) <= len("Workspace not created: ") + 300
    assert boxes[0][0] == line.removeprefix("Workspace not created: ")
