"""The window's status bar: one line of what is going on, the progress bar and Cancel."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar, QToolButton

from twinreview.ui.window_texts import scan_finished_text, scan_format


class StatusLine:
    """What twinreview is doing, with the progress of a scan or a batch and its Cancel button.

    Attributes:
        label: The line of text.
        progress: The progress bar (shown while a scan or a batch runs).
        cancel_button: Cancels the scan (shown with the progress of a scan).
    """

    def __init__(self, bar: QStatusBar, cancel: QAction) -> None:
        self._cancel = cancel
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setMinimumWidth(260)  # room for what the scan does and its time left
        self.progress.setToolTip("Scan progress")
        self.progress.setTextVisible(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(cancel)
        self.label = QLabel()
        self.label.setToolTip("What twinreview is doing")
        # A long line gives way (its end is cut; the tooltip has it whole), never the bar.
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.label.setMinimumWidth(0)
        bar.addWidget(self.label, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        # Keep their place while hidden: showing them when a scan starts must not re-lay out the
        # whole window on the GUI thread.
        for w in (self.progress, self.cancel_button):
            policy = w.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            w.setSizePolicy(policy)
        self.progress.hide()
        self.cancel_button.hide()

    def say(self, text: str) -> None:
        """Show ``text``."""
        self.label.setText(text)
        self.label.setToolTip(text or "What twinreview is doing")

    def text(self) -> str:
        """The line shown now."""
        return self.label.text()

    def scan_progress(self, done: int, total: int, phase: str) -> None:
        """A scan moved on."""
        self.progress.show()
        self.cancel_button.show()
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, max(1, total)))
        self._set_format(scan_format(phase))
        self._cancel.setEnabled(True)

    def scan_finished(self, cancelled: bool) -> None:
        """The scan ended."""
        self.idle()
        self.say(scan_finished_text(cancelled))

    def batch_progress(self, done: int, total: int) -> None:
        """A batch of decisions moved on."""
        self.progress.show()
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self._set_format("signing: %v / %m")

    def _set_format(self, fmt: str) -> None:
        """The bar's text, on one line: the bar is at least as wide as it (and never shrinks)."""
        self.progress.setFormat(fmt)
        widest = str(self.progress.maximum())  # the value grows to it: room for it from the start
        text = fmt.replace("%v", widest).replace("%m", widest).replace("%p", "100")
        need = self.progress.fontMetrics().horizontalAdvance(text) + 32
        if need > self.progress.minimumWidth():
            self.progress.setMinimumWidth(need)
            self.progress.setMaximumWidth(max(self.progress.maximumWidth(), need))

    def idle(self) -> None:
        """Nothing runs: no progress bar, no Cancel."""
        self.progress.hide()
        self.cancel_button.hide()
        self._cancel.setEnabled(False)
