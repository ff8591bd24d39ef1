"""The model's shape in one place: one shared feature block, a stance head per target, a sentiment head.

:class:`SharedFeatureHeads` is the last step of the model's Pipeline (after the normaliser). It turns
each quote into one sparse TF-IDF row, once, and every head reads that same row: the stance head of
the quote's target and the sentiment head. Each head is a plain scikit-learn classifier.

Input is a DataFrame with ``text`` and ``target``; ``y`` has a column per task (``stance``, then
``sentiment``; either may be left out by building the model without that head: a sentiment-only model
has no targets).
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
        heads = (("stance", self.stance), ("sentiment", self.sentiment))
        Y = _as_frame(y, [task for task, head in heads if head is not None])
        self.tasks_ = list(Y.columns)
        self.features_ = clone(self.features)
        matrix = self.features_.fit_transform(_texts(X["text"])).tocsr()
        self.stance_heads_, self.classes_ = [], []
        self.targets_ = np.asarray([], dtype=object)
        if "stance" in self.tasks_:
            self._fit_stance(matrix, X["target"].to_numpy(dtype=object), Y["stance"].to_numpy(dtype=object))
        self.sentiment_head_ = None
        if "sentiment" in self.tasks_:
            self.sentiment_head_ = clone(self.sentiment).fit(matrix, Y["sentiment"].to_numpy(dtype=object))
            self.classes_.append(np.asarray(self.sentiment_head_.classes_, dtype=object))
        return self

    def _fit_stance(self, matrix, targets, stance):
        """A stance head per target, on that target's rows of the shared block."""
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
        self.classes_.append(np.asarray(sorted(set(stance)), dtype=object))

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

    def _layout(self):
        """Every head's coefficients side by side, built once per process (never saved): one product
        of the shared rows with this matrix gives every head's decision function at once."""
        layout = self.__dict__.get("_heads_layout")
        if layout is None:
            heads = [*self.stance_heads_, *([self.sentiment_head_] if self.sentiment_head_ is not None else [])]
            spans, start = [], 0
            for head in heads:
                spans.append((start, start + len(head.coef_)))
                start += len(head.coef_)
            coef = np.ascontiguousarray(np.vstack([h.coef_ for h in heads]).T)
            layout = self._heads_layout = (heads, spans, coef, np.concatenate([h.intercept_ for h in heads]))
        return layout

    def proba_of(self, matrix, targets) -> list[np.ndarray]:
        """Per task, the probabilities of the rows of ``matrix`` (from :meth:`featurize`): each head's
        ``predict_proba``, computed from its public ``coef_`` and ``intercept_`` in one product for all
        heads (the softmax of the decision function, or for a two-class head its logistic)."""
        check_is_fitted(self, "features_")
        heads, spans, coef, intercept = self._layout()
        scores = np.asarray(matrix @ coef) + intercept
        out = [self._stance_proba(scores, heads, spans, targets)] if "stance" in self.tasks_ else []
        if self.sentiment_head_ is not None:
            out.append(_proba(scores[:, spans[-1][0]:spans[-1][1]]))
        return out

    def _stance_proba(self, scores, heads, spans, targets) -> np.ndarray:
        """The stance probabilities of each row from its target's head, on the union of stance labels."""
        index = self.target_index(targets)
        stance_classes = list(self.classes_[0])
        stance = np.zeros((scores.shape[0], len(stance_classes)))
        for k in np.unique(index):
            rows = np.flatnonzero(index == k)
            columns = [stance_classes.index(c) for c in heads[k].classes_]
            stance[np.ix_(rows, columns)] = _proba(scores[rows, spans[k][0]:spans[k][1]])
        if self.none_scale != 1.0 and NONE in stance_classes:
            stance[:, stance_classes.index(NONE)] *= self.none_scale
            stance /= stance.sum(axis=1, keepdims=True)
        return stance

    def predict_proba(self, X) -> list[np.ndarray]:
        return self.proba_of(self.featurize(X["text"]), X["target"] if "target" in X else [""] * len(X))

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

    def evidence(self, matrix, labels: list[np.ndarray], targets, size: int = 5) -> list[list[list[dict]]]:
        """For every row of ``matrix`` and every task, the ``size`` features that pushed that task's head
        most towards the row's label: value x (class coefficient - mean coefficient), largest first,
        positive ones only; read off the same sparse rows that were scored, for the whole batch at once."""
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        names = self.feature_names()
        out = [[[] for _ in self.tasks_] for _ in range(matrix.shape[0])]
        for t, task in enumerate(self.tasks_):
            heads = self.stance_heads_ if task == "stance" else [self.sentiment_head_]
            head_of_row = self.target_index(targets) if task == "stance" else np.zeros(matrix.shape[0], dtype=np.int64)
            weights, column_of = self._label_weights(task, heads)
            label_column = np.asarray([column_of[(int(h), str(label))] for h, label in zip(head_of_row, labels[t])])
            value = matrix.data * weights[matrix.indices, label_column[rows]]
            keep = np.flatnonzero(value > 0)
            order = keep[top_per_row(rows[keep], value[keep], matrix.indices[keep], size)]
            parts = self.__dict__.setdefault("_name_parts", {})  # column -> (kind, n-gram), as met
            columns = matrix.indices[order].tolist()
            for column in set(columns) - parts.keys():
                kind, _, ngram = str(names[column]).partition("__")
                parts[column] = (kind, ngram.strip())
            for row, column, weight in zip(rows[order].tolist(), columns, value[order].round(4).tolist()):
                kind, ngram = parts[column]
                out[row][t].append({"ngram": ngram, "kind": kind, "weight": weight})
        return out

    def _label_weights(self, task: str, heads):
        """Columns: one per (head, label): that label's weight vector (see :func:`label_weights`)."""
        cache = self.__dict__.setdefault("_label_weights_cache", {})
        if task not in cache:
            columns, column_of = [], {}
            for h, head in enumerate(heads):
                for label in head.classes_:
                    column_of[(h, str(label))] = len(columns)
                    columns.append(label_weights(head, label))
            cache[task] = (np.ascontiguousarray(np.column_stack(columns)), column_of)
        return cache[task]

    def __getstate__(self):  # what is built from the fitted heads is rebuilt after loading
        return {k: v for k, v in self.__dict__.items() if k not in ("_names", "_name_parts", "_heads_layout",
                                                                  "_label_weights_cache")}


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


