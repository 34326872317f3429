"""The Text canvas: stream a continuation into the page, stop it, undo it whole, fill a gap with
versions to choose from, and open/save text files in the encoding they came in."""

from __future__ import annotations

import codecs
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QElapsedTimer, QMimeData, QPointF, Qt, QTimer, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

from genstudio.core.events import TextChunk  # noqa: E402
from genstudio.core.registry import ArchSpec, Capability  # noqa: E402
from genstudio.core.store import ModelInfo  # noqa: E402

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
# An emoji (two UTF-16 units in Qt's positions), a no-break space and a blank line: all must survive as they are.
PAGE = "Le café 😀 ouvre\u00a0tôt.\n\nThe rain came down on the old town, and nobody minded."
CONTINUATION = [" And", " then", " the", " bells", "\n", "rang."]


def spec(name: str, *capabilities: Capability, modality: str = "text") -> ArchSpec:
    return ArchSpec(name=name, family="transformer", modality=modality, config_cls=object, builder=lambda c: None,
                    capabilities=frozenset(capabilities), trainer="trainers.text")


GPT = spec("gpt", Capability.TEXT)
INFILL = spec("infill", Capability.TEXT, Capability.INFILL)
IMAGES = spec("ddpm", Capability.GENERATE, Capability.INPAINT, modality="image")


def entry(name: str, arch: ArchSpec, **config):
    card = {"arch": arch.name, "steps": 2000, "config": {"block_size": 256, "tokenizer_kind": "char", **config}}
    return ModelInfo(name, Path("/nowhere") / name, card, False), arch


class FakeContinue:
    """Stands in for ``tasks.write.continue_text``: records the request and writes ``pieces`` slowly."""

    def __init__(self, pieces=CONTINUATION, delay: float = 0.0):
        self.pieces, self.delay = list(pieces), delay
        self.requests = []

    def __call__(self, request, device, store=None):
        from genstudio.tasks.write import WriteResult

        self.requests.append(request)
        for piece in self.pieces:
            time.sleep(self.delay)
            yield TextChunk(piece)
        return WriteResult("".join(self.pieces), len(self.pieces) * 2, 0.5, "length")


class FakeInfill:
    """Stands in for ``tasks.write.infill``: version i is ``versions[i]``, streamed in two pieces each."""

    def __init__(self, versions=("a quiet", "an old\nand tired", "the 😀 new"), delay: float = 0.0):
        self.versions, self.delay = list(versions), delay
        self.requests = []

    def __call__(self, request, device, store=None):
        self.requests.append(request)
        versions = self.versions[:request.n]
        for half in (0, 1):
            for index, text in enumerate(versions):
                time.sleep(self.delay)
                middle = len(text) // 2
                yield TextChunk(text[:middle] if half == 0 else text[middle:], index)
        return versions


@pytest.fixture
def canvas(qtbot, answers):
    from genstudio.ui.canvases.text import TextCanvas
    from genstudio.ui.settings import Settings

    widget = TextCanvas(Settings())
    qtbot.addWidget(widget)
    widget.resize(1280, 760)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_models([entry("my-gpt", GPT), entry("my-infill", INFILL), entry("my-ddpm", IMAGES)])
    widget.run_continue, widget.run_infill = FakeContinue(), FakeInfill()
    return widget


def position_of(text: str, index: int) -> int:
    """Qt's document position (UTF-16 units) of the Python string index ``index``."""
    return len(text[:index].encode("utf-16-le")) // 2


def place_cursor(canvas, index: int) -> None:
    canvas.editor.setTextCursor(canvas.editor.cursor_at(position_of(canvas.editor.text(), index)))


def finish(qtbot, canvas) -> None:
    qtbot.waitUntil(lambda: canvas.worker is None, timeout=20_000)


