"""Search: random draws are capped and prefix-stable, a re-run reuses finished trials, and
configurations that differ only in the `none` threshold share their fits."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from conftest import REPO
from stancelab.model.config import load_config
from stancelab.errors import UserError

GRID = ("grid={model.classifier.C: [0.5, 2.0], model.none_scale: [0.5, 1.0], model.word.ngram_range: [[1, 1], [1, 2]]}")


def test_random_search_is_capped_and_extending_it_keeps_the_earlier_draws():
    small = load_config(REPO / "experiments" / "default.yaml", [GRID, "search.kind=random", "search.n_trials=3"])
    more = load_config(REPO / "experiments" / "default.yaml", [GRID, "search.kind=random", "search.n_trials=5"])
    assert len(small.configurations()) == 3 and len(more.configurations()) == 5
    assert [o for o, _ in more.configurations()[:3]] == [o for o, _ in small.configurations()]
    assert len(load_config(REPO / "experiments" / "default.yaml", [GRID]).configurations()) == 8
    with pytest.raises(UserError, match="unknown key 'model.classifier.kind'"):
        load_config(REPO / "experiments" / "default.yaml", ["model.classifier.kind=voting"])


def test_a_rerun_of_a_sweep_reuses_its_finished_trials(tracking_uri):
    from stancelab.training.train import train

    overrides = [GRID, "search.kind=random", "search.n_trials=3", "cv.folds=2", "n_jobs=1", "tasks=[stance]",
                 "model.char=null"]
    first = train(load_config(REPO / "experiments" / "default.yaml", overrides), tracking_uri)
    second = train(load_config(REPO / "experiments" / "default.yaml",
                               [*overrides, "search.n_trials=4"]), tracking_uri)
    client = MlflowClient(tracking_uri)
    assert client.get_run(first.parent_run_id).data.tags["reused_trials"] == "0"
    assert client.get_run(second.parent_run_id).data.tags["reused_trials"] == "3"
    children = client.search_runs([second.experiment_id], f"tags.mlflow.parentRunId = '{second.parent_run_id}'")
    assert len(children) == 1  # only the new draw ran
    reused = {r.run_id: r.cv_mean for r in first.configurations}
    for r in second.configurations[:3]:
        assert reused[r.run_id] == r.cv_mean  # the same runs and scores, not re-computed
