"""Train: cross-validate every configuration on the train split, refit the best, log and register it.

``train(config) -> TrainResult`` is the whole stage; ``train.py`` only parses arguments.
The test split is never read here.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.metrics import classification_report

from stancelab import tracking
from stancelab.data import datasets
from stancelab.scoring import metrics, plots
from stancelab.scoring.analysis import log_error_analysis
from stancelab.labels import LABELS
from stancelab.model.config import ExperimentConfig, ModelConfig, config_to_dict
from stancelab.model.pipeline import TRUSTED_TYPES, build_pipeline
from stancelab.training.cv import choose, cross_validate, cv_splits, model_input
from stancelab.training.registry import CHAMPION, beats_champion, pip_requirements, register

__all__ = ["CHAMPION", "ConfigResult", "TrainResult", "beats_champion", "model_input", "register", "results_table",
           "train"]


@dataclass
class ConfigResult:
    name: str
    overrides: dict[str, Any]
    run_id: str
    cv_mean: dict[str, float]
    cv_std: dict[str, float]
    cv_seconds: float
    cv_se: dict[str, float] = field(default_factory=dict)  # standard error over folds: std / sqrt(folds)


@dataclass
class TrainResult:
    experiment_id: str
    parent_run_id: str
    best: ConfigResult  # the chosen configuration: registered (the best CV score, or the one-SE rule's pick)
    configurations: list[ConfigResult]
    model_uri: str
    registered_model: str
    model_version: str
    champion: bool
    previous_champion: str | None
    data_warnings: list[str] = field(default_factory=list)
    best_by_cv: ConfigResult | None = None  # the best CV score (the same as ``best`` under cv.rule: best)


def _digest(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def experiment_sha(config: ExperimentConfig) -> str:
    """Which version of its experiment file a model was trained from: the hash of the file's settings
    before any ``--set`` (so an exploratory override competes with the file's champion on CV), or of the
    whole configuration when it was built in code."""
    return config.source_sha() or _digest(config_to_dict(config))


def trial_hash(model: ModelConfig) -> str:
    """Content hash of one resolved model configuration."""
    return _digest(model.model_dump(mode="json"))


# replaced in this order: "sentiment_classifier." before the "classifier." it contains
_SHORT = {"sentiment_classifier.": "s.", "classifier.": "", "normalize.": "n.", "word.": "w.", "char.": "c.",
          "none_scale": "none", "ngram_range": "ngram"}


def _short_key(key: str) -> str:
    key = key.removeprefix("model.")
    for long, short in _SHORT.items():
        key = key.replace(long, short)
    return key


def config_name(overrides: dict[str, Any]) -> str:
    """Child run name: the grid values that make this configuration differ, short enough for the MLflow
    runs table, e.g. ``C=0.5 none=0.8 w.min_df=2``."""
    if not overrides:
        return "base"
    parts = []
    for key, value in overrides.items():
        short = _short_key(key)
        if value is None:  # a whole section switched off (e.g. the word block), or on with its settings
            value = "off"
        elif isinstance(value, dict):
            value = "on" if len(value) > 2 else ",".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = "-".join(map(str, value))
        parts.append(f"{short}={value}")
    return " ".join(parts)


def sweep_name(dataset_label: str, configurations) -> str:
    """Parent run name: the dataset and what the sweep varies, e.g. ``idlib: sweep C × none_scale (4)``."""
    keys = list(dict.fromkeys(_short_key(k) for overrides, _ in configurations for k in overrides))
    if len(configurations) == 1:
        return f"{dataset_label}: {config_name(configurations[0][0])}"
    return f"{dataset_label}: sweep {' × '.join(keys)} ({len(configurations)})"


def flat_params(model: ModelConfig) -> dict[str, str]:
    """Short, flat params (``word.ngram_range=1-2``); never the vocabulary."""
    out: dict[str, str] = {}

    def walk(prefix, node):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}{key}.", value)
        else:
            if isinstance(node, (list, tuple)):
                node = "-".join(map(str, node))
            out[prefix[:-1]] = "null" if node is None else str(node)

    walk("", model.model_dump(mode="json"))
    return out


def _log_sweep_plot(mlflow, results: list[ConfigResult], folds: list[pd.DataFrame], select: str, title: str,
                    chosen: str):
    """``plots/cv_spread.png`` on the parent run: per-fold scores of every configuration."""
    fig = plots.cv_spread_figure({r.name: f[select].tolist() for r, f in zip(results, folds)}, select, title,
                                 best=chosen)
    mlflow.log_figure(fig, "plots/cv_spread.png")
    plots.close(fig)


def _log_best_artifacts(mlflow, frame, tasks, oof, fold_table, dataset: str = "", model=None):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scored = frame.assign(**{f"pred_{t}": oof[:, i] for i, t in enumerate(tasks)})
        for task in tasks:
            fig = plots.confusion_matrix_figure(scored[task], scored[f"pred_{task}"], LABELS[task],
                                                f"{task}: out-of-fold (train CV)")
            mlflow.log_figure(fig, f"plots/cv_confusion_{task}.png")
            plots.close(fig)
            report = classification_report(scored[task], scored[f"pred_{task}"], labels=list(LABELS[task]),
                                           output_dict=True, zero_division=0)
            mlflow.log_dict(report, f"reports/cv_classification_report_{task}.json")
        per_target = pd.DataFrame([
            {"target": t, "n": len(g), **metrics.all_scores(g, tasks)} for t, g in scored.groupby("target")])
        per_target.to_csv(tmp / "cv_per_target.csv", index=False)
        per_actor = pd.DataFrame([
            {"actor": a or "(none)", "n": len(g), **metrics.all_scores(g, tasks)}
            for a, g in scored.assign(actor=scored["actor"].fillna("")).groupby("actor")])
        per_actor.to_csv(tmp / "cv_per_actor.csv", index=False)
        mlflow.log_artifact(str(tmp / "cv_per_actor.csv"), "reports")
        plots.log_breakdown_plots(mlflow, per_target.to_dict("records"), per_actor.to_dict("records"), "cv",
                                  f"{datasets.label(dataset)} out-of-fold (train CV)", plots.display_names(dataset))
        fold_table.to_csv(tmp / "cv_folds.csv", index_label="fold")
        mlflow.log_artifact(str(tmp / "cv_per_target.csv"), "reports")
        mlflow.log_artifact(str(tmp / "cv_folds.csv"), "reports")
        if model is not None:
            log_error_analysis(mlflow, model, scored, tasks, tmp)



@dataclass
class _Sweep:
    """What a sweep needs while it runs: the data, its folds and what each configuration gave."""

    config: ExperimentConfig
    frame: pd.DataFrame
    splits: list
    configurations: list
    base_tags: dict
    results: list
    oofs: list
    folds: list
    parent_id: str = ""
    parent_experiment: str = ""
    best_index: int = 0


def train(config: ExperimentConfig, tracking_uri: str | None = None, progress=None) -> TrainResult:
    """Cross-validate each configuration, refit the best on all of train, log, register, promote."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from stancelab.progress import Progress

    tasks, ds_cfg = list(config.tasks), config.dataset
    frame = datasets.load(ds_cfg.name, ds_cfg.train_split, ds_cfg.data_dir, tasks, verify=ds_cfg.verify_checksums)
    report: datasets.DataReport = frame.attrs["report"]
    splits = cv_splits(frame, config.cv.folds, config.seed)
    tracking.setup(tracking_uri)  # after the data checks: bad data must not create or touch a store
    configurations = config.configurations()
    experiment_id = tracking.ensure_experiment(config.experiment)
    key = f"cv_{config.cv.select_by}"  # the UI opens on the key metric and the swept params (tracking.ui_url)
    tracking.present_experiment(experiment_id, [key, f"{key}_std"],
                                tracking.swept_params([flat_params(m) for _, m in configurations]),
                                f"Sweeps of train.py: one parent run per sweep, one child run per configuration. Key "
                                f"metric: {key}, the mean over the CV folds on train. Views > {tracking.VIEW_NAME} "
                                "shows it and the swept params.")
    client = MlflowClient()
    dataset_label = datasets.label(ds_cfg.name)
    base_tags = {"dataset": dataset_label, "split": ds_cfg.train_split, "tasks": ",".join(tasks),
                 "targets": ",".join(sorted(frame["target"].unique())),
                 "seed": str(config.seed), **tracking.git_info(), **tracking.environment_tags()}
    progress = progress or Progress(quiet=True)
    with mlflow.start_run(run_name=sweep_name(dataset_label, configurations),
                          tags={**base_tags, "role": "sweep"}) as parent:
        sha = _log_sweep_inputs(mlflow, config, frame, report, dataset_label, len(configurations))
        n = len(configurations)
        sweep = _Sweep(config, frame, splits, configurations, base_tags, [None] * n, [None] * n, [None] * n,
                       parent.info.run_id, experiment_id)
        start = time.perf_counter()
        best_index = _run_sweep(client, sweep, progress)
        sweep_seconds = time.perf_counter() - start
        best, best_cfg = sweep.results[best_index], configurations[best_index][1]
        refit_bar = progress.add_task("refitting the best configuration on all of train", total=1)
        start = time.perf_counter()
        model = build_pipeline(best_cfg, tasks, config.seed).fit(model_input(frame), frame[tasks].astype(object))
        fit_seconds = time.perf_counter() - start
        progress.remove_task(refit_bar)
        _log_best(mlflow, sweep, best_index, model, fit_seconds, sweep_seconds)
        info = _log_model(mlflow, model, frame, tasks, ds_cfg.name, sha, config.cv.select_by, best)
        version, promote, previous = register(client, info.model_uri, config.model_name, config.cv.select_by,
                                              best.cv_mean[config.cv.select_by],
                                              {"dataset": dataset_label, "experiment_sha": experiment_sha(config)})
        mlflow.set_tag("champion", str(promote).lower())
        mlflow.log_dict({"data_report": report.as_dict()}, "reports/data_report.json")
    return TrainResult(experiment_id=experiment_id, parent_run_id=parent.info.run_id, best=best,
                       configurations=sweep.results, model_uri=f"models:/{config.model_name}/{version}",
                       registered_model=config.model_name, model_version=version, champion=promote,
                       previous_champion=previous, data_warnings=list(report.warnings),
                       best_by_cv=sweep.results[sweep.best_index])


def _log_sweep_inputs(mlflow, config, frame, report, dataset_label, n_configurations) -> str:
    sha = tracking.log_dataset(frame, dataset_label, config.dataset.train_split, "training")
    mlflow.log_dict(config_to_dict(config), "config.json")
    mlflow.set_tags({"dataset_sha256": sha, "data_checksum": frame.attrs.get("checksum", ""),
                     "data_rows": str(len(frame)),
                     "data_exact_duplicates": str(report.exact_duplicates),
                     "data_conflicting_duplicates": str(report.conflicting_duplicates)})
    # the sweep's settings are tags, not params: params are what its configurations vary, so the parent
    # and its children line up column for column in the MLflow UI
    mlflow.set_tags({"cv.folds": str(config.cv.folds), "cv.select_by": config.cv.select_by, "cv.rule": config.cv.rule,
                     "n_configurations": str(n_configurations), "search.kind": config.search.kind})
    return sha


def _cv_metrics(mean: dict, std: dict, select: str) -> dict[str, float]:
    """The key CV metrics of a configuration, rounded to 4 digits: each metric's mean over folds, the
    selection metric's standard deviation; the other deviations are in ``reports/cv_folds.csv``."""
    return {**{f"cv_{k}": round(v, 4) for k, v in mean.items()}, f"cv_{select}_std": round(std[select], 4)}


def _log_child(client, sweep: _Sweep, index: int, mean: dict, std: dict, seconds: float, wall) -> str:
    """One configuration's run, nested under the sweep: its real start and end (its folds' wall clock),
    the swept params only, and its key CV metrics."""
    from mlflow.entities import Metric, Param, RunStatus

    overrides, model_cfg = sweep.configurations[index]
    params = flat_params(model_cfg)
    keys = [k.removeprefix("model.") for k in overrides]
    swept = {k: params[k] for k in keys if k in params}
    name = config_name(overrides)
    run = client.create_run(
        sweep.parent_experiment, start_time=int(wall[0] * 1000), run_name=name,
        tags={**sweep.base_tags, "role": "configuration", "sweep": sweep.parent_id,
              "mlflow.parentRunId": sweep.parent_id, "trial_hash": trial_hash(model_cfg)})
    now = int(wall[1] * 1000)
    metrics = {**_cv_metrics(mean, std, sweep.config.cv.select_by), "cv_seconds": round(seconds, 2)}
    client.log_batch(run.info.run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
                     params=[Param(k, v) for k, v in swept.items()])
    client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.FINISHED), end_time=now)
    return run.info.run_id


