"""Light and dark looks: one stylesheet template, two colour tables (resources/theme/*.toml).

The template's ``@name`` placeholders take the table's colours; the same colours set the QPalette,
so widgets the stylesheet does not reach (dialogs, pyqtgraph) match.
"""

from __future__ import annotations

import re
import tomllib

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from genstudio.core.paths import resources_dir

_PALETTE_ROLES = {
    "window": QPalette.ColorRole.Window, "text": QPalette.ColorRole.WindowText,
    "base": QPalette.ColorRole.Base, "alt_base": QPalette.ColorRole.AlternateBase,
    "button": QPalette.ColorRole.Button, "highlight": QPalette.ColorRole.Highlight,
    "highlight_text": QPalette.ColorRole.HighlightedText, "muted": QPalette.ColorRole.PlaceholderText,
    "tooltip": QPalette.ColorRole.ToolTipBase, "link": QPalette.ColorRole.Link,
}


def theme_colors(name: str) -> dict[str, str]:
    with open(resources_dir() / "theme" / f"{name}.toml", "rb") as fh:
        return tomllib.load(fh)["colors"]


def stylesheet(colors: dict[str, str]) -> str:
    template = (resources_dir() / "theme" / "style.qss").read_text(encoding="utf-8")
    # Longest names first, so "@text" does not eat the start of "@text_on_accent".
    for key in sorted(colors, key=len, reverse=True):
        template = template.replace(f"@{key}", colors[key])
    if leftover := re.findall(r"@[a-z_]+", template):
        raise ValueError(f"theme is missing colours: {sorted(set(leftover))}")
    return template


def apply_theme(app: QApplication, name: str) -> dict[str, str]:
    colors = theme_colors(name)
    app.setStyle("Fusion")
    palette = QPalette()
    for key, role in _PALETTE_ROLES.items():
        palette.setColor(role, QColor(colors[key]))
    palette.setColor(QPalette.ColorRole.Text, QColor(colors["text"]))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(colors["text"]))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor(colors["text"]))
    for group_role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, group_role, QColor(colors["muted"]))
    app.setPalette(palette)
    app.setStyleSheet(stylesheet(colors))
    app.setProperty("genstudio_theme", name)
    return colors


def current_colors() -> dict[str, str]:
    app = QApplication.instance()
    return theme_colors(app.property("genstudio_theme") or "light") if app else theme_colors("light")
