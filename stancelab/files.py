"""Output files appear complete or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stancelab.errors import UserError


@contextmanager
def atomic_output(path: Path | str, newline: str | None = None) -> Iterator:
    """Write text to a temporary file beside ``path`` and rename it into place on success only."""
    path = Path(path)
    if not path.parent.resolve().is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
