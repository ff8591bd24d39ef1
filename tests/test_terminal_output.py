"""Long commands show progress and short tables on a terminal, plain lines otherwise, nothing with --quiet;\nevery table fits 80 columns (COLUMNS=80) and prints percent with one decimal."""

from __future__ import annotations

import io
import json
import re

from conftest import REPO, run_cli
from stancelab.progress import Progress

ANSI = "\x1b["


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(progress: Progress) -> None:
    with progress:
        task = progress.add_task("cross-validating", total=3)
        for _ in range(3):
            progress.advance(task)
        progress.remove_task(task)


def test_progress_is_a_bar_on_a_terminal_plain_otherwise_and_silent_when_quiet():
    terminal, pipe, quiet = _Terminal(), io.StringIO(), _Terminal()
    _run(Progress(stream=terminal))
    _run(Progress(stream=pipe))
    _run(Progress(quiet=True, stream=quiet))
    assert ANSI in terminal.getvalue()  # rich drew (and cleared) a live bar
    assert pipe.getvalue() == "cross-validating (3 steps) ...\n"
    assert quiet.getvalue() == ""


def test_datasets_check_prints_plain_tables_or_json():
    proc = run_cli("-m", "stancelab.data.fetch", "check", "idlib", env={"COLUMNS": "120"})  # wide: boxed tables
    assert proc.returncode == 0, proc.stderr
    assert ANSI not in proc.stdout and "idlib: splits" in proc.stdout
    assert len(proc.stdout.splitlines()) < 40  # short
    assert "│ train │ 1344 │" in proc.stdout
    proc = run_cli("-m", "stancelab.data.fetch", "check", "idlib", "--json")
    assert json.loads(proc.stdout)["splits"]["test"]["rows"] == 390


def test_evaluate_and_batch_predict_are_silent_with_quiet(trained, tmp_path):
    uri = trained["uri"]
    proc = run_cli("evaluate.py", "experiments/default.yaml", "--bootstrap", "20", "--no-log", "--quiet",
                   "--tracking-uri", uri, "--json", tmp_path / "r.json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and "evaluating" not in proc.stderr and (tmp_path / "r.json").is_file()
    proc = run_cli("evaluate.py", "experiments/default.yaml", "--bootstrap", "20", "--no-log", "--tracking-uri", uri)
    assert "evaluating on idlib:test, 20 bootstrap resamples ...\n" in proc.stderr  # plain progress line, no bar
    assert ANSI not in proc.stdout + proc.stderr and "f_avg_target_mean" in proc.stdout

    quotes = tmp_path / "quotes.csv"
    quotes.write_text("text,target\nدعا لافروف إلى وقف فوري لإطلاق النار في إدلب,deescalation_idlib\n", "utf-8")
    out = tmp_path / "p.jsonl"
    proc = run_cli("predict.py", "--input", quotes, "--output", out, "--tracking-uri", uri, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == "" and len(out.read_text("utf-8").splitlines()) == 1


def test_a_pause_is_announced_on_a_terminal_and_silent_otherwise():
    terminal, pipe = _Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        with Progress(stream=stream) as progress:
            progress.note("loading libraries ...")
            task = progress.add_task("cross-validating", total=2)  # ends the note
            progress.advance(task, 2)
    assert "loading libraries ..." in terminal.getvalue() and ANSI in terminal.getvalue()
    assert pipe.getvalue() == "cross-validating (2 steps) ...\n"  # no note line: errors stay one line on stderr


# --------------------------------------------------------------------------- tables at 80 columns

NARROW = {"COLUMNS": "80"}
METRIC_FIELDS = {"F", "F tgt", "st F1", "st acc", "se F1", "se acc", "value", "95% CI", "A", "B", "B - A", "CV",
                 "Δ F", "Δ F tgt", "Δ se F1"}
# One command or address per line, so it can be copied whole: the store's absolute path makes it long.
COPY_LINES = ("  python evaluate.py ", "  mlflow ui --backend-store-uri ", "  then open http://", "  open http://")


def _fields(text: str) -> list[tuple[str, str]]:
    """(column, value) of every cell print_table wrote, from rich boxes or from stacked name: value blocks."""
    out, header = [], None
    for line in text.splitlines():
        if line.startswith("┃"):
            header = [c.strip() for c in line.strip("┃").split("┃")]
        elif line.startswith("│") and header:
            out += zip(header, (c.strip() for c in line.strip("│").split("│")))
        elif (m := re.match(r"^  (\S[^:]{0,11}):\s+(.*)$", line)):
            out.append((m.group(1), m.group(2)))
    return out


def _check_narrow(proc) -> list[tuple[str, str]]:
    assert proc.returncode == 0, proc.stderr
    for line in (proc.stdout + proc.stderr).splitlines():
        assert len(line) <= 80 or line.startswith(COPY_LINES), f"{len(line)} columns: {line}"
    fields = [(name, value) for name, value in _fields(proc.stdout) if name in METRIC_FIELDS and value not in ("", "–")]
    assert fields, proc.stdout
    for name, value in fields:  # every number in a metric cell has one decimal: percent, as 71.3 or +0.4
        decimals = re.findall(r"\d+(?:\.(\d+))?", re.sub(r"\(\d+/\d+\)$", "", value))  # not "(2/5 folds)"
        assert decimals and all(len(d) == 1 for d in decimals), f"{name}: {value}"
    assert max(abs(float(n)) for _, v in fields for n in re.findall(r"[+-]?\d+\.\d", v)) > 1  # percent, not fractions
    return fields


def test_cli_tables_fit_80_columns_in_percent_with_one_decimal(trained, tmp_path):
    from stancelab.evaluation.evaluate import evaluate

    uri = trained["uri"]
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli("train.py", "--set", "cv.folds=2", "--set", "grid={model.classifier.C: [1.0, 10.0]}",
                   "--set", "model.char=null", "--tracking-uri", store, env=NARROW, cwd=tmp_path)
    fields = _check_narrow(proc)
    assert {"F tgt", "F", "st F1", "se F1"} <= {name for name, _ in fields}
    assert "cv_f_avg_target_mean: " in proc.stdout  # the key below the table explains the short header

    proc = run_cli("evaluate.py", REPO / "experiments/default.yaml", "--bootstrap", "20", "--no-log",
                   "--tracking-uri", uri, env=NARROW, cwd=tmp_path)
    assert {"value", "95% CI"} <= {name for name, _ in _check_narrow(proc)}

    runs = [evaluate("models:/idlib-stance/1", "idlib", "test", tracking_uri=uri, n_resamples=20,
                     experiment=trained["config"].experiment)["run_id"] for _ in range(2)]
    proc = run_cli("evaluate.py", "--compare", *runs, "--bootstrap", "20", "--tracking-uri", uri, env=NARROW,
                   cwd=tmp_path)
    assert {"A", "B", "B - A"} <= {name for name, _ in _check_narrow(proc)}

    proc = run_cli("evaluate.py", "report", "--output", "r.md", "--tracking-uri", uri, env=NARROW, cwd=tmp_path)
    assert {"CV", "F tgt"} <= {name for name, _ in _check_narrow(proc)} and (tmp_path / "r.md").is_file()

    proc = run_cli("evaluate.py", "ablation", REPO / "experiments/default.yaml", "--only", "-char block",
                   "--set", "cv.folds=2", "--tracking-uri", uri, env=NARROW, cwd=tmp_path)
    assert {"F tgt", "Δ F tgt"} <= {name for name, _ in _check_narrow(proc)}
