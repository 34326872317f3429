"""The model library: a filterable list of models with thumbnails, and the chosen one's details.

Rename, delete, export, import and "use in Generate" act on the ModelStore; bundled models are
read-only. Every question goes through ``dialogs`` (tests answer them) and every GenStudioError
is shown as its sentence, never a traceback. No torch here: the window must open fast (only
``store.import_zip`` loads it, lazily, to check the weights).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from genstudio.core.errors import GenStudioError
from genstudio.core.store import ModelInfo, ModelStore
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.images import scaled

log = logging.getLogger(__name__)

THUMB_PX = 72
PREVIEW_PX = 280
NAME_ROLE = Qt.ItemDataRole.UserRole
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1
READ_ONLY_TIP = "Bundled models are read-only: export one, or train a copy of it."
EMPTY_TEXT = ("No models yet.\n\nTrain one on the Train canvas from a folder of your own pictures, "
              "or import a model .zip that someone shared with you.")


# -- plain formatting (no widgets) ---------------------------------------------------------------
def format_size(size_bytes: int) -> str:
    return f"{size_bytes / 1e6:.1f} MB"


def parse_created(card: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(str(card.get("created", "")))
    except ValueError:
        return None


def format_date(card: dict, with_time: bool = False) -> str:
    created = parse_created(card)
    if created is None:
        return str(card.get("created", "")) or "unknown"
    if created.tzinfo is not None:
        created = created.astimezone()  # the user's clock, not UTC
    return created.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def sort_models(models: list[ModelInfo]) -> list[ModelInfo]:
    """The user's models first, newest first; then the bundled ones by name."""
    def newest_first(info: ModelInfo) -> float:
        created = parse_created(info.card)
        try:
            return -created.timestamp() if created else 0.0
        except (OverflowError, OSError, ValueError):
            return 0.0

    mine = sorted((m for m in models if not m.bundled), key=lambda m: (newest_first(m), m.name.lower()))
    bundled = sorted((m for m in models if m.bundled), key=lambda m: m.name.lower())
    return mine + bundled


def item_text(info: ModelInfo) -> str:
    line = f"{info.arch} · {info.card.get('steps', 0):,} steps · {format_size(info.size_bytes)} · {format_date(info.card)}"
    return f"{info.name}\n{line}" + ("\nbundled" if info.bundled else "")


def summary_rows(info: ModelInfo) -> list[tuple[str, str]]:
    """The details as (label, value) rows; rows whose value the card lacks are left out."""
    card = info.card
    data = card.get("data") if isinstance(card.get("data"), dict) else {}
    metrics = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    seconds, loss = card.get("train_seconds"), metrics.get("loss")
    rows = [
        ("Architecture", info.arch),
        ("Family", card.get("family")),
        ("Preset", card.get("preset")),
        ("Steps", f"{card['steps']:,}" if isinstance(card.get("steps"), int) else None),
        ("Training time", format_duration(seconds) if isinstance(seconds, int | float) else None),
        ("Data images", data.get("images")),
        ("Data texts", f"{data['files']:,} file(s), {data['characters']:,} characters"
         if isinstance(data.get("files"), int) and isinstance(data.get("characters"), int) else None),
        ("Data music", f"{data['midi_files']:,} MIDI file(s), {data['notes']:,} notes, {format_duration(data['seconds'])}"
         if all(isinstance(data.get(k), int | float) for k in ("midi_files", "notes", "seconds")) else None),
        ("Encoding", data.get("encoding")),
        ("Tokenizer", f"{data['tokenizer']} ({data['vocab_size']:,} tokens)"
         if data.get("tokenizer") and isinstance(data.get("vocab_size"), int) else None),
        ("Size", format_size(info.size_bytes)),
        ("Created", format_date(card, with_time=True)),
        ("Parent model", card.get("parent")),
        ("Final loss", f"{loss:.4g}" if isinstance(loss, int | float) else None),
        ("Validation loss", f"{metrics['val_loss']:.4g}" if isinstance(metrics.get("val_loss"), int | float) else None),
        ("Location", "bundled with GenStudio (read-only)" if info.bundled else str(info.path)),
    ]
    return [(label, str(value)) for label, value in rows if value not in (None, "")]


