"""One exception type for problems the user can fix; the CLIs print it as one line and exit 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or missing prerequisite: printed as ``error: <message>`` without a traceback."""


def located(path, message: str, line: int | None = None, field: str | None = None) -> UserError:
    """A UserError naming file, line and field: ``data.csv:12: field 'stance': unknown label 'x'``."""
    where = str(path)
    if line is not None:
        where += f":{line}"
    if field is not None:
        message = f"field '{field}': {message}"
    return UserError(f"{where}: {message}")