def test_empty_state_until_there_is_a_text_model(canvas, qtbot):
    canvas.set_models([entry("my-ddpm", IMAGES)])
    assert canvas.view.currentWidget() is canvas.empty and canvas.controls.isHidden()
    assert canvas.empty_label.text() == "No text model yet — train a GPT on a folder of your texts in Train."
    with qtbot.waitSignal(canvas.go_train, timeout=1000):
        qtbot.mouseClick(canvas.empty_button, Qt.MouseButton.LeftButton)
    canvas.set_models([], loading=True)
    assert canvas.empty_label.text() == "Loading models…" and canvas.empty_button.isHidden()
    canvas.set_models([entry("my-gpt", GPT)])
    assert canvas.view.currentWidget() is canvas.work and not canvas.controls.isHidden()


def test_text_models_are_listed_and_only_infill_models_can_fill(canvas, qtbot):
    names = [canvas.model_box.itemData(i) for i in range(canvas.model_box.count())]
    assert names == ["my-gpt", "my-infill"]
    assert not canvas.select_model("my-ddpm")
    assert canvas.select_model("my-gpt")
    assert canvas.continue_button.isEnabled() and not canvas.fill_button.isEnabled()
    assert "only continues" in canvas.fill_button.toolTip()
    assert "character tokens" in canvas.model_note.text() and "256" in canvas.model_note.text()
    canvas.editor.set_text(PAGE)
    canvas.fill_selection()  # the shortcut still reaches it: it says why nothing happens
    assert canvas.worker is None and "only continues" in canvas.progress_label.text()
    assert canvas.select_model("my-infill")
    assert canvas.continue_button.isEnabled() and canvas.fill_button.isEnabled()


def test_continuation_streams_in_order_at_the_cursor_and_the_page_is_locked_meanwhile(canvas, qtbot):
    canvas.editor.set_text(PAGE)
    cut = PAGE.index(" and nobody")
    place_cursor(canvas, cut)
    canvas.run_continue = FakeContinue(delay=0.15)
    seen = []
    canvas.editor.textChanged.connect(lambda: seen.append(canvas.editor.text()))
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Return, CTRL)
    assert canvas.worker is not None
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=10_000)
    assert canvas.run_continue.requests[0].prompt == PAGE[:cut]
    assert canvas.worker is not None and canvas.editor.isReadOnly()
    qtbot.keyClicks(canvas.editor, "typed")  # nothing lands in the text being written
    assert not canvas.continue_button.isEnabled() and canvas.stop_button.isEnabled()
    finish(qtbot, canvas)
    expected = [PAGE[:cut] + "".join(CONTINUATION[:k]) + PAGE[cut:] for k in range(1, len(CONTINUATION) + 1)]
    assert seen == expected  # one insertion per piece, each at the end of the last
    assert not canvas.editor.isReadOnly()
    end = position_of(expected[-1], cut + len("".join(CONTINUATION)))
    assert canvas.editor.mark_span("generated") == (position_of(PAGE, cut), end)  # tinted
    assert canvas.progress_label.text() == "12 tokens in 0.5 s · 24.0 tokens/s · reached the token limit"
    assert canvas.editor.textCursor().position() == end  # write on from there
    qtbot.keyClicks(canvas.editor, "!")
    assert not canvas.editor.has_mark("generated")  # the tint goes with the next edit


def test_stop_keeps_what_came(canvas, qtbot):
    canvas.editor.set_text(PAGE)
    place_cursor(canvas, len(PAGE))
    canvas.run_continue = FakeContinue(pieces=[f" w{i}" for i in range(200)], delay=0.02)
    canvas.continue_from_cursor()
    qtbot.waitUntil(lambda: canvas.editor.text().count(" w") >= 3, timeout=10_000)
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Escape)
    finish(qtbot, canvas)
    written = canvas.editor.text()[len(PAGE):]
    assert canvas.editor.text().startswith(PAGE) and written
    assert written == "".join(f" w{i}" for i in range(written.count(" w")))  # whole pieces, in order
    assert written.count(" w") < 200 and canvas.progress_label.text().startswith("Stopped: kept ")
    assert not canvas.editor.isReadOnly() and canvas.continue_button.isEnabled()


