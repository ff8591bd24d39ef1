"""Ablation by cross-validation: what each component of a final configuration adds, on train only.

    python evaluate.py ablation experiments/mawqif.yaml [--only NAME ...] [--update-docs]

The full configuration is the one the experiment's registered champion was selected with (its
sweep's CV winner, read back from MLflow). Each variant switches one component off in it and keeps
every other hyperparameter as CV chose it. The full model and every variant are cross-validated on
the train split with the experiment's own folds, and each variant is compared with the full model
fold by fold: the mean paired difference, its standard error over folds and how many folds it loses.
A component earns its place when removing it costs more than one standard error. The test split is
never read. One MLflow run per variant (``role=ablation_variant``) under a parent run in the
experiment ``<experiment>-ablation``; the table can be written into docs/components.md between
``<!-- ablation:<dataset>:start -->`` and ``<!-- ablation:<dataset>:end -->``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stancelab import tracking
from stancelab.data import datasets
from stancelab.data.files import write_between_markers
from stancelab.errors import UserError
from stancelab.model.config import ExperimentConfig, ModelConfig, apply_model_overrides
from stancelab.training.cv import cross_validate, cv_splits
from stancelab.training.train import config_name, trial_hash

HEADLINE = ("f_avg", "f_avg_target_mean", "sentiment_macro_f1", "sentiment_f_pn")
UNTUNED_SENTIMENT = {"C": 1.0, "class_weight": "balanced"}  # the baseline's sentiment head


def variants(model: ModelConfig, frame: pd.DataFrame | None = None) -> dict[str, dict[str, Any]]:
    """Variant name -> model overrides, each switching one component of ``model`` off.
    Normalisation steps that change no text of ``frame`` are left out (they cannot matter)."""
    from features.normalize import NormalizeSteps, normalize_text

    out: dict[str, dict[str, Any]] = {}
    if model.char is not None and model.word is not None:
        out["-char block"] = {"model.char": None}
        out["-word block"] = {"model.word": None}
    steps = model.normalize.model_dump()
    texts = list(frame["text"]) if frame is not None else []
    for step, on in steps.items():
        if not on:
            continue
        if texts:
            full, off = NormalizeSteps(**steps), NormalizeSteps(**{**steps, step: False})
            if all(normalize_text(t, full) == normalize_text(t, off) for t in texts):
                continue
        out[f"normalize.{step} off"] = {f"model.normalize.{step}": False}
    if model.none_scale != 1.0:
        out["none_scale=1"] = {"model.none_scale": 1.0}
    if model.classifier.class_weight is not None:  # the stance heads' (and the sentiment head's, if it shares them)
        out["no class weights"] = {"model.classifier.class_weight": None}
    sentiment = (model.sentiment_classifier or model.classifier).model_dump(mode="json")
    if any(sentiment.get(k) != v for k, v in UNTUNED_SENTIMENT.items()):
        out["sentiment untuned (logreg C=1)"] = {"model.sentiment_classifier": UNTUNED_SENTIMENT}
    return out


def selected_model(config: ExperimentConfig, tracking_uri: str | None = None) -> tuple[ModelConfig, dict, str]:
    """The champion's CV-chosen configuration: ``(model, overrides, training run id)``."""
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    tracking.setup(tracking_uri)
    client = MlflowClient()
    try:
        champion = client.get_model_version_by_alias(config.model_name, "champion")
    except MlflowException:
        raise UserError(f"no champion for {config.model_name}: run train.py on the experiment first") from None
    run = client.get_run(champion.run_id)
    path = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="config.json")
    trained = ExperimentConfig.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    chosen_run = run.data.tags.get("chosen_run_id") or run.data.tags["best_run_id"]  # older runs: best = chosen
    best_hash = client.get_run(chosen_run).data.tags.get("trial_hash")
    configurations = trained.configurations()
    for overrides, model in configurations:
        if trial_hash(model) == best_hash:
            return model, overrides, run.info.run_id
    # a model trained before ModelConfig gained keys hashes differently: fall back to the grid values
    chosen = run.data.tags.get("chosen_configuration", run.data.tags.get("best_configuration"))
    named = [(o, m) for o, m in configurations if config_name(o) == chosen]
    if len(named) == 1:
        return named[0][1], named[0][0], run.info.run_id
    raise UserError(f"run {run.info.run_id}: its best configuration is not among its own grid (older code?)")


