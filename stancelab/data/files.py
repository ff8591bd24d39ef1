"""Output files appear complete or not at all."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stancelab.errors import UserError


def check_output_folder(path: Path | str, inputs=(), folders=(), need: int = 0) -> None:
    """Fail before any work is done when an output file could not be written at the end: its folder
    is missing or not writable, it is a folder, it is one of the ``inputs`` files or inside one of the
    ``folders`` (the model, the model cache), or the disk lacks ``need`` bytes."""
    path = Path(path)
    folder = path.parent.resolve()
    if not folder.is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a file name")
    target = path.resolve()
    for other in inputs:
        if target == Path(other).resolve():
            raise UserError(f"{path}: is the input {other}; write the output to another file")
    for other in folders:
        if Path(other).resolve() in target.parents:
            raise UserError(f"{path}: is inside {other}, which must not change; write the output elsewhere")
    try:  # a real file, not os.access: root passes access() on a read-only file system too
        with tempfile.TemporaryFile(dir=folder, prefix=f".{path.name}.probe."):
            pass
    except OSError as exc:
        raise UserError(f"{path}: folder {path.parent} is not writable ({exc.strerror or exc})") from None
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if need and free < need:
        raise UserError(f"{path}: about {need >> 20} MiB needed, only {free >> 20} MiB free in {path.parent}")


def user_mode() -> int:
    """The permissions an ordinary ``open()`` gives a new file under the user's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_output(path: Path | str, newline: str | None = None) -> Iterator:
    """Write text to a temporary file beside ``path`` and rename it into place on success only; the
    temporary file is removed on any failure or interruption. The file gets the user's usual mode."""
    path = Path(path)
    check_output_folder(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
        os.chmod(tmp, user_mode())
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def staged(paths) -> Iterator[list[Path]]:
    """Several outputs, all or nothing, for writers that take a path: each writes to its own
    temporary path beside its target (same suffix), and all are renamed into place only when every
    one of them was written; on any failure none is, and the temporary files are removed."""
    paths = [Path(p) for p in paths]
    for path in paths:
        check_output_folder(path)
    temps = [path.with_name(f".{path.stem}.{os.getpid()}.staged{path.suffix}") for path in paths]
    try:
        yield temps
        for tmp in temps:
            if tmp.exists():
                os.chmod(tmp, user_mode())
        for tmp, path in zip(temps, paths):
            if tmp.exists():
                os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"{', '.join(map(str, paths))}: cannot write ({exc.strerror or exc})") from None
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def write_between_markers(path: Path, start: str, end: str, table: str) -> None:
    """Replace what stands between the ``start`` and ``end`` marker lines of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise UserError(f"{path}: markers {start} / {end} not found")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    path.write_text(pattern.sub(lambda _: f"{start}\n{table}\n{end}", text), encoding="utf-8")


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or CR) gets
    a leading apostrophe, as OWASP advises for CSV files opened in spreadsheets. Numbers pass as they are."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA) else value
