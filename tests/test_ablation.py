"""Ablation: variants derived from the CV-selected configuration, each cross-validated on train with
the experiment's folds and compared with the full model fold by fold; the test split is never read."""

from __future__ import annotations

import pandas as pd
import pytest

from stancelab.training.ablation import run_ablation, variants
from stancelab.model.config import ModelConfig
from stancelab.errors import UserError


def test_variants_switch_one_component_off_each_and_skip_steps_without_effect():
    model = ModelConfig.model_validate({"none_scale": 0.5, "sentiment_classifier": {"C": 0.3}})
    english = pd.DataFrame({"text": ["Sooo good!!! #HillaryClinton https://t.co/x @bob 2016"]})
    names = variants(model, english)
    assert {"-char block", "-word block", "none_scale=1", "no class weights",
            "sentiment untuned (logreg C=1)"} <= set(names)
    # Arabic-only steps change no English text: not worth a variant
    assert "normalize.alef off" not in names and "normalize.urls off" in names and "normalize.repeats off" in names
    plain = variants(ModelConfig.model_validate({"char": None, "sentiment_classifier": {"C": 1.0}}), english)
    assert not {"-char block", "-word block", "none_scale=1", "sentiment untuned (logreg C=1)"} & set(plain)


def test_ablation_cross_validates_variants_against_the_full_model_on_train(trained):
    import mlflow

    config = trained["config"]
    with pytest.raises(UserError, match="unknown ablation variant"):
        run_ablation(config, trained["uri"], only=["no such thing"])
    rows = run_ablation(config, trained["uri"], only=["-char block"])
    assert [r["system"] for r in rows] == ["full (CV-selected)", "-char block"]
    full, ablated = rows
    assert "paired" not in full
    for key, entry in ablated["paired"].items():
        assert entry["full"] == pytest.approx(full["cv"][key]) and entry["variant"] == pytest.approx(ablated["cv"][key])
        assert entry["delta"] == pytest.approx(ablated["cv"][key] - full["cv"][key])
        assert entry["se"] >= 0 and 0 <= entry["folds_worse"] <= entry["folds"] == config.cv.folds
    # the full model's CV score is the one its sweep logged for the selected configuration
    mlflow.set_tracking_uri(trained["uri"])
    best = trained["result"].best
    assert full["cv"]["f_avg_target_mean"] == pytest.approx(best.cv_mean["f_avg_target_mean"])
    runs = mlflow.search_runs(experiment_names=[f"{config.experiment}-ablation"],
                              filter_string="tags.role = 'ablation_variant'")
    assert sorted(runs["tags.mlflow.runName"]) == ["-char block", "full (CV-selected)"]
    assert runs["metrics.cv_f_avg"].notna().all() and (runs["tags.split"] == "train").all()