def paired(full: pd.DataFrame, variant: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per headline metric: both CV means, the mean paired difference over folds (variant - full), its
    standard error and the number of folds where the variant is worse."""
    out = {}
    for key in HEADLINE:
        if key in full and key in variant:
            delta = (variant[key] - full[key]).to_numpy()
            out[key] = {"full": float(full[key].mean()), "variant": float(variant[key].mean()),
                        "delta": float(delta.mean()), "se": float(delta.std(ddof=1) / np.sqrt(len(delta))),
                        "folds_worse": int((delta < 0).sum()), "folds": len(delta)}
    return out


def run_ablation(config: ExperimentConfig, tracking_uri: str | None = None, *, only: list[str] | None = None,
                 progress=None) -> list[dict]:
    """Cross-validate the full model and every variant; one row per variant (full model first)."""
    import mlflow

    from stancelab.progress import Progress

    model, overrides, source_run = selected_model(config, tracking_uri)
    tasks, ds = list(config.tasks), config.dataset
    train = datasets.load(ds.name, ds.train_split, ds.data_dir, tasks, verify=ds.verify_checksums)
    todo = variants(model, train)
    if only:
        unknown = sorted(set(only) - set(todo))
        if unknown:
            raise UserError(f"unknown ablation variant(s) {', '.join(map(repr, unknown))}; "
                            f"known for this configuration: {', '.join(map(repr, todo))}")
        todo = {k: v for k, v in todo.items() if k in only}
    names = ["full (CV-selected)", *todo]
    models = [model, *(apply_model_overrides(model, patch) for patch in todo.values())]
    progress = progress or Progress(quiet=True)
    bar = progress.add_task("ablation: cross-validating variants", total=len(models) * config.cv.folds)
    folds: list[pd.DataFrame | None] = [None] * len(models)
    splits = cv_splits(train, config.cv.folds, config.seed)
    for i, _oof, table, _seconds, _wall in cross_validate(models, train, tasks, splits, config.seed, config.n_jobs,
                                                          on_fold=lambda n: progress.advance(bar, n)):
        folds[i] = table
    progress.remove_task(bar)
    rows = [{"system": name, "change": patch, "cv": {k: float(folds[i][k].mean()) for k in HEADLINE if k in folds[i]},
             **({"paired": paired(folds[0], folds[i])} if i else {})}
            for i, (name, patch) in enumerate(zip(names, [{}, *todo.values()]))]
    _log(mlflow, config, rows, overrides, source_run)
    return rows


def _log(mlflow, config: ExperimentConfig, rows: list[dict], overrides: dict, source_run: str) -> None:
    tracking.ensure_experiment(f"{config.experiment}-ablation")
    ds = config.dataset
    tags = {"dataset": datasets.label(ds.name), "split": ds.train_split, "tasks": ",".join(config.tasks),
            "source_run_id": source_run, **tracking.git_info(), **tracking.environment_tags()}
    with mlflow.start_run(run_name=f"ablation of {config.model_name} ({len(rows) - 1} variants, CV)",
                          tags={**tags, "role": "ablation"}):
        mlflow.log_dict({"selected_overrides": overrides, "variants": {r["system"]: r["change"] for r in rows}},
                        "ablation_config.json")
        for row in rows:
            with mlflow.start_run(run_name=row["system"], nested=True, tags={**tags, "role": "ablation_variant"}):
                mlflow.log_params({"change": json.dumps(row["change"], ensure_ascii=False)[:500] or "none"})
                values = {f"cv_{k}": v for k, v in row["cv"].items()}
                for key, entry in row.get("paired", {}).items():
                    values.update({f"cv_delta_{key}": entry["delta"], f"cv_delta_{key}_se": entry["se"]})
                mlflow.log_metrics(values)
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "cv_ablation.md").write_text(markdown(rows) + "\n", encoding="utf-8")
            mlflow.log_artifact(str(Path(tmp, "cv_ablation.md")), "reports")


def markdown(rows: list[dict]) -> str:
    keys = [k for k in HEADLINE if k in rows[0]["cv"]]
    header = ["system (CV on train)", *keys, *[f"Δ {k} ± SE (folds worse)" for k in keys]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        deltas = [f"{100 * p['delta']:+.2f} ± {100 * p['se']:.2f} ({p['folds_worse']}/{p['folds']})"
                  if (p := row.get("paired", {}).get(k)) else "" for k in keys]
        lines.append("| " + " | ".join([row["system"], *[f"{100 * row['cv'][k]:.2f}" for k in keys], *deltas]) + " |")
    return "\n".join(lines)


def _print_rows(rows: list[dict], title: str) -> None:
    """The terminal's table: short headers, a key below, percent with one decimal."""
    from stancelab.console import metric_key, pct, print_table, short

    keys = [k for k in HEADLINE if k in rows[0]["cv"]]
    table = []
    for row in rows:
        deltas = {f"Δ {short(k)}": (f"{100 * p['delta']:+.1f} ± {100 * p['se']:.1f} ({p['folds_worse']}/{p['folds']})"
                                    if (p := row.get("paired", {}).get(k)) else "") for k in keys}
        table.append({"system": row["system"], **{short(k): pct(row["cv"][k]) for k in keys}, **deltas})
    print_table(table, title=title, key={**metric_key(keys, "cv_", ", mean over folds"),
                                         "Δ": "variant − full model, percentage points ± SE over folds "
                                              "(folds where the variant is worse / folds)"})


def markers(dataset: str) -> tuple[str, str]:
    return f"<!-- ablation:{dataset}:start -->", f"<!-- ablation:{dataset}:end -->"


def main(argv: list[str]) -> int:
    import argparse

    from stancelab.console import add_tracking_option, run_cli
    from stancelab.model.config import load_config

    parser = argparse.ArgumentParser(prog="evaluate.py ablation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", type=Path, help="the final experiment YAML (its champion must be trained)")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this variant (repeat)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--update-docs", action="store_true",
                        help="write the table between docs/components.md's ablation markers for this dataset")
    parser.add_argument("--quiet", action="store_true")
    add_tracking_option(parser)
    args = parser.parse_args(argv)

    def body():
        from stancelab.progress import Progress

        config = load_config(args.experiment, args.overrides)
        with Progress(quiet=args.quiet) as progress:
            rows = run_ablation(config, args.tracking_uri, only=args.only, progress=progress)
        table = markdown(rows)
        if args.update_docs:
            write_between_markers(datasets.REPO_ROOT / "docs" / "components.md", *markers(config.dataset.name), table)
        if not args.quiet:
            _print_rows(rows, f"{config.experiment}: ablation by {config.cv.folds}-fold CV on train")
        return 0

    return run_cli(body)

