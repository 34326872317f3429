"""Everything that imports PySide6. A thin face over genstudio.core and genstudio.tasks."""
