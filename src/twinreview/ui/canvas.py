"""Image canvases of the compare view, with zoom and pan shared between them.

Geometry: every canvas shows a *frame* with the asset's aspect ratio. The asset fills the frame; a
reference of another size or aspect is fitted inside it (centred), so two images of different
sizes line up by fitting. Zoom is relative to "fit" (1.0 = the frame fits the canvas) and pan is
the point of the frame, in frame-normalised coordinates, shown at the canvas centre. Both live in
one :class:`ViewState` shared by the canvases (synced zoom and pan); each canvas may add its own
offset and zoom factor (Shift + drag / wheel / arrows) to line one side up alone.
"""

from __future__ import annotations

import enum
import math

from PySide6.QtCore import QObject, QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from twinreview.ui.evidence import Matrix, Point
from twinreview.ui.faces import FaceBox

#: Outline of the evidence region (where one image lies in the other): a cyan dashed line.
EVIDENCE_COLOUR = QColor(0, 200, 255)

MIN_ZOOM = 0.1
MAX_ZOOM = 64.0
ZOOM_STEP = 1.25
PAN_STEP = 0.05  # fraction of the visible frame per arrow key


class ViewState(QObject):
    """Zoom and pan shared by the canvases; kept when the next asset is shown.

    Signals:
        changed(): zoom or pan changed.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.zoom = 1.0
        self.center = QPointF(0.5, 0.5)

    def set(self, zoom: float, center: QPointF) -> None:
        """Set zoom (relative to fit) and centre (frame-normalised), clamped."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        center = QPointF(min(1.0, max(0.0, center.x())), min(1.0, max(0.0, center.y())))
        if not math.isclose(zoom, self.zoom) or center != self.center:
            self.zoom = zoom
            self.center = center
            self.changed.emit()

    def fit(self) -> None:
        """Back to the whole frame."""
        self.set(1.0, QPointF(0.5, 0.5))


class CanvasMode(enum.Enum):
    """What one canvas paints."""

    SINGLE = "single"  # one image
    WIPE = "wipe"  # primary left of the divider, secondary right
    DIFFERENCE = "difference"  # |primary - secondary|