def test_one_undo_takes_back_the_whole_continuation_exactly(canvas, qtbot):
    canvas.editor.set_text(PAGE)
    place_cursor(canvas, PAGE.index("😀") + 1)
    qtbot.keyClicks(canvas.editor, " oui")  # the user's own typing stays its own undo step
    typed = PAGE.replace("😀", "😀 oui")
    assert canvas.editor.text() == typed
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Return, CTRL)
    finish(qtbot, canvas)
    cut = typed.index("😀 oui") + 5
    assert canvas.run_continue.requests[0].prompt == typed[:cut]  # the emoji did not shift the cut
    written = typed[:cut] + "".join(CONTINUATION) + typed[cut:]
    assert canvas.editor.text() == written
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Z, CTRL)
    assert canvas.editor.text() == typed
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Z, CTRL | SHIFT)
    assert canvas.editor.text() == written
    qtbot.keyClicks(canvas.editor, " Yes.")  # typed right after it: its own step, not part of the model's
    assert canvas.editor.text() == written.replace("rang.", "rang. Yes.")
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Z, CTRL)
    assert canvas.editor.text() == written
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Z, CTRL)
    assert canvas.editor.text() == typed


def select(canvas, start: int, end: int) -> None:
    text = canvas.editor.text()
    canvas.editor.select_span(position_of(text, start), position_of(text, end))


def test_fill_lists_versions_keeps_the_surroundings_byte_for_byte_and_undoes_in_one_step(canvas, qtbot):
    canvas.select_model("my-infill")
    canvas.editor.set_text(PAGE)
    start, end = PAGE.index("old town"), PAGE.index(", and")
    select(canvas, start, end)
    canvas.options.count_box.setValue(3)
    canvas.options.seed_box.setValue(40)
    canvas.run_infill = FakeInfill(delay=0.1)
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Return, CTRL | SHIFT)
    qtbot.waitUntil(lambda: canvas.alternatives.text(0) == "a q", timeout=10_000)  # rows fill as pieces come
    request = canvas.run_infill.requests[0]
    assert (request.before, request.after) == (PAGE[:start], PAGE[end:])
    assert (request.n, request.seed, request.model) == (3, 40, "my-infill")
    assert canvas.worker is not None and not canvas.alternatives.isHidden()
    assert canvas.editor.text() == PAGE and canvas.editor.isReadOnly()
    finish(qtbot, canvas)
    versions = canvas.run_infill.versions
    assert canvas.alternatives.count() == 3 and canvas.alternatives.texts == versions
    assert [canvas.alternatives.rows.item(i).text() for i in range(3)] == [
        "1.  a quiet", "2.  an old ⏎ and tired", "3.  the 😀 new"]
    assert canvas.editor.text() == PAGE[:start] + versions[0] + PAGE[end:]  # the first is shown at once
    canvas.alternatives.rows.setCurrentRow(2)  # a click, or the arrow keys
    assert canvas.editor.text() == PAGE[:start] + versions[2] + PAGE[end:]
    canvas.alternatives.pick(1)
    assert canvas.editor.text() == PAGE[:start] + versions[1] + PAGE[end:]
    qtbot.mouseClick(canvas.alternatives.use_button, Qt.MouseButton.LeftButton)
    assert canvas.alternatives.isHidden() and canvas.gap is None
    kept = canvas.editor.text()
    assert kept.encode() == (PAGE[:start] + versions[1] + PAGE[end:]).encode()
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Z, CTRL)
    assert canvas.editor.text().encode() == PAGE.encode()  # one step, through all the versions tried
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Z, CTRL | SHIFT)
    assert canvas.editor.text() == kept


def test_fill_at_the_cursor_and_discard_puts_the_original_back(canvas, qtbot):
    canvas.select_model("my-infill")
    canvas.editor.set_text(PAGE)
    cut = PAGE.index("tôt")
    place_cursor(canvas, cut)
    canvas.fill_selection()
    finish(qtbot, canvas)
    request = canvas.run_infill.requests[0]
    assert (request.before, request.after) == (PAGE[:cut], PAGE[cut:])
    canvas.alternatives.pick(2)
    assert canvas.editor.text() == PAGE[:cut] + "the 😀 new" + PAGE[cut:]
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Escape)  # idle: Esc discards the versions
    assert canvas.editor.text() == PAGE and canvas.alternatives.isHidden()

    canvas.fill_selection()
    finish(qtbot, canvas)
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Z, CTRL)  # the preview undone: the gap holds the original again
    assert canvas.editor.text() == PAGE
    canvas.alternatives.pick(1)
    assert canvas.editor.text() == PAGE[:cut] + "an old\nand tired" + PAGE[cut:]
    canvas.alternatives.pick(0)
    qtbot.keyClicks(canvas.editor, "!")  # an edit after the preview: Discard still restores only the gap
    edited = canvas.editor.text()
    canvas.discard_alternatives()
    assert canvas.editor.text() == edited.replace("a quiet", "")


