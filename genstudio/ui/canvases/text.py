"""The Text canvas: write with a model trained on your own texts, in an editor.

"Continue" (Ctrl+Enter) sends the text before the cursor to ``tasks.write.continue_text`` in a
GeneratorWorker and streams what comes back into the page, as one undo step; Stop (Esc) keeps what
came. "Fill" (Ctrl+Shift+Enter) sends the text around the selection to ``tasks.write.infill`` (an
infilling model: fill-in-the-middle, Bavarian et al. 2022) and lists its versions beside the page;
picking one previews it in place, Use keeps it, and only the gap ever changes. The tasks are
attributes of the canvas (imported when first run, as they bring torch), so tests drive it with fakes.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
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
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from genstudio.core.errors import GenStudioError
from genstudio.core.events import TextChunk
from genstudio.core.registry import ArchSpec, Capability
from genstudio.core.store import ModelInfo
from genstudio.ui.settings import Settings
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.alternatives_list import AlternativesList
from genstudio.ui.widgets.empty_state import empty_page, show_work_or_empty
from genstudio.ui.widgets.image_input import local_file
from genstudio.ui.widgets.model_picker import fill_model_box, select_model
from genstudio.ui.widgets.text_files import TEXT_FILTER, Document, is_text_file, read_text_file, write_text_file
from genstudio.ui.widgets.writing_editor import GAP_COLOR, WritingEditor, follow_span
from genstudio.ui.widgets.writing_options import WritingOptions
from genstudio.ui.workers import GeneratorWorker, bind, device_worker, start

EMPTY_TEXT = "No text model yet — train a GPT on a folder of your texts in Train."
FINISH_WORDS = {"length": "reached the token limit", "stop": "stopped at a stop sequence",
                "end": "the model ended the text"}


def continue_text(request, device, store=None):
    """``tasks.write.continue_text``, imported on the first run."""
    from genstudio.tasks.write import continue_text as task

    return (yield from task(request, device, store))


def infill(request, device, store=None):
    """``tasks.write.infill``, imported on the first run."""
    from genstudio.tasks.write import infill as task

    return (yield from task(request, device, store))


def describe_model(info: ModelInfo) -> str:
    config = info.card.get("config", {})
    facts = [info.arch, f"{info.card.get('steps', 0):,} steps"]
    if config.get("tokenizer_kind"):
        facts.append({"char": "character tokens", "bpe": "BPE tokens"}.get(config["tokenizer_kind"], ""))
    if config.get("block_size"):
        facts.append(f"sees {config['block_size']} tokens back")
    return " · ".join(f for f in facts if f)


def describe_speed(tokens: int, seconds: float, finish: str = "") -> str:
    """The readout after a continuation: how much, how fast, why it ended."""
    rate = tokens / seconds if seconds > 0 else 0.0
    parts = [f"{tokens:,} tokens in {seconds:.1f} s", f"{rate:.1f} tokens/s"]
    return " · ".join(parts + ([FINISH_WORDS[finish]] if finish in FINISH_WORDS else []))


class TextCanvas(QWidget):
    busy = Signal(str)  # a status line for the window ("" when idle)
    go_train = Signal()

    def __init__(self, settings: Settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.run_continue, self.run_infill = continue_text, infill  # the tasks; tests put fake generators here
        self.entries: dict[str, tuple[ModelInfo, ArchSpec]] = {}
        self.worker: GeneratorWorker | None = None
        self.job = ""  # "continue" or "fill" while the worker runs
        self.path: Path | None = None  # the file the text was opened from or saved to
        self.file_format = Document("")  # its encoding and line endings, kept on Save
        self.gap: list[int] | None = None  # [start, end) of the span a fill replaces while its versions are listed
        self.gap_text = ""  # what the gap held before
        self.preview_mark: int | None = None  # the undo count just after the last preview (to fold the next into it)
        self.written = 0  # characters streamed in the running continuation
        self.wrote_nothing = False  # a fill that finished with only empty versions
        self.started_at = 0.0
        self.setAcceptDrops(True)
        self._build_controls()
        self._build_view()
        layout = QHBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.view, 1)
        for keys, slot in (("Ctrl+Return", self.continue_from_cursor), ("Ctrl+Enter", self.continue_from_cursor),
                           ("Ctrl+Shift+Return", self.fill_selection), ("Ctrl+Shift+Enter", self.fill_selection),
                           (Qt.Key.Key_Escape, self.cancel), (QKeySequence.StandardKey.Save, self.save),
                           ("Ctrl+Shift+S", self.save_as), ("Ctrl+N", self.new_document)):
            QShortcut(QKeySequence(keys), self, slot, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.options.restore(settings, "text")
        self.set_models([], loading=True)
        self._update_file_label()

    # -- layout ---------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.controls = QFrame(objectName="panel")
        self.controls.setFixedWidth(300)
        self.model_box = QComboBox()
        self.model_box.currentIndexChanged.connect(self._model_changed)
        self.model_note = QLabel(objectName="muted", wordWrap=True)
        self.options = WritingOptions()
        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("", self.model_note)
        self.continue_button = QPushButton("Continue", objectName="primary",
                                           toolTip="Write on from the cursor (Ctrl+Enter)")
        self.continue_button.clicked.connect(self.continue_from_cursor)
        self.fill_button = QPushButton("Fill selection", toolTip="Rewrite the selected text, or fill in at the "
                                       "cursor, with what fits before and after it (Ctrl+Shift+Enter)")
        self.fill_button.clicked.connect(self.fill_selection)
        self.stop_button = QPushButton("Stop", enabled=False, toolTip="Stop writing; what came stays (Esc)")
        self.stop_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.continue_button, 1)
        buttons.addWidget(self.stop_button)
        self.progress = QProgressBar(textVisible=False, visible=False)  # shown while a run works
        self.progress.setRange(0, 0)
        self.progress_label = QLabel(objectName="muted", wordWrap=True)
        layout = QVBoxLayout(self.controls)
        layout.addWidget(QLabel("Text", objectName="heading"))
        layout.addLayout(form)
        layout.addWidget(self.options)
        layout.addLayout(buttons)
        layout.addWidget(self.fill_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addStretch(1)
        layout.addWidget(QLabel("Tip: Ctrl+Z takes back a whole continuation. Drop a .txt or .md file on the "
                                "page to open it.", objectName="hint", wordWrap=True))

    def _build_view(self) -> None:
        self.view = QStackedWidget()
        self.empty, self.empty_label, self.empty_button = empty_page(self.go_train)
        self.work = QWidget()
        self.editor = WritingEditor()
        self.editor.file_dropped.connect(self.open_path)
        self.editor.document().modificationChanged.connect(self._update_file_label)
        self.editor.document().undoCommandAdded.connect(self._undo_added)
        self.editor.document().contentsChange.connect(self._track_gap)
        self.editor.cursorPositionChanged.connect(self._show_status)
        self.counts = (0, 0)  # characters and words, recounted a moment after the text changes
        self.count_timer = QTimer(self, singleShot=True, interval=150)
        self.count_timer.timeout.connect(self._recount)
        self.editor.textChanged.connect(self.count_timer.start)
        self.alternatives = AlternativesList()
        self.alternatives.setFixedWidth(300)
        self.alternatives.picked.connect(self.preview_alternative)
        self.alternatives.use.connect(self.use_alternative)
        self.alternatives.discard.connect(self.discard_alternatives)
        self.alternatives.hide()
        page = QHBoxLayout()
        page.addWidget(self.editor, 1)
        page.addWidget(self.alternatives)
        work_layout = QVBoxLayout(self.work)
        work_layout.setContentsMargins(0, 0, 0, 0)
        work_layout.addLayout(self._build_file_bar())
        work_layout.addLayout(page, 1)
        status = QHBoxLayout()
        self.status = QLabel(objectName="muted")
        self.format_label = QLabel(objectName="muted")
        status.addWidget(self.status, 1)
        status.addWidget(self.format_label)
        work_layout.addLayout(status)
        self.view.addWidget(self.empty)
        self.view.addWidget(self.work)

    def _build_file_bar(self) -> QHBoxLayout:
        self.file_buttons = []
        bar = QHBoxLayout()
        for label, tip, slot in (("New", "A new empty text (Ctrl+N)", self.new_document),
                                 ("Open…", "Open a .txt or .md file; or drop one on the page", self.open_document),
                                 ("Save", "Save the text (Ctrl+S)", self.save),
                                 ("Save as…", "Save the text in a new file (Ctrl+Shift+S)", self.save_as)):
            button = QPushButton(label, toolTip=tip)
            button.clicked.connect(slot)
            bar.addWidget(button)
            self.file_buttons.append(button)
        self.file_label = QLabel()
        self.file_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar.addSpacing(8)
        bar.addWidget(self.file_label, 1)
        return bar

    # -- models -----------------------------------------------------------------------------------
    def set_models(self, entries: list[tuple[ModelInfo, ArchSpec]], loading: bool = False) -> None:
        """The library's models; those that write text are listed (those that can infill also Fill)."""
        entries = [(info, spec) for info, spec in entries if spec.can(Capability.TEXT) and spec.modality == "text"]
        current = self.model_box.currentData() or self.settings.get("text/model", "")
        self.entries = {info.name: (info, spec) for info, spec in entries}
        labels = [(info.name, info.name + ("  (can fill)" if spec.can(Capability.INFILL) else "")) for info, spec in entries]
        fill_model_box(self.model_box, labels, current)
        show_work_or_empty(self, bool(entries), loading, EMPTY_TEXT)
        self._model_changed()

    def select_model(self, name: str) -> bool:
        return select_model(self.model_box, name)

    def can_fill(self) -> bool:
        entry = self.entries.get(self.model_box.currentData())
        return bool(entry) and entry[1].can(Capability.INFILL)

    def _model_changed(self) -> None:
        entry = self.entries.get(self.model_box.currentData())
        self.model_note.setText(describe_model(entry[0]) if entry else "")
        self.fill_button.setToolTip(
            "Rewrite the selected text, or fill in at the cursor, with what fits before and after it "
            "(Ctrl+Shift+Enter)" if self.can_fill() else
            "This model only continues text. Train an Infill model in Train to fill gaps.")
        self._set_busy(self.worker is not None)

    # -- the document -----------------------------------------------------------------------------
    def file_name(self) -> str:
        return self.path.name if self.path else "Untitled"

    def has_unsaved_changes(self) -> bool:
        return self.editor.document().isModified() and bool(self.path or self.editor.text())

    def maybe_save(self) -> bool:
        """Whether the text may be replaced: nothing unsaved, saved now, or the user lets it go."""
        if not self.has_unsaved_changes():
            return True
        return dialogs.keep_changes(self, "Save the changes?", f"{self.file_name()} has changes that are not "
                                    "saved. Save them first?", "Save", "Don't save", self.save)

    def new_document(self) -> bool:
        if self.worker is not None or not self.maybe_save():
            return False
        self._load(Document(""), None)
        self.progress_label.setText("")
        return True

    def open_document(self) -> bool:
        path = dialogs.open_file(self, "Open a text", TEXT_FILTER)
        return bool(path) and self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Open a .txt/.md file; a file that cannot be read leaves the current text as it is."""
        if self.worker is not None:
            return False
        path = Path(path)
        if not is_text_file(path):
            dialogs.warn(self, "Cannot open this file", f"{path.name} is not a .txt or .md file.")
            return False
        try:
            document = read_text_file(path)
        except GenStudioError as err:
            dialogs.warn(self, "Cannot open this file", str(err))
            return False
        if not self.maybe_save():
            return False
        self._load(document, path)
        self.progress_label.setText(document.note or f"Opened {path.name}.")
        return True

    def _load(self, document: Document, path: Path | None) -> None:
        self._close_alternatives()
        self.path, self.file_format = path, Document("", document.encoding, document.newline)
        self.editor.set_text(document.text)
        self._recount()
        self._update_file_label()

    def save(self) -> bool:
        return self.save_as() if self.path is None else self._write(self.path)

    def save_as(self) -> bool:
        suggested = str(self.path) if self.path else "Untitled.txt"
        chosen = dialogs.save_file(self, "Save the text", suggested, TEXT_FILTER)
        if not chosen:
            return False
        path = Path(chosen)
        return self._write(path if path.suffix else path.with_suffix(".txt"))

    def _write(self, path: Path) -> bool:
        if self.worker is not None:
            return False
        encoding = self.file_format.encoding
        document = Document(self.editor.text(), encoding, self.file_format.newline)
        try:
            written = write_text_file(path, document)
        except GenStudioError as err:
            dialogs.warn(self, "Could not save", f"The text was not saved. {err}")
            return False
        self.path, self.file_format.encoding = path, written
        self.editor.document().setModified(False)
        note = "" if written == encoding else f" as {written}: the text has letters {encoding} cannot hold"
        self.progress_label.setText(f"Saved {path.name}{note}.")
        self._update_file_label()
        return True

    def _update_file_label(self) -> None:
        edited = " — edited" if self.editor.document().isModified() else ""
        self.file_label.setText(f"<b>{self.file_name()}</b>{edited}")
        self.file_label.setToolTip(str(self.path) if self.path else "Not saved yet")
        self.format_label.setText(self.file_format.describe())

    def _recount(self) -> None:
        text = self.editor.text()
        self.counts = (len(text), len(text.split()))
        self._show_status()

    def _show_status(self) -> None:
        cursor = self.editor.textCursor()
        chars, words = self.counts
        self.status.setText(f"Line {cursor.blockNumber() + 1}, column {cursor.positionInBlock() + 1} · "
                            f"{chars:,} characters · {words:,} words")

    # -- requests ---------------------------------------------------------------------------------
    def write_request(self, prompt: str):
        from genstudio.tasks.write import WriteRequest

        return WriteRequest(model=self.model_box.currentData() or "", prompt=prompt,
                            stop=self.options.stop_sequences(), **self.options.values())

    def infill_request(self, before: str, after: str):
        from genstudio.tasks.write import InfillRequest

        return InfillRequest(model=self.model_box.currentData() or "", before=before, after=after,
                             n=self.options.count_box.value(), **self.options.values())

    def save_choices(self) -> None:
        self.options.save(self.settings, "text")
        if self.model_box.currentData():
            self.settings.set("text/model", self.model_box.currentData())

    # -- running ----------------------------------------------------------------------------------
    def continue_from_cursor(self) -> None:
        if self.worker is not None or not self.model_box.currentData():
            return
        self._close_alternatives()
        position = self.editor.textCursor().selectionEnd()
        self.options.next_seed()
        request = self.write_request(self.editor.text_between(0, position))
        self.written = 0
        self.editor.begin_stream(position)
        self._start("continue", self.run_continue, request, f"Writing with {request.model}…")

    def fill_selection(self) -> None:
        if self.worker is not None or not self.model_box.currentData():
            return
        if not self.can_fill():
            self.progress_label.setText("This model only continues text: pick a model marked “can fill”, or "
                                        "train an Infill model in Train.")
            return
        self._close_alternatives()
        cursor = self.editor.textCursor()
        start, end = cursor.selectionStart(), cursor.selectionEnd()
        self.options.next_seed()
        request = self.infill_request(self.editor.text_between(0, start), self.editor.text_between(end))
        self.gap = [start, end]
        self.gap_text = self.editor.text_between(start, end)
        self.preview_mark = None
        if end > start:
            self.editor.set_mark("gap", start, end, GAP_COLOR)
        self.editor.setReadOnly(True)  # the text around the gap is what the versions are written for
        what = "the selection" if end > start else "the cursor"
        self.alternatives.start(request.n, f"Writing {request.n} versions for {what}…")
        self.alternatives.set_choosable(False)
        self.alternatives.show()
        self._start("fill", self.run_infill, request, f"Filling a gap with {request.model}…")

    def _start(self, job: str, task, request, status: str) -> None:
        self.save_choices()
        self.job, self.wrote_nothing = job, False
        self.worker = device_worker(lambda device: task(request, device), self.settings.device,
                                    self.settings.threads)
        bind(self.worker, self)
        self.started_at = time.perf_counter()
        self.progress.show()
        self.progress_label.setText("Loading the model…")
        self._set_busy(True)
        self.busy.emit(status)
        start(self.worker)

    def cancel(self) -> None:
        """Stop writing (Esc); when idle with versions listed, Esc puts the original back."""
        if self.worker is not None:
            self.worker.cancel()
            self.progress_label.setText("Stopping…")
            self.stop_button.setEnabled(False)
        elif self.gap is not None:
            self.discard_alternatives()

    def is_busy(self) -> bool:
        return self.worker is not None

    def _on_event(self, event) -> None:
        if not isinstance(event, TextChunk):
            return
        if self.job == "continue":
            self.editor.stream(event.text)
            self.written += len(event.text)
            self.progress_label.setText(f"Writing… {self.written:,} characters so far. Esc stops.")
        else:
            self.alternatives.append(event.index, event.text)
            self.progress_label.setText("Writing the versions… Esc stops.")

    def _on_finished(self, result) -> None:
        seconds = time.perf_counter() - self.started_at
        if self.job == "continue":
            self.progress_label.setText(describe_speed(result.tokens, result.seconds or seconds, result.finish))
        else:
            self.alternatives.set_texts(list(result))
            self.wrote_nothing = not any(result)
            chars = sum(len(text) for text in result)
            self.alternatives.set_info(f"{len(result)} versions · {chars:,} characters in {seconds:.1f} s. "
                                       "Click one to see it in the text.")
            self.progress_label.setText(f"{len(result)} versions in {seconds:.1f} s: pick one, then Use.")

    def _on_failed(self, message: str) -> None:
        self.progress_label.setText("Failed.")
        dialogs.warn(self, "Writing failed", message)

    def _on_cancelled(self) -> None:
        seconds = time.perf_counter() - self.started_at
        if self.job == "continue":
            self.progress_label.setText(f"Stopped: kept {self.written:,} characters ({seconds:.1f} s).")
        else:
            self.alternatives.set_info("Stopped: the versions are as far as they got.")
            self.progress_label.setText("Stopped.")

    def _on_ended(self) -> None:
        job, self.worker, self.job = self.job, None, ""
        self.progress.hide()
        if job == "continue":
            self.editor.end_stream()
        else:
            self.editor.setReadOnly(False)
            self.editor.clear_mark("gap")
            if any(self.alternatives.texts):
                self.alternatives.set_choosable(True)
                self.alternatives.pick(0)
            else:
                if self.wrote_nothing:
                    self.progress_label.setText("The model wrote nothing for this gap: try another seed or a "
                                                "higher temperature.")
                self._close_alternatives()
        self._set_busy(False)
        self.busy.emit("")

    def _set_busy(self, busy: bool) -> None:
        has_model = bool(self.model_box.currentData())
        self.continue_button.setEnabled(has_model and not busy)
        self.fill_button.setEnabled(has_model and self.can_fill() and not busy)
        self.stop_button.setEnabled(busy)
        self.model_box.setEnabled(has_model and not busy)
        self.options.set_enabled(has_model and not busy)
        for button in self.file_buttons:
            button.setEnabled(not busy)

    # -- fill versions ----------------------------------------------------------------------------
    def gap_span(self) -> tuple[int, int]:
        return self.gap[0], self.gap[1]

    def _track_gap(self, position: int, removed: int, added: int) -> None:
        if self.gap is not None:
            self.gap = list(follow_span(self.gap[0], self.gap[1], position, removed, added))

    def preview_alternative(self, index: int) -> None:
        """Show version ``index`` in the gap; trying several versions stays one undo step."""
        if self.gap is None or self.worker is not None:
            return
        start, end = self.gap_span()
        document = self.editor.document()
        join = self.preview_mark is not None and self.preview_mark == document.availableUndoSteps()
        end = self.editor.replace_span(start, end, self.alternatives.text(index), join)
        self.gap = [start, end]
        self.preview_mark = document.availableUndoSteps()
        self.editor.set_mark("preview", start, end)
        self.progress_label.setText(f"Version {index + 1} is in the text: Use keeps it, Discard (Esc) puts the "
                                    "original back.")

    def _undo_added(self) -> None:
        if self.gap is not None and not self.editor.quiet:
            self.preview_mark = None  # the user edited since the preview: the next one is its own undo step

    def use_alternative(self) -> bool:
        index = self.alternatives.current
        if self.gap is None or index < 0:
            return False
        start, end = self.gap_span()
        if self.editor.text_between(start, end) != self.alternatives.text(index):  # undone or edited since
            self.preview_alternative(index)
            start, end = self.gap_span()
        self.gap = None
        self._close_alternatives()
        self.editor.set_mark("generated", start, end)  # tinted like a continuation, and fading like one
        self.editor.fade_mark_later()
        self.editor.setTextCursor(self.editor.cursor_at(end))
        self.editor.setFocus()
        self.progress_label.setText(f"Version {index + 1} used (Ctrl+Z brings back what was there).")
        return True

    def discard_alternatives(self) -> None:
        """Close the versions and put the original text of the gap back."""
        if self.gap is None:
            return
        document = self.editor.document()
        start, end = self.gap_span()
        if self.preview_mark is not None and self.preview_mark == document.availableUndoSteps():
            self.editor.undo()  # exactly what was there, and the version stays a redo away
        elif self.editor.text_between(start, end) != self.gap_text:  # edited since: put it back as a new step
            self.editor.replace_span(start, end, self.gap_text, join=False)
        self.gap = None
        self._close_alternatives()
        self.editor.clear_marks()
        self.progress_label.setText("Versions discarded.")

    def _close_alternatives(self) -> None:
        """Hide the versions; the text stays as it is now."""
        self.gap, self.preview_mark = None, None
        self.alternatives.clear()
        self.alternatives.hide()
        self.editor.clear_mark("gap")
        self.editor.clear_mark("preview")

    # -- dropping a file beside the page -----------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if self.worker is None and local_file(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = local_file(event.mimeData())
        event.acceptProposedAction()
        if path:
            self.open_path(path)
