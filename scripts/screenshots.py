"""Screenshots of every canvas and dialog in both themes, for docs/screenshots/ and the README.

Run under a real X server (``make screenshots`` uses Xvfb) so Qt renders through xcb as on a desktop:
    xvfb-run -s "-screen 0 1600x1000x24" python scripts/screenshots.py [OUT_DIR]
It uses a throwaway GenStudio home, generates with the bundled starter model, and fine-tunes it for a
few steps on the bundled emoji samples so the Train canvas shows a real loss curve and previews.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots"
os.environ["GENSTUDIO_HOME"] = tempfile.mkdtemp(prefix="genstudio-shots-")
os.environ.pop("GENSTUDIO_MODELS", None)
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QEventLoop  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from genstudio.core.store import ModelStore  # noqa: E402
from genstudio.ui.main_window import MainWindow  # noqa: E402
from genstudio.ui.settings import Settings  # noqa: E402
from genstudio.ui.theme import apply_theme  # noqa: E402
from genstudio.ui.widgets.image_viewer import ImageViewer  # noqa: E402
from genstudio.ui.widgets.settings_dialog import SettingsDialog  # noqa: E402

SIZE = (1280, 800)


def wait(app, predicate, timeout=600.0, what="condition"):
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def settle(app, seconds=0.4):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def save(widget, name, theme):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}-{theme}.png"
    widget.grab().save(str(path))
    print("wrote", path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def shoot_static(app, window, theme):
    window.show_canvas("Generate")
    settle(app)
    save(window, "generate", theme)
    viewer = ImageViewer(window.generate.grid, 5, window)
    viewer.show()
    settle(app)
    save(viewer, "image-viewer", theme)
    viewer.close()
    window.show_canvas("Library")
    window.library.select("starter-emoji")
    settle(app)
    save(window, "library", theme)
    dialog = SettingsDialog(window.settings, window.devices, window)
    dialog.show()
    settle(app)
    save(dialog, "settings", theme)
    dialog.close()


def shoot_empty(app, settings, theme):
    empty = Path(os.environ["GENSTUDIO_HOME"]) / "nothing"
    window = MainWindow(settings, ModelStore(root=empty / "models", bundled=empty / "bundled"))
    window.resize(*SIZE)
    window.show()
    wait(app, lambda: bool(window.specs), what="registry")
    window.show_canvas("Generate")
    settle(app)
    save(window, "empty-state", theme)
    window.hide()
    window.deleteLater()


def main() -> int:
    app = QApplication(sys.argv[:1])
    settings = Settings()
    apply_theme(app, "light")
    window = MainWindow(settings)
    window.resize(*SIZE)
    window.show()
    wait(app, lambda: bool(window.specs), what="registry")
    gen = window.generate
    gen.select_model("starter-emoji")
    gen.count_box.setValue(24)
    gen.seed_box.setValue(2026)
    gen.steps_box.setValue(30)
    gen.generate()
    wait(app, lambda: gen.worker is None, what="generation")
    for theme in ("light", "dark"):
        window.set_theme(theme)
        shoot_static(app, window, theme)
        shoot_empty(app, settings, theme)

    # Train: fine-tune the starter on the bundled emoji for a few steps, with previews.
    window.set_theme("light")
    train = window.train
    window.show_canvas("Train")
    train.set_folder(str(REPO / "resources" / "samples" / "emoji"))
    wait(app, lambda: train.scan is not None, what="dataset scan")
    train.name_edit.setText("emoji-finetune")
    train.from_box.setCurrentIndex(train.from_box.findData("starter-emoji"))
    train.steps_box.setValue(400)
    train.preview_box.setValue(25)
    train.start()
    wait(app, lambda: train.progress.value() >= 80 and train.preview_path is not None, what="training")
    for theme in ("light", "dark"):
        window.set_theme(theme)
        window.show_canvas("Train")
        settle(app, 1.5)
        save(window, "train", theme)
    train.stop()
    wait(app, lambda: train.run is None, what="trainer to stop")
    window.set_theme("light")
    window.settings.theme = "light"
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
