"""The app's consent screen: each term asked for, nothing assumed, what she agrees to in words.

The real roster, decision and status services on a real workspace, the model's own device with
an in-memory keyring; only the scan is the fake one. Set ``TWINREVIEW_SHOTS`` to a folder to save
a picture of each state of the screen.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from conftest import FakeBackend, SyncExecutor
from decision_helpers import build_workspace, enroll, owner_of, reviewer
from twinreview.core.roster.log import SignedRoster
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionService
from twinreview.services.keys import KeyService
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import SeenStore, TrustStore, Verifier
from twinreview.ui.roster import ConsentDialog, TrustDialog
from twinreview.ui.roster_view import UNPINNED, TrustInfo
from twinreview.ui.services_backend import ServicesBackend


class _FakeScan:
    def scan(self, ws: Workspace, progress: Any = None, cancel: Any = None) -> Any:
        return FakeBackend().scan(ws, progress, cancel or threading.Event())


def _shot(widget: QWidget, name: str) -> None:
    folder = os.environ.get("TWINREVIEW_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(folder) / name))


def _consent_json(root: Path) -> dict[str, Any] | None:
    state = SignedRoster.load(root / "roster").current
    assert state is not None
    consent = state.consent_for("ava")
    return consent.to_json() if consent is not None else None


@pytest.fixture
def screen(qtbot: Any, tmp_path: Path) -> tuple[ConsentDialog, Path]:
    """Ava's own laptop, the workspace open, her consent screen open (no consent yet)."""
    from twinreview.ui.app import build_window

    root = build_workspace(tmp_path / "ws")
    for rel, use in (("look1", "ecommerce"), ("spring/look2", "social")):
        (root / "assets" / "ava" / f"{rel}.json").write_text(json.dumps({"intended_use": use}))
    owner_of(root)
    ava = reviewer(tmp_path / "ava", "ava@models.example", "model", "Ava")
    enroll(root, ava, ("ava",), consent=False)
    enroll(root, reviewer(tmp_path / "sam", "sam@agency.example", "agent"), ("ava",))
    roster = SignedRoster.load(root / "roster")
    assert roster.workspace_id is not None and roster.owner_key is not None
    trust = TrustStore(tmp_path / "ava-config")
    trust.pin(roster.workspace_id, roster.owner_key.fingerprint, "ws")
    verifier = Verifier(SeenStore(tmp_path / "ava-data"), trust)
    keys: KeyService = ava
    backend = ServicesBackend(
        _FakeScan(),  # type: ignore[arg-type]
        keys,
        DecisionService(keys, verifier=verifier, trust=trust),
        RosterService(keys, trust, verifier),
        verifier,
    )
    sync = SyncExecutor()
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    window, session, _ = build_window(backend, settings, ui_executor=sync, long_executor=sync)
    qtbot.addWidget(window)
    session.set_identity(backend.load_identity(), None)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(session.statuses_refreshed, timeout=10_000):
        window.open_workspace(root)
    qtbot.waitUntil(lambda: session.roster is not None)
    window.acts["consent"].trigger()
    dialog = window.dialogs.current
    assert isinstance(dialog, ConsentDialog)
    qtbot.waitExposed(dialog)
    return dialog, root


def test_nothing_is_assumed_for_her(screen: tuple[ConsentDialog, Path]) -> None:
    dialog, _ = screen
    assert not any(cb.isChecked() for cb in dialog.use_boxes.values())  # no "any use"
    assert not dialog.until.isChecked() and not dialog.no_end.isChecked()  # no open end
    assert dialog.purpose.text() == "" and not dialog.exclude_boxes["alcohol"].isChecked()
    text = dialog.agreeing.text()
    assert "tick at least one place below" in text
    assert "say what it is for" in text and "choose an end date, or No end date" in text
    _shot(dialog, "consent-empty.png")


@pytest.mark.parametrize(
    ("fill", "still"),
    [
        ((), "tick at least one place where images of you may be published; say what it is for"),
        (("use",), "Not signed yet: say what it is for, in your own words; choose an end date"),
        (("use", "purpose"), "Not signed yet: choose an end date, or No end date."),
        (("purpose", "end"), "Not signed yet: tick at least one place where images of you"),
    ],
)
def test_each_missing_term_is_refused_in_her_words(
    qtbot: Any, screen: tuple[ConsentDialog, Path], fill: tuple[str, ...], still: str
) -> None:
    dialog, root = screen
    before = (root / "roster" / "roster.dlog").read_bytes()
    if "use" in fill:
        dialog.use_boxes["ecommerce"].setChecked(True)
    if "purpose" in fill:
        dialog.purpose.setText("Autumn e-commerce for the brand")
    if "end" in fill:
        dialog.no_end.setChecked(True)
    dialog.sign_button.click()
    assert still in dialog.message.text()
    assert (root / "roster" / "roster.dlog").read_bytes() == before  # nothing signed
    if not fill:
        _shot(dialog, "consent-refused.png")


