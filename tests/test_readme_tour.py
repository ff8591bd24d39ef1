"""The README's "A five-minute tour", run verbatim from README.md itself, so the README cannot drift.

The tour needs a trained model, as on a user's machine after the README's first command: the default
experiment is trained with ``train.py`` into a temporary SQLite store that ``MLFLOW_TRACKING_URI``
points every command at. Commands run in a temporary folder (outputs land there), through bash, with
this interpreter first on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, free_port, run_cli, serving

README = REPO / "README.md"
OUTPUT_FLAGS = ("--output", "--report", "--json")


def _block(language: str) -> str:
    """The first fenced block of ``language`` in the tour section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"README.md: no {language} block in 'A five-minute tour'"
    return match.group(1)


def tour_commands() -> list[str]:
    """One command per entry, continuation lines joined, as bash would read them."""
    return [c.strip() for c in _block("bash").replace("\\\n", " ").splitlines() if c.strip()]


def _outputs(command: str) -> list[str]:
    words = shlex.split(command, comments=True)
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word in OUTPUT_FLAGS]


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """A folder with the repo's CLIs and examples, and the default experiment trained into a store of its own."""
    folder = tmp_path_factory.mktemp("tour")
    for name in ("predict.py", "evaluate.py", "train.py", "examples", "experiments"):
        (folder / name).symlink_to(REPO / name)
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'store' / 'mlflow.db'}",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(REPO)}
    (folder / "store").mkdir()
    trained = run_cli("train.py", env=env)  # the README's first command, from the repo root
    assert trained.returncode == 0, trained.stderr
    return folder, {**os.environ, **env}, trained.stdout


def test_the_tour_parses_into_the_commands_it_shows():
    commands = tour_commands()
    assert len(commands) == 5 and all(c.split()[0] in ("python", "mlflow") for c in commands), commands
    assert _outputs(commands[1]) == ["predictions.jsonl"]
    assert _outputs(commands[2]) == ["who_said_what.jsonl", "actors.csv"]  # the continuation line is joined


@pytest.mark.parametrize("index", range(5))
def test_each_tour_command_runs_verbatim_and_leaves_its_output(tour, index):
    folder, env, _ = tour
    command = tour_commands()[index]
    if command.startswith("mlflow ui"):  # a server: it must come up and answer (on a free port, not 5000)
        port = free_port()
        served = re.sub(r"--port \d+", f"--port {port}", command.split("#")[0])
        with serving(["bash", "-c", f"exec {served}"], port, folder, env=env) as url:
            with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
                assert response.status == 200
        return
    proc = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{command}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    outputs = _outputs(command)
    for name in outputs:
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0, f"{command}: no {name}"
    if not outputs:  # one quote: the result is printed
        assert json.loads(proc.stdout)["stance"] in ("favor", "against", "none")


def test_the_tour_python_block_runs_verbatim(tour):
    folder, env, _ = tour
    proc = subprocess.run([sys.executable, "-"], input=_block("python"), cwd=folder, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr


def test_train_hints_the_tour_evaluate_command(tour):
    """train.py's closing hint is the README's evaluate command, --split included."""
    _, _, stdout = tour
    evaluate = next(c for c in tour_commands() if c.startswith("python evaluate.py"))
    hint = next(line.strip() for line in stdout.splitlines() if line.strip().startswith("python evaluate.py"))
    assert hint == shlex.join(shlex.split(evaluate, comments=True))
