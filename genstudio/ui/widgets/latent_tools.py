"""The Generate canvas's latent tools: the latent explorer, the latent traversal, and Denoise.

Each panel works on the canvas's current model and appears only when the model declares the
capability (INTERPOLATE, TRAVERSE, DENOISE). The work (one or a few network passes) runs off the UI
thread through ``BackgroundJobs``, which keeps only the newest request while one runs, so dragging
the slider never queues up stale frames.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from genstudio.core.errors import GenStudioError
from genstudio.tasks.images import save_png
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.images import PixmapLabel, grid_array, to_pixmap
from genstudio.ui.widgets.result_grid import ResultGrid
from genstudio.ui.workers import run_in_background

MAX_SEED = 2**31 - 1
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif)"


class BackgroundJobs:
    """One job at a time off the UI thread; while one runs, a new request replaces any waiting one."""

    def __init__(self, on_error: Callable[[str], None], owner: QWidget | None = None):
        self.on_error, self.owner = on_error, owner  # results for a closed owner are dropped
        self.running = False
        self.waiting: tuple[Callable[[], Any], Callable[[Any], None]] | None = None

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        if self.running:
            self.waiting = (fn, on_done)
            return
        self.running = True

        def finished(result):
            self._next()
            if self._owner_alive():
                on_done(result)

        def failed(message):
            self._next()
            if self._owner_alive():
                self.on_error(message)

        run_in_background(fn, finished, failed)

    def _owner_alive(self) -> bool:
        import shiboken6

        return self.owner is None or shiboken6.isValid(self.owner)

    def _next(self) -> None:
        self.running = False
        if self.waiting is not None:
            job, self.waiting = self.waiting, None
            self.submit(*job)


def read_image_file(parent: QWidget, path: str) -> np.ndarray | None:
    """H×W×3 uint8 of a dropped or opened file, or None after telling the user why not."""
    from genstudio.core.data.images import load_image

    try:
        return load_image(path)
    except ValueError as err:
        dialogs.warn(parent, "Cannot use this file", f"{Path(path).name}: {err}.")
        return None


class ImageDrop(PixmapLabel):
    """A picture area that takes a dropped image file (or a click to open one)."""

    dropped = Signal(str)

    def __init__(self, hint: str, parent=None):
        super().__init__(hint, parent)
        self.setObjectName("dropzone")
        self.setWordWrap(True)
        self.set_accepting(True)

    def set_accepting(self, accepting: bool) -> None:
        """Whether drops and clicks open an image (off: a plain picture)."""
        self.accepting = accepting
        self.setAcceptDrops(accepting)
        self.setCursor(Qt.CursorShape.PointingHandCursor if accepting else Qt.CursorShape.ArrowCursor)

    def dragEnterEvent(self, event) -> None:
        if self.accepting and event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        event.acceptProposedAction()
        self.dropped.emit(event.mimeData().urls()[0].toLocalFile())

    def mousePressEvent(self, event) -> None:
        if not self.accepting:
            return
        path = dialogs.open_file(self, "Open an image", IMAGE_FILTER)
        if path:
            self.dropped.emit(path)


class ToolPanel(QWidget):
    """Shared by the three panels: the model they work on and the device to run it on."""

    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self.settings, self.model_name = settings, ""
        self.jobs = BackgroundJobs(lambda message: dialogs.warn(self, "That did not work", message), self)

    def set_model(self, name: str) -> None:
        changed, self.model_name = name != self.model_name, name
        if changed and name and self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.model_name:
            self.refresh()

    def device(self) -> Callable[[], Any]:
        """Read the device settings here, on the UI thread; the job resolves them on its own."""
        choice, threads = self.settings.device, self.settings.threads

        def resolve():
            from genstudio.core.devices import resolve_device, set_threads

            set_threads(threads)
            return resolve_device(choice)
        return resolve

    def refresh(self) -> None:
        """Recompute the panel's pictures for the current model (each panel defines it)."""
        raise NotImplementedError(f"{type(self).__name__} must define refresh()")


