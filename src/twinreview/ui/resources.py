"""Bundled resources (icons, app icon) for the desktop app.

Resources live in ``resources/`` at the repository root during development and in
``twinreview/resources`` inside an installed wheel (see ``pyproject.toml``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon


def resources_dir() -> Path:
    """Return the folder holding ``app.svg`` and ``icons/``."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "resources"
    if (installed / "icons").is_dir():
        return installed
    return package.parent.parent / "resources"


@cache
def icon(name: str) -> QIcon:
    """Return the bundled SVG icon ``name`` (without suffix).

    SVG icons are resolution independent, so they stay sharp on high-DPI screens. Cached per
    name: QIcon is implicitly shared and cheap to copy, but loading the file is not free.
    """
    path = resources_dir() / "icons" / f"{name}.svg"
    if not path.is_file():
        raise FileNotFoundError(f"missing icon {path}")
    return QIcon(str(path))


@cache
def raster_icon(name: str) -> QIcon:
    """The icon ``name`` pre-rendered at the sizes item views use (up to 128 px, for high DPI).

    For badges in tables: a view asks every visible cell for its icon's size on every paint,
    and an SVG icon answers that from its renderer (about 17 µs a cell); a pixmap answers at once.
    """
    vector = icon(name)
    out = QIcon()
    for side in (16, 20, 24, 32, 40, 48, 64, 96, 128):
        out.addPixmap(vector.pixmap(QSize(side, side)))
    return out


def app_icon() -> QIcon:
    """Return the application icon."""
    return QIcon(str(resources_dir() / "app.svg"))
