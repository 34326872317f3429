"""How the piano roll looks: its colours, the note grid's painting, and the three strips around it.

The grid (the roll's viewport) is painted here from the roll's own mapping (``time_to_x``,
``pitch_to_y``) and state, so the strips and the grid can never disagree about where a note is. The
keyboard at the left scrolls with the pitches, the ruler at the top and the velocity lane at the
bottom scroll with time. The ruler's drags set the loop and its clicks the playhead; the lane's drags
change velocities through the roll's public methods (a preview while dragging, one undo step at the
end), so the roll stays the one owner of the notes. Only what is in view is painted, and notes are
drawn in batches of one brush each (``QPainter.drawRects``), which keeps a 5,000-note piece cheap.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from genstudio.ui.widgets.piano_roll_commands import note_order, revoiced, snap

if TYPE_CHECKING:
    from genstudio.core.notes import Note
    from genstudio.ui.widgets.piano_roll import PianoRoll

KEYBOARD_WIDTH = 58  # px: room for a full-size key and its "C-1"…"C9" label
RULER_HEIGHT = 24
LANE_HEIGHT = 76  # the velocity lane
LANE_PAD = (6, 4)  # px kept clear above velocity 127 and below velocity 1
DRAG_START = 3  # px the pointer moves before a press becomes a drag (a click must not nudge a note)
MIN_LINE_GAP = 6  # px: beat and grid lines closer than this are left out
MIN_BAR_GAP = 14  # px: bar lines closer than this thin out to every 2nd, 4th, … bar (they are the strong ones)
VELOCITY_SHADES = 8  # velocity is shown in this many steps, so notes batch into few brushes
LABEL_NOTES_BELOW = 600  # pitch names inside notes only while fewer than this many are in view
NAMES = ("C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B")
BLACK_KEYS = frozenset((1, 3, 6, 8, 10))

# Primer/user notes take the theme's accent (blue); generated notes an amber that reads apart from it on
# light and dark alike, and apart for the common colour blindnesses too (blue/orange, not red/green).
GENERATED = {"light": "#e0860b", "dark": "#f2a23c"}
OUTLINE = {"light": "#101018", "dark": "#ffffff"}  # selected notes: the strongest contrast to the grid
PLAYHEAD = {"light": "#c0392b", "dark": "#ff6b5e"}  # the themes' "danger" red


def pitch_name(pitch: int) -> str:
    """Scientific pitch names, MIDI 60 = C4 (as most DAWs and MIDI tools print it)."""
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


def is_black(pitch: int) -> bool:
    return pitch % 12 in BLACK_KEYS


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved the fraction ``t`` towards ``b``."""
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3])))


