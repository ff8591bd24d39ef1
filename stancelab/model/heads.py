"""The model's shape in one place: one shared feature block, a stance head per target, a sentiment head.

:class:`SharedFeatureHeads` is the last step of the model's Pipeline (after the normaliser). It turns
each quote into one sparse TF-IDF row, once, and every head reads that same row: the stance head of
the quote's target and the sentiment head. Each head is a plain scikit-learn classifier.

Input is a DataFrame with ``text`` (normalised by the Pipeline's first step) and ``target``;
``y`` has a column per task (``stance`` first, then optionally ``sentiment``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

NONE = "none"


class SharedFeatureHeads(ClassifierMixin, BaseEstimator):
    """Stance per target and sentiment from one shared feature block.

    ``predict`` returns an ``(n, n_tasks)`` array of labels, ``predict_proba`` a list with one
    probability array per task and ``classes_`` a list of label arrays, as scikit-learn's
    multi-output classifiers do. Stance probabilities of every target are laid out on the union of
    stance labels. ``none_scale`` multiplies p(none) before the probabilities are renormalised: the
    decision threshold for ``none``.
    """

    def __init__(self, features=None, stance=None, sentiment=None, none_scale=1.0):
        self.features = features
        self.stance = stance
        self.sentiment = sentiment
        self.none_scale = none_scale

    # ------------------------------------------------------------------ fit
    def fit(self, X, y):
        Y = _as_frame(y, ["stance", "sentiment"] if self.sentiment is not None else ["stance"])
        self.tasks_ = list(Y.columns)
        self.features_ = clone(self.features)
        matrix = self.features_.fit_transform(_texts(X["text"])).tocsr()
        targets = X["target"].to_numpy(dtype=object)
        stance = Y["stance"].to_numpy(dtype=object)
        self.targets_ = np.asarray(sorted(set(targets)), dtype=object)
        heads = []
        for target in self.targets_:
            rows = np.flatnonzero(targets == target)
            labels = set(stance[rows])
            if len(labels) < 2:
                raise ValueError(f"target {target!r}: its training rows have one stance label only ({labels.pop()}); "
                                 "a stance head needs at least two")
            heads.append(clone(self.stance).fit(matrix[rows], stance[rows]))
        self.stance_heads_ = heads
        stance_classes = np.asarray(sorted(set(stance)), dtype=object)
        self.classes_ = [stance_classes]
        self.sentiment_head_ = None
        if "sentiment" in self.tasks_:
            self.sentiment_head_ = clone(self.sentiment).fit(matrix, Y["sentiment"].to_numpy(dtype=object))
            self.classes_.append(np.asarray(self.sentiment_head_.classes_, dtype=object))
        return self

    # ------------------------------------------------------------------ score
    def featurize(self, texts):
        """The shared block's CSR rows of normalised texts: what every head scores."""
        check_is_fitted(self, "features_")
        return self.features_.transform(_texts(texts)).tocsr()

    def target_index(self, targets) -> np.ndarray:
        """Each row's position in ``targets_``; a ValueError names unknown targets."""
        targets = np.asarray(targets, dtype=object)
        position = {t: i for i, t in enumerate(self.targets_)}
        index = np.fromiter((position.get(t, -1) for t in targets), dtype=np.int64, count=len(targets))
        if (index < 0).any():
            unknown = sorted({str(t) for t in targets[index < 0]})
            raise ValueError(f"unknown target(s) {unknown}; known targets: {list(self.targets_)}")
        return index

    def proba_of(self, matrix, targets) -> list[np.ndarray]:
        """Per task, the probabilities of the rows of ``matrix`` (from :meth:`featurize`)."""
        check_is_fitted(self, "stance_heads_")
        index = self.target_index(targets)
        stance_classes = list(self.classes_[0])
        stance = np.zeros((matrix.shape[0], len(stance_classes)))
        for k in np.unique(index):
            rows = np.flatnonzero(index == k)
            head = self.stance_heads_[k]
            columns = [stance_classes.index(c) for c in head.classes_]
            stance[np.ix_(rows, columns)] = head.predict_proba(matrix[rows] if len(rows) < len(index) else matrix)
        if self.none_scale != 1.0 and NONE in stance_classes:
            stance[:, stance_classes.index(NONE)] *= self.none_scale
            stance /= stance.sum(axis=1, keepdims=True)
        out = [stance]
        if self.sentiment_head_ is not None:
            out.append(self.sentiment_head_.predict_proba(matrix))
        return out

    def predict_proba(self, X) -> list[np.ndarray]:
        return self.proba_of(self.featurize(X["text"]), X["target"])

    def predict(self, X) -> np.ndarray:
        probas = self.predict_proba(X)
        return np.column_stack([c[np.argmax(p, axis=1)] for c, p in zip(self.classes_, probas)])

    # ------------------------------------------------------------------ evidence
    def feature_names(self) -> np.ndarray:
        """``word__<n-gram>`` / ``char__<n-gram>``, one per column of the shared block."""
        names = getattr(self, "_names", None)
        if names is None:
            names = self._names = self.features_.get_feature_names_out()
        return names

    def head(self, task: str, target: str):
        """The classifier that scores ``task`` for quotes on ``target``."""
        if task == "sentiment":
            return self.sentiment_head_
        return self.stance_heads_[int(self.target_index([target])[0])]

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_names", None)
        return state


def label_weights(head, label: str) -> np.ndarray | None:
    """Per feature, how much it pushes ``head`` towards ``label``: the class's coefficient minus the mean
    coefficient over classes (for a binary head, ± its one coefficient row)."""
    classes = list(head.classes_)
    if label not in classes:
        return None
    coef = np.asarray(head.coef_)
    if coef.shape[0] == 1:
        return coef[0] if classes.index(label) == 1 else -coef[0]
    return coef[classes.index(label)] - coef.mean(axis=0)


def top_evidence(row, weights: np.ndarray, names, size: int) -> list[dict]:
    """The ``size`` features of one CSR ``row`` that push most towards a label: value x weight, largest
    first, positive ones only."""
    indices, values = row.indices, row.data
    contributions = values * weights[indices]
    keep = np.flatnonzero(contributions > 0)
    order = keep[np.argsort(-contributions[keep], kind="stable")[:size]]
    out = []
    for column, weight in zip(indices[order].tolist(), contributions[order].tolist()):
        kind, _, ngram = str(names[column]).partition("__")
        out.append({"ngram": ngram.strip(), "kind": kind, "weight": round(weight, 4)})
    return out


def _as_frame(y, tasks) -> pd.DataFrame:
    if isinstance(y, pd.DataFrame):
        return y[[t for t in tasks if t in y.columns]]
    arr = np.asarray(y, dtype=object)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return pd.DataFrame(arr[:, : len(tasks)], columns=list(tasks)[: arr.shape[1]])


def _texts(texts) -> list[str]:
    return texts.tolist() if hasattr(texts, "tolist") else list(texts)
