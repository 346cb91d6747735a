"""The window's status bar: one line of what is going on, the progress bar and Cancel."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar, QToolButton

from twinreview.ui.session import RESULTS, ReviewSession
from twinreview.ui.window_texts import scan_finished_text, scan_format


def landing_words(what: str, total: int) -> tuple[str, str]:
    """The line and the progress bar's text while results or statuses are being shown."""
    if what == RESULTS:
        return (
            f"Showing what the scan found for {total} images…",
            "showing results: %v / %m",
        )
    return (
        f"Showing the approval status of {total} images (from the signed logs)…",
        "showing statuses: %v / %m",
    )


class StatusLine:
    """What twinreview is doing, with the progress of a scan or a batch and its Cancel button.

    Attributes:
        label: The line of text.
        progress: The progress bar (shown while a scan or a batch runs).
        cancel_button: Cancels the scan (shown with the progress of a scan).
    """

    def __init__(
        self, bar: QStatusBar, cancel: QAction, session: ReviewSession | None = None
    ) -> None:
        self._cancel = cancel
        # The line before results or statuses began to land (it comes back once they have).
        self._before_landing: str | None = None
        self._session = session
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
        if session is not None:
            session.landing_progress.connect(self.landing_progress)
            session.landed.connect(self.landed)

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
        self._before_landing = None
        self.say(scan_finished_text(cancelled))

    def landing_progress(self, what: str, done: int, total: int) -> None:
        """Results or statuses are being shown, ``done`` of ``total`` so far.

        A warm load of thousands of images spends its last seconds here: the line says so,
        rather than leaving the rows to look stuck.
        """
        if self._scan_running():
            return  # results known before the face pass: the scan's own bar goes on
        line, fmt = landing_words(what, total)
        if self._before_landing is None:
            self._before_landing = self.text()
        self.say(line)
        self.progress.show()
        self.cancel_button.hide()
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, max(1, total)))
        self._set_format(fmt)

    def landed(self) -> None:
        """What was landing is all shown: the line before it comes back."""
        if self._before_landing is None:
            return
        self.say(self._before_landing)
        self._before_landing = None
        if not self._scan_running():
            self.idle()

    def _scan_running(self) -> bool:
        return self._session is not None and self._session.scan.running

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
