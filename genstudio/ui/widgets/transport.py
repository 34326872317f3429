"""The Music canvas's transport: Play/Stop (Space), Loop, the tempo, a time readout and the playhead.

Audio is rendered from the roll's notes by ``core.synth`` in a background worker (a long piece takes
up to a second) and played by ``core.playback.Player``, whose stream runs on the audio thread; a timer
reads the player's position ~30 times a second and moves the roll's playhead. An edit while playing
renders again a moment later and carries on from the same place with the new notes. The player says
it finished from the audio thread: a signal brings that to the UI thread. Where no sound device is
found, Play is off and a line says so; WAV export still works.

The tempo box edits the roll's tempo; ``tempo_edited`` asks the canvas to apply it (it rescales the
note times, so the music stays on its beats and plays faster or slower, as in a DAW).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from genstudio.core import synth
from genstudio.core.errors import GenStudioError
from genstudio.core.playback import Player, audio_available
from genstudio.ui.widgets.piano_roll import PianoRoll
from genstudio.ui.workers import run_in_background

TICK_MS = 33  # the playhead moves ~30 times a second
RERENDER_MS = 300  # after an edit while playing, wait this long for more edits before rendering again
TEMPO_MS = 500  # typing or spinning the tempo applies once it rests this long
NO_AUDIO = "Playback is unavailable on this machine (no sound device was found) — Export WAV… still works."


def clock(seconds: float) -> str:
    """0:03.2"""
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


class TransportBar(QWidget):
    tempo_edited = Signal(float)  # the user chose a new tempo (beats per minute)
    player_finished = Signal()  # the player reached the end by itself (emitted on the audio thread: queued)

    def __init__(self, roll: PianoRoll, parent=None):
        super().__init__(parent)
        self.roll = roll
        self.make_player = lambda on_finished: Player(on_finished=on_finished)  # tests pass a fake stream
        self.render = synth.render
        self.player: Player | None = None
        self.available = False
        self.version = 0  # counts the roll's changes: audio rendered for an older version is stale
        self.audio: np.ndarray | None = None  # rendered for ``audio_version``
        self.audio_version = -1
        self.rendering: int | None = None  # the version a render in flight is for
        self.pending: float | None = None  # start here once the audio is rendered
        self.started_at = 0.0  # where the last Play started: the playhead goes back there at the end
        self.duration = 0.0  # of the roll's notes
        self.play_button = QPushButton("▶  Play", objectName="primary", enabled=False)
        self.play_button.setToolTip("Checking for a sound device…")
        self.play_button.setMinimumWidth(110)
        self.play_button.clicked.connect(self.toggle_play)
        self.loop_button = QPushButton("⟳  Loop", checkable=True)
        self.loop_button.setToolTip("Repeat the range dragged on the ruler (without one, the whole piece)")
        self.loop_button.toggled.connect(self._restart)
        self.tempo_box = QDoubleSpinBox(minimum=10.0, maximum=400.0, decimals=1, singleStep=1.0, suffix=" BPM")
        self.tempo_box.setToolTip("The tempo in quarter notes a minute. Changing it keeps the notes on their "
                                  "beats: the music plays faster or slower (one undo step)")
        self.tempo_box.setKeyboardTracking(False)
        self.tempo_box.setValue(roll.meta.tempo)
        self.tempo_timer = QTimer(self, singleShot=True, interval=TEMPO_MS)
        self.tempo_timer.timeout.connect(self._tempo_rested)
        self.tempo_box.valueChanged.connect(lambda _: self.tempo_timer.start())
        self.tempo_box.editingFinished.connect(self._tempo_rested)
        self.meter_label = QLabel(objectName="muted")
        self.time_label = QLabel(objectName="muted")
        self.time_label.setMinimumWidth(170)
        self.time_label.setToolTip("The playhead / the length of the piece · bar.beat")
        self.audio_label = QLabel(NO_AUDIO, objectName="muted", visible=False)
        self.audio_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout()
        row.addWidget(self.play_button)
        row.addWidget(self.loop_button)
        row.addSpacing(12)
        row.addWidget(QLabel("Tempo"))
        row.addWidget(self.tempo_box)
        row.addWidget(self.meter_label)
        row.addSpacing(12)
        row.addWidget(self.time_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.audio_label)
        self.timer = QTimer(self, interval=TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.rerender_timer = QTimer(self, singleShot=True, interval=RERENDER_MS)
        self.rerender_timer.timeout.connect(self._render)
        self.player_finished.connect(self._finished, Qt.ConnectionType.QueuedConnection)
        roll.sequence_changed.connect(self._roll_changed)
        roll.seek_requested.connect(self.seek)
        roll.loop_range_changed.connect(self._restart)
        self._roll_changed()

    # -- the sound device -------------------------------------------------------------------------------
    def check_audio(self) -> None:
        """Ask (off the UI thread: PortAudio may take a moment) whether there is a device to play on."""
        run_in_background(audio_available, lambda found: self.set_audio(*found),
                          lambda message: self.set_audio(False, message))

    def set_audio(self, available: bool, message: str) -> None:
        """Offer Play on a device (``message`` names it), or say why not (``message`` is the reason)."""
        self.available = available
        if not available:
            self.stop()
        self.play_button.setToolTip(f"Play the notes on {message} (Space)" if available else message)
        self.audio_label.setToolTip("" if available else message)
        self.audio_label.setVisible(not available)
        self._update_buttons()

    # -- playing ----------------------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.player is not None and self.player.playing

    def toggle_play(self) -> None:
        if self.playing or self.pending is not None:
            self.stop()
        else:
            self.play()

    def play(self, start: float | None = None) -> None:
        """Play from ``start`` (default: the playhead; from the top when it is at the end)."""
        if not self.available or self.roll.is_empty():
            return
        start = (self.roll.playhead() or 0.0) if start is None else start
        if start >= self.duration:
            start = 0.0
        self.started_at = start
        if self.audio_version == self.version:
            self._start_player(start)
        else:
            self.pending = start
            self._render()
            self._update_buttons()

    def stop(self) -> None:
        """Stop at once; the playhead stays where the music was."""
        self.pending = None
        self.rerender_timer.stop()
        self.timer.stop()
        if self.player is not None:
            self.player.stop()
        self._update_buttons()

    def seek(self, seconds: float) -> None:
        """A click on the ruler: while playing, the music jumps there."""
        self.started_at = seconds
        if self.playing:
            self._start_player(seconds)
        elif self.pending is not None:
            self.pending = seconds
        self._show_time()

    def loop_span(self) -> tuple[float, float] | None:
        """What Loop repeats, within the rendered audio: the ruler's range, else the whole piece."""
        if not self.loop_button.isChecked() or self.audio is None:
            return None
        start, end = self.roll.loop_range() or (0.0, self.duration)
        end = min(end, len(self.audio) / synth.SAMPLE_RATE)
        return (start, end) if end > start + 0.01 else None

    def _start_player(self, start: float) -> None:
        if self.player is None:
            self.player = self.make_player(self.player_finished.emit)
        loop = self.loop_span()
        try:
            self.player.play(self.audio, synth.SAMPLE_RATE, start_s=max(0.0, start), loop=loop)
        except GenStudioError as err:  # AudioUnavailable: the device went away or is held by another program
            self.set_audio(False, str(err))
            return
        self.timer.start()
        self._tick()
        self._update_buttons()

    def _restart(self) -> None:
        """Loop toggled or the range moved: carry on from the same place with the new loop."""
        if self.playing:
            self._start_player(self.player.position)

    def _finished(self) -> None:
        self.timer.stop()
        self.roll.set_playhead(self.started_at)  # back to where Play started, ready to play it again
        self._update_buttons()
        self._show_time()

    def _tick(self) -> None:
        if self.player is not None and self.player.playing:
            self.roll.set_playhead(self.player.position)
            self._show_time()

    # -- rendering ----------------------------------------------------------------------------------------
    def _render(self) -> None:
        """Render the roll's notes off the UI thread (once per version: a render in flight is waited for)."""
        if self.rendering == self.version:
            return
        version, seq, render = self.version, self.roll.sequence(), self.render
        self.rendering = version
        run_in_background(lambda: render(seq), lambda audio: self._rendered(version, audio), self._render_failed)

    def _rendered(self, version: int, audio: np.ndarray) -> None:
        if self.rendering == version:
            self.rendering = None
        if version != self.version:  # edited meanwhile: the next render is on its way or due
            if self.pending is not None or self.playing:
                self.rerender_timer.start()
            return
        self.audio, self.audio_version = audio, version
        if self.pending is not None:
            start, self.pending = self.pending, None
            self._start_player(start)
        elif self.playing:
            self._start_player(self.player.position)  # the edited notes, from where the music is
        self._update_buttons()

    def _render_failed(self, message: str) -> None:
        self.rendering = None
        self.pending = None
        self._update_buttons()
        self.audio_label.setText(f"Could not render the notes: {message}")
        self.audio_label.show()

    def _roll_changed(self) -> None:
        self.version += 1  # the audio stays for what is playing; ``audio_version`` says it is stale
        self.duration = self.roll.sequence().duration
        if self.playing or self.pending is not None:
            self.rerender_timer.start()
        meta = self.roll.meta
        if abs(self.tempo_box.value() - meta.tempo) > 1e-6 and not self.tempo_timer.isActive():
            with QSignalBlocker(self.tempo_box):
                self.tempo_box.setValue(meta.tempo)
        self.meter_label.setText("{}/{}".format(*meta.time_signature))
        self._update_buttons()
        self._show_time()

    # -- tempo, readout, buttons -------------------------------------------------------------------------
    def _tempo_rested(self) -> None:
        self.tempo_timer.stop()
        tempo = round(self.tempo_box.value(), 1)
        if abs(tempo - self.roll.meta.tempo) > 1e-6:
            self.tempo_edited.emit(tempo)

    def set_read_only(self, read_only: bool) -> None:
        self.tempo_box.setEnabled(not read_only)

    def _show_time(self) -> None:
        meta, duration = self.roll.meta, self.duration
        now = (self.player.position if self.playing else self.roll.playhead()) or 0.0
        num, den = meta.time_signature
        bar, into_bar = divmod(now / meta.seconds_per_beat, num * 4 / den)  # in quarter notes
        beat = into_bar / (4 / den)
        self.time_label.setText(f"{clock(now)} / {clock(duration)}  ·  bar {int(bar) + 1}.{int(beat) + 1}")

    def _update_buttons(self) -> None:
        if self.pending is not None:
            text = "⏳  Rendering…"
        elif self.playing:
            text = "■  Stop"
        else:
            text = "▶  Play"
        self.play_button.setText(text)
        self.play_button.setEnabled(self.available and (not self.roll.is_empty() or self.playing))

    def shutdown(self) -> None:
        self.stop()