@dataclass
class RollColors:
    dark: bool
    background: QColor
    black_row: QColor  # the rows of black keys, a shade off the white ones
    row_line: QColor
    octave_line: QColor
    grid_line: QColor
    beat_line: QColor
    bar_line: QColor
    text: QColor
    muted: QColor
    strip: QColor  # the ruler's and the corners' background
    user_note: QColor
    generated_note: QColor
    outline: QColor  # selected notes
    playhead: QColor
    loop: QColor
    band: QColor
    white_key: QColor
    black_key: QColor

    @classmethod
    def from_palette(cls, palette: QPalette) -> RollColors:
        """Colours from the widget's palette, which the app's theme sets (so a theme switch reaches us)."""
        base, text = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.WindowText)
        dark = base.lightness() < 128
        theme = "dark" if dark else "light"
        accent = palette.color(QPalette.ColorRole.Highlight)
        loop, band = QColor(accent), QColor(accent)
        loop.setAlpha(60 if dark else 45)
        band.setAlpha(50)
        return cls(
            dark=dark, background=base, black_row=_mix(base, QColor("#000000"), 0.16 if dark else 0.055),
            row_line=_mix(base, text, 0.06), octave_line=_mix(base, text, 0.22), grid_line=_mix(base, text, 0.07),
            beat_line=_mix(base, text, 0.15), bar_line=_mix(base, text, 0.38), text=text,
            muted=palette.color(QPalette.ColorRole.PlaceholderText), strip=palette.color(QPalette.ColorRole.Window),
            user_note=accent, generated_note=QColor(GENERATED[theme]), outline=QColor(OUTLINE[theme]),
            playhead=QColor(PLAYHEAD[theme]), loop=loop,
            band=band, white_key=QColor("#f7f7f9") if not dark else QColor("#d9d9e0"),
            black_key=QColor("#22232b") if not dark else QColor("#101116"),
        )

    def note_fill(self, generated: bool, velocity: int) -> QColor:
        """Louder is stronger: the note's colour mixed into the background by its velocity (in steps)."""
        shade = min(VELOCITY_SHADES - 1, velocity * VELOCITY_SHADES // 128)
        kind = self.generated_note if generated else self.user_note
        return _mix(self.background, kind, 0.4 + 0.6 * (shade + 1) / VELOCITY_SHADES)

    def note_border(self, generated: bool) -> QColor:
        return (self.generated_note if generated else self.user_note).darker(135 if self.dark else 125)


# -- the grid ------------------------------------------------------------------------------------------------
def time_lines(roll: PianoRoll, t0: float, t1: float) -> list[tuple[float, int]]:
    """(seconds, level) of the vertical lines in [t0, t1]: level 0 a bar, 1 a beat, 2 a grid step.

    Counted in quarter notes (the tempo's beat) by integer steps, so lines never drift off the notes."""
    meta = roll.meta
    num, den = meta.time_signature
    spb, px_per_quarter = meta.seconds_per_beat, roll.pixels_per_beat
    bar_q, beat_q = num * 4 / den, 4 / den
    step_q, level = bar_q, 0
    for candidate, candidate_level in sorted([(roll.grid, 2), (beat_q, 1)]):  # the finest that has room
        if candidate < bar_q and candidate * px_per_quarter >= MIN_LINE_GAP:
            step_q, level = candidate, candidate_level
            break
    while level == 0 and step_q * px_per_quarter < MIN_BAR_GAP:  # far out: every 2nd, 4th, … bar
        step_q *= 2
    lines = []
    for k in range(max(0, math.ceil(t0 / spb / step_q)), math.floor(t1 / spb / step_q) + 1):
        q = k * step_q
        line_level = 0 if _on(q, bar_q) else 1 if _on(q, beat_q) else level
        lines.append((q * spb, line_level))
    return lines


def _on(q: float, unit: float) -> bool:
    return abs(q / unit - round(q / unit)) < 1e-6


def paint_grid(roll: PianoRoll, painter: QPainter, rect: QRectF) -> None:
    """The viewport: rows, time lines, loop, notes, rubber band and playhead, for ``rect`` only."""
    colors = roll.colors
    painter.fillRect(rect, colors.background)
    top, bottom = roll.y_to_pitch(rect.top()), roll.y_to_pitch(rect.bottom())
    width, row = rect.width(), roll.row_height
    for pitch in range(bottom, top + 1):  # pitches grow upwards
        y = roll.pitch_to_y(pitch)
        if is_black(pitch):
            painter.fillRect(QRectF(rect.left(), y, width, row), colors.black_row)
        if pitch % 12 == 0:
            painter.fillRect(QRectF(rect.left(), y + row - 1, width, 1), colors.octave_line)
        elif row >= 8 and pitch % 12 in (5,):  # E/F: two white keys meet without a black one between
            painter.fillRect(QRectF(rect.left(), y + row - 1, width, 1), colors.row_line)
    t0, t1 = roll.x_to_time(rect.left()), roll.x_to_time(rect.right() + 1)
    pens = {0: colors.bar_line, 1: colors.beat_line, 2: colors.grid_line}
    for seconds, level in time_lines(roll, t0, t1):
        painter.fillRect(QRectF(round(roll.time_to_x(seconds)), rect.top(), 1, rect.height()), pens[level])
    loop = roll.loop_range()
    if loop is not None:
        x0, x1 = roll.time_to_x(loop[0]), roll.time_to_x(loop[1])
        painter.fillRect(QRectF(x0, rect.top(), x1 - x0, rect.height()), colors.loop)
    paint_notes(roll, painter, t0, t1, bottom, top)
    if roll.band is not None:
        painter.setPen(QPen(colors.user_note, 1))
        painter.setBrush(colors.band)
        painter.drawRect(roll.band)
    paint_playhead(roll, painter, rect.top(), rect.bottom() + 1)
    if roll.is_empty() and roll.band is None:  # an empty roll says how to start
        painter.setPen(colors.muted)
        painter.drawText(QRectF(roll.viewport().rect()), Qt.AlignmentFlag.AlignCenter, roll.placeholder)


def paint_notes(roll: PianoRoll, painter: QPainter, t0: float, t1: float, low: int, high: int) -> None:
    colors = roll.colors
    fills: dict[tuple[bool, int], list[QRectF]] = defaultdict(list)
    selected: list[QRectF] = []
    labels: list[tuple[QRectF, Note]] = []
    # roll.note_rect's arithmetic, inlined: this loop runs for every note in view.
    scale, left, row, top = roll.pixels_per_second, roll.time_to_x(0), roll.row_height, roll.pitch_to_y(127)
    for note, is_selected in roll.visible_notes(t0, t1, low, high):
        # Even a very short note shows: at least 2 px.
        rect = QRectF(left + note.start * scale, top + (127 - note.pitch) * row, max(note.duration * scale, 2.0), row)
        fills[(note.generated, note.velocity)].append(rect)
        if is_selected:
            selected.append(rect)
        if rect.width() >= 30 and roll.row_height >= 13:
            labels.append((rect, note))
    painter.save()
    by_brush: dict[tuple[bool, int], list[QRectF]] = defaultdict(list)
    for (generated, velocity), rects in fills.items():
        by_brush[(generated, min(VELOCITY_SHADES - 1, velocity * VELOCITY_SHADES // 128))].extend(rects)
    for (generated, shade), rects in by_brush.items():
        painter.setPen(QPen(colors.note_border(generated), 1))
        painter.setBrush(colors.note_fill(generated, shade * 128 // VELOCITY_SHADES))
        painter.drawRects([r.adjusted(0.5, 0.5, -0.5, -0.5) for r in rects])
    if selected:
        # A 2 px outline would hide a small note's colour (zoomed far out): those get 1 px.
        painter.setBrush(Qt.BrushStyle.NoBrush)
        big = [r.adjusted(1, 1, -1, -1) for r in selected if r.width() >= 10 and r.height() >= 8]
        small = [r.adjusted(0.5, 0.5, -0.5, -0.5) for r in selected if r.width() < 10 or r.height() < 8]
        for width, rects in ((2, big), (1, small)):
            if rects:
                painter.setPen(QPen(colors.outline, width))
                painter.drawRects(rects)
    if 0 < len(labels) < LABEL_NOTES_BELOW:
        font = QFont(painter.font())
        font.setPixelSize(max(8, min(11, int(roll.row_height) - 3)))
        painter.setFont(font)
        for rect, note in labels:
            fill = colors.note_fill(note.generated, note.velocity)
            painter.setPen(QColor("#15151c") if fill.lightness() > 150 else QColor("#ffffff"))
            painter.drawText(rect.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter, pitch_name(note.pitch))
    painter.restore()


def paint_playhead(roll: PianoRoll, painter: QPainter, top: float, bottom: float) -> None:
    seconds = roll.playhead()
    if seconds is not None:
        x = round(roll.time_to_x(seconds))
        painter.fillRect(QRectF(x - 0.5, top, 2, bottom - top), roll.colors.playhead)


def has_dragged(gesture: dict, pos: QPointF) -> bool:
    """Whether a press (``gesture["press"]``) has become a drag; once it has, it stays one."""
    if not gesture["dragged"] and (pos - gesture["press"]).manhattanLength() >= DRAG_START:
        gesture["dragged"] = True
    return gesture["dragged"]


def place_strips(roll: PianoRoll) -> None:
    """The keyboard, ruler, lane and corners in the viewport's margins, lined up with the grid."""
    view = roll.viewport().geometry()
    left, top, bottom = view.left() - KEYBOARD_WIDTH, view.top() - RULER_HEIGHT, view.bottom() + 1
    roll.keyboard.setGeometry(left, view.top(), KEYBOARD_WIDTH, view.height())
    roll.ruler.setGeometry(view.left(), top, view.width(), RULER_HEIGHT)
    roll.lane.setGeometry(view.left(), bottom, view.width(), LANE_HEIGHT)
    roll.corners[0].setGeometry(left, top, KEYBOARD_WIDTH, RULER_HEIGHT)
    roll.corners[1].setGeometry(left, bottom, KEYBOARD_WIDTH, LANE_HEIGHT)


def update_playhead(roll: PianoRoll, seconds: float) -> None:
    """Repaint just the slivers a playhead at ``seconds`` covers: it moves many times a second while playing."""
    x = round(roll.time_to_x(seconds))
    roll.viewport().update(QRect(x - 3, 0, 7, roll.viewport().height()))
    roll.lane.update(QRect(x - 3, 0, 7, roll.lane.height()))
    roll.ruler.update(QRect(x - 8, 0, 17, roll.ruler.height()))


# -- the strips ---------------------------------------------------------------------------------------------
class RollStrip(QWidget):
    """A strip beside the grid: paints from the roll's state and hands the pointer to the roll."""

    def __init__(self, roll: PianoRoll):
        super().__init__(roll)
        self.roll = roll
        self.setMouseTracking(True)

    def wheelEvent(self, event) -> None:
        self.roll.wheel(event, event.position())


class Keyboard(RollStrip):
    """The piano keys, one per row: black keys shorter and dark, C labelled with its octave."""

    def paintEvent(self, event) -> None:
        roll, colors = self.roll, self.roll.colors
        painter = QPainter(self)
        width, row = self.width(), roll.row_height
        painter.fillRect(self.rect(), colors.white_key)
        top, bottom = roll.y_to_pitch(0), roll.y_to_pitch(self.height())
        black_width = round(width * 0.6)
        font = QFont(painter.font())
        font.setPixelSize(max(8, min(11, int(row * 12 / 7) - 4)))
        painter.setFont(font)
        for pitch in range(bottom, top + 1):
            y = roll.pitch_to_y(pitch)
            if is_black(pitch):
                painter.fillRect(QRectF(0, y, black_width, row), colors.black_key)
                # The line between the two white keys either side of it runs through its middle, past its tip.
                painter.fillRect(QRectF(black_width, y + row / 2, width - black_width, 1), QColor(0, 0, 0, 60))
            elif pitch % 12 in (0, 5):  # C over B, F over E: white keys that meet without a black key between
                painter.fillRect(QRectF(0, y + row - 1, width, 1), QColor(0, 0, 0, 60 if pitch % 12 else 110))
            if pitch % 12 == 0 and row * 12 >= 24:
                painter.setPen(QColor("#44444f"))
                painter.drawText(QRectF(black_width - 6, y - 4, width - black_width + 2, row + 8),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, pitch_name(pitch))
        painter.fillRect(QRectF(width - 1, 0, 1, self.height()), colors.octave_line)


class Ruler(RollStrip):
    """Bar numbers and beat ticks; a drag sets the loop range, a click moves the playhead."""

    def paintEvent(self, event) -> None:
        roll, colors = self.roll, self.roll.colors
        painter = QPainter(self)
        height = self.height()
        painter.fillRect(self.rect(), colors.strip)
        loop = roll.loop_range()
        if loop is not None:
            x0, x1 = roll.time_to_x(loop[0]), roll.time_to_x(loop[1])
            solid = QColor(colors.user_note)
            solid.setAlpha(110)
            painter.fillRect(QRectF(x0, 0, x1 - x0, height), solid)
            painter.fillRect(QRectF(x0, 0, 2, height), colors.user_note)
            painter.fillRect(QRectF(x1 - 2, 0, 2, height), colors.user_note)
        t0, t1 = roll.x_to_time(0), roll.x_to_time(self.width())
        bar_seconds = roll.meta.seconds_per_bar
        bar_px = bar_seconds * roll.pixels_per_second
        label_every = 1
        while label_every * bar_px < 34:  # bar numbers need room; far out, every 2nd, 4th, … bar is named
            label_every *= 2
        font = QFont(painter.font())
        font.setPixelSize(11)
        painter.setFont(font)
        painter.setPen(colors.text)
        for seconds, level in time_lines(roll, t0, t1):
            x = round(roll.time_to_x(seconds))
            tick = {0: height, 1: height * 0.35, 2: height * 0.2}[level]
            painter.fillRect(QRectF(x, height - tick, 1, tick), colors.bar_line if level == 0 else colors.muted)
            bar = round(seconds / bar_seconds)
            if level == 0 and bar % label_every == 0:
                painter.drawText(QRectF(x + 4, 0, 60, height - 6), Qt.AlignmentFlag.AlignVCenter, str(bar + 1))
        painter.fillRect(QRectF(0, height - 1, self.width(), 1), colors.octave_line)
        seconds = roll.playhead()
        if seconds is not None:
            x = roll.time_to_x(seconds) + 0.5
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colors.playhead)
            painter.drawPolygon(QPolygonF([QPointF(x - 6, height - 10), QPointF(x + 6, height - 10),
                                           QPointF(x, height)]))

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.roll.gesture is None:
            self.roll.gesture = {"kind": "loop", "press": event.position(), "dragged": False}

    def mouseMoveEvent(self, event) -> None:
        roll, gesture = self.roll, self.roll.gesture
        if gesture is None or gesture["kind"] != "loop" or not has_dragged(gesture, event.position()):
            return
        step = roll.snap_step(event)
        start = max(0.0, snap(roll.x_to_time(gesture["press"].x()), step))
        end = max(0.0, snap(roll.x_to_time(event.position().x()), step))
        if abs(end - start) > 1e-9:
            roll.set_loop_range(start, end)

    def mouseReleaseEvent(self, event) -> None:
        gesture = self.roll.gesture
        if gesture is not None and gesture["kind"] == "loop":
            self.roll.gesture = None
            if not gesture["dragged"]:
                self.roll.seek(max(0.0, self.roll.x_to_time(event.position().x())))

    def mouseDoubleClickEvent(self, event) -> None:
        self.roll.clear_loop_range()


class VelocityLane(RollStrip):
    """A stem per note at its start, as tall as its velocity; drag a stem's head to change it."""

    def velocity_to_y(self, velocity: float) -> float:
        top, bottom = LANE_PAD[0], self.height() - LANE_PAD[1]
        return bottom - (bottom - top) * (velocity - 1) / 126

    def pixels_per_velocity(self) -> float:
        return (self.height() - sum(LANE_PAD)) / 126

    def stem_x(self, seconds: float) -> float:
        return round(self.roll.time_to_x(seconds)) + 1.5

    def paintEvent(self, event) -> None:
        roll, colors = self.roll, self.roll.colors
        painter = QPainter(self)
        painter.fillRect(self.rect(), colors.background)
        painter.fillRect(QRectF(0, 0, self.width(), 1), colors.octave_line)
        t0, t1 = roll.x_to_time(0), roll.x_to_time(self.width())
        for seconds, level in time_lines(roll, t0, t1):
            if level < 2:
                color = colors.bar_line if level == 0 else colors.grid_line
                painter.fillRect(QRectF(round(roll.time_to_x(seconds)), 1, 1, self.height()), color)
        for velocity in (64, 127):
            painter.fillRect(QRectF(0, round(self.velocity_to_y(velocity)), self.width(), 1), colors.row_line)
        stems: dict[tuple[bool, bool], list[QLineF]] = defaultdict(list)
        heads: dict[tuple[bool, bool], list[QRectF]] = defaultdict(list)
        bottom, origin, scale = self.height() - 1, roll.time_to_x(0), roll.pixels_per_second
        for note, selected in roll.visible_notes(t0, t1, 0, 127):
            x, y = round(origin + note.start * scale) + 1.5, self.velocity_to_y(note.velocity)  # stem_x, inlined
            stems[(note.generated, selected)].append(QLineF(x, bottom, x, y))
            heads[(note.generated, selected)].append(QRectF(x - 3, y - 2, 6, 4))
        for (generated, selected), lines in stems.items():
            color = colors.generated_note if generated else colors.user_note
            painter.setPen(QPen(color, 2 if selected else 1))
            painter.drawLines(lines)
            painter.setPen(QPen(colors.outline if selected else color.darker(130), 1))
            painter.setBrush(color)
            painter.drawRects(heads[(generated, selected)])
        paint_playhead(roll, painter, 1, self.height())

    def stem_at(self, pos: QPointF) -> Note | None:
        """The note whose stem is under ``pos``: in a chord, a selected one first, then the head nearest in height."""
        roll = self.roll
        near = [(not selected, abs(self.velocity_to_y(note.velocity) - pos.y()), note_order(note), note)
                for note, selected in roll.visible_notes(roll.x_to_time(pos.x() - 5), roll.x_to_time(pos.x() + 5), 0, 127)
                if abs(self.stem_x(note.start) - pos.x()) <= 4]
        return min(near)[-1] if near else None

    def mousePressEvent(self, event) -> None:
        roll = self.roll
        roll.setFocus(Qt.FocusReason.MouseFocusReason)
        note = self.stem_at(event.position())
        if note is None or event.button() != Qt.MouseButton.LeftButton or roll.gesture is not None:
            return
        if not roll.is_selected(note):
            additive = event.modifiers() & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)
            roll.select_notes([*roll.selected_notes(), note] if additive else [note])
        roll.gesture = {"kind": "velocity", "press": event.position(), "notes": roll.selected_notes()}

    def mouseMoveEvent(self, event) -> None:
        """Relative, as in a DAW: the drag adds the same amount to every selected note, so a phrase keeps its shape."""
        roll, gesture = self.roll, self.roll.gesture
        if gesture is not None and gesture["kind"] == "velocity" and not roll.read_only:
            change = round((gesture["press"].y() - event.position().y()) / self.pixels_per_velocity())
            roll.show_preview(gesture["notes"], revoiced(gesture["notes"], change))

    def mouseReleaseEvent(self, event) -> None:
        gesture = self.roll.gesture
        if gesture is not None and gesture["kind"] == "velocity":
            self.roll.gesture = None
            self.roll.commit_preview("Change velocity")


class Corner(QWidget):
    """The squares left of the ruler and of the velocity lane; the lower one says what the lane is."""

    def __init__(self, roll: PianoRoll, label: str = ""):
        super().__init__(roll)
        self.roll, self.label = roll, label

    def paintEvent(self, event) -> None:
        colors = self.roll.colors
        painter = QPainter(self)
        painter.fillRect(self.rect(), colors.strip)
        painter.fillRect(QRectF(self.width() - 1, 0, 1, self.height()), colors.octave_line)
        if self.label:
            painter.fillRect(QRectF(0, 0, self.width(), 1), colors.octave_line)
            font = QFont(painter.font())
            font.setPixelSize(10)
            painter.setFont(font)
            painter.setPen(colors.muted)
            painter.drawText(QRectF(0, 4, self.width() - 5, 16), Qt.AlignmentFlag.AlignRight, self.label)
        else:
            painter.fillRect(QRectF(0, self.height() - 1, self.width(), 1), colors.octave_line)
