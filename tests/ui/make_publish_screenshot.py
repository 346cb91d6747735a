"""Make the README picture of the "Publish cleared…" dialog after publishing the demo.

Run with ``uv run python tests/ui/make_publish_screenshot.py [OUT_FILE]`` (default
``resources/screenshots/publish-inspector.png``). Not collected by pytest. The demo is built in a
temporary folder (with its throwaway brand certificate, which the dialog picks up), its cleared
asset is published off the GUI thread, and the dialog is saved showing the written file and its
Content Credentials as the findings panel renders them: the disclosure verdict, the C2PA state
(trusted through the workspace's trust anchors), the source types, the signer and the sign-off.
"""

from __future__ import annotations

import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    out = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path("resources/screenshots/publish-inspector.png")
    )
    tmp = Path(tempfile.mkdtemp(prefix="twinreview-publish-shot-"))
    for name in ("CACHE", "DATA", "CONFIG", "LOG"):
        os.environ[f"TWINREVIEW_{name}_DIR"] = str(tmp / name.lower())
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from twinreview.core.workspace import Workspace
    from twinreview.services.demo import build_demo
    from twinreview.services.trust import TrustStore
    from twinreview.ui.bridge import Bridge
    from twinreview.ui.publish_dialog import PublishDialog

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from decision_helpers import reviewer
    from twinreview.core.roster.people import Person
    from twinreview.services.publish.register import PublishRegister

    me = reviewer(tmp / "people", "me@brand.example", "brand", "Me")
    ident = me.current()
    assert ident is not None
    person = Person(ident.principal, ident.display_name, "brand", ("milo", "nova"))
    demo = build_demo(tmp / "demo", (person, ident.public_key), TrustStore.default())
    app = QApplication.instance() or QApplication([])
    pool = ThreadPoolExecutor(max_workers=2)
    bridge = Bridge(pool)
    dialog = PublishDialog(Workspace.open(demo), bridge, 1, register=lambda: PublishRegister(me))
    dialog.outdir.edit.setText(str(tmp / "published"))
    dialog.resize(1000, 770)
    dialog.show()
    status = {"code": 1}

    def poll() -> None:
        if dialog.running:
            QTimer.singleShot(50, poll)
            return
        if dialog.error_text:
            print(f"make_publish_screenshot: {dialog.error_text}", file=sys.stderr)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            dialog.grab().save(str(out))
            print(f"wrote {out}")
            status["code"] = 0
        app.quit()

    dialog.start()
    QTimer.singleShot(50, poll)
    app.exec()
    bridge.close()
    pool.shutdown(wait=True)
    return status["code"]


if __name__ == "__main__":
    sys.exit(main())
