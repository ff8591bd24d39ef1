"""One reader for users' files: bytes, text, CSV records and JSON lines, each error one line that
names the file, the line and the field."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from stancelab.errors import UserError, located


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_binary(path: Path | str):
    """Open a user's file for reading bytes; a missing file, a folder or an unreadable file is a
    one-line error naming it."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, expected a file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """Read a whole text file; a wrong encoding is reported with the line it happens on."""
    with open_binary(path) as handle:
        raw = handle.read()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise located(path, f"not valid {encoding} text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                      "save the file as UTF-8", line=line) from None


def json_records(numbered_lines: Iterable[tuple[int, str]], path: Path | str,
                 expected: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON-lines file; a line that is not a JSON
    object is an error naming the file and line. ``expected`` says what an object should hold."""
    for number, line in numbered_lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise UserError(f"{path}:{number}: expected a JSON object with {expected}")
        yield number, record


def read_csv_records(path: Path, required: tuple[str, ...], *, encoding: str = "utf-8",
                     optional: tuple[str, ...] = ()) -> pd.DataFrame:
    """Parse a CSV strictly with the ``csv`` module (no NA guessing: every value is a string).

    Errors name the file, the line and the field. The returned frame has a ``_line`` column with
    the physical line each record starts on.
    """
    text = read_text(path, encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise UserError(f"{path}: empty file, expected a header with columns {', '.join(required)}")
    if "\x00" in text:
        raise located(path, "contains NUL bytes: not a text CSV file", line=text[: text.index("\x00")].count("\n") + 1)
    # The csv module's default field limit (128 KiB) would turn one long text into a misleading
    # "malformed CSV" error; a field can be as long as the file.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise located(path, f"malformed CSV header ({exc})", line=1) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise located(path, f"missing column(s) {', '.join(missing)}; found {', '.join(header)}", line=1)
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise located(path, f"duplicate column(s) {', '.join(dupes)}", line=1)
    keep = [c for c in header if c in required or c in optional]
    rows, lines = [], []
    start = reader.line_num + 1
    try:
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                start = reader.line_num + 1
                continue
            if len(record) != len(header):
                raise located(path, f"expected {len(header)} fields, found {len(record)}", line=start)
            rows.append(dict(zip(header, record)))
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise located(path, f"malformed CSV ({exc}); check for an unterminated quote", line=start) from None
    frame = pd.DataFrame(rows, columns=header, dtype=object)[keep] if rows else pd.DataFrame(columns=keep, dtype=object)
    frame["_line"] = lines
    return frame


# --------------------------------------------------------------------------- validation
