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

import numpy as np
import pandas as pd
from joblib import Memory, Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import classification_report

from stancelab import datasets, metrics, plots, selection, tracking
from stancelab.config import ExperimentConfig, ModelConfig, config_to_dict
from stancelab.errors import UserError
from stancelab.labels import LABELS
from stancelab.model import INPUT_COLUMNS, TRUSTED_TYPES, build_pipeline
from stancelab.splits import StratifiedGroupKFold

CHAMPION = "champion"


@dataclass
class ConfigResult:
    name: str
    overrides: dict[str, Any]
    run_id: str
    cv_mean: dict[str, float]
    cv_std: dict[str, float]
    cv_seconds: float


@dataclass
class TrainResult:
    experiment_id: str
    parent_run_id: str
    best: ConfigResult
    configurations: list[ConfigResult]
    model_uri: str
    registered_model: str
    model_version: str
    champion: bool
    previous_champion: str | None
    data_warnings: list[str] = field(default_factory=list)


def model_input(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns as plain Python strings."""
    out = pd.DataFrame({c: (frame[c] if c in frame else "") for c in INPUT_COLUMNS})
    return out.astype(object).fillna("")


def cv_splits(frame: pd.DataFrame, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified by target x stance; grouped by normalised text, so one sentence (labelled for
    several targets, or duplicated) never sits on both sides of a fold."""
    strata = (frame["target"] + "|" + frame["stance"]).to_numpy()
    groups = frame["text"].map(datasets.text_key).to_numpy()
    n_groups = len(set(groups))
    if n_groups < folds:
        raise UserError(f"only {n_groups} distinct texts for {folds}-fold cross-validation")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(frame, strata, groups))


def _fit_predict_fold(pipeline, X, Y, train_idx, test_idx):
    start = time.perf_counter()
    model = clone(pipeline).fit(X.iloc[train_idx], Y.iloc[train_idx])
    return test_idx, model.predict(X.iloc[test_idx]), time.perf_counter() - start


def cross_validate(pipeline, frame: pd.DataFrame, tasks, splits, n_jobs: int = 1, on_fold=None):
    """Out-of-fold predictions and per-fold scores for one pipeline."""
    X, Y = model_input(frame), frame[list(tasks)].astype(object)
    oof = np.empty((len(frame), len(tasks)), dtype=object)
    fold_scores = []
    jobs = (delayed(_fit_predict_fold)(pipeline, X, Y, tr, te) for tr, te in splits)
    for test_idx, pred, _seconds in Parallel(n_jobs=n_jobs, return_as="generator")(jobs):
        oof[test_idx] = pred
        fold = frame.iloc[test_idx].assign(**{f"pred_{t}": pred[:, i] for i, t in enumerate(tasks)})
        fold_scores.append(metrics.all_scores(fold, tasks))
        if on_fold is not None:
            on_fold()
    return oof, pd.DataFrame(fold_scores)


def _fit_predict_variants(pipeline, X, Y, train_idx, test_idx, none_scales):
    """Fit once, predict once per ``none_scale`` (a decision threshold, not a fitted parameter)."""
    start = time.perf_counter()
    model = clone(pipeline).fit(X.iloc[train_idx], Y.iloc[train_idx])
    preds = [model.set_params(joint__none_scale=s).predict(X.iloc[test_idx]) for s in none_scales]
    return test_idx, preds, time.perf_counter() - start


