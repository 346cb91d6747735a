"""The app's ``sys.excepthook``: an exception no code handled is logged and said plainly.

Public API:
    ErrorReporter(parent, show=None): the hook; a context manager that installs it and puts the
        previous hook back.
    UNEXPECTED_TEXT: the sentence the user reads; unexpected_details() -> str: where the log is.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from twinreview.core.errors import one_line
from twinreview.services.diagnostics import log_path, log_unexpected

_log = logging.getLogger(__name__)

#: What the user reads when an exception escaped (no codes, no traceback).
UNEXPECTED_TEXT = (
    "Something went wrong inside twinreview, so what you just did may not have finished."
)


def unexpected_details() -> str:
    """The second line of the message: where the details are."""
    return f"The details are written to the log file {log_path()}."


ShowMessage = Callable[[str, str], None]


class ErrorReporter:
    """``sys.excepthook`` for the app: an exception no code handled is logged and shown plainly.

    Qt calls Python code from its event loop (slots, paints, timers); an exception there cannot
    reach a caller, so Python hands it to ``sys.excepthook``. This hook writes it to the log file
    with its traceback and shows one plain sentence and where the log file is. Use it as a
    context manager around the event loop: the previous hook is put back on exit.

    Args:
        parent: The window the message belongs to.
        show: ``show(text, details)`` tells the user (default: a window-modal message box that
            does not block the event loop). The screenshot mode and tests pass their own.
    """

    def __init__(self, parent: QWidget | None = None, show: ShowMessage | None = None) -> None:
        self._parent = parent
        self._show = show if show is not None else self._show_box
        self._previous: Callable[..., Any] | None = None
        self._handling = False
        self._box: QMessageBox | None = None
        #: How often each error was seen, by (type, message, where it was raised).
        self._seen: dict[tuple[str, str, str], int] = {}
        #: Exceptions reported so far.
        self.count = 0

    def install(self) -> ErrorReporter:
        """Become ``sys.excepthook``; remembers the hook in place to restore it later."""
        if self._previous is None:
            self._previous = sys.excepthook
            sys.excepthook = self.excepthook
        return self

    def uninstall(self) -> None:
        """Put the previous hook back (only if nobody replaced this one since)."""
        if self._previous is not None:
            if sys.excepthook == self.excepthook:
                sys.excepthook = self._previous
            self._previous = None
        box, self._box = self._box, None
        if box is not None:
            box.deleteLater()

    def __enter__(self) -> ErrorReporter:
        return self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    def excepthook(
        self,
        exc_type: type[BaseException],
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Log ``exc`` and tell the user; never raises, never recurses."""
        previous: Callable[..., Any] = self._previous or sys.__excepthook__
        if exc is None or not isinstance(exc, Exception) or self._handling:
            # Ctrl+C, SystemExit, or a failure while reporting one: the interpreter's own way.
            previous(exc_type, exc, tb)
            return
        error: Exception = exc if exc.__traceback__ is not None else exc.with_traceback(tb)
        self._handling = True
        try:
            self.count += 1
            if self._log(error, tb):
                self._show(UNEXPECTED_TEXT, unexpected_details())
        except Exception:  # noqa: BLE001 - the hook must not fail; stderr is the last resort
            sys.__excepthook__(exc_type, error, tb)
        finally:
            self._handling = False

    def _log(self, exc: Exception, tb: TracebackType | None) -> bool:
        """Log ``exc``; True the first time it is seen (a failing paint repeats every repaint)."""
        last = tb
        while last is not None and last.tb_next is not None:
            last = last.tb_next
        where = f"{last.tb_frame.f_code.co_filename}:{last.tb_lineno}" if last else ""
        key = (type(exc).__name__, one_line(exc), where)
        seen = self._seen[key] = self._seen.get(key, 0) + 1
        if seen == 1:
            log_unexpected(exc)
            return True
        if seen & (seen - 1) == 0:  # 2, 4, 8, ...: the file says it repeats without filling up
            _log.error("the same unexpected error again (%d times): %s", seen, key[1])
        return False

    def _show_box(self, text: str, details: str) -> None:
        if self._box is not None:
            return  # one at a time: the first error is the one worth reading
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Something went wrong",
            text,
            QMessageBox.StandardButton.Ok,
            self._parent,
        )
        box.setInformativeText(details)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        def closed(_: int) -> None:
            self._box = None
            box.deleteLater()

        box.finished.connect(closed)
        self._box = box
        box.open()  # window-modal and non-blocking: the event loop keeps running
