"""The main window: a rail of canvases (Generate, Inpaint, Translate, Text, Music, Anomaly, Train, Library),
menus, shortcuts, status bar.

It owns the shared state (settings, the model store, the registry once loaded) and keeps the
canvases in step: a model that finishes training appears in the library and in Generate. torch is
imported in the background after the window is shown, never on the start-up path.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QThreadPool, QTimer
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from genstudio import __version__
from genstudio.core.paths import runs_dir
from genstudio.core.registry import ArchSpec, Capability
from genstudio.core.store import ModelStore
from genstudio.ui.canvases.anomaly import AnomalyCanvas, detector_arch
from genstudio.ui.canvases.generate import GenerateCanvas
from genstudio.ui.canvases.inpaint import InpaintCanvas
from genstudio.ui.canvases.music import MusicCanvas
from genstudio.ui.canvases.text import TextCanvas
from genstudio.ui.canvases.train import TrainCanvas
from genstudio.ui.canvases.translate import TranslateCanvas
from genstudio.ui.settings import Settings
from genstudio.ui.theme import apply_theme
from genstudio.ui.training_process import running_trainers
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.library_panel import LibraryPanel
from genstudio.ui.workers import run_in_background

CANVASES = ("Generate", "Inpaint", "Translate", "Text", "Music", "Anomaly", "Train", "Library")  # Ctrl+1 … Ctrl+8
RUNNERS = ("generate", "inpaint", "translate", "text", "music", "anomaly")  # the canvases that run models


def load_registry(device_choice: str) -> dict:
    """Runs off the UI thread: imports torch and every model family, finds the devices."""
    from genstudio.core.devices import available_devices, describe, resolve_device
    from genstudio.core.errors import GenStudioError
    from genstudio.core.registry import specs

    found = specs()
    warm_up(found)  # before the models are offered: a generation must not share the GIL with it
    try:
        device = describe(resolve_device(device_choice))
    except GenStudioError as err:
        device = f"{device_choice} unavailable ({err}); using CPU"
    return {"specs": found, "devices": available_devices(), "device": device}


def warm_up(specs: list[ArchSpec]) -> None:
    """Heavy first-time imports, done off the UI thread before the models are listed, so no later click
    pays for them with a frozen window (an import holds the GIL for up to ~1 s): pyqtgraph (the Train
    canvas's loss plot), and what building a network on the meta device pulls in (torch's
    decompositions import sympy and torch._dynamo), since the model store validates every file so."""
    import pyqtgraph  # noqa: F401
    import torch

    from genstudio.core.errors import GenStudioError

    with torch.device("meta"):
        for spec in specs:
            try:
                spec.build(spec.model_config(next(iter(spec.presets))))
            except (GenStudioError, ValueError):
                continue  # a preset that needs its data first (a text model's vocabulary): nothing to warm


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, store: ModelStore | None = None):
        super().__init__()
        self.settings = settings or Settings()
        self.store = store or ModelStore()
        self.specs: dict[str, ArchSpec] = {}
        self.devices: list[str] = ["cpu"]
        self.setWindowTitle("GenStudio")
        self.setAcceptDrops(True)
        self.resize(1200, 760)

        self.generate = GenerateCanvas(self.settings)
        self.inpaint = InpaintCanvas(self.settings)
        self.translate = TranslateCanvas(self.settings)
        self.text = TextCanvas(self.settings)
        self.music = MusicCanvas(self.settings)
        self.anomaly = AnomalyCanvas(self.settings, self.store)
        self.train = TrainCanvas(self.settings, self.store)
        self.library = LibraryPanel(self.store)
        self.stack = QStackedWidget()
        for canvas in (*self.runners(), self.train, self.library):
            self.stack.addWidget(canvas)
        self.rail = QListWidget(objectName="rail")
        self.rail.setFixedWidth(120)
        self.rail.setIconSize(QSize(20, 20))
        for i, name in enumerate(CANVASES):
            item = QListWidgetItem(name)
            item.setToolTip(f"{name} (Ctrl+{i + 1})")
            self.rail.addItem(item)
        self.rail.currentRowChanged.connect(self.stack.setCurrentIndex)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.rail)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.job_label = QLabel("")
        self.device_label = QLabel("Device: starting…")
        self.statusBar().addPermanentWidget(self.job_label)
        self.statusBar().addPermanentWidget(self.device_label)
        self._connect()
        self._build_menus()
        self._restore()
        self._sync_canvases(self.library.listing)  # the panel has just listed the store
        QTimer.singleShot(0, self._load_registry)

    # -- wiring -----------------------------------------------------------------------------------
    def _connect(self) -> None:
        self.jobs = {name: "" for name in (*RUNNERS, "train")}
        for name in RUNNERS:
            canvas = getattr(self, name)
            canvas.busy.connect(lambda text, n=name: self._job_status(n, text))
            canvas.go_train.connect(lambda: self.show_canvas("Train"))
        self.anomaly.train_detector.connect(self.train_detector)
        self.generate.inspect_images.connect(self.inspect_images)
        self.train.busy.connect(lambda text: self._job_status("train", text))
        self.train.model_published.connect(self._model_published)
        self.library.changed.connect(lambda: self._sync_canvases(self.library.listing))
        self.library.use_model.connect(self._use_model)
        self.library.go_train.connect(lambda: self.show_canvas("Train"))
        self.library.message.connect(lambda text: self.statusBar().showMessage(text, 8000))

    def _build_menus(self) -> None:
        def action(menu, text, slot, shortcut=None):
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
                act.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "&Import model .zip…", self.import_model, "Ctrl+I")
        action(file_menu, "&Export selected model…", self._export_model, "Ctrl+E")
        action(file_menu, "Open &training runs folder", lambda: self._open_folder(runs_dir()))
        file_menu.addSeparator()
        action(file_menu, "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        gen_menu = self.menuBar().addMenu("&Generate")
        action(gen_menu, "&Generate", self.generate.generate)  # Ctrl+Enter lives on the canvas
        action(gen_menu, "&Cancel", self.generate.cancel)
        action(gen_menu, "New random &seed", self.generate.new_seed, "Ctrl+R")
        action(gen_menu, "&Open a GenStudio PNG's settings…", self._open_png_settings, "Ctrl+O")

        view_menu = self.menuBar().addMenu("&View")
        for i, name in enumerate(CANVASES):
            action(view_menu, f"&{name}", lambda checked=False, n=name: self.show_canvas(n), f"Ctrl+{i + 1}")
        view_menu.addSeparator()
        self.dark_action = action(view_menu, "&Dark theme", self._toggle_theme, "Ctrl+Shift+L")
        self.dark_action.setCheckable(True)
        self.dark_action.setChecked(self.settings.theme == "dark")
        action(view_menu, "&Refresh library", self.refresh_library, QKeySequence.StandardKey.Refresh)

        help_menu = self.menuBar().addMenu("&Help")
        action(help_menu, "&Keyboard shortcuts", self._shortcuts)
        action(help_menu, "Open the &log folder", self._open_log_folder)
        action(help_menu, "&About GenStudio", self._about)

    def _restore(self) -> None:
        geometry = self.settings.get("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        name = str(self.settings.get("window/canvas_name", ""))  # by name: the rail's order may change
        row = CANVASES.index(name) if name in CANVASES else self.settings.get_int("window/canvas", 0)
        self.rail.setCurrentRow(min(max(row, 0), len(CANVASES) - 1))

    # -- the registry arrives -------------------------------------------------------------------------
    def _load_registry(self) -> None:
        run_in_background(lambda: load_registry(self.settings.device), self._registry_loaded,
                          self._registry_failed)

    def _registry_loaded(self, result: dict) -> None:
        self.specs = {s.name: s for s in result["specs"]}
        self.devices = result["devices"]
        self.device_label.setText(f"Device: {result['device']}")
        self.train.set_specs([s for s in result["specs"] if s.trainer])
        self.refresh_library()
        self._follow_running_trainer()

    def _registry_failed(self, message: str) -> None:
        self.device_label.setText("Device: unavailable")
        dialogs.warn(self, "GenStudio could not load its models", message)

    def _follow_running_trainer(self) -> None:
        found = running_trainers()
        if found and not self.train.is_training():
            self.train.follow(*found[0])
            self.show_canvas("Train")

    # -- library --------------------------------------------------------------------------------------
    def refresh_library(self) -> None:
        listing = self.store.list()
        self.library.refresh(listing)
        self._sync_canvases(listing)

    def _sync_canvases(self, listing: tuple[list, list[str]]) -> None:
        """Give Generate and Train the models of a fresh ``store.list()``, and count them."""
        models, problems = listing
        self.train.set_library(models)
        if self.specs:
            generators = [(m, self.specs[m.arch]) for m in models if m.arch in self.specs
                          and self.specs[m.arch].can(Capability.GENERATE) and self.specs[m.arch].modality == "image"]
            self.generate.set_models(generators)
            known = [(m, self.specs[m.arch]) for m in models if m.arch in self.specs]
            self.inpaint.set_models(known)  # each keeps the models that can do its job
            self.translate.set_models(known)
            self.text.set_models(known)
            self.music.set_models(known)
            self.anomaly.set_models(known)
            self.generate.inspect_button.setVisible(bool(self.anomaly.entries))
        users = sum(not m.bundled for m in models)
        note = f"{users} of your models, {len(models) - users} bundled"
        if problems:
            note += f" · {len(problems)} unreadable folder(s): {problems[0]}"
        self.statusBar().showMessage(note)

    def _model_published(self, name: str) -> None:
        self.refresh_library()
        self.library.select(name)
        for canvas in self.runners():
            canvas.select_model(name)

    def _use_model(self, name: str) -> None:
        """Library ▸ Use: the first canvas that can run the model (a CycleGAN only translates, a feature
        detector only inspects)."""
        for label, canvas in (("Generate", self.generate), ("Translate", self.translate), ("Text", self.text),
                              ("Music", self.music), ("Inpaint", self.inpaint), ("Anomaly", self.anomaly)):
            if canvas.select_model(name):
                self.show_canvas(label)
                return
        self.show_canvas("Generate")

    def runners(self) -> tuple:
        """The canvases that run models, in the rail's order."""
        return tuple(getattr(self, name) for name in RUNNERS)

    def train_detector(self, folder: str) -> None:
        """Anomaly ▸ Train a detector…: the Train canvas, with a detector architecture and the folder chosen."""
        self.show_canvas("Train")
        arch = detector_arch(list(self.train.specs.values()))
        index = self.train.arch_box.findData(arch) if arch else -1
        if index >= 0:
            self.train.arch_box.setCurrentIndex(index)
        if folder:
            self.train.set_folder(folder)

    def inspect_images(self, images, names: list[str]) -> None:
        """Generate ▸ Inspect these…: the Anomaly canvas scans the grid's images."""
        self.show_canvas("Anomaly")
        self.anomaly.scan_images(images, names)

    def import_model(self) -> None:
        path = dialogs.open_file(self, "Import a GenStudio model", "GenStudio models (*.zip)")
        if path:
            self.import_zip(Path(path))

    def import_zip(self, path: Path) -> bool:
        self.show_canvas("Library")
        return self.library.import_zip(path)  # emits `changed` on success: the canvases refresh

    def _export_model(self) -> None:
        self.show_canvas("Library")
        self.library.export_selected()

    # -- canvases, settings, theme --------------------------------------------------------------------
    def show_canvas(self, name: str) -> None:
        self.rail.setCurrentRow(CANVASES.index(name))

    def open_settings(self) -> None:
        from genstudio.ui.widgets.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.devices, self)
        if not dialog.exec():
            return
        if "theme" in dialog.changed:
            self.set_theme(self.settings.theme)
        if "model_folder" in dialog.changed:
            self.settings.apply_environment()
            self.store = ModelStore()
            self.library.store = self.train.store = self.anomaly.store = self.store
            self.refresh_library()
        if {"device", "threads"} & dialog.changed:
            self.device_label.setText("Device: checking…")
            run_in_background(lambda: load_registry(self.settings.device),
                              lambda r: self.device_label.setText(f"Device: {r['device']}"))

    def set_theme(self, name: str) -> None:
        self.settings.theme = name
        colors = apply_theme(QApplication.instance(), name)
        self.dark_action.setChecked(name == "dark")
        if self.train.plot is not None:
            self.train.plot.apply_colors(colors)
        self.anomaly.apply_colors(colors)

    def _toggle_theme(self) -> None:
        self.set_theme("dark" if self.settings.theme == "light" else "light")

    def _job_status(self, source: str, text: str) -> None:
        self.jobs[source] = text
        self.job_label.setText("  ·  ".join(t for t in self.jobs.values() if t))

    def _open_png_settings(self) -> None:
        path = dialogs.open_file(self, "Restore settings from a GenStudio PNG", "PNG images (*.png)")
        if path:
            self.show_canvas("Generate")
            self.generate.restore_from_png(Path(path))

    def _open_folder(self, folder: Path) -> None:
        from PySide6.QtCore import QUrl

        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _open_log_folder(self) -> None:
        from genstudio.core.paths import log_dir

        self._open_folder(log_dir())

    def _shortcuts(self) -> None:
        dialogs.inform(self, "Keyboard shortcuts", "\n".join([
            "Ctrl+1 … 8 — Generate, Inpaint, Translate, Text, Music, Anomaly, Train, Library",
            "Ctrl+Enter — Generate",
            "Esc — Cancel generation", "Inpaint: Ctrl+Z / Ctrl+Shift+Z — undo / redo, Ctrl+V — paste a picture,",
            "    B / E / R / L — brush, eraser, rectangle, lasso, [ / ] — brush size, Ctrl+Shift+I — invert mask,",
            "    Ctrl+0 — fit, Delete — clear mask",
            "Text: Ctrl+Enter — continue from the cursor, Ctrl+Shift+Enter — fill the selection, Esc — stop,",
            "    Ctrl+S / Ctrl+Shift+S — save / save as, Ctrl+N — new",
            "Music: Ctrl+Enter — continue the notes, Esc — stop, Space — play / stop, Ctrl+S — export MIDI,",
            "    Ctrl+N — new; in the roll: Ctrl+Z / Ctrl+Shift+Z, Delete, Ctrl+C / X / V, arrows, Ctrl+0 — fit",
            "Anomaly: Esc — stop a scan; in the gallery: A / N / U — mark anomalous / normal / no mark",
            "Ctrl+R — new random seed", "Ctrl+O — restore settings from a PNG", "Ctrl+I — import a model .zip",
            "Ctrl+E — export the selected model", "Ctrl+, — settings", "Ctrl+Shift+L — light / dark theme",
            "F5 — refresh the library", "Ctrl+Q — quit"]))

    def _about(self) -> None:
        QMessageBox.about(self, "About GenStudio",
                          f"GenStudio {__version__}\nA local generative art studio: every model runs and "
                          "trains on this machine.")

    # -- drops and closing ----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if any(u.toLocalFile().lower().endswith(".zip") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        event.acceptProposedAction()
        for url in event.mimeData().urls():
            if url.toLocalFile().lower().endswith(".zip"):
                self.import_zip(Path(url.toLocalFile()))

    def closeEvent(self, event) -> None:
        if not self.text.maybe_save() or not self.music.maybe_save():  # unsaved work: Save, Discard or Cancel
            event.ignore()
            return
        if self.train.is_training():
            choice = dialogs.choose(self, "Training is running",
                                    f"'{self.train.run.name}' is still training. Stop it (it saves a checkpoint "
                                    "and the model so far), or keep it training in the background? GenStudio "
                                    "shows it again when you reopen it.", ["Stop and save", "Keep training"])
            if choice is None:
                event.ignore()
                return
            if choice == "Keep training":
                self.train.detach()
            else:
                QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
                try:
                    self.train.stop_and_wait()
                finally:
                    QApplication.restoreOverrideCursor()
        self.music.shutdown()  # stop the sound
        busy = [c for c in self.runners() if c.is_busy()]
        for canvas in busy:
            canvas.cancel()
        if busy:
            QThreadPool.globalInstance().waitForDone(10_000)
        self.generate.save_choices()
        self.inpaint.save_choices()
        self.text.save_choices()
        self.music.save_choices()
        self.anomaly.save_choices()
        self.settings.set("window/geometry", self.saveGeometry())
        self.settings.set("window/canvas", self.rail.currentRow())
        self.settings.set("window/canvas_name", CANVASES[max(self.rail.currentRow(), 0)])
        self.settings.sync()
        super().closeEvent(event)
