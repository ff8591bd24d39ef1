"""Long commands show progress and short tables on a terminal, plain lines otherwise, nothing with --quiet."""

from __future__ import annotations

import io
import json

from conftest import run_cli
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
    proc = run_cli("-m", "stancelab.data.fetch", "check", "idlib")
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
