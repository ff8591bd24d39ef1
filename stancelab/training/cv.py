"""Cross-validation on the train split: folds, out-of-fold predictions and per-fold scores."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import StratifiedGroupKFold

from stancelab.data import datasets
from stancelab.errors import UserError
from stancelab.scoring import metrics
from stancelab.model.config import ModelConfig
from stancelab.model.pipeline import INPUT_COLUMNS, build_pipeline


def model_input(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns as plain Python strings."""
    out = pd.DataFrame({c: (frame[c] if c in frame else "") for c in INPUT_COLUMNS})
    return out.astype(object).fillna("")


def cv_splits(frame: pd.DataFrame, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified by target x stance (by sentiment for a sentiment-only dataset); grouped by normalised
    text, so one sentence (labelled for several targets, or duplicated) never sits on both sides of a
    fold. A target whose rows carry one stance label cannot train a stance head: refused, naming the file."""
    source = ", ".join(map(str, frame.attrs.get("paths", []))) or "the training data"
    stance = frame["stance"].astype(str).str.len().gt(0).all()  # else a sentiment-only dataset
    for target, labels in frame.groupby("target")["stance"] if stance else ():
        if labels.nunique() < 2:
            raise UserError(f"{source}: target {target!r} has one stance label only ({labels.iloc[0]}); "
                            "a stance head needs rows with at least two")
    strata = (frame["target"] + "|" + frame["stance"] if stance else frame["sentiment"]).to_numpy()
    groups = frame["text"].map(datasets.text_key).to_numpy()
    n_groups = len(set(groups))
    if n_groups < folds:
        raise UserError(f"{source}: only {n_groups} distinct texts for {folds}-fold cross-validation")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(frame, strata, groups))


def _fit_predict(pipeline, X, Y, train_idx, test_idx, none_scales):
    """Fit once, predict once per ``none_scale`` (a decision threshold, not a fitted parameter)."""
    began, start = time.time(), time.perf_counter()
    try:
        model = clone(pipeline).fit(X.iloc[train_idx], Y.iloc[train_idx])
    except ValueError as exc:  # a fold whose training rows leave a target with one stance label
        raise UserError(f"cross-validation fold: {exc}; use fewer folds (cv.folds) or add rows") from None
    preds = [model.set_params(heads__none_scale=s).predict(X.iloc[test_idx]) for s in none_scales]
    return test_idx, preds, time.perf_counter() - start, (began, time.time())


def _fold_scores(frame, test_idx, pred, tasks) -> dict:
    fold = frame.iloc[test_idx].assign(**{f"pred_{t}": pred[:, c] for c, t in enumerate(tasks)})
    return metrics.all_scores(fold, tasks)


def cross_validate(model_configs: list[ModelConfig], frame: pd.DataFrame, tasks, splits, seed: int,
                   n_jobs: int = 1, on_fold=None):
    """Cross-validate several configurations with one pool over every (configuration, fold) job.
    Configurations that differ only in ``none_scale`` share their fits. Yields ``(index, oof,
    fold_table, seconds, wall)`` per configuration as soon as its folds are done; ``seconds`` is its summed
    fit + predict time (a shared fit is split evenly) and ``wall`` the (first start, last end) of its
    folds in epoch seconds. ``on_fold(k)`` is called after every fold of k configurations."""
    X, Y = model_input(frame), frame[list(tasks)].astype(object)
    groups: dict[str, list[int]] = {}
    for i, cfg in enumerate(model_configs):
        groups.setdefault(cfg.model_copy(update={"none_scale": 1.0}).model_dump_json(), []).append(i)
    members = list(groups.values())
    jobs = (delayed(_fit_predict)(build_pipeline(model_configs[m[0]], tasks, seed), X, Y, tr, te,
                                  [model_configs[i].none_scale for i in m])
            for m in members for tr, te in splits)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    for m in members:
        oofs = [np.empty((len(frame), len(tasks)), dtype=object) for _ in m]
        scores: list[list[dict]] = [[] for _ in m]
        seconds, walls = 0.0, []
        for _ in splits:
            test_idx, preds, fold_seconds, wall = next(results)
            seconds += fold_seconds
            walls.append(wall)
            for j, pred in enumerate(preds):
                oofs[j][test_idx] = pred
                scores[j].append(_fold_scores(frame, test_idx, pred, tasks))
            if on_fold is not None:
                on_fold(len(m))
        for j, index in enumerate(m):
            yield index, oofs[j], pd.DataFrame(scores[j]), seconds / len(m), (min(w[0] for w in walls),
                                                                                 max(w[1] for w in walls))


def complexity(cfg: ModelConfig) -> int:
    """How many components a configuration switches on: each TF-IDF block, each normalisation step, the
    class weights, a separate sentiment classifier and a ``none`` threshold other than 1."""
    return (sum(block is not None for block in (cfg.word, cfg.char)) + sum(cfg.normalize.model_dump().values())
            + (cfg.classifier.class_weight is not None) + (cfg.sentiment_classifier is not None)
            + (cfg.none_scale != 1.0))


def choose(models: list[ModelConfig], cv_means: list[dict[str, float]], select_by: str,
           cv_ses: list[dict[str, float]] | None = None) -> tuple[int, int]:
    """``(best, chosen)``: the index of the configuration with the best CV mean (the first of equals),
    and the one chosen. Without ``cv_ses`` the best is chosen; with them, the one-standard-error rule:
    the simplest configuration whose mean is within one standard error of the best's, the simplest
    being the one with the fewest components (:func:`complexity`), then the smallest index (experiments
    list grid values simplest first)."""
    candidates = range(len(models))
    best = max(candidates, key=lambda i: cv_means[i][select_by])
    if cv_ses is None:
        return best, best
    floor = cv_means[best][select_by] - cv_ses[best][select_by]
    near = [i for i in candidates if cv_means[i][select_by] >= floor]
    return best, min(near, key=lambda i: (complexity(models[i]), i))
