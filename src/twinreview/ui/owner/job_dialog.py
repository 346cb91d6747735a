"""What the owner's export and check screens share.

Path fields, one job off the GUI thread with a busy bar, and a summary line said as done or as
an error.

The job runs on the bridge's long-job worker (never on the GUI thread); closing the screen drops
its result. Errors are said in the app's words (:func:`twinreview.ui.app_errors.error_text`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QWidget,
)

from twinreview.ui.app_errors import error_text
from twinreview.ui.bridge import Bridge, Task
from twinreview.ui.message_style import error_style, ok_style
from twinreview.ui.roster.widgets import wrap
from twinreview.ui.session import ReviewSession

#: How a path field chooses: an existing folder, a file to write, existing files to read.
FOLDER, SAVE_FILE, OPEN_FILE = "folder", "save", "open"


class PathField(QWidget):
    """A path typed or chosen with Browse….

    Args:
        text: The path shown at first.
        mode: :data:`FOLDER`, :data:`SAVE_FILE` or :data:`OPEN_FILE`.
        tip: What the path is for.
        filters: File dialog filters (``"HTML page (*.html)"``).
    """

    def __init__(
        self, text: str = "", *, mode: str = FOLDER, tip: str = "", filters: str = ""
    ) -> None:
        super().__init__()
        self.mode = mode
        self.filters = filters
        self.edit = QLineEdit(text)
        self.edit.setToolTip(tip)
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip("Choose it in a file dialog")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.browse)
        self.browse.clicked.connect(self._choose)
        #: The file dialog open, if any.
        self.dialog: QFileDialog | None = None

    def _choose(self) -> None:
        dialog = QFileDialog(self.window())
        if self.mode == FOLDER:
            dialog.setFileMode(QFileDialog.FileMode.Directory)
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        elif self.mode == SAVE_FILE:
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        if self.filters:
            dialog.setNameFilter(self.filters)
        current = self.path()
        if current is not None:
            dialog.setDirectory(str(current if current.is_dir() else current.parent))
        dialog.fileSelected.connect(self.edit.setText)
        self.dialog = dialog
        dialog.open()

    def path(self) -> Path | None:
        """The path (None when empty)."""
        text = self.edit.text().strip()
        return Path(text).expanduser() if text else None


def workspace_name(session: ReviewSession) -> str:
    """The open workspace's name: the one signed into its roster, else its folder's."""
    view = session.roster
    if view is not None and view.name:
        return view.name
    ws = session.workspace
    return ws.name if ws is not None else ""


def open_path(path: Path) -> None:
    """Open a file or folder with the system's own application."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class JobDialog(QDialog):
    """A screen that runs one job in the background and shows what came of it.

    Subclasses lay out their form, :attr:`summary`, :attr:`progress` and :attr:`buttons`, and
    call :meth:`run`.

    Args:
        bridge: Runs the job off the GUI thread.
        parent: The window.
    """

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._task: Task[Any] | None = None
        self._running = False
        #: The one-line error of the last run (empty: none).
        self.error_text = ""
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress.setToolTip("Working in the background; the window stays usable")
        self.summary: QLabel = wrap(selectable=True)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close (Esc)")
        self.buttons.rejected.connect(self.reject)

    @property
    def running(self) -> bool:
        """True while the job runs."""
        return self._running

    def run(
        self,
        start: QPushButton,
        busy_text: str,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None],
        what_failed: str,
    ) -> None:
        """Run ``fn(*args)`` in the background; ``on_done(result)`` on the GUI thread.

        A failure is said as ``"{what_failed}: {what happened}"``, styled as an error.
        """
        self._running = True
        self.error_text = ""
        start.setEnabled(False)
        self.progress.setRange(0, 0)  # busy
        self.say(busy_text)

        def done(value: Any) -> None:
            self._finish(start)
            on_done(value)

        def failed(exc: BaseException) -> None:
            self._finish(start, done=False)
            self.fail(f"{what_failed}: {error_text(exc)}")

        self._task = self._bridge.run_long(fn, *args, on_done=done, on_error=failed)

    def _finish(self, start: QPushButton, *, done: bool = True) -> None:
        self._running = False
        self._task = None
        start.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if done else 0)

    def say(self, text: str, *, warn: bool = False) -> None:
        """Show a result (``warn``: something to look at, in the error colour)."""
        self.summary.setStyleSheet(error_style() if warn else ok_style())
        self.summary.setText(text)

    def fail(self, text: str) -> None:
        """Show an error; :attr:`error_text` keeps it."""
        self.error_text = text
        self.summary.setStyleSheet(error_style())
        self.summary.setText(text)

    def done(self, result: int) -> None:
        """Closing drops the job's result (the job itself finishes on its worker)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._running = False
        super().done(result)
