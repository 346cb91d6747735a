"""What the compare views show: the asset on screen beside its pictures, and how.

One object per window, on the GUI thread. It puts the current asset of the visible page into that
page's compare view with the pictures to compare it with (:mod:`.references`), its evidence
and face boxes, fills the findings panel and simple mode's likeness line, prefetches the
neighbours once the asset is sharp, opens a finding's evidence pair, verifies a pair on demand,
and applies the view commands (mode, flip, swap, evidence regions, face boxes) to both views.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction

from twinreview.core.errors import one_line
from twinreview.ui.backend import PairVerification
from twinreview.ui.bridge import PREFETCH
from twinreview.ui.compare_view import CompareMode, CompareView, PairKey
from twinreview.ui.evidence import alignment_from, alignments, region_only
from twinreview.ui.faces import face_boxes, likeness_of
from twinreview.ui.findings_panel import FindingsPanel
from twinreview.ui.items import AssetItem
from twinreview.ui.loader import ThumbnailProvider
from twinreview.ui.page import AssetPage
from twinreview.ui.plain import likeness_sentence
from twinreview.ui.references import RefEntry, ReferencePresenter
from twinreview.ui.session import ReviewSession
from twinreview.ui.simple_page import SimplePage
from twinreview.ui.window_texts import model_names, you_models

_log = logging.getLogger(__name__)

_MODE_ACTION = {
    CompareMode.SIDE_BY_SIDE: "side",
    CompareMode.WIPE: "wipe",
    CompareMode.DIFFERENCE: "difference",
}


class CompareFlow(QObject):
    """Shows the current asset in the visible page's compare view.

    Signals:
        asset_shown(str): an asset (relative path) has been painted in the visible compare view
            for the first time (a quick draft of a large JPEG counts).
        asset_sharp(str): the asset has been painted from its display-sized decode.
    """

    asset_shown = Signal(str)
    asset_sharp = Signal(str)

    def __init__(
        self,
        session: ReviewSession,
        thumbnails: ThumbnailProvider,
        pages: tuple[AssetPage, SimplePage],
        findings: FindingsPanel,
        acts: Mapping[str, QAction],
        page: Callable[[], AssetPage],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._thumbnails = thumbnails
        self._review, self._simple = pages
        self._findings = findings
        self._acts = acts
        self._page = page
        #: What each asset is compared with, and which picture comes first (no Qt).
        self.references = ReferencePresenter(lambda: session.workspace, lambda: session.scan_result)
        #: The asset on screen (its rel), None when the view is empty.
        self.current_rel: str | None = None
        for p in pages:
            view = p.view
            view.asset_painted.connect(lambda rel, v=view: self._on_painted(v, rel))
            view.asset_sharp.connect(lambda rel, v=view: self._on_sharp(v, rel))
            view.alignment_wanted.connect(lambda key, v=view: self._verify_pair(v, key))
        findings.evidence_requested.connect(self.open_evidence)

    @property
    def views(self) -> tuple[CompareView, CompareView]:
        """The review page's and simple mode's compare views."""
        return self._review.view, self._simple.view

    def view(self) -> CompareView:
        """The compare view of the visible page."""
        return self._page().view

    def clear(self) -> None:
        """Forget what was shown (another workspace is open)."""
        self.current_rel = None
        for view in self.views:
            view.clear()
        self._findings.show_item(None)

    def show(
        self, item: AssetItem | None, *, keep_reference: bool = False, empty: str = ""
    ) -> None:
        """Show ``item`` in the visible view (None: the ``empty`` message)."""
        view = self.view()
        if item is None:
            self.current_rel = None
            view.clear(empty)
            self._findings.show_item(None)
            return
        same = item.rel == self.current_rel and view.asset_rel == item.rel
        self.current_rel = item.rel
        refs = self._references(item, view)
        # New scan results may bring evidence or distances: then the strip (and the preselected
        # best match) changes; otherwise keep what the reviewer picked.
        if not (same and keep_reference and refs == view.references):
            view.show_asset(
                item.ref.path,
                item.rel,
                item.ref.path.name,
                refs,
                self.references.preselect(refs),
            )
        self._show_likeness(view, item)
        self._findings.show_item(item)
        if view.asset_painted_now:
            self._prefetch_neighbours()
        # Otherwise prefetching starts once this asset is sharp on screen (_on_sharp).

    def _references(self, item: AssetItem, view: CompareView) -> list[RefEntry]:
        """What ``item`` is compared with in ``view``; in simple mode only her own pictures.

        A model reviewing her twin is never shown another model's real photo (nor another
        model's generated image): the evidence of a copy of someone else is said in words.
        """
        refs = self.references.references_for(item)
        if view is not self._simple.view:
            return refs
        own = (f"models/{item.ref.model_id}/", f"assets/{item.ref.model_id}/")
        return [r for r in refs if r.rel.startswith(own)]

    def _prefetch_neighbours(self) -> None:
        page = self._page()
        view = page.view
        for delta in (1, -1):
            item = page.neighbour(delta)
            if item is None:
                continue
            view.prefetch(item.ref.path)
            refs = self._references(item, view)
            best = self.references.preselect(refs)
            ref = next((r for r in refs if r.rel == best), None)
            if ref is not None:
                view.prefetch(ref.path)
            self._thumbnails.get(item.ref.path)

    def open_evidence(self, rel: str) -> None:
        """Show the asset beside the evidence ``rel`` (a reference or another asset)."""
        page = self._page()
        item = page.current_item()
        view = page.view
        if item is None or self._session.workspace is None:
            return
        if rel not in {r.rel for r in view.references}:
            entry = self.references.evidence_entry(rel)
            refs = [entry, *view.references] if entry is not None else view.references
            view.show_asset(item.ref.path, item.rel, item.ref.path.name, refs, rel)
        else:
            view.select_reference(rel)
        if page is self._review:
            self.set_mode(CompareMode.SIDE_BY_SIDE)

    def compare_selection(self, items: list[AssetItem]) -> str:
        """Show the two selected assets side by side (the first on the left).

        Returns:
            What to say in the status line: what is compared, or what to select first.
        """
        if len(items) != 2:
            return "Select two assets (Ctrl + click) to compare them."
        a, b = items
        self.compare_two(a, b)
        return f"Comparing {a.ref.path.name} with {b.ref.path.name}"

    def compare_two(self, a: AssetItem, b: AssetItem) -> None:
        """Show ``a`` beside ``b``, side by side, in the review page's view."""
        view = self._review.view
        view.show_asset(
            a.ref.path,
            a.rel,
            a.ref.path.name,
            [RefEntry(b.ref.path, b.rel, b.ref.path.name, None, "The other selected asset")],
            b.rel,
        )
        view.set_faces((), {})
        view.set_evidence({})
        self.set_mode(CompareMode.SIDE_BY_SIDE)

    def _on_painted(self, view: CompareView, rel: str) -> None:
        if rel == self.current_rel and view is self.view():
            self.asset_shown.emit(rel)

    def _on_sharp(self, view: CompareView, rel: str) -> None:
        if rel == self.current_rel and view is self.view():
            self.asset_sharp.emit(rel)
            # Only now: decoding the neighbours earlier would compete for the cores with the
            # decode the reviewer waits for.
            self._prefetch_neighbours()

    # -- view commands --------------------------------------------------------------------------

    def set_mode(self, mode: CompareMode) -> None:
        """Side by side, wipe or difference (the review page's view)."""
        self._review.view.set_mode(mode)
        self._acts[_MODE_ACTION[mode]].setChecked(True)

    def flip(self) -> None:
        """Mirror the reference in place."""
        view = self.view()
        view.toggle_mirror()
        self._acts["flip"].setChecked(view.mirrored)

    def swap(self) -> None:
        """Show the reference in the asset's place and back."""
        view = self.view()
        view.toggle_swap()
        self._acts["swap"].setChecked(view.swapped)

    def toggle_faces(self) -> None:
        """Face boxes on or off, in both views."""
        show = self._acts["faces"].isChecked()
        for view in self.views:
            view.set_show_faces(show)

    def toggle_evidence(self) -> None:
        """Evidence regions on or off, in both views."""
        show = self._acts["evidence"].isChecked()
        for view in self.views:
            view.set_show_evidence(show)

    def forget_verified(self) -> None:
        """A finished scan: alignments verified on demand may be out of date."""
        for view in self.views:
            view.forget_verified()

    # -- likeness and on-demand verification ------------------------------------------------------

    def _show_likeness(self, view: CompareView, item: AssetItem) -> None:
        view.set_evidence(
            alignments(item.findings),
            {
                ref: region
                for f in item.findings
                if isinstance(ref := f.evidence.get("reference"), str)
                and (region := region_only(f.evidence)) is not None
            },
        )
        lk = likeness_of(item.result)
        names = model_names(self._session.workspace)
        view.set_faces(*face_boxes(lk, names, simple=view is self._simple.view))
        self._findings.model_names = names
        self._findings.you_models = you_models(self._session.identity)
        # Simple mode speaks to the model in her words (ui.plain), as its finding sentences do.
        identity = self._session.identity
        you = identity is None or identity.role == "model"
        text = likeness_sentence(lk, names, you=you) if lk is not None else ""
        self._simple.likeness.setText(text)
        self._simple.likeness.setVisible(bool(text))

    def _verify_pair(self, view: CompareView, key: PairKey) -> None:
        """Verify the pair on screen, whose evidence has no alignment, and align with it."""
        ws = self._session.workspace
        ref = view.reference
        if ws is None or ref is None:
            view.set_verified(key, None)
            return
        item = self._page().current_item()
        # The hashes' orientation goes first, so a mirrored copy is matched on the first try.
        mirrored = item is not None and any(
            f.evidence.get("reference") == ref.rel and f.evidence.get("mirrored") is True
            for f in item.findings
        )

        def done(v: PairVerification | None) -> None:
            found = None
            if v is not None and v.homography is not None:
                found = alignment_from(
                    {"homography": v.homography, "inliers": v.inliers, "mirrored": v.mirrored}
                )
            view.set_verified(key, found)

        def failed(exc: BaseException) -> None:
            # The fitted view stays; nothing to tell the reviewer about.
            _log.info("on-demand verification of %s failed: %s", key, one_line(exc))
            view.set_verified(key, None)

        self._session.bridge.submit(
            self._session.backend.verify_pair,
            ws,
            key[0],
            key[1],
            mirrored,
            on_done=done,
            on_error=failed,
            priority=PREFETCH,
        )
