"""Writing a file so that a crash, a full disk or a killed process never leaves it half-written."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_atomic(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a hidden temporary file beside it, flushed to disk and then
    renamed over ``path``: readers see the old file or the new one, never a part. On any failure the
    temporary file is removed, an earlier file at ``path`` is untouched, and the error (OSError for a
    full disk or a read-only folder) propagates to the caller, who words it for the user."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
