"""A folder of training images (or texts) on the Train canvas: a drop target with a Browse button, and
under it the dataset check's summary (images found, skipped files and why, a strip of thumbnails; for
texts the files, characters, encodings, Latin-1 fallbacks and the train/validation split).

Most architectures train on one such folder; those that translate between two domains (CycleGAN)
get two, "Domain A folder" and "Domain B folder", each checked on its own. The check itself runs in
the background; a newer check supersedes one still running.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from genstudio.core.data.text import relative_to_root
from genstudio.tasks.train import DatasetScan, MusicScan, TextScan
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.images import grid_array, scaled, to_pixmap
from genstudio.ui.workers import run_in_background

STRIP_WIDTH = 228


def dropped_folder(event) -> str | None:
    """The folder a drag carries (a dropped file stands for its folder); None for anything else."""
    urls = event.mimeData().urls()
    if not urls or not urls[0].isLocalFile() or urls[0].toLocalFile().lower().endswith(".zip"):
        return None
    path = Path(urls[0].toLocalFile())
    return str(path if path.is_dir() else path.parent)


def show_note(label: QLabel, text: str, style: str = "muted") -> None:
    """Set a note's text and its look ("muted" or "error": objectNames the stylesheet knows)."""
    label.setText(text)
    label.setObjectName(style)
    label.style().unpolish(label)
    label.style().polish(label)


class FolderPicker(QWidget):
    chosen = Signal(str)  # the user typed, browsed or dropped a folder ("" when the field was cleared)
    checked = Signal()  # a check finished (passed or failed): the canvas re-evaluates its Start button

    def __init__(self, browse_title: str, empty_note: str = "No folder chosen yet.", thumb_rows: int = 2,
                 parent=None):
        super().__init__(parent)
        self.browse_title, self.empty_note, self.thumb_rows = browse_title, empty_note, thumb_rows
        self.scan: DatasetScan | TextScan | MusicScan | None = None  # the last check that passed, for the folder shown
        self.token = 0
        self.edit = QLineEdit(placeholderText="Drop a folder here…")
        self.edit.setAcceptDrops(False)  # the picker takes a drop as a folder, not as text to insert
        self.edit.editingFinished.connect(lambda: self.chosen.emit(self.folder()))
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        self.report_label = QLabel(empty_note, objectName="muted", wordWrap=True)
        self.thumbs = QLabel(alignment=Qt.AlignmentFlag.AlignLeft)
        self.report_text = QPlainTextEdit(readOnly=True, objectName="log")
        self.report_text.setMaximumHeight(90)
        self.report_text.hide()
        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        row.addWidget(self.browse_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.report_label)
        layout.addWidget(self.thumbs)
        layout.addWidget(self.report_text)
        self.setAcceptDrops(True)

    def folder(self) -> str:
        return self.edit.text().strip()

    def set_text(self, folder: str) -> None:
        """Show ``folder`` without checking it; the last check no longer applies."""
        self.edit.setText(folder.strip())
        self.edit.setToolTip(folder.strip())  # a long path shows only its end
        self.token += 1
        self.scan = None
        if not folder.strip():
            self._show_report(self.empty_note)

    def set_choosing(self, enabled: bool) -> None:
        """Whether the folder can be changed (not while training); the report stays readable either way."""
        self.edit.setEnabled(enabled)
        self.browse_button.setEnabled(enabled)
        self.setAcceptDrops(enabled)

    def browse(self) -> None:
        folder = dialogs.open_folder(self, self.browse_title, self.folder())
        if folder:
            self.edit.setText(folder)
            self.chosen.emit(folder)

    # -- the dataset check -----------------------------------------------------------------------------
    def check(self, scan: Callable[[], DatasetScan | TextScan | MusicScan], what: str = "images") -> None:
        """Run ``scan`` off the UI thread and show its report (a newer check wins over a late one)."""
        self.token += 1
        token = self.token
        self.scan = None
        self._show_report(f"Checking the {what}…")
        run_in_background(scan, lambda result: self._scan_done(token, result),
                          lambda message: self._scan_failed(token, message))

    def _scan_done(self, token: int, scan: DatasetScan | TextScan | MusicScan) -> None:
        if token != self.token:
            return  # an older check finishing late
        self.scan = scan
        if isinstance(scan, TextScan | MusicScan):
            self._show_text_scan(scan) if isinstance(scan, TextScan) else self._show_music_scan(scan)
            self.checked.emit()
            return
        report = scan.report
        tone = ", grayscale" if scan.grayscale else ""
        text = f"{len(report.used)} images ready ({report.image_size}×{report.image_size} px for training{tone})"
        if report.skipped:
            text += f"; {len(report.skipped)} skipped (see below)"
        self._show_report("\n".join([text + ".", *report.notes]), details=report.to_text() if report.skipped else "")
        cols = 4 if self.thumb_rows > 1 else 6
        shown = scan.thumbnails[:cols * self.thumb_rows]
        box = QSize(STRIP_WIDTH, 60 * self.thumb_rows if self.thumb_rows > 1 else STRIP_WIDTH // cols)
        self.thumbs.setPixmap(scaled(to_pixmap(grid_array(shown, cols=cols, gutter=1)), box) if len(shown)
                              else QPixmap())
        self.checked.emit()

    def _show_text_scan(self, scan: TextScan) -> None:
        report = scan.report
        text = f"{len(report.files)} text files ready: {report.total_chars:,} characters ({report.encoding_counts()})"
        if report.skipped:
            text += f"; {len(report.skipped)} skipped (see below)"
        notes = [note for note in (report.fallback_note(), *report.notes) if note]
        details = "\n".join(f"{relative_to_root(s.path, report.root)}: {s.reason}" for s in report.skipped)
        self._show_report("\n".join([text + ".", *notes]), details=details)

    def _show_music_scan(self, scan: MusicScan) -> None:
        """MIDI files: how many, their notes and length (the report's first line), the split, the skips."""
        report = scan.report
        first, *_ = report.to_text().splitlines()
        text = f"{len(report.used)} MIDI file(s) ready" + first[first.find(";"):] if ";" in first else first
        if report.skipped:
            text = text.rstrip(".") + f"; {len(report.skipped)} skipped (see below)."
        details = "\n".join(f"{relative_to_root(s.path, report.root)}: {s.reason}" for s in report.skipped)
        self._show_report("\n".join([text, *report.notes]), details=details)

    def _scan_failed(self, token: int, message: str) -> None:
        if token != self.token:
            return
        self.scan = None
        first, _, rest = message.partition("\n")
        self._show_report(first, "error", rest)
        self.checked.emit()

    def _show_report(self, text: str, style: str = "muted", details: str = "") -> None:
        show_note(self.report_label, text, style)
        self.thumbs.clear()
        self.report_text.setPlainText(details)
        self.report_text.setVisible(bool(details))

    # -- drop a folder ---------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if dropped_folder(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        folder = dropped_folder(event)
        event.acceptProposedAction()
        if folder is not None:
            self.edit.setText(folder)
            self.chosen.emit(folder)
