"""Pictures between numpy and Qt: arrays to QImage/QPixmap, pixel-art scaling, PNG files for drags.

Generated images are small (32–128 px); they are enlarged with nearest-neighbour scaling so an
artist sees the real pixels, not a blur.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel

from genstudio.tasks.images import save_png


def to_qimage(array: np.ndarray) -> QImage:
    """H×W×3 uint8 -> QImage that owns a copy of the pixels (safe after ``array`` is gone)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    height, width = array.shape[:2]
    return QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def to_pixmap(array: np.ndarray, size: int | QSize | None = None) -> QPixmap:
    pixmap = QPixmap.fromImage(to_qimage(array))
    return scaled(pixmap, size) if size is not None else pixmap


def scaled(pixmap: QPixmap, size: int | QSize) -> QPixmap:
    """Fit ``pixmap`` in ``size`` keeping its aspect; whole-number factors keep pixel art crisp."""
    box = size if isinstance(size, QSize) else QSize(size, size)
    if pixmap.isNull() or box.width() <= 0 or box.height() <= 0:
        return pixmap
    factor = min(box.width() / pixmap.width(), box.height() / pixmap.height())
    if factor >= 1:
        factor = int(factor)
    target = QSize(max(1, int(pixmap.width() * factor)), max(1, int(pixmap.height() * factor)))
    mode = Qt.TransformationMode.FastTransformation if factor >= 1 else Qt.TransformationMode.SmoothTransformation
    return pixmap.scaled(target, Qt.AspectRatioMode.KeepAspectRatio, mode)


def grid_array(images: np.ndarray, cols: int | None = None, gutter: int = 2) -> np.ndarray:
    from genstudio.core.data.images import make_grid

    return np.asarray(make_grid(images, cols=cols, gutter=gutter))


_drag_dir: Path | None = None


def png_for_drag(array: np.ndarray, params: dict[str, Any], name: str) -> Path:
    """A PNG (with its parameters) in a temp folder, for drag-and-drop out of the app."""
    global _drag_dir
    if _drag_dir is None:
        _drag_dir = Path(tempfile.mkdtemp(prefix="genstudio-drag-"))
    folder = _drag_dir / uuid.uuid4().hex[:8]  # a fresh folder per drag keeps the nice file name
    return save_png(Image.fromarray(array), folder / name, params)


def image_file_name(params: dict[str, Any]) -> str:
    if "tool" in params:  # latent explorer frames, traversal cells, denoised images
        return f"{params.get('model', 'image')}-{params['tool']}-{params.get('frame', 0)}.png"
    return f"{params.get('model', 'image')}-seed{params.get('seed', 0)}.png"


class PixmapLabel(QLabel):
    """A label that shows a picture as large as it fits, re-scaled crisply whenever it resizes."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(64, 64)
        self.source = QPixmap()

    def set_source(self, pixmap: QPixmap) -> None:
        self.source = pixmap
        self._fit()

    def clear(self) -> None:
        self.source = QPixmap()
        super().clear()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if not self.source.isNull():
            self.setPixmap(scaled(self.source, self.contentsRect().size()))
