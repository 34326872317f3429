"""The result grid of the Generate canvas: click to enlarge, drag out as PNG, save, copy, reuse.

Each cell keeps its image's own parameters (image i was made with seed + i), so whatever leaves the
grid — a saved file, a drag to the desktop, "use these settings again" — regenerates that image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QMenu

from genstudio.core.errors import GenStudioError
from genstudio.tasks.images import save_png
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.images import image_file_name, png_for_drag, to_pixmap, to_qimage

CELL = 128


class ResultGrid(QListWidget):
    enlarge = Signal(int)
    use_settings = Signal(dict)

    def __init__(self, parent=None, reusable: bool = True, cell: int = CELL):
        super().__init__(parent)
        self.reusable = reusable  # cells made by the Generate canvas can restore its settings
        self.setObjectName("results")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.cell = cell
        self.setIconSize(QSize(cell, cell))
        self.setSpacing(6)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.itemActivated.connect(lambda item: self.enlarge.emit(self.row(item)))
        self.itemClicked.connect(lambda item: self.enlarge.emit(self.row(item)))
        self.images: np.ndarray | None = None
        self.params: list[dict[str, Any]] = []

    def show_result(self, images: np.ndarray, params: list[dict[str, Any]],
                    captions: list[str] | None = None) -> None:
        """Show ``images`` with their own parameters and, under each, an optional caption."""
        self.clear()
        self.images, self.params = images, params
        for i, image in enumerate(images):
            caption = captions[i] if captions else ""
            item = QListWidgetItem(QIcon(to_pixmap(image, self.cell)), caption)
            what = f"seed {params[i]['seed']}" if "seed" in params[i] else params[i].get("tool", "image")
            item.setToolTip(f"{what}{' · ' + caption if caption else ''} — click to enlarge, drag to save elsewhere")
            self.addItem(item)

    # -- what the cells offer -----------------------------------------------------------------
    def save(self, index: int) -> Path | None:
        params = self.params[index]
        path = dialogs.save_file(self, "Save image", image_file_name(params), "PNG images (*.png)")
        if not path:
            return None
        if not path.lower().endswith(".png"):
            path += ".png"
        try:
            return save_png(Image.fromarray(self.images[index]), path, params)
        except (OSError, GenStudioError) as err:
            dialogs.warn(self, "Could not save", f"The image was not saved: {err}")
            return None

    def save_all(self) -> int:
        """Every image into a chosen folder, one PNG each with its own parameters; returns the count."""
        if self.images is None:
            return 0
        folder = dialogs.open_folder(self, "Save all images into…")
        if not folder:
            return 0
        try:
            for i, image in enumerate(self.images):
                save_png(Image.fromarray(image), Path(folder) / image_file_name(self.params[i]), self.params[i])
        except OSError as err:
            dialogs.warn(self, "Could not save", f"Saving stopped: {err}")
            return i
        return len(self.images)

    def copy(self, index: int) -> None:
        QGuiApplication.clipboard().setImage(to_qimage(self.images[index]))

    def _menu(self, pos) -> None:
        item = self.itemAt(pos)
        if item is None:
            return
        index = self.row(item)
        menu = QMenu(self)
        entries = [("Enlarge", lambda: self.enlarge.emit(index)), ("Save as PNG…", lambda: self.save(index)),
                   ("Copy image", lambda: self.copy(index))]
        if self.reusable:
            entries.append(("Use these settings again", lambda: self.use_settings.emit(self.params[index])))
        for label, slot in entries:
            action = QAction(label, menu)
            action.triggered.connect(slot)
            menu.addAction(action)
        menu.exec(self.viewport().mapToGlobal(pos))

    # -- drag out -------------------------------------------------------------------------------
    def mimeTypes(self) -> list[str]:
        return ["text/uri-list", "image/png", "application/x-qt-image"]

    def mimeData(self, items) -> QMimeData:
        data = QMimeData()
        rows = sorted(self.row(item) for item in items)
        try:
            paths = [png_for_drag(self.images[r], self.params[r], image_file_name(self.params[r])) for r in rows]
        except OSError:
            paths = []  # no temp space: the image itself still travels
        data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        if rows:
            data.setImageData(to_qimage(self.images[rows[0]]))
        return data
