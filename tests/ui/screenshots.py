"""Screenshot tooling for the README pictures and for looking at screens (not collected by pytest).

The app on the demo workspace, with a real identity whose key lives in an in-memory keyring and
user folders in a temporary directory: the decision buttons are live because the reviewer may
really sign, nothing is staged in the app. :func:`demo_app` builds it; :class:`Steps` runs one
step after another once each one's condition holds; :func:`save_png` writes a picture.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # decision_helpers

#: README pictures above this size are stored with 256 colours (like pngquant does).
MAX_BYTES = 400_000
#: Dark theme for the apps built here (as the OS would choose it).
DARK = False
#: Laptop and desktop window sizes every changed screen is looked at in.
SIZES = ((1280, 800), (1600, 1000))


def save_png(image: Any, path: Path) -> bool:
    """Save a QImage as PNG: lossless when that stays under :data:`MAX_BYTES`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path), "PNG", 0):
        return False
    if path.stat().st_size <= MAX_BYTES:
        return True
    from PIL import Image

    with Image.open(path) as full:
        rgb = full.convert("RGB")
    rgb.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        path, "PNG", optimize=True
    )
    return True


def set_theme(dark: bool) -> None:
    """Light or dark, as the OS would choose it.

    The offscreen platform has no theme of its own: the colour scheme is set, and with it the
    palette Qt's Fusion style uses for that scheme on a desktop.
    """
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QGuiApplication, QPalette
    from PySide6.QtWidgets import QApplication

    QGuiApplication.styleHints().setColorScheme(
        Qt.ColorScheme.Dark if dark else Qt.ColorScheme.Light
    )
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    if not dark:
        app.setPalette(app.style().standardPalette())
        return
    role = QPalette.ColorRole
    pal = QPalette()
    for r, c in (
        (role.Window, (45, 45, 48)),
        (role.WindowText, (230, 230, 230)),
        (role.Base, (30, 30, 32)),
        (role.AlternateBase, (45, 45, 48)),
        (role.ToolTipBase, (60, 60, 64)),
        (role.ToolTipText, (230, 230, 230)),
        (role.PlaceholderText, (150, 150, 150)),
        (role.Text, (230, 230, 230)),
        (role.Button, (53, 53, 56)),
        (role.ButtonText, (230, 230, 230)),
        (role.BrightText, (255, 80, 80)),
        (role.Link, (90, 160, 255)),
        (role.Highlight, (42, 110, 200)),
        (role.HighlightedText, (255, 255, 255)),
    ):
        pal.setColor(r, QColor(*c))
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, r, QColor(120, 120, 120))
    app.setPalette(pal)


@dataclass
class DemoApp:
    """The app built on the demo workspace (see :func:`demo_app`)."""

    app: Any
    parts: Any
    demo: Path
    tmp: Path
    status: dict[str, int] = field(default_factory=lambda: {"code": 0})

    @property
    def window(self) -> Any:
        """The main window."""
        return self.parts.window


def demo_app(
    *,
    principal: str = "alex@agency.example",
    name: str = "Alex Agent",
    role: str = "agent",
    models: tuple[str, ...] = ("milo", "nova"),
) -> DemoApp:
    """The app, its user folders and keyring in a temporary directory, the demo built there.

    The reviewer is on the demo roster (as its owner would approve) and this device trusts the
    demo's owner, as after ``twinreview demo``. A model reviewer (``role="model"``) signs as the
    demo's own model person for her model instead.
    """
    tmp = Path(tempfile.mkdtemp(prefix="twinreview-shots-"))
    for folder in ("CONFIG", "DATA", "CACHE", "LOG"):
        os.environ[f"TWINREVIEW_{folder}_DIR"] = str(tmp / folder.lower())
    from PySide6.QtCore import QSettings

    from decision_helpers import MemoryKeyring
    from twinreview.core.roster.people import Person
    from twinreview.services.demo import build_demo
    from twinreview.services.keys import IdentityStore, KeyService, KeyStore
    from twinreview.services.trust import TrustStore
    from twinreview.ui.app import _qapp, build_app, start_identity

    keyring = MemoryKeyring()
    keys = KeyService(KeyStore(keyring, allow_untrusted_backend=True), IdentityStore.default())
    me = keys.init(principal, name, role)
    reviewer = (Person(me.principal, me.display_name, role, models), me.public_key)
    demo = build_demo(tmp / "demo", reviewer, TrustStore.default())
    app = _qapp()
    set_theme(DARK)
    parts = build_app(
        QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat),
        keystore=KeyStore(keyring, allow_untrusted_backend=True),
    )
    start_identity(parts)
    return DemoApp(app, parts, demo, tmp)