def test_an_excluded_use_is_refused(screen: tuple[ConsentDialog, Path]) -> None:
    dialog, root = screen
    dialog.use_boxes["social"].setChecked(True)
    dialog.purpose.setText("Social posts for the brand")
    dialog.no_end.setChecked(True)
    dialog.other_exclude.setText("social")
    dialog.sign_button.click()
    assert "'social' is both an allowed use and excluded content" in dialog.message.text()
    assert _consent_json(root) is None


def test_every_term_is_signed_and_said_back(qtbot: Any, screen: tuple[ConsentDialog, Path]) -> None:
    dialog, root = screen
    dialog.use_boxes["ecommerce"].setChecked(True)
    dialog.other_uses.setText("Newsletter")
    dialog.purpose.setText("Autumn 2027 e-commerce for the brand")
    dialog.no_end.setChecked(True)
    dialog.exclude_boxes["alcohol"].setChecked(True)
    dialog.other_exclude.setText("fur")
    dialog.pay_terms.setText("contract AV-2027-7")
    text = dialog.agreeing.text()
    assert "may use <b>AI-generated images of Ava</b>" in text
    assert "Owner</b> may use" in text  # the brand: the workspace's owner
    assert "published for: <b>ecommerce, newsletter</b>" in text
    assert "for: <b>“Autumn 2027 e-commerce for the brand”</b>" in text
    assert "with no end date (you chose this)" in text
    assert "never showing: alcohol, fur" in text and "pay terms: contract AV-2027-7" in text
    assert "each image approved by you and your agent; your reject always stands" in text
    _shot(dialog, "consent-filled.png")
    dialog.sign_button.click()
    qtbot.waitUntil(lambda: dialog.message.text() == "Signed.")
    consent = _consent_json(root)
    assert consent is not None
    assert consent["uses"] == ["ecommerce", "newsletter"]
    assert consent["purpose"] == "Autumn 2027 e-commerce for the brand"
    assert (consent["expires"], consent["no_expiry"]) == (None, True)
    assert consent["exclude"] == ["alcohol", "fur"] and consent["pay_terms"] == "contract AV-2027-7"
    assert consent["require"] == ["model", "agent"]
    qtbot.waitUntil(lambda: "with no end date (chosen)" in dialog.current.text())
    assert "For “Autumn 2027 e-commerce for the brand”." in dialog.current.text()
    _shot(dialog, "consent-signed.png")


def test_the_screen_speaks_her_words_and_fits_a_laptop_screen(
    screen: tuple[ConsentDialog, Path],
) -> None:
    import re

    from PySide6.QtWidgets import QLabel

    dialog, _ = screen
    shown = " ".join(
        re.sub(r"<[^>]+>", " ", label.text())
        for label in dialog.findChildren(QLabel)
        if label.isVisibleTo(dialog)
    ).lower()
    words = ("workspace", "roster", "key", "keyring", "log", "principal")
    assert [w for w in words if re.search(rf"\b{w}\b", shown)] == [], shown
    # Over a 1280x800 window (a small laptop), the whole screen fits: its buttons are reachable.
    window = dialog.parentWidget().window()
    window.resize(1280, 800)
    dialog.show()
    assert dialog.height() <= window.height() - 40, (dialog.height(), window.height())
    assert dialog.sign_button.isVisible()


def test_the_trust_dialog_says_each_model_signs_her_own_consent(qtbot: Any) -> None:
    from PySide6.QtWidgets import QLabel

    info = TrustInfo(
        state=UNPINNED,
        workspace_name="Spring",
        owner="bo@brand.example",
        owner_fingerprint="SHA256:abc",
        owner_name="Bo",
    )
    dialog = TrustDialog(info)
    qtbot.addWidget(dialog)
    words = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "each model signs her own consent with her own key" in words
    assert "each model's consent, are signed by" not in words


def test_what_is_still_missing_is_readable_in_a_dark_theme(
    qapp: Any, screen: tuple[ConsentDialog, Path]
) -> None:
    from PySide6.QtGui import QColor, QPalette

    from twinreview.ui.message_style import error_colour

    dialog, _ = screen
    before = QPalette(qapp.palette())
    try:
        qapp.setPalette(QPalette(QColor(53, 53, 56), QColor(45, 45, 48)))
        text = dialog.agreement_html()
        assert "#b3261e" not in text  # the red made for a light window
        assert error_colour() in text
    finally:
        qapp.setPalette(before)