def sample_pixmap(path: Path | None, box: int) -> QPixmap:
    """A model's samples.png fitted in ``box``, crisp (they are pixel art); null if there is none."""
    return scaled(QPixmap(str(path)), box) if path else QPixmap()


# -- the panel ----------------------------------------------------------------------------------
class LibraryPanel(QWidget):
    changed = Signal()          # after a rename, delete or import: `listing` is fresh, other lists are stale
    use_model = Signal(str)     # "Use" (or double-click) on a model: the window opens the canvas that runs it
    go_train = Signal()         # the empty state's "Go to Train"
    message = Signal(str)       # a short note for the status bar ("Exported to ...")

    def __init__(self, store: ModelStore, parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self._models: dict[str, ModelInfo] = {}
        self._build()
        self.refresh()

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.filter_edit = QLineEdit(placeholderText="Filter by name or architecture", clearButtonEnabled=True)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.import_button = QPushButton("Import .zip…", toolTip="Add a model archive to your library")
        self.import_button.clicked.connect(self._ask_import)
        self.top_bar = QWidget()
        top = QHBoxLayout(self.top_bar)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.import_button)

        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_library_page())
        self.pages.addWidget(self._build_empty_page())

        self.error_label = QLabel(objectName="error", wordWrap=True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(self.top_bar)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.error_label)

    def _build_library_page(self) -> QWidget:
        self.models = QListWidget(objectName="models", iconSize=QSize(THUMB_PX, THUMB_PX))
        self.models.setSpacing(2)
        # Long lines end in "…" rather than pushing a horizontal scroll bar under the list.
        self.models.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.models.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.models.currentItemChanged.connect(self._show_current)
        self.models.itemActivated.connect(lambda item: self.use_model.emit(item.data(NAME_ROLE)))
        self.no_match = QLabel("No model matches the filter.", objectName="muted",
                               alignment=Qt.AlignmentFlag.AlignCenter)
        self.no_match.hide()
        QShortcut(QKeySequence(Qt.Key.Key_F2), self.models, self._rename_current,
                  context=Qt.ShortcutContext.WidgetShortcut)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.models, self._delete_current,
                  context=Qt.ShortcutContext.WidgetShortcut)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.models, 1)
        left_layout.addWidget(self.no_match)

        splitter = QSplitter(childrenCollapsible=False)
        splitter.addWidget(left)
        splitter.addWidget(self._build_details())
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([360, 560])
        return splitter

    def _build_details(self) -> QWidget:
        self.title = QLabel(objectName="heading", wordWrap=True)
        self.preview = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)  # samples, or a text model's
        self.preview.setFixedSize(PREVIEW_PX, PREVIEW_PX)
        self.summary = QFormLayout()
        self.summary.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        summary_box = QWidget()
        summary_box.setLayout(self.summary)
        head = QHBoxLayout()
        head.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(summary_box, 1, Qt.AlignmentFlag.AlignTop)

        self.card_view = QPlainTextEdit(objectName="card", readOnly=True)
        self.card_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

        self.use_button = self._button("Use", self._use_current, "primary")
        self.rename_button = self._button("Rename…", self._rename_current)
        self.delete_button = self._button("Delete…", self._delete_current, "danger")
        self.export_button = self._button("Export .zip…", self.export_selected)
        self.folder_button = self._button("Open folder", self._open_current_folder)
        buttons = QHBoxLayout()
        for button in (self.use_button, self.rename_button, self.delete_button, self.export_button,
                       self.folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        details = QWidget()
        layout = QVBoxLayout(details)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(head)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("Model card", objectName="muted"))
        layout.addWidget(self.card_view, 1)
        return details

    def _build_empty_page(self) -> QWidget:
        self.empty_label = QLabel(EMPTY_TEXT, objectName="empty", wordWrap=True,
                                  alignment=Qt.AlignmentFlag.AlignCenter)
        train = QPushButton("Go to Train", objectName="primary")
        train.clicked.connect(self.go_train.emit)
        import_button = QPushButton("Import .zip…")
        import_button.clicked.connect(self._ask_import)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(train)
        buttons.addWidget(import_button)
        buttons.addStretch(1)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.empty_label)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addStretch(2)
        self.train_button = train
        return page

    def _button(self, text: str, slot, object_name: str = "") -> QPushButton:
        button = QPushButton(text, objectName=object_name)
        button.clicked.connect(slot)
        return button

    # -- public ----------------------------------------------------------------------------------
    def refresh(self, listing: tuple[list[ModelInfo], list[str]] | None = None) -> None:
        """Re-read the library (after a change here, a finished training, or a new store); a caller
        that has just listed the store passes its ``store.list()`` to spare a second read."""
        keep = self.current_name()
        self.listing = listing if listing is not None else self.store.list()
        models, problems = self.listing
        self._models = {m.name: m for m in models}
        self.models.blockSignals(True)  # one details update at the end, not one per row
        self.models.clear()
        for info in sort_models(models):
            self.models.addItem(self._make_item(info))
        self.models.blockSignals(False)
        self.pages.setCurrentIndex(0 if models else 1)
        self.top_bar.setVisible(bool(models))  # the empty page has its own Import button
        self._show_problems(problems)
        self._apply_filter()
        if not (keep and self.select(keep)):
            self._select_first_visible()
        self._show_current()

    def select(self, name: str) -> bool:
        item = self._item(name)
        if item is None:
            return False
        if item.isHidden():
            self.filter_edit.clear()  # the caller wants this model shown, whatever the filter
        self.models.setCurrentItem(item)
        self.models.scrollToItem(item)
        return True

    def current_name(self) -> str | None:
        item = self.models.currentItem()
        return item.data(NAME_ROLE) if item is not None and not item.isHidden() else None

    def import_zip(self, path: Path) -> bool:
        """Add a model archive to the library; False (after a warning) if it cannot be used."""
        path = Path(path)
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            info = self.store.import_zip(path)
        except GenStudioError as err:
            dialogs.warn(self, "Import model", str(err))
            return False
        except Exception as err:  # an untrusted file: a refusal, never a crash
            log.exception("importing %s failed", path)
            dialogs.warn(self, "Import model", f"'{path.name}' could not be imported ({err}).")
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self._after_change(info.name, f"Imported '{info.name}'.")
        return True

    # -- list ------------------------------------------------------------------------------------
    def _make_item(self, info: ModelInfo) -> QListWidgetItem:
        item = QListWidgetItem(item_text(info))
        thumb = sample_pixmap(info.samples_path, THUMB_PX)
        if thumb.isNull():  # a blank square keeps the text of every row in one column
            thumb = QPixmap(THUMB_PX, THUMB_PX)
            thumb.fill(Qt.GlobalColor.transparent)
        item.setIcon(thumb)
        item.setData(NAME_ROLE, info.name)
        item.setData(SEARCH_ROLE, f"{info.name} {info.arch} {info.card.get('family', '')}".lower())
        item.setToolTip(str(info.path))
        return item

    def _item(self, name: str) -> QListWidgetItem | None:
        for row in range(self.models.count()):
            if self.models.item(row).data(NAME_ROLE) == name:
                return self.models.item(row)
        return None

    def _apply_filter(self) -> None:
        words = self.filter_edit.text().lower().split()
        for row in range(self.models.count()):
            item = self.models.item(row)
            item.setHidden(not all(word in item.data(SEARCH_ROLE) for word in words))
        visible = sum(not self.models.item(r).isHidden() for r in range(self.models.count()))
        self.no_match.setVisible(self.models.count() > 0 and visible == 0)
        if self.current_name() is None:
            self._select_first_visible()

    def _select_first_visible(self) -> None:
        for row in range(self.models.count()):
            if not self.models.item(row).isHidden():
                self.models.setCurrentRow(row)
                return
        self.models.setCurrentItem(None)
        self._show_current()

    def _show_problems(self, problems: list[str]) -> None:
        if not problems:
            self.error_label.hide()
            return
        shown = problems[:3] + ([f"… and {len(problems) - 3} more"] if len(problems) > 3 else [])
        self.error_label.setText(f"{len(problems)} folder(s) in the library could not be read:\n" + "\n".join(shown))
        self.error_label.setToolTip("\n".join(problems))
        self.error_label.show()

    # -- details ---------------------------------------------------------------------------------
    def _current_info(self) -> ModelInfo | None:
        name = self.current_name()
        return self._models.get(name) if name else None

    def _show_current(self, *_args) -> None:
        info = self._current_info()
        while self.summary.rowCount():
            self.summary.removeRow(0)
        self.title.setText(info.name if info else "")
        self.preview.setPixmap(sample_pixmap(info.samples_path if info else None, PREVIEW_PX))
        sample_text = info.card.get("sample_text") if info else None
        self.preview.setText("" if info is None or info.samples_path else
                             sample_text[:400] if isinstance(sample_text, str) else "no samples")
        self.card_view.setPlainText(json.dumps(info.card, indent=2, ensure_ascii=False) if info else "")
        for label, value in summary_rows(info) if info else []:
            value_label = QLabel(value, wordWrap=True)
            value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.summary.addRow(QLabel(label, objectName="muted"), value_label)
        self._update_buttons(info)

    def _update_buttons(self, info: ModelInfo | None) -> None:
        for button in (self.use_button, self.export_button, self.folder_button):
            button.setEnabled(info is not None)
        writable = info is not None and not info.bundled
        for button in (self.rename_button, self.delete_button):
            button.setEnabled(writable)
            button.setToolTip(READ_ONLY_TIP if info is not None and info.bundled else "")

    # -- actions ---------------------------------------------------------------------------------
    def _use_current(self) -> None:
        if name := self.current_name():
            self.use_model.emit(name)

    def _rename_current(self) -> None:
        info = self._current_info()
        if info is None or info.bundled:
            return
        new = dialogs.ask_text(self, "Rename model", f"New name for '{info.name}':", info.name)
        if new is None or new.strip() == info.name:
            return
        try:
            renamed = self.store.rename(info.name, new)
        except GenStudioError as err:
            dialogs.warn(self, "Rename model", str(err))
            return
        except OSError as err:
            dialogs.warn(self, "Rename model", f"'{info.name}' could not be renamed: {err.strerror or err}.")
            return
        self._after_change(renamed.name, f"Renamed '{info.name}' to '{renamed.name}'.")

    def _delete_current(self) -> None:
        info = self._current_info()
        if info is None or info.bundled:
            return
        question = (f"Delete the model '{info.name}' ({format_size(info.size_bytes)})?\n\n"
                    "Its weights and samples are removed from disk; this cannot be undone.")
        if not dialogs.confirm(self, "Delete model", question, "Delete"):
            return
        try:
            self.store.delete(info.name)
        except GenStudioError as err:
            dialogs.warn(self, "Delete model", str(err))
            return
        except OSError as err:
            dialogs.warn(self, "Delete model", f"'{info.name}' could not be deleted: {err.strerror or err}.")
            return
        self._after_change(None, f"Deleted '{info.name}'.")

    def export_selected(self) -> None:
        info = self._current_info()
        if info is None:
            return
        chosen = dialogs.save_file(self, "Export model", f"{info.name}.zip", "Model archive (*.zip)")
        if not chosen:
            return
        dest = Path(chosen) if chosen.lower().endswith(".zip") else Path(chosen + ".zip")
        try:
            self.store.export_zip(info.name, dest)
        except GenStudioError as err:
            dialogs.warn(self, "Export model", str(err))
            return
        except OSError as err:
            dialogs.warn(self, "Export model", f"Could not write '{dest}': {err.strerror or err}.")
            return
        self.message.emit(f"Exported '{info.name}' to {dest}.")

    def _ask_import(self) -> None:
        chosen = dialogs.open_file(self, "Import model", "Model archive (*.zip)")
        if chosen:
            self.import_zip(Path(chosen))

    def _open_current_folder(self) -> None:
        if info := self._current_info():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(info.path)))

    def _after_change(self, select: str | None, note: str) -> None:
        self.refresh()
        if select:
            self.select(select)
        self.changed.emit()
        self.message.emit(note)