def _run_sweep(client, sweep: _Sweep, progress) -> int:
    """Cross-validate every configuration, one child run each; the index of the chosen one (the best, or
    the one-standard-error rule's pick, with the best kept in ``sweep.best_index``)."""
    config, tasks = sweep.config, list(sweep.config.tasks)
    bar = progress.add_task("cross-validating", total=len(sweep.configurations) * config.cv.folds)
    models = [model for _, model in sweep.configurations]
    for i, oof, fold_table, seconds, wall in cross_validate(models, sweep.frame, tasks, sweep.splits, config.seed,
                                                            config.n_jobs, on_fold=lambda n: progress.advance(bar, n)):
        mean, std = fold_table.mean().to_dict(), fold_table.std(ddof=1).fillna(0).to_dict()
        run_id = _log_child(client, sweep, i, mean, std, seconds, wall)
        se = {k: v / len(fold_table) ** 0.5 for k, v in std.items()}
        sweep.results[i] = ConfigResult(config_name(sweep.configurations[i][0]), sweep.configurations[i][0], run_id,
                                        mean, std, seconds, se)
        sweep.oofs[i], sweep.folds[i] = oof, fold_table
    progress.remove_task(bar)
    ses = [r.cv_se for r in sweep.results] if config.cv.rule == "one_standard_error" else None
    sweep.best_index, chosen = choose(models, [r.cv_mean for r in sweep.results], config.cv.select_by,
                                      ses)
    return chosen


