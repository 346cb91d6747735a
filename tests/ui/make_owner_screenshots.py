"""Pictures of the owner's screens, in the app window, at two window sizes, light and dark.

Run with ``uv run python tests/ui/make_owner_screenshots.py [OUT_DIR] [--dark] [--readme]``
(default ``/tmp/owner-shots``). Not collected by pytest. Everything happens in a temporary folder
with its own user folders and an in-memory keyring: the demo's images are copied into a new
workspace whose owner is this device's reviewer (Olga, brand); Milo (model, consented), Sam
(agent) and Kim (brand) are on its roster, Lee and Ana have asked to join, Milo and Sam approved
one image, which is published with the demo brand's certificate and exported.

Each screen is saved as ``<name>-<W>x<H>-<theme>.png``: the window at W x H with the screen
open over it, as a person sees it. ``--dark`` uses a dark palette (the offscreen platform
follows no system theme). ``--readme`` also writes the README's pictures of the roster screen
and the rules editor into ``resources/screenshots``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # decision_helpers

SIZES = ((1280, 800), (1600, 1000))


def dark_palette() -> object:
    """A dark palette for the Fusion style (what a dark desktop theme gives the app)."""
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    for r, c in (
        (role.Window, "#2b2b2b"),
        (role.WindowText, "#e8e8e8"),
        (role.Base, "#1e1e1e"),
        (role.AlternateBase, "#2f2f2f"),
        (role.ToolTipBase, "#3a3a3a"),
        (role.ToolTipText, "#e8e8e8"),
        (role.PlaceholderText, "#9a9a9a"),
        (role.Text, "#e8e8e8"),
        (role.Button, "#353535"),
        (role.ButtonText, "#e8e8e8"),
        (role.BrightText, "#ff6b6b"),
        (role.Link, "#6cb4ff"),
        (role.Highlight, "#2f6fb3"),
        (role.HighlightedText, "#ffffff"),
        (role.Light, "#4a4a4a"),
        (role.Midlight, "#3c3c3c"),
        (role.Mid, "#303030"),
        (role.Dark, "#1a1a1a"),
        (role.Shadow, "#000000"),
    ):
        p.setColor(r, QColor(c))
    for r in (role.Text, role.ButtonText, role.WindowText):
        p.setColor(group.Disabled, r, QColor("#7a7a7a"))
    return p


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    dark = "--dark" in sys.argv
    readme = "--readme" in sys.argv
    out = Path(args[0]) if args else Path("/tmp/owner-shots")
    theme = "dark" if dark else "light"
    tmp = Path(tempfile.mkdtemp(prefix="twinreview-owner-shots-"))
    for name in ("CONFIG", "DATA", "CACHE", "LOG"):
        os.environ[f"TWINREVIEW_{name}_DIR"] = str(tmp / name.lower())

    from PySide6.QtCore import QPoint, QSettings
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtWidgets import QMessageBox, QWidget

    from decision_helpers import MemoryKeyring
    from twinreview.core.roster.people import Person
    from twinreview.core.workspace import Workspace
    from twinreview.services.decisions import DecisionService
    from twinreview.services.demo import build_demo
    from twinreview.services.demo_brand import CHAIN_FILE, KEY_FILE
    from twinreview.services.export import export_workspace
    from twinreview.services.keys import IdentityStore, KeyService, KeyStore
    from twinreview.services.publish.publisher import publish_workspace
    from twinreview.services.publish.register import PublishRegister
    from twinreview.services.publish.signer import C2paKeyStore, load_credentials
    from twinreview.services.roster_admin import RosterService
    from twinreview.services.trust import TrustStore, Verifier
    from twinreview.ui.app import _qapp, build_app, start_identity
    from twinreview.ui.dialogs import IdentityDialog
    from twinreview.ui.publish_dialog import PublishDialog
    from twinreview.ui.roster import RosterDialog

    app = _qapp()
    app.setStyle("Fusion")
    if dark:
        app.setPalette(dark_palette())  # type: ignore[arg-type]

    def person(name: str, principal: str, role: str, laptop: str = "") -> KeyService:
        keys = KeyService(
            KeyStore(MemoryKeyring(), allow_untrusted_backend=True),
            IdentityStore(tmp / "people" / f"{principal}{laptop}"),
        )
        keys.init(principal, name, role)
        return keys

    # -- the workspace: the demo's pictures, owned by this device's reviewer ------------------
    keyring = MemoryKeyring()
    olga = KeyService(KeyStore(keyring, allow_untrusted_backend=True), IdentityStore.default())
    olga.init("olga@brand.example", "Olga Brand", "brand")
    demo = build_demo(tmp / "demo")
    ws = tmp / "spring-campaign"
    ws.mkdir()
    for src in demo.iterdir():
        if src.name not in ("roster", "logs") and not src.name.startswith("."):
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, ws / src.name)
    toml = ws / "twinreview.toml"
    toml.write_text(
        toml.read_text().replace('name = "twinreview demo"', 'name = "Spring campaign 2026"')
    )
    owner = RosterService(olga, TrustStore.default(), Verifier.default())
    owner.init(ws, "Spring campaign 2026")
    milo, sam, kim = (
        person("Milo", "milo@models.example", "model"),
        person("Sam Agent", "sam@agency.example", "agent"),
        person("Kim Brand", "kim@brand.example", "brand"),
    )
    for keys, models in ((milo, ("milo",)), (sam, ("milo", "nova")), (kim, ("milo", "nova"))):
        ident = keys.current()
        assert ident is not None
        owner.add_person(
            ws, Person(ident.principal, ident.display_name, ident.role, models), ident.public_key
        )
    owner.set_admin(ws, "kim@brand.example", True)
    milo_roster = RosterService(milo, TrustStore(tmp / "milo-pins"), Verifier(None, None))
    milo_roster.trust_workspace(ws)
    milo_roster.consent(ws, "milo", uses=["ecommerce", "social"], require=["model", "agent"])
    for name, principal, role, models in (
        ("Lee Agent", "lee@agency.example", "agent", ("nova",)),
        ("Ana Brand", "ana@brand.example", "brand", ("milo", "nova")),
    ):
        keys = person(name, principal, role)
        svc = RosterService(keys, TrustStore(tmp / f"{principal}-pins"), Verifier(None, None))
        svc.trust_workspace(ws)
        svc.request_join(ws, models)
    cleared = "assets/milo/autumn/look-06.jpg"
    for keys in (milo, sam):
        DecisionService(keys).decide(Workspace.open(ws), cleared, "approve")
    published = tmp / "published"
    publish_workspace(
        Workspace.open(ws),
        published,
        load_credentials(ws / CHAIN_FILE, ws / KEY_FILE),
        register=PublishRegister(olga),
    )
    identity, key = olga.signer()
    export = tmp / "spring-campaign-export"
    export_workspace(ws, export, identity, key)

    # -- the app ------------------------------------------------------------------------------
    parts = build_app(
        QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat),
        keystore=KeyStore(keyring, allow_untrusted_backend=True),
    )
    window, session = parts.window, parts.session
    start_identity(parts)

    def wait(check: Callable[[], bool], timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while not check():
            if time.monotonic() > end:
                raise SystemExit("make_owner_screenshots: timed out")
            app.processEvents()
            time.sleep(0.01)

    def settle(seconds: float = 0.3) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    window.resize(*SIZES[0])
    window.show()
    wait(lambda: session.identity is not None)
    window.open_workspace(ws)
    wait(lambda: session.workspace is not None and session.roster is not None)
    wait(lambda: session.scan_result is not None and not session.scan.running, 600)
    settle(1.0)
    saved: list[Path] = []

    def shoot(name: str, *dialogs: QWidget) -> None:
        """The window at each size with ``dialogs`` centred over it, each over the one before."""
        out.mkdir(parents=True, exist_ok=True)
        for w, h in SIZES:
            window.resize(w, h)
            settle()
            image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
            for dialog in dialogs:
                shot = dialog.grab().toImage()
                painter = QPainter(image)
                x = max(0, (w - shot.width()) // 2)
                y = max(0, (h - shot.height()) // 2)
                painter.fillRect(x + 6, y + 6, shot.width(), shot.height(), QColor(0, 0, 0, 90))
                painter.drawImage(QPoint(x, y), shot)
                painter.setPen(QColor("#808080"))
                painter.drawRect(x - 1, y - 1, shot.width() + 1, shot.height() + 1)
                painter.end()
                if shot.width() > w or shot.height() > h:
                    print(f"{name}: {shot.width()}x{shot.height()} does not fit {w}x{h}")
            path = out / f"{name}-{w}x{h}-{theme}.png"
            image.save(str(path))
            saved.append(path)
        window.resize(*SIZES[0])

    def close(dialog: QWidget) -> None:
        dialog.close()  # type: ignore[attr-defined]
        settle(0.1)

    # The roster screen: a person chosen, two requests chosen, a result line.
    window.dialogs.show_roster()
    roster = window.dialogs.current
    assert isinstance(roster, RosterDialog)
    wait(lambda: roster.requests_model.rowCount() == 2)
    roster.select_person("sam@agency.example")
    roster.select_requests(["lee@agency.example", "ana@brand.example"])
    settle()
    shoot("roster", roster)
    if readme:
        roster.grab().save("resources/screenshots/roster.png")

    # Add a person: the line Ana's identity copied, pasted.
    roster.open_add_person()
    add = roster.child
    line = person("Pat Agent", "pat@agency.example", "agent").current()
    assert line is not None
    add.key_edit.setPlainText(line.allowed_signers_line())  # type: ignore[attr-defined]
    add.display_name.setText("Pat Agent")  # type: ignore[attr-defined]
    add.role.setCurrentIndex(add.role.findData("agent"))  # type: ignore[attr-defined]
    add.model_boxes["milo"].setChecked(True)  # type: ignore[attr-defined]
    settle()
    shoot("add-person", roster, add)
    add.add_button.click()  # type: ignore[attr-defined]
    wait(lambda: "Added" in add.message.text())  # type: ignore[attr-defined]
    settle()
    shoot("add-person-done", roster, add)
    close(add)

    # Revoke a key of Sam's; remove; make an admin (the questions only).
    roster.select_person("sam@agency.example")
    roster.ask_revoke()
    shoot("revoke-key", roster, roster.child)
    close(roster.child)  # type: ignore[arg-type]
    roster.ask_remove()
    shoot("remove-person", roster, roster.child)
    close(roster.child)  # type: ignore[arg-type]
    roster.ask_admin()
    box = roster.child
    assert isinstance(box, QMessageBox)
    shoot("make-admin", roster, box)
    close(box)

    # Approve the two requests at once.
    roster.select_requests(["lee@agency.example", "ana@brand.example"])
    roster.approve_selected()
    wait(lambda: "Added 2" in roster.message.text())
    wait(lambda: roster.requests_model.rowCount() == 0)
    settle()
    shoot("roster-approved", roster)
    close(roster)

    # The rules editor, with two changes not signed yet.
    window.acts["rules"].trigger()
    editor = window.dialogs.current
    editor.verdict_boxes["partial"].setChecked(False)  # type: ignore[union-attr]
    combo = editor.controls[("similarity", "severity", "duplicate_in_batch")]  # type: ignore[union-attr]
    combo.setCurrentIndex(combo.findData("warn"))
    settle()
    shoot("rules", editor)
    if readme:
        editor.grab().save("resources/screenshots/rules.png")  # type: ignore[union-attr]
    editor.sign_button.click()  # type: ignore[union-attr]
    wait(lambda: "Signed" in editor.message.text())  # type: ignore[union-attr]
    settle(0.5)
    shoot("rules-signed", editor)
    close(editor)  # type: ignore[arg-type]

    # Export report, export logs, check a published file: their result screens.
    window.acts["export_report"].trigger()
    report = window.dialogs.current
    report.html.edit.setText(str(tmp / "spring-report.html"))  # type: ignore[union-attr]
    report.csv.setChecked(True)  # type: ignore[union-attr]
    report.export.edit.setText(str(export))  # type: ignore[union-attr]
    report.export_button.click()  # type: ignore[union-attr]
    wait(lambda: not report.running, 300)  # type: ignore[union-attr]
    settle()
    shoot("export-report", report)
    close(report)  # type: ignore[arg-type]

    window.acts["export_logs"].trigger()
    logs = window.dialogs.current
    logs.folder.edit.setText(str(tmp / "second-export"))  # type: ignore[union-attr]
    logs.export_button.click()  # type: ignore[union-attr]
    wait(lambda: not logs.running, 300)  # type: ignore[union-attr]
    settle()
    shoot("export-logs", logs)
    logs.export_button.click()  # type: ignore[union-attr] - into the same, now full, folder
    wait(lambda: not logs.running, 300)  # type: ignore[union-attr]
    settle()
    shoot("export-logs-refused", logs)
    close(logs)  # type: ignore[arg-type]

    window.acts["check_published"].trigger()
    check = window.dialogs.current
    good = published / "milo" / "autumn" / "look-06.jpg"
    edited = tmp / "look-06-edited.jpg"
    data = bytearray(good.read_bytes())
    data[-300] ^= 0xFF
    edited.write_bytes(bytes(data))
    check.set_files([good, edited])  # type: ignore[union-attr]
    check.export.edit.setText(str(export))  # type: ignore[union-attr]
    check.check_button.click()  # type: ignore[union-attr]
    wait(lambda: not check.running, 300)  # type: ignore[union-attr]
    settle()
    shoot("check-published", check)
    close(check)  # type: ignore[arg-type]

    # Published files: the register, in or out of consent.
    window.acts["published"].trigger()
    register = window.dialogs.current
    wait(lambda: getattr(register, "document", None) is not None, 120)
    settle()
    shoot("published", register)  # type: ignore[arg-type]
    close(register)  # type: ignore[arg-type]

    # Create a workspace: folder and name.
    window.acts["create"].trigger()
    create = window.dialogs.current
    create.folder.edit.setText(str(tmp / "autumn-2026"))  # type: ignore[union-attr]
    create.name.setText("Autumn campaign 2026")  # type: ignore[union-attr]
    settle()
    shoot("create-workspace", create)
    close(create)  # type: ignore[arg-type]

    # The identity dialog: just created (what next), and with no keyring.
    fresh = IdentityDialog(session.bridge, lambda p, n, r: olga.current(), window)  # type: ignore[arg-type, return-value]
    ident = session.identity
    assert ident is not None
    fresh.principal.setText(ident.principal)
    fresh.display_name.setText(ident.display_name)
    fresh.role.setCurrentIndex(fresh.role.findData(ident.role))
    fresh._created(ident)
    fresh.show()
    settle()
    shoot("identity-created", fresh)
    fresh.close()
    from twinreview.ui.app_errors import keyring_problem

    none = IdentityDialog(session.bridge, lambda p, n, r: olga.current(), window)  # type: ignore[arg-type, return-value]
    none.show_no_keyring(keyring_problem())
    none.show()
    settle()
    shoot("identity-no-keyring", none)
    none.close()

    # Publishing again without a key: the error, and nothing of the last run left on screen.
    store = C2paKeyStore(KeyStore(MemoryKeyring(), allow_untrusted_backend=True))
    pub = PublishDialog(
        Workspace.open(ws),
        session.bridge,
        1,
        keystore=lambda: store,
        parent=window,
        register=lambda: PublishRegister(olga),
    )
    pub.outdir.edit.setText(str(tmp / "published-again"))
    pub.resize(1000, 700)
    pub.show()
    pub.start()
    wait(lambda: not pub.running, 300)
    pub.key.edit.setText("")
    pub.outdir.edit.setText(str(tmp / "published-third"))
    pub.start()
    wait(lambda: not pub.running, 300)
    settle()
    shoot("publish-no-key", pub)
    pub.close()

    # The owner's own signed roster lines cut from the folder: the notice and its button.
    roster_file = ws / "roster" / "roster.dlog"
    lines = roster_file.read_bytes().splitlines(keepends=True)
    roster_file.write_bytes(b"".join(lines[:-1]))
    session.refresh_statuses()
    wait(lambda: window.log_notices.isVisible() and window.log_notices.kind == "error", 60)
    settle(0.5)
    shoot("restore-notice")
    window.log_notices.restore_button.click()
    wait(lambda: not window.log_notices.isVisible(), 60)

    # Milo lost her laptop: the owner resets her key, after the screen says what happens.
    window.dialogs.show_roster()
    roster = window.dialogs.current
    assert isinstance(roster, RosterDialog)
    wait(lambda: roster.select_person("milo@models.example"))
    settle()
    roster.ask_reset()
    reset = roster.child
    new_milo = person("Milo", "milo@models.example", "model", "-new-laptop").current()
    assert new_milo is not None
    reset.key_edit.setPlainText(new_milo.allowed_signers_line())  # type: ignore[attr-defined]
    settle()
    shoot("reset-key", roster, reset)  # type: ignore[arg-type]
    reset.reset_button.click()  # type: ignore[attr-defined]
    wait(lambda: "Reset Milo" in reset.message.text())  # type: ignore[attr-defined]
    close(reset)  # type: ignore[arg-type]
    close(roster)
    wait(lambda: window.log_notices.isVisible() and bool(session.notices), 60)
    settle(0.5)
    shoot("reset-notice")

    # A lost laptop's log and a roster line nobody allowed: what the roster screen offers.
    DecisionService(kim).decide(Workspace.open(ws), "assets/milo/autumn/look-07.jpg", "approve")
    for log in (ws / "logs").glob("sam*"):
        log.unlink()
    pat = KeyService(
        KeyStore(MemoryKeyring(), allow_untrusted_backend=True), IdentityStore(tmp / "mallory")
    )
    pat.init("pat@agency.example", "Pat Agent", "agent")
    sneak = RosterService(pat, TrustStore.default(), Verifier.default())
    try:
        sneak.set_policy(ws, {"disclosure": {"approvable": ["missing"]}})
    except Exception as exc:
        print(f"refused as it should be: {exc}")
        from twinreview.core.roster.log import SignedRoster
        from twinreview.core.roster.write import build_roster_line

        roster_log = SignedRoster.load(ws / "roster")
        state = roster_log.current
        assert state is not None
        _, key2 = pat.signer()
        _, line2 = build_roster_line(
            key2,
            "pat@agency.example",
            seq=state.seq + 1,
            prev=state.head_hash,
            ts=dt.datetime.now(dt.UTC),
            kind="policy",
            fields={"policy": {"disclosure": {"approvable": ["missing"]}}},
            workspace_id=roster_log.workspace_id,
        )
        with (ws / "roster" / "roster.dlog").open("ab") as fh:
            fh.write(line2)
    session.refresh_roster()
    session.refresh_statuses()
    wait(lambda: session.roster is not None and not session.roster.ok, 60)
    window.dialogs.show_roster()
    roster = window.dialogs.current
    settle(0.5)
    shoot("roster-problems", roster)
    close(roster)

    window.close()
    parts.shutdown()
    for path in saved:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
