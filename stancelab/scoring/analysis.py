"""Error-analysis tables logged with every training run (``reports/`` artifacts).

- ``fit_top_ngrams.csv``: per task, target (stance models are per target) and class, the n-grams with
  the largest weight towards that class relative to the other classes (the model's own coefficients:
  this is where leaks and artefacts show).
- ``cv_confusion_per_target.csv``: out-of-fold confusion counts per target and task.
- ``cv_errors.csv``: every out-of-fold misclassified training row, with gold and predicted labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stancelab.model.heads import label_weights


def top_ngrams(model, tasks, k: int = 20) -> pd.DataFrame:
    """Per task, target and class: the ``k`` features with the largest weight towards the class."""
    heads = model.named_steps["heads"]
    names = np.asarray(heads.feature_names(), dtype=object)
    members = [("stance", t, heads.head("stance", t)) for t in heads.targets_]
    if "sentiment" in tasks and heads.sentiment_head_ is not None:
        members.append(("sentiment", "(all)", heads.sentiment_head_))
    rows = []
    for task, target, head in members:
        for label in head.classes_:
            w = label_weights(head, label)
            for rank, j in enumerate(np.argsort(-w, kind="stable")[:k], start=1):
                kind, _, ngram = str(names[j]).partition("__")
                rows.append({"task": task, "target": target, "label": label, "rank": rank, "ngram": ngram,
                             "kind": kind, "weight": round(float(w[j]), 4)})
    return pd.DataFrame(rows, columns=["task", "target", "label", "rank", "ngram", "kind", "weight"])


def confusion_per_target(scored: pd.DataFrame, tasks) -> pd.DataFrame:
    rows = []
    for task in tasks:
        counts = scored.groupby(["target", task, f"pred_{task}"]).size()
        for (target, gold, pred), n in counts.items():
            rows.append({"task": task, "target": target, "gold": gold, "pred": pred, "n": int(n)})
    return pd.DataFrame(rows, columns=["task", "target", "gold", "pred", "n"])


def errors(scored: pd.DataFrame, tasks) -> pd.DataFrame:
    gold = scored[list(tasks)].to_numpy()
    pred = scored[[f"pred_{t}" for t in tasks]].to_numpy()
    wrong = scored[(gold != pred).any(axis=1)]
    columns = [c for c in ("id", "text", "actor", "target") if c in scored] + [*tasks, *[f"pred_{t}" for t in tasks]]
    return wrong[columns]


def log_error_analysis(mlflow, model, scored: pd.DataFrame, tasks, folder) -> None:
    """Write the three tables into ``folder`` and log them under ``reports/``."""
    top_ngrams(model, tasks).to_csv(folder / "fit_top_ngrams.csv", index=False)
    confusion_per_target(scored, tasks).to_csv(folder / "cv_confusion_per_target.csv", index=False)
    errors(scored, tasks).to_csv(folder / "cv_errors.csv", index=False)
    for name in ("fit_top_ngrams.csv", "cv_confusion_per_target.csv", "cv_errors.csv"):
        mlflow.log_artifact(str(folder / name), "reports")
