"""Progress display: a rich progress bar on a terminal, one line per task otherwise, nothing when quiet.

On a terminal, ``note`` says what a coming pause is for (loading libraries and data, opening the
store) with a spinner until the next task starts, so no pause is silent. Elsewhere notes print
nothing: a command that fails on bad input still ends with its one ``error:`` line and no other."""

from __future__ import annotations

import sys


class Progress:
    def __init__(self, quiet: bool = False, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self._bar = None
        self._note = None
        if not quiet and self.stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=Console(file=self.stream), transient=True)

    def __enter__(self):
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        return False

    def note(self, text: str) -> None:
        """A transient line with a spinner on a terminal, replaced by the next note or task."""
        if self._bar is None:
            return
        self._end_note()
        self._note = self._bar.add_task(text, total=None)

    def _end_note(self) -> None:
        if self._note is not None:
            self._bar.remove_task(self._note)
            self._note = None

    def add_task(self, description: str, total: int):
        if self._bar is not None:
            self._end_note()
            return self._bar.add_task(description, total=total)
        if not self.quiet:
            steps = f" ({total} steps)" if total != 1 else ""
            print(f"{description}{steps} ...", file=self.stream, flush=True)
        return description

    def advance(self, task, amount: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(task, amount)

    def remove_task(self, task) -> None:
        if self._bar is not None:
            self._bar.remove_task(task)
