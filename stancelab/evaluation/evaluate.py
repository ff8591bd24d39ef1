"""Evaluate a model on one split: metrics with bootstrap intervals, breakdowns, MLflow evaluation run.

``evaluate(model_uri, dataset, split) -> dict``; ``evaluate.py`` only parses arguments.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd

from stancelab.data import datasets, records
from stancelab.scoring import metrics
from stancelab.scoring import plots
from stancelab import tracking
from stancelab.errors import UserError, located
from stancelab.labels import LABELS

EVALUATIONS_EXPERIMENT = "evaluations"


def _breakdown(scored: pd.DataFrame, column: str, tasks) -> list[dict]:
    rows = []
    for value, group in scored.groupby(column, sort=True):
        rows.append({column: value or "(none)", "n": len(group),
                     **{k: round(v, 4) for k, v in metrics.all_scores(group, tasks).items()}})
    return rows


def _scores(scored: pd.DataFrame, tasks, n_resamples: int, seed: int) -> dict:
    """The scored rows' size, metrics with bootstrap intervals, and the breakdowns: per target and per
    actor always, per dialect (or any other column of ``datasets.BREAKDOWNS``) when the data has it."""
    return {
        "n": len(scored),
        "bootstrap": {"resamples": n_resamples, "level": 0.95, "strata": "target", "seed": seed},
        **metrics.scores_with_intervals(scored, tasks, n_resamples=n_resamples, seed=seed),
        **{f"per_{c}": _breakdown(scored, c, tasks) for c in datasets.BREAKDOWNS if c in scored},
    }


def evaluations(client, split: str, **tags: str) -> list:
    """The store's evaluation runs (every experiment) that scored ``split`` and carry these tag values
    (``dataset=``, ``registered_model=``, ``model_version=``), newest first."""
    where = " and ".join(["tags.role = 'evaluation'", f"tags.split = '{split}'",
                          *(f"tags.{key} = '{value}'" for key, value in tags.items())])
    return client.search_runs([e.experiment_id for e in client.search_experiments()], where,
                              order_by=["attributes.start_time DESC"], max_results=10_000)


def test_looks(client, dataset: str, split: str = "test") -> int:
    """How many times ``split`` of ``dataset`` has been scored in this store: the number a reader needs next
    to a test result, since every look at a test split is a chance to overfit it."""
    return len(evaluations(client, split, dataset=dataset))


def _model_version(model_uri: str):
    """The registry entry behind a models:/ URI, or None."""
    from mlflow.exceptions import MlflowException

    from stancelab.serving.predictor import registry_entry

    if not model_uri.startswith("models:/"):
        return None
    try:
        return registry_entry(model_uri)
    except MlflowException:
        return None


def _logged_model_id(version) -> str | None:
    """The MLflow 3 logged-model id behind a registry version (its source is ``models:/<id>``)."""
    if version is None:
        return None
    if getattr(version, "model_id", None):
        return version.model_id
    source = version.source or ""
    return source.removeprefix("models:/") if source.startswith("models:/m-") else None


def train_overlap(dataset: str, split: str, frame: pd.DataFrame, data_dir=None, tasks=("stance",),
                  verify_checksums: bool = True) -> dict[str, int] | None:
    """Texts of ``split`` that also occur in the same dataset's train split (None when there is no
    train split to compare with). Only the train texts matter; its labels are not used."""
    if split == "train":
        return None
    if dataset in datasets.DATASETS:
        if "train" not in datasets.DATASETS[dataset].splits:
            return None
        return datasets.overlap(datasets.load(dataset, "train", data_dir, tasks, verify=verify_checksums), frame)
    try:  # a user's CSV: its train rows, when it has a split column
        rows = datasets.load_schema_csv(dataset, split=None, tasks=tasks)
    except UserError:
        return None
    train = rows[rows["split"] == "train"]
    return datasets.overlap(train, frame) if len(train) else None


def _source_tags(version, predictor) -> dict[str, str]:
    """Tags an evaluation run shares with the training run of its model, for filtering side by side."""
    return {"targets": ",".join(sorted(predictor.targets))}


def evaluate(model_uri: str | None, dataset: str, split: str, *, data_dir=None, tracking_uri: str | None = None,
             experiment: str | None = None, n_resamples: int = 1000, seed: int = 0, log: bool = True,
             allow_unsafe: bool = False, verify_checksums: bool = True, on_start=None) -> dict:
    """Score a model on a split (and log an evaluation run). ``on_start()`` is called once the model
    and the data have loaded and been checked, so a progress line never precedes an input error."""
    import mlflow

    from stancelab.serving.predictor import load

    if n_resamples < 1:
        raise UserError(f"bootstrap resamples must be at least 1, got {n_resamples}")
    predictor = load(model_uri, tracking_uri, allow_unsafe=allow_unsafe)
    if not Path(predictor.model_uri).is_dir():  # a kept registry model loads without MLflow; logging needs it
        tracking.setup(tracking_uri, create=False)
    tasks = predictor.tasks
    frame = datasets.load(dataset, split, data_dir, tasks, verify=verify_checksums)
    unknown = sorted(set(frame["target"]) - set(predictor.targets)) if "stance" in tasks else []
    if unknown:
        raise UserError(f"{dataset}:{split} has target(s) {', '.join(unknown)} that model {predictor.model_uri} "
                        f"was not trained on (it knows {', '.join(predictor.targets)})")
    if on_start is not None:
        on_start()
    scored = pd.concat([frame, predictor.predict_labels(frame)], axis=1)

    warnings = list(frame.attrs["report"].warnings)
    leak = train_overlap(dataset, split, frame, data_dir, tasks, verify_checksums)
    if leak and leak["normalised"]:
        warnings.append(f"{dataset}: {leak['normalised']} text(s) of '{split}' also occur in 'train' "
                        f"({leak['exact']} byte-identical; {leak['test_rows_affected']} {split} rows affected)")

    version = _model_version(predictor.model_uri)
    result = {
        "model_uri": predictor.model_uri,
        "model_version": version.version if version is not None else None,
        "dataset": dataset,
        "split": split,
        **_scores(scored, tasks, n_resamples, seed),
        "train_overlap": leak,
        "warnings": warnings,
    }
    if log:
        _count_looks(result, version)
        result["run_id"] = _log(mlflow, result, scored, frame, tasks, predictor, version, experiment)
    return result


def _count_looks(result: dict, version) -> None:
    """``looks``: this evaluation's number among the store's evaluations of the same split; a warning
    when this very model version has been scored on it before (a final is looked at once per version)."""
    from mlflow.tracking import MlflowClient

    label = datasets.label(result["dataset"])
    earlier = evaluations(MlflowClient(), result["split"], dataset=label)
    result["looks"] = len(earlier) + 1
    if version is not None:
        same = [run for run in earlier if run.data.tags.get("registered_model") == version.name
                and run.data.tags.get("model_version") == str(version.version)]
        if same:
            result["warnings"].append(f"{version.name} v{version.version} was already evaluated on "
                                      f"{label}:{result['split']} ({len(same)} time(s), first in run "
                                      f"{same[-1].info.run_id}); this is look {result['looks']} at that split")


def _log(mlflow, result, scored, frame, tasks, predictor, version, experiment) -> str:
    tracking.ensure_experiment(experiment or EVALUATIONS_EXPERIMENT)
    split, dataset = result["split"], result["dataset"]
    model_label = f"{version.name} v{version.version}" if version is not None else predictor.model_uri
    tags = {"role": "evaluation", "dataset": datasets.label(dataset),
            "split": split, "model_uri": predictor.model_uri, "tasks": ",".join(tasks), **tracking.git_info(),
            **tracking.environment_tags()}
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
        mlflow.set_tag("look", str(result["looks"]))
        if result["train_overlap"] is not None:  # logged when 0 too: "checked, none" differs from "not checked"
            values[f"{split}_train_overlap"] = result["train_overlap"]["normalised"]
            values[f"{split}_train_overlap_exact"] = result["train_overlap"]["exact"]
            values[f"{split}_train_overlap_rows"] = result["train_overlap"]["test_rows_affected"]
        mlflow.set_tag("train_overlap", "not checked" if result["train_overlap"] is None
                       else str(result["train_overlap"]["normalised"]))
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
            scored[["id", "text", "target", *tasks, *[f"pred_{t}" for t in tasks]]].to_csv(
                tmp / f"{split}_predictions.csv", index=False)  # per row, for evaluate.py --compare
            for column in datasets.BREAKDOWNS:
                if f"per_{column}" in result:
                    pd.DataFrame(result[f"per_{column}"]).to_csv(tmp / f"{split}_per_{column}.csv", index=False)
            (tmp / f"{split}_evaluation.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
            mlflow.log_artifacts(str(tmp), "evaluation")
        return run.info.run_id


# --------------------------------------------------------------------------- scoring a predictions file

def read_predictions(path: Path | str) -> pd.DataFrame:
    """A predictions file (.csv or .jsonl) with id, target, stance[, sentiment] and a ``_line`` column."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = records.read_csv_records(path, ("id", "target", "stance"), optional=("sentiment",))
    elif suffix in (".jsonl", ".ndjson"):
        rows = []
        for record, number in records.jsonl_rows(path, "id, target and stance"):
            for key in ("id", "target", "stance"):
                if record.get(key) is None:
                    raise UserError(f"{path}:{number}: field '{key}': missing")
            if "sentiment" in record and record["sentiment"] is None:
                raise UserError(f"{path}:{number}: field 'sentiment': missing")
            rows.append({**{k: str(record[k]) for k in ("id", "target", "stance", "sentiment") if k in record},
                            "_line": number})
        frame = pd.DataFrame(rows, dtype=object)
        if "sentiment" in frame and frame["sentiment"].isna().any():
            row = frame.index[frame["sentiment"].isna()][0]
            raise located(path, "missing (other lines have a sentiment)", line=int(frame.at[row, "_line"]),
                          field="sentiment")
    else:
        raise UserError(f"{path}: unsupported predictions type '{suffix}'; use .csv or .jsonl")
    for column in ("id", "target", "stance", "sentiment"):
        if column in frame:
            frame[column] = frame[column].astype(str).str.strip()
    return frame


