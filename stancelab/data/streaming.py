"""Read quotes from a large CSV or JSONL file in chunks, so scoring a million quotes runs in bounded
memory (``predict.py --input``). The same checks and messages as ``predict.read_records``."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from stancelab.data.records import json_records, open_binary
from stancelab.errors import UserError, located

CHUNK = 5000


def _lines(handle, path: Path) -> Iterator[str]:
    """Decoded lines of a binary file; a wrong encoding names the physical line it is on."""
    for number, raw in enumerate(handle, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise located(path, f"not valid utf-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                          "save the file as UTF-8", line=number) from None
        yield line[1:] if number == 1 and line.startswith("\ufeff") else line


def check_input(path: Path, size: int = CHUNK) -> None:
    """Fail early, before a model is loaded: a missing file, an unsupported type, or a bad row within
    the first chunk (empty file, wrong encoding, malformed CSV or JSON, missing columns). Rows further
    down are checked as they stream; the output is still complete or absent."""
    next(iter(record_chunks(path, size)), None)


def _csv_chunks(path: Path, size: int) -> Iterator[tuple[list[dict], list[int]]]:
    required, optional = ("text", "target"), ("actor", "id")
    # the csv module's default field limit (128 KiB) would call one long quote "malformed"
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    with open_binary(path) as handle:
        reader = csv.reader(_lines(handle, path), strict=True)
        start = 1
        try:
            header = [h.strip() for h in next(reader, [])]
            if not header:
                raise UserError(f"{path}: empty file, expected a header with columns {', '.join(required)}")
            missing = [c for c in required if c not in header]
            if missing:
                raise located(path, f"missing column(s) {', '.join(missing)}; found {', '.join(header)}", line=1)
            dupes = sorted({h for h in header if header.count(h) > 1})
            if dupes:
                raise located(path, f"duplicate column(s) {', '.join(dupes)}", line=1)
            keep = [(i, c) for i, c in enumerate(header) if c in required or c in optional]
            records, lines = [], []
            start = reader.line_num + 1
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    start = reader.line_num + 1
                    continue
                if len(row) != len(header):
                    raise located(path, f"expected {len(header)} fields, found {len(row)}", line=start)
                if any("\x00" in value for value in row):
                    raise located(path, "contains NUL bytes: not a text CSV file", line=start)
                records.append({c: row[i] for i, c in keep})
                lines.append(start)
                start = reader.line_num + 1
                if len(records) >= size:
                    yield records, lines
                    records, lines = [], []
        except csv.Error as exc:
            raise located(path, f"malformed CSV ({exc}); check for an unterminated quote", line=start) from None
    if records:
        yield records, lines


def _jsonl_chunks(path: Path, size: int) -> Iterator[tuple[list[dict], list[int]]]:
    records, lines, seen = [], [], False
    with open_binary(path) as handle:
        for number, record in json_records(enumerate(_lines(handle, path), 1), path, "text and target"):
            records.append(record)
            lines.append(number)
            seen = True
            if len(records) >= size:
                yield records, lines
                records, lines = [], []
    if not seen:
        raise UserError(f"{path}: empty file, expected JSON lines with text and target")
    if records:
        yield records, lines


def record_chunks(path: Path, size: int = CHUNK) -> Iterator[tuple[list[dict], list[int]]]:
    """Chunks of (records, line numbers) from a .csv (text,target[,actor,id]) or .jsonl file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_chunks(path, size)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_chunks(path, size)
    raise UserError(f"{path}: unsupported input type '{suffix}'; use .csv or .jsonl")


def count_lines(path: Path) -> int:
    """Lines in a file (an upper bound on its records, for the progress bar), read in blocks."""
    count = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return count
