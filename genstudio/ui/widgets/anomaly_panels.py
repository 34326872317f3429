"""Parts of the Anomaly canvas's control panel: the threshold (its value, how it was chosen, the ways to
choose another and to keep it), the reports (CSV, JSON, heatmap PNGs), and the collapsible list of files
a scan skipped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from genstudio.core.errors import GenStudioError
from genstudio.ui.widgets import dialogs
from genstudio.ui.workers import run_in_background


def describe_threshold(threshold, unsaved: bool = False) -> tuple[str, str]:
    """(the value, how it was chosen and whether it is kept) for the readout."""
    if threshold is None:
        return "none yet", ("This model has no threshold: drag the line on the histogram, choose one from "
                            "normal images, or from images you mark.")
    how = threshold.how or "chosen earlier"
    if threshold.saved:
        kept = f"saved with the model {threshold.saved[:10]}"
    elif unsaved:
        kept = "not saved yet"
    elif "training" in how:
        kept = "kept in the model's weights"
    else:
        kept = "for this scan only"
    return f"{threshold.value:.4g}", f"{how[0].upper()}{how[1:]} — {kept}."


class ThresholdPanel(QGroupBox):
    from_normals = Signal()
    best_f1 = Signal()
    save = Signal()

    def __init__(self, parent=None):
        super().__init__("Threshold", parent)
        self.value_label = QLabel("—", objectName="heading")
        self.value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.how_label = QLabel(objectName="muted", wordWrap=True)
        self.percentile_box = QDoubleSpinBox(minimum=50.0, maximum=100.0, value=99.0, decimals=1, singleStep=0.5,
                                             suffix=" %")
        self.percentile_box.setToolTip("The percentile of the normal images' scores the threshold goes at: at 99 %, "
                                       "about 1 in 100 normal images is flagged")
        self.normals_button = QPushButton("Auto from normals…", toolTip="Score images you know are normal and put "
                                          "the threshold at the chosen percentile of their scores")
        self.normals_button.clicked.connect(self.from_normals)
        self.f1_button = QPushButton("Best F1 from marked", toolTip="Mark at least one image anomalous and one "
                                     "normal (A / N in the gallery): the threshold that tells them apart best")
        self.f1_button.clicked.connect(self.best_f1)
        self.save_button = QPushButton("Save threshold", toolTip="Keep this threshold with the model: later scans "
                                       "(and the command line) use it")
        self.save_button.clicked.connect(self.save)
        normals = QHBoxLayout()
        normals.addWidget(self.normals_button, 1)
        normals.addWidget(self.percentile_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.value_label)
        layout.addWidget(self.how_label)
        layout.addLayout(normals)
        layout.addWidget(self.f1_button)
        layout.addWidget(self.save_button)

    def show_threshold(self, threshold, unsaved: bool = False) -> None:
        value, how = describe_threshold(threshold, unsaved)
        self.value_label.setText(value)
        self.how_label.setText(how)

    @property
    def percentile(self) -> float:
        return self.percentile_box.value()


class ReportPanel(QGroupBox):
    """Export the scan: CSV and JSON reports (most unusual first, as the gallery lists them) and one heatmap
    PNG per image, written in the background."""

    written = Signal(str)  # a sentence for the canvas's progress line

    def __init__(self, heat_options: Callable[[], tuple[float, bool]], parent=None):
        super().__init__("Report", parent)
        self.heat_options = heat_options  # (opacity, side by side) as the view shows the heatmaps now
        self.result = None
        self.name = "scan"  # what the scan read, for the suggested file names
        self.folder = ""  # where the file dialogs start
        self.writing = False  # heatmaps being written
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout(self)
        for key, label, tip in (("csv", "CSV…", "File, score, verdict, threshold and model, one row per image"),
                                ("json", "JSON…", "The ranked list with the threshold, the counts and the "
                                                  "skipped files"),
                                ("heatmaps", "Heatmaps…", "One PNG per image, its heatmap over it (or side by "
                                                          "side, as the view shows), into a folder")):
            button = QPushButton(label, toolTip=f"Export: {tip}")
            button.clicked.connect(lambda checked=False, k=key: self.export(k))
            row.addWidget(button)
            self.buttons[key] = button

    def set_result(self, result, name: str, folder: str = "") -> None:
        self.result, self.name, self.folder = result, name, folder

    def set_enabled(self, enabled: bool) -> None:
        for button in self.buttons.values():
            button.setEnabled(enabled)

    def export(self, kind: str) -> Path | None:
        """"csv", "json" (a file chosen in a dialog) or "heatmaps" (a folder); the path, or None."""
        from genstudio.tasks.inspect import write_csv, write_json

        result = self.result
        if result is None or not result.items or self.writing:
            return None
        if kind == "heatmaps":
            folder = dialogs.open_folder(self, "Write the heatmap PNGs into…", self.folder)
            if folder:
                self._write_heatmaps(Path(folder))
            return Path(folder) if folder else None
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in f"{self.name}-{result.model}")
        label, writer = {"csv": ("CSV files (*.csv)", write_csv), "json": ("JSON files (*.json)", write_json)}[kind]
        suggested = str(Path(self.folder).parent / f"{stem}.{kind}") if self.folder else f"{stem}.{kind}"
        chosen = dialogs.save_file(self, f"Export the report as {kind.upper()}", suggested, label)
        if not chosen:
            return None
        path = Path(chosen) if chosen.lower().endswith(f".{kind}") else Path(f"{chosen}.{kind}")
        try:
            writer(result, path)
        except GenStudioError as err:
            dialogs.warn(self, "Could not export", str(err))
            return None
        self.written.emit(f"Wrote {path.name} ({len(result.items)} images, most unusual first).")
        return path

    def _write_heatmaps(self, folder: Path) -> None:
        from genstudio.tasks.inspect import write_heatmaps

        result, (opacity, side) = self.result, self.heat_options()
        self.writing = True
        enabled = self.buttons["csv"].isEnabled()
        self.set_enabled(False)
        self.written.emit("Writing the heatmaps…")

        def done(written) -> None:
            self.writing = False
            self.set_enabled(enabled)
            self.written.emit(f"Wrote {len(written)} heatmap PNGs to {folder.name}, in rank order.")

        def failed(message: str) -> None:
            self.writing = False
            self.set_enabled(enabled)
            self.written.emit("The heatmaps were not all written.")
            dialogs.warn(self, "Could not export the heatmaps", message)

        run_in_background(lambda: write_heatmaps(result, folder, opacity, side_by_side=side), done, failed)


class SkippedList(QWidget):
    """"N files skipped" that opens into the files and why each could not be read."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.toggle = QToolButton(checkable=True, toolButtonStyle=Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self._toggled)
        self.list = QListWidget(objectName="skipped", visible=False)
        self.list.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.list)
        self.set_skipped([])

    def set_skipped(self, skipped: list) -> None:
        self.list.clear()
        for entry in skipped:
            cell = QListWidgetItem(f"{Path(entry.path).name} — {entry.reason}")
            cell.setToolTip(f"{entry.path}\n{entry.reason}")
            self.list.addItem(cell)
        count = len(skipped)
        rows = max(1, min(count, 5))
        self.list.setFixedHeight(rows * (self.list.fontMetrics().height() * 2 + 6) + 6)  # two lines a file, at most
        self.toggle.setText(f"{count} file{'s' if count != 1 else ''} skipped")
        self.setVisible(bool(count))
        if not count:
            self.toggle.setChecked(False)

    def _toggled(self, shown: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.list.setVisible(shown)
