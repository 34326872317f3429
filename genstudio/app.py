"""The one entry point of the packaged app: a subcommand (or ``--selftest``) runs the CLI headless,
no arguments open the window. The frozen app re-launches itself this way to train in a child process.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--selftest":
        argv[0] = "selftest"
    if argv:
        from genstudio.cli import main as cli_main

        return cli_main(argv)
    from genstudio.ui.app import run_app

    return run_app()


if __name__ == "__main__":
    sys.exit(main())
