"""The Generate canvas: pick a model, set seed/steps/sampler, watch it denoise, keep what you like.

The controls come from the model's ArchSpec (``sampler_options``): a control the model does not
support is hidden, not dead. Generation runs in a GeneratorWorker; Cancel takes effect within a step.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from genstudio.core.errors import GenStudioError
from genstudio.core.events import Preview, Progress, describe_eta
from genstudio.core.registry import ArchSpec, Capability
from genstudio.core.store import ModelInfo
from genstudio.tasks.generate import GenerateRequest, GenerateResult
from genstudio.ui.settings import Settings
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.empty_state import empty_page
from genstudio.ui.widgets.image_viewer import ImageViewer
from genstudio.ui.widgets.images import PixmapLabel, grid_array, image_file_name, to_pixmap
from genstudio.ui.widgets.latent_tools import DenoisePanel, LatentExplorer, TraversalPanel
from genstudio.ui.widgets.model_picker import fill_model_box, select_model
from genstudio.ui.widgets.result_grid import ResultGrid
from genstudio.ui.widgets.sampler_options import SamplerOptions
from genstudio.ui.widgets.style_mix import StyleMixPanel
from genstudio.ui.workers import GeneratorWorker, bind, start

MAX_SEED = 2**31 - 1


def describe_result(result: GenerateResult, seconds: float) -> str:
    """The line above the grid: what was made, how, and (for likelihood models) how likely."""
    p, count = result.params, len(result.images)
    parts = [f"{count} image(s)", p["model"], f"seeds {p['seed']}–{p['seed'] + count - 1}"]
    if "steps" in p:
        parts.append(f"{p['steps']} {p['sampler'].upper() + ' ' if 'sampler' in p else ''}steps")
    if p.get("prompt"):
        parts.insert(1, f"“{p['prompt'][:60]}”" + (f" not “{p['negative_prompt'][:30]}”" if p.get("negative_prompt") else ""))
    if "label" in p:
        parts.append("any class" if p["label"] < 0 else f"class {result.classes[0] if result.classes else p['label']}")
    if "guidance" in p:
        parts.append(f"guidance {p['guidance']:g}")
    if "truncation" in p:
        parts.append(f"ψ {p['truncation']:g}")
    if "temperature" in p:
        parts.append(f"temperature {p['temperature']:g}")
    if result.likelihoods:
        bpd = [item["bits_per_dim"] for item in result.likelihoods]
        kind = {"exact": "exact", "iwae": "IWAE estimate", "elbo": "ELBO bound"}[result.likelihoods[0]["likelihood_kind"]]
        parts.append(f"mean {sum(bpd) / len(bpd):.3f} bits/dim ({kind}; lower = more likely)")
    return " · ".join(parts + [f"{seconds:.1f} s"])


class GenerateCanvas(QWidget):
    busy = Signal(str)  # a status line for the window ("" when idle)
    go_train = Signal()
    inspect_images = Signal(object, list)  # the grid's images (N×H×W×3 uint8) and names, for the Anomaly canvas
    # The tool tabs beside "Samples", each shown only for models with the capability.
    TOOLS = (("explorer", "Latent explorer", Capability.INTERPOLATE),
             ("traversal", "Latent traversal", Capability.TRAVERSE),
             ("style_mix", "Style mixing", Capability.STYLE_MIX),
             ("denoise", "Denoise", Capability.DENOISE))

    def __init__(self, settings: Settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.entries: dict[str, tuple[ModelInfo, ArchSpec]] = {}
        self.worker: GeneratorWorker | None = None
        self.last_result: GenerateResult | None = None
        self.started_at = 0.0
        self.arch: str | None = None  # architecture of the selected model
        self.setAcceptDrops(True)
        self._build_controls()
        self._build_view()
        layout = QHBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.tabs, 1)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.generate)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.cancel)
        self._restore_choices()
        self.set_models([], loading=True)

    # -- layout ---------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.controls = QFrame(objectName="panel")
        self.controls.setFixedWidth(300)
        self.model_box = QComboBox()
        self.model_box.currentIndexChanged.connect(self._model_changed)
        self.model_note = QLabel(objectName="muted", wordWrap=True)
        self.count_box = QSpinBox(minimum=1, maximum=64, value=16)
        self.seed_box = QSpinBox(minimum=0, maximum=MAX_SEED)
        self.dice = QPushButton("Random", toolTip="A new random seed (Ctrl+R)")
        self.dice.clicked.connect(self.new_seed)
        self.random_seed = QCheckBox("New seed each time")
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_box, 1)
        seed_row.addWidget(self.dice)
        self.options = SamplerOptions()
        self.options.changed.connect(self._options_changed)
        # The option controls by their old names (tests and scripts drive them).
        self.steps_box, self.sampler_box = self.options.steps_box, self.options.sampler_box
        self.eta_box, self.temperature_box = self.options.eta_box, self.options.temperature_box
        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("", self.model_note)
        form.addRow(self.options)
        form.addRow("Images", self.count_box)
        form.addRow("Seed", seed_row)
        form.addRow("", self.random_seed)
        self.form = form
        self.generate_button = QPushButton("Generate", objectName="primary")
        self.generate_button.setToolTip("Generate (Ctrl+Enter)")
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.setToolTip("Cancel (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 1)
        buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar(textVisible=False)
        self.progress_label = QLabel(objectName="muted")
        layout = QVBoxLayout(self.controls)
        layout.addWidget(QLabel("Generate", objectName="heading"))
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addStretch(1)
        hint = QLabel("Tip: drop a GenStudio PNG here to restore its settings.", objectName="hint", wordWrap=True)
        layout.addWidget(hint)

    def _build_view(self) -> None:
        self.view = QStackedWidget()
        self.empty, self.empty_label, self.empty_button = empty_page(self.go_train)
        self.live = PixmapLabel()
        self.live.setMinimumSize(256, 256)
        results = QWidget()
        self.grid = ResultGrid()
        self.grid.enlarge.connect(self.enlarge)
        self.grid.use_settings.connect(self.apply_params)
        self.result_info = QLabel(objectName="muted")
        save_all = QPushButton("Save all…")
        save_all.clicked.connect(self.grid.save_all)
        self.inspect_button = QPushButton("Inspect these…", toolTip="Scan these images for anomalies with a "
                                          "detector (the Anomaly canvas)")
        self.inspect_button.clicked.connect(self.send_to_inspect)
        reuse = QPushButton("Use these settings again")
        reuse.clicked.connect(lambda: self.last_result and self.apply_params(self.last_result.params))
        bar = QHBoxLayout()
        bar.addWidget(self.result_info, 1)
        bar.addWidget(reuse)
        bar.addWidget(self.inspect_button)
        bar.addWidget(save_all)
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addLayout(bar)
        results_layout.addWidget(self.grid, 1)
        for page in (self.empty, self.live, results):
            self.view.addWidget(page)
        self.results_page = results
        self.explorer = LatentExplorer(self.settings)
        self.traversal = TraversalPanel(self.settings)
        self.denoise = DenoisePanel(self.settings)
        self.style_mix = StyleMixPanel(self.settings)
        self.tabs = QTabWidget(objectName="tools")
        self.tabs.addTab(self.view, "Samples")
        for panel, label, _capability in self.TOOLS:
            self.tabs.addTab(getattr(self, panel), label)

    # -- models -----------------------------------------------------------------------------------
    def set_models(self, entries: list[tuple[ModelInfo, ArchSpec]], loading: bool = False) -> None:
        """The models that can generate images (the window filters by capability)."""
        current = self.model_box.currentData() or self.settings.get("generate/model", "")
        self.entries = {info.name: (info, spec) for info, spec in entries}
        fill_model_box(self.model_box, [(info.name, info.name) for info, spec in entries], current)
        if loading:
            self.empty_label.setText("Loading models…")
            self.empty_button.hide()
        elif not entries:
            self.empty_label.setText("No models that can generate images yet.\n\nTrain one on your own pictures "
                                     "in the Train canvas, or import a model .zip in the Library.")
            self.empty_button.show()
        else:
            self.empty_label.setText("Press Generate (Ctrl+Enter) to make images.")
            self.empty_button.hide()
        if self.last_result is None or not entries:
            self.view.setCurrentWidget(self.empty)
        self.controls.setVisible(loading or bool(entries))
        self._model_changed()

    def select_model(self, name: str) -> bool:
        return select_model(self.model_box, name)

    def _model_changed(self) -> None:
        name = self.model_box.currentData()
        entry = self.entries.get(name)
        self.explorer.set_encodes(bool(entry) and entry[1].can(Capability.ENCODE))
        for index, (panel, _label, capability) in enumerate(self.TOOLS, start=1):
            usable = bool(entry) and entry[1].can(capability)
            self.tabs.setTabVisible(index, usable)
            getattr(self, panel).set_model(name if usable else "")
        if entry and entry[1].name != self.arch:
            if self.arch is not None:  # another kind of model: its own sampler defaults, not the last one's
                self.apply_defaults(entry[1])
            self.arch = entry[1].name
        if entry:
            info, spec = entry
            size = info.card.get("config", {}).get("image_size")
            facts = [info.arch, f"{info.card.get('steps', 0):,} steps"] + ([f"{size}×{size} px"] if size else [])
            self.model_note.setText(f"{' · '.join(facts)}\n{spec.description}")
        else:
            self.model_note.setText("")
        self._update_visibility()
        self._set_busy(self.worker is not None)

    def _update_visibility(self) -> None:
        entry = self.entries.get(self.model_box.currentData())
        self.options.set_model(entry[1] if entry else None, entry[0].card if entry else None)

    def _options_changed(self) -> None:
        """The latent tools sample with the same truncation and class as the grid."""
        values = self.options.values()
        shared = {k: values[k] for k in ("truncation", "label")}
        self.explorer.set_options(shared)
        self.style_mix.set_options(shared)

    def show_tool(self, label: str) -> None:
        """Bring a tab ("Samples", "Latent explorer", ...) to the front."""
        labels = [self.tabs.tabText(i) for i in range(self.tabs.count())]
        self.tabs.setCurrentIndex(labels.index(label))

    def apply_defaults(self, spec: ArchSpec) -> None:
        """The sampler's own defaults for ``spec`` (a DDPM's 25 steps are not an EBM's)."""
        self.options.apply_defaults(spec)

    # -- the request ------------------------------------------------------------------------------
    def new_seed(self) -> int:
        seed = random.randint(0, MAX_SEED)
        self.seed_box.setValue(seed)
        return seed

    def request(self) -> GenerateRequest:
        return GenerateRequest(model=self.model_box.currentData() or "", n=self.count_box.value(),
                               seed=self.seed_box.value(), **self.options.values())

    def apply_params(self, params: dict[str, Any]) -> None:
        """Restore a generation's settings (from a result or a dropped PNG)."""
        request = GenerateRequest.from_params(params)
        if not self.select_model(request.model):
            dialogs.warn(self, "Model not in the library",
                         f"These settings were made with '{request.model}', which is not in your library. "
                         "The other settings were restored.")
        self.count_box.setValue(request.n)
        self.seed_box.setValue(request.seed)
        self.options.apply(asdict(request))
        self.random_seed.setChecked(False)  # the point is to get the same images again

    def _restore_choices(self) -> None:
        s = self.settings
        self.count_box.setValue(s.get_int("generate/n", 16))
        self.seed_box.setValue(s.get_int("generate/seed", 0))
        self.options.restore(s)
        self.random_seed.setChecked(str(s.get("generate/random_seed", "false")).lower() == "true")

    def save_choices(self) -> None:
        request = self.request()
        for key in ("n", "seed"):
            self.settings.set(f"generate/{key}", getattr(request, key))
        self.options.save(self.settings)
        if request.model:
            self.settings.set("generate/model", request.model)
        self.settings.set("generate/random_seed", self.random_seed.isChecked())

    # -- running ----------------------------------------------------------------------------------
    def generate(self) -> None:
        if self.worker is not None or not self.model_box.currentData():
            return
        if self.random_seed.isChecked():
            self.new_seed()
        request = self.request()
        self.save_choices()
        self.tabs.setCurrentIndex(0)  # the samples appear there
        device_choice, threads = self.settings.device, self.settings.threads

        def job():
            from genstudio.core.devices import resolve_device, set_threads
            from genstudio.tasks.generate import generate

            set_threads(threads)
            return (yield from generate(request, resolve_device(device_choice)))

        self.worker = GeneratorWorker(job)
        bind(self.worker, self)
        self.started_at = time.perf_counter()
        self.progress.setRange(0, 0)  # busy until the first step (loading the model)
        self.progress_label.setText("Loading the model…")
        self.live.clear()
        self._set_busy(True)
        self.busy.emit(f"Generating {request.n} image(s) with {request.model}…")
        start(self.worker)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.progress_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def is_busy(self) -> bool:
        return self.worker is not None

    def _on_event(self, event) -> None:
        if isinstance(event, Progress):
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.step)
            self.progress_label.setText(f"Step {event.step} / {event.total} · {describe_eta(event.eta_s)}")
            self.busy.emit(f"Generating: step {event.step} / {event.total}")
        elif isinstance(event, Preview) and event.image is not None:
            self.live.set_source(to_pixmap(grid_array(event.image)))
            self.view.setCurrentWidget(self.live)

    def _on_finished(self, result: GenerateResult) -> None:
        seconds = time.perf_counter() - self.started_at
        self.last_result = result
        count = len(result.images)
        self.grid.show_result(result.images, [result.image_params(i) for i in range(count)],
                              [result.caption(i) for i in range(count)])
        self.result_info.setText(describe_result(result, seconds))
        self.progress_label.setText(f"Done in {seconds:.1f} s. Click an image to enlarge it.")
        self.view.setCurrentWidget(self.results_page)

    def _on_failed(self, message: str) -> None:
        self.progress_label.setText("Failed.")
        dialogs.warn(self, "Generation failed", message)

    def _on_cancelled(self) -> None:
        self.progress_label.setText("Cancelled.")
        self.view.setCurrentWidget(self.results_page if self.last_result else self.empty)

    def _on_ended(self) -> None:
        self.worker = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._set_busy(False)
        self.busy.emit("")

    def _set_busy(self, busy: bool) -> None:
        has_model = bool(self.model_box.currentData())
        self.generate_button.setEnabled(has_model and not busy)
        self.cancel_button.setEnabled(busy)
        for widget in (self.model_box, self.count_box, self.seed_box, self.dice, self.random_seed):
            widget.setEnabled(has_model and not busy)
        self.options.set_enabled(has_model and not busy)

    def send_to_inspect(self) -> None:
        if self.grid.images is not None and len(self.grid.images):
            names = [Path(image_file_name(p)).stem for p in self.grid.params]
            self.inspect_images.emit(self.grid.images, names)

    def enlarge(self, index: int) -> None:
        ImageViewer(self.grid, index, self).exec()

    # -- dropping a GenStudio PNG restores its settings --------------------------------------------
    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].toLocalFile().lower().endswith(".png"):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = event.mimeData().urls()[0].toLocalFile()
        event.acceptProposedAction()
        self.restore_from_png(Path(path))

    def restore_from_png(self, path: Path) -> bool:
        from genstudio.tasks.images import read_png_params

        try:
            params = read_png_params(path)
        except GenStudioError as err:
            dialogs.warn(self, "No settings in this image", str(err))
            return False
        self.apply_params(params)
        self.progress_label.setText(f"Settings restored from {path.name}.")
        return True
