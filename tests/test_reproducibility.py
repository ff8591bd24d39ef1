"""Same experiment, same seed -> the same numbers and the same model, and every run records what is
needed to reproduce it.

Two train.py processes with different hash seeds (PYTHONHASHSEED changes set and dict-of-set
iteration order between processes, a classic source of silent non-determinism) train the same
small experiment into two stores; their CV metrics, selected configuration and test predictions
must be identical, not just close.
"""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient

from conftest import REPO
from stancelab.data import datasets

OVERRIDES = ["cv.folds=2", "n_jobs=1", "model.char=null",
             "grid={model.classifier.C: [0.5, 5.0]}"]


def _train_twice(tmp_path) -> list[str]:
    uris, procs = [], []
    for hash_seed in ("1", "2"):
        store = tmp_path / f"store{hash_seed}"
        store.mkdir()
        uris.append(f"sqlite:///{store / 'mlflow.db'}")
        args = [sys.executable, str(REPO / "train.py"), str(REPO / "experiments" / "default.yaml"), "--quiet",
                "--tracking-uri", uris[-1]]
        for item in OVERRIDES:
            args += ["--set", item]
        procs.append(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env={**os.environ, "PYTHONHASHSEED": hash_seed}))
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    return uris


def _parent(uri):
    client = MlflowClient(uri, registry_uri=uri)
    version = client.get_model_version_by_alias("idlib-stance", "champion")
    return client, client.get_run(version.run_id), version


def test_same_seed_same_metrics_same_predictions_and_provenance_recorded(tmp_path):
    uris = _train_twice(tmp_path)
    (client_a, run_a, version_a), (client_b, run_b, version_b) = _parent(uris[0]), _parent(uris[1])

    # identical numbers, configuration choice and data digest
    assert run_a.data.metrics.keys() == run_b.data.metrics.keys()
    for key, value in run_a.data.metrics.items():
        if not key.endswith("seconds"):
            assert run_b.data.metrics[key] == value, key
    for key in ("best_configuration", "dataset_sha256", "seed", "git_commit", "git_dirty"):
        assert run_a.data.tags[key] == run_b.data.tags[key], key
    assert run_a.data.params == run_b.data.params
    config_a = mlflow.artifacts.load_dict(f"{run_a.info.artifact_uri}/config.json")
    assert config_a == mlflow.artifacts.load_dict(f"{run_b.info.artifact_uri}/config.json")
    assert config_a["seed"] == 13 and config_a["cv"]["folds"] == 2

    # identical predictions (probabilities included) on the test split
    import predict

    test = datasets.load("idlib", "test")
    frames = []
    for uri, version in ((uris[0], version_a), (uris[1], version_b)):
        model = predict.load(f"models:/idlib-stance/{version.version}", uri)
        frames.append(model.pipeline.predict_proba(model.frame(test)))
    for proba_a, proba_b in zip(*frames):
        np.testing.assert_array_equal(proba_a, proba_b)

    # what a run records to be reproduced: config (above), data digests, code version, environment
    tags = run_a.data.tags
    assert len(tags["dataset_sha256"]) == 64 and tags["data_checksum"] == "not pinned"  # embedded corpus
    [dataset_input] = run_a.inputs.dataset_inputs
    assert {t.key: t.value for t in dataset_input.tags}["sha256"] == tags["dataset_sha256"]
    assert len(tags["git_commit"]) == 40 and tags["git_dirty"] in ("true", "false")
    assert tags["python_version"] == ".".join(map(str, sys.version_info[:3]))
    import sklearn

    assert tags["version.scikit-learn"] == sklearn.__version__
    assert tags["version.mlflow"] == mlflow.__version__
    assert {"version.numpy", "version.pandas", "version.scipy", "version.skops"} <= set(tags)
