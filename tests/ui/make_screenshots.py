"""Make the README pictures of the review window from the demo workspace.

Run with ``uv run python tests/ui/make_screenshots.py [OUT_DIR]`` (default
``resources/screenshots``). Not collected by pytest. The demo is built in a temporary folder with
an agent's identity (:mod:`screenshots`); the app opens it at 1280x800, waits for the scan and the
statuses, and saves ``review.png`` (a pending asset with evidence), ``compare-wipe.png`` (wipe
mode), ``compare-difference.png`` (a copy in the difference view, aligned by its geometric
evidence, the evidence regions drawn) and ``batch.png`` (several assets selected for one batch
decision). ``simple.png`` is simple mode as a model sees it, on her own workspace of bundled
public-domain photos (made by ``make_review_shots.py --readme-simple`` in its own process).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from screenshots import DemoApp, Steps, demo_app, review_pick, save_png, scanned, shown


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("resources/screenshots")
    shots: DemoApp = demo_app()
    window = shots.window
    from PySide6.QtCore import QItemSelectionModel

    from twinreview.ui.compare_view import CompareMode
    from twinreview.ui.evidence import alignments
    from twinreview.ui.queue_model import QueueFilter

    window.resize(1280, 800)
    state: dict[str, str] = {}

    def save(name: str) -> None:
        path = out / name
        if not save_png(window.grab().toImage(), path):
            shots.status["code"] = 2
        print(f"saved {path} ({path.stat().st_size} bytes)", file=sys.stderr)

    def pick() -> None:
        rel = review_pick(window)
        if rel is not None:
            window.select_asset(rel)

    def aligned_pick() -> None:
        # A copy whose evidence maps it onto its reference (a crop or a mirror shows best).
        best: tuple[int, str] | None = None
        for item in shots.parts.session.items:
            for f in item.findings:
                if f.kind != "near_copy_of_reference" or not alignments((f,)):
                    continue
                rank = 0 if f.evidence.get("mirrored") is True else 1
                if best is None or rank < best[0]:
                    best = (rank, item.rel)
        if best is None:
            print("make_screenshots: no copy with geometric evidence", file=sys.stderr)
            shots.status["code"] = 1
            return
        state["copy"] = best[1]
        window.select_asset(best[1])
        window.compare_flow.set_mode(CompareMode.DIFFERENCE)

    def wipe() -> None:
        window.compare_flow.set_mode(CompareMode.WIPE)
        window.review.view.wipe_slider.setValue(560)

    def batch() -> None:
        window.compare_flow.set_mode(CompareMode.SIDE_BY_SIDE)
        window.review.set_filter(QueueFilter.ALL)
        proxy = window.review.proxy
        sm = window.review.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        sm.setCurrentIndex(proxy.index(2, 0), flags | QItemSelectionModel.SelectionFlag.Clear)
        for row in (3, 4, 6):
            sm.select(proxy.index(row, 0), flags)
        window.review.table.scrollToTop()

    view = window.review.view
    steps = (
        Steps(shots)
        .then(pick, when=scanned(shots))
        .then(lambda: save("review.png"), when=shown(shots))
        .then(wipe)
        .then(lambda: save("compare-wipe.png"), when=lambda: view.overlay.painted_keys != ())
        .then(aligned_pick)
        .then(
            lambda: save("compare-difference.png"),
            when=lambda: shown(shots)() and view.overlay.aligned,
        )
        .then(batch)
        .then(lambda: save("batch.png"), when=shown(shots))
    )
    window.open_workspace(shots.demo)
    window.show()
    code = steps.run()
    here = Path(__file__).resolve().parent
    simple = [sys.executable, str(here / "make_review_shots.py"), "--readme-simple"]
    return code or subprocess.call([*simple, str(out / "simple.png")])


if __name__ == "__main__":
    raise SystemExit(main())
