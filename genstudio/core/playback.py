"""Playback: plays rendered audio through the sound card without blocking the caller, Qt-free.

``Player.play`` opens a PortAudio output stream (through sounddevice) whose callback, on PortAudio's
own thread, copies the next block of frames out of the audio each time the device asks; the caller
returns at once, and ``position`` moves for a playhead. A loop [a, b) jumps back to ``a`` inside the
block that reaches ``b``, so the repeat is sample-exact. The stream comes from a factory that can be
injected, which lets tests drive the callback by hand. Where there is no PortAudio or no output
device, ``AudioUnavailable`` says so, and ``audio_available`` lets the UI ask before offering Play.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from genstudio.core.errors import GenStudioError

Fill = Callable[[np.ndarray], bool]  # fills a (frames, channels) float32 block; True when it was the last


class AudioUnavailable(GenStudioError):
    """No sound output device (or no PortAudio library) is available to play audio."""


class Stream(Protocol):
    def start(self) -> None: ...
    def abort(self) -> None: ...
    def close(self) -> None: ...


# (sample_rate, channels, fill, finished) -> an unstarted stream that calls fill() from its own thread
# until fill returns True or the stream is aborted, and then calls finished() once.
StreamFactory = Callable[[int, int, Fill, Callable[[], None]], Stream]


_WHY = {
    "no_device": ("No sound output device was found",
                  " (on Linux, the libportaudio2 package may also be missing)"),
    "no_library": ("GenStudio could not load PortAudio, the sound library it plays audio with",
                   " (on Linux, install the libportaudio2 package)"),
    "cannot_open": ("The sound output device could not be opened; another program may be holding it", ""),
}


def _unavailable_message(why: str = "no_device") -> str:
    """The sentence for the user; the technical cause stays on the exception's ``__cause__`` for the log."""
    message, linux_hint = _WHY[why]
    return f"{message}; export a WAV file instead{linux_hint if sys.platform.startswith('linux') else ''}."


def _sounddevice() -> Any:
    """The sounddevice module; it raises OSError on import when the PortAudio library is missing."""
    try:
        import sounddevice
    except (ImportError, OSError) as err:
        raise AudioUnavailable(_unavailable_message("no_library")) from err
    return sounddevice


def output_device_name(device: int | str | None = None) -> str:
    """The name of the output device that would play (the default one unless ``device`` is given)."""
    sd = _sounddevice()
    try:
        info = sd.query_devices(device, kind="output")
    except (sd.PortAudioError, ValueError) as err:  # PortAudioError for no default, ValueError for no match
        raise AudioUnavailable(_unavailable_message()) from err
    if info.get("max_output_channels", 0) < 1:
        raise AudioUnavailable(_unavailable_message())
    return str(info["name"])


def _has_output(sd: Any) -> bool:
    try:
        return sd.query_devices(kind="output").get("max_output_channels", 0) > 0
    except sd.PortAudioError:
        return False


def audio_available(device: int | str | None = None) -> tuple[bool, str]:
    """(True, the device's name) when audio can play, else (False, a sentence for the user); never raises."""
    try:
        return True, output_device_name(device)
    except AudioUnavailable as err:
        return False, str(err)


def portaudio_stream_factory(device: int | str | None = None, latency: str | float = "high") -> StreamFactory:
    """A factory of real sounddevice output streams on ``device`` (None: the default output).

    "high" latency (about a tenth of a second) rides out the moments when another thread holds the
    GIL, which the callback needs; the playhead runs that far ahead of what is heard.
    """
    sd = _sounddevice()

    def make(sample_rate: int, channels: int, fill: Fill, finished: Callable[[], None]) -> Stream:
        def callback(outdata, frames, time, status):
            if fill(outdata):
                raise sd.CallbackStop  # the block just written still plays, then finished() runs

        try:
            stream = sd.OutputStream(samplerate=sample_rate, channels=channels, dtype="float32", device=device,
                                     latency=latency, callback=callback, finished_callback=finished)
        except ValueError as err:  # no device of that name
            raise AudioUnavailable(_unavailable_message()) from err
        except sd.PortAudioError as err:  # no default device, or it refused the stream
            raise AudioUnavailable(_unavailable_message("no_device" if device is None and not _has_output(sd)
                                                        else "cannot_open")) from err
        return _PortAudioStream(stream, sd.PortAudioError)

    return make


class _PortAudioStream:
    """A sounddevice stream whose start() turns a device failure into AudioUnavailable."""

    def __init__(self, stream: Any, error: type[Exception]):
        self._stream, self._error = stream, error

    def start(self) -> None:
        try:
            self._stream.start()
        except self._error as err:
            raise AudioUnavailable(_unavailable_message("cannot_open")) from err

    def abort(self) -> None:
        self._stream.abort()

    def close(self) -> None:
        self._stream.close()