class Steps:
    """Runs steps in order on the event loop; each waits (polling) until its condition holds."""

    def __init__(self, shots: DemoApp, *, tries: int = 400) -> None:
        self._shots = shots
        self._steps: list[tuple[Callable[[], bool], Callable[[], None], int]] = []
        self._tries = tries

    def then(
        self,
        action: Callable[[], None],
        *,
        when: Callable[[], bool] = lambda: True,
        settle_ms: int = 300,
    ) -> Steps:
        """Run ``action`` once ``when()`` holds and ``settle_ms`` more have passed."""
        self._steps.append((when, action, settle_ms))
        return self

    def run(self) -> int:
        """Run the steps, then close the window; the exit code (0: every step ran)."""
        from PySide6.QtCore import QTimer

        window = self._shots.window
        status = self._shots.status

        def next_step(i: int = 0) -> None:
            if i >= len(self._steps):
                window.close()
                return
            when, action, settle = self._steps[i]

            def poll(left: int) -> None:
                if when():
                    QTimer.singleShot(settle, lambda: (action(), next_step(i + 1)))
                elif left <= 0:
                    print(f"screenshots: step {i} timed out", file=sys.stderr)
                    status["code"] = 1
                    window.close()
                else:
                    QTimer.singleShot(50, lambda: poll(left - 1))

            poll(self._tries)

        QTimer.singleShot(0, next_step)
        try:
            self._shots.app.exec()
        finally:
            self._shots.parts.shutdown()
        return status["code"]


def review_pick(window: Any) -> str | None:
    """The asset a README picture should show: pending, with findings and evidence to compare.

    Preference: pending with a similarity finding (its evidence pair beside it), then pending
    with a warning or blocking finding, then pending, then the first row; unreadable files last.
    """
    from twinreview.core.approval.policy import State
    from twinreview.core.findings import Severity
    from twinreview.ui.queue_model import ItemRole

    proxy = window.review.proxy
    items = [proxy.index(r, 0).data(ItemRole) for r in range(proxy.rowCount())]
    items = [i for i in items if i is not None]

    def rank(item: Any) -> int:
        result = item.result
        if result is None or result.error:
            return 9
        pending = item.state is State.PENDING
        evidence = any(isinstance(f.evidence.get("reference"), str) for f in item.findings)
        serious = any(f.severity >= Severity.WARN for f in item.findings)
        if pending and evidence and serious:
            return 0
        if pending and serious:
            return 1
        return 2 if pending else 3

    best = min(items, key=rank, default=None)
    return best.rel if best is not None else None


def scanned(shots: DemoApp) -> Callable[[], bool]:
    """True once the scan has finished and every status is in."""
    session = shots.parts.session
    return lambda: (
        session.workspace is not None
        and session.scan_result is not None
        and not session.scan.running
        and not session.busy
        and all(i.status is not None for i in session.items)
    )


def shown(shots: DemoApp) -> Callable[[], bool]:
    """True once the visible compare view shows its asset and its reference."""

    def check() -> bool:
        view = shots.window.compare_flow.view()
        return bool(view.asset_painted_now and (view.reference is None or view.reference_ready))

    return check
