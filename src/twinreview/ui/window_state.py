"""The window's remembered layout: geometry, toolbars and the review page's splitter."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter

#: The review page's panes (queue, compare view, findings) before the reviewer moves them.
DEFAULT_SPLIT = (480, 560, 280)


def restore_layout(settings: QSettings, window: QMainWindow, splitter: QSplitter) -> None:
    """Put the window and the splitter back as they were (a default size the first time)."""
    geometry = settings.value("window/geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    else:
        window.resize(1400, 860)
    state = settings.value("window/state")
    if isinstance(state, QByteArray):
        window.restoreState(state)
    split = settings.value("window/splitter")
    if isinstance(split, QByteArray):
        splitter.restoreState(split)
    else:
        splitter.setSizes(list(DEFAULT_SPLIT))


def save_layout(settings: QSettings, window: QMainWindow, splitter: QSplitter) -> None:
    """Remember the window's geometry and the splitter (UI state only)."""
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState())
    settings.setValue("window/splitter", splitter.saveState())
    settings.sync()
