"""Make the README pictures of simple mode and the wipe view from the demo workspace.

Run with ``uv run python tests/ui/make_screenshots.py [OUT_DIR]`` (default
``resources/screenshots``). Not collected by pytest. Uses the same screenshot path as
``twinreview demo DIR --screenshot FILE`` (which makes ``review.png``): the demo is built in a
temporary folder, the app opens it, waits for the scan and the statuses, picks a pending asset
with evidence, then saves ``compare-wipe.png`` (wipe mode), ``compare-difference.png`` (a copy
in the difference view, aligned by its geometric evidence, the evidence regions drawn),
``batch.png`` (several assets selected for one batch decision) and ``simple.png`` (simple mode
on that copy).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("resources/screenshots")
    from PySide6.QtCore import QSettings, QTimer

    from twinreview.services.demo import build_demo
    from twinreview.services.trust import TrustStore
    from twinreview.ui.app import (
        _qapp,
        build_app,
        install_screenshot,
        prepare_screenshot,
        review_pick,
        save_png,
    )
    from twinreview.ui.compare_view import CompareMode
    from twinreview.ui.evidence import alignments
    from twinreview.ui.queue_model import QueueFilter

    tmp = Path(tempfile.mkdtemp(prefix="twinreview-shots-"))
    # Built on this device, so its (throw-away) owner is pinned here, as `twinreview demo` does.
    demo = build_demo(tmp / "demo", trust=TrustStore.default())
    app = _qapp()
    parts = build_app(QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat))
    window = parts.window
    prepare_screenshot(parts)
    status = {"code": 0}
    state: dict[str, str] = {}

    def wait_then(check: object, action: object, tries: int = 200) -> None:
        # Poll every 50 ms until ``check()``; a stuck step fails instead of hanging.
        def poll(left: int = tries) -> None:
            if check():  # type: ignore[operator]
                action()  # type: ignore[operator]
            elif left <= 0:
                print("make_screenshots: timed out", file=sys.stderr)
                status["code"] = 1
                window.close()
            else:
                QTimer.singleShot(50, lambda: poll(left - 1))

        poll()

    def save(name: str) -> None:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not save_png(window.grab().toImage(), path):
            status["code"] = 2
        print(f"saved {path} ({path.stat().st_size} bytes)", file=sys.stderr)

    def wipe() -> None:
        window.set_mode(CompareMode.WIPE)
        window.compare.wipe_slider.setValue(560)
        wait_then(
            lambda: window.compare.overlay.painted_keys != (),
            lambda: QTimer.singleShot(300, after_wipe),
        )

    def aligned_pick() -> str | None:
        # A copy whose evidence maps it onto its reference (a crop or a mirror shows best).
        best: tuple[int, str] | None = None
        for item in parts.session.items:
            for f in item.findings:
                if f.kind != "near_copy_of_reference" or not alignments((f,)):
                    continue
                mirrored = f.evidence.get("mirrored") is True
                rank = 0 if mirrored else 1
                if best is None or rank < best[0]:
                    best = (rank, item.rel)
        return best[1] if best else None

    def after_wipe() -> None:
        save("compare-wipe.png")
        rel = aligned_pick()
        if rel is None or not window.select_asset(rel):
            print("make_screenshots: no copy with geometric evidence", file=sys.stderr)
            status["code"] = 1
            batch()
            return
        state["copy"] = rel
        window.set_mode(CompareMode.DIFFERENCE)
        wait_then(
            lambda: (
                window.compare.asset_painted_now
                and window.compare.reference_ready
                and window.compare.overlay.aligned
            ),
            lambda: QTimer.singleShot(300, after_difference),
        )

    def after_difference() -> None:
        save("compare-difference.png")
        batch()

    def batch() -> None:
        from PySide6.QtCore import QItemSelectionModel

        window.set_mode(CompareMode.SIDE_BY_SIDE)
        window.set_filter(QueueFilter.ALL)
        sm = window.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        first = window.proxy.index(2, 0)
        sm.setCurrentIndex(first, flags | QItemSelectionModel.SelectionFlag.Clear)
        for row in (3, 4, 6):
            sm.select(window.proxy.index(row, 0), flags)
        window.table.scrollToTop()
        wait_then(
            lambda: window.compare.asset_painted_now,
            lambda: QTimer.singleShot(300, after_batch),
        )

    def after_batch() -> None:
        save("batch.png")
        rel = state.get("copy") or window.current_item().rel
        window.acts["simple"].trigger()
        window.select_asset(rel)
        wait_then(
            lambda: window.simple_compare.asset_painted_now,
            lambda: QTimer.singleShot(300, after_simple),
        )

    def after_simple() -> None:
        save("simple.png")
        window.close()

    # First the same state as review.png (throwaway file), then the other two from there.
    install_screenshot(
        window, parts.session, tmp / "review.png", status, pick=review_pick, then=wipe
    )
    window.open_workspace(demo)
    window.show()
    try:
        app.exec()
    finally:
        parts.shutdown()
    return status["code"]


if __name__ == "__main__":
    raise SystemExit(main())