class EndpointBox(QFrame):
    """One end of the explorer: a seed, or an image dropped on it."""

    changed = Signal()

    def __init__(self, title: str, seed: int, parent=None):
        super().__init__(parent, objectName="panel")
        self.image: np.ndarray | None = None
        self.encodes = True  # the model can encode a dropped image (a GAN cannot)
        self.picture = ImageDrop("Drop an image here\nor click to open one")
        self.picture.setMinimumSize(96, 96)
        self.picture.dropped.connect(self.load)
        self.seed_box = QSpinBox(minimum=0, maximum=MAX_SEED, value=seed)
        self.seed_box.valueChanged.connect(self.use_seed)
        dice = QPushButton("Random")
        dice.clicked.connect(lambda: self.seed_box.setValue(int(np.random.randint(0, MAX_SEED))))
        self.source = QLabel(objectName="muted")
        row = QHBoxLayout()
        row.addWidget(QLabel("Seed"))
        row.addWidget(self.seed_box, 1)
        row.addWidget(dice)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(title, objectName="heading"))
        layout.addWidget(self.picture, 1)
        layout.addLayout(row)
        layout.addWidget(self.source)
        self.use_seed()

    def load(self, path: str) -> bool:
        image = read_image_file(self, path)
        if image is None:
            return False
        self.image = image
        self.picture.set_source(to_pixmap(image))
        self.source.setText(f"Image: {Path(path).name} (its encoding)")
        self.changed.emit()
        return True

    def use_seed(self) -> None:
        self.image = None
        self.picture.clear()  # the decoded seed replaces the hint when the strip arrives
        self.source.setText("A sample of the model's prior" + (" (drop an image to use it instead)"
                                                               if self.encodes else ""))
        self.changed.emit()

    def set_encodes(self, encodes: bool) -> None:
        """Images as endpoints only for models with an encoder; otherwise seeds alone."""
        if encodes != self.encodes:
            self.encodes = encodes
            self.picture.set_accepting(encodes)
            self.use_seed()

    def show_decoded(self, image: np.ndarray) -> None:
        """What a seed endpoint decodes to (an image endpoint keeps showing the image itself)."""
        if self.image is None:
            self.picture.set_source(to_pixmap(image))

    def endpoint(self):
        from genstudio.tasks.latent import Endpoint

        return Endpoint(seed=self.seed_box.value(), image=self.image)