def cross_validate_many(model_configs: list[ModelConfig], frame: pd.DataFrame, tasks, splits, seed: int,
                        n_jobs: int = 1, memory=None):
    """Cross-validate several configurations with one pool over every (configuration, fold) job, so
    a sweep keeps all cores busy. Configurations that differ only in ``none_scale`` share their fits.
    Yields ``(index, oof, fold_table, seconds)`` per configuration as soon as its folds are done;
    ``seconds`` is the summed fit+predict time of its folds (shared fits counted once per group).
    With ``memory`` (``cv.cache``), the configurations ``sweep_cache`` covers share each fold's
    featurisation and sentiment fits instead (same predictions; see ``stancelab/sweep_cache.py``)."""
    todo = list(range(len(model_configs)))
    if memory is not None:
        from stancelab import sweep_cache

        shared = [i for i in todo if sweep_cache.supported(model_configs[i])]
        for k, oof, fold_table, seconds in (sweep_cache.cross_validate_shared(
                [model_configs[i] for i in shared], frame, tasks, splits, seed, n_jobs) if shared else ()):
            yield shared[k], oof, fold_table, seconds
        todo = [i for i in todo if i not in set(shared)]
        if not todo:
            return
    X, Y = model_input(frame), frame[list(tasks)].astype(object)
    groups: dict[str, list[int]] = {}
    for i in todo:
        cfg = model_configs[i]
        groups.setdefault(trial_hash(cfg.model_copy(update={"none_scale": 1.0})), []).append(i)
    members = list(groups.values())
    jobs = (delayed(_fit_predict_variants)(build_pipeline(model_configs[m[0]], tasks, seed, memory=memory), X, Y,
                                           tr, te, [model_configs[i].none_scale for i in m])
            for m in members for tr, te in splits)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    for m in members:
        oofs = [np.empty((len(frame), len(tasks)), dtype=object) for _ in m]
        scores = [[] for _ in m]
        seconds = 0.0
        for _ in splits:
            test_idx, preds, fold_seconds = next(results)
            seconds += fold_seconds
            for j, pred in enumerate(preds):
                oofs[j][test_idx] = pred
                fold = frame.iloc[test_idx].assign(**{f"pred_{t}": pred[:, c] for c, t in enumerate(tasks)})
                scores[j].append(metrics.all_scores(fold, tasks))
        for j, index in enumerate(m):
            yield index, oofs[j], pd.DataFrame(scores[j]), seconds / len(m)


