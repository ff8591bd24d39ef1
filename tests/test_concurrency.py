"""Several train.py processes logging to one fresh SQLite store at the same time.

MLflow creates and migrates a SQLite store on first use without inter-process coordination; before
stancelab.tracking created it under a file lock, two of three processes started together died with
``duplicate column name: step``. Registration and the champion decision are a read-compare-write,
also under the lock, so the alias ends on the best model whatever order the processes finish in.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
from mlflow.tracking import MlflowClient

from conftest import REPO

C_VALUES = (0.05, 1.0, 20.0)  # three configurations with different CV scores


def test_parallel_training_processes_all_finish_and_are_all_recorded(tmp_path):
    corpus = pd.read_csv(REPO / "data" / "corpus.csv", keep_default_na=False, dtype=str)
    tiny = corpus[(corpus["lang"] == "en") & (corpus["split"] == "train")].copy()
    tiny.loc[tiny.index[:6], "text"] += " 🇹🇷 — دعم الناتو 👍🏽 支持"  # mixed scripts and emoji train fine
    # test rows whose labels train.py must never read: reading them would fail validation
    unread = tiny.head(3).assign(id=lambda f: "unread-" + f["id"], stance="NOT-A-LABEL", sentiment="?", split="test")
    pd.concat([tiny, unread]).to_csv(tmp_path / "tiny.csv", index=False)
    experiment = tmp_path / "tiny.yaml"
    experiment.write_text(f"experiment: concurrency\nmodel_name: tiny-stance\ndataset: {{name: {tmp_path / 'tiny.csv'}}}\n"
                          "cv: {folds: 2}\nn_jobs: 1\nmodel: {char: null}\n", encoding="utf-8")
    store = tmp_path / "store"
    store.mkdir()
    uri = f"sqlite:///{store / 'mlflow.db'}"
    procs = [subprocess.Popen([sys.executable, str(REPO / "train.py"), str(experiment), "--quiet",
                               "--set", f"model.classifier.C={c}", "--tracking-uri", uri],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
             for c in C_VALUES]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0 and "Traceback" not in err, err

    client = MlflowClient(uri, registry_uri=uri)
    [exp] = [e for e in client.search_experiments() if e.name == "concurrency"]
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("role") == "sweep"]
    children = [r for r in runs if r.data.tags.get("role") == "configuration"]
    assert len(parents) == len(children) == len(C_VALUES)
    assert all(r.info.status == "FINISHED" for r in runs)
    assert sorted(float(r.data.params["classifier.C"]) for r in parents) == sorted(C_VALUES)
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {r.info.run_id for r in parents}
    assert {r.data.tags["data_rows"] for r in parents} == {str(len(tiny))}  # the train rows only

    versions = client.search_model_versions("name = 'tiny-stance'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3]
    assert {v.run_id for v in versions} == {r.info.run_id for r in parents}
    champion = client.get_model_version_by_alias("tiny-stance", "champion")
    score = {r.info.run_id: r.data.metrics["cv_f_avg_target_mean"] for r in parents}
    assert score[champion.run_id] == max(score.values())
