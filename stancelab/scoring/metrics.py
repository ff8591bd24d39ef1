"""Stance and sentiment metrics, with stratified bootstrap confidence intervals.

Definitions follow the official scorers:

- ``f_avg`` (SemEval-2016 Task 6, ``eval.pl``): F1 of ``favor`` and of ``against`` computed from
  counts pooled over all targets, then averaged. ``none`` only counts as a wrong guess or a miss.
  Precision (recall) is 0 when a class is never guessed (never gold), and F1 is 0 when both are 0.
- ``f_avg_target_mean`` (StanceEval 2024 / Mawqif): the same F_avg within each target, then the
  unweighted mean over targets.
- ``sentiment_f_pn`` (WANLP 2021 ArSarcasm-v2 subtask 2): the mean of F1(positive) and F1(negative);
  ``neutral`` rows count as gold and as guesses, but its F1 is not averaged (F_avg's rule for sentiment).
- ``*_macro_f1``: unweighted mean of F1 over all labels of the task; ``*_accuracy``: share correct.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from stancelab.labels import AGAINST, FAVOR, NEGATIVE, POSITIVE, SENTIMENT_LABELS, STANCE_LABELS


def _f1(gold: np.ndarray, pred: np.ndarray, label: str) -> float:
    tp = float(np.sum((gold == label) & (pred == label)))
    guessed = float(np.sum(pred == label))
    actual = float(np.sum(gold == label))
    precision = tp / guessed if guessed else 0.0
    recall = tp / actual if actual else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def f1_per_label(gold, pred, labels: Sequence[str]) -> dict[str, float]:
    gold, pred = np.asarray(gold, dtype=object), np.asarray(pred, dtype=object)
    return {label: _f1(gold, pred, label) for label in labels}


def f_avg(gold, pred) -> float:
    """SemEval-2016 F_avg: mean of F1(favor) and F1(against) from pooled counts."""
    scores = f1_per_label(gold, pred, (FAVOR, AGAINST))
    return (scores[FAVOR] + scores[AGAINST]) / 2


def f_pn(gold, pred) -> float:
    """WANLP 2021 F-PN: mean of F1(positive) and F1(negative)."""
    scores = f1_per_label(gold, pred, (POSITIVE, NEGATIVE))
    return (scores[POSITIVE] + scores[NEGATIVE]) / 2


def f_avg_target_mean(gold, pred, targets) -> float:
    """StanceEval 2024: F_avg within each target, then the mean over targets."""
    gold, pred, targets = (np.asarray(a, dtype=object) for a in (gold, pred, targets))
    values = [f_avg(gold[targets == t], pred[targets == t]) for t in sorted(set(targets))]
    return float(np.mean(values)) if values else 0.0


def macro_f1(gold, pred, labels: Sequence[str]) -> float:
    return float(np.mean(list(f1_per_label(gold, pred, labels).values())))


def accuracy(gold, pred) -> float:
    gold, pred = np.asarray(gold, dtype=object), np.asarray(pred, dtype=object)
    return float(np.mean(gold == pred)) if len(gold) else 0.0


def stance_scores(gold, pred, targets) -> dict[str, float]:
    return {
        "f_avg": f_avg(gold, pred),
        "f_avg_target_mean": f_avg_target_mean(gold, pred, targets),
        "stance_macro_f1": macro_f1(gold, pred, STANCE_LABELS),
        "stance_accuracy": accuracy(gold, pred),
    }


def sentiment_scores(gold, pred) -> dict[str, float]:
    return {
        "sentiment_macro_f1": macro_f1(gold, pred, SENTIMENT_LABELS),
        "sentiment_f_pn": f_pn(gold, pred),
        "sentiment_accuracy": accuracy(gold, pred),
    }


def all_scores(frame, tasks: Sequence[str] = ("stance", "sentiment")) -> dict[str, float]:
    """Scores for a frame with columns ``target``, ``<task>`` (gold) and ``pred_<task>``."""
    scores: dict[str, float] = {}
    if "stance" in tasks:
        scores.update(stance_scores(frame["stance"].to_numpy(object), frame["pred_stance"].to_numpy(object),
                                    frame["target"].to_numpy(object)))
    if "sentiment" in tasks:
        scores.update(sentiment_scores(frame["sentiment"].to_numpy(object),
                                       frame["pred_sentiment"].to_numpy(object)))
    return scores


def resampling_units(frame, strata: str | None, clusters: str | None) -> list[list[np.ndarray]]:
    """Groups of clusters to resample from: per stratum, each cluster as an array of its row positions.

    Clusters (rows sharing a text) are resampled whole, since they are not independent. When a
    cluster spans several strata (the embedded corpus labels each sentence for every target),
    clusters are resampled across strata; each resample then still has every stratum's size
    whenever each cluster holds one row per stratum.
    """
    cluster_ids = frame[clusters].to_numpy() if clusters is not None and clusters in frame else np.arange(len(frame))
    strata_ids = frame[strata].to_numpy() if strata is not None and strata in frame else np.zeros(len(frame))
    crossing = pd.DataFrame({"c": cluster_ids, "s": strata_ids}).groupby("c")["s"].nunique().gt(1).any()
    if crossing:
        strata_ids = np.zeros(len(frame))
    units = []
    for stratum in pd.unique(strata_ids):
        rows = np.flatnonzero(strata_ids == stratum)
        by_cluster = pd.Series(rows).groupby(cluster_ids[rows], sort=False).apply(lambda r: r.to_numpy())
        units.append(list(by_cluster))
    return units


def bootstrap_intervals(frame, score_fn: Callable[[object], dict[str, float]], *, n_resamples: int = 1000,
                        seed: int = 0, strata: str | None = "target", clusters: str | None = "text",
                        level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals for every score ``score_fn(frame)`` returns.

    Clusters of rows with the same text are resampled with replacement within each stratum
    (default: each target), so resamples keep the targets' sizes, per-target metrics stay defined,
    and a sentence scored for several targets (or a duplicated tweet) counts as one unit.
    """
    rng = np.random.default_rng(seed)
    units = resampling_units(frame, strata, clusters)
    samples: dict[str, list[float]] = {}
    for _ in range(n_resamples):
        picks = [group[i] for group in units for i in rng.integers(0, len(group), size=len(group))]
        index = np.concatenate(picks) if picks else np.array([], dtype=int)
        for key, value in score_fn(frame.iloc[index]).items():
            samples.setdefault(key, []).append(value)
    alpha = (1 - level) / 2
    return {key: (float(np.quantile(vals, alpha)), float(np.quantile(vals, 1 - alpha)))
            for key, vals in samples.items()}


def scores_with_intervals(frame, tasks: Sequence[str] = ("stance", "sentiment"), *, n_resamples: int = 1000,
                          seed: int = 0) -> dict[str, dict[str, float]]:
    """``{metric: {"value": v, "ci_low": lo, "ci_high": hi}}`` for every metric of the tasks."""
    point = all_scores(frame, tasks)
    intervals = bootstrap_intervals(frame, lambda f: all_scores(f, tasks), n_resamples=n_resamples, seed=seed)
    return {key: {"value": value, "ci_low": intervals[key][0], "ci_high": intervals[key][1]}
            for key, value in point.items()}
