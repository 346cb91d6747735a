"""The compare view: an asset beside its model's references, zoom and pan synced.

Modes: side by side (two canvases sharing one :class:`~twinreview.ui.canvas.ViewState`), wipe (one
canvas, a divider between asset and reference) and difference (``|asset - reference|``). When the
reference is the evidence of a verified copy, wipe and difference draw it through the evidence's
mapping (a crop lines up, a mirror is mirrored back) and both sides outline where each image lies
in the other. Flip mirrors the reference in place; swap shows it in the asset's place (blink).
Zoom and pan are kept when the next asset is shown.
"""

from __future__ import annotations

import enum
from pathlib import Path

import shiboken6
from PySide6.QtCore import QPointF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QIcon, QImage, QPainter, QPixmap, QScreen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from twinreview.ui.bridge import PREFETCH, URGENT
from twinreview.ui.canvas import CanvasMode, ImageCanvas, ViewState
from twinreview.ui.evidence import MIRROR, Alignment, Matrix, Point, multiply
from twinreview.ui.faces import FaceBox
from twinreview.ui.images import Decoded
from twinreview.ui.loader import ImageLoader, Key, ThumbnailProvider
from twinreview.ui.references import RefEntry
from twinreview.ui.resources import icon

_MAX_BOUND = 4096
# Pairs verified on demand kept per view (a few bytes each; cleared when full).
_MAX_VERIFIED = 256

#: A pair the compare view shows: (asset path, reference path).
PairKey = tuple[Path, Path]


class CompareMode(enum.Enum):
    """How asset and reference are shown."""

    SIDE_BY_SIDE = "side by side"
    WIPE = "wipe"
    DIFFERENCE = "difference"


def square_pixmap(pixmap: QPixmap, size: QSize) -> QPixmap:
    """``pixmap`` centred on a transparent square of ``size``: every strip cell lays out alike.

    A thumbnail that is not square puts its cell's label at another height than the
    placeholder's did, and than its neighbours' labels.
    """
    dpr = pixmap.devicePixelRatio()
    side = max(size.width(), size.height())
    out = QPixmap(round(side * dpr), round(side * dpr))
    out.setDevicePixelRatio(dpr)
    out.fill(Qt.GlobalColor.transparent)
    w, h = pixmap.width() / dpr, pixmap.height() / dpr
    painter = QPainter(out)
    painter.drawPixmap(QPointF((side - w) / 2, (side - h) / 2), pixmap)
    painter.end()
    return out


def _inside(region: tuple[Point, ...] | None, margin: float = 0.05) -> tuple[Point, ...] | None:
    if region is None:
        return None
    ok = all(-margin <= x <= 1 + margin and -margin <= y <= 1 + margin for x, y in region)
    return region if ok else None


def display_bound(widget: QWidget) -> QSize:
    """The size, in device pixels, display images are decoded and cached at: the screen's."""
    screen: QScreen | None = widget.screen() or QGuiApplication.primaryScreen()
    if screen is None:  # no screen at all (shutting down)
        return QSize(1920, 1080)
    size = screen.size() * screen.devicePixelRatio()
    return QSize(min(_MAX_BOUND, max(640, size.width())), min(_MAX_BOUND, max(480, size.height())))


