"""The Inpaint canvas: drop a picture of any size, paint what to repaint, pick from candidates, undo.

The picture and its mask live in a MaskEditor (zoom, pan, brush, eraser, shapes, undo of every edit).
A run hands copies of both to ``tasks.inpaint.inpaint`` in a GeneratorWorker, so the window stays
live, Cancel takes effect within a step, and the picture cannot change under the run. The candidates
come back as whole pictures; the one picked is previewed in place and Accept makes it one undo step.
Strips added with the outpaint buttons since the last accepted result go to the task as ``outpaint``,
which fills them window by window at the model's scale. The controls come from the model's spec
and card: a prompt for text-conditioned models, a class picker for class-conditional ones.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from genstudio.core.errors import GenStudioError
from genstudio.core.events import Preview, Progress, describe_eta
from genstudio.core.registry import ArchSpec, Capability
from genstudio.core.store import ModelInfo
from genstudio.tasks.images import save_png
from genstudio.tasks.inpaint import MAX_CANDIDATES, InpaintRequest, InpaintResult, inpaint
from genstudio.ui.settings import Settings
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.candidate_strip import CandidateStrip
from genstudio.ui.widgets.empty_state import empty_page, show_work_or_empty
from genstudio.ui.widgets.image_input import array_from_qimage, carries_picture, local_file
from genstudio.ui.widgets.latent_tools import IMAGE_FILTER, read_image_file
from genstudio.ui.widgets.mask_editor import MaskEditor
from genstudio.ui.widgets.mask_ops import blend_candidate
from genstudio.ui.widgets.mask_toolbar import MaskToolbar
from genstudio.ui.widgets.model_picker import fill_model_box, select_model
from genstudio.ui.widgets.sampler_options import SamplerOptions
from genstudio.ui.workers import GeneratorWorker, bind, start

MAX_SEED = 2**31 - 1
MODEL_OPTIONS = ("prompt", "negative_prompt", "label", "guidance")  # of a spec's sampler_options, those inpaint takes
SIDES = (("left", "◀ Left"), ("right", "Right ▶"), ("top", "▲ Up"), ("bottom", "▼ Down"))
EMPTY_TEXT = ("No inpainting model yet — train a DDPM, DiT, latent-diffusion or VAE model in Train.\n\n"
              "Any model that can inpaint appears here once it is in your library.")


def takes_sampler(spec: ArchSpec) -> bool:
    """Diffusion models step through a sampler (and harmonise); the VAE optimises its latents instead."""
    return "sampler" in spec.sampler_options


def describe_run(result: InpaintResult, seconds: float) -> str:
    p, count = result.params, len(result.candidates)
    parts = [f"{count} candidate(s)", p["model"], f"seeds {p['seed']}–{p['seed'] + count - 1}",
             f"{p['steps']} steps", f"strength {p['strength']:g}"]
    if p.get("prompt"):
        parts.insert(1, f"“{p['prompt'][:50]}”")
    if p.get("outpaint"):
        parts.append("outpaint " + ", ".join(f"{k} {v}px" for k, v in p["outpaint"].items()))
    return " · ".join(parts + [f"{seconds:.1f} s"])


class InpaintCanvas(QWidget):
    busy = Signal(str)  # a status line for the window ("" when idle)
    go_train = Signal()

    def __init__(self, settings: Settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.run_inpaint = inpaint  # the task; tests put a fake generator here
        self.entries: dict[str, tuple[ModelInfo, ArchSpec]] = {}
        self.worker: GeneratorWorker | None = None
        self.result: InpaintResult | None = None
        self.source: np.ndarray | None = None  # the picture the candidates were made from
        self.source_name = ""
        self.started_at = 0.0
        self.arch: str | None = None
        self.setAcceptDrops(True)
        self._build_controls()
        self._build_view()
        layout = QHBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.view, 1)
        # Not Ctrl+O: the window's menu holds it application-wide, and a key held twice fires neither.
        for keys, slot in ((QKeySequence.StandardKey.Paste, self.paste), (QKeySequence.StandardKey.Save, self.save),
                           ("Ctrl+Return", self.inpaint), (Qt.Key.Key_Escape, self.cancel)):
            QShortcut(QKeySequence(keys), self, slot, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._restore_choices()
        self.set_models([], loading=True)

    # -- layout ---------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.controls = QFrame(objectName="panel")
        self.controls.setFixedWidth(300)
        self.model_box = QComboBox()
        self.model_box.currentIndexChanged.connect(self._model_changed)
        self.model_note = QLabel(objectName="muted", wordWrap=True)
        self.options = SamplerOptions()
        self.steps_box = self.options.steps_box
        self.count_box = QSpinBox(minimum=1, maximum=MAX_CANDIDATES, value=4)
        self.count_box.setToolTip("How many versions to paint at once; candidate i uses seed + i")
        self.seed_box = QSpinBox(minimum=0, maximum=MAX_SEED)
        self.dice = QPushButton("Random", toolTip="A new random seed")
        self.dice.clicked.connect(self.new_seed)
        self.random_seed = QCheckBox("New seed each time")
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_box, 1)
        seed_row.addWidget(self.dice)
        self.strength_box = QDoubleSpinBox(minimum=0.05, maximum=1.0, singleStep=0.05, decimals=2, value=1.0)
        self.strength_box.setToolTip("1: repaint the masked area from scratch; lower keeps more of what is "
                                     "there (a partial redraw)")
        self.harmonize_box = QSpinBox(minimum=0, maximum=10, value=2)
        self.harmonize_box.setToolTip("Resampling passes per step (RePaint): more makes the new part fit its "
                                      "surroundings better, and takes longer")
        self.feather_box = QSpinBox(minimum=0, maximum=256, value=8, suffix=" px")
        self.feather_box.setToolTip("Width of the soft blend just outside the mask; farther out, the picture "
                                    "keeps its exact pixels")
        self.context_box = QDoubleSpinBox(minimum=0.0, maximum=4.0, singleStep=0.25, decimals=2, value=0.5)
        self.context_box.setToolTip("How much of the surroundings the model sees, as a fraction of the mask's "
                                    "size: more context, but a coarser scale for small models")
        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("", self.model_note)
        form.addRow(self.options)
        form.addRow("Candidates", self.count_box)
        form.addRow("Seed", seed_row)
        form.addRow("", self.random_seed)
        form.addRow("Strength", self.strength_box)
        form.addRow("Harmonize", self.harmonize_box)
        form.addRow("Feather", self.feather_box)
        form.addRow("Context", self.context_box)
        self.form = form
        self.inpaint_button = QPushButton("Inpaint", objectName="primary", toolTip="Inpaint (Ctrl+Enter)")
        self.inpaint_button.clicked.connect(self.inpaint)
        self.cancel_button = QPushButton("Cancel", enabled=False, toolTip="Cancel (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.inpaint_button, 1)
        buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar(textVisible=False)
        self.progress_label = QLabel(objectName="muted", wordWrap=True)
        layout = QVBoxLayout(self.controls)
        layout.addWidget(QLabel("Inpaint", objectName="heading"))
        layout.addLayout(form)
        layout.addWidget(self._build_outpaint())
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addStretch(1)
        layout.addWidget(QLabel("Tip: drop or paste (Ctrl+V) a picture, paint over what to change, press "
                                "Inpaint.", objectName="hint", wordWrap=True))

    def _build_outpaint(self) -> QGroupBox:
        box = QGroupBox("Extend the canvas (outpaint)")
        self.extend_box = QSpinBox(minimum=8, maximum=1024, singleStep=32, value=128, suffix=" px")
        self.extend_box.setToolTip("How far each button grows the canvas; the new strip is masked, and "
                                   "Inpaint fills it")
        grid = QGridLayout(box)
        grid.addWidget(QLabel("By"), 0, 0)
        grid.addWidget(self.extend_box, 0, 1, 1, 2)
        self.extend_buttons = {}
        for index, (side, label) in enumerate(SIDES):
            button = QPushButton(label, toolTip=f"Grow the canvas on the {side} (undoable)")
            button.clicked.connect(lambda _=False, s=side: self.extend(s))
            grid.addWidget(button, 1 + index // 2, 1 + index % 2)
            self.extend_buttons[side] = button
        return box

    def _build_view(self) -> None:
        self.view = QStackedWidget()
        self.empty, self.empty_label, self.empty_button = empty_page(self.go_train)
        self.work = QWidget()
        self.editor = MaskEditor(shortcut_host=self)
        self.editor.placeholder = "Drop a picture here, paste one (Ctrl+V), or use Open…"
        self.editor.changed.connect(self._picture_changed)
        self.open_button = QPushButton("Open…", toolTip="Open a picture; or drop one here, or paste one (Ctrl+V)")
        self.open_button.clicked.connect(self.open)
        self.save_button = QPushButton("Save as PNG…", toolTip="Save the picture with its settings (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        self.picture_info = QLabel(objectName="muted")
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the row
        policy.setHorizontalStretch(3)
        self.picture_info.setSizePolicy(policy)
        self.toolbar = MaskToolbar(self.editor, leading=(self.open_button, self.save_button, self.picture_info))
        self.candidates = CandidateStrip()
        self.candidates.picked.connect(self.preview_candidate)
        self.candidates.accept.connect(self.accept)
        self.candidates.discard.connect(self.discard)
        self.candidates.hide()
        work_layout = QVBoxLayout(self.work)
        work_layout.setContentsMargins(0, 0, 0, 0)
        work_layout.addWidget(self.toolbar)
        work_layout.addWidget(self.editor, 1)
        work_layout.addWidget(self.candidates)
        self.view.addWidget(self.empty)
        self.view.addWidget(self.work)

    # -- models -----------------------------------------------------------------------------------
    def set_models(self, entries: list[tuple[ModelInfo, ArchSpec]], loading: bool = False) -> None:
        """The library's models; those that can inpaint images are listed."""
        entries = [(info, spec) for info, spec in entries if spec.can(Capability.INPAINT) and spec.modality == "image"]
        current = self.model_box.currentData() or self.settings.get("inpaint/model", "")
        self.entries = {info.name: (info, spec) for info, spec in entries}
        fill_model_box(self.model_box, [(info.name, info.name) for info, spec in entries], current)
        show_work_or_empty(self, bool(entries), loading, EMPTY_TEXT)
        self._model_changed()

    def select_model(self, name: str) -> bool:
        return select_model(self.model_box, name)

    def _model_changed(self) -> None:
        entry = self.entries.get(self.model_box.currentData())
        spec = entry[1] if entry else None
        if spec is not None and spec.name != self.arch:
            if self.arch is not None:  # another kind of model: its own step count
                self.steps_box.setValue(25 if takes_sampler(spec) else 100)
            if "guidance" in spec.sampler_defaults:
                self.options.apply({"guidance": spec.sampler_defaults["guidance"]})
            self.arch = spec.name
        shown = ("steps",) + tuple(o for o in spec.sampler_options if o in MODEL_OPTIONS) if spec else ()
        self.options.set_model(replace(spec, sampler_options=shown) if spec else None, entry[0].card if entry else None)
        diffusion = spec is not None and takes_sampler(spec)
        self.harmonize_box.setVisible(diffusion)
        self.form.labelForField(self.harmonize_box).setVisible(diffusion)
        self.steps_box.setToolTip("Sampling steps" if diffusion else "Optimisation steps of the latent code")
        if entry:
            info, spec = entry
            size = info.card.get("config", {}).get("image_size")
            facts = [info.arch, f"{info.card.get('steps', 0):,} steps"] + ([f"works at {size}×{size} px"] if size else [])
            self.model_note.setText(" · ".join(facts))
        else:
            self.model_note.setText("")
        self._set_busy(self.worker is not None)

    # -- the picture ------------------------------------------------------------------------------
    def open(self) -> None:
        path = dialogs.open_file(self, "Open a picture", IMAGE_FILTER)
        if path:
            self.open_image(path)

    def open_image(self, path: str) -> bool:
        """Load a picture file; a file that is not one gets a message and the current picture stays."""
        if self.worker is not None:
            return False
        image = read_image_file(self, path)
        return image is not None and self.load_picture(image, Path(path).name)

    def load_picture(self, image: np.ndarray, name: str) -> bool:
        """Start over on ``image``; unsaved edits to the current picture are not dropped without asking."""
        if self.worker is not None:
            return False
        if self.editor.has_image() and not self.editor.undo_stack.isClean() and not dialogs.confirm(
                self, "Replace the picture?", f"The edits to {self.source_name} are not saved. Open {name} "
                "instead (the edits cannot be undone then)?", "Open"):
            return False
        self.discard()
        self.source_name = name
        self.editor.set_image(image)
        self.progress_label.setText(f"Paint over what to repaint in {name}, then press Inpaint.")
        return True

    def paste(self) -> bool:
        """Ctrl+V: a copied picture, or a copied picture file."""
        mime = QGuiApplication.clipboard().mimeData()
        path = local_file(mime) if mime is not None else None
        if path:
            return self.open_image(path)
        if mime is not None and mime.hasImage():
            return self.load_picture(array_from_qimage(QGuiApplication.clipboard().image()), "pasted picture")
        self.progress_label.setText("The clipboard holds no picture.")
        return False

    def extend(self, side: str) -> None:
        if self.worker is not None or not self.editor.has_image():
            return
        try:
            self.editor.extend(**{side: self.extend_box.value()})
        except GenStudioError as err:
            dialogs.warn(self, "Cannot extend the canvas", str(err))
            return
        self.progress_label.setText("The new strip is masked: press Inpaint to fill it.")

    def _picture_changed(self) -> None:
        if self.editor.has_image():
            width, height = self.editor.picture_size()
            self.picture_info.setText(f"{width}×{height} px")
            self.picture_info.setToolTip(f"{self.source_name}: {width}×{height} pixels")
        self._set_busy(self.worker is not None)

    def save(self) -> Path | None:
        if not self.editor.has_image() or self.worker is not None:
            return None
        params = self.editor.applied_params() or {"tool": "inpaint"}
        params = {**params, "source": self.source_name}
        stem = Path(self.source_name).stem or "picture"
        path = dialogs.save_file(self, "Save the picture", f"{stem}-inpainted.png", "PNG images (*.png)")
        if not path:
            return None
        if not path.lower().endswith(".png"):
            path += ".png"
        try:
            saved = save_png(Image.fromarray(self.editor.image()), path, params)
        except (OSError, GenStudioError) as err:
            dialogs.warn(self, "Could not save", f"The picture was not saved: {err}")
            return None
        self.editor.undo_stack.setClean()
        self.progress_label.setText(f"Saved {Path(saved).name}.")
        return saved

    # -- the request ------------------------------------------------------------------------------
    def new_seed(self) -> int:
        seed = random.randint(0, MAX_SEED)
        self.seed_box.setValue(seed)
        return seed

    def request(self) -> InpaintRequest:
        values = self.options.values()
        return InpaintRequest(model=self.model_box.currentData() or "", n=self.count_box.value(),
                              seed=self.seed_box.value(), steps=values["steps"],
                              strength=round(self.strength_box.value(), 3), harmonize=self.harmonize_box.value(),
                              feather=self.feather_box.value(), context=round(self.context_box.value(), 3),
                              prompt=values["prompt"], negative_prompt=values["negative_prompt"],
                              guidance=values["guidance"], label=values["label"])

    def task_inputs(self) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        """The picture, its mask and the strips still to outpaint. Pending strips go to the task as
        ``outpaint`` (cut off here, re-added there) so it fills them along their length; a strip the
        user partly unmasked stays in the picture and is inpainted like any mask."""
        image, mask = self.editor.image(), self.editor.mask()
        sides = self.editor.pending_extension()
        height, width = mask.shape
        left, right, top, bottom = (sides.get(s, 0) for s in ("left", "right", "top", "bottom"))
        inner = np.s_[top:height - bottom, left:width - right]
        strips = np.ones_like(mask, bool)
        strips[inner] = False
        if not sides or not (mask[strips] == 255).all():
            return image, mask, {}
        return image[inner].copy(), mask[inner].copy(), sides

    def _restore_choices(self) -> None:
        s = self.settings
        self.count_box.setValue(s.get_int("inpaint/n", 4))
        self.seed_box.setValue(s.get_int("inpaint/seed", 0))
        self.steps_box.setValue(s.get_int("inpaint/steps", 25))
        self.harmonize_box.setValue(s.get_int("inpaint/harmonize", 2))
        self.feather_box.setValue(s.get_int("inpaint/feather", 8))
        self.extend_box.setValue(s.get_int("inpaint/extend_by", 128))
        for key, box, default in (("strength", self.strength_box, 1.0), ("context", self.context_box, 0.5)):
            try:
                box.setValue(float(s.get(f"inpaint/{key}", default)))
            except (TypeError, ValueError):
                box.setValue(default)
        self.random_seed.setChecked(str(s.get("inpaint/random_seed", "false")).lower() == "true")

    def save_choices(self) -> None:
        request = self.request()
        for key in ("n", "seed", "steps", "strength", "harmonize", "feather", "context"):
            self.settings.set(f"inpaint/{key}", getattr(request, key))
        self.settings.set("inpaint/extend_by", self.extend_box.value())
        self.settings.set("inpaint/random_seed", self.random_seed.isChecked())
        if request.model:
            self.settings.set("inpaint/model", request.model)

    # -- running ----------------------------------------------------------------------------------
    def inpaint(self) -> None:
        if self.worker is not None or not self.model_box.currentData():
            return
        if not self.editor.has_image():
            self.progress_label.setText("Open, drop or paste a picture first.")
            return
        image, mask, sides = self.task_inputs()
        if not sides and not mask.any():
            self.progress_label.setText("The mask is empty: paint over the area to repaint, or extend the canvas.")
            return
        if self.random_seed.isChecked():
            self.new_seed()
        request = self.request()
        request.outpaint = sides
        self.save_choices()
        self.discard()
        self.source = self.editor.image()
        run, device_choice, threads = self.run_inpaint, self.settings.device, self.settings.threads

        def job():
            from genstudio.core.devices import resolve_device, set_threads

            set_threads(threads)
            return (yield from run(request, image, mask, resolve_device(device_choice)))

        self.worker = GeneratorWorker(job)
        bind(self.worker, self)
        self.started_at = time.perf_counter()
        self.progress.setRange(0, 0)  # busy until the first step (loading the model)
        self.progress_label.setText("Loading the model…")
        self._set_busy(True)
        self.busy.emit(f"Inpainting {request.n} candidate(s) with {request.model}…")
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
            self.busy.emit(f"Inpainting: step {event.step} / {event.total}")
        elif isinstance(event, Preview) and event.image is not None:
            self.editor.show_preview(np.asarray(event.image)[0])  # the first candidate as it forms

    def _on_finished(self, result: InpaintResult) -> None:
        seconds = time.perf_counter() - self.started_at
        self.result = result
        count = len(result.candidates)
        self.candidates.show()
        self.candidates.show_candidates(result.candidates, [result.image_params(i) for i in range(count)],
                                        describe_run(result, seconds))
        self.progress_label.setText(f"Done in {seconds:.1f} s. Click a candidate to preview it in the picture; "
                                    "Accept keeps it.")

    def _on_failed(self, message: str) -> None:
        self.editor.show_preview(None)
        self.progress_label.setText("Failed.")
        dialogs.warn(self, "Inpainting failed", message)

    def _on_cancelled(self) -> None:
        self.editor.show_preview(None)
        self.progress_label.setText("Cancelled.")

    def _on_ended(self) -> None:
        self.worker = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._set_busy(False)
        self.busy.emit("")

    def _set_busy(self, busy: bool) -> None:
        has_model, has_picture = bool(self.model_box.currentData()), self.editor.has_image()
        self.inpaint_button.setEnabled(has_model and has_picture and not busy)
        self.cancel_button.setEnabled(busy)
        for widget in (self.model_box, self.count_box, self.seed_box, self.dice, self.random_seed, self.strength_box,
                       self.harmonize_box, self.feather_box, self.context_box, self.open_button):
            widget.setEnabled(has_model and not busy)
        self.options.set_enabled(has_model and not busy)
        for widget in (self.save_button, self.extend_box, *self.extend_buttons.values()):
            widget.setEnabled(has_picture and not busy)
        self.candidates.setEnabled(not busy)
        self.editor.set_locked(busy)
        self.toolbar.set_enabled(not busy)

    # -- candidates -------------------------------------------------------------------------------
    def candidate(self, index: int) -> np.ndarray | None:
        """Candidate ``index`` carried onto the picture as it is now (it may have been edited since)."""
        if self.result is None or not 0 <= index < len(self.result.candidates):
            return None
        current, made = self.editor.image(), self.result.candidates[index]
        if current.shape != made.shape or self.source.shape != made.shape:
            return None
        return blend_candidate(current, self.source, made)

    def preview_candidate(self, index: int) -> None:
        image = self.candidate(index)
        if image is None:
            self.progress_label.setText("The picture changed size since this run: run Inpaint again.")
            return
        self.editor.show_preview(image, self.result.box)

    def accept(self) -> bool:
        """Put the picked candidate into the picture as one undo step."""
        index = self.candidates.current
        image = self.candidate(index)
        if image is None:
            dialogs.warn(self, "Cannot accept this candidate",
                         "The picture changed size since this run (an extension was undone or added): "
                         "run Inpaint again.")
            return False
        self.editor.apply_result(image, self.result.image_params(index))
        self.progress_label.setText(f"Candidate {index + 1} accepted (Ctrl+Z to undo).")
        return True

    def discard(self) -> None:
        self.result = self.source = None
        self.candidates.clear()
        self.candidates.hide()
        self.editor.show_preview(None)

    # -- dropping a picture ------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if self.worker is None and carries_picture(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        mime = event.mimeData()
        event.acceptProposedAction()
        path = local_file(mime)
        if path:
            self.open_image(path)
        elif mime.hasImage():
            self.load_picture(array_from_qimage(mime.imageData()), "dropped picture")

