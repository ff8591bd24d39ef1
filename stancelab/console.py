"""Terminal output for the CLIs: short tables (rich on a terminal, plain text otherwise) and the
one-line error convention."""

from __future__ import annotations

import signal
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


class Terminated(BaseException):
    """SIGTERM (``kill``, ``timeout``): unwinds like Ctrl-C, so every ``finally`` runs."""


def _interrupt(signum, frame):
    """On SIGINT or SIGTERM: mark the open MLflow runs KILLED (before the ``with`` blocks that hold them
    would record FAILED), then unwind."""
    _end_mlflow_runs()
    raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def _end_mlflow_runs() -> None:
    """Mark the runs an interrupted command had open as KILLED, not left RUNNING (or FAILED)."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return
    try:
        while mlflow.active_run() is not None:
            mlflow.end_run("KILLED")
    except Exception:  # noqa: BLE001 - best effort on the way out; the store may be gone too
        pass


def run_cli(body: Callable[[], int | None]) -> int:
    """Run a CLI body: UserError -> 'error: ...' on one line and exit 2, no traceback. SIGINT and
    SIGTERM end it cleanly: temporary files are removed by their ``finally`` blocks, open MLflow runs
    are marked KILLED, and the exit status is 130 or 143."""
    handlers = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)} \
        if _main_thread() else {}
    try:
        return int(body() or 0)
    except UserError as exc:
        # one line, whatever the message (a wrapped library message may span several)
        print("error: " + " ".join(line.strip() for line in str(exc).splitlines() if line.strip()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _end_mlflow_runs()
        print("error: interrupted", file=sys.stderr)
        return 130
    except Terminated:  # raised by _interrupt, which has already marked the runs KILLED
        print("error: terminated", file=sys.stderr)
        return 143
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def add_tracking_option(parser) -> None:
    parser.add_argument("--tracking-uri",
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db at the repo root)")


def add_model_loading_options(parser) -> None:
    """Options of every command that loads a model: where the registry is, and the pickle opt-in."""
    add_tracking_option(parser)
    parser.add_argument("--allow-unsafe-pickle", action="store_true",
                        help="load a pickle-format model: this runs any code inside it; only for models you trust")