def _digest(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def trial_hash(model: ModelConfig) -> str:
    """Content hash of one resolved model configuration."""
    return _digest(model.model_dump(mode="json"))


def code_digest() -> str:
    """Content hash of the model code (``stancelab/`` and ``features/``): trials logged by other code
    are never reused."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*root.joinpath("stancelab").glob("*.py"), *root.joinpath("features").glob("*.py")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def sweep_hash(config: ExperimentConfig, data_sha: str) -> str:
    """What makes two trials' CV scores comparable: data, CV protocol, seed, tasks and code."""
    return _digest({"data": data_sha, "code": code_digest(), "cv": [config.cv.folds, config.cv.select_by],
                    "seed": config.seed, "tasks": list(config.tasks)})


def _finished_trials(client, experiment_id: str, sweep: str) -> dict[str, Any]:
    """Finished configuration runs of earlier runs of the same sweep, by trial hash (newest wins)."""
    runs = client.search_runs([experiment_id], f"tags.sweep_hash = '{sweep}' and tags.role = 'configuration' "
                                               "and attributes.status = 'FINISHED'",
                              order_by=["attributes.start_time ASC"], max_results=50000)
    return {r.data.tags["trial_hash"]: r for r in runs if "trial_hash" in r.data.tags}


def _short_key(key: str) -> str:
    return key.removeprefix("model.").replace("classifier.", "").replace("normalize.", "norm.")


def config_name(overrides: dict[str, Any]) -> str:
    """Child run name: the grid values that make this configuration differ, e.g. ``C=10.0``."""
    if not overrides:
        return "base"
    parts = []
    for key, value in overrides.items():
        short = _short_key(key)
        if isinstance(value, dict):
            value = ",".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = "-".join(map(str, value))
        parts.append(f"{short}={value}")
    return " ".join(parts)


def sweep_name(dataset_label: str, configurations) -> str:
    """Parent run name: the dataset and what the sweep varies, e.g. ``idlib: sweep target_mode × C (4)``."""
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


def _champion_scores(client, model_name: str, *metrics: str) -> tuple[str | None, list[float | None]]:
    """The champion's version and its run's value of each metric (None: no champion or no such metric)."""
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None, [None] * len(metrics)
    values = client.get_run(version.run_id).data.metrics
    return version.version, [values.get(metric) for metric in metrics]


def _log_sweep_plot(mlflow, results: list[ConfigResult], folds: list[pd.DataFrame], select: str, title: str):
    """``plots/cv_spread.png`` on the parent run: per-fold scores of every configuration."""
    fig = plots.cv_spread_figure({r.name: f[select].tolist() for r, f in zip(results, folds)}, select, title,
                                 best=max(results, key=lambda r: r.cv_mean[select]).name)
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
            from stancelab.analysis import log_error_analysis

            log_error_analysis(mlflow, model, scored, tasks, tmp)


def train(config: ExperimentConfig, tracking_uri: str | None = None, progress=None) -> TrainResult:
    """Cross-validate each configuration, refit the best on all of train, log, register, promote."""
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    from stancelab.progress import Progress

    tasks = list(config.tasks)
    ds_cfg = config.dataset
    frame = datasets.load(ds_cfg.name, ds_cfg.train_split, ds_cfg.data_dir, tasks, verify=ds_cfg.verify_checksums)
    report: datasets.DataReport = frame.attrs["report"]
    splits = cv_splits(frame, config.cv.folds, config.seed)
    tracking.setup(tracking_uri)  # after the data checks: bad data must not create or touch a store
    configurations = config.configurations()
    select = config.cv.select_by

    experiment_id = tracking.ensure_experiment(config.experiment)
    client = MlflowClient()
    dataset_label = datasets.label(ds_cfg.name)
    base_tags = {"dataset": dataset_label, "split": ds_cfg.train_split, "tasks": ",".join(tasks),
                 "targets": ",".join(sorted(frame["target"].unique())),
                 "seed": str(config.seed), **tracking.git_info(), **tracking.environment_tags()}
    progress = progress or Progress(quiet=True)
    with mlflow.start_run(run_name=sweep_name(dataset_label, configurations),
                          tags={**base_tags, "role": "sweep"}) as parent:
        sha = tracking.log_dataset(frame, dataset_label, ds_cfg.train_split, "training")
        mlflow.log_dict(config_to_dict(config), "config.json")
        mlflow.set_tags({"dataset_sha256": sha, "data_checksum": frame.attrs.get("checksum", ""),
                         "data_rows": str(len(frame)),
                         "data_exact_duplicates": str(report.exact_duplicates),
                         "data_conflicting_duplicates": str(report.conflicting_duplicates)})
        mlflow.log_params({"cv.folds": config.cv.folds, "cv.select_by": select, "n_configurations": len(configurations),
                           "search.kind": config.search.kind})
        sweep_start = time.perf_counter()
        sweep = sweep_hash(config, sha)
        done = _finished_trials(client, experiment_id, sweep) if config.search.resume else {}
        hashes = [trial_hash(model_cfg) for _, model_cfg in configurations]
        results = [None] * len(configurations)
        oofs = [None] * len(configurations)
        folds = [None] * len(configurations)
        for i, h in enumerate(hashes):
            if h in done:
                run = done[h]
                mean = {k[3:]: v for k, v in run.data.metrics.items() if k.startswith("cv_") and not k.endswith("_std")
                        and k != "cv_seconds"}
                std = {k[3:-4]: v for k, v in run.data.metrics.items() if k.startswith("cv_") and k.endswith("_std")}
                results[i] = ConfigResult(config_name(configurations[i][0]), configurations[i][0], run.info.run_id,
                                          mean, std, run.data.metrics.get("cv_seconds", 0.0))
        todo = [i for i, r in enumerate(results) if r is None]
        mlflow.set_tags({"sweep_hash": sweep, "reused_trials": str(len(configurations) - len(todo))})
        task_bar = progress.add_task("cross-validating", total=len(todo) * config.cv.folds)
        with tempfile.TemporaryDirectory(prefix="stancelab-cv-cache-") as cache_dir:
            memory = Memory(cache_dir, verbose=0) if config.cv.cache else None
            for k, oof, fold_table, seconds in cross_validate_many([configurations[i][1] for i in todo], frame, tasks,
                                                                   splits, config.seed, config.n_jobs, memory):
                i = todo[k]
                overrides, model_cfg = configurations[i]
                name = config_name(overrides)
                with mlflow.start_run(run_name=name, nested=True,
                                      tags={**base_tags, "role": "configuration", "sweep_hash": sweep,
                                            "trial_hash": hashes[i], "model_family": model_cfg.classifier.kind,
                                            "target_mode": model_cfg.target_mode}) as child:
                    mlflow.log_params(flat_params(model_cfg))
                    mean, std = fold_table.mean().to_dict(), fold_table.std(ddof=1).fillna(0).to_dict()
                    mlflow.log_metrics({f"cv_{k}": v for k, v in mean.items()})
                    mlflow.log_metrics({f"cv_{k}_std": v for k, v in std.items()})
                    mlflow.log_metric("cv_seconds", seconds)
                results[i] = ConfigResult(name, overrides, child.info.run_id, mean, std, seconds)
                oofs[i], folds[i] = oof, fold_table
                progress.advance(task_bar, config.cv.folds)
            best_index = selection.choose([c for _, c in configurations], [r.cv_mean for r in results], select,
                                          config.cv.select_sentiment_by)  # first best on ties
            if oofs[best_index] is None:  # the best is a reused trial: recompute its out-of-fold predictions
                oofs[best_index], folds[best_index] = cross_validate(
                    build_pipeline(configurations[best_index][1], tasks, config.seed, memory=memory),
                    frame, tasks, splits, config.n_jobs)
        sweep_seconds = time.perf_counter() - sweep_start
        best = results[best_index]
        best_cfg = configurations[best_index][1]
        progress.remove_task(task_bar)

        refit_bar = progress.add_task("refitting the best configuration on all of train", total=1)
        start = time.perf_counter()
        X, Y = model_input(frame), frame[tasks].astype(object)
        model = build_pipeline(best_cfg, tasks, config.seed).fit(X, Y)
        fit_seconds = time.perf_counter() - start
        progress.advance(refit_bar)
        progress.remove_task(refit_bar)

        # the chosen configuration under the children's keys, so the sweep lines up with them in the UI
        mlflow.log_params(flat_params(best_cfg))
        mlflow.set_tags({"best_configuration": best.name, "best_run_id": best.run_id,
                         "model_family": best_cfg.classifier.kind, "target_mode": best_cfg.target_mode})
        mlflow.log_metrics({f"cv_{k}": v for k, v in best.cv_mean.items()})
        mlflow.log_metrics({f"cv_{k}_std": v for k, v in best.cv_std.items()})
        mlflow.log_metric("fit_seconds", fit_seconds)
        mlflow.log_metric("cv_seconds", sum(r.cv_seconds for r in results))  # the whole sweep (summed fits)
        mlflow.log_metric("cv_wall_seconds", sweep_seconds)  # wall clock of the whole sweep
        mlflow.log_metric("fit_vocabulary_size", _vocabulary_size(model))
        chosen = getattr(model.named_steps["joint"], "none_scales_", None)  # model.none_scale_per_target
        if chosen:
            mlflow.log_params({f"fitted.none_scale.{target}": scale for target, scale in chosen.items()})
        _log_best_artifacts(mlflow, frame, tasks, oofs[best_index], folds[best_index], ds_cfg.name, model)
        ran = [i for i, f in enumerate(folds) if f is not None]  # reused trials have no fold table here
        _log_sweep_plot(mlflow, [results[i] for i in ran], [folds[i] for i in ran], select,
                        f"{config.experiment}: {config.cv.folds}-fold CV")
        mlflow.log_table(pd.DataFrame([{"configuration": r.name, **{f"cv_{k}": v for k, v in r.cv_mean.items()},
                                        "cv_seconds": r.cv_seconds} for r in results]),
                         "reports/cv_configurations.json")

        example = X.head(3)
        signature = infer_signature(example, pd.DataFrame(model.predict(example), columns=tasks))
        target_map = datasets.target_names(ds_cfg.name, frame)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=TRUSTED_TYPES,
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            metadata={"tasks": tasks, "targets": target_map, "dataset": dataset_label,
                      "train_sha256": sha, "select_by": select, "cv_score": best.cv_mean[select]},
        )
        tie = config.cv.select_sentiment_by
        version, promote, previous = register(client, info.model_uri, config.model_name, select,
                                              best.cv_mean[select], {"dataset": dataset_label},
                                              (tie, best.cv_mean[tie]) if tie in best.cv_mean else None)
        mlflow.set_tag("champion", str(promote).lower())
        mlflow.log_dict({"data_report": report.as_dict()}, "reports/data_report.json")

    return TrainResult(
        experiment_id=experiment_id,
        parent_run_id=parent.info.run_id,
        best=best,
        configurations=results,
        model_uri=f"models:/{config.model_name}/{version}",
        registered_model=config.model_name,
        model_version=version,
        champion=promote,
        previous_champion=previous,
        data_warnings=list(report.warnings),
    )


