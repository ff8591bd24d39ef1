"""Terminal output for the CLIs: short tables (rich on a terminal, plain text otherwise) and the
one-line error convention."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from stancelab.errors import UserError


def print_table(rows: Sequence[dict], title: str | None = None, file=None) -> None:
    file = file or sys.stdout
    if not rows:
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file, width=200 if not file.isatty() else None, no_color=not file.isatty())
    table = Table(title=title, show_lines=False)
    for column in rows[0]:
        table.add_column(str(column), overflow="fold")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


def run_cli(body: Callable[[], int | None]) -> int:
    """Run a CLI body: UserError -> 'error: ...' on one line and exit 2, no traceback."""
    try:
        return int(body() or 0)
    except UserError as exc:
        # one line, whatever the message (a wrapped library message may span several)
        print("error: " + " ".join(line.strip() for line in str(exc).splitlines() if line.strip()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def add_tracking_option(parser) -> None:
    parser.add_argument("--tracking-uri",
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db at the repo root)")


def add_model_loading_options(parser) -> None:
    """Options of every command that loads a model: where the registry is, and the pickle opt-in."""
    add_tracking_option(parser)
    parser.add_argument("--allow-unsafe-pickle", action="store_true",
                        help="load a pickle-format model: this runs any code inside it; only for models you trust")
