"""Output files appear complete or not at all."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stancelab.errors import UserError


def check_output_folder(path: Path | str) -> None:
    """Fail before any work is done when an output file could not be written at the end."""
    path = Path(path)
    if not path.parent.resolve().is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a file name")


@contextmanager
def atomic_output(path: Path | str, newline: str | None = None) -> Iterator:
    """Write text to a temporary file beside ``path`` and rename it into place on success only."""
    path = Path(path)
    check_output_folder(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_between_markers(path: Path, start: str, end: str, table: str) -> None:
    """Replace what stands between the ``start`` and ``end`` marker lines of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise UserError(f"{path}: markers {start} / {end} not found")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    path.write_text(pattern.sub(lambda _: f"{start}\n{table}\n{end}", text), encoding="utf-8")
