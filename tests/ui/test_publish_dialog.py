"""The "Publish cleared…" dialog: work off the GUI thread, progress, a summary, the credentials."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import twinreview.ui.publish_dialog as publish_dialog
from decision_helpers import MemoryKeyring
from publish_helpers import (
    CAPTURE,
    CLEARED,
    PublishWs,
    build_publish_ws,
    clear,
    copy_publish_ws,
    xmp_jpeg,
)
from twinreview.core.workspace import Workspace
from twinreview.services.keys import KeyStore
from twinreview.services.publish.signer import C2paKeyStore
from twinreview.ui.actions import ACTIONS, MENUS
from twinreview.ui.bridge import Bridge
from twinreview.ui.publish_dialog import PublishDialog
from worlds import Built, build_once
from wsbuild import pattern


@pytest.fixture
def bridge(qtbot: Any) -> Iterator[Bridge]:
    pool = ThreadPoolExecutor(max_workers=2)
    b = Bridge(pool)
    yield b
    b.close()
    pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def built_pw(tmp_path_factory: pytest.TempPathFactory) -> Built[PublishWs]:
    return build_once(tmp_path_factory, "publish-ws", build_publish_ws)


@pytest.fixture
def pw(built_pw: Built[PublishWs], tmp_path: Path) -> PublishWs:
    """A fresh copy of the publishing workspace in ``tmp_path`` (built once for the module)."""
    return copy_publish_ws(built_pw, tmp_path)


def _dialog(qtbot: Any, pw: PublishWs, bridge: Bridge, out: Path) -> PublishDialog:
    store = C2paKeyStore(KeyStore(MemoryKeyring(), allow_untrusted_backend=True))
    dialog = PublishDialog(
        Workspace.open(pw.root),
        bridge,
        len(CLEARED),
        keystore=lambda: store,
        register=pw.register,
    )
    qtbot.addWidget(dialog)
    dialog.outdir.edit.setText(str(out))
    dialog.cert.edit.setText(str(pw.chain))
    dialog.key.edit.setText(str(pw.key))
    return dialog


def test_action_is_in_the_table_and_the_workspace_menu() -> None:
    [spec] = [s for s in ACTIONS if s.id == "publish"]
    assert spec.text == "&Publish cleared…" and spec.keys == ("Ctrl+Shift+P",)
    assert "publish" in dict(MENUS)["&Workspace"]


def test_publishes_off_the_gui_thread_with_progress_and_a_summary(
    qtbot: Any, pw: PublishWs, bridge: Bridge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real = publish_dialog.run_publish

    def spy(*args: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(publish_dialog, "run_publish", spy)
    out = tmp_path / "out"
    dialog = _dialog(qtbot, pw, bridge, out)
    dialog.show()
    dialog.publish_button.click()
    assert dialog.running and not dialog.publish_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert threads and threads[0] is not threading.main_thread()
    assert dialog.error_text == ""
    assert dialog.progress.value() == dialog.progress.maximum() == len(CLEARED)
    assert "Wrote 3 file(s)" in dialog.summary.text()
    assert dialog.files.count() == 3
    first = dialog.files.item(0).text()
    assert "sam@agency.example (agent)" in first and "ava@example.com (model)" in first
    text = dialog.credentials.toPlainText()
    assert "Verdict: disclosed" in text and "trusted" in text
    assert "Sign-off (org.twinreview.signoff)" in text and "sam@agency.example" in text
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(rel.removeprefix("assets/") for rel in CLEARED)


def test_a_refusal_is_shown_and_nothing_is_written(
    qtbot: Any, pw: PublishWs, bridge: Bridge, tmp_path: Path
) -> None:
    rel = "assets/ava/captured.jpg"
    (pw.root / rel).write_bytes(xmp_jpeg(pattern(16, (640, 480)), CAPTURE))
    clear(pw, rel)
    out = tmp_path / "out"
    dialog = _dialog(qtbot, pw, bridge, out)
    dialog.publish_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert dialog.error_text.startswith("Nothing was published: 1 asset(s) refused.")
    assert "captured.jpg" in dialog.error_text and "not AI generation" in dialog.error_text
    assert dialog.files.count() == 0 and not out.exists()
    assert dialog.publish_button.isEnabled()


def test_a_bad_certificate_is_one_line(
    qtbot: Any, pw: PublishWs, bridge: Bridge, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, pw, bridge, tmp_path / "out")
    dialog.cert.edit.setText(str(pw.root / "trust" / "brand-ca.pem"))
    dialog.publish_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert "does not belong to the first certificate" in dialog.error_text
    assert "\n" not in dialog.error_text


def test_key_from_the_keyring_when_no_key_file(
    qtbot: Any, pw: PublishWs, bridge: Bridge, tmp_path: Path
) -> None:
    from twinreview.services.publish.signer import load_credentials

    store = C2paKeyStore(KeyStore(MemoryKeyring(), allow_untrusted_backend=True))
    store.store(load_credentials(pw.chain, pw.key))
    dialog = PublishDialog(
        Workspace.open(pw.root), bridge, 3, keystore=lambda: store, register=pw.register
    )
    qtbot.addWidget(dialog)
    dialog.outdir.edit.setText(str(tmp_path / "out"))
    dialog.cert.edit.setText(str(pw.chain))
    dialog.key.edit.setText("")
    dialog.publish_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert dialog.error_text == "" and dialog.files.count() == 3


def test_closing_while_publishing_keeps_nothing(
    qtbot: Any, pw: PublishWs, bridge: Bridge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    outcomes: list[str] = []
    real = publish_dialog.publish_workspace

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(10)
        try:
            return real(*args, **kwargs)
        except Exception as exc:
            outcomes.append(str(exc))
            raise
        finally:
            finished.set()

    monkeypatch.setattr(publish_dialog, "publish_workspace", slow)
    out = tmp_path / "out"
    dialog = _dialog(qtbot, pw, bridge, out)
    dialog.show()
    dialog.publish_button.click()
    assert started.wait(30)
    dialog.reject()  # closed while the worker runs: it is told to stop
    release.set()
    assert finished.wait(60)
    qtbot.wait(200)  # the (dropped) delivery reaches the GUI thread and is ignored
    assert outcomes == ["publishing was cancelled; nothing was written"]
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".twinreview-publish")]
    assert dialog.outcome is None
