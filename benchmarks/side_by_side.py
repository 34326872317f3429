"""What the side-by-side benchmarks share: a timed child process per side, answering one JSON line per
request, asked in alternating order so machine noise hits both sides alike; and the JSON result."""

from __future__ import annotations

import json
import subprocess
import sys


class Child:
    """``python <script> <argv...>`` kept running; its first JSON line is its ``info``."""

    def __init__(self, argv: list[str], cwd: str):
        self.proc = subprocess.Popen([sys.executable, *argv], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.info, self.runs = self.ask(""), []

    def ask(self, command: str) -> dict:  # send a line (or nothing), read one JSON reply
        self.proc.stdin.write(command)
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"child {self.proc.args[1:5]} died (see stderr above)")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def interleaved(children: list[Child], repeats: int) -> None:
    """Ask each child for a timed block ``repeats`` times, in the order A B, B A, A B, ..."""
    for r in range(repeats):
        for c in children if r % 2 == 0 else children[::-1]:
            c.runs.append(c.ask("go\n"))
    for c in children:
        c.close()


def write_result(result: dict, out: str | None) -> None:
    """Print the JSON result, and write it to ``out`` too when given."""
    text = json.dumps(result, indent=1)
    print(text)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
