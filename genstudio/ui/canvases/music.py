"""The Music canvas: compose with a model trained on your MIDI files, in a piano roll.

The notes in the roll are the primer: drop or open a MIDI file, or draw notes by hand. "Continue"
(Ctrl+Enter) sends them to ``tasks.compose.compose`` in a GeneratorWorker; the result (the primer as it
was plus new notes, drawn in the "generated" colour) replaces the roll as one undo step. The controls
follow the model's capabilities: a model whose config names a token ``encoding`` (Music Transformer)
continues the primer, sampling with top-p; a model that can INTERPOLATE (MusicVAE) composes whole
phrases after the notes and blends melody A into melody B. The transport plays the roll through the
built-in synthesizer, and the notes leave as MIDI (Export, or the drag handle) or as a WAV file. The
tasks are attributes of the canvas (imported when first run, as they bring torch), so tests use fakes.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
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

from genstudio.core.data.midi import read_midi, write_midi
from genstudio.core.errors import GenStudioError
from genstudio.core.events import Progress
from genstudio.core.notes import Note, NoteSequence
from genstudio.core.registry import ArchSpec, Capability
from genstudio.core.store import ModelInfo
from genstudio.ui.settings import Settings
from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.empty_state import empty_page, show_work_or_empty
from genstudio.ui.widgets.image_input import local_file
from genstudio.ui.widgets.midi_drag import MidiDragHandle
from genstudio.ui.widgets.model_picker import fill_model_box, select_model
from genstudio.ui.widgets.music_blend import BlendPanel, PhraseStrip
from genstudio.ui.widgets.music_files import (
    ALL_TRACKS,
    MIDI_FILTER,
    WAV_FILTER,
    choose_track,
    is_midi,
    read_for_roll,
    render_wav,
    retimed,
    suggested_name,
    track_index,
    with_suffix,
)
from genstudio.ui.widgets.music_options import MusicOptions
from genstudio.ui.widgets.piano_roll import PianoRoll
from genstudio.ui.widgets.roll_tools import RollTools
from genstudio.ui.widgets.transport import TransportBar, clock
from genstudio.ui.workers import GeneratorWorker, bind, device_worker, run_in_background, start

EMPTY_TEXT = "No music model yet — train a Music Transformer or a MusicVAE on a folder of MIDI files in Train."
# Checked toggles (Draw, Loop) look pressed in both themes.
TOGGLE_STYLE = "QPushButton:checked { background: palette(highlight); color: palette(highlighted-text); }"


def compose(request, device):
    """``tasks.compose.compose``, imported on the first run."""
    from genstudio.tasks.compose import compose as task

    return (yield from task(request, device))


def interpolate(request, device):
    """``tasks.compose.interpolate``, imported on the first run."""
    from genstudio.tasks.compose import interpolate as task

    return (yield from task(request, device))


def continues(info: ModelInfo) -> bool:
    """Whether the model continues a primer token by token (its config names an event encoding)."""
    return bool(info.card.get("config", {}).get("encoding"))


def describe_model(info: ModelInfo, spec: ArchSpec) -> str:
    config = info.card.get("config", {})
    facts = [info.arch, f"{info.card.get('steps', 0):,} steps"]
    if config.get("encoding"):
        facts.append({"performance": "performance events", "grid": "4-voice 16th grid"}.get(config["encoding"], ""))
        if config.get("block_size"):
            facts.append(f"sees {config['block_size']} tokens back")
    if config.get("bars") and spec.can(Capability.INTERPOLATE):
        facts.append(f"{config['bars']}-bar melody phrases, can blend")
    return " · ".join(f for f in facts if f)


class MusicCanvas(QWidget):
    busy = Signal(str)  # a status line for the window ("" when idle)
    go_train = Signal()

    def __init__(self, settings: Settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.run_compose, self.run_interpolate = compose, interpolate  # the tasks; tests put fakes here
        self.entries: dict[str, tuple[ModelInfo, ArchSpec]] = {}
        self.worker: GeneratorWorker | None = None
        self.job = ""  # "compose" or "blend" while the worker runs
        self.loading = None  # a MIDI file being read
        self.exporting = None  # a WAV being rendered and written
        self.path: Path | None = None  # the file the notes came from or were last exported to
        self.kept_drums: list[Note] = []  # drum notes of the primer: a model ignores them, the result keeps them
        self.blend_step = None  # the blend's undo step, while the roll holds it: the strip names its phrases
        self.blend_spans: list[tuple[float, float]] = []
        self.started_at = 0.0
        self.setAcceptDrops(True)
        self.setStyleSheet(TOGGLE_STYLE)
        self._build_controls()
        self._build_view()
        layout = QHBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.view, 1)
        for keys, slot in (("Ctrl+Return", self.compose), ("Ctrl+Enter", self.compose), (Qt.Key.Key_Escape, self.cancel),
                           (Qt.Key.Key_Space, self.transport.toggle_play), (QKeySequence.StandardKey.Save, self.export_midi),
                           ("Ctrl+N", self.new_document)):
            QShortcut(QKeySequence(keys), self, slot, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.options.restore(settings, "music")
        self.transport.loop_button.setChecked(str(settings.get("music/loop", "false")).lower() == "true")
        self.roll.set_sequence(NoteSequence(tempo=self._saved_tempo()))
        self.roll.undo_stack.setClean()
        self.set_models([], loading=True)
        self._update_file_label()
        QTimer.singleShot(0, self.transport.check_audio)

    # -- layout ---------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.controls = QFrame(objectName="panel")
        self.controls.setFixedWidth(300)
        self.model_box = QComboBox()
        self.model_box.currentIndexChanged.connect(self._model_changed)
        self.model_note = QLabel(objectName="muted", wordWrap=True)
        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("", self.model_note)
        self.options = MusicOptions()
        self.compose_button = QPushButton("Compose", objectName="primary")
        self.compose_button.clicked.connect(self.compose)
        self.stop_button = QPushButton("Stop", enabled=False, toolTip="Stop composing; the roll stays as it was (Esc)")
        self.stop_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compose_button, 1)
        buttons.addWidget(self.stop_button)
        self.progress = QProgressBar(textVisible=False, visible=False)
        self.progress_label = QLabel(objectName="muted", wordWrap=True)
        self.blend_panel = BlendPanel()
        self.blend_panel.blend_requested.connect(self.blend)
        layout = QVBoxLayout(self.controls)
        layout.addWidget(QLabel("Music", objectName="heading"))
        layout.addLayout(form)
        layout.addWidget(self.options)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.blend_panel)
        layout.addStretch(1)
        layout.addWidget(QLabel("Tip: the notes in the roll are the primer — drop a MIDI file on it or double-click "
                                "to draw notes. Ctrl+Z takes back a whole continuation; Space plays.",
                                objectName="hint", wordWrap=True))

    def _build_view(self) -> None:
        self.view = QStackedWidget()
        self.empty, self.empty_label, self.empty_button = empty_page(self.go_train)
        self.work = QWidget()
        self.roll = PianoRoll()
        self.roll.installEventFilter(self)  # Esc stops composing even where the roll has the focus
        self.roll.sequence_changed.connect(self._roll_changed)
        self.roll.undo_stack.indexChanged.connect(self._update_phrases)
        self.roll.undo_stack.cleanChanged.connect(self._update_file_label)
        self.transport = TransportBar(self.roll)
        self.transport.tempo_edited.connect(self.set_tempo)
        self.phrases = PhraseStrip(self.roll)
        self.phrases.hide()
        self.phrases.phrase_clicked.connect(self.loop_phrase)
        work_layout = QVBoxLayout(self.work)
        work_layout.setContentsMargins(0, 0, 0, 0)
        work_layout.addLayout(self._build_file_bar())
        self.tools = RollTools(self.roll)
        work_layout.addWidget(self.tools)
        work_layout.addWidget(self.phrases)
        work_layout.addWidget(self.roll, 1)
        work_layout.addWidget(self.transport)
        self.view.addWidget(self.empty)
        self.view.addWidget(self.work)

    def _build_file_bar(self) -> QHBoxLayout:
        self.file_buttons = []
        bar = QHBoxLayout()
        for label, tip, slot in (("New", "An empty roll (Ctrl+N)", self.new_document),
                                 ("Open MIDI…", "Open a .mid file as the primer; or drop one on the roll",
                                  self.open_midi),
                                 ("Export MIDI…", "Save the notes as a .mid file (Ctrl+S)", self.export_midi),
                                 ("Export WAV…", "Render the notes to a .wav audio file", self.export_wav)):
            button = QPushButton(label, toolTip=tip)
            button.clicked.connect(slot)
            bar.addWidget(button)
            self.file_buttons.append(button)
        self.export_midi_button, self.export_wav_button = self.file_buttons[2:]
        self.drag_handle = MidiDragHandle(self.roll.sequence, lambda: self.path.stem if self.path else "GenStudio music")
        self.file_label = QLabel()
        self.file_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar.addWidget(self.drag_handle)
        bar.addSpacing(8)
        bar.addWidget(self.file_label, 1)
        return bar

    # -- models -----------------------------------------------------------------------------------
    def set_models(self, entries: list[tuple[ModelInfo, ArchSpec]], loading: bool = False) -> None:
        """The library's models; those that make music are listed."""
        entries = [(info, spec) for info, spec in entries if spec.can(Capability.MUSIC) and spec.modality == "music"]
        current = self.model_box.currentData() or self.settings.get("music/model", "")
        self.entries = {info.name: (info, spec) for info, spec in entries}
        labels = [(info.name, info.name + ("  (can blend)" if spec.can(Capability.INTERPOLATE) else ""))
                  for info, spec in entries]
        fill_model_box(self.model_box, labels, current)
        show_work_or_empty(self, bool(entries), loading, EMPTY_TEXT)
        self._model_changed()

    def select_model(self, name: str) -> bool:
        return select_model(self.model_box, name)

    def current(self) -> tuple[ModelInfo, ArchSpec] | None:
        return self.entries.get(self.model_box.currentData())

    def can_continue(self) -> bool:
        entry = self.current()
        return bool(entry) and continues(entry[0])

    def can_blend(self) -> bool:
        entry = self.current()
        return bool(entry) and entry[1].can(Capability.INTERPOLATE)

    def _model_changed(self) -> None:
        entry = self.current()
        self.model_note.setText(describe_model(*entry) if entry else "")
        self.options.show_top_p(self.can_continue())
        self.blend_panel.setVisible(self.can_blend())
        self._set_busy(self.worker is not None)

    # -- composing and blending ---------------------------------------------------------------------
    def compose(self) -> None:
        if self.worker is not None or self.loading is not None or not self.model_box.currentData():
            return
        from genstudio.tasks.compose import ComposeRequest

        seq = self.roll.sequence()
        self.options.next_seed()
        self.kept_drums = [n for n in seq.notes if n.is_drum]
        request = ComposeRequest(model=self.model_box.currentData(), primer=seq if seq.notes else None,
                                 tempo=seq.tempo, **self.options.values())
        self._start("compose", lambda device: self.run_compose(request, device), f"Composing with {request.model}…")

    def blend(self) -> None:
        if self.worker is not None or self.loading is not None or not self.can_blend():
            return
        from genstudio.tasks.compose import InterpolateRequest

        panel = self.blend_panel
        if panel.b.path is None:
            self.progress_label.setText("Choose melody B first: open or drop a MIDI file on its row.")
            return
        roll = self.roll.sequence() if panel.a.uses_roll() else None
        if roll is not None and not roll.notes:
            self.progress_label.setText("Melody A is the roll, and the roll is empty: draw or open a melody.")
            return
        a_path, b_path, model = panel.a.path, panel.b.path, self.model_box.currentData()
        steps, seed, run = panel.steps_box.value(), self.options.next_seed(), self.run_interpolate

        def work(device):
            a = roll if roll is not None else read_midi(a_path)
            request = InterpolateRequest(model=model, a=a, b=read_midi(b_path), steps=steps, seed=seed)
            return (yield from run(request, device))

        self._start("blend", work, f"Blending melodies with {model}…")

    def _start(self, job: str, task, status: str) -> None:
        self.save_choices()
        self.job = job
        self.worker = device_worker(task, self.settings.device, self.settings.threads)
        bind(self.worker, self)
        self.started_at = time.perf_counter()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.progress_label.setText("Loading the model…")
        self.roll.set_read_only(True)
        self._set_busy(True)
        self.busy.emit(status)
        start(self.worker)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.progress_label.setText("Stopping…")
            self.stop_button.setEnabled(False)

    def is_busy(self) -> bool:
        return self.worker is not None

    def _on_event(self, event) -> None:
        if not isinstance(event, Progress) or event.total <= 0:
            return
        self.progress.setRange(0, event.total)
        self.progress.setValue(min(event.step, event.total))
        if event.stage == "compose":  # the Music Transformer counts tenths of a second of new music
            self.progress_label.setText(f"Composing… {event.step / 10:.1f} of {event.total / 10:.1f} s of music. "
                                        "Esc stops.")
        elif event.stage == "sample":  # a MusicVAE, phrase by phrase
            self.progress_label.setText(f"Composing… phrase {event.step} of {event.total}. Esc stops.")
        else:
            self.progress_label.setText(f"Blending… {event.step} of {event.total} steps.")

    def _on_finished(self, result) -> None:
        seconds = time.perf_counter() - self.started_at
        if self.job == "compose":
            was_empty = self.roll.is_empty()
            new = sum(n.generated for n in result.notes)
            self._replace(result.with_notes(result.notes + self.kept_drums), "Compose")
            if was_empty:
                self.roll.zoom_to_fit()
            self.progress_label.setText(
                f"{new:,} new notes in {seconds:.1f} s. Ctrl+Z takes them back." if new else
                "The model wrote no notes this time: try another seed or a higher temperature.")
            return
        joined = result.joined()
        joined = joined.with_notes([n.moved(generated=True) for n in joined.notes])
        self.blend_step = self._replace(joined, "Blend A → B")
        span = result.bars * joined.seconds_per_bar
        self.blend_spans = [(i * span, (i + 1) * span) for i in range(len(result.phrases))]
        self.roll.zoom_to_fit()
        self._update_phrases()
        self.progress_label.setText(f"{len(result.phrases)} phrases from A to B in {seconds:.1f} s. Click a step "
                                    "above the roll to loop it.")

    def _on_failed(self, message: str) -> None:
        self.progress_label.setText("Failed.")
        dialogs.warn(self, "Composing failed" if self.job == "compose" else "Blending failed", message)

    def _on_cancelled(self) -> None:
        self.progress_label.setText("Stopped: the roll is as it was.")

    def _on_ended(self) -> None:
        self.worker, self.job = None, ""
        self.progress.hide()
        self.roll.set_read_only(False)
        self._set_busy(False)
        self.busy.emit("")

    def _set_busy(self, busy: bool) -> None:
        has_model = bool(self.model_box.currentData())
        self.compose_button.setEnabled(has_model and not busy)
        self.stop_button.setEnabled(busy)
        self.model_box.setEnabled(has_model and not busy)
        self.options.set_enabled(has_model and not busy)
        self.blend_panel.set_enabled(not busy)
        self.transport.set_read_only(busy)
        self.tools.set_busy(busy)
        for button in self.file_buttons[:2]:
            button.setEnabled(not busy)
        self._roll_changed()

    # -- the roll -------------------------------------------------------------------------------------
    def _replace(self, seq: NoteSequence, text: str):
        """Put ``seq`` in the roll as one undo step named ``text``; returns the step."""
        self.roll.set_sequence(seq, reset_undo=False)
        stack = self.roll.undo_stack
        step = stack.command(stack.index() - 1)
        step.setText(text)
        self.tools.refresh()
        return step

    def _roll_changed(self) -> None:
        seq, busy = self.roll.sequence(), self.worker is not None
        transformer = self.can_continue()
        self.compose_button.setText("Continue" if transformer and seq.notes else "Compose")
        self.compose_button.setToolTip(
            "Write on from the end of the notes in the roll (Ctrl+Enter)" if transformer and seq.notes else
            "Write music from nothing (Ctrl+Enter); draw or drop notes first to continue them" if transformer else
            "Sample new phrases after the notes in the roll (Ctrl+Enter)")
        self.export_midi_button.setEnabled(bool(seq.notes) and not busy)
        self.export_wav_button.setEnabled(bool(seq.notes) and not busy and self.exporting is None)
        self.drag_handle.setEnabled(bool(seq.notes))
        self._update_file_label()

    def set_tempo(self, tempo: float) -> None:
        """A new tempo from the transport: the notes keep their beats (one undo step)."""
        if self.worker is not None:
            return
        loop, seq = self.roll.loop_range(), self.roll.sequence()
        scale = seq.tempo / tempo
        self._replace(retimed(seq, tempo), f"Tempo {tempo:g} BPM")
        if loop is not None:
            self.roll.set_loop_range(loop[0] * scale, loop[1] * scale)
        if self.roll.playhead() is not None:
            self.roll.set_playhead(self.roll.playhead() * scale)
        self.settings.set("music/tempo", tempo)

    def _update_phrases(self) -> None:
        stack = self.roll.undo_stack
        index = stack.index()
        holds = self.blend_step is not None and any(stack.command(i) is self.blend_step for i in range(index))
        if not holds and self.blend_step is not None and not any(
                stack.command(i) is self.blend_step for i in range(stack.count())):
            self.blend_step, self.blend_spans = None, []  # gone from the history
        self.phrases.set_spans(self.blend_spans if holds else [])

    def loop_phrase(self, index: int) -> None:
        start_s, end_s = self.blend_spans[index]
        self.roll.set_loop_range(start_s, end_s)
        self.roll.seek(start_s)
        self.transport.loop_button.setChecked(True)

    # -- files ---------------------------------------------------------------------------------------
    def file_name(self) -> str:
        return self.path.name if self.path else "Untitled"

    def has_unsaved_changes(self) -> bool:
        return not self.roll.undo_stack.isClean() and not self.roll.is_empty()

    def maybe_save(self) -> bool:
        """Whether the roll may be replaced: nothing unsaved, exported now, or the user lets it go."""
        if not self.has_unsaved_changes():
            return True
        return dialogs.keep_changes(self, "Export the changes?", f"{self.file_name()} has changes that are not "
                                    "exported as MIDI. Export them first?", "Export MIDI…", "Don't export",
                                    self.export_midi)

    def new_document(self) -> bool:
        if self.worker is not None or not self.maybe_save():
            return False
        self._load(NoteSequence(tempo=self._saved_tempo()), None)
        self.progress_label.setText("")
        return True

    def _saved_tempo(self) -> float:
        return min(max(self.settings.get_float("music/tempo", 120.0), 10.0), 400.0)

    def open_midi(self) -> bool:
        path = dialogs.open_file(self, "Open a MIDI file", MIDI_FILTER)
        return bool(path) and self.open_path(path)

    def open_path(self, path: str | Path, track: int | None = None) -> bool:
        """Read a MIDI file (off the UI thread) into the roll; a file that cannot be read changes nothing."""
        if self.worker is not None or self.loading is not None:
            return False
        path = Path(path)
        if not is_midi(path):
            dialogs.warn(self, "Cannot open this file", f"{path.name} is not a MIDI file (.mid or .midi).")
            return False
        self.progress_label.setText(f"Reading {path.name}…")
        self.loading = run_in_background(lambda: read_for_roll(path, track),
                                         lambda found: self._file_read(path, track, *found), self._file_failed)
        return True

    def _file_read(self, path: Path, track: int | None, tracks: list[str], seq: NoteSequence) -> None:
        self.loading = None
        if track is None and len(tracks) > 1:
            chosen = choose_track(self, path.name, tracks)
            if chosen is None:
                self.progress_label.setText("Nothing opened.")
                return
            if chosen != ALL_TRACKS:
                self.open_path(path, track_index(chosen))
                return
        if not self.maybe_save():
            self.progress_label.setText("Nothing opened.")
            return
        self._load(seq, path)
        which = "" if track is None else f" (track {track})"
        self.progress_label.setText(f"Opened {path.name}{which}: {len(seq.notes):,} notes, {clock(seq.duration)}, "
                                    f"{seq.tempo:g} BPM. Continue writes on from its end.")

    def _file_failed(self, message: str) -> None:
        self.loading = None
        self.progress_label.setText("")
        dialogs.warn(self, "Cannot open this file", message)

    def _load(self, seq: NoteSequence, path: Path | None) -> None:
        self.transport.stop()
        self.path = path
        self.blend_step, self.blend_spans = None, []
        self.roll.clear_loop_range()
        self.roll.set_playhead(None)
        self.roll.set_sequence(seq)
        self.roll.undo_stack.setClean()
        self.roll.zoom_to_fit()
        self._update_phrases()
        self._update_file_label()

    def export_midi(self) -> bool:
        if self.worker is not None or self.roll.is_empty():
            return False
        chosen = dialogs.save_file(self, "Export MIDI", self._suggested(".mid"), MIDI_FILTER)
        if not chosen:
            return False
        path = with_suffix(chosen, ".mid", (".mid", ".midi"))
        try:
            write_midi(self.roll.sequence(), path)
        except GenStudioError as err:
            dialogs.warn(self, "Could not export MIDI", str(err))
            return False
        self.path = path
        self.roll.undo_stack.setClean()
        self.progress_label.setText(f"Exported {path.name}.")
        self._update_file_label()
        return True

    def export_wav(self) -> bool:
        """Render the notes and write a WAV file, off the UI thread; a failure leaves any old file whole."""
        if self.exporting is not None or self.roll.is_empty():
            return False
        chosen = dialogs.save_file(self, "Export WAV", self._suggested(".wav"), WAV_FILTER)
        if not chosen:
            return False
        path = with_suffix(chosen, ".wav", (".wav",))
        seq, render = self.roll.sequence(), self.transport.render
        self.progress_label.setText(f"Rendering {path.name}…")
        self.exporting = run_in_background(lambda: render_wav(seq, path, render),
                                           lambda seconds: self._wav_done(path, seconds), self._wav_failed)
        self._roll_changed()
        return True

    def _wav_done(self, path: Path, seconds: float) -> None:
        self.exporting = None
        self.progress_label.setText(f"Exported {path.name} ({clock(seconds)}).")
        self._roll_changed()

    def _wav_failed(self, message: str) -> None:
        self.exporting = None
        self.progress_label.setText("The WAV file was not written.")
        self._roll_changed()
        dialogs.warn(self, "Could not export WAV", message)

    def _suggested(self, suffix: str) -> str:
        return suggested_name(self.path, self.roll.meta.source, suffix)

    def _update_file_label(self) -> None:
        edited = " — edited" if self.has_unsaved_changes() else ""
        self.file_label.setText(f"<b>{self.file_name()}</b>{edited}")
        self.file_label.setToolTip(str(self.path) if self.path else "Not exported yet")

    def save_choices(self) -> None:
        self.options.save(self.settings, "music")
        self.settings.set("music/loop", self.transport.loop_button.isChecked())
        if self.model_box.currentData():
            self.settings.set("music/model", self.model_box.currentData())

    def shutdown(self) -> None:
        self.transport.shutdown()

    def eventFilter(self, watched, event) -> bool:
        if self.worker is not None and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) \
                and event.key() == Qt.Key.Key_Escape:
            if event.type() == QEvent.Type.KeyPress:
                self.cancel()
            event.accept()
            return True
        return super().eventFilter(watched, event)

    # -- dropping a MIDI file on the canvas or the roll ----------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        path = local_file(event.mimeData())
        if self.worker is None and path and is_midi(path) and event.source() is None:  # not our own drag-out
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = local_file(event.mimeData())
        event.acceptProposedAction()
        if path:
            self.open_path(path)
