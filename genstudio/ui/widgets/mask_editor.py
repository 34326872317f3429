"""The Inpaint canvas's picture: an image of any size with a mask painted over it, zoom, pan and undo.

A QGraphicsView whose scene coordinates are the image's pixel coordinates, so what the pointer hits
is the same pixel at every zoom. The image (H×W×3 uint8) and the mask (H×W uint8, 255 = repaint) are
numpy arrays; the mask is drawn as a coloured overlay from a premultiplied RGBA buffer that a stroke
updates only where it paints. Every edit — a stroke, a shape, invert, clear, an accepted result, an
outpaint extension — is one QUndoCommand holding just the before and after of the pixels it changed
(invert holds nothing: it is its own inverse), so undo gives back the exact pixels with bounded memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QShortcut,
    QTransform,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from genstudio.core.errors import GenStudioError
from genstudio.tasks.inpaint import check_size
from genstudio.ui.widgets import mask_ops
from genstudio.ui.widgets.images import to_qimage
from genstudio.ui.widgets.mask_commands import ExtendCanvas, InvertMask, RegionEdit

TOOLS = ("brush", "eraser", "rect", "lasso")
GESTURE_NAMES = {"brush": "Brush stroke", "eraser": "Eraser stroke", "rect": "Rectangle", "lasso": "Lasso"}  # undo
UNDO_LIMIT = 100  # commands kept; each holds only the region it changed
ZOOM_RANGE = (0.02, 32.0)
ZOOM_STEP = 1.25
MAX_BRUSH = 1000


class MaskOverlay(QGraphicsItem):
    """The mask as a translucent colour over the image, painted from a buffer it shares with a QImage."""

    def __init__(self):
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # paint only what is exposed
        self.rgba = np.zeros((1, 1, 4), np.uint8)
        self.qimage = QImage()
        self.color, self.opacity = (255, 40, 90), 0.5
        self.smooth = False

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.rgba.shape[1], self.rgba.shape[0])

    def rebuild(self, mask: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.rgba = np.ascontiguousarray(mask_ops.overlay_rgba(mask, self.color, self.opacity))
        height, width = mask.shape
        # No copy: the QImage reads self.rgba, so refresh() only rewrites the changed rows of the array.
        self.qimage = QImage(self.rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888_Premultiplied)
        self.update()

    def refresh(self, mask: np.ndarray, box: mask_ops.Box) -> None:
        x0, y0, x1, y1 = box
        self.rgba[y0:y1, x0:x1] = mask_ops.overlay_rgba(mask[y0:y1, x0:x1], self.color, self.opacity)
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
        rect = option.exposedRect.toAlignedRect().intersected(self.boundingRect().toAlignedRect())
        if not rect.isEmpty():
            painter.drawImage(rect, self.qimage, rect)


class MaskEditor(QGraphicsView):
    """Paint a mask over an image. ``image()``/``mask()`` give copies; every edit is undoable."""

    changed = Signal()  # the image or the mask changed (an edit, undo/redo, a new image)
    zoom_changed = Signal(float)
    tool_changed = Signal()  # tool, brush size or hardness (shortcuts change them too)

    def __init__(self, parent: QWidget | None = None, shortcut_host: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAcceptDrops(False)  # dropped files go to the canvas around the editor
        self.setMinimumSize(240, 200)
        self._follow_theme()
        self.image_item = QGraphicsPixmapItem()
        self.overlay = MaskOverlay()
        self.box_item = Outline()  # the area a run changed, around its candidates
        self.shape_item = Outline()  # the rectangle or lasso being drawn
        self.shape_item.setBrush(QBrush(QColor(255, 40, 90, 60)))
        self.cursor_item = Outline()  # the brush's size and place
        for z, item in enumerate((self.image_item, self.overlay, self.box_item, self.shape_item, self.cursor_item)):
            item.setZValue(z)
            item.setVisible(item in (self.image_item, self.overlay))
            self.scene().addItem(item)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self._image: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self.tool, self.brush_size, self.hardness = "brush", 40, 0.7
        self.locked = False  # while a run uses the picture: look around, change nothing
        self.previewing = False
        self.placeholder = "Drop an image here, or open one"
        self._pixmap = QPixmap()
        self._zoom = 1.0
        self._fitted = True  # follow the window's size until the user zooms
        self._gesture: dict[str, Any] | None = None  # the stroke, shape or pan under way
        self._space_held = False
        self.shortcuts = install_shortcuts(self, shortcut_host or self)

    # -- the document --------------------------------------------------------------------------------
    def has_image(self) -> bool:
        return self._image is not None

    def image(self) -> np.ndarray:
        return self._image.copy()

    def picture_size(self) -> tuple[int, int]:
        """(width, height) in pixels; (0, 0) before a picture is opened."""
        return (0, 0) if self._mask is None else (self._mask.shape[1], self._mask.shape[0])

    def mask(self) -> np.ndarray:
        return self._mask.copy()

    def set_image(self, image: np.ndarray) -> None:
        """Start over on a new picture (H×W×3 uint8) with an empty mask; the undo history starts over too."""
        image = np.ascontiguousarray(image, dtype=np.uint8)
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
            raise GenStudioError(f"Expected an RGB picture, got an array of shape {image.shape}.")
        self._gesture = None
        self.undo_stack.clear()
        self.replace_arrays(image.copy(), np.zeros(image.shape[:2], np.uint8))

    def set_mask(self, mask: np.ndarray) -> None:
        """Replace the mask (H×W uint8, 255 = repaint; a loaded mask file), undoably."""
        self._need_image()
        mask = np.asarray(mask, dtype=np.uint8)
        if mask.shape != self._mask.shape:
            raise GenStudioError(f"The mask is {mask.shape[1]}×{mask.shape[0]} pixels but the picture is "
                                 f"{self._mask.shape[1]}×{self._mask.shape[0]}.")
        self._push_change("mask", mask, "Set mask")

    def apply_result(self, image: np.ndarray, params: dict[str, Any] | None = None) -> bool:
        """Take ``image`` (same size) as the picture, undoably; ``params`` travel with it into saved PNGs."""
        self._need_image()
        image = np.asarray(image, dtype=np.uint8)
        if image.shape != self._image.shape:
            raise GenStudioError(f"This result is {image.shape[1]}×{image.shape[0]} pixels but the picture is now "
                                 f"{self._image.shape[1]}×{self._image.shape[0]}: run Inpaint again.")
        return self._push_change("image", image, "Accept result", params)

    def extend(self, left: int = 0, right: int = 0, top: int = 0, bottom: int = 0) -> None:
        """Grow the canvas by these many pixels per side (outpainting); the new area is masked."""
        self._need_image()
        sides = tuple(max(0, int(v)) for v in (left, right, top, bottom))
        check_size(self._image.shape[0] + sides[2] + sides[3], self._image.shape[1] + sides[0] + sides[1])
        if any(sides):
            self.undo_stack.push(ExtendCanvas(self, sides))

    def invert_mask(self) -> None:
        if self.has_image() and not self.locked:
            self.undo_stack.push(InvertMask(self))

    def clear_mask(self) -> None:
        if self.has_image() and not self.locked and self._mask.any():
            self._push_change("mask", np.zeros_like(self._mask), "Clear mask")

    def applied_params(self) -> dict[str, Any] | None:
        """The parameters of the newest accepted result still in the picture (None if there is none)."""
        for index in range(self.undo_stack.index() - 1, -1, -1):
            params = getattr(self.undo_stack.command(index), "params", None)
            if params is not None:
                return params
        return None

    def pending_extension(self) -> dict[str, int]:
        """Pixels added per side since the last accepted result (the strips still to outpaint)."""
        sides = dict.fromkeys(("left", "right", "top", "bottom"), 0)
        for index in range(self.undo_stack.index() - 1, -1, -1):
            command = self.undo_stack.command(index)
            if getattr(command, "params", None) is not None:
                break
            if isinstance(command, ExtendCanvas):
                for side, amount in zip(sides, command.sides):
                    sides[side] += amount
        return {side: amount for side, amount in sides.items() if amount}

    def undo(self) -> None:
        if not self.locked and self._gesture is None:
            self.undo_stack.undo()

    def redo(self) -> None:
        if not self.locked and self._gesture is None:
            self.undo_stack.redo()

    def _need_image(self) -> None:
        if self._image is None:
            raise GenStudioError("Open an image first.")

    def _push_change(self, layer: str, new: np.ndarray, text: str, params: dict | None = None) -> bool:
        current = self._image if layer == "image" else self._mask
        box = mask_ops.changed_box(current, new)
        if box is None and params is None:
            return False
        box = box or (0, 0, 0, 0)
        x0, y0, x1, y1 = box
        command = RegionEdit(self, layer, box, current[y0:y1, x0:x1].copy(), new[y0:y1, x0:x1].copy(), text, params)
        self.undo_stack.push(command)
        return True

    # -- what the undo commands call (mask_commands) ---------------------------------------------------
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The picture and the mask themselves, not copies."""
        return self._image, self._mask

    def write_region(self, layer: str, origin: tuple[int, int], pixels: np.ndarray) -> None:
        x0, y0 = origin
        y1, x1 = y0 + pixels.shape[0], x0 + pixels.shape[1]
        if layer == "image":
            self._image[y0:y1, x0:x1] = pixels
            if pixels.size:
                painter = QPainter(self._pixmap)
                painter.drawImage(QPoint(x0, y0), to_qimage(pixels))
                painter.end()
        else:
            self._mask[y0:y1, x0:x1] = pixels
            self.overlay.refresh(self._mask, (x0, y0, x1, y1))
        self._document_changed()

    def invert_pixels(self) -> None:
        np.subtract(255, self._mask, out=self._mask)
        self.overlay.rebuild(self._mask)
        self._document_changed()

    def replace_arrays(self, image: np.ndarray, mask: np.ndarray) -> None:
        """New arrays, possibly of a new size: a new image, or an extension and its undo."""
        self._image, self._mask = image, mask
        self._pixmap = QPixmap.fromImage(to_qimage(image))
        self.overlay.rebuild(mask)
        height, width = mask.shape
        margin = max(width, height)  # room to pan an edge of the picture to the middle of the view
        self.scene().setSceneRect(-margin, -margin, width + 2 * margin, height + 2 * margin)
        self._document_changed()
        self.fit()

    def _document_changed(self) -> None:
        self.previewing = False
        self.image_item.setPixmap(self._pixmap)
        self.overlay.setVisible(True)
        self.box_item.hide()
        self.changed.emit()

    # -- preview of a candidate -------------------------------------------------------------------------
    def show_preview(self, image: np.ndarray | None, box: mask_ops.Box | None = None) -> None:
        """Show ``image`` (same size) in place of the picture without changing it; None goes back."""
        if image is None or self._image is None or image.shape != self._image.shape:
            self.previewing = False
            self.image_item.setPixmap(self._pixmap if self._image is not None else QPixmap())
            self.overlay.setVisible(True)
            self.box_item.hide()
            return
        self.previewing = True
        self.image_item.setPixmap(QPixmap.fromImage(to_qimage(image)))
        self.overlay.setVisible(False)
        if box is not None:
            self.box_item.set_rect(QRectF(box[0], box[1], box[2] - box[0], box[3] - box[1]))
        self.box_item.setVisible(box is not None)

    # -- tools ------------------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        self.tool = tool
        self.cursor_item.setVisible(False)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        self.tool_changed.emit()

    def set_brush(self, size: float | None = None, hardness: float | None = None) -> None:
        if size is not None:
            self.brush_size = int(min(max(size, 1), MAX_BRUSH))
        if hardness is not None:
            self.hardness = min(max(float(hardness), 0.0), 1.0)
        self.cursor_item.set_rect(self._cursor_rect(self.cursor_item.path().boundingRect().center()), ellipse=True)
        self.tool_changed.emit()

    def set_overlay(self, color: QColor | None = None, opacity: float | None = None) -> None:
        if color is not None:
            self.overlay.color = (color.red(), color.green(), color.blue())
        if opacity is not None:
            self.overlay.opacity = min(max(float(opacity), 0.0), 1.0)
        if self._mask is not None:
            self.overlay.rebuild(self._mask)

    def set_locked(self, locked: bool) -> None:
        self.locked = locked
        if locked and self._gesture is not None and self._gesture["kind"] != "pan":  # looking around goes on
            gesture, self._gesture = self._gesture, None
            self.shape_item.hide()  # a shape not yet released is dropped; a stroke so far is kept, undoably
            if gesture["kind"] in ("brush", "eraser"):
                self._commit(gesture["before"], gesture["box"], GESTURE_NAMES[gesture["kind"]])

    # -- zoom -------------------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self._zoom

    def set_zoom(self, zoom: float, anchor: QPoint | None = None) -> None:
        """Zoom keeping the picture point under ``anchor`` (default: the middle of the view) in place."""
        zoom = min(max(zoom, ZOOM_RANGE[0]), ZOOM_RANGE[1])
        anchor = anchor if anchor is not None else self.viewport().rect().center()
        fixed = self.to_image(QPointF(anchor))
        self._zoom, self._fitted = zoom, False
        self.setTransform(QTransform.fromScale(zoom, zoom))
        moved = self.mapFromScene(fixed) - anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
        smooth = zoom < 2  # magnified well past 100%: crisp pixels, so each one can be hit
        self.image_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation if smooth
                                              else Qt.TransformationMode.FastTransformation)
        self.overlay.smooth = smooth
        self.zoom_changed.emit(zoom)

    def zoom_in(self) -> None:
        self.set_zoom(self._zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self._zoom / ZOOM_STEP)

    def fit(self) -> None:
        """The whole picture in view (small pictures magnified to fill it), until the user zooms."""
        if self._image is None:
            return
        height, width = self._image.shape[:2]
        view = self.viewport().size()
        self.set_zoom(0.96 * min(view.width() / width, view.height() / height))
        self.centerOn(width / 2, height / 2)
        self._fitted = True

    def to_image(self, point: QPointF) -> QPointF:
        """Viewport position -> picture coordinates (pixel (x, y) spans x..x+1, y..y+1)."""
        return self.viewportTransform().inverted()[0].map(point)

    def event_point(self, event) -> QPointF:
        """Where a mouse event points in the picture: the middle of the screen pixel it reports."""
        return self.to_image(event.position() + QPointF(0.5, 0.5))

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self._zoom * ZOOM_STEP ** steps, event.position().toPoint())
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    # -- the pointer ------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space_held):
            self._gesture = {"kind": "pan", "last": event.position()}
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if button != Qt.MouseButton.LeftButton or self._image is None or self.locked:
            return
        point = self.event_point(event)
        self.show_preview(None)  # painting is on the picture itself, not on a candidate
        self._gesture = {"kind": self.tool, "before": self._mask.copy(), "start": point, "last": point,
                         "carry": 0.0, "box": None, "points": [point]}
        if self.tool in ("brush", "eraser"):
            self._stamp([(point.x(), point.y())])
        else:
            self._show_shape()

    def mouseMoveEvent(self, event) -> None:
        point = self.event_point(event)
        self._move_cursor(point)
        gesture = self._gesture
        if gesture is None:
            return
        if gesture["kind"] == "pan":
            delta = event.position() - gesture["last"]
            gesture["last"] = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
        elif gesture["kind"] in ("brush", "eraser"):
            spacing = max(self.brush_size * mask_ops.SPACING, 0.5)
            last = gesture["last"]
            points, gesture["carry"] = mask_ops.stroke_points((last.x(), last.y()), (point.x(), point.y()),
                                                              spacing, gesture["carry"])
            gesture["last"] = point
            self._stamp(points)
        else:
            gesture["last"] = point
            gesture["points"].append(point)
            self._show_shape()

    def mouseReleaseEvent(self, event) -> None:
        gesture, self._gesture = self._gesture, None
        if gesture is None:
            return
        if gesture["kind"] == "pan":
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space_held else Qt.CursorShape.CrossCursor)
            return
        self.shape_item.hide()
        subtract = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        value = 0 if subtract else 255
        if gesture["kind"] == "rect":
            box = mask_ops.rect_box(_xy(gesture["start"]), _xy(self.event_point(event)), self._mask.shape)
            if box is not None:
                self._mask[box[1]:box[3], box[0]:box[2]] = value
            gesture["box"] = box
        elif gesture["kind"] == "lasso":
            gesture["box"] = mask_ops.fill_polygon(self._mask, [_xy(p) for p in gesture["points"]], value)
        self._commit(gesture["before"], gesture["box"], GESTURE_NAMES[gesture["kind"]])

    def _stamp(self, points: list[tuple[float, float]]) -> None:
        gesture = self._gesture
        box = mask_ops.paint_stamps(self._mask, points, self.brush_size, self.hardness,
                                    erase=gesture["kind"] == "eraser")
        if box is not None:
            gesture["box"] = mask_ops.union(gesture["box"], box)
            self.overlay.refresh(self._mask, box)

    def _commit(self, before: np.ndarray, box: mask_ops.Box | None, text: str) -> None:
        """One undo step for the gesture just finished: the before and after of the box it touched."""
        if box is None:
            return
        x0, y0, x1, y1 = box
        old, new = before[y0:y1, x0:x1], self._mask[y0:y1, x0:x1].copy()
        self.overlay.refresh(self._mask, box)
        if not np.array_equal(old, new):
            self.undo_stack.push(RegionEdit(self, "mask", box, old.copy(), new, text))

    def _show_shape(self) -> None:
        gesture = self._gesture
        path = QPainterPath()
        if gesture["kind"] == "rect":
            path.addRect(QRectF(gesture["start"], gesture["last"]).normalized())
        else:
            path.moveTo(gesture["points"][0])
            for point in gesture["points"][1:]:
                path.lineTo(point)
            path.closeSubpath()
        self.shape_item.setPath(path)
        self.shape_item.show()

    def _cursor_rect(self, centre: QPointF) -> QRectF:
        radius = self.brush_size / 2
        return QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius)

    def _move_cursor(self, point: QPointF) -> None:
        self.cursor_item.set_rect(self._cursor_rect(point), ellipse=True)
        self.cursor_item.setVisible(self.tool in ("brush", "eraser") and self._image is not None and not self.locked)

    def leaveEvent(self, event) -> None:
        self.cursor_item.hide()
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
            return
        super().keyReleaseEvent(event)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._follow_theme()

    def _follow_theme(self) -> None:
        """A backdrop a shade off the theme's, so the picture's own edges show (light or dark)."""
        self.setBackgroundBrush(self.palette().color(self.palette().ColorRole.AlternateBase).darker(108))

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self._image is None:  # the empty editor says what to do
            painter.save()
            painter.resetTransform()
            painter.setPen(self.palette().color(self.palette().ColorRole.PlaceholderText))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            painter.restore()


