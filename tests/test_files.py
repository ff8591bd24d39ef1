"""Output files get the mode an ordinary ``open()`` would give them under the user's umask (0644 under
022, 0640 under 027), whichever writer made them: temporary-file-and-rename writers included."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import pytest

import predict
from conftest import REPO

ARTICLES = Path(__file__).parent / "fixtures" / "articles" / "dev"


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_atomic_and_staged_outputs_follow_the_umask(tmp_path, mask, expected):
    from stancelab.data.files import atomic_output, staged

    with umask(mask):
        with atomic_output(tmp_path / "a.jsonl") as handle:
            handle.write("{}\n")
        with staged([tmp_path / "b.csv", tmp_path / "c.png"]) as temps:
            for temp in temps:
                temp.write_text("x", encoding="utf-8")
    assert {p.name: mode(p) for p in tmp_path.iterdir()} == dict.fromkeys(["a.jsonl", "b.csv", "c.png"], expected)


def test_a_chart_saved_directly_is_not_left_0600(tmp_path):
    from stancelab.cli.article import save_chart

    report = [{"actor": "Lavrov", "target": "deescalation_idlib", "sentences": 2, "favor": 1, "against": 0,
               "none": 1, "positive": 0, "negative": 1, "neutral": 1}]
    with umask(0o022):
        save_chart(report, tmp_path / "chart.png")
    assert mode(tmp_path / "chart.png") == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]  # no temporary file left


def test_every_article_output_gets_the_users_mode(trained, tmp_path, capsys):
    outputs = {"--output": "p.jsonl", "--report": "r.csv", "--chart": "c.png", "--template": "t.csv"}
    args = ["--article", str(ARTICLES / "karabakh.txt"), "--actors", str(ARTICLES / "actors.yaml"),
            "--target", "deescalation_idlib", "--tracking-uri", trained["uri"], "--no-evidence", "--quiet"]
    for option, name in outputs.items():
        args += [option, str(tmp_path / name)]
    with umask(0o022):
        code = predict.main(args)
    assert code == 0, capsys.readouterr().err
    assert {p.name: mode(p) for p in tmp_path.iterdir()} == dict.fromkeys(outputs.values(), 0o644)


def test_gitignore_covers_what_the_clis_and_the_tour_write():
    import subprocess

    written = ["mlflow.db", "mlflow.db.lock", "mlruns/0/meta.yaml", "mlartifacts/1/x", "test-artifacts/a.png",
               "predictions.jsonl", "predictions.csv", "who_said_what.jsonl", "actors.csv", "actors.json",
               "actors.png", "results.json", "report.html", "report.md", "report_plots/0_cv_spread.png",
               "to_label.csv", ".predictions.jsonl.abc123.tmp", ".hypothesis/x", "scored/part.0.parquet"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", "--stdin", "-v", "-n"], cwd=REPO, text=True,
                          input="\n".join(written) + "\n", capture_output=True)
    unmatched = [line.split("\t")[-1] for line in proc.stdout.splitlines() if line.startswith("::")]
    assert not unmatched, unmatched
    kept = ["data/actors.yaml", "data/corpus.csv", "examples/quotes.csv", "examples/actors.yaml"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=REPO, text=True,
                          input="\n".join(kept) + "\n", capture_output=True)
    assert proc.stdout == ""  # the shipped files stay tracked
