"""Target x text interaction features for one pooled stance model.

A pooled model with the target only one-hot can shift each target's bias but cannot let a word
mean different things for different targets. :class:`TargetInteraction` gives it both: the text
features once (shared across targets) and once more per target, zero outside that target's rows
(Daumé III's "frustratingly easy" feature augmentation). The classifier then learns shared and
target-specific weights in one fit.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, clone


class TargetInteraction(TransformerMixin, BaseEstimator):
    """``[F(X), F(X)·1{target=t1}, F(X)·1{target=t2}, ...]`` for the fitted targets; an unknown
    target at prediction time gets only the shared block."""

    def __init__(self, features=None, column="target"):
        self.features = features
        self.column = column

    def fit(self, X, y=None):
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None):
        self.features_ = clone(self.features)
        shared = sparse.csr_matrix(self.features_.fit_transform(X, y))
        self.targets_ = np.array(sorted(set(X[self.column])), dtype=object)
        return self._augment(shared, X)

    def transform(self, X):
        return self._augment(sparse.csr_matrix(self.features_.transform(X)), X)

    def _augment(self, shared, X):
        targets = np.asarray(X[self.column], dtype=object)
        blocks = [shared]
        for target in self.targets_:
            mask = sparse.diags((targets == target).astype(shared.dtype))
            blocks.append(mask @ shared)
        return sparse.hstack(blocks, format="csr")

    def get_feature_names_out(self, input_features=None):
        names = np.asarray(self.features_.get_feature_names_out(), dtype=object)
        out = [names] + [np.array([f"{n}@{target}" for n in names], dtype=object) for target in self.targets_]
        return np.concatenate(out)