def test_the_sampling_fields_and_stop_sequences_go_into_the_request(canvas, qtbot):
    options = canvas.options
    options.temperature_box.setValue(0.65)
    options.top_k_box.setValue(40)
    options.top_p_box.setValue(0.9)
    options.penalty_box.setValue(1.3)
    options.max_tokens_box.setValue(77)
    options.seed_box.setValue(1234)
    options.stop_edit.setPlainText("THE END, \\n\\n\nFin\\, done\n\n  ,")
    canvas.editor.set_text("Hello")
    canvas.continue_from_cursor()
    finish(qtbot, canvas)
    request = canvas.run_continue.requests[-1]
    assert request.stop == ["THE END", "\n\n", "Fin, done"]
    assert (request.temperature, request.top_k, request.top_p, request.repetition_penalty, request.max_tokens,
            request.seed, request.model) == (0.65, 40, 0.9, 1.3, 77, 1234, "my-gpt")
    options.random_seed.setChecked(True)
    canvas.continue_from_cursor()
    finish(qtbot, canvas)
    assert canvas.run_continue.requests[-1].seed == options.seed_box.value() != 1234
    canvas.save_choices()
    from genstudio.ui.canvases.text import TextCanvas

    again = TextCanvas(canvas.settings)
    qtbot.addWidget(again)
    assert again.options.stop_sequences() == ["THE END", "\n\n", "Fin, done"]
    assert again.options.values() == options.values() and again.options.random_seed.isChecked()


def test_the_status_line_counts_characters_words_and_shows_the_cursor(canvas, qtbot):
    canvas.editor.set_text("one two\nthree 😀")
    qtbot.waitUntil(lambda: "15 characters" in canvas.status.text(), timeout=2000)
    place_cursor(canvas, 11)
    assert canvas.status.text() == "Line 2, column 4 · 15 characters · 4 words"


def test_open_and_save_keep_the_encoding_and_line_endings_latin1_included(canvas, qtbot, tmp_path, answers):
    latin = tmp_path / "lettre.txt"
    latin.write_bytes("Cher ami,\r\nà bientôt — non: à bientôt, café crème.\r\n".replace("—", "-").encode("latin-1"))
    assert canvas.open_path(latin)
    assert canvas.editor.text() == "Cher ami,\nà bientôt - non: à bientôt, café crème.\n"
    assert "Latin-1" in canvas.progress_label.text() and canvas.format_label.text() == "Latin-1 · CRLF"
    assert not canvas.has_unsaved_changes() and "lettre.txt" in canvas.file_label.text()
    original = latin.read_bytes()
    assert canvas.save() and latin.read_bytes() == original  # byte for byte
    canvas.editor.textCursor().insertText("Ça va? ")
    assert canvas.has_unsaved_changes() and "edited" in canvas.file_label.text()
    assert canvas.save() and latin.read_bytes() == b"\xc7a va? " + original
    canvas.editor.textCursor().insertText("€uro ")  # not in Latin-1: saved as UTF-8, and said so
    assert canvas.save()
    assert latin.read_bytes().decode("utf-8") == "Ça va? €uro " + original.decode("latin-1")
    assert "as UTF-8" in canvas.progress_label.text() and canvas.format_label.text() == "UTF-8 · CRLF"

    utf16 = tmp_path / "notes.md"
    utf16.write_bytes(codecs.BOM_UTF16_LE + "# Notes 😀\n\nline\u00a0two\n".encode("utf-16-le"))
    assert canvas.open_path(utf16) and canvas.editor.text() == "# Notes 😀\n\nline\u00a0two\n"
    answers.replies["save_file"] = str(tmp_path / "copy")
    assert canvas.save_as() and (tmp_path / "copy.txt").read_bytes() == utf16.read_bytes()
    assert canvas.path == tmp_path / "copy.txt" and canvas.format_label.text() == "UTF-16 LE · LF"


