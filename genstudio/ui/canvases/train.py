"""The Train canvas: a folder in, a model in the library out, with a live loss plot and previews.

The trainer runs as a child process (ui/training_process.py); this canvas only builds its command
line from the controls, shows its events, and offers Stop and Resume. A trainer left running by an
earlier window (closed with "keep training", or crashed) is found and followed on start. Architectures
that translate between two domains (Capability.TRANSLATE) train on two folders, each checked on its own.
Text architectures (modality "text") train on a folder of .txt/.md files, offer a tokenizer choice,
show their previews as text and plot the validation loss beside the training loss; music architectures
(modality "music") train on a folder of MIDI files the same way, their previews described in words.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from genstudio.core.errors import GenStudioError
from genstudio.core.events import Log, Preview, Progress, describe_eta
from genstudio.core.registry import ArchSpec, Capability
from genstudio.core.runs import RunInfo, read_metrics, read_run
from genstudio.core.store import ModelInfo, ModelStore, check_name
from genstudio.tasks.train import DatasetScan, TrainRequest
from genstudio.ui.settings import Settings
from genstudio.ui.training_process import FollowedRun, TrainingProcess, TrainingRun, TrainOutcome
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.folder_picker import FolderPicker, dropped_folder, show_note
from genstudio.ui.widgets.images import PixmapLabel

FROM_SCRATCH = "Start from scratch"
FOLDER_LABELS = {"image": ("Images", "Folder of training images"), "text": ("Texts", "Folder of texts (.txt, .md)"),
                 "music": ("MIDI files", "Folder of MIDI files (.mid, .midi)")}
FOLDER_WORDS = {"text": "texts", "music": "MIDI files"}


class TrainCanvas(QWidget):
    busy = Signal(str)
    model_published = Signal(str)

    def __init__(self, settings: Settings, store: ModelStore, parent=None):
        super().__init__(parent)
        self.settings, self.store = settings, store
        self.specs: dict[str, ArchSpec] = {}
        self.library: list[ModelInfo] = []
        self.run: TrainingRun | None = None
        self.suggested_name = ""  # the name last filled in from the folders (replaced when they change)
        self.preview_path: str | None = None
        self.existing_run: RunInfo | None = None  # the resumable run named in the Name field
        self.setAcceptDrops(True)
        self._build_controls()
        self._build_monitor()
        layout = QHBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.monitor, 1)
        self._update_buttons()

    # -- layout ---------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.controls = QFrame(objectName="panel")
        self.controls.setFixedWidth(360)
        self.arch_box = QComboBox()
        self.arch_box.currentIndexChanged.connect(self._arch_changed)
        self.images = FolderPicker("Folder of training images")
        self.domain_a = FolderPicker("Domain A: a folder of images", "No folder yet: the images of domain A.", 1)
        self.domain_b = FolderPicker("Domain B: a folder of images", "No folder yet: the images of domain B.", 1)
        self.images.chosen.connect(self.set_folder)
        self.domain_a.chosen.connect(lambda folder: self.set_domain_folder("a", folder))
        self.domain_b.chosen.connect(lambda folder: self.set_domain_folder("b", folder))
        for picker, key in ((self.images, "folder"), (self.domain_a, "folder_a"), (self.domain_b, "folder_b")):
            picker.checked.connect(self._update_buttons)
            remembered = str(self.settings.get(f"train/{key}", "") or "")
            if remembered and Path(remembered).is_dir():
                picker.set_text(remembered)  # checked once the architecture is known
        # The single folder's parts by their old names (tests and scripts use them).
        self.folder_edit, self.report_label = self.images.edit, self.images.report_label
        self.thumbs, self.report_text = self.images.thumbs, self.images.report_text
        self.name_edit = QLineEdit(placeholderText="my-model")
        self.name_edit.textChanged.connect(self._name_changed)
        self.name_note = QLabel(objectName="muted", wordWrap=True)
        self.preset_box = QComboBox()
        self.preset_box.currentIndexChanged.connect(self._preset_changed)
        self.steps_box = QSpinBox(minimum=1, maximum=10_000_000, singleStep=500)
        self.steps_box.valueChanged.connect(self._update_buttons)
        self.preview_box = QSpinBox(minimum=0, maximum=1_000_000, singleStep=50, suffix=" steps")
        self.preview_box.setSpecialValueText("never")
        self.preview_box.setToolTip("How often to draw sample images while training (each costs a few seconds)")
        self.from_box = QComboBox()
        self.from_box.currentIndexChanged.connect(self._update_buttons)
        self.size_box = QComboBox()
        self.size_box.setProperty("usual_tip", "Images are centre-cropped and scaled to this size for training")
        self.size_box.currentIndexChanged.connect(self._size_changed)
        self.color_box = QComboBox()
        self.color_box.setProperty("usual_tip", "Auto trains in grayscale when every image in the folder is grey")
        for label, key in (("Auto (from the folder)", "auto"), ("Colour (RGB)", "rgb"), ("Grayscale", "gray")):
            self.color_box.addItem(label, key)
        self.tokenizer_box = QComboBox()
        self.tokenizer_box.setProperty("usual_tip", "Characters suit a small folder; BPE (byte-level subwords) "
                                       "packs more text into each window and suits a few MB or more")
        for label, key in (("Characters", "char"), ("BPE (subwords)", "bpe")):
            self.tokenizer_box.addItem(label, key)
        form = QFormLayout()
        form.addRow("Architecture", self.arch_box)
        form.addRow("Images", self.images)
        form.addRow("Domain A folder", self.domain_a)
        form.addRow("Domain B folder", self.domain_b)
        form.addRow("Name", self.name_edit)
        form.addRow("", self.name_note)
        form.addRow("Preset", self.preset_box)
        form.addRow("Image size", self.size_box)
        form.addRow("Colour", self.color_box)
        form.addRow("Tokenizer", self.tokenizer_box)
        form.addRow("Steps", self.steps_box)
        form.addRow("Preview every", self.preview_box)
        form.addRow("Fine-tune from", self.from_box)
        self.form = form
        self.start_button = QPushButton("Start training", objectName="primary")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Save a checkpoint, put the model so far in the library, and stop")
        self.stop_button.clicked.connect(self.stop)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.resume_button)
        layout = QVBoxLayout(self.controls)
        layout.addWidget(QLabel("Train", objectName="heading"))
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addLayout(buttons)

    def _build_monitor(self) -> None:
        self.monitor = QWidget()
        self.progress = QProgressBar(textVisible=False)
        self.progress_label = QLabel("Choose a training folder and press Start training.", objectName="muted")
        self.plot_holder = QVBoxLayout()
        self.plot = None  # built on first use: pyqtgraph's import is kept off the start-up path
        plot_box = QFrame(objectName="panel")
        plot_box.setLayout(self.plot_holder)
        self.preview = PixmapLabel("Previews appear here while the model trains.")
        self.preview.setObjectName("muted")
        self.preview.setWordWrap(True)
        self.preview.setMinimumSize(220, 220)
        self.preview_caption = QLabel(objectName="muted", alignment=Qt.AlignmentFlag.AlignCenter)
        preview_box = QFrame(objectName="panel")
        self.preview_text = QPlainTextEdit(readOnly=True, placeholderText="Samples of text appear here while the "
                                           "model trains.")
        self.preview_text.hide()
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.addWidget(self.preview, 1)
        preview_layout.addWidget(self.preview_text, 1)
        preview_layout.addWidget(self.preview_caption)
        top = QSplitter()
        top.addWidget(plot_box)
        top.addWidget(preview_box)
        top.setSizes([420, 400])  # a preview grid needs room to show its pixels at 2× or more
        self.log = QPlainTextEdit(readOnly=True, objectName="log")
        self.log.setMaximumBlockCount(5000)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.log)
        split.setSizes([420, 160])
        layout = QVBoxLayout(self.monitor)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addWidget(split, 1)

    def ensure_plot(self):
        if self.plot is None:
            from genstudio.ui.widgets.loss_plot import LossPlot

            self.plot = LossPlot()
            self.plot_holder.addWidget(self.plot)
        return self.plot

    def showEvent(self, event) -> None:
        self.ensure_plot()
        super().showEvent(event)

    # -- what the window tells us -------------------------------------------------------------------
    def set_specs(self, specs: list[ArchSpec]) -> None:
        current = self.arch_box.currentData() or self.settings.get("train/arch", "")
        self.specs = {s.name: s for s in specs}
        self.arch_box.blockSignals(True)
        self.arch_box.clear()
        for spec in specs:
            self.arch_box.addItem(f"{spec.name} — {spec.family}", spec.name)
            self.arch_box.setItemData(self.arch_box.count() - 1, spec.description, Qt.ItemDataRole.ToolTipRole)
        self.arch_box.setCurrentIndex(max(self.arch_box.findData(current), 0))
        self.arch_box.blockSignals(False)
        self._arch_changed()

    def set_library(self, models: list[ModelInfo]) -> None:
        self.library = models
        self._fill_from_box()
        self._name_changed()

    # -- controls -----------------------------------------------------------------------------------
    def spec(self) -> ArchSpec | None:
        return self.specs.get(self.arch_box.currentData())

    def two_domains(self) -> bool:
        """Whether the chosen architecture learns to translate between two folders of images."""
        spec = self.spec()
        return spec is not None and spec.can(Capability.TRANSLATE)

    def pickers(self) -> list[FolderPicker]:
        """The folder pickers the chosen architecture trains on."""
        return [self.domain_a, self.domain_b] if self.two_domains() else [self.images]

    @property
    def scan(self) -> DatasetScan | None:
        """The single folder's check, once it passed (None while checking or after a failure)."""
        return self.images.scan

    def scans(self) -> list[DatasetScan] | None:
        """The passed check of every folder the architecture needs, or None while one is missing."""
        scans = [picker.scan for picker in self.pickers()]
        return None if None in scans else scans

    def is_text(self) -> bool:
        """Whether the chosen architecture's previews are text (text models; music models describe their
        preview pieces in words and write them as MIDI files) rather than images."""
        return self.modality() in ("text", "music")

    def modality(self) -> str:
        spec = self.spec()
        return spec.modality if spec is not None else "image"

    def _show_pickers(self) -> None:
        two, text = self.two_domains(), self.is_text()
        for picker, shown in ((self.images, not two), (self.domain_a, two), (self.domain_b, two)):
            picker.setVisible(shown)
            self.form.labelForField(picker).setVisible(shown)
        label, title = FOLDER_LABELS.get(self.modality(), FOLDER_LABELS["image"])
        self.form.labelForField(self.images).setText(label)
        self.images.browse_title = title
        if self.run is None:
            self.preview.setVisible(not text)
            self.preview_text.setVisible(text)

    def _arch_changed(self) -> None:
        spec = self.spec()
        self._show_pickers()
        self._suggest_name(replace_empty=False)  # the other architecture's folders name it now
        self.preset_box.blockSignals(True)
        self.preset_box.clear()
        if spec is not None:
            for preset in spec.presets:
                self.preset_box.addItem(preset, preset)
            saved = self.settings.get("train/preset", "small")
            self.preset_box.setCurrentIndex(max(self.preset_box.findData(saved), 0))
        self.preset_box.blockSignals(False)
        self._fill_from_box()
        self._preset_changed()

    def _fill_from_box(self) -> None:
        spec = self.spec()
        current = self.from_box.currentData()
        self.from_box.clear()
        self.from_box.addItem(FROM_SCRATCH, None)
        for info in self.library:
            if spec is not None and info.arch == spec.name:
                self.from_box.addItem(f"{info.name} ({info.card.get('steps', 0)} steps)", info.name)
        self.from_box.setCurrentIndex(max(self.from_box.findData(current), 0))

    def _preset_changed(self) -> None:
        spec, preset = self.spec(), self.preset_box.currentData()
        if spec is not None and preset:
            settings = spec.train_settings(preset)
            self.steps_box.setValue(int(settings.get("steps", 1000)))
            self.preview_box.setValue(int(settings.get("preview_every", 0)))
            self._fill_shape_boxes(spec, preset)
            self._recheck()  # the preset sets the image size
        self._update_buttons()

    def _fill_shape_boxes(self, spec: ArchSpec, preset: str) -> None:
        """Image size and colour, for architectures whose config has them; sizes the network accepts."""
        from genstudio.tasks.train import valid_image_sizes

        self.size_box.blockSignals(True)
        self.size_box.clear()
        if spec.has_setting("image_size"):
            size = spec.model_config(preset).image_size
            self.size_box.addItem(f"{size}×{size} px (preset)", None)
            for option in valid_image_sizes(spec, preset):
                if option != size:
                    self.size_box.addItem(f"{option}×{option} px", option)
        self.size_box.blockSignals(False)
        if spec.has_setting("tokenizer_kind"):
            self.tokenizer_box.setCurrentIndex(max(self.tokenizer_box.findData(spec.model_config(preset).tokenizer_kind), 0))
        for widget, setting in ((self.size_box, "image_size"), (self.color_box, "channels"),
                                (self.tokenizer_box, "tokenizer_kind")):
            shown = spec.has_setting(setting)
            widget.setVisible(shown)
            self.form.labelForField(widget).setVisible(shown)

    def _size_changed(self) -> None:
        self._recheck()  # the thumbnails and the report show the new size

    def color(self) -> str | None:
        """"rgb" or "gray" for the trainer (Auto follows the folder), or None where there is no choice."""
        spec = self.spec()
        if spec is None or not spec.has_setting("channels"):
            return None
        choice = self.color_box.currentData()
        if choice == "auto":
            scans = self.scans()
            return "gray" if scans and all(scan.grayscale for scan in scans) else "rgb"
        return choice

    def tokenizer(self) -> str | None:
        """"char" or "bpe" for architectures whose config has a tokenizer; None for the others."""
        spec = self.spec()
        return self.tokenizer_box.currentData() if spec is not None and spec.has_setting("tokenizer_kind") else None

    def set_folder(self, folder: str) -> None:
        """Check the image folder in the background and show the report before anything trains."""
        self._choose(self.images, folder)

    def set_domain_folder(self, side: str, folder: str) -> None:
        """Domain A's ("a") or domain B's ("b") folder, for architectures that translate between two."""
        self._choose(self.domain_a if side == "a" else self.domain_b, folder)

    def _choose(self, picker: FolderPicker, folder: str) -> None:
        picker.set_text(folder)
        if picker.folder():
            self._suggest_name(replace_empty=True)
        self._check(picker)

    def _suggest_name(self, replace_empty: bool) -> None:
        """Name the model after its folders, unless the user typed a name of their own."""
        name, suggestion = self.name_edit.text().strip(), self._name_from_folders()
        if suggestion and ((name and name == self.suggested_name) or (replace_empty and not name)):
            self.suggested_name = suggestion
            self.name_edit.setText(suggestion)

    def _name_from_folders(self) -> str:
        if not self.two_domains():
            return _name_from_folder(self.images.folder()) if self.images.folder() else ""
        a, b = (_name_from_folder(p.folder()) if p.folder() else "" for p in (self.domain_a, self.domain_b))
        return f"{a}2{b}"[:48] if a and b else a or b  # CycleGAN's habit: horse2zebra

    def _check(self, picker: FolderPicker) -> None:
        spec, preset, folder = self.spec(), self.preset_box.currentData(), picker.folder()
        if spec is not None and folder:
            from genstudio.tasks.train import scan_dataset

            size = self.size_box.currentData()
            picker.check(lambda: scan_dataset(spec, preset, folder, size), FOLDER_WORDS.get(self.modality(), "images"))
        self._update_buttons()

    def _recheck(self) -> None:
        """Check the chosen folders again (another architecture, preset or image size)."""
        for picker in self.pickers():
            if picker.folder():
                self._check(picker)

    def _name_changed(self) -> None:
        """Check the name, and read once whether a run of that name can be resumed."""
        name = self.name_edit.text().strip()
        note, style = "", "muted"
        self.existing_run = None
        if name:
            try:
                check_name(name)
            except GenStudioError as err:
                note, style = str(err), "error"
            else:
                run = self.existing_run = read_run(name)
                if run is not None:
                    state = "finished" if run.finished else f"stopped at step {run.step} of {run.total}"
                    note = (f"A run named '{name}' ({run.arch}, {run.preset}) {state}. Resume continues it"
                            + (" (raise Steps to train longer)" if run.finished else "")
                            + "; Start training replaces it.")
                elif self.store.exists(name):
                    note = f"A model named '{name}' exists; Start training replaces it."
        self._show_note(self.name_note, note, style)
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.run is not None
        name = self.name_edit.text().strip()
        run = self.existing_run
        can_resume = run is not None and (not run.finished or self.steps_box.value() > run.total)
        self.start_button.setEnabled(not running and self.scans() is not None and bool(name) and self.spec() is not None)
        self.resume_button.setEnabled(not running and can_resume)
        self.stop_button.setEnabled(running)
        for widget in (self.arch_box, self.name_edit, self.preset_box, self.from_box, self.preview_box):
            widget.setEnabled(not running)
        for picker in (self.images, self.domain_a, self.domain_b):
            picker.set_choosing(not running)
        fine_tuning = self.from_box.currentData() is not None  # the network (size, colour, tokens) is the model's
        for widget in (self.size_box, self.color_box, self.tokenizer_box):
            widget.setEnabled(not running and not fine_tuning)
            widget.setToolTip("Fine-tuning keeps the size, colour and tokenizer of the model it starts from"
                              if fine_tuning else widget.property("usual_tip"))

    _show_note = staticmethod(show_note)

    # -- running -------------------------------------------------------------------------------------
    def request(self, resume: bool = False, overwrite: bool = False) -> TrainRequest:
        run = self.existing_run if resume else None
        steps = self.steps_box.value()
        two = self.two_domains()
        data = (self.domain_a if two else self.images).folder() or None
        return TrainRequest(arch=(run.arch if run else self.arch_box.currentData()), name=self.name_edit.text().strip(),
                            data=data, data_b=(self.domain_b.folder() or None) if two else None, two_domains=two,
                            preset=self.preset_box.currentData(),
                            steps=(steps if not run or steps > run.total else None),
                            preview_every=None if resume else self.preview_box.value(),
                            image_size=self.size_box.currentData(), color=self.color(), tokenizer=self.tokenizer(),
                            modality=self.modality(),
                            from_model=self.from_box.currentData(), resume=resume, overwrite=overwrite,
                            device=self.settings.device, threads=self.settings.threads)

    def start(self) -> None:
        name = self.name_edit.text().strip()
        overwrite = self.existing_run is not None or self.store.exists(name)
        if overwrite and not dialogs.confirm(self, "Replace?", f"'{name}' already exists (a model or a training "
                                             "run). Start again and replace it?", "Replace"):
            return
        self._launch(self.request(overwrite=overwrite), resume=False)

    def resume(self) -> None:
        self._launch(self.request(resume=True), resume=True)

    def _launch(self, request: TrainRequest, resume: bool) -> None:
        try:
            args = request.args()
        except GenStudioError as err:
            dialogs.warn(self, "Cannot start", str(err))
            return
        for key in ("arch", "preset"):
            self.settings.set(f"train/{key}", getattr(request, key))
        if not resume:  # the folders are filled in again next time
            folders = {"folder_a": request.data, "folder_b": request.data_b} if request.two_domains \
                else {"folder": request.data}
            for key, folder in folders.items():
                self.settings.set(f"train/{key}", folder)
        plot = self.ensure_plot()
        if resume:
            self._show_history(request.name)
        else:
            plot.clear()
            self.log.clear()
        process = TrainingProcess(request.name, self)
        self._attach(process, f"{'Resuming' if resume else 'Starting'} '{request.name}'…")
        process.start(args)

    def follow(self, name: str, info: dict) -> None:
        """Show a trainer that an earlier window started and left running."""
        self.name_edit.setText(name)
        self._show_history(name)
        run = FollowedRun(name, info, self)
        self._attach(run, f"Following '{name}', which kept training after GenStudio was closed (pid {info['pid']}).")
        run.start()

    def _show_history(self, name: str) -> None:
        """Redraw a run's curves so far from its metrics.jsonl (validation points where it has them)."""
        history, val = read_metrics(name), read_metrics(name, ("val_loss",))
        self.ensure_plot().set_history(history["step"], history["loss"], val["step"], val["val_loss"])

    def _attach(self, run: TrainingRun, message: str) -> None:
        self.run = run
        self.started_at = time.perf_counter()
        run.event.connect(self._on_event)
        run.line.connect(self.log.appendPlainText)
        run.ended.connect(self._on_ended)
        self.progress.setRange(0, 0)
        self.progress_label.setText(message)
        self.log.appendPlainText(message)
        self.busy.emit(f"Training {run.name}…")
        self._update_buttons()

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()
            self.progress_label.setText("Stopping: saving a checkpoint and the model so far…")
            self.stop_button.setEnabled(False)

    def is_training(self) -> bool:
        return self.run is not None

    def _on_event(self, event) -> None:
        if isinstance(event, Progress):
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.step)
            loss = event.metrics.get("loss")
            parts = [f"Step {event.step} / {event.total}"]
            if loss is not None:
                parts.append(f"loss {loss:.4f}")
                self.ensure_plot().add(event.step, loss)
            if (val_loss := event.metrics.get("val_loss")) is not None:
                self.ensure_plot().add_validation(event.step, val_loss)
            parts.append(describe_eta(event.eta_s))
            self.progress_label.setText(" · ".join(parts))
            self.busy.emit(f"Training {self.run.name if self.run else ''}: step {event.step} / {event.total}")
        elif isinstance(event, Preview) and event.text:
            self.show_text_preview(event.text, event.caption or f"step {event.step}")
        elif isinstance(event, Preview) and event.path:
            self.show_preview(event.path, event.caption or f"step {event.step}")
        elif isinstance(event, Log):
            self.log.appendPlainText(event.message)

    def show_preview(self, path: str, caption: str) -> None:
        pixmap = QPixmap(path)
        if pixmap.isNull():
            return  # the file went away or is half-written; the next preview will come
        self.preview_path = path
        self.preview.set_source(pixmap)
        self.preview_caption.setText(caption)
        self.preview.show()
        self.preview_text.hide()

    def show_text_preview(self, text: str, caption: str) -> None:
        """A text model's sample, in a read-only text box where the image previews go."""
        self.preview_text.setPlainText(text)
        self.preview_caption.setText(caption)
        self.preview_text.show()
        self.preview.hide()

    def _on_ended(self, outcome: TrainOutcome) -> None:
        run, self.run = self.run, None
        if run is not None:
            run.deleteLater()
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if outcome.kind == "finished" else 0)
        self.progress_label.setText(outcome.message)
        self.log.appendPlainText(outcome.message)
        self.busy.emit("")
        if outcome.model:
            self.model_published.emit(outcome.model)
            path, text = self._library_samples(outcome.model)
            if path:
                self.show_preview(path, f"'{outcome.model}' in the library")
            elif text:
                self.show_text_preview(text, f"'{outcome.model}' in the library")
        if outcome.kind in ("failed", "crashed"):
            detail = "\n".join(outcome.last_lines[-12:])
            text = outcome.message + (f"\n\nLast lines of its log:\n{detail}" if detail and outcome.kind == "crashed" else "")
            dialogs.warn(self, "Training stopped" if outcome.kind == "crashed" else "Training failed", text)
        self._name_changed()

    def _library_samples(self, name: str) -> tuple[str | None, str]:
        """A library model's samples: the path of its samples.png, or a text model's sample text."""
        try:
            info = self.store.get(name)
        except GenStudioError:
            return None, ""
        return (str(info.samples_path) if info.samples_path else None), str(info.card.get("sample_text", ""))

    # -- closing the window while training -------------------------------------------------------------
    def detach(self) -> None:
        if isinstance(self.run, TrainingProcess | FollowedRun):
            self.run.detach()

    def stop_and_wait(self, timeout_ms: int = 120_000) -> bool:
        """Ask the trainer to save and exit, and wait for it (closing the app with "Stop")."""
        run = self.run
        if isinstance(run, TrainingProcess):
            run.stop()
            return run.process.waitForFinished(timeout_ms)
        if isinstance(run, FollowedRun):
            run.stop()
        return True

    # -- drop a folder ------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if dropped_folder(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """A folder dropped beside the pickers: the image folder, or the first empty domain (else B)."""
        folder = dropped_folder(event)
        event.acceptProposedAction()
        if self.run is not None or folder is None:
            return
        empty = [p for p in self.pickers() if not p.folder()]
        self._choose(empty[0] if empty else self.pickers()[-1], folder)


def _name_from_folder(folder: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_ " else "-" for c in Path(folder).name).strip(" -_")
    return (stem or "my-model")[:48]