def beats_champion(score: float, previous_score: float | None, tie_score: float | None = None,
                   previous_tie_score: float | None = None) -> bool:
    """Whether a new model takes ``champion``: a higher CV score, or an equal one and a higher score on
    the tie-break metric (the experiment's ``cv.select_sentiment_by``: the sweep chose by it too)."""
    if previous_score is None or score > previous_score:
        return True
    return (score == previous_score and tie_score is not None and previous_tie_score is not None
            and tie_score > previous_tie_score)


def register(client, model_uri: str, model_name: str, select: str, score: float,
             tags: dict[str, str], tie_break: tuple[str, float] | None = None) -> tuple[str, bool, str | None]:
    """Register a logged model and move ``champion`` to it if it beats the current champion's CV score
    (``tie_break``: ``(metric, score)`` that decides an exact tie, see :func:`beats_champion`).

    Read-compare-write under the store lock: two ``train.py`` processes finishing together must not
    both read the old champion and let the weaker model take the alias last."""
    import mlflow

    with tracking.store_lock():
        registered = mlflow.register_model(model_uri, model_name)
        version = str(registered.version)
        metrics = [f"cv_{select}"] + ([f"cv_{tie_break[0]}"] if tie_break else [])
        previous, (previous_score, *previous_tie) = _champion_scores(client, model_name, *metrics)
        promote = beats_champion(score, previous_score, tie_break and tie_break[1],
                                 previous_tie[0] if previous_tie else None)
        for key, value in {f"cv_{select}": f"{score:.4f}", **tags}.items():
            client.set_model_version_tag(model_name, version, key, value)
        if promote:
            client.set_registered_model_alias(model_name, CHAMPION, version)
    return version, promote, previous