def test_unsaved_changes_are_asked_about_before_new_or_open(canvas, qtbot, tmp_path, answers):
    other = tmp_path / "other.txt"
    other.write_text("Another text.\n", encoding="utf-8")
    canvas.editor.set_text("")
    qtbot.keyClicks(canvas.editor, "My draft")
    answers.replies["choose"] = None  # Cancel
    assert not canvas.open_path(other) and not canvas.new_document()
    assert canvas.editor.text() == "My draft"
    answers.replies["choose"] = "Save"
    answers.replies["save_file"] = str(tmp_path / "draft.md")
    assert canvas.open_path(other) and canvas.editor.text() == "Another text.\n"
    assert (tmp_path / "draft.md").read_text(encoding="utf-8") == "My draft"
    qtbot.keyClicks(canvas.editor, "x")
    answers.replies["choose"] = "Don't save"
    assert canvas.new_document() and canvas.editor.text() == "" and canvas.path is None
    assert other.read_text(encoding="utf-8") == "Another text.\n"


def drop(widget, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    widget.dropEvent(QDropEvent(QPointF(40, 40), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))


def test_dropped_text_files_open_and_other_files_are_refused(canvas, tmp_path, answers):
    canvas.editor.set_text("Kept.")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    drop(canvas.editor, binary)
    assert answers.warnings[-1][0] == "Cannot open this file" and "PNG" in answers.warnings[-1][1]
    drop(canvas.editor, tmp_path / "picture.png")
    assert "not a .txt or .md file" in answers.warnings[-1][1] and canvas.editor.text() == "Kept."
    good = tmp_path / "poem.md"
    good.write_text("Roses.\n", encoding="utf-8")
    drop(canvas.editor, good)
    assert canvas.editor.text() == "Roses.\n" and canvas.path == good
    drop(canvas, binary.with_name("empty.txt"))  # beside the page too; a missing file says so
    assert "Cannot read empty.txt" in answers.warnings[-1][1]


def test_the_window_stays_responsive_while_the_model_writes(canvas, qtbot):
    import torch  # noqa: F401 - the window imports it at start (the registry); a first import holds the GIL

    canvas.editor.set_text(PAGE * 40)
    place_cursor(canvas, 10)
    canvas.run_continue = FakeContinue(pieces=[" word"] * 8, delay=0.12)
    gaps, clock = [], QElapsedTimer()
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: (gaps.append(clock.restart())))
    clock.start()
    timer.start()
    canvas.continue_from_cursor()
    qtbot.waitUntil(lambda: canvas.editor.text().count(" word") >= 2, timeout=10_000)
    bar = canvas.editor.verticalScrollBar()
    bar.setValue(bar.maximum())  # the page scrolls while the model writes
    assert bar.value() == bar.maximum() and canvas.worker is not None
    finish(qtbot, canvas)
    timer.stop()
    assert len(gaps) > 40 and max(gaps[1:]) < 100  # ms: the UI thread never waited for the model
    assert canvas.editor.text().count(" word") == 8


def test_a_failed_run_says_why_and_keeps_the_page(canvas, qtbot, answers):
    from genstudio.core.errors import GenStudioError

    def broken(request, device, store=None):
        yield TextChunk(" half")
        raise GenStudioError("The model file is damaged.")

    canvas.editor.set_text(PAGE)
    canvas.run_continue = broken
    canvas.continue_from_cursor()
    finish(qtbot, canvas)
    assert answers.warnings[-1] == ("Writing failed", "The model file is damaged.")
    assert canvas.editor.text() == " half" + PAGE and not canvas.editor.isReadOnly()
    canvas.editor.undo()
    assert canvas.editor.text() == PAGE


