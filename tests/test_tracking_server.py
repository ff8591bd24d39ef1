"""A shared tracking server for a team: ``mlflow server`` on 127.0.0.1 with a SQLite backend and a
local artifact root; two sweeps log through it at the same time and no run is lost; prediction
loads the champion from it. Everything goes through MLFLOW_TRACKING_URI, as the README says."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, mlflow_server, run_cli


@pytest.fixture
def server(tmp_path):
    with mlflow_server(tmp_path) as url:
        yield url


def test_parallel_sweeps_through_the_server_lose_no_runs_and_predict_reads_it(server, tmp_path):
    env = {"MLFLOW_TRACKING_URI": server}
    command = [sys.executable, str(REPO / "train.py"), "--quiet", "--set", "cv.folds=2", "--set", "n_jobs=1",
               "--set", "grid={model.classifier.C: [1.0, 10.0]}"]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, **env}) for _ in range(2)]  # at the same time
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=server, registry_uri=server)
    experiment = client.get_experiment_by_name("idlib-stance-sentiment")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    roles = sorted(r.data.tags.get("role") for r in runs)
    assert roles == ["configuration"] * 4 + ["sweep"] * 2  # 2 sweeps x (1 parent + 2 configurations)
    versions = client.search_model_versions("name='idlib-stance'")
    assert len(versions) == 2

    # the model files come from the server's artifact store
    proc = run_cli("predict.py", "دعا لافروف إلى وقف فوري لإطلاق النار في إدلب", "--target", "deescalation_idlib",
                   env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stance"] in ("favor", "against", "none")

    # the hostile-input guarantees hold through the server too: an output that is the input is refused
    # before any work, and a model the registry does not have is one line
    quotes = tmp_path / "q.csv"
    quotes.write_text("text,target\nhi,deescalation_idlib\n", encoding="utf-8")
    for args, expected in ((["--input", quotes, "--output", quotes], "q.csv: is the input"),
                           (["x", "--target", "deescalation_idlib", "--model", "models:/nope@champion"],
                            "no model at models:/nope@champion")):
        proc = run_cli("predict.py", *args, env=env)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and expected in proc.stderr, proc.stderr
    assert quotes.read_text(encoding="utf-8") == "text,target\nhi,deescalation_idlib\n"
