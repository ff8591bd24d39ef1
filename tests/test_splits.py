"""stancelab.splits.StratifiedGroupKFold gives scikit-learn's folds exactly (it is only faster)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import StratifiedGroupKFold as SklearnSplitter

from stancelab import datasets
from stancelab.splits import StratifiedGroupKFold


def _folds(splitter, y, groups):
    return [(train.tolist(), test.tolist()) for train, test in splitter.split(np.zeros(len(y)), y, groups)]


@pytest.mark.parametrize("folds,shuffle,seed", [(3, True, 0), (5, True, 13), (5, False, None), (9, True, 1)])
def test_same_folds_as_scikit_learn_on_mawqif(shared_datasets, folds, shuffle, seed):
    frame = datasets.load("mawqif", "train", shared_datasets)  # duplicate texts: real groups
    y, groups = frame["sentiment"].to_numpy(dtype=object), frame["text"].to_numpy(dtype=object)
    ours = _folds(StratifiedGroupKFold(folds, shuffle=shuffle, random_state=seed), y, groups)
    assert ours == _folds(SklearnSplitter(folds, shuffle=shuffle, random_state=seed), y, groups)
    assert len(ours) == folds


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 4), st.integers(2, 6), st.booleans(), st.integers(0, 2**31 - 1), st.data())
def test_same_folds_as_scikit_learn_on_random_data(n_classes, folds, shuffle, seed, data):
    n = data.draw(st.integers(folds * n_classes, 120))
    y = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    groups = np.array(data.draw(st.lists(st.integers(0, n // 2 + folds), min_size=n, max_size=n)))
    kwargs = {"shuffle": shuffle, "random_state": seed if shuffle else None}

    def run(splitter):
        try:
            return _folds(splitter, y, groups)
        except ValueError as exc:  # too few groups or members: the same error
            return str(exc)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class" warnings: both warn alike
        assert run(StratifiedGroupKFold(folds, **kwargs)) == run(SklearnSplitter(folds, **kwargs))