class LatentExplorer(ToolPanel):
    """Two endpoints (seeds or dropped images), a slider between them and an interpolation strip."""

    def __init__(self, settings, parent=None):
        super().__init__(settings, parent)
        self.options: dict[str, Any] = {}  # the Samples tab's truncation and class, for models that take them
        self.frame_jobs = BackgroundJobs(self.jobs.on_error, self)  # the slider's frame, apart from the strip
        self.a, self.b = EndpointBox("A", 1), EndpointBox("B", 2)
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=2.0, singleStep=0.1, value=0.8, decimals=2)
        self.temperature.setToolTip("Spread of the seeds' latents: below 1 gives safer, more typical images")
        self.frames = QSpinBox(minimum=3, maximum=24, value=8)
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=50)
        self.slider.valueChanged.connect(self.render_frame)
        self.frame = PixmapLabel()
        self.frame.setMinimumSize(160, 160)
        self.strip = ResultGrid(reusable=False, cell=96)
        self.strip.setFixedHeight(140)
        self.strip.enlarge.connect(lambda i: self.slider.setValue(round(100 * i / max(1, self.frames.value() - 1))))
        for signal in (self.a.changed, self.b.changed, self.temperature.valueChanged, self.frames.valueChanged):
            signal.connect(self.refresh)
        ends = QHBoxLayout()
        ends.addWidget(self.a)
        ends.addWidget(self.frame, 2)
        ends.addWidget(self.b)
        options = QHBoxLayout()
        options.addWidget(QLabel("A"))
        options.addWidget(self.slider, 1)
        options.addWidget(QLabel("B"))
        options.addSpacing(16)
        options.addWidget(QLabel("Seed temperature"))
        options.addWidget(self.temperature)
        options.addWidget(QLabel("Frames"))
        options.addWidget(self.frames)
        layout = QVBoxLayout(self)
        layout.addLayout(ends, 1)
        layout.addLayout(options)
        layout.addWidget(self.strip)

    def set_encodes(self, encodes: bool) -> None:
        for box in (self.a, self.b):
            box.set_encodes(encodes)

    def set_options(self, options: dict[str, Any]) -> None:
        if options != self.options:
            self.options = dict(options)
            if self.model_name and self.isVisible():
                self.refresh()

    def _interpolate(self, fractions: list[float]) -> Callable[[], np.ndarray]:
        name, a, b, options = self.model_name, self.a.endpoint(), self.b.endpoint(), dict(self.options)
        temperature, device = self.temperature.value(), self.device()

        def job():
            from genstudio.tasks.latent import interpolate

            return interpolate(name, a, b, fractions, device(), temperature, options)
        return job

    def refresh(self) -> None:
        if not self.model_name:
            return
        count = self.frames.value()
        fractions = [i / (count - 1) for i in range(count)]
        params = {"model": self.model_name, "tool": "interpolate", "a": self.a.endpoint().describe(),
                  "b": self.b.endpoint().describe()}
        def show(images):
            self.strip.show_result(images, [{**params, "frame": i, "t": round(t, 3)} for i, t in enumerate(fractions)],
                                   [f"{t:.2f}" for t in fractions])
            self.a.show_decoded(images[0])
            self.b.show_decoded(images[-1])

        self.jobs.submit(self._interpolate(fractions), show)
        self.render_frame()

    def render_frame(self) -> None:
        if self.model_name:
            t = self.slider.value() / 100
            self.frame_jobs.submit(self._interpolate([t]), lambda images: self.frame.set_source(to_pixmap(images[0])))


class TraversalPanel(ToolPanel):
    """One row per latent dimension: what each coordinate of the latent does to the image."""

    def __init__(self, settings, parent=None):
        super().__init__(settings, parent)
        self.result = None
        self.seed_box = QSpinBox(minimum=0, maximum=MAX_SEED, value=0)
        dice = QPushButton("Random")
        dice.clicked.connect(lambda: self.seed_box.setValue(int(np.random.randint(0, MAX_SEED))))
        self.columns = QSpinBox(minimum=3, maximum=15, value=9, singleStep=2)
        self.only_active = QCheckBox("Hide dimensions that change nothing", checked=True)
        self.only_active.setToolTip("A β-VAE leaves latent dimensions it does not need unused; they are listed at the end")
        for signal in (self.seed_box.valueChanged, self.columns.valueChanged):
            signal.connect(self.refresh)
        self.only_active.toggled.connect(self._show)
        self.summary = QLabel(objectName="muted")
        self.rows = QWidget()
        self.rows_layout = QGridLayout(self.rows)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.rows)
        bar = QHBoxLayout()
        for widget in (QLabel("Seed"), self.seed_box, dice, QLabel("Columns (−3σ … +3σ)"), self.columns,
                       self.only_active):
            bar.addWidget(widget)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(scroll, 1)

    def refresh(self) -> None:
        if not self.model_name:
            return
        name, seed, columns, device = self.model_name, self.seed_box.value(), self.columns.value(), self.device()

        def job():
            from genstudio.tasks.latent import traverse

            return traverse(name, seed, columns, device())

        self.jobs.submit(job, self._got)

    def _got(self, result) -> None:
        self.result = result
        self._show()

    def _show(self) -> None:
        while self.rows_layout.count():
            self.rows_layout.takeAt(0).widget().deleteLater()
        if self.result is None:
            return
        r = self.result
        order = sorted(range(len(r.dims)), key=lambda i: -r.change[i])  # the dimensions that matter first
        active = [i for i in order if r.change[i] >= 0.5]
        shown = active if self.only_active.isChecked() else order
        self.summary.setText(f"{len(active)} of {len(r.dims)} latent dimensions change the image "
                             "(sorted by how much). Each row sweeps one dimension; the others stay at the seed's values.")
        for row, i in enumerate(shown):
            label = QLabel(f"z{r.dims[i]}\nΔ {r.change[i]:.1f}", objectName="muted")
            picture = QLabel()
            picture.setPixmap(to_pixmap(grid_array(r.row(i), cols=r.columns), 72 * r.columns))
            self.rows_layout.addWidget(label, row, 0)
            self.rows_layout.addWidget(picture, row, 1)
        self.rows_layout.setColumnStretch(2, 1)


