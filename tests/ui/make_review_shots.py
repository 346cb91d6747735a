"""Pictures of every screen the review app changed, at 1280x800 and 1600x1000, to look at.

Run with ``uv run python tests/ui/make_review_shots.py OUT_DIR [--dark] [--faces]``. Not
collected by pytest. Two apps, each with its user folders and an in-memory keyring in a temporary
directory (:mod:`screenshots`):

- an agent on the demo workspace: the welcome screen with no workspace open, the review page
  with the keyboard in the queue, "Flagged for me" with everything selected and the batch
  confirmation, two assets compared, a decision withdrawn in the findings panel, the shortcut sheet;
- a model, Ava, on a small workspace of bundled public-domain photos, in simple mode: a mirrored
  copy of her own photo (the warning first), a copy of another model's photo, an image her consent
  does not allow, one her agent approved, the notice when the image on screen is deleted, her
  menu, her consent screen, where her images went (two published, one approval withdrawn since),
  the notice when decisions she made are cut from the folder, and when her key is reset.

``--faces`` adds the face-box labels on a group photo of the shared face corpus (read in place,
for looking only: never for the README).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import screenshots
from screenshots import (
    SIZES,
    DemoApp,
    Steps,
    demo_app,
    review_pick,
    save_png,
    scanned,
    set_theme,
    shown,
)

CORPUS_FACES = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "faces"


def model_app(faces: bool = False) -> DemoApp:
    """Ava (a model) on her own small workspace; Sam, her agent, approved one image."""
    import os
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="twinreview-model-shots-"))
    for folder in ("CONFIG", "DATA", "CACHE", "LOG"):
        os.environ[f"TWINREVIEW_{folder}_DIR"] = str(tmp / folder.lower())
    from PIL import Image
    from PySide6.QtCore import QSettings

    from decision_helpers import MemoryKeyring, decider, enroll, reviewer
    from photos import crop, load_photo, mirror
    from twinreview.core.workspace import Workspace
    from twinreview.services.keys import IdentityStore, KeyService, KeyStore
    from twinreview.ui.app import _qapp, build_app, start_identity
    from wsbuild import add_model, make_workspace, save_jpeg

    # Images without an AI label may be approved here: the other reasons show on their own.
    toml = (
        '[workspace]\nname = "Spring campaign"\n'
        '[disclosure]\napprovable = ["disclosed", "partial", "missing"]\n'
    )
    root = make_workspace(tmp / "ws", toml=toml)
    consent = '[consent]\nallowed_uses = ["editorial"]\n'
    if faces:
        add_model(
            root,
            "ava",
            {"kit.jpg": Image.open(CORPUS_FACES / "kit_1.jpg")},
            toml=f'display_name = "Kit Avery"\n{consent}',
        )
        add_model(
            root,
            "ben",
            {"rose.jpg": Image.open(CORPUS_FACES / "rose_1.jpg")},
            toml='display_name = "Rose Benton"\n',
        )
        save_jpeg(Image.open(CORPUS_FACES / "group_kit_rose.jpg"), root / "assets/ava/group.jpg")
        save_jpeg(Image.open(CORPUS_FACES / "kit_3.jpg"), root / "assets/ava/portrait.jpg")
        first = "assets/ava/group.jpg"
    else:
        astronaut = load_photo("astronaut")
        add_model(
            root, "ava", {"studio.jpg": astronaut}, toml=f'display_name = "Ava Stone"\n{consent}'
        )
        add_model(
            root, "ben", {"camera.jpg": load_photo("camera")}, toml='display_name = "Ben Rivera"\n'
        )
        save_jpeg(
            mirror(crop(astronaut, 0.08, 0.05, 0.08, 0.1)), root / "assets/ava/look-01.jpg", 82
        )
        save_jpeg(load_photo("camera"), root / "assets/ava/look-02.jpg", 80)
        save_jpeg(load_photo("coffee"), root / "assets/ava/look-03.jpg")
        (root / "assets/ava/look-03.json").write_text(json.dumps({"intended_use": "billboard"}))
        save_jpeg(load_photo("chelsea"), root / "assets/ava/look-04.jpg")
        (root / "assets/ava/look-04.json").write_text(json.dumps({"intended_use": "editorial"}))
        save_jpeg(load_photo("rocket"), root / "assets/ava/look-05.jpg")
        (root / "assets/ava/look-05.json").write_text(json.dumps({"intended_use": "editorial"}))
        first = "assets/ava/look-01.jpg"
    keyring = MemoryKeyring()
    ava = KeyService(KeyStore(keyring, allow_untrusted_backend=True), IdentityStore.default())
    ava.init("ava@example.com", "Ava Stone", "model")
    enroll(root, ava, ("ava",))
    sam = reviewer(tmp / "sam", "sam@agency.example", "agent", "Sam")
    enroll(root, sam, ("ava", "ben"))
    if not faces:
        decider(sam).decide(Workspace.open(root), "assets/ava/look-04.jpg", "approve")
        _publish_two(tmp, root, ava, sam)
    app = _qapp()
    set_theme(screenshots.DARK)
    parts = build_app(
        QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat),
        keystore=KeyStore(keyring, allow_untrusted_backend=True),
    )
    start_identity(parts)
    shots = DemoApp(app, parts, root, tmp)
    shots.first = first  # type: ignore[attr-defined]
    return shots


def _publish_two(tmp: Path, root: Path, ava: Any, sam: Any) -> None:
    """Ava and Sam approve two more images, the owner publishes them, Ava withdraws one."""
    import datetime as dt

    from decision_helpers import decider, owner_of
    from photos import load_photo
    from tools.c2pa_pki import make_pki
    from twinreview.core.workspace import Workspace
    from twinreview.services.publish.publisher import publish_workspace
    from twinreview.services.publish.register import PublishRegister
    from twinreview.services.publish.signer import load_credentials
    from wsbuild import save_jpeg

    rels = ("assets/ava/look-06.jpg", "assets/ava/look-07.jpg")
    for rel, photo in zip(rels, ("horse", "clock"), strict=True):
        save_jpeg(load_photo(photo).convert("RGB"), root / rel)
        (root / rel).with_suffix(".json").write_text(json.dumps({"intended_use": "editorial"}))
    for keys in (ava, sam):
        for rel in rels:
            decider(keys).decide(Workspace.open(root), rel, "approve")
    pki = make_pki("Spring Brand", dt.datetime.now(dt.UTC) + dt.timedelta(days=60))
    chain, key = tmp / "brand-chain.pem", tmp / "brand-key.pem"
    chain.write_bytes(pki.chain_pem)
    key.write_bytes(pki.key_pem)
    publish_workspace(
        Workspace.open(root),
        tmp / "published",
        load_credentials(chain, key),
        register=PublishRegister(owner_of(root)),
        assets=list(rels),
    )
    decider(ava).withdraw(Workspace.open(root), rels[1])


def _save(shots: DemoApp, widget: Any, out: Path, name: str) -> None:
    path = out / name
    if not save_png(widget.grab().toImage(), path):
        shots.status["code"] = 2
    print(f"saved {path}", file=sys.stderr)


def _each_size(
    shots: DemoApp,
    out: Path,
    name: str,
    steps: Steps,
    prepare: Callable[[], None] = lambda: None,
    when: Callable[[], bool] = lambda: True,
) -> Steps:
    """Save the window as ``name-WxH.png`` at every size in :data:`SIZES`."""
    window = shots.window
    for w, h in SIZES:
        steps.then(lambda w=w, h=h: (window.resize(w, h), prepare()), when=when)
        steps.then(
            lambda w=w, h=h: _save(shots, window, out, f"{name}-{w}x{h}.png"),
            when=when,
            settle_ms=400,
        )
    return steps


def agent_shots(out: Path) -> int:
    from PySide6.QtCore import QItemSelectionModel, Qt
    from PySide6.QtWidgets import QApplication

    from twinreview.ui.queue_model import QueueFilter

    shots = demo_app()
    window = shots.window
    steps = Steps(shots)
    _each_size(shots, out, "welcome", steps)
    steps.then(lambda: window.open_workspace(shots.demo))

    def pick() -> None:
        rel = review_pick(window)
        if rel is not None:
            window.select_asset(rel)
        window.review.table.setFocus()

    steps.then(pick, when=scanned(shots))
    _each_size(shots, out, "review", steps, when=shown(shots))
    kinds = window.review.kind_filter
    for w, h in SIZES:
        steps.then(lambda w=w, h=h: window.resize(w, h)).then(kinds.showPopup)
        _over_once(shots, out, f"finding-filter-{w}x{h}", steps, lambda: kinds.view().window())
        steps.then(kinds.hidePopup)

    def flagged_mine() -> None:
        window.review.filter_from_key(QueueFilter.FLAGGED_MINE)
        window.review.table.selectAll()

    steps.then(flagged_mine)
    _each_size(shots, out, "flagged-for-me", steps)

    def confirm() -> None:
        window.acts["approve"].trigger()

    def save_confirm() -> None:
        box = window.dialogs.current
        _save(shots, box, out, "batch-confirm.png")
        box.reject()

    steps.then(confirm).then(save_confirm, when=lambda: window.dialogs.current is not None)

    def compare_two() -> None:
        window.review.filter_from_key(QueueFilter.ALL)
        proxy, sm = window.review.proxy, window.review.table.selectionModel()
        rows = QItemSelectionModel.SelectionFlag.Rows
        sm.setCurrentIndex(
            proxy.index(3, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect | rows
        )
        sm.select(proxy.index(5, 0), QItemSelectionModel.SelectionFlag.Select | rows)
        window.acts["compare_two"].trigger()

    steps.then(compare_two)
    _each_size(shots, out, "compare-two", steps, when=shown(shots))

    def decide_then_withdraw() -> None:
        window.step(1)
        window.acts["reject"].trigger()
        dialog = window.dialogs.current
        dialog.list.item(5).setCheckState(Qt.CheckState.Checked)
        dialog.accept()

    def withdraw() -> None:
        window.step(-1)
        window.acts["undo"].trigger()

    steps.then(decide_then_withdraw).then(withdraw, settle_ms=1500)
    _each_size(
        shots,
        out,
        "withdrawn",
        steps,
        when=lambda: "Withdrawn by" in window.review.findings.toPlainText(),
    )

    def sheet() -> None:
        window.acts["shortcuts"].trigger()

    def save_sheet() -> None:
        box = window.dialogs.current
        box.resize(620, 760)
        QApplication.processEvents()
        _save(shots, box, out, "shortcut-sheet.png")
        box.reject()

    steps.then(sheet).then(save_sheet, when=lambda: window.dialogs.current is not None)
    window.show()
    return steps.run()


def model_shots(out: Path, faces: bool) -> int:
    shots = model_app(faces)
    window = shots.window
    steps = Steps(shots)
    steps.then(lambda: window.open_workspace(shots.demo))
    ready = scanned(shots)

    def simple_at(rel: str) -> Callable[[], None]:
        def go() -> None:
            if not window.is_simple():
                window.acts["simple"].trigger()
            window.select_asset(rel)

        return go

    if faces:
        steps.then(lambda: window.select_asset(shots.first), when=ready)  # type: ignore[attr-defined]
        _each_size(shots, out, "faces-review", steps, when=shown(shots))
        steps.then(simple_at(shots.first))  # type: ignore[attr-defined]
        _each_size(shots, out, "faces-simple", steps, when=shown(shots))
        window.show()
        return steps.run()
    for rel, name in (
        ("assets/ava/look-01.jpg", "simple-copy"),
        ("assets/ava/look-02.jpg", "simple-other-model"),
        ("assets/ava/look-03.jpg", "simple-consent"),
        ("assets/ava/look-04.jpg", "simple-agent-approved"),
    ):
        steps.then(simple_at(rel), when=ready)
        _each_size(shots, out, name, steps, when=shown(shots))

    def override() -> None:
        window.select_asset("assets/ava/look-05.jpg")  # her consent allows it; no AI label
        window.acts["approve"].trigger()

    def save_override() -> None:
        box = window.dialogs.current
        _save(shots, box, out, "simple-approve-anyway.png")
        box.reject()

    def reject() -> None:
        window.activateWindow()
        window.acts["reject"].trigger()

    def save_reject() -> None:
        box = window.dialogs.current
        _save(shots, box, out, "simple-reject.png")
        box.reject()

    steps.then(override).then(save_override, when=lambda: window.dialogs.current is not None)
    steps.then(reject).then(save_reject, when=lambda: window.dialogs.current is not None)

    def delete_shown() -> None:
        window.select_asset("assets/ava/look-05.jpg")
        (shots.demo / "assets/ava/look-05.jpg").unlink()
        window.acts["rescan"].trigger()

    steps.then(delete_shown, settle_ms=800)
    _each_size(shots, out, "simple-gone", steps, when=lambda: window.simple_page.gone is not None)
    steps.then(lambda: window.step(1), settle_ms=600)
    _model_extras(shots, out, steps)
    window.show()
    return steps.run()


def _over(shots: DemoApp, out: Path, name: str, steps: Steps, widget: Callable[[], Any]) -> None:
    """Save the window at each size with ``widget()`` drawn over it (a dialog, a menu)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QColor, QImage, QPainter

    window = shots.window

    def save(w: int, h: int) -> None:
        image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        top = widget()
        shot = top.grab().toImage()
        if top.isWindow() and top.parentWidget() is window and not top.inherits("QMenu"):
            x, y = max(0, (w - shot.width()) // 2), max(0, (h - shot.height()) // 2)
        else:
            pos = window.mapFromGlobal(top.mapToGlobal(QPoint(0, 0)))
            x, y = pos.x(), pos.y()
        painter = QPainter(image)
        painter.fillRect(x + 5, y + 5, shot.width(), shot.height(), QColor(0, 0, 0, 80))
        painter.drawImage(QPoint(x, y), shot)
        painter.end()
        if shot.width() > w or shot.height() > h:
            print(f"{name}: {shot.width()}x{shot.height()} does not fit {w}x{h}", file=sys.stderr)
        if not save_png(image, out / f"{name}-{w}x{h}.png"):
            shots.status["code"] = 2
        print(f"saved {out / f'{name}-{w}x{h}.png'}", file=sys.stderr)

    for w, h in SIZES:
        steps.then(lambda w=w, h=h: window.resize(w, h))
        steps.then(lambda w=w, h=h: save(w, h), settle_ms=400)


def _model_extras(shots: DemoApp, out: Path, steps: Steps) -> None:
    """Her menu, her consent screen, where her images went, and the notices she may see."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QMenu

    window = shots.window
    session = shots.parts.session
    menu: dict[str, Any] = {}

    def open_menu() -> None:
        bar = window.menuBar()
        [found] = [a.menu() for a in bar.actions() if a.isVisible() and isinstance(a.menu(), QMenu)]
        menu["m"] = found
        found.popup(bar.mapToGlobal(QPoint(0, bar.height())))

    for w, h in SIZES:
        steps.then(lambda w=w, h=h: window.resize(w, h)).then(open_menu)
        _over_once(shots, out, f"simple-menu-{w}x{h}", steps, lambda: menu["m"])
        steps.then(lambda: menu["m"].hide())

    steps.then(lambda: window.acts["consent"].trigger())
    dialog = lambda: window.dialogs.current  # noqa: E731
    _over(shots, out, "simple-consent-screen", steps, dialog)
    steps.then(lambda: window.dialogs.current.reject())
    steps.then(lambda: window.acts["published"].trigger())
    steps.then(lambda: None, when=lambda: dialog().heading.text() != "Looking…")
    _over(shots, out, "simple-where-went", steps, dialog)
    steps.then(lambda: window.dialogs.current.reject())

    # Her decision, signed on this computer, cut from the shared folder: the notice, her words.
    def approve_shown() -> None:
        window.select_asset("assets/ava/look-04.jpg")
        window.acts["approve"].trigger()

    def anyway() -> None:
        box = window.dialogs.current
        if box is not None and hasattr(box, "buttons"):
            [ok] = [b for b in box.buttons() if "anyway" in b.text().replace("&", "").lower()]
            ok.click()

    def cut() -> None:
        [log] = (shots.demo / "logs").glob("ava@example.com--*.dlog")
        lines = log.read_bytes().splitlines(keepends=True)
        log.write_bytes(b"".join(lines[:-1]))
        session.refresh_statuses()

    steps.then(approve_shown).then(anyway, settle_ms=600)
    steps.then(cut, settle_ms=800)
    _each_size(
        shots,
        out,
        "simple-restore-notice",
        steps,
        when=lambda: window.log_notices.isVisible() and window.log_notices.kind == "error",
    )
    steps.then(lambda: window.log_notices.restore_button.click(), settle_ms=800)

    # The owner reset her key to a key of another computer: she is told to act.
    def reset() -> None:
        from decision_helpers import owner_of, reviewer, roster_service

        other = reviewer(shots.tmp / "elsewhere", "ava@example.com", "model", "Ava Stone")
        ident = other.current()
        assert ident is not None
        roster_service(owner_of(shots.demo)).reset_model(
            shots.demo, "ava@example.com", ident.public_key
        )
        session.refresh_roster()
        session.refresh_statuses()

    steps.then(reset, when=lambda: not window.log_notices.isVisible(), settle_ms=800)
    _each_size(
        shots,
        out,
        "simple-reset-notice",
        steps,
        when=lambda: window.log_notices.isVisible() and bool(session.notices),
    )


def _over_once(
    shots: DemoApp, out: Path, name: str, steps: Steps, widget: Callable[[], Any]
) -> None:
    """Save the window, at its size now, with ``widget()`` drawn where it is on screen."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QImage, QPainter

    window = shots.window

    def save() -> None:
        image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        top = widget()
        pos = window.mapFromGlobal(top.mapToGlobal(QPoint(0, 0)))
        painter = QPainter(image)
        painter.drawImage(pos, top.grab().toImage())
        painter.end()
        if not save_png(image, out / f"{name}.png"):
            shots.status["code"] = 2
        print(f"saved {out / f'{name}.png'}", file=sys.stderr)

    steps.then(save, settle_ms=400)


def readme_simple(path: Path) -> int:
    """The README's simple-mode picture: Ava at 1280x800 on the mirrored copy of her photo."""
    shots = model_app()
    window = shots.window

    def simple() -> None:
        window.acts["simple"].trigger()
        window.select_asset("assets/ava/look-01.jpg")

    steps = Steps(shots).then(lambda: (window.resize(1280, 800), window.open_workspace(shots.demo)))
    steps.then(simple, when=scanned(shots))
    steps.then(lambda: _save(shots, window, path.parent, path.name), when=shown(shots))
    window.show()
    return steps.run()


def main() -> int:
    args = sys.argv[1:]
    if "--readme-simple" in args:
        return readme_simple(Path(args[args.index("--readme-simple") + 1]))
    out = Path(next((a for a in args if not a.startswith("--")), "/tmp/review-shots"))
    dark = "--dark" in args
    out = out / ("dark" if dark else "light")
    import screenshots

    screenshots.DARK = dark
    if "--faces" in args:
        return model_shots(out, faces=True)
    if "--model" in args:
        return model_shots(out, faces=False)
    return agent_shots(out)


if __name__ == "__main__":
    raise SystemExit(main())
