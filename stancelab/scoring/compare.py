"""Paired comparison of two evaluation runs on the same split: is B really better than A?

Both runs must have scored the same rows (same ``id`` and ``target``, same gold labels); each
logs its per-row predictions as ``evaluation/<split>_predictions.csv``. Two tests:

- **paired bootstrap** of every metric's difference ``B - A``: the same resample (whole texts,
  stratified by target, as in :func:`stancelab.metrics.bootstrap_intervals`) is scored for both
  systems; reported with its 95% interval and a two-sided p-value (twice the smaller tail of the
  resampled differences around 0).
- **McNemar's exact test** per task on per-row correctness: ``b`` rows only A gets right, ``c``
  rows only B gets right; ``p = min(1, 2 * BinomCDF(min(b, c); b + c, 1/2))``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import binom

from stancelab.scoring import metrics
from stancelab.errors import UserError

KEY = ["id", "target"]


def mcnemar(correct_a, correct_b) -> dict[str, float]:
    """McNemar's exact (binomial) test on paired correctness vectors."""
    a, b_ = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    only_a, only_b = int(np.sum(a & ~b_)), int(np.sum(~a & b_))
    n = only_a + only_b
    p = 1.0 if n == 0 else float(min(1.0, 2 * binom.cdf(min(only_a, only_b), n, 0.5)))
    return {"only_a_correct": only_a, "only_b_correct": only_b, "p_value": p}


def paired_bootstrap(frame_a: pd.DataFrame, frame_b: pd.DataFrame, score_fn, *, n_resamples: int = 1000,
                     seed: int = 0, strata: str | None = "target", clusters: str | None = "text",
                     level: float = 0.95) -> dict[str, dict[str, float]]:
    """``{metric: {a, b, delta, ci_low, ci_high, p_value}}`` for ``score_fn`` on two aligned frames."""
    if len(frame_a) != len(frame_b):
        raise ValueError("paired frames must have the same rows")
    point_a, point_b = score_fn(frame_a), score_fn(frame_b)
    rng = np.random.default_rng(seed)
    units = metrics.resampling_units(frame_a, strata, clusters)
    deltas: dict[str, list[float]] = {k: [] for k in point_a}
    for _ in range(n_resamples):
        picks = [group[i] for group in units for i in rng.integers(0, len(group), size=len(group))]
        index = np.concatenate(picks)
        sa, sb = score_fn(frame_a.iloc[index]), score_fn(frame_b.iloc[index])
        for key in deltas:
            deltas[key].append(sb[key] - sa[key])
    alpha = (1 - level) / 2
    out = {}
    for key, values in deltas.items():
        values = np.asarray(values)
        tail = min(np.mean(values <= 0), np.mean(values >= 0)) if n_resamples else 1.0
        out[key] = {"a": point_a[key], "b": point_b[key], "delta": point_b[key] - point_a[key],
                    "ci_low": float(np.quantile(values, alpha)) if n_resamples else float("nan"),
                    "ci_high": float(np.quantile(values, 1 - alpha)) if n_resamples else float("nan"),
                    "p_value": float(min(1.0, 2 * tail))}
    return out


def align(pred_a: pd.DataFrame, pred_b: pd.DataFrame, tasks: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two prediction tables on the same rows in the same order; gold labels must agree."""
    for name, frame in (("A", pred_a), ("B", pred_b)):
        missing = [c for c in [*KEY, "text", *tasks, *[f"pred_{t}" for t in tasks]] if c not in frame]
        if missing:
            raise UserError(f"run {name}'s predictions lack column(s) {', '.join(missing)}")
    a = pred_a.astype({"id": str}).set_index(KEY).sort_index()
    b = pred_b.astype({"id": str}).set_index(KEY).sort_index()
    if not a.index.equals(b.index):
        raise UserError(f"the runs scored different rows ({len(a)} vs {len(b)}; "
                        f"{len(a.index.symmetric_difference(b.index))} not shared): compare runs on the same split")
    for task in tasks:
        if not (a[task].to_numpy() == b[task].to_numpy()).all():
            raise UserError(f"the runs disagree on the gold {task} labels: not the same data")
    return a.reset_index(), b.reset_index()


def compare_frames(pred_a: pd.DataFrame, pred_b: pd.DataFrame, tasks: Sequence[str], *, n_resamples: int = 1000,
                   seed: int = 0) -> dict:
    a, b = align(pred_a, pred_b, tasks)
    result = {"n": len(a), "bootstrap": {"resamples": n_resamples, "level": 0.95, "seed": seed},
              "metrics": paired_bootstrap(a, b, lambda f: metrics.all_scores(f, tasks),
                                          n_resamples=n_resamples, seed=seed),
              "mcnemar": {t: mcnemar(a[t] == a[f"pred_{t}"], b[t] == b[f"pred_{t}"]) for t in tasks}}
    return result


def run_predictions(run_id: str, tracking_uri: str | None = None) -> tuple[pd.DataFrame, list[str], str]:
    """An evaluation run's per-row predictions, its tasks and a label for it."""
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from stancelab import tracking

    tracking.setup(tracking_uri)
    client = MlflowClient()
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise UserError(f"run {run_id}: not found in {tracking.tracking_uri(tracking_uri)}") from None
    if run.data.tags.get("role") != "evaluation":
        raise UserError(f"run {run_id} is not an evaluation run (evaluate.py logs those)")
    split = run.data.tags.get("split", "test")
    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=f"evaluation/{split}_predictions.csv")
    except (MlflowException, OSError):
        raise UserError(f"run {run_id} has no evaluation/{split}_predictions.csv (evaluated by an older version?)") from None
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    tasks = run.data.tags.get("tasks", "stance").split(",")
    return frame, tasks, run.info.run_name or run_id


def compare_runs(run_a: str, run_b: str, tracking_uri: str | None = None, *, n_resamples: int = 1000,
                 seed: int = 0) -> dict:
    pred_a, tasks_a, name_a = run_predictions(run_a, tracking_uri)
    pred_b, tasks_b, name_b = run_predictions(run_b, tracking_uri)
    tasks = [t for t in tasks_a if t in tasks_b]
    result = compare_frames(pred_a, pred_b, tasks, n_resamples=n_resamples, seed=seed)
    return {"run_a": run_a, "run_b": run_b, "name_a": name_a, "name_b": name_b, **result}
