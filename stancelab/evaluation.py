"""Evaluate a model on one split: metrics with bootstrap intervals, breakdowns, MLflow evaluation run.

``evaluate(model_uri, dataset, split) -> dict``; ``evaluate.py`` only parses arguments.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd

from stancelab import datasets, metrics, plots, tracking
from stancelab.errors import UserError
from stancelab.labels import LABELS

EVALUATIONS_EXPERIMENT = "evaluations"


def _breakdown(scored: pd.DataFrame, column: str, tasks) -> list[dict]:
    rows = []
    for value, group in scored.groupby(column, sort=True):
        rows.append({column: value or "(none)", "n": len(group),
                     **{k: round(v, 4) for k, v in metrics.all_scores(group, tasks).items()}})
    return rows


def _model_version(model_uri: str):
    """The registry entry behind a models:/ URI, or None."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    if not model_uri.startswith("models:/"):
        return None
    body = model_uri[len("models:/"):]
    client = MlflowClient()
    try:
        if "@" in body:
            name, alias = body.split("@", 1)
            return client.get_model_version_by_alias(name, alias)
        name, _, version = body.partition("/")
        if version.isdigit():
            return client.get_model_version(name, version)
    except MlflowException:
        return None
    return None


def _logged_model_id(version) -> str | None:
    """The MLflow 3 logged-model id behind a registry version (its source is ``models:/<id>``)."""
    if version is None:
        return None
    if getattr(version, "model_id", None):
        return version.model_id
    source = version.source or ""
    return source.removeprefix("models:/") if source.startswith("models:/m-") else None


def _source_tags(version, predictor) -> dict[str, str]:
    """Tags an evaluation run shares with the training run of its model, for filtering side by side."""
    tags = {"targets": ",".join(sorted(predictor.targets))}
    if version is not None and version.run_id:
        from mlflow.tracking import MlflowClient

        source = MlflowClient().get_run(version.run_id).data.tags
        tags.update({k: source[k] for k in ("model_family", "target_mode") if k in source})
    return tags


def evaluate(model_uri: str | None, dataset: str, split: str, *, data_dir=None, tracking_uri: str | None = None,
             experiment: str | None = None, n_resamples: int = 1000, seed: int = 0, log: bool = True,
             allow_unsafe: bool = False) -> dict:
    import mlflow

    from stancelab.prediction import load

    predictor = load(model_uri, tracking_uri, allow_unsafe=allow_unsafe)
    tasks = predictor.tasks
    frame = datasets.load(dataset, split, data_dir, tasks)
    unknown = sorted(set(frame["target"]) - set(predictor.targets))
    if unknown:
        raise UserError(f"{dataset}:{split} has target(s) {', '.join(unknown)} that model {predictor.model_uri} "
                        f"was not trained on (it knows {', '.join(predictor.targets)})")
    scored = pd.concat([frame, predictor.predict_labels(frame)], axis=1)

    warnings = list(frame.attrs["report"].warnings)
    leak = None
    if dataset in datasets.DATASETS and split != "train" and "train" in datasets.DATASETS[dataset].splits:
        leak = datasets.overlap(datasets.load(dataset, "train", data_dir, tasks), frame)
        if leak["normalised"]:
            warnings.append(f"{dataset}: {leak['normalised']} text(s) of '{split}' also occur in 'train' "
                            f"({leak['exact']} byte-identical; {leak['test_rows_affected']} {split} rows affected)")

    version = _model_version(predictor.model_uri)
    result = {
        "model_uri": predictor.model_uri,
        "model_version": version.version if version is not None else None,
        "dataset": dataset,
        "split": split,
        "n": len(scored),
        "bootstrap": {"resamples": n_resamples, "level": 0.95, "strata": "target", "seed": seed},
        **metrics.scores_with_intervals(scored, tasks, n_resamples=n_resamples, seed=seed),
        "per_target": _breakdown(scored, "target", tasks),
        "per_actor": _breakdown(scored, "actor", tasks),
        "train_overlap": leak,
        "warnings": warnings,
    }
    if log:
        result["run_id"] = _log(mlflow, result, scored, frame, tasks, predictor, version, experiment)
    return result


def _log(mlflow, result, scored, frame, tasks, predictor, version, experiment) -> str:
    tracking.ensure_experiment(experiment or EVALUATIONS_EXPERIMENT)
    split, dataset = result["split"], result["dataset"]
    model_label = f"{version.name} v{version.version}" if version is not None else predictor.model_uri
    tags = {"role": "evaluation", "dataset": datasets.label(dataset),
            "split": split, "model_uri": predictor.model_uri, "tasks": ",".join(tasks), **tracking.git_info()}
    if version is not None:
        tags.update({"registered_model": version.name, "model_version": str(version.version),
                     "source_run_id": version.run_id or ""})
    tags.update(_source_tags(version, predictor))
    model_id = _logged_model_id(version)
    with mlflow.start_run(run_name=f"evaluate {model_label} on {tags['dataset']}:{split}", tags=tags) as run:
        tracking.log_dataset(frame, tags["dataset"], split, "evaluation")
        values = {}
        for key, entry in result.items():
            if isinstance(entry, dict) and "value" in entry:
                values[f"{split}_{key}"] = entry["value"]
                values[f"{split}_{key}_ci_low"] = entry["ci_low"]
                values[f"{split}_{key}_ci_high"] = entry["ci_high"]
        values[f"{split}_n"] = result["n"]
        if result["train_overlap"]:
            values[f"{split}_train_overlap"] = result["train_overlap"]["normalised"]
        mlflow.log_metrics(values, model_id=model_id)  # links the numbers to the logged model
        for task in tasks:
            fig = plots.confusion_matrix_figure(scored[task], scored[f"pred_{task}"], LABELS[task],
                                                f"{task}: {tags['dataset']}:{split}")
            mlflow.log_figure(fig, f"plots/{split}_confusion_{task}.png")
            plots.close(fig)
        plots.log_breakdown_plots(mlflow, result["per_target"], result["per_actor"], split,
                                  f"{tags['dataset']}:{split}", plots.display_names(dataset))
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            gold, pred = scored[tasks].to_numpy(), scored[[f"pred_{t}" for t in tasks]].to_numpy()
            wrong = scored[(gold != pred).any(axis=1)]
            wrong[["id", "text", "actor", "target", *tasks, *[f"pred_{t}" for t in tasks]]].to_csv(
                tmp / f"{split}_errors.csv", index=False)
            pd.DataFrame(result["per_target"]).to_csv(tmp / f"{split}_per_target.csv", index=False)
            pd.DataFrame(result["per_actor"]).to_csv(tmp / f"{split}_per_actor.csv", index=False)
            (tmp / f"{split}_evaluation.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
            mlflow.log_artifacts(str(tmp), "evaluation")
        return run.info.run_id