def _log_best(mlflow, sweep: _Sweep, best_index: int, model, fit_seconds: float, sweep_seconds: float) -> None:
    """On the parent run: the chosen configuration's params and key CV metrics, which configuration had
    the best CV score and which was chosen, and the sweep's plots and tables."""
    config, tasks, select = sweep.config, list(sweep.config.tasks), sweep.config.cv.select_by
    best, best_cfg = sweep.results[best_index], sweep.configurations[best_index][1]
    top = sweep.results[sweep.best_index]
    # the chosen configuration under the children's keys, so the sweep lines up with them in the UI
    mlflow.log_params(flat_params(best_cfg))
    mlflow.set_tags({"chosen_configuration": best.name, "chosen_run_id": best.run_id,
                     "best_configuration": top.name, "best_run_id": top.run_id})
    mlflow.log_metrics({**_cv_metrics(best.cv_mean, best.cv_std, select),
                        f"cv_best_{select}": round(top.cv_mean[select], 4),
                        f"cv_best_{select}_se": round(top.cv_se[select], 4),
                        "fit_seconds": round(fit_seconds, 2),
                        "cv_seconds": round(sum(r.cv_seconds for r in sweep.results), 2),  # summed fits
                        "cv_wall_seconds": round(sweep_seconds, 2),  # wall clock of the whole sweep
                        "fit_vocabulary_size": len(model.named_steps["heads"].feature_names())})
    _log_best_artifacts(mlflow, sweep.frame, tasks, sweep.oofs[best_index], sweep.folds[best_index],
                        config.dataset.name, model)
    _log_sweep_plot(mlflow, sweep.results, sweep.folds, select, f"{config.experiment}: {config.cv.folds}-fold CV",
                    best.name)
    mlflow.log_table(pd.DataFrame([{"configuration": r.name, "chosen": r is best, "best": r is top,
                                    **{f"cv_{k}": v for k, v in r.cv_mean.items()},
                                    f"cv_{select}_se": r.cv_se[select], "cv_seconds": r.cv_seconds}
                                   for r in sweep.results]), "reports/cv_configurations.json")


