"""Qt-free core: registry, events, model library, devices and datasets. Never imports PySide6."""
