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


def test_a_random_search_runs_each_draw_once_and_keeps_the_best_by_cv(tracking_uri):
    from stancelab.training.train import train

    overrides = [GRID, "search.kind=random", "search.n_trials=3", "cv.folds=2", "n_jobs=1", "tasks=[stance]",
                 "model.char=null"]
    config = load_config(REPO / "experiments" / "default.yaml", overrides)
    result = train(config, tracking_uri)
    client = MlflowClient(tracking_uri)
    children = client.search_runs([result.experiment_id], f"tags.mlflow.parentRunId = '{result.parent_run_id}'")
    assert sorted(c.info.run_name for c in children) == sorted(r.name for r in result.configurations)
    assert [r.overrides for r in result.configurations] == [o for o, _ in config.configurations()]
    assert result.best_by_cv.cv_mean["f_avg_target_mean"] == max(r.cv_mean["f_avg_target_mean"]
                                                                 for r in result.configurations)
