"""One stance model over all targets with Daumé III's feature augmentation ("frustratingly easy
domain adaptation", 2007), set up so that it nests the per-target models.

``target_mode: augmented`` is ``interact`` (shared + per-target copies of the text features,
:class:`features.interactions.TargetInteraction`) with the two things a per-target model has and a
pooled one lacks:

- **class weights balanced within each target**, as ``TargetRouter``'s per-target classifiers get
  with ``class_weight: balanced`` (a pooled fit balances over all rows, so a target whose label mix
  differs from the others is weighted wrongly). :class:`TargetBalancedPipeline` passes them as the
  classifier's ``sample_weight``; the classifier itself is then built without class weights.
- **the weight of the shared copy** (``model.shared_scale``), i.e. how strongly each target's
  weights are pulled towards the shared ones.
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.class_weight import compute_sample_weight


def within_target_balanced_weights(targets, y) -> np.ndarray:
    """``n_t / (k_t · n_tc)`` for a row of target ``t`` and class ``c`` (``k_t``: classes seen in ``t``):
    scikit-learn's ``balanced`` weights computed inside each target, so each target's rows keep
    their total weight ``n_t``."""
    targets = np.asarray(targets, dtype=object)
    y = np.asarray(y, dtype=object)
    weights = np.ones(len(y), dtype=float)
    for target in set(targets):
        rows = targets == target
        weights[rows] = compute_sample_weight("balanced", y[rows])
    return weights


class TargetBalancedPipeline(Pipeline):
    """A Pipeline whose last step (the classifier) is fitted with
    :func:`within_target_balanced_weights` of ``X['target']`` as ``sample_weight``.
    Everything else, including prediction, is the plain Pipeline."""

    def fit(self, X, y=None, **params):
        weights = within_target_balanced_weights(X["target"], y)
        return super().fit(X, y, **{f"{self.steps[-1][0]}__sample_weight": weights, **params})
