"""The Published view and simple mode's "where your images went", on a real register.

The workspace of ``consent_scene``: eight published files, six of them out of consent now after
publishing (consent withdrawn, a use dropped, an approval withdrawn, one turned into a reject, a
model removed, a model's key reset). The brand's laptop opens the Published view; Cleo's opens
"where your images went" in simple mode. Real services, the fake scan. Set ``TWINREVIEW_SHOTS``
to a folder to save a picture of each.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from conftest import FakeBackend, SyncExecutor
from consent_scene import Scene, build_scene
from twinreview.core.roster.log import SignedRoster
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionService
from twinreview.services.keys import KeyService
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import SeenStore, TrustStore, Verifier
from twinreview.ui.published_view import PublishedDialog, PublishedModel, WhereWentDialog
from twinreview.ui.services_backend import ServicesBackend


class _FakeScan:
    def scan(self, ws: Workspace, progress: Any = None, cancel: Any = None) -> Any:
        return FakeBackend().scan(ws, progress, cancel or threading.Event())


def _shot(widget: QWidget, name: str) -> None:
    folder = os.environ.get("TWINREVIEW_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(folder) / name))


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """One scene for the module: the app only reads it (each test's laptop is its own)."""
    return build_scene(tmp_path_factory.mktemp("scene"))


def _app(qtbot: Any, tmp_path: Path, scene: Scene, keys: KeyService) -> Any:
    """The app on ``keys``' own laptop, with the scene's workspace open."""
    from twinreview.ui.app import build_window

    roster = SignedRoster.load(scene.root / "roster")
    assert roster.workspace_id is not None and roster.owner_key is not None
    home = tmp_path / "device"
    trust = TrustStore(home / "config")
    trust.pin(roster.workspace_id, roster.owner_key.fingerprint, "ws")
    verifier = Verifier(SeenStore(home / "data"), trust)
    backend = ServicesBackend(
        _FakeScan(),  # type: ignore[arg-type]
        keys,
        DecisionService(keys, verifier=verifier, trust=trust),
        RosterService(keys, trust, verifier),
        verifier,
    )
    sync = SyncExecutor()
    settings = QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat)
    window, session, _ = build_window(backend, settings, ui_executor=sync, long_executor=sync)
    qtbot.addWidget(window)
    session.set_identity(backend.load_identity(), None)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(session.statuses_refreshed, timeout=20_000):
        window.open_workspace(scene.root)
    qtbot.waitUntil(lambda: session.roster is not None)
    return window


def test_the_model_passes_the_model_tester(qtmodeltester: Any) -> None:
    model = PublishedModel()
    model.set_rows(
        [
            {"state": "out_of_consent", "output": "a.jpg", "reasons": ["She withdrew it."]},
            {"state": "take_down_by", "take_down_by": "2027-06-30", "output": "b.jpg"},
            {"state": "in_consent", "output": "c.jpg", "published_at": "2026-03-01T09:00:00Z"},
        ]
    )
    qtmodeltester.check(model)


def test_the_published_view_lists_every_file_out_of_consent_first(
    qtbot: Any, tmp_path: Path, scene: Scene
) -> None:
    window = _app(qtbot, tmp_path, scene, scene.brand)
    assert "published" in [a for a in window.acts]
    window.acts["published"].trigger()
    dialog = window.dialogs.current
    assert isinstance(dialog, PublishedDialog)
    qtbot.waitUntil(lambda: dialog.document is not None, timeout=20_000)
    assert dialog.heading.text() == (
        "8 published: 6 out of consent, 0 to take down within 30 days, 2 in consent."
    )
    rows = [dialog.proxy.index(r, c).data() for r in range(dialog.proxy.rowCount()) for c in (0, 1)]
    states = rows[0::2]
    assert states == ["Out of consent"] * 6 + ["In consent"] * 2
    outputs = rows[1::2]
    assert set(outputs[-2:]) == {scene.outputs["still_fine"], scene.outputs["expired"]}
    reasons = " ".join(str(dialog.proxy.index(r, 4).data()) for r in range(dialog.proxy.rowCount()))
    assert "Bea withdrew her consent on" in reasons
    assert "Cleo no longer allows the use 'social'" in reasons
    assert "Eli's key was reset by the owner" in reasons
    assert "Cleo (model) turned the approval into a reject" in reasons
    assert "(not the right person)" in reasons and "likeness_wrong" not in reasons
    dialog.table.selectRow(0)
    assert "Out of consent" in dialog.detail.text()
    _shot(dialog, "published-view.png")


def test_simple_mode_shows_where_her_images_went(qtbot: Any, tmp_path: Path, scene: Scene) -> None:
    window = _app(qtbot, tmp_path, scene, scene.models["cleo"])
    window.acts["simple"].trigger()
    assert window.is_simple()
    assert window.simple_page.where_went.isVisible()
    window.simple_page.where_went.click()
    dialog = window.dialogs.current
    assert isinstance(dialog, WhereWentDialog)
    qtbot.waitUntil(lambda: bool(dialog.rows), timeout=20_000)
    # Only her own images: c1, c2, c3 and c4; the three out of consent first.
    assert [r["output"] for r in dialog.rows][-1] == scene.outputs["still_fine"]
    assert {r["model"] for r in dialog.rows} == {"cleo"}
    assert [r["state"] for r in dialog.rows] == ["out_of_consent"] * 3 + ["in_consent"]
    assert dialog.heading.text() == (
        "4 of your images went out. 3 of them are no longer covered by your consent: ask for "
        "them to be taken down."
    )
    body = dialog.body.text()
    assert body.index("Not covered by your consent any more") < body.index(
        "Covered by your consent"
    )
    # Said to her, in words: "You", never her name and role, a reason code or an e-mail address.
    assert "You no longer allow the use &#x27;social&#x27;" in body
    assert "You turned the approval into a reject on" in body
    assert "(not the right person)" in body
    assert "Cleo" not in body and "likeness_wrong" not in body
    assert "@" not in body and "published on 1 March 2026 by Owner" in body
    _shot(dialog, "where-your-images-went.png")
    _shot(window, "simple-with-where-went.png")
