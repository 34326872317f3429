"""The Anomaly canvas: check a batch of images against what "normal" looks like, and see where each departs.

Pick a detector (any model with the anomaly capability: a feature detector trained on a folder of
normal images, an autoencoder, a flow...), then scan a folder, dropped images, or the images the Generate
canvas just made. ``tasks.inspect.inspect`` scores them in a GeneratorWorker (progress per image; Stop
or Esc keeps the images scored so far) and the canvas shows them ranked, most unusual first, with the
heatmap over each, the selected one large (overlay, or image | reconstruction | difference), and the
scores as a histogram whose threshold line splits them into pass and flagged as it is dragged. A
threshold can also come from images known to be normal (a percentile of their scores, ``calibrate``) or
from images the user marks (best F1); Save keeps it with the model. Reports go out as CSV, JSON and
heatmap PNGs. The tasks are attributes of the canvas (torch comes with the first scan), so tests use fakes.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from genstudio.core.data.images import IMAGE_EXTENSIONS
from genstudio.core.errors import GenStudioError
from genstudio.core.events import Progress, describe_eta
from genstudio.core.registry import ArchSpec, Capability
from genstudio.core.store import ModelInfo, ModelStore
from genstudio.tasks.inspect import (
    InspectRequest,
    InspectResult,
    Threshold,
    f1_at,
    save_threshold,
    threshold_best_f1,
    threshold_from_normals,
)
from genstudio.ui.settings import Settings
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.anomaly_gallery import FLAG_COLOR, PASS_COLOR, AnomalyGallery
from genstudio.ui.widgets.anomaly_panels import ReportPanel, SkippedList, ThresholdPanel
from genstudio.ui.widgets.anomaly_view import AnomalyView
from genstudio.ui.widgets.empty_state import empty_page, show_work_or_empty
from genstudio.ui.widgets.model_picker import fill_model_box, select_model
from genstudio.ui.workers import GeneratorWorker, bind, device_worker, start

EMPTY_TEXT = ("No anomaly detector yet. Train one on a folder of normal images (say, good product photos or "
              "one kind of sketch): it learns what normal looks like, then finds what does not fit.")
# Checked toggles (the gallery's filter, the view's mode, the marks) look pressed in both themes.
TOGGLE_STYLE = "QPushButton:checked { background: palette(highlight); color: palette(highlighted-text); }"
START_TEXT = ("Drop a folder or images here, or press Scan folder…\n\nEach image gets a score and a heatmap; "
              "the most unusual come first.")


def inspect_images(request, device, store=None, should_stop=None):
    """``tasks.inspect.inspect``, which imports torch when it runs."""
    from genstudio.tasks.inspect import inspect as task

    return (yield from task(request, device, store, should_stop))


def calibrate_threshold(model, folder, device, percentile=99.0, store=None):
    """``tasks.inspect.calibrate``: scores a folder of normal images and saves the percentile as the threshold."""
    from genstudio.tasks.inspect import calibrate as task

    return (yield from task(model, folder, device, percentile, store))


def inspects_images(spec: ArchSpec) -> bool:
    return spec.can(Capability.ANOMALY) and spec.modality == "image"


def detector_arch(specs: list[ArchSpec]) -> str | None:
    """The architecture "Train a detector…" preselects: one that scores image anomalies, the one made for
    nothing else first (fewest other capabilities)."""
    found = [spec for spec in specs if inspects_images(spec) and spec.trainer]
    return min(found, key=lambda spec: len(spec.capabilities)).name if found else None


def describe_model(info: ModelInfo, spec: ArchSpec) -> str:
    config = info.card.get("config", {})
    size = config.get("image_size")
    facts = [info.arch, f"{info.card.get('steps', 0):,} steps"] + ([f"{size}×{size} px"] if size else [])
    if spec.can(Capability.RECONSTRUCT):
        facts.append("shows reconstructions")
    return " · ".join(facts) + ("\n(bundled: its threshold cannot be saved)" if info.bundled else "")


class AnomalyCanvas(QWidget):
    busy = Signal(str)  # a status line for the window ("" when idle)
    go_train = Signal()
    train_detector = Signal(str)  # a folder of normal images to train a detector on, in the Train canvas

    def __init__(self, settings: Settings, store: ModelStore | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.store = store
        self.run_inspect, self.run_calibrate = inspect_images, calibrate_threshold  # tests put fakes here
        self.entries: dict[str, tuple[ModelInfo, ArchSpec]] = {}
        self.worker: GeneratorWorker | None = None
        self.job = ""  # "scan", "calibrate" (a saved threshold from normals) or "normals" (the same, unsaved)
        self.stop_flag = threading.Event()  # Stop during a scan: inspect returns the images scored so far
        self.result: InspectResult | None = None
        self.unsaved: dict[str, Threshold] = {}  # model -> a threshold chosen here and not saved yet
        self.source = ""  # what the last scan read, in words
        self.source_normals = ""  # the folder of normal images a threshold is being chosen from
        self.started_at = 0.0
        self.histogram = None  # built with the first result (pyqtgraph)
        self.setAcceptDrops(True)
        self.setStyleSheet(TOGGLE_STYLE)
        self._build_controls()
        self._build_view()
        layout = QHBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.view, 1)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.cancel,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._restore_choices()
        self.set_models([], loading=True)

    # -- layout ---------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.controls = QFrame(objectName="panel")
        self.controls.setFixedWidth(300)
        self.model_box = QComboBox()
        self.model_box.currentIndexChanged.connect(self._model_changed)
        self.model_note = QLabel(objectName="muted", wordWrap=True)
        form = QFormLayout()
        form.addRow("Detector", self.model_box)
        form.addRow("", self.model_note)
        self.scan_button = QPushButton("Scan folder…", objectName="primary",
                                       toolTip="Score every image in a folder (and its subfolders)")
        self.scan_button.clicked.connect(self.choose_folder)
        self.stop_button = QPushButton("Stop", enabled=False, toolTip="Stop; the images scanned so far stay (Esc)")
        self.stop_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.scan_button, 1)
        buttons.addWidget(self.stop_button)
        self.progress = QProgressBar(visible=False, format="%v / %m images")
        self.progress_label = QLabel(objectName="muted", wordWrap=True)
        self.skipped = SkippedList()
        self.threshold_panel = ThresholdPanel()
        self.threshold_panel.from_normals.connect(self.threshold_from_normals)
        self.threshold_panel.best_f1.connect(self.threshold_from_marks)
        self.threshold_panel.save.connect(self.save_threshold)
        self.report = ReportPanel(lambda: (self.inspector.opacity, self.inspector.mode == "side"))
        self.report.written.connect(self.progress_label.setText)
        self.train_button = QPushButton("Train a detector…", toolTip="Train a new detector on a folder of normal "
                                        "images (in the Train canvas)")
        self.train_button.clicked.connect(self.ask_train_detector)
        layout = QVBoxLayout(self.controls)
        layout.addWidget(QLabel("Anomaly", objectName="heading"))
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.skipped)
        layout.addWidget(self.threshold_panel)
        layout.addWidget(self.report)
        layout.addStretch(1)
        layout.addWidget(self.train_button)
        layout.addWidget(QLabel("Tip: drop a folder or images anywhere here. In the gallery, A / N mark an image "
                                "anomalous / normal; Esc stops a scan.", objectName="hint", wordWrap=True))

    def _build_view(self) -> None:
        self.view = QStackedWidget()
        self.empty, self.empty_label, self.empty_button = empty_page(self.ask_train_detector)
        self.empty_button.setText("Train a detector…")
        self.work = QWidget()
        self.summary = QLabel(textFormat=Qt.TextFormat.RichText)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.pages = QStackedWidget()
        self.start_page = QLabel(START_TEXT, objectName="empty", alignment=Qt.AlignmentFlag.AlignCenter,
                                 wordWrap=True)
        self.gallery = AnomalyGallery()
        self.gallery.current_changed.connect(self._show_current)
        self.gallery.marks_changed.connect(self._marks_changed)
        self.inspector = AnomalyView()
        self.inspector.opacity_changed.connect(self.gallery.set_opacity)
        self.inspector.mark_requested.connect(lambda kind: self.gallery.mark(kind, self._current_only()))
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.gallery)
        top.addWidget(self.inspector)
        top.setSizes([460, 440])
        self.histogram_box = QWidget()
        self.histogram_box.setMinimumHeight(130)
        QVBoxLayout(self.histogram_box).setContentsMargins(0, 0, 0, 0)
        self.results = QSplitter(Qt.Orientation.Vertical)
        self.results.addWidget(top)
        self.results.addWidget(self.histogram_box)
        self.results.setStretchFactor(0, 1)
        self.results.setSizes([520, 170])
        self.pages.addWidget(self.start_page)
        self.pages.addWidget(self.results)
        work_layout = QVBoxLayout(self.work)
        work_layout.setContentsMargins(0, 0, 0, 0)
        work_layout.addWidget(self.summary)
        work_layout.addWidget(self.pages, 1)
        self.view.addWidget(self.empty)
        self.view.addWidget(self.work)

    def ensure_histogram(self):
        if self.histogram is None:
            from genstudio.ui.widgets.score_histogram import ScoreHistogram

            self.histogram = ScoreHistogram()
            self.histogram.moved.connect(self.set_threshold)
            self.histogram.released.connect(self.set_threshold)
            self.histogram_box.layout().addWidget(self.histogram)
        return self.histogram

    def apply_colors(self, colors: dict[str, str]) -> None:
        if self.histogram is not None:
            self.histogram.apply_colors(colors)

    # -- models -----------------------------------------------------------------------------------
    def set_models(self, entries: list[tuple[ModelInfo, ArchSpec]], loading: bool = False) -> None:
        """The library's models; those that score image anomalies are listed."""
        entries = [(info, spec) for info, spec in entries if inspects_images(spec)]
        current = self.model_box.currentData() or self.settings.get("anomaly/model", "")
        self.entries = {info.name: (info, spec) for info, spec in entries}
        fill_model_box(self.model_box, [(info.name, info.name) for info, _ in entries], current)
        show_work_or_empty(self, bool(entries), loading, EMPTY_TEXT)
        self._model_changed()

    def select_model(self, name: str) -> bool:
        return select_model(self.model_box, name)

    def model(self) -> str:
        return self.model_box.currentData() or ""

    def _model_changed(self) -> None:
        entry = self.entries.get(self.model())
        self.model_note.setText(describe_model(*entry) if entry else "")
        self._show_threshold()
        self._set_busy(self.worker is not None)

    # -- scanning ---------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = dialogs.open_folder(self, "Scan a folder of images", str(self.settings.get("anomaly/folder", "")))
        if folder:
            self.scan(folder=folder)

    def scan(self, folder: str = "", files: list[str] | None = None, images=None, names: list[str] | None = None
             ) -> bool:
        """Scan a folder, files, and/or pictures in memory (N×H×W×3 uint8) with the chosen detector."""
        if self.worker is not None or not self.model():
            return False
        images = [] if images is None else list(images)
        request = InspectRequest(self.model(), folder=folder, files=list(files or []), images=images,
                                 names=list(names or []))
        if folder:
            self.settings.set("anomaly/folder", folder)
            self.source = Path(folder).name or folder
        else:
            count = len(request.files) + len(images)
            self.source = f"{count} {'generated ' if images else ''}image{'s' if count != 1 else ''}"
        store, stop = self.store, self.stop_flag
        self.stop_flag.clear()
        self._start("scan", lambda device: self.run_inspect(request, device, store, stop.is_set),
                    f"Scanning {self.source} with {request.model}…")
        return True

    def scan_images(self, images: np.ndarray, names: list[str]) -> bool:
        """Pictures from another canvas (the Generate canvas's grid)."""
        if self.worker is not None:
            self.progress_label.setText("A scan is running: stop it first to inspect these images.")
            return False
        if not self.model():
            return False
        return self.scan(images=images, names=names)

    def _start(self, job: str, task, status: str) -> None:
        self.save_choices()
        self.job = job
        self.worker = device_worker(task, self.settings.device, self.settings.threads)
        bind(self.worker, self)
        self.started_at = time.perf_counter()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.progress_label.setText("Loading the detector…")
        self._set_busy(True)
        self.busy.emit(status)
        start(self.worker)

    def cancel(self) -> None:
        """Stop the scan (Esc): the images scored so far are shown."""
        if self.worker is None:
            return
        if self.job == "scan":
            self.stop_flag.set()
        else:
            self.worker.cancel()
        self.progress_label.setText("Stopping…")
        self.stop_button.setEnabled(False)

    def is_busy(self) -> bool:
        return self.worker is not None

    def _on_event(self, event) -> None:
        if not isinstance(event, Progress):
            return
        self.progress.setRange(0, max(event.total, 1))
        self.progress.setValue(event.step)
        what = "Scanning" if self.job == "scan" else "Scoring the normal images"
        if not self.stop_flag.is_set():
            self.progress_label.setText(f"{what}… {event.step} of {event.total} · {describe_eta(event.eta_s)}. "
                                        "Esc stops.")
        self.busy.emit(f"{what}: {event.step} / {event.total}")

    def _on_finished(self, result) -> None:
        seconds = time.perf_counter() - self.started_at
        if self.job == "scan":
            self.show_result(result)
            done = f"{len(result.items)} images in {seconds:.1f} s"
            self.progress_label.setText(f"Stopped: kept the {done} scanned before Stop." if result.cancelled
                                        else f"Scanned {done}.")
        elif self.job == "calibrate":
            self.unsaved.pop(self.model(), None)
            self._use_threshold(result)
            self.progress_label.setText("Threshold chosen from the normal images and saved with the model.")
        elif self.job == "normals":
            self._threshold_from_scores(result.scores(), f"normal images in {self.source_normals}")

    def _on_failed(self, message: str) -> None:
        self.progress_label.setText("Failed.")
        dialogs.warn(self, "Inspection failed" if self.job == "scan" else "Could not choose a threshold", message)

    def _on_cancelled(self) -> None:
        self.progress_label.setText("Stopped.")

    def _on_ended(self) -> None:
        self.worker, self.job = None, ""
        self.progress.hide()
        self._set_busy(False)
        self.busy.emit("")

    def _set_busy(self, busy: bool) -> None:
        has_model, has_result = bool(self.model()), self.result is not None and bool(self.result.items)
        self.scan_button.setEnabled(has_model and not busy)
        self.stop_button.setEnabled(busy)
        self.model_box.setEnabled(has_model and not busy)
        self.train_button.setEnabled(not busy)
        self.threshold_panel.normals_button.setEnabled(has_model and not busy)
        self.report.set_enabled(has_result and not busy and not self.report.writing)
        self._marks_changed()
        self._show_threshold()

    # -- the result -------------------------------------------------------------------------------
    def show_result(self, result: InspectResult) -> None:
        self.result = result
        self.report.set_result(result, self.source, str(self.settings.get("anomaly/folder", "")))
        if result.model in self.unsaved:  # a threshold chosen here earlier, not saved: it still applies
            result.apply_threshold(self.unsaved[result.model])
        self.skipped.set_skipped(result.skipped)
        if not result.items:
            self.pages.setCurrentWidget(self.start_page)
            self.gallery.show_items([], (0.0, 1.0))
            self._update_summary()
            return
        self.pages.setCurrentWidget(self.results)
        histogram = self.ensure_histogram()
        histogram.set_scores(result.scores(), None if result.threshold is None else result.threshold.value)
        self.gallery.show_items(result.items, result.heat_range())
        self._marks_changed()
        self._update_summary()

    def set_threshold(self, value: float) -> None:
        """The histogram's line moved: judge every image again."""
        if self.result is None:
            return
        threshold = Threshold(float(value), "set by hand on the histogram")
        self.unsaved[self.result.model] = threshold
        self.result.apply_threshold(threshold)
        self._verdicts_changed()

    def _use_threshold(self, threshold: Threshold | None) -> None:
        """A threshold chosen another way: the line and the verdicts follow."""
        if self.result is not None and self.result.model == self.model():
            self.result.apply_threshold(threshold)
            if self.histogram is not None:
                self.histogram.set_threshold(None if threshold is None else threshold.value)
            self._verdicts_changed()
        else:
            self._show_threshold(threshold)

    def _verdicts_changed(self) -> None:
        self.gallery.refresh_verdicts()
        self._show_current(self.gallery.current_item())
        self._update_summary()
        self._show_threshold()

    def current_threshold(self) -> Threshold | None:
        if self.result is not None and self.result.model == self.model():
            return self.result.threshold
        return self.unsaved.get(self.model())

    def _show_threshold(self, threshold: Threshold | None = None) -> None:
        threshold = threshold or self.current_threshold()
        unsaved = threshold is not None and self.unsaved.get(self.model()) is threshold
        self.threshold_panel.show_threshold(threshold, unsaved)
        if threshold is None and (self.result is None or self.result.model != self.model()):
            self.threshold_panel.how_label.setText("The model's own threshold (saved, or chosen in training) "
                                                   "judges each scan.")
            self.threshold_panel.value_label.setText("—")
        self.threshold_panel.save_button.setEnabled(self.worker is None and unsaved)

    def _update_summary(self) -> None:
        result = self.result
        if result is None:
            self.summary.setText("")
            return
        parts = [f"<b>{self.source}</b>", f"{len(result.items)} images"]
        if result.threshold is not None:
            parts += [f"<b style='color:{FLAG_COLOR.name()}'>{len(result.flagged)} flagged</b>",
                      f"<b style='color:{PASS_COLOR.name()}'>{len(result.passed)} pass</b>"]
        else:
            parts.append("no threshold yet")
        if result.skipped:
            parts.append(f"{len(result.skipped)} skipped")
        if result.cancelled:
            parts.append("stopped early")
        self.summary.setText(" · ".join(parts) + f" · {result.model}")

    def _show_current(self, item) -> None:
        rank = self.gallery.ranks.get(id(item), 0) if item is not None else 0
        mark = self.gallery.marks.get(item.path, "") if item is not None else ""
        self.inspector.show_item(item, self.gallery.heat_range, rank, len(self.gallery.items), mark)

    def _current_only(self) -> list:
        item = self.gallery.current_item()
        return [] if item is None else [item]

    def _marks_changed(self) -> None:
        anomalous, normal = self.gallery.marked()
        same_model = self.result is not None and self.result.model == self.model()
        self.threshold_panel.f1_button.setEnabled(self.worker is None and same_model and bool(anomalous)
                                                  and bool(normal))
        item = self.gallery.current_item()
        self.inspector.set_mark(self.gallery.marks.get(item.path, "") if item is not None else "")
        if self.histogram is not None:
            self.histogram.set_marks([i.score for i in anomalous], [i.score for i in normal])

    # -- choosing the threshold -------------------------------------------------------------------
    def threshold_from_marks(self) -> Threshold | None:
        """Best F1 at telling the images marked anomalous from those marked normal."""
        anomalous, normal = self.gallery.marked()
        if not anomalous or not normal or self.result is None or self.result.model != self.model():
            return None
        scores = [item.score for item in anomalous + normal]
        labels = [1] * len(anomalous) + [0] * len(normal)
        try:
            value = threshold_best_f1(scores, labels)
        except GenStudioError as err:
            dialogs.warn(self, "Cannot choose a threshold", str(err))
            return None
        threshold = Threshold(value, f"best F1 ({f1_at(scores, labels, value):.2f}) on {len(scores)} marked images")
        return self._choose(threshold)

    def threshold_from_normals(self) -> None:
        """From a folder of images known to be normal (or this scan, when all its images are normal)."""
        if self.worker is not None or not self.model():
            return
        percentile = self.threshold_panel.percentile
        options = ["Choose a folder…"] + (["Every image in this scan is normal"] if self.result and self.result.items
                                          and self.result.model == self.model() else [])
        choice = dialogs.choose(self, "Threshold from normal images",
                                f"The threshold goes at the {percentile:g}th percentile of the scores of images "
                                f"you know are normal: about {100 - percentile:g} in 100 normal images will be "
                                "flagged. Score a folder of normal images (not the ones the detector trained on), "
                                "or use this scan if none of its images is anomalous?", options)
        if choice == "Every image in this scan is normal":
            self._threshold_from_scores(self.result.scores(), f"images in {self.source} (taken as normal)")
            return
        if choice is None:
            return
        folder = dialogs.open_folder(self, "A folder of normal images", str(self.settings.get("anomaly/folder", "")))
        if not folder:
            return
        model, store = self.model(), self.store
        self.source_normals = Path(folder).name
        if self.entries[model][0].bundled:  # its card cannot change: score the folder, keep the threshold here
            request = InspectRequest(model, folder=folder, reconstructions=False)
            self._start("normals", lambda device: self.run_inspect(request, device, store), "Choosing a threshold…")
        else:
            self._start("calibrate", lambda device: self.run_calibrate(model, folder, device, percentile, store),
                        "Choosing a threshold…")

    def _threshold_from_scores(self, scores, what: str) -> Threshold | None:
        percentile = self.threshold_panel.percentile
        try:
            value = threshold_from_normals(scores, percentile)
        except GenStudioError as err:
            dialogs.warn(self, "Cannot choose a threshold", str(err))
            return None
        return self._choose(Threshold(value, f"{percentile:g}th percentile of {len(scores)} {what}"))

    def _choose(self, threshold: Threshold) -> Threshold:
        self.unsaved[self.model()] = threshold
        self._use_threshold(threshold)
        self.progress_label.setText(f"Threshold {threshold.value:.4g}: {threshold.how}. Save keeps it with the model.")
        return threshold

    def save_threshold(self) -> bool:
        threshold, model = self.current_threshold(), self.model()
        if threshold is None or not model:
            return False
        try:
            saved = save_threshold(model, threshold.value, threshold.how, self.store)
        except GenStudioError as err:
            dialogs.warn(self, "Cannot save the threshold", str(err))
            return False
        self.unsaved.pop(model, None)
        self._use_threshold(saved)
        self.progress_label.setText(f"Threshold {saved.value:.4g} saved with {model}.")
        return True

    # -- training a detector ----------------------------------------------------------------------
    def ask_train_detector(self) -> None:
        folder = dialogs.open_folder(self, "Choose a folder of normal images to train a detector on",
                                     str(self.settings.get("anomaly/folder", "")))
        if folder:
            self.train_detector.emit(folder)

    # -- settings ---------------------------------------------------------------------------------
    def _restore_choices(self) -> None:
        s = self.settings
        self.inspector.set_opacity(min(max(s.get_float("anomaly/opacity", 0.5), 0.0), 1.0))
        self.inspector.set_mode(str(s.get("anomaly/view", "overlay")))
        self.threshold_panel.percentile_box.setValue(s.get_float("anomaly/percentile", 99.0))

    def save_choices(self) -> None:
        s = self.settings
        if self.model():
            s.set("anomaly/model", self.model())
        s.set("anomaly/opacity", self.inspector.opacity)
        s.set("anomaly/view", self.inspector.mode)
        s.set("anomaly/percentile", self.threshold_panel.percentile)

    # -- drops ------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and all(url.isLocalFile() for url in urls) and self.worker is None and self.model():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        event.acceptProposedAction()
        self.scan_paths(paths)

    def scan_paths(self, paths: list[Path]) -> bool:
        """Dropped paths: a folder is scanned whole (the first one), image files one by one."""
        folders = [p for p in paths if p.is_dir()]
        files = [str(p) for p in paths if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
        if not folders and not files:
            dialogs.warn(self, "No pictures there", "Drop a folder or image files (PNG, JPEG, WebP, BMP, TIFF or GIF).")
            return False
        return self.scan(folder=str(folders[0]) if folders else "", files=files)
