"""The project's own scikit-learn meta-estimators. They are importable, named types so skops can
load a model with an explicit list of trusted types (see ``stancelab.model.TRUSTED_TYPES``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone


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


TARGET_COLUMN = "target"
NONE_SCALE_GRID = (0.35, 0.5, 0.65, 0.8, 1.0, 1.25)


def choose_none_scales(proba, classes, gold, targets, grid) -> dict:
    """Per target, the scale of ``grid`` that, multiplying p(none) before the argmax, gives the best
    F_avg (F1 of favor and against, averaged) of that target's rows. Ties go to the scale nearest 1
    (the smallest change to the model's own probabilities), then to the smaller scale."""
    from stancelab import metrics

    proba = np.asarray(proba, dtype=float)
    classes = np.asarray(classes, dtype=object)
    gold, targets = np.asarray(gold, dtype=object), np.asarray(targets, dtype=object)
    none = list(classes).index("none")
    order = sorted(grid, key=lambda s: (abs(np.log(s)), s))
    chosen = {}
    for target in sorted(set(targets)):
        rows = targets == target
        best, best_score = None, -1.0
        for scale in order:
            scaled = proba[rows].copy()
            scaled[:, none] *= scale
            score = metrics.f_avg(gold[rows], classes[np.argmax(scaled, axis=1)])
            if score > best_score:
                best, best_score = scale, score
        chosen[str(target)] = float(best)
    return chosen


class JointClassifier(ClassifierMixin, BaseEstimator):
    """Stance and sentiment in one estimator: ``y`` has a column per task (``stance`` first).

    ``predict`` returns an ``(n, n_tasks)`` array of labels, ``predict_proba`` a list with one
    probability array per task, and ``classes_`` a list of label arrays, as scikit-learn's
    multi-output classifiers do.

    ``none_scale`` multiplies the stance probability of ``none`` before the argmax (and the
    probabilities are renormalised): the decision threshold for ``none``, tuned by CV.

    ``sentiment_features``: the stance model's features contain :class:`SentimentProbabilities`
    block(s). ``fit`` then fits the sentiment model on all rows, computes out-of-fold sentiment
    probabilities for the training rows with an inner ``inner_folds``-fold CV (grouped by text, so a
    duplicated text never predicts itself), and hands both to those blocks before fitting stance:
    stance trains on sentiment predictions it could have had at prediction time, never on gold
    labels or in-sample fits.

    ``none_scale_per_target``: ``fit`` also chooses a ``none`` scale per target from
    ``none_scale_grid``: the one that maximises the target's F_avg on out-of-fold stance probabilities
    of the training rows (an inner ``inner_folds``-fold CV, stratified by target x stance and grouped
    by text, of this same estimator with the threshold off), see :func:`choose_none_scales`. The
    choices are the fitted ``none_scales_`` (target -> scale); ``none_scale`` then only serves targets
    without a choice. Applying them needs each row's target, so :meth:`scale_none` takes the targets.
    """

    def __init__(self, stance=None, sentiment=None, none_scale=1.0, sentiment_features=False, inner_folds=3,
                 random_state=0, none_scale_per_target=False, none_scale_grid=NONE_SCALE_GRID):
        self.stance = stance
        self.sentiment = sentiment
        self.none_scale = none_scale
        self.sentiment_features = sentiment_features
        self.inner_folds = inner_folds
        self.random_state = random_state
        self.none_scale_per_target = none_scale_per_target
        self.none_scale_grid = none_scale_grid

    def _templates(self):
        return [(task, est) for task, est in (("stance", self.stance), ("sentiment", self.sentiment))
                if est is not None]

    def fit(self, X, y):
        tasks = [task for task, _ in self._templates()]
        Y = _as_frame(y, tasks)
        self.tasks_ = tasks
        if self.sentiment_features:
            self.estimators_ = self._fit_joint(X, Y)
        else:
            self.estimators_ = [clone(est).fit(X, Y[task].to_numpy(dtype=object)) for task, est in self._templates()]
        self.classes_ = [np.asarray(est.classes_, dtype=object) for est in self.estimators_]
        self.none_scales_ = None
        if self.none_scale_per_target and "stance" in tasks:
            self.none_scales_ = self._choose_none_scales(X, Y)
        return self

    def _out_of_fold(self, X, strata, classes: list, fit_proba) -> np.ndarray:
        """Out-of-fold probabilities of X's rows, columns in ``classes``: an inner ``inner_folds``-fold
        CV stratified by ``strata`` and grouped by text. ``fit_proba(train_idx, test_idx)`` fits on the
        training rows and returns (the fitted classes, the test rows' probabilities)."""
        from stancelab.splits import StratifiedGroupKFold

        oof = np.zeros((len(X), len(classes)))
        splitter = StratifiedGroupKFold(n_splits=self.inner_folds, shuffle=True, random_state=self.random_state)
        for train_idx, test_idx in splitter.split(X, strata, groups=X["text"].to_numpy(dtype=object)):
            fitted_classes, proba = fit_proba(train_idx, test_idx)
            for j, label in enumerate(fitted_classes):
                oof[test_idx, classes.index(label)] = proba[:, j]
        return oof

    def _choose_none_scales(self, X, Y) -> dict:
        """Per target, the ``none`` scale of ``none_scale_grid`` with the best out-of-fold F_avg."""
        X, Y = X.reset_index(drop=True), Y.reset_index(drop=True)
        y = Y["stance"].to_numpy(dtype=object)
        targets = X[TARGET_COLUMN].to_numpy(dtype=object)
        classes = list(self.classes_[self.tasks_.index("stance")])
        # the same estimator without the threshold; sentiment only if stance reads its probabilities
        inner = clone(self).set_params(none_scale=1.0, none_scale_per_target=False,
                                       sentiment=self.sentiment if self.sentiment_features else None)
        inner_tasks = ["stance", "sentiment"] if self.sentiment_features else ["stance"]

        def fit_proba(train_idx, test_idx):
            fitted = clone(inner).fit(X.iloc[train_idx], Y.iloc[train_idx][inner_tasks])
            return fitted.classes_[0], fitted.predict_proba(X.iloc[test_idx])[0]

        strata = np.asarray([f"{t}|{label}" for t, label in zip(targets, y)], dtype=object)
        oof = self._out_of_fold(X, strata, classes, fit_proba)
        return choose_none_scales(oof, classes, y, targets, self.none_scale_grid)

    def _fit_joint(self, X, Y):
        from sklearn.frozen import FrozenEstimator

        if self.sentiment is None:
            raise ValueError("sentiment_features needs the sentiment task")
        X = X.reset_index(drop=True)  # the blocks look their training rows' OOF probabilities up by position
        y_sent = Y["sentiment"].to_numpy(dtype=object)
        sentiment = clone(self.sentiment).fit(X, y_sent)
        classes = list(sentiment.classes_)

        def fit_proba(train_idx, test_idx):
            inner = clone(self.sentiment).fit(X.iloc[train_idx], y_sent[train_idx])
            return inner.classes_, inner.predict_proba(X.iloc[test_idx])

        oof = self._out_of_fold(X, y_sent, classes, fit_proba)
        stance = clone(self.stance)
        blocks = [key for key, value in stance.get_params(deep=True).items() if isinstance(value, SentimentProbabilities)]
        if not blocks:
            raise ValueError("sentiment_features is on but the stance features have no SentimentProbabilities block")
        frozen = FrozenEstimator(sentiment)
        stance.set_params(**{f"{key}__{param}": value for key in blocks
                             for param, value in (("model", frozen), ("oof", oof), ("classes", classes))})
        return [stance.fit(X, Y["stance"].to_numpy(dtype=object)), sentiment]

    def estimator_for(self, task):
        return self.estimators_[self.tasks_.index(task)]

    @property
    def scales_per_target(self) -> bool:
        """Whether the ``none`` threshold depends on the row's target (then :meth:`scale_none` needs them)."""
        return bool(getattr(self, "none_scales_", None))  # models saved before the option lack the attribute

    def predict_proba(self, X):
        targets = X[TARGET_COLUMN].to_numpy(dtype=object) if self.scales_per_target else None
        return self.scale_none([est.predict_proba(X) for est in self.estimators_], targets)

    def scale_none(self, probas: list, targets=None) -> list:
        """Apply the ``none`` scale to the tasks' probabilities: rows x classes, or one row (1-d), as
        ``stancelab.compiled`` scores a single quote. ``targets``: the rows' targets (one string for one
        row), needed when the scales were chosen per target (``scales_per_target``)."""
        if "stance" not in self.tasks_:
            return probas
        i = self.tasks_.index("stance")
        classes = list(self.classes_[i])
        if "none" not in classes:
            return probas
        if self.scales_per_target:
            if targets is None:
                raise ValueError("this model's none threshold is per target: scale_none needs the rows' targets")
            scales = self.none_scales_
            factor = (scales.get(targets, self.none_scale) if isinstance(targets, str)
                      else np.array([scales.get(t, self.none_scale) for t in targets], dtype=float))
        elif self.none_scale != 1.0:
            factor = self.none_scale
        else:
            return probas
        scaled = np.array(probas[i], dtype=float, copy=True)
        scaled[..., classes.index("none")] *= factor
        probas[i] = scaled / np.clip(scaled.sum(axis=-1, keepdims=True), 1e-12, None)
        return probas

    def predict(self, X):
        if self.none_scale == 1.0 and not self.scales_per_target:
            return np.column_stack([np.asarray(est.predict(X), dtype=object) for est in self.estimators_])
        return np.column_stack([classes[np.argmax(p, axis=1)] for classes, p in zip(self.classes_, self.predict_proba(X))])

    def score(self, X, y, sample_weight=None):
        Y = _as_frame(y, self.tasks_).to_numpy(dtype=object)
        return float(np.mean(self.predict(X) == Y))


class NBSVMClassifier(ClassifierMixin, BaseEstimator):
    """NB-SVM (Wang & Manning 2012) with a logistic loss: one-vs-rest linear models on features
    scaled by their naive-Bayes log-count ratio ``r = log((p/|p|) / (q/|q|))`` (``p``, ``q``: smoothed
    binarised feature counts in the class and outside it), probabilities normalised over classes.

    ``coef_`` is expressed on the unscaled features (``w * r``), so evidence reads it like any
    linear model's.
    """

    def __init__(self, C=1.0, alpha=1.0, class_weight="balanced", max_iter=2000, random_state=None):
        self.C = C
        self.alpha = alpha
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y):
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression

        X = sparse.csr_matrix(X)
        y = np.asarray(y, dtype=object)
        self.classes_ = np.array(sorted(set(y)), dtype=object)
        present = (X > 0).astype(np.float64)
        ratios, coefs, intercepts = [], [], []
        for label in self.classes_:
            positive = y == label
            p = self.alpha + np.asarray(present[positive].sum(axis=0)).ravel()
            q = self.alpha + np.asarray(present[~positive].sum(axis=0)).ravel()
            r = np.log((p / p.sum()) / (q / q.sum()))
            model = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter,
                                       random_state=self.random_state)
            model.fit(X.multiply(r).tocsr(), positive)
            ratios.append(r)
            coefs.append(model.coef_[0] * r)
            intercepts.append(model.intercept_[0])
        self.coef_ = np.vstack(coefs)
        self.intercept_ = np.asarray(intercepts)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X):
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X):
        scores = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return scores / np.clip(scores.sum(axis=1, keepdims=True), 1e-12, None)

    def predict(self, X):
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]


