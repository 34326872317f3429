"""Pictures coming in from outside: dropped or pasted files and clipboard image data, as numpy arrays."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QImage


def array_from_qimage(image: QImage) -> np.ndarray:
    """Any QImage -> H×W×3 uint8 (alpha dropped onto nothing: pasted screenshots are opaque)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    rows = np.frombuffer(rgb.constBits(), np.uint8, count=stride * height).reshape(height, stride)
    return rows[:, :3 * width].reshape(height, width, 3).copy()


def local_file(mime: QMimeData) -> str | None:
    """The first local file a drop or the clipboard carries, if any."""
    for url in mime.urls() if mime.hasUrls() else ():
        if url.isLocalFile():
            return url.toLocalFile()
    return None


def carries_picture(mime: QMimeData) -> bool:
    return local_file(mime) is not None or mime.hasImage()