def pip_requirements() -> list[str]:
    """Pinned runtime requirements of a logged model (skips MLflow's slow import-capturing inference).
    The project itself (``pip install`` of this repository) provides the model's own classes."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("scikit-learn", "skops", "numpy", "scipy", "pandas")]


def _vocabulary_size(model) -> int:
    from features import vocabulary_size
    from stancelab.estimators import TargetRouter

    total = 0
    for estimator in model.named_steps["joint"].estimators_:
        members = estimator.estimators_.values() if isinstance(estimator, TargetRouter) else [estimator]
        for member in members:
            if not isinstance(member, str):
                total += vocabulary_size(member.named_steps["features"])
    return total


def results_table(result: TrainResult, select_by: str) -> list[dict[str, Any]]:
    """One short row per configuration, best first: the selection metric ± sd and the headline scores."""
    keys = list(dict.fromkeys([select_by, "f_avg", "stance_macro_f1", "sentiment_macro_f1"]))
    rows = []
    for r in sorted(result.configurations, key=lambda r: -r.cv_mean[select_by]):
        rows.append({"configuration": r.name,
                     **{f"cv_{k}": f"{r.cv_mean[k]:.3f} ± {r.cv_std[k]:.3f}" for k in keys if k in r.cv_mean},
                     "cv seconds": f"{r.cv_seconds:.1f}", "best": "*" if r is result.best else ""})
    return rows