class SentimentProbabilities(TransformerMixin, BaseEstimator):
    """A feature block of the stance model: the sentiment model's class probabilities.

    Set up by :class:`JointClassifier` (``model``: the fitted sentiment model, frozen; ``oof``:
    out-of-fold probabilities of the training rows, by position; ``classes``: their columns).
    ``fit_transform`` on training rows returns their out-of-fold probabilities; ``transform``
    normalises the text with ``steps`` (idempotent, so raw or normalised input gives the same
    numbers) and asks the sentiment model. Feature names are ``p_<label>``; ``scale`` multiplies the
    probabilities (their weight against the TF-IDF block under the same regularisation)."""

    def __init__(self, model=None, oof=None, classes=None, steps=None, scale=1.0):
        self.model = model
        self.oof = oof
        self.classes = classes
        self.steps = steps
        self.scale = scale

    def fit(self, X, y=None):
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None):
        if self.model is None or self.oof is None:
            raise ValueError("SentimentProbabilities is fitted by JointClassifier(sentiment_features=True)")
        self.classes_ = np.asarray(self.classes, dtype=object)
        return self.scale * np.asarray(self.oof, dtype=float)[np.asarray(X.index)]

    def transform(self, X):
        from features.normalize import TextNormalizer

        frame = TextNormalizer(steps=self.steps).transform(pd.DataFrame(X).reset_index(drop=True))
        for column in ("target", "actor"):
            if column not in frame:
                frame[column] = ""
        proba = self.model.predict_proba(frame)
        out = np.zeros((len(frame), len(self.classes_)))
        for j, label in enumerate(self.model.classes_):
            out[:, list(self.classes_).index(label)] = proba[:, j]
        return self.scale * out

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"p_{label}" for label in self.classes_], dtype=object)
