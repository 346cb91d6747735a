"""Simple mode never misleads the model reviewing her own twin.

She acts only on the image she looks at; the reason not to approve comes first; what her consent
does not allow cannot be approved; another model is never named or shown; she is told who
approved and whom it waits for, in words she knows, in large type.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from conftest import FakeBackend, Harness, make_workspace, open_and_scan
from twinreview.core.approval.policy import Decision, ModelPolicy
from twinreview.core.findings import (
    LOOKS_LIKE_OTHER_MODEL,
    MATCHES_OTHER_MODEL,
    NEAR_COPY_OF_REFERENCE,
    Finding,
    Severity,
)
from twinreview.core.likeness.model import OTHER, OWN, FaceMatch, Likeness, RefMatch
from twinreview.ui.backend import Identity
from twinreview.ui.dialogs import RejectDialog
from twinreview.ui.main_window import PAGE_SIMPLE
from twinreview.ui.roster_view import PersonRow

ANA = Identity("ana@example.com", "Ana", "model", "line", ("ana",))
BO_REF = "models/bo/references/ref-0.jpg"
ANA_REF = "models/ana/references/ref-1.jpg"
#: Words a model reviewing her twin does not know (the quoted phrase aside).
JARGON = ("keyring", "roster", "log", "key", "workspace", "in only one of the two places")
ALLOWED = "someone else in this workspace"


def _jargon(text: str) -> list[str]:
    low = text.lower().replace(ALLOWED, "")
    found = [w for w in JARGON if re.search(rf"\b{re.escape(w)}\b", low)]
    return found + re.findall(r"\b\d\.\d\d\b", text)  # face scores


def _mirrored_copy() -> Finding:
    return Finding(
        NEAR_COPY_OF_REFERENCE,
        Severity.BLOCK,
        "This image looks like a copy of one of the model's own real photos.",
        {"reference": ANA_REF, "mirrored": True, "distance": 2},
    )


def _own_face() -> Likeness:
    own = RefMatch("ana", ANA_REF, 0.31, (0.3, 0.2, 0.7, 0.8))
    bo = RefMatch("bo", BO_REF, 0.33, (0.2, 0.2, 0.6, 0.6))
    return Likeness(
        "ana",
        (
            FaceMatch((0.1, 0.2, 0.45, 0.6), OWN, own, own, None),
            FaceMatch((0.55, 0.2, 0.9, 0.6), OTHER, None, bo, bo),
        ),
        references=2,
        reference_faces=2,
    )


@pytest.fixture
def backend() -> FakeBackend:
    b = FakeBackend(identity=ANA, models_for=("ana",))
    b.findings_for = {
        "look-1.jpg": (_mirrored_copy(),),
        "look-2.jpg": (
            Finding(
                MATCHES_OTHER_MODEL,
                Severity.BLOCK,
                "This image is a near copy of a reference photo of Bo Rivera.",
                {"reference": BO_REF, "model": "bo", "distance": 3},
            ),
            Finding(
                LOOKS_LIKE_OTHER_MODEL,
                Severity.BLOCK,
                "The face looks like Bo Rivera.",
                {"reference": BO_REF, "model": "bo", "distance": 0.33},
            ),
        ),
    }
    b.likeness_for = {"look-1.jpg": _own_face(), "look-2.jpg": _own_face()}
    b.people = [PersonRow("sam@example.com", "Sam", "agent", ("ana", "bo"))]
    return b


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws", assets=5)
    (root / "models" / "bo" / "model.toml").write_text('display_name = "Bo Rivera"\n')
    return root


def _simple(qtbot: Any, h: Harness, workspace: Path, rel: str = "assets/ana/look-1.jpg") -> Any:
    h.session.set_identity(ANA, None)
    open_and_scan(qtbot, h, workspace)
    qtbot.waitUntil(lambda: h.session.roster is not None)
    h.window.acts["simple"].trigger()
    assert h.window.pages.currentIndex() == PAGE_SIMPLE
    assert h.window.select_asset(rel)
    return h.window.simple_page


def _shown(page: Any) -> str:
    labels = (page.header, page.findings, page.likeness, page.status)
    return "\n".join(lab.text() for lab in labels if lab.isVisible())


def test_a_deleted_image_is_never_acted_on(qtbot: Any, harness: Harness, workspace: Path) -> None:
    page = _simple(qtbot, harness, workspace, "assets/ana/look-2.jpg")
    w = harness.window
    (workspace / "assets/ana/look-2.jpg").unlink()
    with qtbot.waitSignal(harness.session.statuses_refreshed, timeout=10_000):
        w.acts["rescan"].trigger()
    # What she sees and what a key acts on are the same image, or nothing.
    item = w.current_item()
    assert page.view.asset_rel == (item.rel if item is not None else None)
    assert item is None and "look-2.jpg was moved or deleted" in page.header.text()
    w.acts["reject"].trigger()
    dialog = w.dialogs.current
    assert not isinstance(dialog, RejectDialog), dialog.windowTitle()
    assert not w.acts["approve"].isEnabled() and not w.acts["reject"].isEnabled()
    # Next brings the following image on screen, and only then can she decide about it.
    w.acts["next"].trigger()
    item = w.current_item()
    assert item is not None and page.view.asset_rel == item.rel
    assert w.acts["reject"].isEnabled()


def test_the_reason_not_to_approve_comes_first(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    page = _simple(qtbot, harness, workspace)
    warning, likeness = page.findings, page.likeness
    assert warning.isVisible() and likeness.isVisible()
    assert "your own photo" in warning.text()
    assert (
        warning.mapTo(page, warning.rect().topLeft()).y()
        < likeness.mapTo(page, likeness.rect().topLeft()).y()
    )
    assert warning.font().bold() and not likeness.font().bold()
    assert warning.font().pointSizeF() >= likeness.font().pointSizeF()


def test_approve_is_off_when_her_consent_does_not_allow_the_image(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    harness.backend.policy_for = {"ana": ModelPolicy("ana", allowed_uses=("editorial",))}
    harness.backend.uses_for = {"look-3.jpg": ("advertising",)}
    page = _simple(qtbot, harness, workspace, "assets/ana/look-3.jpg")
    w = harness.window
    assert not w.acts["approve"].isEnabled()
    assert w.acts["reject"].isEnabled()
    assert "advertising" in page.status.text()
    assert "consent" in w.acts["approve"].toolTip().lower()
    w.acts["approve"].trigger()
    assert harness.backend.decisions == []


def test_another_model_is_never_named_or_shown(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    page = _simple(qtbot, harness, workspace, "assets/ana/look-2.jpg")
    view = page.view
    assert all(not r.rel.startswith("models/bo/") for r in view.references)
    assert view.reference is None or not view.reference.rel.startswith("models/bo/")
    text = _shown(page)
    labels = " ".join(b.label for b in view.left._boxes)
    assert "Bo" not in text and "Rivera" not in text and "Bo" not in labels, (text, labels)
    assert ALLOWED in text.lower()
    # She is in the picture too: the other face is not said to be instead of her.
    assert "Someone else in this workspace is in this image with you." in text
    assert "not you" not in text
    # The agent's and the brand's view still say who it is.
    w = harness.window
    w.acts["simple"].trigger()
    assert w.select_asset("assets/ana/look-2.jpg")
    assert any("Bo Rivera" in b.label for b in w.review.view.left._boxes)
    assert "Bo Rivera" in w.review.findings.toPlainText()


def test_she_is_told_who_approved_and_whom_it_waits_for(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    rel = "assets/ana/look-3.jpg"
    harness.backend.decisions.append(
        Decision(
            "sam@example.com",
            "agent",
            dt.datetime.now(dt.UTC),
            rel,
            __import__("hashlib").sha256((workspace / rel).read_bytes()).hexdigest(),
            "ana",
            "approve",
            (),
            "",
            False,
            "sam-log",
            0,
        )
    )
    page = _simple(qtbot, harness, workspace, rel)
    assert "Sam (your agent) approved this; it is waiting for you." in page.status.text()


def test_no_words_she_does_not_know_and_large_sentences(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    harness.backend.findings_for["look-3.jpg"] = (
        Finding("partial_disclosure", Severity.WARN, "Only the XMP says AI.", {}),
        Finding("unknown_model", Severity.WARN, "Unknown model.", {}),
    )
    page = _simple(qtbot, harness, workspace)
    w = harness.window
    base = QApplication.font().pointSizeF()
    for rel in ("assets/ana/look-1.jpg", "assets/ana/look-2.jpg", "assets/ana/look-3.jpg"):
        assert w.select_asset(rel)
        labels = " ".join(b.label for b in page.view.left._boxes)
        shown = f"{_shown(page)}\n{labels}\n{w.status_line.text()}"
        assert _jargon(shown) == [], (rel, shown)
        for label in (page.header, page.findings, page.likeness, page.status):
            if label.isVisible():
                assert label.font().pointSizeF() >= 1.25 * base, label.text()
    # Read-only or not on the list: said without keyring, roster or workspace.
    for reason in (
        "Read-only: no usable keyring (install gnome-keyring)",
        "You are not on this workspace's roster yet, so you cannot approve or reject here.",
    ):
        harness.session.set_identity(None, reason)
        assert w.select_asset("assets/ana/look-3.jpg")
        assert _jargon(_shown(page)) == [], _shown(page)


def test_what_she_is_told_after_deciding_is_in_her_words(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    _simple(qtbot, harness, workspace, "assets/ana/look-3.jpg")
    w = harness.window
    with qtbot.waitSignal(harness.session.decision_recorded):
        w.acts["approve"].trigger()
    assert "Approved look-3.jpg" in w.status_line.text()
    assert _jargon(w.status_line.text()) == [], w.status_line.text()
    with qtbot.waitSignal(harness.session.decision_recorded):
        w.acts["undo"].trigger()
    assert _jargon(w.status_line.text()) == [], w.status_line.text()


def test_the_dialogs_she_opens_speak_her_words(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    from PySide6.QtWidgets import QMessageBox

    _simple(qtbot, harness, workspace, "assets/ana/look-1.jpg")  # a copy of her photo: blocking
    w = harness.window
    harness.backend.approvable = None
    w.acts["approve"].trigger()
    box = w.dialogs.current
    assert isinstance(box, QMessageBox)
    text = box.text()
    assert "your own photo" in text
    assert "models/" not in text and "the model's" not in text and _jargon(text) == [], text
    box.reject()
    w.acts["reject"].trigger()
    dialog = w.dialogs.current
    assert isinstance(dialog, RejectDialog)
    assert _jargon(dialog.note.placeholderText()) == [], dialog.note.placeholderText()
    dialog.reject()