def save_tiny_text_model(arch: str, name: str, text: str):
    """A ``tiny`` untrained text model with a character tokenizer fitted to ``text``, in the library
    (tests/util.save_tiny_model builds image models, whose configs need no tokenizer)."""
    import torch

    from genstudio.core import config as configlib
    from genstudio.core.registry import get
    from genstudio.core.store import ModelStore, new_card
    from genstudio.models.tokenizer import fit_tokenizer

    tokenizer = fit_tokenizer("char", [text])
    spec = get(arch)
    config = spec.model_config("tiny", {"tokenizer": tokenizer.to_json(), "vocab_size": tokenizer.vocab_size})
    torch.manual_seed(0)
    model = spec.build(config)
    store = ModelStore()
    store.save(new_card(name, arch, configlib.to_dict(config), steps=0), model.state_dict())
    return store.get(name), spec


def test_a_tiny_real_model_continues_and_fills_through_the_real_tasks(qtbot, answers):
    from genstudio.ui.canvases.text import TextCanvas
    from genstudio.ui.settings import Settings

    canvas = TextCanvas(Settings())
    qtbot.addWidget(canvas)
    canvas.resize(1100, 700)
    canvas.show()
    canvas.set_models([save_tiny_text_model("gpt", "tiny-writer", PAGE),
                       save_tiny_text_model("infill", "tiny-filler", PAGE)])
    canvas.select_model("tiny-writer")
    canvas.options.max_tokens_box.setValue(12)
    canvas.options.seed_box.setValue(5)
    canvas.editor.set_text(PAGE)
    cut = PAGE.index(" and nobody")
    place_cursor(canvas, cut)
    canvas.continue_from_cursor()
    finish(qtbot, canvas)
    assert not answers.warnings and "tokens/s" in canvas.progress_label.text()
    text = canvas.editor.text()
    written = text[cut:len(text) - len(PAGE) + cut]
    assert text == PAGE[:cut] + written + PAGE[cut:] and written
    canvas.editor.undo()
    assert canvas.editor.text() == PAGE

    canvas.select_model("tiny-filler")
    canvas.options.count_box.setValue(2)
    start, end = PAGE.index("old town"), PAGE.index(", and")
    select(canvas, start, end)
    canvas.fill_selection()
    finish(qtbot, canvas)
    assert not answers.warnings and canvas.alternatives.count() == 2
    versions = canvas.alternatives.texts
    canvas.alternatives.pick(1)
    assert canvas.use_alternative()
    assert canvas.editor.text().encode() == (PAGE[:start] + versions[1] + PAGE[end:]).encode()


@pytest.mark.parametrize("change, expected", [
    ((2, 0, 3), (13, 23)),  # typed before the gap: it moves along
    ((10, 0, 3), (13, 23)),  # typed at its start: outside, before it
    ((20, 0, 3), (10, 20)),  # typed at its end: outside, after it
    ((15, 0, 3), (10, 23)),  # typed inside: it grows
    ((2, 4, 1), (7, 17)),  # a replacement before it
    ((10, 10, 4), (10, 14)),  # the whole gap replaced (an undone preview): it holds the new text
    ((8, 4, 0), (8, 16)),  # a deletion across its start: what is left of it
    ((25, 3, 0), (10, 20)),  # after it: untouched
])
def test_the_gap_follows_the_edits_around_it(change, expected):
    from genstudio.ui.widgets.writing_editor import follow_span

    assert follow_span(10, 20, *change) == expected
    assert follow_span(10, 10, 10, 0, 5) == (10, 15)  # an empty gap takes what is typed into it


@pytest.mark.parametrize("raw", [b"", b"\r\n\r\n", b"une\rdeux\r", codecs.BOM_UTF8 + "é\n".encode(),
                                 codecs.BOM_UTF16_BE + "ü\r\nz".encode("utf-16-be"), "Word’s “quotes”".encode("cp1252")])
def test_text_files_round_trip_byte_for_byte(tmp_path, raw):
    from genstudio.ui.widgets.text_files import read_text_file, write_text_file

    path = tmp_path / "round.txt"
    path.write_bytes(raw)
    document = read_text_file(path)
    assert "\r" not in document.text
    write_text_file(tmp_path / "again.txt", document)
    assert (tmp_path / "again.txt").read_bytes() == raw