def _log_model(mlflow, model, frame, tasks, dataset: str, sha: str, select: str, best: ConfigResult):
    from mlflow.models import infer_signature

    example = model_input(frame).head(3)
    signature = infer_signature(example, pd.DataFrame(model.predict(example), columns=tasks))
    return mlflow.sklearn.log_model(
        model, name="model", serialization_format="skops", skops_trusted_types=TRUSTED_TYPES,
        signature=signature, input_example=example, pip_requirements=pip_requirements(),
        metadata={"tasks": tasks, "targets": datasets.target_names(dataset, frame), "dataset": datasets.label(dataset),
                  "train_sha256": sha, "select_by": select, "cv_score": best.cv_mean[select]})


def results_table(result: TrainResult, select_by: str) -> list[dict[str, Any]]:
    """One short row per configuration, best first (marked ``*``): the selection metric and the headline
    scores as mean ± sd over folds in percent, and the configuration's summed CV seconds. The headers are
    short (``console.short``); ``results_key`` explains them."""
    from stancelab.console import pct_sd, short

    rows = []
    for r in sorted(result.configurations, key=lambda r: -r.cv_mean[select_by]):
        rows.append({"configuration": ("* " if r is result.best else "") + r.name,
                     **{short(k): pct_sd(r.cv_mean[k], r.cv_std[k]) for k in _headline(select_by) if k in r.cv_mean},
                     "s": f"{r.cv_seconds:.1f}"})
    return rows


def _headline(select_by: str) -> list[str]:
    return list(dict.fromkeys([select_by, "f_avg", "stance_macro_f1", "sentiment_macro_f1"]))


def results_key(select_by: str, folds: int, rule: str = "best") -> dict[str, str]:
    """The key printed below ``results_table``."""
    from stancelab.console import metric_key

    chosen = (f"the simplest within one standard error of the best cv_{select_by}" if rule == "one_standard_error"
              else f"the best cv_{select_by}")
    return {"*": f"the chosen configuration: {chosen}",
            **metric_key(_headline(select_by), "cv_"),
            "s": "seconds of fitting and predicting, summed over folds",
            "±": f"mean ± standard deviation over the {folds} folds, in percent"}
