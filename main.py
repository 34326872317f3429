"""Open the GenStudio window: ``python main.py`` (``make run`` does this in the project's venv)."""

import sys

from genstudio.app import main

if __name__ == "__main__":
    sys.exit(main())
