"""One reader for users' files: bytes, text, CSV rows and JSON lines, streamed, each error one line
that names the file, the line and the field.

Every CSV and JSON-lines file the project reads (schema CSVs, benchmark files, quotes to score,
predictions to evaluate) goes through :func:`csv_rows` or :func:`jsonl_rows`; whole-file readers
(:func:`read_csv_records`) and the chunked one (:func:`record_chunks`) are built on them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from stancelab.errors import UserError, located

CHUNK = 5000
# Stated limits (README, "Limits"): past them a file is refused with a one-line error, before it can
# take the machine's memory or time.
MAX_LINE_BYTES = 8 << 20      # one physical line of a CSV or JSON-lines file
MAX_COLUMNS = 1000            # columns in a CSV header
MAX_TEXT_CHARS = 1_000_000    # one text (a quote, a sentence)
MAX_JSON_DEPTH = 64           # nesting of one JSON line
_LONE_CR = re.compile(r"(?<=\r)(?!\n)")  # a line break of old Mac files (SemEval's CSVs use them)


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


def _decoded(handle, path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """``(number, line)`` for the physical lines of a binary file (split at \\n only), decoded, a BOM
    dropped from the first; a wrong encoding names the line it is on."""
    for number, raw in enumerate(_bounded(handle, path), 1):
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise located(path, f"not valid {encoding} text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                          "save the file as UTF-8", line=number) from None
        yield number, line[1:] if number == 1 and line.startswith("\ufeff") else line


def _lines(handle, path: Path, encoding: str = "utf-8") -> Iterator[str]:
    """Decoded lines of a binary file, each with its line break (\\n, \\r\\n or a lone \\r)."""
    for _, line in _decoded(handle, path, encoding):
        pieces = _LONE_CR.split(line) if "\r" in line[:-2] else [line]
        yield from (p for p in pieces if p)


def _bounded(handle, path: Path) -> Iterator[bytes]:
    """Physical lines of a binary file, refusing one longer than :data:`MAX_LINE_BYTES` before reading
    the rest of it."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise located(path, f"a line longer than {MAX_LINE_BYTES >> 20} MiB (the limit)", line=number)
        yield raw


def _json(line: str, path: Path, number: int):
    """One JSON value, with its nesting bounded: a line that is too deep or holds an integer too long
    to convert is an error naming the line, never a RecursionError or ValueError."""
    depth = deepest = 0
    quoted = escaped = False
    brackets = line.count("[") + line.count("{")
    for char in line if brackets > MAX_JSON_DEPTH else "":  # only a line with that many brackets is scanned
        if quoted:
            escaped, quoted = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            quoted = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > MAX_JSON_DEPTH:
        raise located(path, f"JSON nested {deepest} levels deep (at most {MAX_JSON_DEPTH})", line=number)
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise located(path, f"invalid JSON ({exc.msg} at column {exc.colno})", line=number) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise located(path, f"invalid JSON ({str(exc).splitlines()[0][:120]})", line=number) from None


def csv_rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = (), *,
             encoding: str = "utf-8") -> Iterator[tuple[dict[str, str], int]]:
    """``(row, line)`` for every non-blank CSV record: the ``required`` and ``optional`` columns the
    header has, every value a string (no NA guessing). Strict: a missing or duplicate column, a
    record with the wrong number of fields, a NUL byte or broken quoting is an error naming the line."""
    # the csv module's default field limit (128 KiB) would call one long quote "malformed"
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    with open_binary(path) as handle:
        reader = csv.reader(_lines(handle, path, encoding), strict=True)
        start = 1
        try:
            header = [h.strip() for h in next(reader, [])]
            if not header:
                raise UserError(f"{path}: empty file, expected a header with columns {', '.join(required)}")
            if len(header) > MAX_COLUMNS:
                raise located(path, f"{len(header)} columns (at most {MAX_COLUMNS})", line=1)
            missing = [c for c in required if c not in header]
            if missing:
                raise located(path, f"missing column(s) {', '.join(missing)}; found {', '.join(header[:20])}"
                              + (" ..." if len(header) > 20 else ""), line=1)
            dupes = sorted(h for h, n in Counter(header).items() if n > 1)
            if dupes:
                raise located(path, f"duplicate column(s) {', '.join(dupes[:20])}", line=1)
            keep = [(i, c) for i, c in enumerate(header) if c in required or c in optional]
            start = reader.line_num + 1
            for row in reader:
                if row and not (len(row) == 1 and not row[0].strip()):
                    if len(row) != len(header):
                        raise located(path, f"expected {len(header)} fields, found {len(row)}", line=start)
                    if any("\x00" in value for value in row):
                        raise located(path, "contains NUL bytes: not a text CSV file", line=start)
                    yield {c: row[i] for i, c in keep}, start
                start = reader.line_num + 1
        except csv.Error as exc:
            raise located(path, f"malformed CSV ({exc}); check for an unterminated quote", line=start) from None