class ImageCanvas(QWidget):
    """Paints one or two display-sized QImages in the shared frame geometry.

    Signals:
        painted(): a paint finished (the benchmark and ``--screenshot`` use it to know that an
            asset is on screen).
        wipe_moved(float): the user dragged the wipe divider (0..1).
    """

    painted = Signal()
    wipe_moved = Signal(float)

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        state.changed.connect(self.update)
        self.mode = CanvasMode.SINGLE
        self._primary = QImage()
        self._secondary = QImage()
        self._frame_size = QSizeF(1.0, 1.0)  # aspect of the asset; source pixels for 100 %
        self._caption = ""
        self._secondary_caption = ""
        self._message = ""
        self._boxes: tuple[FaceBox, ...] = ()
        #: Secondary-image fractions -> primary-image fractions (wipe, difference), or None.
        self._alignment: Matrix | None = None
        #: An evidence region on the primary image (corners in its fractions), or None.
        self._region: tuple[Point, ...] | None = None
        self.local_offset = QPointF(0.0, 0.0)
        self.local_zoom = 1.0
        self.wipe = 0.5
        self._drag_from: QPointF | None = None
        self._drag_local = False
        self._drag_wipe = False
        #: ``QImage.cacheKey()`` of the images the last paint drew (what is on screen now).
        self.painted_keys: tuple[int, ...] = ()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 90)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)

    # -- content --------------------------------------------------------------------------------

    def set_frame(self, source_size: QSize) -> None:
        """Use the asset's full size (after EXIF orientation) as the frame."""
        if source_size.isValid() and not source_size.isEmpty():
            self._frame_size = QSizeF(source_size)
        self.update()

    def set_images(
        self,
        primary: QImage,
        secondary: QImage | None = None,
        *,
        caption: str = "",
        secondary_caption: str = "",
        message: str = "",
    ) -> None:
        """Show images (null images are allowed: then ``message`` is shown)."""
        secondary = secondary if secondary is not None else QImage()
        same = (
            primary.cacheKey() == self._primary.cacheKey()
            and secondary.cacheKey() == self._secondary.cacheKey()
            and (caption, secondary_caption, message)
            == (self._caption, self._secondary_caption, self._message)
        )
        if same:
            return  # nothing new to paint (e.g. a status update about the same asset)
        self._primary = primary
        self._secondary = secondary
        self._caption = caption
        self._secondary_caption = secondary_caption
        self._message = message
        self.update()

    def set_boxes(self, boxes: tuple[FaceBox, ...]) -> None:
        """Outline these faces on the primary image (single mode only)."""
        if boxes != self._boxes:
            self._boxes = boxes
            self.update()

    def set_alignment(self, alignment: Matrix | None) -> None:
        """Draw the secondary image through ``alignment`` instead of fitting it.

        ``alignment`` maps the secondary's fractions to the primary's: a crop lines up with its
        original, a mirror is mirrored back.
        """
        if alignment != self._alignment:
            self._alignment = alignment
            self.update()

    @property
    def aligned(self) -> bool:
        """True when the secondary image is drawn through an alignment."""
        return self._alignment is not None

    def set_region(self, region: tuple[Point, ...] | None) -> None:
        """Outline this evidence region (corners in fractions of the primary image)."""
        if region != self._region:
            self._region = region
            self.update()

    def set_mode(self, mode: CanvasMode) -> None:
        """Switch between single image, wipe and difference."""
        self.mode = mode
        self.update()

    def reset_local(self) -> None:
        """Forget this side's own offset and zoom."""
        self.local_offset = QPointF(0.0, 0.0)
        self.local_zoom = 1.0
        self.update()

    @property
    def has_image(self) -> bool:
        """True when a primary image is shown."""
        return not self._primary.isNull()

    # -- geometry -------------------------------------------------------------------------------

    def fit_scale(self) -> float:
        """Logical pixels per frame unit when zoom is 1 (the frame fits the canvas)."""
        margin = 8.0
        w = max(1.0, self.width() - 2 * margin)
        h = max(1.0, self.height() - 2 * margin)
        return min(w / self._frame_size.width(), h / self._frame_size.height())

    def zoom_for_actual_pixels(self) -> float:
        """Zoom at which one source pixel of the asset is one device pixel (100 %)."""
        return 1.0 / (self.fit_scale() * self.devicePixelRatioF())

    def frame_rect(self) -> QRectF:
        """Where the frame lands in widget coordinates."""
        scale = self.fit_scale() * self._state.zoom * self.local_zoom
        size = QSizeF(self._frame_size.width() * scale, self._frame_size.height() * scale)
        center = self._state.center + self.local_offset
        x = self.width() / 2 - center.x() * size.width()
        y = self.height() / 2 - center.y() * size.height()
        return QRectF(QPointF(x, y), size)

    @staticmethod
    def fitted(image: QImage, frame: QRectF) -> QRectF:
        """``image``'s rectangle when fitted (aspect kept) and centred in ``frame``."""
        if image.isNull() or image.width() == 0 or image.height() == 0:
            return frame
        s = min(frame.width() / image.width(), frame.height() / image.height())
        w, h = image.width() * s, image.height() * s
        return QRectF(frame.center().x() - w / 2, frame.center().y() - h / 2, w, h)

    def to_frame(self, pos: QPointF) -> QPointF:
        """Widget position -> frame-normalised coordinates."""
        r = self.frame_rect()
        return QPointF((pos.x() - r.x()) / r.width(), (pos.y() - r.y()) / r.height())

    # -- painting -------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the image(s), the wipe divider and the captions."""
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(event.rect(), pal.color(QPalette.ColorRole.Base))
        frame = self.frame_rect()
        # Smooth scaling below 100 % of the source: enlarged pixels should look like pixels when
        # inspecting a detail at 100 % and above. Measured against the source, not the decoded
        # image: a screen-sized decode (or a draft) enlarged below 100 % is a resampling, not
        # the file's pixels.
        device_width = frame.width() * self.devicePixelRatioF()
        smooth = device_width <= self._frame_size.width() * 1.01
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        if self._primary.isNull():
            self._paint_message(p, self._message or "Loading…")
            p.end()
            self.painted_keys = ()
            self.painted.emit()
            return
        primary_rect = self.fitted(self._primary, frame)
        if self.mode is CanvasMode.SINGLE or self._secondary.isNull():
            p.drawImage(primary_rect, self._primary)
            self._paint_boxes(p, primary_rect)
            self._paint_region(p, primary_rect)
        elif self.mode is CanvasMode.WIPE:
            split = self.wipe_x()
            p.save()
            p.setClipRect(QRectF(0, 0, split, self.height()))
            p.drawImage(primary_rect, self._primary)
            p.setClipRect(QRectF(split, 0, self.width() - split, self.height()))
            self._draw_secondary(p, frame, primary_rect)
            p.restore()
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            p.drawLine(QPointF(split, 0), QPointF(split, self.height()))
            self._paint_region(p, primary_rect)
        else:  # DIFFERENCE
            p.drawImage(primary_rect, self._primary)
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Difference)
            self._draw_secondary(p, frame, primary_rect)
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
            self._paint_region(p, primary_rect)
        self._paint_captions(p)
        p.end()
        self.painted_keys = (self._primary.cacheKey(), self._secondary.cacheKey())
        self.painted.emit()

    def secondary_transform(self, primary_rect: QRectF) -> QTransform | None:
        """Secondary-image pixels -> widget coordinates through the alignment (None: none)."""
        m = self._alignment
        sw, sh = self._secondary.width(), self._secondary.height()
        if m is None or sw <= 0 or sh <= 0:
            return None
        to_fractions = QTransform.fromScale(1.0 / sw, 1.0 / sh)
        # Column-vector matrix rows (a b c / d e f / g h i) in Qt's row-vector layout.
        mapping = QTransform(m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8])
        to_widget = QTransform(
            primary_rect.width(), 0, 0, primary_rect.height(), primary_rect.x(), primary_rect.y()
        )
        return to_fractions * mapping * to_widget

    def _draw_secondary(self, p: QPainter, frame: QRectF, primary_rect: QRectF) -> None:
        transform = self.secondary_transform(primary_rect)
        if transform is None:
            p.drawImage(self.fitted(self._secondary, frame), self._secondary)
            return
        p.save()
        # Only over the asset: the reference's parts the asset cropped away compare with nothing.
        p.setClipRect(primary_rect, Qt.ClipOperation.IntersectClip)
        p.setTransform(transform, True)
        p.drawImage(QPointF(0, 0), self._secondary)
        p.restore()

    def _paint_region(self, p: QPainter, image_rect: QRectF) -> None:
        if not self._region:
            return
        poly = QPolygonF(
            [
                QPointF(
                    image_rect.x() + x * image_rect.width(),
                    image_rect.y() + y * image_rect.height(),
                )
                for x, y in self._region
            ]
        )
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 150), 4))
        p.drawPolygon(poly)
        pen = QPen(EVIDENCE_COLOUR, 2)
        pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawPolygon(poly)
        p.restore()

    def _box_layout(self, image_rect: QRectF) -> list[tuple[FaceBox, QRectF, QRectF | None, str]]:
        """Each face box on the widget, with its label's rectangle and (elided) text."""
        fm = self.fontMetrics()
        out: list[tuple[FaceBox, QRectF, QRectF | None, str]] = []
        tags: list[QRectF] = []
        for fb in self._boxes:
            x0, y0, x1, y1 = fb.box
            r = QRectF(
                image_rect.x() + x0 * image_rect.width(),
                image_rect.y() + y0 * image_rect.height(),
                (x1 - x0) * image_rect.width(),
                (y1 - y0) * image_rect.height(),
            )
            if not fb.label:
                out.append((fb, r, None, ""))
                continue
            text = fm.elidedText(fb.label, Qt.TextElideMode.ElideRight, 260)
            w, h = fm.horizontalAdvance(text) + 8, fm.height() + 2
            left = max(0.0, min(r.left(), self.width() - w))  # keep it on the canvas
            above = QRectF(left, r.top() - h, w, h)
            below = QRectF(left, r.bottom(), w, h)
            # Above the box, unless that leaves the canvas or covers a neighbour's label.
            tag = above
            if above.top() < 0 or any(above.intersects(t) for t in tags):
                tag = below
            tags.append(tag)
            out.append((fb, r, tag, text))
        return out

    @staticmethod
    def label_ink(fb: FaceBox) -> QColor:
        """Black or white, whichever reads better on a label filled with the box's colour.

        The labels sit on hair and faces, light or dark, in either theme.
        """
        c = fb.colour
        luminance = (
            0.2126 * c.redF() ** 2.2 + 0.7152 * c.greenF() ** 2.2 + 0.0722 * c.blueF() ** 2.2
        )
        return QColor(0, 0, 0) if luminance > 0.18 else QColor(255, 255, 255)

    def _paint_boxes(self, p: QPainter, image_rect: QRectF) -> None:
        if not self._boxes:
            return
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for fb, r, tag, text in self._box_layout(image_rect):
            # A dark halo under the coloured line keeps it visible on light and dark photos.
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 150), 4))
            p.drawRect(r)
            p.setPen(QPen(fb.colour, 2))
            p.drawRect(r)
            if tag is not None:
                # The label is a solid tag in the box's colour with black or white text: a
                # translucent dark tag with coloured text vanished on dark hair.
                p.fillRect(tag, fb.colour)
                p.setPen(QPen(QColor(0, 0, 0, 150), 1))
                p.drawRect(tag)
                p.setPen(self.label_ink(fb))
                p.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)
        p.restore()

    def wipe_x(self) -> float:
        """The divider's x position in widget coordinates."""
        return self.width() * self.wipe

    def _paint_message(self, p: QPainter, text: str) -> None:
        p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        r = self.rect().adjusted(16, 16, -16, -16)
        p.drawText(r, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)

    def _paint_captions(self, p: QPainter) -> None:
        if self.mode is CanvasMode.WIPE and self._secondary_caption:
            self._caption_box(p, self._caption, left=True)
            self._caption_box(p, self._secondary_caption, left=False)
        elif self.mode is CanvasMode.DIFFERENCE and self._secondary_caption:
            self._caption_box(
                p, f"Difference: {self._caption} vs {self._secondary_caption}", left=True
            )
        elif self._caption:
            self._caption_box(p, self._caption, left=True)

    def _caption_box(self, p: QPainter, text: str, *, left: bool) -> None:
        fm = p.fontMetrics()
        # Two boxes (wipe) share the width; one box may use nearly all of it.
        two = self.mode is CanvasMode.WIPE and bool(self._secondary_caption)
        room = self.width() // 2 - 24 if two else self.width() - 24
        text = fm.elidedText(text, Qt.TextElideMode.ElideMiddle, max(40, room))
        w, h = fm.horizontalAdvance(text) + 12, fm.height() + 6
        x = 6 if left else self.width() - w - 6
        box = QRectF(x, 6, w, h)
        # A dark translucent box with white text is readable over any photo, light or dark theme.
        p.fillRect(box, QColor(0, 0, 0, 160))
        p.setPen(QColor(255, 255, 255))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # -- interaction ----------------------------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Zoom about the cursor; with Shift, zoom this side alone."""
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            event.ignore()
            return
        factor = ZOOM_STEP**steps
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.local_zoom = min(8.0, max(0.125, self.local_zoom * factor))
            self.update()
        else:
            self.zoom_about(event.position(), factor)
        event.accept()

    def zoom_about(self, pos: QPointF, factor: float) -> None:
        """Zoom the shared state by ``factor`` keeping the frame point under ``pos`` in place."""
        before = self.to_frame(pos)
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, self._state.zoom * factor))
        # After zooming, the point at ``pos`` must still be ``before``: solve for the centre.
        scale = self.fit_scale() * zoom * self.local_zoom
        fw, fh = self._frame_size.width() * scale, self._frame_size.height() * scale
        cx = before.x() - (pos.x() - self.width() / 2) / fw - self.local_offset.x()
        cy = before.y() - (pos.y() - self.height() / 2) / fh - self.local_offset.y()
        self._state.set(zoom, QPointF(cx, cy))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Start a pan (Shift: this side alone) or a drag of the wipe divider."""
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        pos = event.position()
        self._drag_wipe = self.mode is CanvasMode.WIPE and abs(pos.x() - self.wipe_x()) < 12
        self._drag_local = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        self._drag_from = pos
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Pan, or move the wipe divider."""
        if self._drag_from is None:
            event.ignore()
            return
        pos = event.position()
        if self._drag_wipe:
            self.wipe = min(1.0, max(0.0, pos.x() / max(1, self.width())))
            self.wipe_moved.emit(self.wipe)
            self.update()
            return
        r = self.frame_rect()
        delta = QPointF(
            (pos.x() - self._drag_from.x()) / r.width(),
            (pos.y() - self._drag_from.y()) / r.height(),
        )
        self._drag_from = pos
        self.pan_by(-delta.x(), -delta.y(), local=self._drag_local)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """End the drag."""
        self._drag_from = None
        self._drag_wipe = False
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Double click toggles between fit and 100 %."""
        if math.isclose(self._state.zoom, 1.0):
            self.zoom_about(event.position(), self.zoom_for_actual_pixels())
        else:
            self._state.fit()
        event.accept()

    def pan_by(self, dx: float, dy: float, *, local: bool = False) -> None:
        """Pan by a fraction of the frame; ``local`` moves this side alone."""
        if local:
            self.local_offset = QPointF(self.local_offset.x() + dx, self.local_offset.y() + dy)
            self.update()
        else:
            c = self._state.center
            self._state.set(self._state.zoom, QPointF(c.x() + dx, c.y() + dy))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Arrow keys pan (Shift: this side alone)."""
        steps = {
            Qt.Key.Key_Left: (-1, 0),
            Qt.Key.Key_Right: (1, 0),
            Qt.Key.Key_Up: (0, -1),
            Qt.Key.Key_Down: (0, 1),
        }
        step = steps.get(Qt.Key(event.key()))
        if step is None:
            super().keyPressEvent(event)
            return
        amount = PAN_STEP / max(self._state.zoom, 1e-6)
        local = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        self.pan_by(step[0] * amount, step[1] * amount, local=local)
        event.accept()

    def sizeHint(self) -> QSize:
        """A comfortable default."""
        return QSize(480, 360)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Repaint at the new size (geometry is relative, nothing to recompute)."""
        super().resizeEvent(event)
        self.update()
