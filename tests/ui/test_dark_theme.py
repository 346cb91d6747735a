"""What is drawn in a dark theme can be read: text and boxes stand out from their background.

A dark palette like the one a dark desktop gives Qt's Fusion style is set on each screen, which is
then drawn and its pixels measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def _dark() -> QPalette:
    # Built from its button and window colours, as a desktop's palette is: its light, mid and
    # dark shades follow them (dark is darker than the window).
    dark = QPalette(QColor(53, 53, 56), QColor(45, 45, 48))
    role = QPalette.ColorRole
    for r, c in (
        (role.Window, (45, 45, 48)),
        (role.WindowText, (230, 230, 230)),
        (role.Base, (30, 30, 32)),
        (role.Text, (230, 230, 230)),
        (role.Button, (53, 53, 56)),
        (role.ButtonText, (230, 230, 230)),
        (role.PlaceholderText, (150, 150, 150)),
    ):
        dark.setColor(r, QColor(*c))
    return dark


@pytest.fixture
def dark_theme(qapp: QApplication) -> Iterator[None]:
    """The whole app in the dark palette (as a desktop's theme comes in), then back."""
    before = QPalette(qapp.palette())
    qapp.setPalette(_dark())
    yield
    qapp.setPalette(before)


def _spread(widget: Any) -> int:
    """How far the lightest and darkest pixels of ``widget`` are apart (0: one flat colour)."""
    image = widget.grab().toImage()
    values = [
        image.pixelColor(x, y).lightness()
        for x in range(0, image.width(), 2)
        for y in range(image.height())
    ]
    return max(values) - min(values)


def test_the_reject_reasons_tick_boxes_show_in_a_dark_theme(qtbot: Any) -> None:
    from twinreview.ui.dialogs import RejectDialog

    role = QPalette.ColorRole
    dialog = RejectDialog(
        {"a": "This does not look like me.", "b": "Something else."}, [], asset_name="x.jpg"
    )
    qtbot.addWidget(dialog)
    dialog.setPalette(_dark())  # the theme changes while the app runs, or before it starts
    dialog.show()
    qtbot.waitExposed(dialog)
    view = dialog.list
    rect = view.visualItemRect(view.item(1))  # not the current row: no highlight behind it
    image = view.viewport().grab().toImage()
    base = view.palette().color(role.Base).lightness()
    box = [
        image.pixelColor(x, y).lightness()
        for x in range(rect.left(), rect.left() + rect.height())  # the box, not the text
        for y in range(rect.top(), rect.bottom())
    ]
    assert base < 60  # the dark theme is in force
    assert max(abs(v - base) for v in box) >= 40, (base, sorted(set(box)))


@pytest.mark.usefixtures("dark_theme")
def test_the_published_views_note_can_be_read_in_a_dark_theme(qtbot: Any) -> None:
    from twinreview.ui.published_view import PublishedDialog

    dialog = PublishedDialog(lambda done, failed: done({"published": []}))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert _spread(dialog.note) >= 80, _spread(dialog.note)


@pytest.mark.usefixtures("dark_theme")
def test_where_her_images_went_uses_colours_made_for_a_dark_theme(qtbot: Any) -> None:
    from twinreview.ui.message_style import error_colour, ok_colour
    from twinreview.ui.published_view import WhereWentDialog

    rows = [
        {"model": "ana", "state": state, "output": f"{state}.jpg", "take_down_by": "2031-01-01"}
        for state in ("out_of_consent", "take_down_by", "in_consent")
    ]
    dialog = WhereWentDialog(["ana"], lambda done, failed: done({"published": rows}))
    qtbot.addWidget(dialog)
    body = dialog.body.text()
    for light in ("#b3261e", "#1f7a3f", "#8a5a00"):  # made for a light window
        assert light not in body, light
    assert error_colour() in body and ok_colour() in body
