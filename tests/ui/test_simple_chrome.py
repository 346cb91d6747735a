"""What surrounds the images in simple mode speaks the model's words too.

The menu bar shows only what she needs (her consent, where her images went, leaving simple mode,
quitting), in words she knows; the full menus come back when she leaves. The line above the
pages never names another model and never says key, log or workspace to her.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from conftest import FakeBackend, Harness, make_workspace, open_and_scan
from twinreview.ui.backend import Identity, StatusSnapshot
from twinreview.ui.main_window import PAGE_REVIEW, PAGE_SIMPLE
from twinreview.ui.roster_view import ResetInfo, RosterView

ANA = Identity("ana@example.com", "Ana", "model", "line", ("ana",))
#: Words a model reviewing her twin does not know.
JARGON = ("keyring", "roster", "log", "logs", "key", "workspace", "principal")


def _jargon(text: str) -> list[str]:
    low = text.lower()
    return [w for w in JARGON if re.search(rf"\b{re.escape(w)}\b", low)]


class ResetBackend(FakeBackend):
    """Bo's key and Ana's key were both reset by the owner."""

    def roster_view(self, workspace: Any, principal: str | None) -> RosterView:
        from dataclasses import replace

        view = super().roster_view(workspace, principal)
        return replace(
            view,
            resets=(
                ResetInfo("bo@example.com", "Bo Rivera", ("bo",), ("SHA256:bobo",), "2026-05-02"),
                ResetInfo("ana@example.com", "Ana", ("ana",), ("SHA256:anan",), "2026-05-03"),
            ),
        )

    def statuses(self, workspace: Any, results: Any) -> StatusSnapshot:
        from dataclasses import replace

        snap = super().statuses(workspace, results)
        return replace(
            snap,
            notices=(
                "Bo Rivera's key was reset by the owner on 2026-05-02 (roster entry 4): check "
                "the new key SHA256:bobo with her",
                "Ana's key was reset by the owner on 2026-05-03 (roster entry 5): check the new "
                "key SHA256:anan with her",
            ),
        )


@pytest.fixture
def backend() -> FakeBackend:
    return ResetBackend(identity=ANA, models_for=("ana",))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws", assets=3)
    (root / "models" / "bo" / "model.toml").write_text('display_name = "Bo Rivera"\n')
    return root


def _open(qtbot: Any, h: Harness, workspace: Path) -> None:
    h.session.set_identity(ANA, None)
    open_and_scan(qtbot, h, workspace)
    qtbot.waitUntil(lambda: h.session.roster is not None)


def _menus(h: Harness) -> list[QMenu]:
    bar = h.window.menuBar()
    return [a.menu() for a in bar.actions() if a.isVisible() and isinstance(a.menu(), QMenu)]


def _items(h: Harness) -> list[QAction]:
    return [a for m in _menus(h) for a in m.actions() if a.isVisible() and not a.isSeparator()]


def _words(h: Harness) -> str:
    menus = _menus(h)
    parts = [m.title() for m in menus]
    for a in _items(h):
        parts += [a.text(), a.toolTip(), a.statusTip()]
    return "\n".join(p.replace("&", "") for p in parts)


def test_simple_mode_menus_offer_what_she_needs_in_her_words(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    w = harness.window
    full = _words(harness)
    assert "Workspace" in full and "Roster" in full  # the full menus, outside simple mode
    w.acts["simple"].trigger()
    assert w.pages.currentIndex() == PAGE_SIMPLE
    words = _words(harness)
    assert _jargon(words) == [], words
    low = words.lower()
    for need in ("consent", "where your images went", "leave simple mode", "quit"):
        assert need in low, (need, words)
    assert not w.toolbar.isVisible()
    # Each item does what it says: "leave simple mode" goes back to the review page.
    [leave] = [a for a in _items(harness) if "leave simple mode" in a.text().lower()]
    leave.trigger()
    assert w.pages.currentIndex() == PAGE_REVIEW
    assert "Workspace" in _words(harness) and w.toolbar.isVisible()


def test_simple_mode_menu_items_follow_what_the_window_allows(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    w = harness.window
    w.acts["simple"].trigger()
    [consent] = [a for a in _items(harness) if "consent" in a.text().lower()]
    w.acts["consent"].setEnabled(False)
    assert not consent.isEnabled()
    w.acts["consent"].setEnabled(True)
    assert consent.isEnabled()


def test_the_notice_line_in_simple_mode_names_no_other_model_and_no_jargon(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    w = harness.window
    notices = w.log_notices
    # The review page: every reset, as everyone is told.
    qtbot.waitUntil(notices.isVisible)
    assert "Bo Rivera" in notices.label.text() and "SHA256:anan" in notices.label.text()
    w.acts["simple"].trigger()
    text = notices.label.text()
    assert notices.isVisible()
    assert "Bo" not in text, text
    assert _jargon(re.sub(r"<[^>]+>", " ", text)) == [], text
    assert "consent" in text  # hers lapsed: she is told to give it again
    w.acts["simple"].trigger()
    assert "Bo Rivera" in notices.label.text()


def test_what_she_is_told_after_putting_lines_back_is_in_her_words(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    w = harness.window
    w.acts["simple"].trigger()
    harness.session.restored.emit(
        "Put back what you signed: logs/ana@example.com--abc.dlog: 1 line(s) put back"
    )
    said = w.status_line.text()
    assert _jargon(said) == [] and ".dlog" not in said, said
    assert "put back" in said.lower()
    # The review page keeps the file names, for those who look after the folder.
    w.acts["simple"].trigger()
    harness.session.restored.emit(
        "Put back what you signed: logs/ana@example.com--abc.dlog: 1 line(s) put back"
    )
    assert ".dlog" in w.status_line.text()


def test_the_notice_line_is_large_in_simple_mode(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    from PySide6.QtWidgets import QApplication

    _open(qtbot, harness, workspace)
    w = harness.window
    base = QApplication.font().pointSizeF()
    qtbot.waitUntil(w.log_notices.isVisible)
    assert w.log_notices.label.font().pointSizeF() < 1.25 * base
    w.acts["simple"].trigger()
    assert w.log_notices.label.font().pointSizeF() >= 1.25 * base


def test_on_hold_is_not_said_as_cannot_be_decided() -> None:
    from twinreview.core.approval.policy import State
    from twinreview.ui.plain import simple_status

    said = simple_status(State.BLOCKED, blocked_by="verification")
    assert "cannot be decided" not in said and "on hold" in said, said


@pytest.mark.parametrize(("out", "words"), [(1, "1 of them is no longer"), (2, "2 of them are")])
def test_where_her_images_went_counts_in_good_grammar(qtbot: Any, out: int, words: str) -> None:
    from twinreview.ui.published_view import WhereWentDialog

    rows = [
        {"model": "ana", "state": "out_of_consent", "output": f"o{i}.jpg"} for i in range(out)
    ] + [{"model": "ana", "state": "in_consent", "output": "fine.jpg"}]
    dialog = WhereWentDialog(["ana"], lambda done, failed: done({"published": rows}))
    qtbot.addWidget(dialog)
    assert words in dialog.heading.text(), dialog.heading.text()
