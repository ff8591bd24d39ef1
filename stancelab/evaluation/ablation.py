"""Ablation: what each component of a final configuration adds, on the test split, with intervals.

    python evaluate.py ablation experiments/mawqif.yaml [--only NAME ...] [--update-readme]

The full configuration is the one the experiment's registered champion was selected with (its
sweep's CV winner, read back from MLflow: no test split was involved in choosing it). Each variant
switches one component off in that configuration and keeps every other hyperparameter as CV chose
it; nothing is re-tuned per variant. Every variant (and the full model) is refit on the whole train
split, scored on the test split once with bootstrap 95% intervals, and compared with the full
model row by row (paired bootstrap of the metric difference + McNemar on stance correctness),
as ``evaluate.py --compare`` does. One MLflow run per variant (``role=ablation``) under a parent
run in the experiment ``<experiment>-ablation``; the table is logged and can be written into the
README between ``<!-- ablation:<dataset>:start -->`` and ``<!-- ablation:<dataset>:end -->``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from stancelab.scoring import compare
from stancelab.data import datasets
from stancelab import tracking
from stancelab.model.config import ExperimentConfig, ModelConfig, _apply_model_overrides
from stancelab.errors import UserError

HEADLINE = ("f_avg", "f_avg_target_mean", "sentiment_macro_f1")
UNTUNED_SENTIMENT = {"C": 1.0, "class_weight": "balanced"}  # the backbone's sentiment model


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
    if model.classifier.class_weight is not None:
        out["no class weights (stance)"] = {"model.classifier.class_weight": None}
    sentiment = (model.sentiment_classifier or model.classifier).model_dump(mode="json")
    if any(sentiment.get(k) != v for k, v in UNTUNED_SENTIMENT.items()):
        out["sentiment untuned (logreg C=1)"] = {"model.sentiment_classifier": UNTUNED_SENTIMENT}
    return out


def selected_model(config: ExperimentConfig, tracking_uri: str | None = None) -> tuple[ModelConfig, dict, str]:
    """The champion's CV-selected configuration: ``(model, overrides, training run id)``."""
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
    from stancelab.training.train import trial_hash

    from stancelab.training.train import config_name

    best_hash = client.get_run(run.data.tags["best_run_id"]).data.tags.get("trial_hash")
    configurations = trained.configurations()
    for overrides, model in configurations:
        if trial_hash(model) == best_hash:
            return model, overrides, run.info.run_id
    # a model trained before ModelConfig gained keys hashes differently: fall back to the grid values
    named = [(o, m) for o, m in configurations if config_name(o) == run.data.tags.get("best_configuration")]
    if len(named) == 1:
        return named[0][1], named[0][0], run.info.run_id
    raise UserError(f"run {run.info.run_id}: its best configuration is not among its own grid (older code?)")


def _scored(model_cfg: ModelConfig, config: ExperimentConfig, train: pd.DataFrame, test: pd.DataFrame, tasks):
    from stancelab.model.pipeline import build_pipeline
    from stancelab.training.train import model_input

    start = time.perf_counter()
    model = build_pipeline(model_cfg, tasks, config.seed).fit(model_input(train), train[tasks].astype(object))
    seconds = time.perf_counter() - start
    pred = model.predict(model_input(test))
    return test.assign(**{f"pred_{t}": pred[:, i] for i, t in enumerate(tasks)}), seconds


