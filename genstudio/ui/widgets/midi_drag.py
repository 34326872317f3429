"""Drag the roll's notes out of GenStudio as a .mid file, into a DAW's arrangement or a file manager.

Dropping files is what DAWs accept from outside, so the drag carries the URL of a MIDI file written
to a temporary folder when the drag starts (the same name each time, so the folder does not fill up).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QApplication, QLabel

from genstudio.core.data.midi import write_midi
from genstudio.core.errors import GenStudioError
from genstudio.core.notes import NoteSequence


def drag_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "genstudio-drag"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def safe_stem(name: str) -> str:
    stem = re.sub(r"[^\w\- ]+", "_", name).strip(" ._") or "GenStudio music"
    return stem[:80]


class MidiDragHandle(QLabel):
    """A grip: press and drag it to take the notes out as a MIDI file."""

    def __init__(self, sequence: Callable[[], NoteSequence], name: Callable[[], str], parent=None):
        super().__init__("⠿ Drag MIDI", parent)
        self.sequence, self.name = sequence, name
        self.press = None
        self.setObjectName("dragHandle")
        self.setToolTip("Drag the notes into a DAW or a folder as a .mid file")
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setStyleSheet("QLabel#dragHandle { border: 1px dashed palette(mid); border-radius: 6px; "
                           "padding: 4px 10px; }")

    def mime_data(self) -> QMimeData | None:
        """The drag's payload: a freshly written .mid file's URL (None when the roll is empty or unwritable)."""
        seq = self.sequence()
        if not seq.notes:
            return None
        try:
            path = write_midi(seq, drag_folder() / f"{safe_stem(self.name())}.mid")
        except (GenStudioError, OSError):
            return None
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        return mime

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.press = event.position()

    def mouseMoveEvent(self, event) -> None:
        if self.press is None or (event.position() - self.press).manhattanLength() < \
                QApplication.startDragDistance():
            return
        self.press = None
        mime = self.mime_data()
        if mime is not None:
            drag = QDrag(self)
            drag.setMimeData(mime)
            drag.exec(Qt.DropAction.CopyAction)

    def mouseReleaseEvent(self, event) -> None:
        self.press = None