class DenoisePanel(ToolPanel):
    """Drop an image; the model cleans it at its own resolution; before and after side by side."""

    def __init__(self, settings, parent=None):
        super().__init__(settings, parent)
        self.source_image: np.ndarray | None = None
        self.source_name = ""
        self.after: np.ndarray | None = None
        self.before_view = ImageDrop("Drop a noisy image here\nor click to open one")
        self.before_view.dropped.connect(self.load)
        self.after_view = PixmapLabel("The cleaned image appears here")
        self.add_noise = QCheckBox("Add test noise first")
        self.add_noise.setToolTip("Gaussian noise (σ = 0.15), to see what the model removes")
        self.add_noise.toggled.connect(self.refresh)
        self.save_button = QPushButton("Save cleaned image…", enabled=False)
        self.save_button.clicked.connect(self.save)
        self.note = QLabel(objectName="muted", wordWrap=True)
        views = QGridLayout()
        views.addWidget(QLabel("Before (at the model's resolution)", objectName="heading"), 0, 0)
        views.addWidget(QLabel("After", objectName="heading"), 0, 1)
        views.addWidget(self.before_view, 1, 0)
        views.addWidget(self.after_view, 1, 1)
        views.setRowStretch(1, 1)
        bar = QHBoxLayout()
        bar.addWidget(self.add_noise)
        bar.addStretch(1)
        bar.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(views, 1)
        layout.addWidget(self.note)
        layout.addLayout(bar)

    def load(self, path: str) -> bool:
        image = read_image_file(self, path)
        if image is None:
            return False
        self.source_image, self.source_name = image, Path(path).name
        self.refresh()
        return True

    def refresh(self) -> None:
        if not self.model_name or self.source_image is None:
            return
        name, image = self.model_name, self.source_image
        if self.add_noise.isChecked():
            rng = np.random.default_rng(0)
            image = np.clip(image + rng.normal(0, 0.15 * 255, image.shape), 0, 255).astype(np.uint8)

        device = self.device()

        def job():
            from genstudio.tasks.latent import denoise

            return denoise(name, image, device())

        self.note.setText(f"Cleaning {self.source_name} with {name}…")
        self.jobs.submit(job, self._got)

    def _got(self, pair) -> None:
        before, self.after = pair
        self.before_view.set_source(to_pixmap(before))
        self.after_view.set_source(to_pixmap(self.after))
        self.save_button.setEnabled(True)
        size = before.shape[0]
        self.note.setText(f"{self.source_name}: cleaned by {self.model_name} at {size}×{size} px.")

    def save(self) -> Path | None:
        if self.after is None:
            return None
        suggested = f"{Path(self.source_name).stem}-denoised.png"
        path = dialogs.save_file(self, "Save the cleaned image", suggested, "PNG images (*.png)")
        if not path:
            return None
        path = path if path.lower().endswith(".png") else path + ".png"
        params = {"model": self.model_name, "tool": "denoise", "source": self.source_name,
                  "test_noise": self.add_noise.isChecked()}
        try:
            return save_png(Image.fromarray(self.after), path, params)
        except (OSError, GenStudioError) as err:
            dialogs.warn(self, "Could not save", f"The image was not saved: {err}")
            return None