def _as_frames(audio: np.ndarray) -> np.ndarray:
    """(frames, channels) float32 from mono (frames,) or (frames, channels) audio."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2 or audio.shape[1] < 1:
        raise ValueError(f"Audio must be (frames,) or (frames, channels), not shape {audio.shape}.")
    return np.ascontiguousarray(audio)


class Player:
    """Plays one piece of audio at a time; every method returns at once.

    ``on_finished`` is called, from the audio thread, when playback reaches the end of the audio by
    itself (never after ``stop()``, nor while looping); a UI should pass it on with a queued signal.
    """

    def __init__(self, stream_factory: StreamFactory | None = None, *, device: int | str | None = None,
                 on_finished: Callable[[], None] | None = None):
        self._factory = stream_factory
        self._device = device
        self.on_finished = on_finished
        self._lock = threading.Lock()  # play/stop from the caller against finished() from the audio thread
        self._stream: Stream | None = None
        self._audio = np.zeros((0, 1), np.float32)
        self._sample_rate = 44100
        self._frame = 0  # the next frame the callback will hand over
        self._loop: tuple[int, int] | None = None
        self._playing = False
        self._reached_end = False
        self._generation = 0  # counts streams, so a stale stream's finished() is ignored

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def position(self) -> float:
        """Seconds into the audio of the frame last handed to the device (ahead of the sound by its latency)."""
        return self._frame / self._sample_rate

    @property
    def duration(self) -> float:
        return len(self._audio) / self._sample_rate

    def play(self, audio: np.ndarray, sample_rate: int, start_s: float = 0.0,
             loop: tuple[float, float] | None = None) -> None:
        """Starts playing ``audio`` from ``start_s``, stopping anything already playing.

        With ``loop=(a, b)`` playback repeats [a, b) until ``stop()``; ``b`` past the end means the
        end, and a start outside [a, b) starts at ``a``.
        """
        frames = _as_frames(audio)
        if sample_rate <= 0 or start_s < 0:
            raise ValueError(f"Need a positive sample rate and a start ≥ 0, not {sample_rate} and {start_s}.")
        loop_frames = self._loop_frames(loop, len(frames), sample_rate)
        start = min(round(start_s * sample_rate), len(frames))
        if loop_frames and not loop_frames[0] <= start < loop_frames[1]:
            start = loop_frames[0]
        self.stop()
        factory = self._factory or portaudio_stream_factory(self._device)
        with self._lock:
            self._audio, self._sample_rate, self._loop = frames, sample_rate, loop_frames
            self._frame, self._reached_end = start, False
            self._generation += 1
            generation = self._generation
            stream = factory(sample_rate, frames.shape[1], self._fill, lambda: self._finished(generation))
            self._stream, self._playing = stream, True
        try:
            stream.start()
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _loop_frames(loop: tuple[float, float] | None, n_frames: int, sample_rate: int) -> tuple[int, int] | None:
        if loop is None:
            return None
        a, b = round(loop[0] * sample_rate), min(round(loop[1] * sample_rate), n_frames)
        if not 0 <= a < b:
            raise ValueError(f"A loop needs 0 ≤ start < end within the audio, not {loop[0]:g}–{loop[1]:g} s.")
        return a, b

    def stop(self) -> None:
        """Stops at once (no fade, no waiting for buffered audio) and closes the stream; the position stays."""
        with self._lock:
            stream, self._stream = self._stream, None
            self._playing = False
            self._generation += 1  # so the old stream's late finished() neither ends nor reports the next play
        if stream is not None:
            stream.abort()  # abort, not stop: stop would wait for the buffered audio to drain
            stream.close()

    def _fill(self, out: np.ndarray) -> bool:
        """Copies the next ``len(out)`` frames into ``out``, wrapping at the loop's end; True once all is played."""
        written, wanted = 0, len(out)
        audio, loop = self._audio, self._loop
        frame = self._frame
        while written < wanted:
            end = loop[1] if loop else len(audio)
            take = min(wanted - written, end - frame)
            if take > 0:
                out[written:written + take] = audio[frame:frame + take]
                written += take
                frame += take
            if loop and frame >= loop[1]:
                frame = loop[0]
            elif frame >= len(audio):
                break
        out[written:] = 0.0
        self._frame = frame
        if loop is None and frame >= len(audio):
            self._reached_end = True
            return True
        return False

    def _finished(self, generation: int) -> None:
        """PortAudio calls this once the stream has stopped, whether it played out or was aborted."""
        with self._lock:
            if generation != self._generation:
                return
            self._playing = False
            call = self._reached_end and self.on_finished is not None
            self._reached_end = False
        if call:
            self.on_finished()
