"""Terminal output for the CLIs: short tables (rich on a terminal, plain text otherwise) and the
one-line error convention."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence

from stancelab.errors import UserError


# metric -> (short header, what it is). A metric not listed here keeps its own name.
METRICS = {
    "f_avg": ("F", "F1 of favor and against, counts pooled over targets (SemEval-2016 eval.pl)"),
    "f_avg_target_mean": ("F tgt", "F of favor and against within each target, mean over targets (StanceEval 2024)"),
    "stance_macro_f1": ("st F1", "stance macro-F1 over favor, against and none"),
    "stance_accuracy": ("st acc", "stance accuracy"),
    "sentiment_macro_f1": ("se F1", "sentiment macro-F1 over positive, negative and neutral"),
    "sentiment_f_pn": ("F-PN", "mean F1 of positive and negative (WANLP 2021 ArSarcasm-v2)"),
    "sentiment_accuracy": ("se acc", "sentiment accuracy"),
}
WIDE = 200  # a pipe or a file: wide enough that no table wraps


def short(metric: str) -> str:
    """The short table header of a metric (``f_avg_target_mean`` -> ``F tgt``)."""
    return METRICS.get(metric, (metric, ""))[0]


def metric_key(metrics, prefix: str = "", note: str = "") -> dict[str, str]:
    """The key below a table: short header -> ``<prefix><metric>: what it is``."""
    return {short(m): f"{prefix}{m}: {METRICS[m][1] if m in METRICS else m}{note}" for m in metrics}


def pct(value: float) -> str:
    """A score in percent with one decimal, the one unit of every printed table."""
    return f"{100 * value:.1f}"


def pct_sd(mean: float, sd: float | None) -> str:
    return pct(mean) if sd is None else f"{pct(mean)} ± {pct(sd)}"


def pct_ci(value: float, low: float | None, high: float | None) -> str:
    return pct(value) if low is None else f"{pct(value)} [{pct(low)}, {pct(high)}]"


def output_width(file) -> int:
    """Columns to fit: the terminal's, else ``$COLUMNS`` for our own stdout/stderr, else WIDE."""
    import os
    import shutil

    if file.isatty():
        return shutil.get_terminal_size().columns  # honours $COLUMNS
    columns = os.environ.get("COLUMNS", "")
    if file in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__) and columns.isdigit() and int(columns) > 0:
        return int(columns)
    return WIDE


def print_table(rows: Sequence[dict], title: str | None = None, file=None, key: dict[str, str] | None = None) -> None:
    """A table with short headers and, below it, a key that explains them. When the table is wider
    than the terminal (say ``COLUMNS=80``), each row becomes a block of ``name: value`` lines, so
    nothing wraps inside a cell."""
    file = file or sys.stdout
    if not rows:
        return
    from rich.console import Console
    from rich.table import Table

    width = output_width(file)
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(str(column), no_wrap=True)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    if _natural_width(table) <= width:
        Console(file=file, width=width, no_color=not file.isatty()).print(table)
    else:
        _print_stacked(rows, title, width, file)
        if key:
            print("", file=file)
    _print_key(key or {}, width, file)


def _natural_width(table) -> int:
    """The table's width unconstrained: rich measures it, without rendering it a first time."""
    import io

    from rich.console import Console

    return Console(file=io.StringIO(), width=10_000).measure(table).maximum


def _print_stacked(rows: Sequence[dict], title: str | None, width: int, file) -> None:
    """One block per row: the first value as its heading, then one ``name: value`` line per column."""
    import textwrap

    if title:
        print(textwrap.fill(title, width), file=file)
    names = list(rows[0])[1:]
    pad = max((len(str(n)) for n in names), default=0)
    for row in rows:
        values = list(row.values())
        print("", file=file)
        print(textwrap.fill(str(values[0]), width, subsequent_indent="  "), file=file)
        for name, value in zip(names, values[1:]):
            head = f"  {(str(name) + ':').ljust(pad + 1)} "
            print(textwrap.fill(str(value), width, initial_indent=head, subsequent_indent=" " * len(head)), file=file)


def _print_key(key: dict[str, str], width: int, file) -> None:
    import textwrap

    pad = max((len(k) for k in key), default=0)
    for name, text in key.items():
        head = f"{name.ljust(pad)}  "
        print(textwrap.fill(text, width, initial_indent=head, subsequent_indent=" " * len(head)), file=file)


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
