"""The Generate canvas's sampler controls, built from the model's ``sampler_options``.

A control appears only when the model takes it: steps/sampler/η for diffusion, temperature for the
likelihood families, truncation ψ for StyleGAN, a prompt, a negative prompt and a guidance scale for
text-to-image, and a class picker for a model trained on class subfolders (its card lists the classes).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSlider,
    QSpinBox,
    QWidget,
)

from genstudio.core.data.captions import unknown_words
from genstudio.core.registry import ArchSpec

SAMPLER_LABELS = {"ddim": "DDIM", "ddpm": "DDPM"}
SAMPLER_TIPS = {"ddim": "DDIM: fast; with η = 0 the same seed always gives the same image",
                "ddpm": "DDPM: the original ancestral sampler; needs more steps"}
NOISE_LABELS = {"const": "Fixed", "random": "From the seed"}
ANY_CLASS = -1


class PromptEdit(QPlainTextEdit):
    """A few lines of prompt; Enter inserts nothing (Ctrl+Enter generates, as everywhere)."""

    def __init__(self, placeholder: str, lines: int, parent=None):
        super().__init__(parent, placeholderText=placeholder)
        self.setTabChangesFocus(True)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * lines + 14)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            event.ignore()  # a prompt is one line of words; let Enter reach the canvas
            return
        super().keyPressEvent(event)

    def text(self) -> str:
        return " ".join(self.toPlainText().split())


class TruncationControl(QWidget):
    """ψ as a slider with its number: 0 = the average image, 1 = the full variety of the model."""

    valueChanged = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=150, value=70)
        self.box = QDoubleSpinBox(minimum=0.0, maximum=1.5, singleStep=0.05, decimals=2, value=0.7)
        self.slider.valueChanged.connect(lambda v: self.box.setValue(v / 100))
        self.box.valueChanged.connect(self._box_changed)
        self.setToolTip("Truncation ψ: 1 = the model's full variety; lower = closer to its average image "
                        "(safer, less varied); 0 = the average image for every seed")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 1)
        row.addWidget(self.box)

    def _box_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * 100))
        self.slider.blockSignals(False)
        self.valueChanged.emit(value)

    def value(self) -> float:
        return round(self.box.value(), 3)

    def setValue(self, value: float) -> None:
        self.box.setValue(float(value))


class SamplerOptions(QWidget):
    """The option rows of the Generate form; ``values()`` gives the GenerateRequest fields."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.vocab: tuple[str, ...] = ()
        self.classes: tuple[str, ...] = ()
        self.prompt_edit = PromptEdit("What to draw, e.g. “a red circle on blue”", 3)
        self.prompt_edit.textChanged.connect(self._prompt_changed)
        self.negative_edit = QLineEdit(placeholderText="What to avoid (optional)")
        self.negative_edit.setToolTip("Guidance steers away from this instead of from an empty prompt")
        self.words_note = QLabel(objectName="muted", wordWrap=True)
        self.guidance_box = QDoubleSpinBox(minimum=0.0, maximum=20.0, singleStep=0.5, decimals=1, value=1.0)
        self.guidance_box.setToolTip("Classifier-free guidance: 0 ignores the prompt or class, 1 follows it as "
                                     "trained, higher follows it more strictly (less varied)")
        self.label_box = QComboBox()
        self.label_box.setToolTip("The class to draw (the subfolders the model was trained on)")
        self.steps_box = QSpinBox(minimum=1, maximum=10_000, value=25)  # diffusion ≤ 1000; Gibbs chains run longer
        self.sampler_box = QComboBox()
        for key, label in SAMPLER_LABELS.items():
            self.sampler_box.addItem(label, key)
            self.sampler_box.setItemData(self.sampler_box.count() - 1, SAMPLER_TIPS[key], Qt.ItemDataRole.ToolTipRole)
        self.eta_box = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.1, decimals=2)
        self.eta_box.setToolTip("0: the same seed always gives the same image; 1: as random as DDPM")
        self.temperature_box = QDoubleSpinBox(minimum=0.0, maximum=2.0, singleStep=0.05, decimals=2, value=1.0)
        self.temperature_box.setToolTip("1: the model's own distribution; below 1 safer and smoother, above 1 wilder")
        self.truncation = TruncationControl()
        self.noise_box = QComboBox()
        for key, label in NOISE_LABELS.items():
            self.noise_box.addItem(label, key)
        self.noise_box.setToolTip("Per-layer noise (fine detail such as hair or texture): fixed, so only the "
                                  "style changes with the seed, or drawn from each image's seed")
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        for label, widget in self.rows():
            self.form.addRow(label, widget)
        self.form.addRow("", self.words_note)
        for signal in (self.sampler_box.currentIndexChanged, self.label_box.currentIndexChanged):
            signal.connect(self.update_visibility)
        for signal in (self.steps_box.valueChanged, self.sampler_box.currentIndexChanged, self.eta_box.valueChanged,
                       self.temperature_box.valueChanged, self.truncation.valueChanged, self.guidance_box.valueChanged,
                       self.label_box.currentIndexChanged, self.noise_box.currentIndexChanged,
                       self.prompt_edit.textChanged, self.negative_edit.textChanged):
            signal.connect(self.changed)
        self.options: set[str] = set()
        self.update_visibility()

    def rows(self) -> tuple[tuple[str, QWidget], ...]:
        return (("Prompt", self.prompt_edit), ("Negative", self.negative_edit), ("Class", self.label_box),
                ("Guidance", self.guidance_box), ("Steps", self.steps_box), ("Sampler", self.sampler_box),
                ("η (eta)", self.eta_box), ("Temperature", self.temperature_box), ("Truncation ψ", self.truncation),
                ("Noise", self.noise_box))

    def widgets(self) -> dict[str, QWidget]:
        """Option name (as in ``sampler_options``) -> its control."""
        return {"prompt": self.prompt_edit, "negative_prompt": self.negative_edit, "label": self.label_box,
                "guidance": self.guidance_box, "steps": self.steps_box, "sampler": self.sampler_box,
                "eta": self.eta_box, "temperature": self.temperature_box, "truncation": self.truncation,
                "noise": self.noise_box}

    # -- the model --------------------------------------------------------------------------------
    def set_model(self, spec: ArchSpec | None, card: dict | None) -> None:
        """Show the controls ``spec`` takes; the class picker and the vocabulary come from the card."""
        config = (card or {}).get("config", {})
        self.classes, self.vocab = tuple(config.get("classes", ())), tuple(config.get("vocab", ()))
        current = self.label_box.currentData()
        self.label_box.blockSignals(True)
        self.label_box.clear()
        self.label_box.addItem("Any class (from each seed)", ANY_CLASS)
        for index, name in enumerate(self.classes):
            self.label_box.addItem(name, index)
        self.label_box.setCurrentIndex(max(self.label_box.findData(current), 0))
        self.label_box.blockSignals(False)
        options = set(spec.sampler_options) if spec else set()
        if not self.classes:
            options.discard("label")  # an unconditional model: no classes to pick
            if "prompt" not in options:
                options.discard("guidance")  # guidance needs a condition to follow
        self.options = options
        self.update_visibility()
        self._prompt_changed()

    def update_visibility(self) -> None:
        for name, widget in self.widgets().items():
            visible = name in self.options and (name != "eta" or self.sampler_box.currentData() == "ddim")
            widget.setVisible(visible)
            self.form.labelForField(widget).setVisible(visible)

    def _prompt_changed(self) -> None:
        unknown = unknown_words(self.prompt_edit.text(), self.vocab) if "prompt" in self.options else []
        self.words_note.setText(f"Not in this model's vocabulary (ignored): {', '.join(dict.fromkeys(unknown))}"
                                if unknown else "")
        self.words_note.setVisible(bool(unknown))

    def apply_defaults(self, spec: ArchSpec) -> None:
        """The sampler's own defaults for ``spec`` (a DDPM's 25 steps are not an EBM's)."""
        self.apply({k: v for k, v in spec.sampler_defaults.items() if k not in ("prompt", "negative_prompt")})

    # -- values -----------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        return {"steps": self.steps_box.value(), "sampler": self.sampler_box.currentData(),
                "eta": round(self.eta_box.value(), 3), "temperature": round(self.temperature_box.value(), 3),
                "truncation": self.truncation.value(), "guidance": round(self.guidance_box.value(), 2),
                "label": int(self.label_box.currentData() if self.label_box.currentData() is not None else ANY_CLASS),
                "noise": self.noise_box.currentData(), "prompt": self.prompt_edit.text(),
                "negative_prompt": self.negative_edit.text().strip()}

    def apply(self, values: dict[str, Any]) -> None:
        """Set the controls named in ``values`` (a request's fields, a PNG's parameters, defaults)."""
        setters = {
            "steps": lambda v: self.steps_box.setValue(int(v)),
            "sampler": lambda v: self.sampler_box.setCurrentIndex(max(self.sampler_box.findData(v), 0)),
            "eta": lambda v: self.eta_box.setValue(float(v)),
            "temperature": lambda v: self.temperature_box.setValue(float(v)),
            "truncation": lambda v: self.truncation.setValue(float(v)),
            "guidance": lambda v: self.guidance_box.setValue(float(v)),
            "label": lambda v: self.label_box.setCurrentIndex(max(self.label_box.findData(int(v)), 0)),
            "noise": lambda v: self.noise_box.setCurrentIndex(max(self.noise_box.findData(v), 0)),
            "prompt": lambda v: self.prompt_edit.setPlainText(str(v)),
            "negative_prompt": lambda v: self.negative_edit.setText(str(v)),
        }
        for name, value in values.items():
            if name in setters and value is not None:
                setters[name](value)

    def set_enabled(self, enabled: bool) -> None:
        for widget in self.widgets().values():
            widget.setEnabled(enabled)

    # -- remembered between sessions ----------------------------------------------------------------
    SAVED = ("steps", "sampler", "eta", "temperature", "truncation", "guidance", "noise", "prompt", "negative_prompt")

    def restore(self, settings) -> None:
        defaults = {"steps": 25, "sampler": "ddim", "eta": 0.0, "temperature": 1.0, "truncation": 0.7,
                    "guidance": 1.0, "noise": "const", "prompt": "", "negative_prompt": ""}
        self.apply({key: settings.get(f"generate/{key}", default) for key, default in defaults.items()})

    def save(self, settings) -> None:
        values = self.values()
        for key in self.SAVED:
            settings.set(f"generate/{key}", values[key])
