"""The colours of result and error lines, readable on the light and the dark palette.

A red or green that reads well on a light window is too dark on a dark one; the palette in use
decides which of each pair a line gets.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, QPalette

#: (on a light palette, on a dark palette)
_ERROR = ("#b3261e", "#ff8a80")
_OK = ("#1f7a3f", "#81c995")
_WARN = ("#8a5a00", "#ffcc80")


def _dark() -> bool:
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def error_colour() -> str:
    """The error colour for the palette in use."""
    return _ERROR[_dark()]


def ok_colour() -> str:
    """The colour of a result that went well, for the palette in use."""
    return _OK[_dark()]


def warn_colour() -> str:
    """The colour of something to act on soon (not yet wrong), for the palette in use."""
    return _WARN[_dark()]


def error_style() -> str:
    """A label style sheet for an error."""
    return f"color: {error_colour()};"


def ok_style() -> str:
    """A label style sheet for a result that went well."""
    return f"color: {ok_colour()};"
