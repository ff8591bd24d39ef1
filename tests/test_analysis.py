"""Error-analysis artifacts of a training run: top n-grams per target and class, per-target
out-of-fold confusion counts, and the misclassified rows."""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient


def test_training_logs_error_analysis_tables(trained, tmp_path):
    uri, result = trained["uri"], trained["result"]
    mlflow.set_tracking_uri(uri)
    logged = {a.path for a in MlflowClient(uri).list_artifacts(result.parent_run_id, "reports")}
    assert {"reports/fit_top_ngrams.csv", "reports/cv_confusion_per_target.csv", "reports/cv_errors.csv"} <= logged
    folder = mlflow.artifacts.download_artifacts(run_id=result.parent_run_id, artifact_path="reports",
                                                 dst_path=str(tmp_path))
    top = pd.read_csv(f"{folder}/fit_top_ngrams.csv")
    stance = top[top["task"] == "stance"]
    assert set(stance["target"]) == {"turkish_operation_idlib", "nato_support_turkey", "deescalation_idlib"}
    assert set(stance["label"]) <= {"favor", "against", "none"} and (stance["weight"] > 0).all()
    assert set(top.loc[top["task"] == "sentiment", "target"]) == {"(all)"}
    confusion = pd.read_csv(f"{folder}/cv_confusion_per_target.csv")
    per_task = confusion.groupby("task")["n"].sum()
    assert per_task["stance"] == per_task["sentiment"] > 0
    errors = pd.read_csv(f"{folder}/cv_errors.csv", keep_default_na=False)
    assert ((errors["stance"] != errors["pred_stance"]) | (errors["sentiment"] != errors["pred_sentiment"])).all()
    wrong = confusion[confusion["gold"] != confusion["pred"]].groupby("task")["n"].sum()
    assert len(errors) >= wrong.max()
