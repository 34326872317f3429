"""The compare view: the swipe divider follows a real mouse drag, and every painted pixel comes from the
right picture at the right place (the original left of the divider, the result right of it)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, QRect, QSize, Qt  # noqa: E402

from genstudio.ui.widgets.compare_view import CompareView, fit  # noqa: E402

W, H = 64, 48


def ramp(channel: int) -> np.ndarray:
    """A W×H picture whose ``channel`` grows 4 per column (the others 0): a pixel tells its column."""
    image = np.zeros((H, W, 3), np.uint8)
    image[..., channel] = (np.arange(W) * 4)[None, :]
    return image


@pytest.fixture
def view(qtbot):
    view = CompareView("Select an image")
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_images(ramp(0), ramp(2), ("Original", "Translated"))
    return view


def column_colours(view: CompareView, rect: QRect, row: float = 0.75) -> list[tuple[int, int, int]]:
    """The colour painted at the centre of each picture column, on a row clear of badges and handle."""
    shot = view.grab().toImage()
    scale = rect.width() / W
    y = rect.top() + int(rect.height() * row)
    colours = []
    for column in range(W):
        c = shot.pixelColor(rect.left() + int((column + 0.5) * scale), y)
        colours.append((c.red(), c.green(), c.blue()))
    return colours


def expected(column: int, divider_column: float) -> tuple[int, int, int]:
    return (column * 4, 0, 0) if column < divider_column else (0, 0, column * 4)


def test_a_small_picture_is_enlarged_by_a_whole_factor_and_centred():
    assert fit(QSize(64, 48), QRect(0, 0, 400, 280)) == QRect(40, 20, 320, 240)  # 5×, not 5.83×
    assert fit(QSize(1000, 500), QRect(0, 0, 400, 300)) == QRect(0, 50, 400, 200)  # large: scaled down


def test_the_divider_follows_a_mouse_drag_and_each_side_shows_its_own_picture(view, qtbot):
    rect = view.picture_rects()[0]
    assert rect.size() == QSize(W * 5, H * 5)
    moves = []
    view.divider_moved.connect(moves.append)
    y = rect.top() + rect.height() // 2
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(rect.left() + rect.width() // 2, y))
    for x in (0.45, 0.35, 0.25):
        qtbot.mouseMove(view, QPoint(rect.left() + int(rect.width() * x), y))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(rect.left() + rect.width() // 4, y))
    assert view.divider == pytest.approx(0.25, abs=0.005) and len(moves) >= 3
    colours = column_colours(view, rect)
    divider_column = W * view.divider
    wrong = [c for c in range(W) if abs(c + 0.5 - divider_column) > 1 and colours[c] != expected(c, divider_column)]
    assert not wrong, f"columns painted from the wrong picture or place: {wrong[:8]}"
    assert colours[5] == (20, 0, 0) and colours[40] == (0, 0, 160)

    qtbot.mouseMove(view, QPoint(rect.left() + int(rect.width() * 0.8), y))  # no button held: no change
    assert view.divider == pytest.approx(0.25, abs=0.005)


def test_dragging_past_the_edges_clamps_and_the_keys_nudge(view, qtbot):
    rect = view.picture_rects()[0]
    y = rect.center().y()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(rect.center()))
    qtbot.mouseMove(view, QPoint(rect.right() + 50, y))
    assert view.divider == 1.0
    qtbot.mouseMove(view, QPoint(max(rect.left() - 30, 0), y))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(2, y))
    assert view.divider == 0.0
    assert all(colour == (0, 0, c * 4) for c, colour in enumerate(column_colours(view, rect)[1:], start=1))
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.divider == pytest.approx(0.05)


def test_side_by_side_shows_both_whole_pictures(view):
    view.set_mode("side")
    left, right = view.picture_rects()
    assert left.right() < right.left() and left.size() == right.size()
    assert column_colours(view, left, 0.5)[::7] == [(c * 4, 0, 0) for c in range(0, W, 7)]
    assert column_colours(view, right, 0.5)[::7] == [(0, 0, c * 4) for c in range(0, W, 7)]


def test_without_a_result_only_the_original_is_shown_and_without_pictures_the_hint(view, qtbot):
    view.set_images(ramp(0), None)
    rect = view.picture_rects()[0]
    assert column_colours(view, rect)[50] == (200, 0, 0)  # right of the divider too: nothing to reveal
    view.clear()
    assert view.picture_rects() == []
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))  # nothing to drag: no error
    assert not view.dragging
