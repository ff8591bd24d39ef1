"""Cross-validation splitters.

:class:`StratifiedGroupKFold` is scikit-learn's, with the same folds, computed faster. Profiling the
Mawqif model's fit (the joint model's inner 3-fold CV, see benchmarks/README.md) showed 1.5 s of
22 s in scikit-learn's splitter: for each of ~3,500 groups (distinct texts) it tries every fold in a
Python loop of small numpy calls and ``np.isclose``. Here each group's candidate folds are scored
in one numpy expression, with the same arithmetic (the same reductions over the same axes), and the
tie rule is applied in Python floats exactly as ``np.isclose`` computes it.
tests/test_splits.py checks the folds against scikit-learn's on real and random data.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold as _SklearnStratifiedGroupKFold
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d

# numpy sums fewer than 8 numbers one after another whatever the memory layout; from 8 folds on its
# pairwise summation could order the fold axis differently, so scikit-learn's own code runs
_MAX_VECTORISED_FOLDS = 7


class StratifiedGroupKFold(_SklearnStratifiedGroupKFold):
    """``sklearn.model_selection.StratifiedGroupKFold`` (same parameters, same folds), faster."""

    def _iter_test_indices(self, X, y, groups):
        if self.n_splits > _MAX_VECTORISED_FOLDS:
            yield from super()._iter_test_indices(X, y, groups)
            return
        # input checks and set-up: scikit-learn's, step for step (the same random draws)
        rng = check_random_state(self.random_state)
        y = np.asarray(y)
        type_of_target_y = type_of_target(y)
        allowed_target_types = ("binary", "multiclass")
        if type_of_target_y not in allowed_target_types:
            raise ValueError(
                "Supported target types are: {}. Got {!r} instead.".format(allowed_target_types, type_of_target_y))
        y = column_or_1d(y)
        _, y_inv, y_cnt = np.unique(y, return_inverse=True, return_counts=True)
        if np.all(self.n_splits > y_cnt):
            raise ValueError("n_splits=%d cannot be greater than the number of members in each class."
                             % (self.n_splits))
        n_smallest_class = np.min(y_cnt)
        if self.n_splits > n_smallest_class:
            warnings.warn("The least populated class in y has only %d members, which is less than n_splits=%d."
                          % (n_smallest_class, self.n_splits), UserWarning)
        n_classes = len(y_cnt)
        _, groups_inv, groups_cnt = np.unique(groups, return_inverse=True, return_counts=True)
        n_groups = len(groups_cnt)
        if self.n_splits > n_groups:
            raise ValueError(f"Cannot have number of splits n_splits={self.n_splits} greater"
                             f" than the number of groups: {n_groups}.")
        y_counts_per_group = np.zeros((n_groups, n_classes))
        np.add.at(y_counts_per_group, (groups_inv, y_inv), 1)  # whole numbers: exact in any order
        y_counts_per_fold = np.zeros((self.n_splits, n_classes))
        if self.shuffle:
            perm = np.arange(n_groups)
            rng.shuffle(perm)
            y_counts_per_group = y_counts_per_group[perm]
            inv_perm = np.empty_like(perm)
            inv_perm[perm] = np.arange(perm.size)
            groups_inv = inv_perm[groups_inv]
        sorted_groups_idx = np.argsort(-np.std(y_counts_per_group, axis=1), kind="stable")

        # the greedy assignment: each group to the fold whose class proportions it evens out most
        k = self.n_splits
        diagonal = (np.arange(k), np.arange(k))
        fold_of_group = np.empty(n_groups, dtype=np.int64)
        for group_idx in sorted_groups_idx.tolist():
            group_y_counts = y_counts_per_group[group_idx]
            candidates = np.repeat(y_counts_per_fold[None], k, axis=0)  # candidate i: the group in fold i
            candidates[diagonal] += group_y_counts
            # scikit-learn: np.mean(np.std(counts / y_cnt, axis=0)) per candidate
            evals = np.mean(np.std(candidates / y_cnt.reshape(1, 1, -1), axis=1), axis=1).tolist()
            samples = np.sum(y_counts_per_fold, axis=1).tolist()
            best_fold, min_eval, min_samples_in_fold = None, math.inf, math.inf
            for i in range(k):
                fold_eval = evals[i]
                close = (abs(fold_eval - min_eval) <= 1e-08 + 1e-05 * abs(min_eval) and math.isfinite(min_eval)) \
                    or fold_eval == min_eval  # np.isclose(fold_eval, min_eval)
                if fold_eval < min_eval or (close and samples[i] < min_samples_in_fold):
                    best_fold, min_eval, min_samples_in_fold = i, fold_eval, samples[i]
            y_counts_per_fold[best_fold] += group_y_counts
            fold_of_group[group_idx] = best_fold
        fold_of_row = fold_of_group[groups_inv]
        for i in range(k):
            yield np.flatnonzero(fold_of_row == i)