def match_predictions(pred: pd.DataFrame, gold: pd.DataFrame, path, gold_name: str) -> pd.DataFrame:
    """Gold rows with ``pred_<task>`` columns, after checking that the ids match one to one.

    Refuses (one line naming file, line and field) an empty, duplicate or unknown id, a target that
    differs from the gold row's, an unknown label, and gold ids without a prediction: a silent
    inner join here would score a subset or a shuffled file and report a wrong number."""
    tasks = [t for t in ("stance", "sentiment") if t in pred]
    lines = pred["_line"].astype(int)
    gold_ids = pd.Index(gold["id"])
    if not gold_ids.is_unique:
        raise UserError(f"{gold_name}: gold ids are not unique ({gold_ids[gold_ids.duplicated()][0]!r}); "
                        "cannot match predictions by id")
    first_line: dict[str, int] = {}
    gold_target = dict(zip(gold["id"], gold["target"]))
    for row, ident in pred["id"].items():
        line = int(lines[row])
        if not ident:
            raise located(path, "empty id", line=line, field="id")
        if ident in first_line:
            raise located(path, f"duplicate id {ident!r} (first on line {first_line[ident]})", line=line, field="id")
        first_line[ident] = line
        if ident not in gold_target:
            raise located(path, f"id {ident!r} is not in {gold_name}", line=line, field="id")
        if pred.at[row, "target"] != gold_target[ident]:
            raise located(path, f"target {pred.at[row, 'target']!r} but {gold_name} has {gold_target[ident]!r} "
                          f"for id {ident!r}", line=line, field="target")
        for task in tasks:
            if pred.at[row, task].lower() not in LABELS[task]:
                raise located(path, f"unknown label {pred.at[row, task]!r}; expected one of "
                              f"{', '.join(LABELS[task])}", line=line, field=task)
    missing = [i for i in gold["id"] if i not in first_line]
    if missing:
        shown = ", ".join(repr(i) for i in missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise UserError(f"{path}: field 'id': {len(missing)} of the {len(gold)} ids of {gold_name} have no "
                        f"prediction ({shown}); predict every row, or score a split that matches the file")
    by_id = pred.set_index("id")
    out = gold.copy()
    for task in tasks:
        out[f"pred_{task}"] = by_id.loc[gold["id"], task].str.lower().to_numpy()
    return out


def score_predictions(path: Path | str, dataset: str, split: str, *, data_dir=None, n_resamples: int = 1000,
                      seed: int = 0, verify_checksums: bool = True) -> dict:
    """Score a predictions file against a gold split with the metrics and bootstrap intervals of
    :func:`evaluate` (no model needed, nothing logged)."""
    if n_resamples < 1:
        raise UserError(f"bootstrap resamples must be at least 1, got {n_resamples}")
    pred = read_predictions(path)
    tasks = [t for t in ("stance", "sentiment") if t in pred]
    gold = datasets.load(dataset, split, data_dir, tasks, verify=verify_checksums)
    scored = match_predictions(pred, gold, path, f"{dataset}:{split}")
    return {
        "predictions": str(path),
        "dataset": dataset,
        "split": split,
        **_scores(scored, tasks, n_resamples, seed),
        "warnings": list(gold.attrs["report"].warnings),
    }
