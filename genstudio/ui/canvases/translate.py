"""The Translate canvas: turn pictures of one domain into the other (horse → zebra, photo → painting)
with a model trained on two folders, and compare the result with the original.

Drop images or a folder; selecting one translates it in a GeneratorWorker (large pictures in tiles,
with progress and cancel) and shows it beside the original, or under a divider to drag across it.
"Translate all…" writes every input into an output folder and lists the files it had to skip.
The tasks (``tasks/translate.py``) are attributes of the canvas, so tests can drive it with fakes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from genstudio import __version__
from genstudio.core.data.images import load_image
from genstudio.core.errors import GenStudioError
from genstudio.core.events import Preview, Progress, describe_eta
from genstudio.core.registry import ArchSpec, Capability
from genstudio.core.store import ModelInfo
from genstudio.tasks import translate as translation  # torch is imported when a model loads, not here
from genstudio.ui.settings import Settings
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.compare_view import CompareView
from genstudio.ui.widgets.empty_state import empty_page
from genstudio.ui.widgets.model_picker import fill_model_box, select_model
from genstudio.ui.workers import GeneratorWorker, bind, start

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif)"
TILE_SIZES = (192, 256, 384, 512, 768, 1024)  # the medium model needs ≥ 152 px
EMPTY_TEXT = "No translation model yet — train a CycleGAN on two folders in Train."
DROP_HINT = "Drop images or a folder here (or use Open files… / Open folder…), then select one to translate it."


def translate_one(model: str, path: Path, direction: str, tile: int, device):
    """Decode ``path`` and translate it: yields a Preview of the original, then Progress per tile;
    returns (original, translation), both H×W×3 uint8."""
    try:
        image = load_image(path)
    except ValueError as err:
        raise GenStudioError(f"Cannot translate {Path(path).name}: {err}.") from None
    yield Preview(0, image=image, caption="original")
    _card, network = translation.translation_model(model, device, None)
    translated = yield from translation.translate_image(network, image, direction, tile=tile or None)
    return image, translated


def model_domains(info: ModelInfo) -> tuple[str, str]:
    """The names of the two folders the model was trained on (its card's ``domains``), else A and B."""
    domains = info.card.get("config", {}).get("domains") or ("A", "B")
    return str(domains[0]), str(domains[1])


def source_and_target(params: dict[str, Any]) -> tuple[str, str]:
    """The domain names a translation went from and to."""
    a, b = params["domains"]
    return (a, b) if params["direction"] == "a2b" else (b, a)


@dataclass
class Shown:
    """The translation in the compare view, and what made it (for saving and for the caption)."""

    path: Path
    original: np.ndarray
    translated: np.ndarray
    params: dict[str, Any]


class TranslateCanvas(QWidget):
    busy = Signal(str)  # a status line for the window ("" when idle)
    go_train = Signal()

    def __init__(self, settings: Settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.entries: dict[str, tuple[ModelInfo, ArchSpec]] = {}
        self.inputs: list[Path] = []
        self.worker: GeneratorWorker | None = None
        self.job = ""  # "one" or "batch" while the worker runs
        self.pending = False  # another picture was chosen while one was being translated
        self.shown: Shown | None = None
        self.running: dict[str, Any] | None = None  # the params of the picture being translated
        self.report = None  # the last batch's TranslateReport
        self.output_dir: Path | None = None
        self.batch_done = 0  # pictures finished in the running batch
        self.started_at = 0.0
        # The work, replaceable by tests (plain generators of events returning their result).
        self.translate_one, self.translate_files = translate_one, translation.translate_files
        self.list_inputs, self.make_request = translation.list_inputs, translation.TranslateRequest
        self.setAcceptDrops(True)
        self._build_controls()
        self._build_view()
        layout = QHBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.view, 1)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.cancel)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)
        self.set_models([], loading=True)

    # -- layout ---------------------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.controls = QFrame(objectName="panel")
        self.controls.setFixedWidth(300)
        self.model_box = QComboBox()
        self.model_box.currentIndexChanged.connect(self._model_changed)
        self.model_note = QLabel(objectName="muted", wordWrap=True)
        self.direction_box = QComboBox()
        self.direction_box.currentIndexChanged.connect(self._settings_changed)
        self.tile_box = QComboBox()
        self.tile_box.setToolTip("Pictures larger than a tile are translated in overlapping tiles, blended without "
                                 "seams. Smaller tiles use less memory; Auto suits the model.")
        self.tile_box.addItem("Auto", 0)
        for size in TILE_SIZES:
            self.tile_box.addItem(f"{size} px", size)
        self.tile_box.setCurrentIndex(max(self.tile_box.findData(self.settings.get_int("translate/tile", 0)), 0))
        self.tile_box.currentIndexChanged.connect(self._settings_changed)
        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("", self.model_note)
        form.addRow("Direction", self.direction_box)
        form.addRow("Tile size", self.tile_box)
        self.open_file_button = QPushButton("Open files…")
        self.open_file_button.clicked.connect(self.open_file)
        self.open_folder_button = QPushButton("Open folder…")
        self.open_folder_button.clicked.connect(self.open_folder)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Empty the list (the files stay where they are)")
        self.clear_button.clicked.connect(self.clear_inputs)
        heading_row = QHBoxLayout()
        heading_row.addWidget(QLabel("Pictures"), 1)
        heading_row.addWidget(self.clear_button)
        open_row = QHBoxLayout()
        open_row.addWidget(self.open_file_button)
        open_row.addWidget(self.open_folder_button)
        self.input_list = QListWidget()
        self.input_list.setToolTip("Select a picture to translate it")
        self.input_list.currentRowChanged.connect(lambda _row: self.translate_current())
        self.inputs_label = QLabel("Drop images or a folder here.", objectName="muted", wordWrap=True)
        self.batch_button = QPushButton("Translate all…", objectName="primary")
        self.batch_button.setToolTip("Translate every picture in the list into a folder you choose")
        self.batch_button.clicked.connect(self.translate_all)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.setToolTip("Cancel (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.batch_button, 1)
        buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar(textVisible=False)
        self.progress_label = QLabel(objectName="muted", wordWrap=True)
        layout = QVBoxLayout(self.controls)
        layout.addWidget(QLabel("Translate", objectName="heading"))
        layout.addLayout(form)
        layout.addLayout(heading_row)
        layout.addLayout(open_row)
        layout.addWidget(self.input_list, 1)
        layout.addWidget(self.inputs_label)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)

    def _build_view(self) -> None:
        self.view = QStackedWidget()
        self.empty, self.empty_label, self.empty_button = empty_page(self.go_train)
        self.view.addWidget(self.empty)
        self.view.addWidget(self._build_compare_page())
        self.view.addWidget(self._build_batch_page())

    def _build_compare_page(self) -> QWidget:
        self.compare_page = QWidget()
        self.compare = CompareView(DROP_HINT)
        self.mode_tabs = QTabBar(drawBase=False, expanding=False, usesScrollButtons=False)
        for mode, label, tip in (("side", "Side by side", "The original and the translation next to each other"),
                                 ("swipe", "Swipe", "Drag the divider across the picture (or use ← →)")):
            self.mode_tabs.setTabData(self.mode_tabs.addTab(label), mode)
            self.mode_tabs.setTabToolTip(self.mode_tabs.count() - 1, tip)
        self.mode_tabs.currentChanged.connect(lambda index: self.set_mode(self.mode_tabs.tabData(index)))
        bar = QHBoxLayout()
        bar.addWidget(self.mode_tabs)
        self.result_info = QLabel(objectName="muted")
        self.save_button = QPushButton("Save translation…", enabled=False)
        self.save_button.setToolTip("Save the translation as PNG (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        bar.addWidget(self.result_info, 1)
        bar.addWidget(self.save_button)
        layout = QVBoxLayout(self.compare_page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.compare, 1)
        self.set_mode(str(self.settings.get("translate/compare", "swipe")))
        return self.compare_page

    def _build_batch_page(self) -> QWidget:
        self.batch_page = QFrame(objectName="panel")
        self.batch_summary = QLabel(objectName="heading", wordWrap=True)
        self.batch_folder = QLabel(objectName="muted", wordWrap=True)
        self.open_output_button = QPushButton("Open the output folder")
        self.open_output_button.clicked.connect(
            lambda: self.output_dir and QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.output_dir))))
        back = QPushButton("Back to the comparison")
        back.clicked.connect(lambda: self.view.setCurrentWidget(self.compare_page))
        self.skipped_heading = QLabel("Skipped, and why:")
        self.skipped_list = QListWidget()
        row = QHBoxLayout()
        row.addWidget(self.open_output_button)
        row.addWidget(back)
        row.addStretch(1)
        layout = QVBoxLayout(self.batch_page)
        layout.addWidget(self.batch_summary)
        layout.addWidget(self.batch_folder)
        layout.addLayout(row)
        layout.addWidget(self.skipped_heading)
        layout.addWidget(self.skipped_list, 1)
        return self.batch_page

    # -- models -----------------------------------------------------------------------------------------------
    def set_models(self, entries: list[tuple[ModelInfo, ArchSpec]], loading: bool = False) -> None:
        """The library's models; only those that translate between two domains are offered."""
        entries = [(info, spec) for info, spec in entries if spec.can(Capability.TRANSLATE)]
        current = self.model_box.currentData() or self.settings.get("translate/model", "")
        self.entries = {info.name: (info, spec) for info, spec in entries}
        fill_model_box(self.model_box, [(info.name, info.name) for info, spec in entries], current)
        self.empty_label.setText("Loading models…" if loading else EMPTY_TEXT)
        self.empty_button.setVisible(not loading and not entries)
        if entries:
            if self.view.currentWidget() is self.empty:
                self.view.setCurrentWidget(self.compare_page)
        else:
            self.view.setCurrentWidget(self.empty)
        self.controls.setVisible(loading or bool(entries))
        self._model_changed()

    def select_model(self, name: str) -> bool:
        return select_model(self.model_box, name)

    def _model_changed(self) -> None:
        entry = self.entries.get(self.model_box.currentData())
        direction = self.direction_box.currentData() or self.settings.get("translate/direction", "a2b")
        self.direction_box.blockSignals(True)
        self.direction_box.clear()
        if entry:
            info, spec = entry
            a, b = model_domains(info)
            self.direction_box.addItem(f"{a} → {b}", "a2b")
            self.direction_box.addItem(f"{b} → {a}", "b2a")
            self.direction_box.setCurrentIndex(max(self.direction_box.findData(direction), 0))
            size = info.card.get("config", {}).get("image_size")
            facts = [info.arch, f"{info.card.get('steps', 0):,} steps"] + ([f"trained at {size}×{size} px"] if size
                                                                          else [])
            self.model_note.setText(f"{' · '.join(facts)}\n{a} ↔ {b}")
        else:
            self.model_note.setText("")
        self.direction_box.blockSignals(False)
        self._settings_changed()

    def params(self, path: Path) -> dict[str, Any] | None:
        """How ``path`` would be translated with the controls as they are (recorded in a saved PNG)."""
        entry = self.entries.get(self.model_box.currentData())
        if entry is None:
            return None
        info = entry[0]
        return {"model": info.name, "tool": "translate", "direction": self.direction_box.currentData() or "a2b",
                "tile": self.tile_box.currentData() or 0, "source": path.name, "domains": list(model_domains(info)),
                "model_sha256": info.card.get("weights_sha256", ""), "app": "GenStudio", "app_version": __version__}

    def _settings_changed(self) -> None:
        """Another model, direction or tile size (or new weights): the picture on show is translated again.
        A library refresh that changes none of these leaves it alone."""
        for key, box in (("model", self.model_box), ("direction", self.direction_box), ("tile", self.tile_box)):
            if box.currentData() is not None:
                self.settings.set(f"translate/{key}", box.currentData())
        self._update_buttons()
        path = self.current_input()
        made = self.running if self.job == "one" else self.shown.params if self.shown else None
        if path is not None and made is not None and made != self.params(path):
            self.translate_current()

    def set_mode(self, mode: str) -> None:
        mode = mode if mode in ("side", "swipe") else "swipe"
        self.compare.set_mode(mode)
        self.mode_tabs.setCurrentIndex(0 if mode == "side" else 1)
        self.settings.set("translate/compare", mode)

    # -- inputs ---------------------------------------------------------------------------------------------
    def open_file(self) -> None:
        paths = dialogs.open_files(self, "Open pictures to translate", IMAGE_FILTER)
        if paths:
            self.add_inputs(paths)

    def open_folder(self) -> None:
        folder = dialogs.open_folder(self, "A folder of pictures to translate")
        if folder:
            self.add_inputs([folder])

    def add_inputs(self, paths: list[str]) -> int:
        """Add the pictures in ``paths`` (files or folders) to the list; returns how many were new."""
        try:
            found = self.list_inputs([str(p) for p in paths])
        except GenStudioError as err:
            dialogs.warn(self, "Cannot open", str(err))
            return 0
        if not found:
            names = ", ".join(Path(p).name for p in paths[:3])
            dialogs.warn(self, "No pictures there", f"{names}: no image files (PNG, JPEG, WebP, BMP, TIFF or GIF).")
            return 0
        known = set(self.inputs)
        new = [Path(p) for p in found if Path(p) not in known]
        for path in new:
            item = QListWidgetItem(path.name)
            item.setToolTip(str(path))
            self.input_list.addItem(item)
        self.inputs += new
        self.inputs_label.setText(f"{len(self.inputs)} picture(s). Select one to translate it.")
        if self.input_list.currentRow() < 0 and new:
            self.input_list.setCurrentRow(self.inputs.index(new[0]))
        self._update_buttons()
        return len(new)

    def clear_inputs(self) -> None:
        self.input_list.blockSignals(True)
        self.input_list.clear()
        self.input_list.blockSignals(False)
        self.inputs, self.shown = [], None
        self.compare.clear()
        self.result_info.setText("")
        self.inputs_label.setText("Drop images or a folder here.")
        self._update_buttons()

    def current_input(self) -> Path | None:
        row = self.input_list.currentRow()
        return self.inputs[row] if 0 <= row < len(self.inputs) else None

    # -- translating one picture ------------------------------------------------------------------------------
    def translate_current(self) -> None:
        """Translate the selected picture (after the one in progress has been cancelled)."""
        path = self.current_input()
        if path is None or self.params(path) is None or self.job == "batch":
            return
        if self.worker is not None:
            self.pending = True
            self.worker.cancel()
            return
        params = self.running = self.params(path)
        model, direction, tile = params["model"], params["direction"], params["tile"]
        device_choice, threads, task = self.settings.device, self.settings.threads, self.translate_one

        def job():
            from genstudio.core.devices import resolve_device, set_threads

            set_threads(threads)
            return (yield from task(model, path, direction, tile, resolve_device(device_choice)))

        self.view.setCurrentWidget(self.compare_page)
        self.result_info.setText(f"Translating {path.name}…")
        self._run(job, "one", lambda result: self._one_done(path, params, result), f"Translating {path.name}…")

    def _one_done(self, path: Path, params: dict[str, Any], result: tuple[np.ndarray, np.ndarray]) -> None:
        original, translated = result
        self.shown = Shown(path, original, translated, params)
        source, target = source_and_target(params)
        self.compare.set_images(original, translated, (f"Original ({source})", f"Translated ({target})"))
        height, width = original.shape[:2]
        seconds = time.perf_counter() - self.started_at
        self.result_info.setText(f"{path.name} · {width}×{height} px · {source} → {target} · {seconds:.1f} s")
        self.progress_label.setText(f"Done in {seconds:.1f} s. Drag the divider, or switch to side by side.")

    def save(self) -> Path | None:
        """The translation on show, as a PNG that records how it was made."""
        if self.shown is None:
            return None
        from PIL import Image

        from genstudio.tasks.images import save_png

        suggested = f"{self.shown.path.stem}-{source_and_target(self.shown.params)[1]}.png"
        path = dialogs.save_file(self, "Save the translation", suggested, "PNG images (*.png)")
        if not path:
            return None
        if not path.lower().endswith(".png"):
            path += ".png"
        try:
            return save_png(Image.fromarray(self.shown.translated), path, self.shown.params)
        except OSError as err:
            dialogs.warn(self, "Could not save", f"The translation was not saved: {err}")
            return None

    # -- translating them all ---------------------------------------------------------------------------------
    def translate_all(self) -> None:
        model = self.model_box.currentData()
        if self.worker is not None or not model or not self.inputs:
            return
        folder = dialogs.open_folder(self, "Save the translations into…")
        if not folder:
            return
        output = Path(folder).resolve()
        if any(path.resolve().parent == output for path in self.inputs):
            dialogs.warn(self, "Choose another folder", f"{output} holds pictures being translated. Choose an "
                         "output folder without any of them, so that no original can be overwritten.")
            return
        request = self.make_request(model=model, direction=self.direction_box.currentData() or "a2b",
                                    inputs=[str(p) for p in self.inputs], output_dir=str(output),
                                    tile=self.tile_box.currentData() or 0)
        device_choice, threads, task = self.settings.device, self.settings.threads, self.translate_files

        def job():
            from genstudio.core.devices import resolve_device, set_threads

            set_threads(threads)
            return (yield from task(request, resolve_device(device_choice)))

        self.output_dir, self.batch_done = output, 0
        self._run(job, "batch", self._batch_done, f"Translating {len(self.inputs)} picture(s) into {output.name}…")

    def _batch_done(self, report) -> None:
        self.report = report
        written, skipped = len(report.written), len(report.skipped)
        self.batch_summary.setText(f"{written} written, {skipped} skipped")
        self.batch_folder.setText(f"Into {self.output_dir}")
        self.skipped_list.clear()
        for path, reason in report.skipped:
            item = QListWidgetItem(f"{Path(path).name} — {reason}")
            item.setToolTip(str(path))
            self.skipped_list.addItem(item)
        self.skipped_heading.setVisible(bool(skipped))
        self.skipped_list.setVisible(bool(skipped))
        seconds = time.perf_counter() - self.started_at
        self.progress_label.setText(f"{written} written, {skipped} skipped, in {seconds:.1f} s.")
        self.view.setCurrentWidget(self.batch_page)

    # -- the worker -------------------------------------------------------------------------------------------
    def _run(self, job, kind: str, on_finished, status: str) -> None:
        self.job, self.pending = kind, False
        self.worker = GeneratorWorker(job)
        bind(self.worker, self, on_finished)
        self.started_at = time.perf_counter()
        self.progress.setRange(0, 0)  # busy until the first step (decoding, loading the model)
        self.progress_label.setText(status)
        self.busy.emit(status)
        self._update_buttons()
        start(self.worker)

    def cancel(self) -> None:
        if self.worker is not None:
            self.pending = False
            self.worker.cancel()
            self.progress_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def is_busy(self) -> bool:
        return self.worker is not None

    def _on_event(self, event) -> None:
        if isinstance(event, Progress):
            self._show_progress(event)
        elif isinstance(event, Preview) and event.image is not None and self.job == "one":
            self.shown = None  # what is on show now is the next picture's original
            self.save_button.setEnabled(False)
            self.compare.set_images(event.image, None, ("Original", "Translating…"))

    def _show_progress(self, event: Progress) -> None:
        """One picture: the bar counts tiles. A batch: the bar counts pictures; the tiles of the picture
        in progress (large pictures take a while) are counted in the text."""
        if self.job == "batch" and event.stage == "tile":
            text = f"Picture {self.batch_done + 1} / {len(self.inputs)} · tile {event.step} / {event.total}"
        else:
            self.progress.setRange(0, max(event.total, 1))
            self.progress.setValue(event.step)
            if self.job == "batch":
                self.batch_done = event.step
                text = f"{event.step} / {event.total} pictures done · {describe_eta(event.eta_s)}"
            else:
                text = f"Tile {event.step} / {event.total} · {describe_eta(event.eta_s)}"
        self.progress_label.setText(text)
        self.busy.emit(f"Translating: {text}")

    def _on_failed(self, message: str) -> None:
        self.progress_label.setText("Failed.")
        if self.job == "one":
            self.result_info.setText("")
            self.compare.clear()
        dialogs.warn(self, "Cannot translate", message)

    def _on_cancelled(self) -> None:
        if self.job == "batch":
            self.progress_label.setText(f"Cancelled. The pictures already written stay in {self.output_dir}.")
        else:
            self.progress_label.setText("Cancelled.")
            if self.shown is None:
                self.result_info.setText("")

    def _on_ended(self) -> None:
        self.worker, self.job, self.running = None, "", None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.busy.emit("")
        self._update_buttons()
        if self.pending:
            self.pending = False
            self.translate_current()

    def _update_buttons(self) -> None:
        busy, has_model = self.worker is not None, bool(self.model_box.currentData())
        batch = self.job == "batch"
        self.cancel_button.setEnabled(busy)
        self.batch_button.setEnabled(has_model and bool(self.inputs) and not busy)
        self.save_button.setEnabled(self.shown is not None)
        for widget in (self.model_box, self.direction_box, self.tile_box, self.input_list, self.open_file_button,
                       self.open_folder_button, self.clear_button):
            widget.setEnabled(has_model and not batch)

    # -- drop pictures or folders ---------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and all(url.isLocalFile() for url in urls) and self.job != "batch":
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        event.acceptProposedAction()
        if paths and self.job != "batch":
            self.add_inputs(paths)
