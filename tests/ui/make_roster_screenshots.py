"""Pictures of the trust dialog and the roster screen on the demo workspace.

Run with ``uv run python tests/ui/make_roster_screenshots.py [OUT_DIR]`` (default ``/tmp/shots``).
Not collected by pytest. Everything happens in a temporary folder with its own user folders and an
in-memory keyring: a reviewer (Alex, agent) is on the demo roster but has not trusted its owner
yet, and someone else (Kim) has asked to join. The app opens the demo, asks about the owner
(``demo-trust-dialog.png``), Alex trusts it, then the roster screen (``demo-roster.png``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # decision_helpers


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/shots")
    tmp = Path(tempfile.mkdtemp(prefix="twinreview-roster-shots-"))
    for name in ("CONFIG", "DATA", "CACHE"):
        os.environ[f"TWINREVIEW_{name}_DIR"] = str(tmp / name.lower())

    from PySide6.QtCore import QSettings, QTimer

    from decision_helpers import MemoryKeyring
    from twinreview.core.roster.people import Person
    from twinreview.services.demo import build_demo
    from twinreview.services.keys import IdentityStore, KeyService, KeyStore
    from twinreview.services.roster_admin import RosterService
    from twinreview.services.trust import TrustStore, Verifier
    from twinreview.ui.app import _qapp, build_app, start_identity
    from twinreview.ui.roster import RosterDialog, TrustDialog

    keyring = MemoryKeyring()
    alex = KeyService(KeyStore(keyring, allow_untrusted_backend=True), IdentityStore.default())
    me = alex.init("alex@agency.example", "Alex Agent", "agent")
    reviewer = (Person(me.principal, me.display_name, "agent", ("milo",)), me.public_key)
    demo = build_demo(tmp / "demo", reviewer)  # no pin: this device has not trusted it yet
    kim = KeyService(
        KeyStore(MemoryKeyring(), allow_untrusted_backend=True), IdentityStore(tmp / "kim")
    )
    kim.init("kim@brand.example", "Kim Brand", "brand")
    kim_roster = RosterService(kim, TrustStore(tmp / "kim"), Verifier(None, None))
    kim_roster.trust_workspace(demo)
    kim_roster.request_join(demo, ("milo", "nova"))

    app = _qapp()
    parts = build_app(
        QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat),
        keystore=KeyStore(keyring, allow_untrusted_backend=True),
    )
    window = parts.window
    window.resize(1280, 800)
    status = {"code": 0}

    def wait_then(check: object, action: object, tries: int = 400) -> None:
        def poll(left: int = tries) -> None:
            if check():  # type: ignore[operator]
                action()  # type: ignore[operator]
            elif left <= 0:
                print("make_roster_screenshots: timed out", file=sys.stderr)
                status["code"] = 1
                window.close()
            else:
                QTimer.singleShot(50, lambda: poll(left - 1))

        poll()

    def save(widget: object, name: str) -> None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / name
        if not widget.grab().save(str(path)):  # type: ignore[attr-defined]
            status["code"] = 2
        print(f"saved {path}", file=sys.stderr)

    def trust_dialog() -> None:
        dialog = window.dialogs.current
        QTimer.singleShot(300, lambda: after_trust_shot(dialog))

    def after_trust_shot(dialog: TrustDialog) -> None:
        save(dialog, "demo-trust-dialog.png")
        dialog.trust_button.click()
        wait_then(
            lambda: (
                parts.session.trust is not None
                and parts.session.trust.ok
                and parts.session.roster is not None
                and parts.session.roster.me is not None
            ),
            roster,
        )

    def roster() -> None:
        window.dialogs.show_roster()
        dialog = window.dialogs.current
        assert isinstance(dialog, RosterDialog)
        wait_then(lambda: dialog.requests_model.rowCount() > 0, lambda: shot_roster(dialog))

    def shot_roster(dialog: RosterDialog) -> None:
        dialog.select_request("kim@brand.example")
        QTimer.singleShot(300, lambda: (save(dialog, "demo-roster.png"), window.close()))

    start_identity(parts)
    window.open_workspace(demo)
    window.show()
    wait_then(lambda: isinstance(window.dialogs.current, TrustDialog), trust_dialog)
    try:
        app.exec()
    finally:
        parts.shutdown()
    return status["code"]


if __name__ == "__main__":
    raise SystemExit(main())