def jsonl_rows(path: Path, expected: str, *, encoding: str = "utf-8") -> Iterator[tuple[dict, int]]:
    """``(object, line)`` for every non-blank line of a JSON-lines file; a line that is not a JSON object
    is an error naming the file and line, and so is a file without any. ``expected`` says what an object
    should hold. Only \\n ends a JSON line: ``json.dumps(ensure_ascii=False)`` leaves U+2028, a lone \\r ...
    inside strings."""
    seen = False
    with open_binary(path) as handle:
        for number, line in _decoded(handle, path, encoding):
            if not line.strip():
                continue
            record = _json(line, path, number)
            if not isinstance(record, dict):
                raise located(path, f"expected a JSON object with {expected}", line=number)
            seen = True
            yield record, number
    if not seen:
        raise UserError(f"{path}: empty file, expected JSON lines with {expected}")


def read_csv_records(path: Path, required: tuple[str, ...], *, encoding: str = "utf-8",
                     optional: tuple[str, ...] = ()) -> pd.DataFrame:
    """A whole CSV as a frame of strings (:func:`csv_rows`), with a ``_line`` column: the physical line
    each record starts on."""
    rows = list(csv_rows(path, required, optional, encoding=encoding))
    frame = pd.DataFrame([r for r, _ in rows], dtype=object) if rows else pd.DataFrame(columns=list(required),
                                                                                        dtype=object)
    frame["_line"] = [line for _, line in rows]
    return frame


def record_chunks(path: Path, size: int = CHUNK) -> Iterator[tuple[list[dict], list[int]]]:
    """Chunks of (records, line numbers) of quotes to score: a .csv (text,target[,actor,id]) or .jsonl."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = csv_rows(path, ("text", "target"), ("actor", "id"))
    elif suffix in (".jsonl", ".ndjson"):
        rows = jsonl_rows(path, "text and target")
    else:
        raise UserError(f"{path}: unsupported input type '{suffix}'; use .csv or .jsonl")
    records, lines, seen = [], [], False
    for record, line in rows:
        records.append(record)
        lines.append(line)
        seen = True
        if len(records) >= size:
            yield records, lines
            records, lines = [], []
    if records:
        yield records, lines
    if not seen:  # a header and nothing else, like an empty JSON-lines file: nothing to score
        raise UserError(f"{path}: no records, expected rows with text and target")


def read_records(path: Path) -> tuple[list[dict], list[int]]:
    """All records of a quotes file and their line numbers (see :func:`record_chunks`)."""
    records, lines = [], []
    for chunk, numbers in record_chunks(path, 1 << 62):
        records += chunk
        lines += numbers
    return records, lines


def check_input(path: Path, size: int = CHUNK) -> None:
    """Fail early, before a model is loaded: a missing file, an unsupported type, or a bad row within
    the first chunk (empty file, wrong encoding, malformed CSV or JSON, missing columns). Rows further
    down are checked as they stream; the output is still complete or absent."""
    next(iter(record_chunks(path, size)), None)


def count_lines(path: Path) -> int:
    """Lines in a file (an upper bound on its records, for the progress bar), read in blocks."""
    count = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


MAX_YAML_NODES = 10_000  # values in a YAML file once its aliases are expanded


def load_yaml(text: str, source) -> object:
    """``yaml.safe_load`` that refuses a document whose aliases expand past :data:`MAX_YAML_NODES` values
    (a "billion laughs" file of a few hundred bytes), counted on the composed graph before anything is
    built. YAML syntax errors are raised as they are, for the caller to place."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        sizes: dict[int, int] = {}

        def size(n) -> int:
            if id(n) not in sizes:
                sizes[id(n)] = 0  # a recursive alias counts once
                children = [c for pair in n.value for c in pair] if isinstance(n, yaml.MappingNode) else \
                    n.value if isinstance(n, yaml.SequenceNode) else []
                sizes[id(n)] = min(1 + sum(size(c) for c in children), MAX_YAML_NODES + 1)
            return sizes[id(n)]

        if size(node) > MAX_YAML_NODES:
            raise UserError(f"{source}: YAML that expands to more than {MAX_YAML_NODES:,} values through its "
                            "aliases (the limit); refused")
        return loader.construct_document(node)
    except RecursionError:
        raise UserError(f"{source}: YAML nested too deeply") from None
    finally:
        loader.dispose()
