"""The Text canvas's editor: a plain-text page that a model can write into while you watch.

Text streams in at a remembered insertion point, all of one run as ONE undo step (the first piece
opens an edit block, later pieces join it), with the editor read-only meanwhile so nothing the user
types can land inside it. What the model wrote is tinted (an ExtraSelection, not a format: the text
itself stays plain) until the next edit or a few seconds after the run. Positions are Qt's, counted
in UTF-16 units, so text is cut from the document in those units: an emoji before the cursor cannot
shift the prompt by one. Paragraphs come out as "\\n" and no-break spaces stay no-break spaces
(``toPlainText`` would turn them into spaces), so text round-trips byte for byte.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeySequence, QTextCursor, QTextFormat
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit

from genstudio.ui.theme import current_colors
from genstudio.ui.widgets.image_input import local_file

PARAGRAPH = "\u2029"  # how QTextDocument separates paragraphs in its raw text
GAP_COLOR = QColor(240, 180, 41, 90)  # amber: the span being filled (reads on light and dark pages)
TINT_ALPHA = {"light": 70, "dark": 120}  # a dark page needs more of the accent for the same contrast
HOLD_MS, FADE_MS, FADE_STEPS = 4000, 1200, 12
FONT_CSS = ('QPlainTextEdit#writing { font-family: "Charter", "Georgia", "Cambria", "Noto Serif", "DejaVu Serif", '
            "serif; font-size: 12pt; }")


def follow_span(start: int, end: int, position: int, removed: int, added: int) -> tuple[int, int]:
    """Where the span [start, end) is after ``removed`` characters at ``position`` became ``added``
    (QTextDocument.contentsChange): an edit before it shifts it, typing just before or just after it
    stays outside, an edit that touches it (an undone preview putting the original back, say) becomes
    part of it, and an empty span takes what lands in it."""
    if removed == 0:
        if start == end == position or start < position < end:
            return start, end + added
        return (start + added, end + added) if position <= start else (start, end)
    if position + removed <= start:
        return start + added - removed, end + added - removed
    if position < end:
        return min(start, position), max(end + added - removed, position + added)
    return start, end


def tint_color() -> QColor:
    colors = current_colors()
    color = QColor(colors["accent"])
    color.setAlpha(TINT_ALPHA["dark" if QColor(colors["base"]).lightness() < 128 else "light"])
    return color


class WritingEditor(QPlainTextEdit):
    file_dropped = Signal(str)  # a local file dropped on the page (the canvas decides if it can open it)

    def __init__(self, parent=None):
        super().__init__(parent, objectName="writing")
        self.setStyleSheet(FONT_CSS)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.document().setDocumentMargin(16)
        self.setPlaceholderText("Write here, then press Ctrl+Enter and the model continues from the cursor. "
                                "Select a passage and press Ctrl+Shift+Enter to have it rewritten.")
        self.marks: dict[str, tuple[QTextCursor, QColor]] = {}  # "generated", "preview", "gap": span and tint
        self.insert: QTextCursor | None = None  # where streamed text goes while a run writes
        self.stream_start: QTextCursor | None = None
        self.pieces = 0
        self.following = False  # keep the insertion point in view (until the user scrolls away)
        self.quiet = False  # True during our own edits and scrolls (which are not the user's)
        self.sealed = False  # the next user edit opens its own undo step (see _own_step)
        self._fade = QTimer(self, interval=FADE_MS // FADE_STEPS)
        self._fade.timeout.connect(self._fade_step)
        self._hold = QTimer(self, singleShot=True, interval=HOLD_MS)
        self._hold.timeout.connect(self._fade.start)
        self.document().contentsChange.connect(self._contents_changed)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)

    # -- the exact text ---------------------------------------------------------------------------
    def text(self) -> str:
        return self.document().toRawText().replace(PARAGRAPH, "\n")

    def text_between(self, start: int, end: int | None = None) -> str:
        """The text between two document positions (UTF-16 units, as QTextCursor counts)."""
        units = self.document().toRawText().encode("utf-16-le")
        stop = len(units) if end is None else 2 * end
        return units[2 * start:stop].decode("utf-16-le").replace(PARAGRAPH, "\n")

    def end_position(self) -> int:
        return self.document().characterCount() - 1  # the document's last block separator is not text

    def cursor_at(self, position: int, keep_on_insert: bool = False) -> QTextCursor:
        """A cursor that follows edits; with ``keep_on_insert`` it stays before text inserted at it."""
        cursor = QTextCursor(self.document())
        cursor.setPosition(position)
        cursor.setKeepPositionOnInsert(keep_on_insert)
        return cursor

    def set_text(self, text: str) -> None:
        """A new document (no undo history, unmodified)."""
        self.clear_marks()
        self.setPlainText(text)
        self.document().setModified(False)

    # -- streaming --------------------------------------------------------------------------------
    def begin_stream(self, position: int) -> None:
        self.clear_marks()
        self.insert = self.cursor_at(position)
        self.stream_start = self.cursor_at(position, keep_on_insert=True)
        self.pieces = 0
        self.following = self._in_view(self.insert)
        self.setReadOnly(True)

    def stream(self, text: str) -> None:
        """Insert the next piece; the whole run stays one undo step."""
        if not text or self.insert is None:
            return  # an empty piece must not join the previous edit block
        self.quiet = True
        try:
            if self.pieces == 0:
                self.insert.beginEditBlock()
            else:
                self.insert.joinPreviousEditBlock()
            self.insert.insertText(text)
            self.insert.endEditBlock()
            self.pieces += 1
            self.set_mark("generated", self.stream_start.position(), self.insert.position())
            if self.following:
                self._reveal(self.insert.position())
        finally:
            self.quiet = False

    def end_stream(self) -> tuple[int, int]:
        """Give the page back to the user, the caret after what was written; returns its span."""
        span = (self.stream_start.position(), self.insert.position()) if self.insert else (0, 0)
        self.setReadOnly(False)
        if self.pieces:
            self.sealed = True
            self._reveal(span[1], move_caret=True)
            self.fade_mark_later()
        self.insert = self.stream_start = None
        return span

    def replace_span(self, start: int, end: int, text: str, join: bool) -> int:
        """Replace [start, end) with ``text`` as an undo step, or as part of the previous one; returns
        where the new text ends."""
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        self.quiet = True
        try:
            if join:
                cursor.joinPreviousEditBlock()
            else:
                cursor.beginEditBlock()
            cursor.insertText(text)
            cursor.endEditBlock()
        finally:
            self.quiet = False
        self.sealed = True
        return cursor.position()

    def select_span(self, start: int, end: int) -> None:
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)

    def _in_view(self, cursor: QTextCursor) -> bool:
        return self.viewport().rect().intersects(self.cursorRect(cursor))

    def _reveal(self, position: int, move_caret: bool = False) -> None:
        """Scroll so ``position`` shows; the caret goes there (it is hidden while read-only anyway)."""
        self.quiet = True
        try:
            self.setTextCursor(self.cursor_at(position))
            self.ensureCursorVisible()
        finally:
            self.quiet = False
        if move_caret:
            self.setFocus()

    def _scrolled(self) -> None:
        if self.insert is not None and not self.quiet:  # the user scrolled: follow only if it is still in view
            self.following = self._in_view(self.insert)

    # -- tints ------------------------------------------------------------------------------------
    def set_mark(self, name: str, start: int, end: int, color: QColor | None = None) -> None:
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        if color is None:
            color = tint_color()
        self.marks[name] = (cursor, color)
        if name == "generated":
            self._hold.stop()
            self._fade.stop()
        self._show_marks()

    def clear_mark(self, name: str) -> None:
        if self.marks.pop(name, None) is not None:
            self._show_marks()

    def clear_marks(self) -> None:
        self._hold.stop()
        self._fade.stop()
        self.marks.clear()
        self._show_marks()

    def has_mark(self, name: str) -> bool:
        return name in self.marks

    def mark_span(self, name: str) -> tuple[int, int] | None:
        if name not in self.marks:
            return None
        cursor = self.marks[name][0]
        return cursor.selectionStart(), cursor.selectionEnd()

    def fade_mark_later(self) -> None:
        """The model's text stays tinted a moment after the run, then fades out."""
        self._fade.stop()
        self._hold.start()

    def _fade_step(self) -> None:
        if "generated" not in self.marks:
            self._fade.stop()
            return
        cursor, color = self.marks["generated"]
        alpha = color.alpha() - max(1, tint_color().alpha() // FADE_STEPS)
        if alpha <= 0:
            self._fade.stop()
            self.clear_mark("generated")
            return
        color = QColor(color)
        color.setAlpha(alpha)
        self.marks["generated"] = (cursor, color)
        self._show_marks()

    def _show_marks(self) -> None:
        selections = []
        for cursor, color in self.marks.values():
            selection = QTextEdit.ExtraSelection()
            selection.cursor = cursor
            selection.format.setBackground(color)
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, False)
            selections.append(selection)
        self.setExtraSelections(selections)

    def _contents_changed(self, _position: int, removed: int, added: int) -> None:
        if not self.quiet and (removed or added) and "generated" in self.marks:
            self.clear_mark("generated")  # the user edits on: the tint has done its job

    # -- keys, typing and drops -------------------------------------------------------------------
    def _own_step(self, edit) -> None:
        """Run a user edit; right after one of ours, inside an edit block of its own. QTextDocument
        merges an insertion typed just after an inserted block into that block's undo step, so without
        this, Ctrl+Z would take back the words typed after a continuation together with it."""
        if not self.sealed:
            edit()
            return
        steps = self.document().availableUndoSteps()
        cursor = self.textCursor()
        cursor.beginEditBlock()
        try:
            edit()
        finally:
            cursor.endEditBlock()
        if self.document().availableUndoSteps() != steps:
            self.sealed = False

    def keyPressEvent(self, event) -> None:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and modifiers == Qt.KeyboardModifier.ShiftModifier:
            if not self.isReadOnly():  # a plain line break: Qt's would be an invisible U+2028 in the file
                self._own_step(lambda: self.textCursor().insertText("\n"))
            return
        if event.matches(QKeySequence.StandardKey.Undo) or event.matches(QKeySequence.StandardKey.Redo):
            super().keyPressEvent(event)  # not an edit of its own
            return
        self._own_step(lambda: super(WritingEditor, self).keyPressEvent(event))

    def inputMethodEvent(self, event) -> None:
        self._own_step(lambda: super(WritingEditor, self).inputMethodEvent(event))

    def insertFromMimeData(self, source) -> None:
        self._own_step(lambda: super(WritingEditor, self).insertFromMimeData(source))

    def dragEnterEvent(self, event) -> None:
        if local_file(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if local_file(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:
        path = local_file(event.mimeData())
        if path:
            event.acceptProposedAction()
            self.file_dropped.emit(path)
        else:
            super().dropEvent(event)
