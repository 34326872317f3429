"""Every modal question the app asks, in one place, so tests can answer them (monkeypatch these).

Messages are sentences for a person: a GenStudioError's text as is, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget


def warn(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.warning(parent, title, text)


def inform(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


def confirm(parent: QWidget | None, title: str, text: str, ok_label: str = "OK") -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    ok = box.addButton(ok_label, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is ok


def choose(parent: QWidget | None, title: str, text: str, options: list[str]) -> str | None:
    """One of ``options`` (button labels, the first is the default), or None for Cancel."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    buttons = {box.addButton(label, QMessageBox.ButtonRole.AcceptRole): label for label in options}
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(next(iter(buttons)))
    box.exec()
    return buttons.get(box.clickedButton())


def ask_text(parent: QWidget | None, title: str, label: str, default: str = "") -> str | None:
    text, ok = QInputDialog.getText(parent, title, label, text=default)
    return text if ok else None


def open_file(parent: QWidget | None, title: str, filters: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, title, "", filters)
    return path or None


def open_files(parent: QWidget | None, title: str, filters: str) -> list[str]:
    paths, _ = QFileDialog.getOpenFileNames(parent, title, "", filters)
    return list(paths)


def save_file(parent: QWidget | None, title: str, suggested: str, filters: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, filters)
    return path or None


def open_folder(parent: QWidget | None, title: str, start: str = "") -> str | None:
    path = QFileDialog.getExistingDirectory(parent, title, start)
    return path or None


def keep_changes(parent: QWidget | None, title: str, text: str, keep: str, drop: str,
                 do_keep: Callable[[], bool]) -> bool:
    """Whether unsaved work may be replaced: the user keeps it first (``do_keep`` must succeed), lets it
    go, or cancels (False)."""
    answer = choose(parent, title, text, [keep, drop])
    return do_keep() if answer == keep else answer == drop
