"""The mask editor's undo steps: each holds just enough to give back the exact pixels.

A region edit keeps the before and after of the box it changed; inverting the mask keeps nothing (it
is its own inverse); an extension keeps its four numbers, since undoing it crops the untouched old
area back out. The commands work through the editor's ``arrays``/``write_region``/``invert_pixels``/
``replace_arrays``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtGui import QUndoCommand

from genstudio.tasks.inpaint import extend_canvas

if TYPE_CHECKING:
    from genstudio.ui.widgets.mask_editor import MaskEditor
    from genstudio.ui.widgets.mask_ops import Box


class RegionEdit(QUndoCommand):
    """The before and after of one box of the mask or the image; ``params`` marks an accepted result."""

    def __init__(self, editor: MaskEditor, layer: str, box: Box, before: np.ndarray, after: np.ndarray,
                 text: str, params: dict[str, Any] | None = None):
        super().__init__(text)
        self.editor, self.layer, self.origin = editor, layer, box[:2]
        self.before, self.after, self.params = before, after, params

    def redo(self) -> None:
        self.editor.write_region(self.layer, self.origin, self.after)

    def undo(self) -> None:
        self.editor.write_region(self.layer, self.origin, self.before)


class InvertMask(QUndoCommand):
    def __init__(self, editor: MaskEditor):
        super().__init__("Invert mask")
        self.editor = editor

    def redo(self) -> None:
        self.editor.invert_pixels()

    undo = redo  # inverting twice gives back the same bytes: nothing to store


class ExtendCanvas(QUndoCommand):
    """Grow the canvas (outpainting). Undo crops the old area back out, which is exact because
    extending leaves it untouched; the old arrays are kept only if an extension ever changed it."""

    def __init__(self, editor: MaskEditor, sides: tuple[int, int, int, int]):
        super().__init__("Extend canvas")
        self.editor, self.sides = editor, sides  # left, right, top, bottom
        self.kept: tuple[np.ndarray, np.ndarray] | None = None

    def redo(self) -> None:
        image, mask = self.editor.arrays()
        left, right, top, bottom = self.sides
        grown_image, grown_mask = extend_canvas(image, mask, left=left, right=right, top=top, bottom=bottom)
        inner = np.s_[top:top + image.shape[0], left:left + image.shape[1]]
        if not (np.array_equal(grown_image[inner], image) and np.array_equal(grown_mask[inner], mask)):
            self.kept = (image, mask)
        self.editor.replace_arrays(grown_image, grown_mask)

    def undo(self) -> None:
        if self.kept is not None:
            self.editor.replace_arrays(*self.kept)
            return
        image, mask = self.editor.arrays()
        left, right, top, bottom = self.sides
        inner = np.s_[top:image.shape[0] - bottom, left:image.shape[1] - right]
        self.editor.replace_arrays(image[inner].copy(), mask[inner].copy())