def _xy(point: QPointF) -> tuple[float, float]:
    return point.x(), point.y()


class Outline(QGraphicsPathItem):
    """A one-pixel outline (at every zoom) that shows on any picture: white dashes over a dark line."""

    def set_rect(self, rect: QRectF, ellipse: bool = False) -> None:
        path = QPainterPath()
        if ellipse:
            path.addEllipse(rect)
        else:
            path.addRect(rect)
        self.setPath(path)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        for color, style in ((QColor(0, 0, 0, 170), Qt.PenStyle.SolidLine), (QColor(255, 255, 255), Qt.PenStyle.DashLine)):
            painter.setPen(QPen(color, 0, style))  # width 0: cosmetic, one screen pixel at every zoom
            painter.setBrush(self.brush() if style == Qt.PenStyle.SolidLine else Qt.BrushStyle.NoBrush)
            painter.drawPath(self.path())


# Action -> keys. Text fields keep their own keys (letters, Delete, Ctrl+Z); none of these is one of the main
# window's application-wide keys (Ctrl+1…5, Ctrl+I, Ctrl+O), since a key held twice fires neither.
SHORTCUTS = {
    "undo": ("Ctrl+Z",), "redo": ("Ctrl+Shift+Z", "Ctrl+Y"),
    "zoom_in": ("Ctrl++", "Ctrl+="), "zoom_out": ("Ctrl+-",), "fit": ("Ctrl+0",),
    "brush": ("B",), "eraser": ("E",), "rect": ("R",), "lasso": ("L",),
    "smaller": ("[",), "larger": ("]",), "invert": ("Ctrl+Shift+I",), "clear": ("Delete",),
}


def install_shortcuts(editor: MaskEditor, host: QWidget) -> dict[str, list[QShortcut]]:
    """The editor's keys, live while focus is anywhere inside ``host`` (the editor or its canvas)."""
    slots = {"undo": editor.undo, "redo": editor.redo, "zoom_in": editor.zoom_in, "zoom_out": editor.zoom_out,
             "fit": editor.fit,
             "smaller": lambda: editor.set_brush(size=editor.brush_size / 1.25),
             "larger": lambda: editor.set_brush(size=max(editor.brush_size * 1.25, editor.brush_size + 1)),
             "invert": editor.invert_mask, "clear": editor.clear_mask,
             **{tool: (lambda t=tool: editor.set_tool(t)) for tool in TOOLS}}
    made = {}
    for action, keys in SHORTCUTS.items():
        made[action] = [QShortcut(QKeySequence(key), host, slots[action],
                                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut) for key in keys]
    return made
