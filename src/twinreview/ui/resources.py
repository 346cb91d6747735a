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


#: Icons drawn here until they join ``resources/icons`` (same style: 24 px grid, #2f6fd0).
_BUILTIN_SVG = {
    # Two people: the roster.
    "roster": (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24">'
        '<circle cx="8.5" cy="8" r="3.6" fill="#2f6fd0"/>'
        '<path d="M1.5 20a7 7 0 0 1 14 0z" fill="#2f6fd0"/>'
        '<circle cx="16.5" cy="7" r="3" fill="none" stroke="#2f6fd0" stroke-width="1.8"/>'
        '<path d="M16.8 12.2a6 6 0 0 1 5.7 6.8h-4.6" fill="none" stroke="#2f6fd0" '
        'stroke-width="1.8" stroke-linejoin="round"/></svg>'
    ),
    # A shield with a tick: a model's consent.
    "consent": (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24">'
        '<path d="M12 2.5l8 3v6c0 5-3.4 8.6-8 10-4.6-1.4-8-5-8-10v-6z" fill="none" '
        'stroke="#2f6fd0" stroke-width="2" stroke-linejoin="round"/>'
        '<path d="M8 12.2l2.8 2.8 5.2-5.6" fill="none" stroke="#1f9d55" stroke-width="2.4" '
        'stroke-linecap="round" stroke-linejoin="round"/></svg>'
    ),
}


@cache
def icon(name: str) -> QIcon:
    """Return the bundled SVG icon ``name`` (without suffix).

    SVG icons are resolution independent, so they stay sharp on high-DPI screens. Cached per
    name: QIcon is implicitly shared and cheap to copy, but loading the file is not free.
    """
    path = resources_dir() / "icons" / f"{name}.svg"
    if not path.is_file():
        if name in _BUILTIN_SVG:
            return _svg_icon(_BUILTIN_SVG[name])
        raise FileNotFoundError(f"missing icon {path}")
    return QIcon(str(path))


def _svg_icon(svg: str) -> QIcon:
    """An icon rendered from SVG text at the sizes toolbars and buttons use (up to 128 px)."""
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QPainter, QPixmap
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg.encode()))
    out = QIcon()
    for side in (16, 20, 22, 24, 32, 40, 48, 64, 96, 128):
        pixmap = QPixmap(side, side)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        out.addPixmap(pixmap)
    return out


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
