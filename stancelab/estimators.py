"""The project's own scikit-learn meta-estimators. They are importable, named types so skops can
load a model with an explicit list of trusted types (see ``stancelab.model.TRUSTED_TYPES``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone


def _as_frame(Y, tasks):
    if isinstance(Y, pd.DataFrame):
        return Y[list(tasks)]
    arr = np.asarray(Y, dtype=object)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return pd.DataFrame(arr[:, : len(tasks)], columns=list(tasks))


class TargetRouter(ClassifierMixin, BaseEstimator):
    """One clone of ``estimator`` per target: rows are routed by the ``target`` column.

    A target whose training rows carry a single label predicts that label with probability 1.
    Probabilities are laid out on the union of labels (``classes_``), so every target's model
    answers in the same columns.
    """

    def __init__(self, estimator=None, column="target"):
        self.estimator = estimator
        self.column = column

    def fit(self, X, y):
        y = np.asarray(y, dtype=object)
        targets = X[self.column].to_numpy(dtype=object)
        self.classes_ = np.array(sorted(set(y)), dtype=object)
        self.estimators_ = {}
        for target in sorted(set(targets)):
            rows = targets == target
            labels = set(y[rows])
            if len(labels) == 1:
                self.estimators_[target] = next(iter(labels))
            else:
                self.estimators_[target] = clone(self.estimator).fit(X[rows], y[rows])
        return self

    @property
    def targets_(self):
        return list(self.estimators_)

    def _check_targets(self, targets):
        unknown = sorted(set(targets) - set(self.estimators_))
        if unknown:
            raise ValueError(f"unknown target(s) {unknown}; known targets: {sorted(self.estimators_)}")

    def predict_proba(self, X):
        targets = X[self.column].to_numpy(dtype=object)
        self._check_targets(targets)
        out = np.zeros((len(X), len(self.classes_)))
        column_of = {label: i for i, label in enumerate(self.classes_)}
        for target in set(targets):
            rows = np.flatnonzero(targets == target)
            model = self.estimators_[target]
            if isinstance(model, str):
                out[rows, column_of[model]] = 1.0
                continue
            proba = model.predict_proba(X.iloc[rows])
            for j, label in enumerate(model.classes_):
                out[rows, column_of[label]] = proba[:, j]
        return out

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class JointClassifier(ClassifierMixin, BaseEstimator):
    """Stance and sentiment in one estimator: ``y`` has a column per task (``stance`` first).

    ``predict`` returns an ``(n, n_tasks)`` array of labels, ``predict_proba`` a list with one
    probability array per task, and ``classes_`` a list of label arrays, as scikit-learn's
    multi-output classifiers do.
    """

    def __init__(self, stance=None, sentiment=None):
        self.stance = stance
        self.sentiment = sentiment

    def _templates(self):
        return [(task, est) for task, est in (("stance", self.stance), ("sentiment", self.sentiment))
                if est is not None]

    def fit(self, X, y):
        tasks = [task for task, _ in self._templates()]
        Y = _as_frame(y, tasks)
        self.tasks_ = tasks
        self.estimators_ = [clone(est).fit(X, Y[task].to_numpy(dtype=object)) for task, est in self._templates()]
        self.classes_ = [np.asarray(est.classes_, dtype=object) for est in self.estimators_]
        return self

    def estimator_for(self, task):
        return self.estimators_[self.tasks_.index(task)]

    def predict_proba(self, X):
        return [est.predict_proba(X) for est in self.estimators_]

    def predict(self, X):
        return np.column_stack([np.asarray(est.predict(X), dtype=object) for est in self.estimators_])

    def score(self, X, y, sample_weight=None):
        Y = _as_frame(y, self.tasks_).to_numpy(dtype=object)
        return float(np.mean(self.predict(X) == Y))