def run_ablation(config: ExperimentConfig, tracking_uri: str | None = None, *, only: list[str] | None = None,
                 n_resamples: int | None = None, progress=None) -> list[dict]:
    """Fit, score and compare every variant; returns one row per system (full model first)."""
    import mlflow

    from stancelab.evaluation.evaluate import _scores
    from stancelab.progress import Progress

    model, overrides, source_run = selected_model(config, tracking_uri)
    tasks = list(config.tasks)
    ds = config.dataset
    train = datasets.load(ds.name, ds.train_split, ds.data_dir, tasks, verify=ds.verify_checksums)
    test = datasets.load(ds.name, ds.test_split, ds.data_dir, tasks, verify=ds.verify_checksums)
    todo = variants(model, train)
    if only:
        unknown = sorted(set(only) - set(todo))
        if unknown:
            raise UserError(f"unknown ablation variant(s) {', '.join(map(repr, unknown))}; "
                            f"known for this configuration: {', '.join(map(repr, todo))}")
        todo = {k: v for k, v in todo.items() if k in only}
    resamples = n_resamples or config.bootstrap
    progress = progress or Progress(quiet=True)
    bar = progress.add_task("ablation: fitting and scoring variants", total=len(todo) + 1)
    tracking.ensure_experiment(f"{config.experiment}-ablation")
    base_tags = {"dataset": datasets.label(ds.name), "split": ds.test_split, "tasks": ",".join(tasks),
                 "source_run_id": source_run, **tracking.git_info(), **tracking.environment_tags()}
    rows = []
    with mlflow.start_run(run_name=f"ablation of {config.model_name} ({len(todo)} variants)",
                          tags={**base_tags, "role": "ablation"}):
        mlflow.log_dict({"selected_overrides": overrides, "model": model.model_dump(mode="json"),
                         "variants": todo}, "ablation_config.json")
        full, full_seconds = _scored(model, config, train, test, tasks)
        progress.advance(bar)
        systems = [("full (CV-selected)", {}, full, full_seconds)]
        for name, patch in todo.items():
            scored, seconds = _scored(_apply_model_overrides(model, patch), config, train, test, tasks)
            systems.append((name, patch, scored, seconds))
            progress.advance(bar)
        for name, patch, scored, seconds in systems:
            result = _scores(scored, tasks, resamples, config.seed)
            row: dict[str, Any] = {"system": name, "change": patch}
            for key in HEADLINE:
                if key in result:
                    row[key] = result[key]
            if patch:
                paired = compare.compare_frames(full, scored, tasks, n_resamples=resamples, seed=config.seed)
                row["paired"] = {k: paired["metrics"][k] for k in HEADLINE if k in paired["metrics"]}
                row["mcnemar_stance_p"] = paired["mcnemar"]["stance"]["p_value"]
            row["fit_seconds"] = seconds
            rows.append(row)
            with mlflow.start_run(run_name=name, nested=True, tags={**base_tags, "role": "ablation_variant"}):
                mlflow.log_params({"change": json.dumps(patch, ensure_ascii=False)[:500] or "none"})
                values = {"fit_seconds": seconds}
                for key in HEADLINE:
                    if key in result:
                        values.update({f"test_{key}": result[key]["value"], f"test_{key}_ci_low": result[key]["ci_low"],
                                       f"test_{key}_ci_high": result[key]["ci_high"]})
                    if key in row.get("paired", {}):
                        values.update({f"delta_{key}": row["paired"][key]["delta"],
                                       f"delta_{key}_p": row["paired"][key]["p_value"]})
                if "mcnemar_stance_p" in row:
                    values["mcnemar_stance_p"] = row["mcnemar_stance_p"]
                mlflow.log_metrics(values)
        table = markdown(rows, tasks, ds.name)
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "ablation.md").write_text(table + "\n", encoding="utf-8")
            mlflow.log_artifact(str(Path(tmp, "ablation.md")), "reports")
    progress.remove_task(bar)
    return rows


def _pct(entry) -> str:
    return f"{100 * entry['value']:.2f} [{100 * entry['ci_low']:.1f}, {100 * entry['ci_high']:.1f}]"


def markdown(rows: list[dict], tasks, dataset: str) -> str:
    keys = [k for k in HEADLINE if k in rows[0]]
    header = ["system", *keys, *[f"Δ {k} (p)" for k in keys], "McNemar p (stance)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        deltas = [f"{100 * row['paired'][k]['delta']:+.2f} (p={row['paired'][k]['p_value']:.3f})" if "paired" in row
                  else "" for k in keys]
        mcnemar = f"{row['mcnemar_stance_p']:.3f}" if "mcnemar_stance_p" in row else ""
        lines.append("| " + " | ".join([row["system"], *[_pct(row[k]) for k in keys], *deltas, mcnemar]) + " |")
    return "\n".join(lines)


def markers(dataset: str) -> tuple[str, str]:
    return f"<!-- ablation:{dataset}:start -->", f"<!-- ablation:{dataset}:end -->"


def update_readme(table: str, readme: Path, dataset: str) -> None:
    from stancelab.evaluation.report import write_between_markers

    write_between_markers(readme, *markers(dataset), table)


def main(argv: list[str]) -> int:
    import argparse

    from stancelab.model.config import load_config
    from stancelab.console import add_tracking_option, run_cli

    parser = argparse.ArgumentParser(prog="evaluate.py ablation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", type=Path, help="the final experiment YAML (its champion must be trained)")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this variant (repeat)")
    parser.add_argument("--bootstrap", type=int, help="bootstrap resamples (default: the experiment's)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--update-readme", action="store_true",
                        help="write the table between the README's ablation markers for this dataset")
    parser.add_argument("--quiet", action="store_true")
    add_tracking_option(parser)
    args = parser.parse_args(argv)

    def body():
        from stancelab.data.datasets import REPO_ROOT
        from stancelab.progress import Progress

        if args.bootstrap is not None and args.bootstrap < 1:
            raise UserError(f"bootstrap resamples must be at least 1, got {args.bootstrap}")
        config = load_config(args.experiment, args.overrides)
        with Progress(quiet=args.quiet) as progress:
            rows = run_ablation(config, args.tracking_uri, only=args.only, n_resamples=args.bootstrap,
                                progress=progress)
        table = markdown(rows, config.tasks, config.dataset.name)
        if args.update_readme:
            update_readme(table, REPO_ROOT / "README.md", config.dataset.name)
        if not args.quiet:
            print(table)
        return 0

    return run_cli(body)