class CompareView(QWidget):
    """Asset beside references, with a reference strip, modes, flip, wipe slider.

    Signals:
        reference_changed(str): the selected reference (relative path) changed.
        asset_painted(str): the asset (relative path) has been painted for the first time, as a
            quick draft of a large JPEG or at display size, whichever came first.
        asset_sharp(str): the asset has been painted from its display-sized decode.
        zoom_changed(float): shared zoom, relative to fit.
        alignment_wanted(tuple): wipe or difference shows a pair (asset path, reference path)
            whose evidence has no alignment; answer with :meth:`set_verified`.
    """

    reference_changed = Signal(str)
    asset_painted = Signal(str)
    asset_sharp = Signal(str)
    zoom_changed = Signal(float)
    alignment_wanted = Signal(object)

    def __init__(
        self,
        loader: ImageLoader,
        thumbnails: ThumbnailProvider,
        *,
        simple: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._loader = loader
        self._thumbnails = thumbnails
        self._simple = simple
        self.state = ViewState(self)
        self.mode = CompareMode.SIDE_BY_SIDE
        self.swapped = False
        self._asset: tuple[Path, str, str] | None = None
        self._refs: list[RefEntry] = []
        self._ref: RefEntry | None = None
        self._asset_img: Decoded | None = None
        self._ref_img: Decoded | None = None
        self._asset_key: Key | None = None
        self._ref_key: Key | None = None
        self._painted_rel: str | None = None
        self._sharp_rel: str | None = None
        self._bound: QSize | None = None
        self._bound_screen: QScreen | None = None
        self._asset_faces: tuple[FaceBox, ...] = ()
        self._ref_faces: dict[str, tuple[FaceBox, ...]] = {}
        self.show_faces = True
        self.mirrored = False
        self._alignments: dict[str, Alignment] = {}
        self._ref_regions: dict[str, tuple[Point, ...]] = {}
        # Pairs verified on demand (None: no transform), and the pairs asked for.
        self._verified: dict[PairKey, Alignment | None] = {}
        self._asked: set[PairKey] = set()
        # Asks once the view has settled: show_asset refreshes before the new evidence is set.
        self._want_timer = QTimer(self)
        self._want_timer.setSingleShot(True)
        self._want_timer.setInterval(0)
        self._want_timer.timeout.connect(self._want_alignment)
        self.show_evidence = True
        self._mirror_cache: tuple[int, QImage] | None = None

        self.left = ImageCanvas(self.state)
        self.right = ImageCanvas(self.state)
        self.overlay = ImageCanvas(self.state)
        for c, tip in (
            (
                self.left,
                "The generated asset. Wheel: zoom; drag or arrows: pan; Shift: this side alone",
            ),
            (
                self.right,
                "The reference photo. Wheel: zoom; drag or arrows: pan; Shift: this side alone",
            ),
            (
                self.overlay,
                "Asset and reference in one view. Drag the divider to wipe between them",
            ),
        ):
            c.setToolTip(tip)
            c.painted.connect(self._on_canvas_painted)
        self.overlay.wipe_moved.connect(self._on_wipe_dragged)

        self._split = QSplitter(Qt.Orientation.Horizontal)
        self._split.addWidget(self.left)
        self._split.addWidget(self.right)
        self._split.setChildrenCollapsible(False)
        self._stack = QStackedWidget()
        self._stack.addWidget(self._split)
        self._stack.addWidget(self.overlay)

        self.wipe_slider = QSlider(Qt.Orientation.Horizontal)
        self.wipe_slider.setRange(0, 1000)
        self.wipe_slider.setValue(500)
        self.wipe_slider.setToolTip(
            "Wipe: how much of the asset (left) versus the reference (right) shows"
        )
        self.wipe_slider.valueChanged.connect(self._on_wipe_slider)
        self.wipe_label = QLabel("Wipe")
        self.wipe_label.setToolTip(self.wipe_slider.toolTip())
        self.zoom_label = QLabel("Fit")
        self.zoom_label.setToolTip("Zoom relative to fitting the whole image (0: fit, 1: 100 %)")
        self.zoom_label.setMinimumWidth(
            self.zoom_label.fontMetrics().horizontalAdvance("Zoom 6400 %") + 8
        )
        self.mode_label = QLabel()
        self.mode_label.setToolTip(
            "Current compare mode (S: side by side, W: wipe, D: difference, X: flip)"
        )

        self.strip = QListWidget()
        self.strip.setViewMode(QListView.ViewMode.IconMode)
        self.strip.setFlow(QListView.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setMovement(QListView.Movement.Static)
        self.strip.setIconSize(thumbnails.size)
        self.strip.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.strip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        fm = self.strip.fontMetrics()
        self.strip.setFixedHeight(thumbnails.size.height() + 2 * fm.height() + 24)
        # Wide enough for a typical file name under the thumbnail (longer ones are elided).
        cell = max(thumbnails.size.width() + 28, fm.horizontalAdvance("reference-01.jpeg") + 12)
        self.strip.setGridSize(QSize(cell, thumbnails.size.height() + 2 * fm.height() + 8))
        self.strip.setToolTip(
            "References to compare with; the best match is selected first ([ and ] to step)"
        )
        self.strip.currentRowChanged.connect(self._on_strip_row)
        self.strip.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._strip_items: dict[str, QListWidgetItem] = {}
        thumbnails.thumbnail_ready.connect(self._on_thumbnail)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)
        bar.addWidget(self.mode_label)
        bar.addStretch(1)
        bar.addWidget(self.wipe_label)
        bar.addWidget(self.wipe_slider, 1)
        bar.addWidget(self.zoom_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.strip)
        if simple:
            self.strip.hide()
            self.mode_label.hide()
        loader.image_ready.connect(self._on_image_ready)
        self.state.changed.connect(self._on_state_changed)
        self._update_mode_widgets()

    # -- content --------------------------------------------------------------------------------

    @property
    def asset_rel(self) -> str | None:
        """The asset shown."""
        return self._asset[1] if self._asset else None

    @property
    def reference(self) -> RefEntry | None:
        """The reference shown."""
        return self._ref

    @property
    def asset_painted_now(self) -> bool:
        """True when the current asset has been painted at display size (not just a draft)."""
        return self._asset is not None and self._sharp_rel == self._asset[1]

    @property
    def reference_ready(self) -> bool:
        """True when the selected reference has been decoded (or failed to)."""
        return self._ref is not None and self._ref_img is not None

    @property
    def references(self) -> list[RefEntry]:
        """The references offered in the strip."""
        return list(self._refs)

    def bound(self) -> QSize:
        """Decode size for display images (the screen's, in device pixels; cached)."""
        screen = self.screen()
        if self._bound is None or screen is not self._bound_screen:
            self._bound = display_bound(self)
            self._bound_screen = screen
        return self._bound

    def show_asset(
        self, path: Path, rel: str, label: str, refs: list[RefEntry], preselect: str | None = None
    ) -> None:
        """Show an asset with its references; ``preselect`` (a ref's rel) or the best match first.

        Zoom and pan are kept; a side moved alone is lined up again.
        """
        self._asset = (path, rel, label)
        self._painted_rel = None
        self._sharp_rel = None
        self.left.reset_local()
        self.right.reset_local()
        self.overlay.reset_local()
        bound = self.bound()
        self._asset_key = None
        self._asset_img = self._loader.cached(path, bound)
        if self._asset_img is None:
            self._asset_key = self._loader.request(path, bound, URGENT, progressive=True)
        self._refs = [r for r in refs if r.path != path]
        self._rebuild_strip()
        chosen = preselect if preselect is not None else self._best_rel()
        self.select_reference(chosen)
        self._refresh()

    def set_faces(
        self, asset: tuple[FaceBox, ...], references: dict[str, tuple[FaceBox, ...]]
    ) -> None:
        """Face boxes to outline on the asset, and on the references (by rel) a face matched."""
        self._asset_faces = asset
        self._ref_faces = dict(references)
        self._refresh()

    def set_show_faces(self, show: bool) -> None:
        """Outline faces or not."""
        self.show_faces = show
        self._refresh()

    def clear(self, message: str = "Select an asset in the queue") -> None:
        """Show nothing."""
        self._asset = None
        self._asset_faces = ()
        self._ref_faces = {}
        self._alignments = {}
        self._ref_regions = {}
        for c in (self.left, self.right, self.overlay):
            c.set_region(None)
        self.overlay.set_alignment(None)
        for c in (self.left, self.right):
            c.set_boxes(())
        self._refs = []
        self._ref = None
        self._asset_img = None
        self._ref_img = None
        self._rebuild_strip()
        for c in (self.left, self.right, self.overlay):
            c.set_images(QImage(), message=message)

    def select_reference(self, rel: str | None) -> None:
        """Compare with the reference ``rel`` (None: none).

        The asset's own file is never its reference: the reference pane would show the asset
        under a reference's caption.
        """
        entry = next((r for r in self._refs if r.rel == rel), None)
        if entry is None and self._refs and rel is None:
            entry = self._refs[0]
        if entry is not None and self._asset is not None and entry.path == self._asset[0]:
            entry = None
        self._ref = entry
        self._ref_img = None
        self._ref_key = None
        if entry is not None:
            bound = self.bound()
            self._ref_img = self._loader.cached(entry.path, bound)
            if self._ref_img is None:
                self._ref_key = self._loader.request(entry.path, bound, URGENT, progressive=True)
            row = self._refs.index(entry)
            if self.strip.currentRow() != row:
                self.strip.blockSignals(True)
                self.strip.setCurrentRow(row)
                self.strip.blockSignals(False)
            self.strip.scrollToItem(self.strip.item(row))
        self._refresh()
        self.reference_changed.emit(entry.rel if entry else "")

    def prefetch(self, path: Path) -> None:
        """Decode ``path`` at display size ahead of need."""
        self._loader.request(path, self.bound(), PREFETCH)

    def _best_rel(self) -> str | None:
        known = [r for r in self._refs if r.distance is not None]
        if known:
            return min(known, key=lambda r: r.distance if r.distance is not None else 1 << 30).rel
        return self._refs[0].rel if self._refs else None

    def _rebuild_strip(self) -> None:
        self.strip.blockSignals(True)
        self.strip.clear()
        self._strip_items.clear()
        for r in self._refs:
            text = r.label if r.distance is None else f"{r.label}\ndistance {r.distance}"
            item = QListWidgetItem(self._thumb_icon(r.path), text)
            tip = r.rel
            if r.distance is not None:
                tip += f"\nHash distance {r.distance} (lower: more alike)"
            if r.why:
                tip += f"\n{r.why}"
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.UserRole, r.rel)
            self.strip.addItem(item)
            self._strip_items[str(r.path)] = item
        self.strip.blockSignals(False)
        if not self._simple:
            self.strip.setVisible(bool(self._refs))

    def _thumb_icon(self, path: Path) -> QIcon:
        pixmap = self._thumbnails.get(path)
        if pixmap is None:
            return icon("placeholder")
        if pixmap.isNull():
            return icon("broken")
        return QIcon(square_pixmap(pixmap, self.strip.iconSize()))

    def _on_thumbnail(self, path: str) -> None:
        item = self._strip_items.get(path)
        if item is not None:
            item.setIcon(self._thumb_icon(Path(path)))
            # The view repaints only the cell's new rectangle: had the icon moved the label, the
            # one painted under the placeholder would stay on screen. A strip is a few cells.
            self.strip.viewport().update()

    def _on_strip_row(self, row: int) -> None:
        if 0 <= row < len(self._refs):
            self.select_reference(self._refs[row].rel)

    def _on_image_ready(self, key: Key, decoded: Decoded) -> None:
        # A draft keeps the key: the display-sized image is still on its way.
        if key == self._asset_key:
            self._asset_img = decoded
            if not decoded.preview:
                self._asset_key = None
            self._refresh()
        # The reference pane's image and caption come from one entry: an image decoded for
        # another file never lands under this caption.
        if key == self._ref_key and self._ref is not None and key[0] == str(self._ref.path):
            self._ref_img = decoded
            if not decoded.preview:
                self._ref_key = None
            self._refresh()

    # -- modes and navigation -------------------------------------------------------------------

    def set_mode(self, mode: CompareMode) -> None:
        """Side by side, wipe or difference."""
        self.mode = mode
        self._update_mode_widgets()
        self._refresh()

    def toggle_swap(self) -> None:
        """Swap asset and reference in place (nothing moves), for blink comparison."""
        self.swapped = not self.swapped
        self._update_mode_widgets()
        self._refresh()

    def toggle_mirror(self) -> None:
        """Flip: mirror the reference left-right in place (a mirrored copy then lines up)."""
        self.mirrored = not self.mirrored
        self._update_mode_widgets()
        self._refresh()

    def set_evidence(
        self,
        alignments: dict[str, Alignment],
        regions: dict[str, tuple[Point, ...]] | None = None,
    ) -> None:
        """The copy evidence per reference: alignments, and regions on references without one."""
        self._alignments = dict(alignments)
        self._ref_regions = dict(regions or {})
        self._update_mode_widgets()
        self._refresh()

    def set_show_evidence(self, show: bool) -> None:
        """Outline the evidence regions on both images or not."""
        self.show_evidence = show
        self._refresh()

    @property
    def alignment(self) -> Alignment | None:
        """The alignment of the selected reference: its evidence's, else one verified on demand."""
        if self._ref is None:
            return None
        found = self._alignments.get(self._ref.rel)
        key = self.pair_key
        if found is None and key is not None:
            found = self._verified.get(key)
        return found

    @property
    def pair_key(self) -> PairKey | None:
        """The pair shown: (asset path, reference path), None without both."""
        if self._asset is None or self._ref is None:
            return None
        return (self._asset[0], self._ref.path)

    def set_verified(self, key: PairKey, alignment: Alignment | None) -> bool:
        """The on-demand verification of ``key`` (None: it placed no transform).

        Returns:
            False when the view has moved on to another pair: the answer is dropped (and the
            pair asked again if it is shown again).
        """
        self._asked.discard(key)
        if key != self.pair_key:
            return False
        if len(self._verified) >= _MAX_VERIFIED:
            self._verified.clear()
        self._verified[key] = alignment
        if alignment is not None:
            self._refresh()
        return True

    def forget_verified(self) -> None:
        """Drop the alignments verified on demand: the files may have changed since (a rescan).

        The pair on screen, if it needs one, is asked for again.
        """
        self._verified.clear()
        self._asked.clear()
        QTimer.singleShot(0, self._want_alignment)

    def _want_alignment(self) -> None:
        if not shiboken6.isValid(self):
            return  # deleted before this deferred turn came
        key = self.pair_key
        # Only wipe and difference draw through an alignment; side by side never asks, so
        # stepping through the queue costs no verification.
        if key is None or self.mode is CompareMode.SIDE_BY_SIDE or self.alignment is not None:
            return
        if key in self._verified or key in self._asked:
            return
        self._asked.add(key)
        self.alignment_wanted.emit(key)

    def fit(self) -> None:
        """Whole image, both sides lined up again."""
        for c in (self.left, self.right, self.overlay):
            c.reset_local()
        self.state.fit()

    def actual_size(self) -> None:
        """One asset pixel per screen pixel (100 %), about the current centre."""
        canvas = self._active_canvas()
        self.state.set(canvas.zoom_for_actual_pixels(), self.state.center)

    def zoom_by(self, factor: float) -> None:
        """Zoom about the centre."""
        self.state.set(self.state.zoom * factor, self.state.center)

    def step_reference(self, delta: int) -> None:
        """Select the next (+1) or previous (-1) reference in the strip."""
        if not self._refs:
            return
        i = self._refs.index(self._ref) if self._ref in self._refs else -1
        self.select_reference(self._refs[(i + delta) % len(self._refs)].rel)

    def nudge_wipe(self, delta: float) -> None:
        """Move the wipe divider by ``delta`` (fraction of the width)."""
        self.wipe_slider.setValue(round((self.overlay.wipe + delta) * 1000))

    def pan(self, dx: float, dy: float, *, local: bool = False) -> None:
        """Pan (``local``: the reference side alone)."""
        canvas = (
            self.right if local and self.mode is CompareMode.SIDE_BY_SIDE else self._active_canvas()
        )
        canvas.pan_by(dx, dy, local=local)

    def focus_target(self) -> ImageCanvas:
        """The image that takes the keyboard (arrows pan it)."""
        return self._active_canvas()

    def _active_canvas(self) -> ImageCanvas:
        return self.left if self.mode is CompareMode.SIDE_BY_SIDE else self.overlay

    def _update_mode_widgets(self) -> None:
        side = self.mode is CompareMode.SIDE_BY_SIDE
        self._stack.setCurrentIndex(0 if side else 1)
        self.overlay.set_mode(
            CanvasMode.WIPE if self.mode is CompareMode.WIPE else CanvasMode.DIFFERENCE
        )
        wipe = self.mode is CompareMode.WIPE and not self._simple
        self.wipe_slider.setVisible(wipe)
        self.wipe_label.setVisible(wipe)
        text = self.mode.value.capitalize()
        if self.mode is not CompareMode.SIDE_BY_SIDE and self.alignment is not None:
            by_evidence = self._ref is not None and self._ref.rel in self._alignments
            text += (
                " · aligned by the evidence" if by_evidence else " · aligned by matching features"
            )
        if self.mirrored:
            text += " · reference flipped"
        if self.swapped:
            text += " · swapped"
        self.mode_label.setText(text)
        self._want_timer.start()

    def _on_wipe_slider(self, value: int) -> None:
        self.overlay.wipe = value / 1000
        self.overlay.update()

    def _on_wipe_dragged(self, value: float) -> None:
        self.wipe_slider.blockSignals(True)
        self.wipe_slider.setValue(round(value * 1000))
        self.wipe_slider.blockSignals(False)

    def _on_state_changed(self) -> None:
        z = self.state.zoom
        actual = self._active_canvas().zoom_for_actual_pixels()
        self.zoom_label.setText("Fit" if abs(z - 1) < 1e-3 else f"Zoom {round(100 * z / actual)} %")
        self.zoom_changed.emit(z)

    # -- painting -------------------------------------------------------------------------------

    def _words(self, label: str) -> tuple[str, str, str, str, str]:
        """The two captions, then the messages while each side loads and when there is no photo.

        Simple mode names the files only: the page's header already says, in the model's words,
        what each side is ("your photo chelsea.jpg"), and "asset" and "reference" are our words.
        """
        ref = self._ref.label if self._ref else ""
        if self._simple:
            return label, ref, "Loading…", "Loading…", "No photo to compare with"
        # Another generated image (a duplicate, a rejected one, the second of "Compare two") is
        # an asset too, not a reference photo.
        other = "Other asset" if self._ref and self._ref.rel.startswith("assets/") else "Reference"
        return (
            f"Asset: {label}",
            f"{other}: {ref}" if self._ref else "No reference",
            "Loading asset…",
            "Loading reference…",
            "This model has no reference photos",
        )

    def _refresh(self) -> None:
        if self._asset is None:
            return
        _, rel, label = self._asset
        a_cap, r_cap, a_wait, r_wait, r_none = self._words(label)
        a_img, a_msg = self._image_and_message(self._asset_img, a_wait)
        r_img, r_msg = self._image_and_message(self._ref_img, r_wait if self._ref else r_none)
        if self._asset_img is not None and self._asset_img.source_size.isValid():
            frame = self._asset_img.source_size
            for c in (self.left, self.right, self.overlay):
                c.set_frame(frame)
        # Flip mirrors the reference in place; the evidence's mapping follows it.
        alignment = self.alignment
        to_asset: Matrix | None = alignment.to_asset if alignment is not None else None
        r_region = alignment.region_on_reference() if alignment is not None else None
        a_region = alignment.region_on_asset() if alignment is not None else None
        if alignment is None and self._ref is not None:
            r_region = self._ref_regions.get(self._ref.rel)
        if self.mirrored and not r_img.isNull():
            r_img = self._mirror(r_img)
            r_cap += " (flipped)"
            if to_asset is not None:
                to_asset = multiply(to_asset, MIRROR)
            if r_region is not None:
                r_region = tuple((1.0 - x, y) for x, y in r_region)
        # A region is worth outlining where it lies inside its image (the crop box on the
        # original; the original's place in a letterboxed or shrunk copy), not far outside it.
        r_region, a_region = _inside(r_region), _inside(a_region)
        if not self.show_evidence:
            r_region = a_region = None
        first, second = (a_img, r_img), (a_cap, r_cap)
        msgs = (a_msg, r_msg)
        regions = (a_region, r_region)
        if self.swapped:
            first, second, msgs = (r_img, a_img), (r_cap, a_cap), (r_msg, a_msg)
            regions = (r_region, a_region)
            to_asset = None  # the reference fills the frame now: fitted, not mapped
        self.left.set_images(first[0], caption=second[0], message=msgs[0])
        self.right.set_images(first[1], caption=second[1], message=msgs[1])
        self.overlay.set_images(
            first[0], first[1], caption=second[0], secondary_caption=second[1], message=msgs[0]
        )
        self.overlay.set_alignment(to_asset)
        self.left.set_region(regions[0])
        self.right.set_region(regions[1])
        self.overlay.set_region(regions[0])
        self._update_mode_widgets()
        a_faces = self._asset_faces if self.show_faces else ()
        r_faces = self._ref_faces.get(self._ref.rel, ()) if self._ref and self.show_faces else ()
        if self.swapped:
            a_faces, r_faces = r_faces, a_faces
        self.left.set_boxes(a_faces)
        self.right.set_boxes(r_faces)
        if not self._simple:
            self.right.setVisible(True)
        del rel

    def _mirror(self, image: QImage) -> QImage:
        key = image.cacheKey()
        if self._mirror_cache is None or self._mirror_cache[0] != key:
            self._mirror_cache = (key, image.flipped(Qt.Orientation.Horizontal))
        return self._mirror_cache[1]

    @staticmethod
    def _image_and_message(decoded: Decoded | None, loading: str) -> tuple[QImage, str]:
        if decoded is None:
            return QImage(), loading
        if decoded.error:
            return QImage(), decoded.error
        return decoded.image, ""

    def _on_canvas_painted(self) -> None:
        if self._asset is None or self._asset_img is None:
            return
        rel = self._asset[1]
        if self._sharp_rel == rel:
            return
        if self._asset_img.error is None and not self._asset_painted():
            return  # another canvas painted (e.g. the reference side): the asset is not up yet
        if self._painted_rel != rel:
            self._painted_rel = rel
            self.asset_painted.emit(rel)
        if not self._asset_img.preview:
            self._sharp_rel = rel
            self.asset_sharp.emit(rel)

    def _asset_painted(self) -> bool:
        """True when a visible canvas has painted the current asset image."""
        assert self._asset_img is not None
        key = self._asset_img.image.cacheKey()
        canvases = (
            (self.left, self.right) if self.mode is CompareMode.SIDE_BY_SIDE else (self.overlay,)
        )
        return any(c.isVisible() and key in c.painted_keys for c in canvases)