def top_per_row(rows: np.ndarray, values: np.ndarray, columns: np.ndarray, size: int) -> np.ndarray:
    """Positions of the ``size`` largest ``values`` of each row (``rows`` ascending, columns unique
    within a row), ordered by row, then value (largest first), then column. Found by taking each row's
    largest ``size`` times over (ties: the smallest column first), a few passes over the arrays rather
    than a sort of all of them."""
    if not len(rows):
        return np.empty(0, dtype=np.int64)
    heads = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # each row's first entry
    segment = np.repeat(np.arange(len(heads)), np.diff(np.r_[heads, len(rows)]))
    left = np.array(values, dtype=np.float64)
    never = np.iinfo(columns.dtype).max  # numpy 2 casts a Python int to the array's integer type
    picked = []
    for _ in range(size):
        best = np.maximum.reduceat(left, heads)[segment]
        tied = (left == best) & (left > -np.inf)
        if not tied.any():
            break
        first = np.minimum.reduceat(np.where(tied, columns, never), heads)[segment]
        take = np.flatnonzero(tied & (columns == first))
        picked.append(take)
        left[take] = -np.inf
    picked = np.concatenate(picked)
    return picked[np.lexsort((columns[picked], -values[picked], rows[picked]))]


def _proba(scores: np.ndarray) -> np.ndarray:
    """LogisticRegression.predict_proba from its decision function: the logistic for two classes
    (one column of scores), else the softmax."""
    if scores.shape[1] == 1:
        positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
        return np.column_stack([1.0 - positive, positive])
    scores = scores - scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    return scores / scores.sum(axis=1, keepdims=True)


def _as_frame(y, tasks) -> pd.DataFrame:
    if isinstance(y, pd.DataFrame):
        return y[[t for t in tasks if t in y.columns]]
    arr = np.asarray(y, dtype=object)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return pd.DataFrame(arr[:, : len(tasks)], columns=list(tasks)[: arr.shape[1]])


def _texts(texts) -> list[str]:
    return texts.tolist() if hasattr(texts, "tolist") else list(texts)
