"""PyInstaller entry script for the one-folder GenStudio app.

``GenStudio`` opens the window; ``GenStudio --selftest`` / ``GenStudio train ...`` / ``GenStudio archs``
run headless through the CLI (see ``genstudio.app.main``). The app trains by re-launching this same
executable with ``train ...`` (``genstudio.core.launch.trainer_command``).
"""

import multiprocessing
import sys

if __name__ == "__main__":
    # A no-op unless this process was spawned by multiprocessing (Windows/macOS "spawn" start method,
    # e.g. DataLoader workers); then it runs the worker and exits instead of starting the app again.
    multiprocessing.freeze_support()

    from genstudio.app import main

    sys.exit(main())
