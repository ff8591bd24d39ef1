"""Target x text interaction features for one pooled stance model.

A pooled model with the target only one-hot can shift each target's bias but cannot let a word
mean different things for different targets. :class:`TargetInteraction` gives it both: the text
features once (shared across targets) and once more per target, zero outside that target's rows
(Daumé III's "frustratingly easy" feature augmentation). The classifier then learns shared and
target-specific weights in one fit.

``shared_scale`` multiplies the shared copy. Under one L2 penalty, scaling a block by ``s`` is the
same as penalising its weights by ``1/s**2``: it sets how strongly targets are pulled towards the
shared weights (the prior variance ratio of the hierarchical reading, Finkel & Manning 2009). Small
values approach one model per target, large ones one pooled model.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, clone


class TargetInteraction(TransformerMixin, BaseEstimator):
    """``[s·F(X), F(X)·1{target=t1}, F(X)·1{target=t2}, ...]`` (``s = shared_scale``) for the fitted
    targets; an unknown target at prediction time gets only the shared block."""

    def __init__(self, features=None, column="target", shared_scale=1.0):
        self.features = features
        self.column = column
        self.shared_scale = shared_scale

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
        scale = getattr(self, "shared_scale", 1.0)  # models saved before the parameter existed
        blocks = [shared if scale == 1.0 else shared * scale]
        for target in self.targets_:
            mask = sparse.diags((targets == target).astype(shared.dtype))
            blocks.append(mask @ shared)
        return sparse.hstack(blocks, format="csr")

    def get_feature_names_out(self, input_features=None):
        names = np.asarray(self.features_.get_feature_names_out(), dtype=object)
        out = [names] + [np.array([f"{n}@{target}" for n in names], dtype=object) for target in self.targets_]
        return np.concatenate(out)
