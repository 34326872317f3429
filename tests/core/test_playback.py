"""The player, driven by a fake stream: what it hands the device, the playhead, loops, stop and finish.

The last test plays through a real PortAudio stream on ALSA's ``null`` plugin, in a child process
whose ALSA configuration defines one; it skips where ALSA or PortAudio is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from genstudio.core.errors import GenStudioError
from genstudio.core.playback import AudioUnavailable, Player, audio_available

SR = 1000  # one frame per millisecond keeps the arithmetic readable


class FakeStream:
    """Stands in for a PortAudio stream: the test pulls blocks the way the audio thread would."""

    def __init__(self, sample_rate, channels, fill, finished):
        self.sample_rate, self.channels, self.fill, self.finished = sample_rate, channels, fill, finished
        self.started = self.aborted = self.closed = self.done = False

    def start(self):
        self.started = True

    def abort(self):
        self.aborted = True
        self.end()

    def close(self):
        self.closed = True

    def end(self):
        if not self.done:
            self.done = True
            self.finished()

    def pull(self, frames: int) -> np.ndarray:
        out = np.full((frames, self.channels), np.nan, np.float32)  # NaN shows any frame left unwritten
        if self.fill(out):
            self.end()
        return out

    def pull_all(self, block: int, limit: int = 10_000) -> np.ndarray:
        blocks = []
        while not self.done and len(blocks) < limit:
            blocks.append(self.pull(block))
        return np.concatenate(blocks)


class FakeDevice:
    def __init__(self):
        self.streams: list[FakeStream] = []

    def __call__(self, sample_rate, channels, fill, finished):
        self.streams.append(FakeStream(sample_rate, channels, fill, finished))
        return self.streams[-1]

    @property
    def stream(self) -> FakeStream:
        return self.streams[-1]


@pytest.fixture
def device():
    return FakeDevice()


def ramp(n: int) -> np.ndarray:
    return (np.arange(n, dtype=np.float32) + 1) / n  # no zeros in it, so silence is told apart


def test_output_matches_the_audio_then_silence_and_finishing_calls_back(device):
    finished = []
    player = Player(device, on_finished=lambda: finished.append(True))
    audio = ramp(1000)
    player.play(audio, SR)
    assert device.stream.started and player.playing and (device.stream.sample_rate, device.stream.channels) == (SR, 1)
    out = device.stream.pull_all(block=96)
    np.testing.assert_array_equal(out[:1000, 0], audio)
    assert not out[1000:].any()  # the last block is padded with silence, not with NaN
    assert finished == [True] and not player.playing
    assert player.position == pytest.approx(1.0)


def test_position_advances_with_each_block_and_start_offsets_it(device):
    player = Player(device)
    player.play(ramp(1000), SR, start_s=0.25)
    assert player.position == pytest.approx(0.25)
    first = device.stream.pull(100)
    assert first[0, 0] == ramp(1000)[250]
    assert player.position == pytest.approx(0.35)
    device.stream.pull(100)
    assert player.position == pytest.approx(0.45) and player.playing


def test_loop_wraps_exactly_and_never_finishes(device):
    finished = []
    player = Player(device, on_finished=lambda: finished.append(True))
    audio = ramp(1000)
    player.play(audio, SR, start_s=0.2, loop=(0.1, 0.25))
    positions = []
    blocks = []
    for _ in range(20):
        blocks.append(device.stream.pull(64))  # 64 does not divide the 150-frame loop: wraps mid-block
        positions.append(player.position)
    out = np.concatenate(blocks)[:, 0]
    expected = np.concatenate([audio[200:250]] + [audio[100:250]] * 9)[: len(out)]
    np.testing.assert_array_equal(out, expected)
    assert all(0.1 <= p < 0.25 for p in positions)
    assert player.playing and not finished


def test_a_loop_shorter_than_a_block_repeats_within_it(device):
    player = Player(device)
    audio = ramp(100)
    player.play(audio, SR, loop=(0.01, 0.014))  # four frames
    out = device.stream.pull(10)[:, 0]
    np.testing.assert_array_equal(out, np.tile(audio[10:14], 3)[:10])


def test_a_start_outside_the_loop_starts_at_its_beginning_and_the_loop_end_is_clamped(device):
    player = Player(device)
    audio = ramp(300)
    player.play(audio, SR, start_s=0.05, loop=(0.2, 9.0))
    out = device.stream.pull(150)[:, 0]
    np.testing.assert_array_equal(out, np.concatenate([audio[200:300], audio[200:250]]))


def test_stop_aborts_closes_keeps_the_position_and_does_not_report_finishing(device):
    finished = []
    player = Player(device, on_finished=lambda: finished.append(True))
    player.play(ramp(1000), SR)
    device.stream.pull(300)
    player.stop()
    assert device.stream.aborted and device.stream.closed and not player.playing
    assert player.position == pytest.approx(0.3) and not finished
    player.stop()  # stopping twice is harmless


def test_playing_again_replaces_the_stream_and_a_stale_finish_is_ignored(device):
    finished = []
    player = Player(device, on_finished=lambda: finished.append(True))
    player.play(ramp(100), SR)
    old = device.stream
    assert old.fill(np.empty((100, 1), np.float32))  # the end, but PortAudio has not yet reported it
    player.play(ramp(500), SR)
    assert old.aborted and old.closed and len(device.streams) == 2
    old.finished()  # a late report from the old stream must not end the new one
    assert player.playing and not finished
    device.stream.pull_all(block=128)
    assert finished == [True]


def test_stereo_audio_opens_two_channels(device):
    stereo = np.stack([ramp(50), -ramp(50)], axis=1)
    player = Player(device)
    player.play(stereo, SR)
    assert device.stream.channels == 2
    np.testing.assert_array_equal(device.stream.pull(50), stereo)


def test_bad_arguments_are_refused_before_any_stream_opens(device):
    player = Player(device)
    with pytest.raises(ValueError):
        player.play(ramp(100), SR, loop=(0.5, 0.2))
    with pytest.raises(ValueError):
        player.play(ramp(100), SR, loop=(0.2, 0.2))
    with pytest.raises(ValueError):
        player.play(np.zeros((2, 3, 4)), SR)
    assert not device.streams


def test_starting_at_the_end_finishes_at_once(device):
    finished = []
    player = Player(device, on_finished=lambda: finished.append(True))
    player.play(ramp(100), SR, start_s=5.0)
    assert not device.stream.pull(10).any() and finished == [True]


def test_audio_available_answers_without_raising():
    ok, message = audio_available()
    assert isinstance(ok, bool) and message
    if not ok:
        assert "WAV" in message


def test_missing_portaudio_is_a_clear_user_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # `import sounddevice` now raises ImportError
    ok, message = audio_available()
    assert not ok and "PortAudio" in message and "WAV" in message
    if sys.platform.startswith("linux"):
        assert "libportaudio2" in message
    with pytest.raises(AudioUnavailable) as caught:
        Player().play(ramp(10), SR)
    assert isinstance(caught.value, GenStudioError)


def test_the_real_player_refuses_clearly_where_there_is_no_output_device():
    if audio_available()[0]:
        pytest.skip("this machine has a sound output device")
    with pytest.raises(AudioUnavailable, match="WAV"):
        Player().play(ramp(100), SR)


def test_a_device_that_does_not_exist_is_unavailable():
    pytest.importorskip("sounddevice", exc_type=OSError)  # OSError: PortAudio itself is missing
    ok, message = audio_available("no such device, surely")
    assert not ok and "WAV" in message


# --- a real PortAudio stream on ALSA's null plugin ---------------------------------------------------

ALSA_CONF = Path("/usr/share/alsa/alsa.conf")
NULL_DEVICE = "genstudio_null"  # PortAudio skips a PCM named plain "null", so the test defines its own

CHILD = textwrap.dedent("""
    import json, threading, time
    import numpy as np
    try:
        import sounddevice
    except OSError as err:
        print(json.dumps({"skip": f"PortAudio is missing: {err}"})); raise SystemExit
    from genstudio.core.playback import Player, audio_available
    ok, name = audio_available(DEVICE)
    if not ok:
        print(json.dumps({"skip": "ALSA did not offer the null device"})); raise SystemExit
    done = threading.Event()
    player = Player(device=DEVICE, on_finished=done.set)
    player.play(np.zeros(4410, np.float32), 44100)
    finished = done.wait(10)
    result = {"name": name, "finished": finished, "position": player.position, "playing": player.playing}
    player.play(np.zeros(4410, np.float32), 44100, loop=(0.02, 0.05))
    time.sleep(0.05)  # the null plugin takes audio as fast as it is given, so the loop spins quickly
    result["loop_position"], result["loop_playing"] = player.position, player.playing
    player.stop()
    result["stopped"] = not player.playing
    print(json.dumps(result))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux") or not ALSA_CONF.is_file(),
                    reason="needs ALSA (libasound2) and its alsa.conf")
def test_plays_through_alsas_null_device(tmp_path):
    conf = tmp_path / "asound.conf"
    # alsa.conf first, for the stock definitions; then one PCM of the null type
    conf.write_text(f"<{ALSA_CONF}>\npcm.{NULL_DEVICE} {{\n    type null\n}}\n")
    env = dict(os.environ, ALSA_CONFIG_PATH=str(conf))
    root = Path(__file__).resolve().parents[2]
    child = subprocess.run([sys.executable, "-c", f"DEVICE = {NULL_DEVICE!r}\n{CHILD}"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(result["skip"])
    assert result["name"] == NULL_DEVICE
    assert result["finished"] and not result["playing"] and result["position"] == pytest.approx(0.1)
    assert 0.02 <= result["loop_position"] < 0.05 and result["loop_playing"] and result["stopped"]
