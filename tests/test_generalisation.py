"""Leave-one-target-out and leave-one-actor-out reports on the embedded corpus, as their own runs."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from conftest import REPO
from stancelab.model.config import load_config
from stancelab.training.generalisation import leave_one_out

SMALL = ["tasks=[stance]", "model.char=null", "grid={}", "model.classifier.C=1.0"]


def test_leave_one_target_out_logs_one_run_with_a_row_per_target(tracking_uri):
    config = load_config(REPO / "experiments" / "default.yaml", SMALL)
    result = leave_one_out(config, "target", tracking_uri)
    table = result["table"]
    assert sorted(table["target"]) == ["deescalation_idlib", "nato_support_turkey", "turkish_operation_idlib"]
    assert (table["n_train"] + table["n_test"] == 3 * table["n_test"]).all()  # 3 targets, each sentence labelled for all
    run = MlflowClient(tracking_uri).get_run(result["run_id"])
    assert run.data.tags["role"] == "generalisation"
    assert 0 <= run.data.metrics["cv_loto_f_avg"] <= 1


def test_leave_one_actor_out_holds_each_actor_out(tracking_uri):
    config = load_config(REPO / "experiments" / "default.yaml", SMALL)
    result = leave_one_out(config, "actor", tracking_uri, log=False, only=["Asselborn", "Lavrov", "Erdogan"])
    table = result["table"]
    assert sorted(table["actor"]) == ["Asselborn", "Erdogan", "Lavrov"] and (table["n_train"] > 0).all()
    assert (table["n_train"] + table["n_test"]).nunique() == 1  # each split covers all train rows once
