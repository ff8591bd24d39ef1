"""The shared-featurisation CV path (cv.cache): TF-IDF derived from shared counts is bit-identical to
the vectorizer's own, and a sweep's out-of-fold predictions and CV scores equal the plain pipeline
path's (speed is measured in benchmarks/sweep.py, not here)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joblib import Memory
from threadpoolctl import threadpool_limits

from features.shared_counts import SharedCounts
from features.tfidf import vectorizer
from stancelab import datasets, sweep_cache
from stancelab.config import ModelConfig, load_config
from stancelab.training import cross_validate_many, cv_splits

REPO = Path(__file__).resolve().parent.parent
ODD_TEXTS = ["", "a", "ab ab ab", "x" * 12, "ي", "لا لا لا", "i am ok", "a bb ccc dddd eeeee", "123 ٣ 1"]


def _assert_identical(x, y):
    assert x.shape == y.shape and x.dtype == y.dtype
    assert np.array_equal(x.indptr, y.indptr) and np.array_equal(x.indices, y.indices)
    assert x.data.tobytes() == y.data.tobytes()  # bit for bit, not to a tolerance


def _assert_derived_equals_fitted(analyzer, union, settings_list, train, test):
    counts = SharedCounts(analyzer, union, train, test)
    for params in settings_list:
        derived_train, derived_test = counts.tfidf(params)
        own = vectorizer(analyzer, **params)
        _assert_identical(derived_train, own.fit_transform(train))
        if test:
            _assert_identical(derived_test, own.transform(test))


@pytest.fixture(scope="module")
def mawqif_texts(shared_datasets):
    from features import TextNormalizer

    frame = datasets.load("mawqif", "train", shared_datasets, ["stance"]).sample(400, random_state=1)
    texts = TextNormalizer().fit_transform(frame[["text"]].astype(object))["text"].tolist()
    return texts[:300] + ODD_TEXTS, texts[300:] + ODD_TEXTS[::-1]


@pytest.mark.parametrize("analyzer, union, grid", [
    ("char_wb", (1, 5), [{"ngram_range": r, "min_df": m} for r in [(2, 4), (1, 4), (3, 5), (5, 5)] for m in (1, 3)]
     + [{"ngram_range": (2, 5), "binary": True, "sublinear_tf": False, "max_df": 0.4}]),
    ("word", (1, 3), [{"ngram_range": r, "min_df": m} for r in [(1, 1), (1, 2), (2, 3)] for m in (1, 2)]),
    ("char", (1, 5), [{"ngram_range": (2, 4), "min_df": 2}, {"ngram_range": (4, 5), "max_df": 0.9}]),
])
def test_derived_tfidf_is_bit_identical_to_the_vectorizer(mawqif_texts, analyzer, union, grid):
    _assert_derived_equals_fitted(analyzer, union, grid, *mawqif_texts)


WORDS = st.text(alphabet="abcاب", min_size=1, max_size=7)


@settings(max_examples=30, deadline=None)
@given(train=st.lists(st.lists(WORDS, max_size=5).map(" ".join), min_size=2, max_size=8),
       test=st.lists(st.lists(WORDS, max_size=5).map(" ".join), max_size=4),
       low=st.integers(1, 5), width=st.integers(0, 3), min_df=st.integers(1, 2))
def test_derived_char_wb_equals_the_vectorizer_for_any_short_words(train, test, low, width, min_df):
    """Words shorter than the n-gram range (counted once as a whole padded word) included."""
    if not "".join(train):
        return  # no n-grams at all: both raise "empty vocabulary"
    params = {"ngram_range": (low, min(low + width, 6)), "min_df": min_df}
    counts = SharedCounts("char_wb", (1, 6), train, test)
    own = vectorizer("char_wb", **params)
    try:
        own_train = own.fit_transform(train)
    except ValueError as error:  # nothing left after min_df: the derived path says the same
        with pytest.raises(ValueError, match=re.escape(str(error))):
            counts.tfidf(params)
        return
    derived_train, derived_test = counts.tfidf(params)
    _assert_identical(derived_train, own_train)
    if test:
        _assert_identical(derived_test, own.transform(test))


def test_supported_configurations():
    assert sweep_cache.supported(ModelConfig())
    assert sweep_cache.supported(ModelConfig.model_validate({"none_scale": 0.5, "sentiment_classifier": {"C": 2.0},
                                                             "char": {"min_df": 3}, "word": None}))
    for raw in [{"target_mode": "pooled"}, {"target_mode": "interact"}, {"use_actor": True},
                {"char": {"max_features": 100}}, {"word": {"stem": True, "language": "ar"}},
                {"word": {"stop_words": True, "language": "en"}}, {"none_scale_per_target": True},
                {"sentiment_word": {"stem": True, "language": "ar"}}]:
        assert not sweep_cache.supported(ModelConfig.model_validate(raw))

    class LaterModelConfig(ModelConfig):  # an option added after sweep_cache: its default is still covered
        joint_features: bool = False

    assert sweep_cache.supported(LaterModelConfig())
    assert not sweep_cache.supported(LaterModelConfig(joint_features=True))


def test_shared_cv_equals_the_pipeline_path(shared_datasets, tmp_path):
    """Out-of-fold predictions and per-fold scores of every configuration, shared path vs plain
    pipelines, on a small Mawqif sample: 8 draws from C x char n-grams x min_df x none_scale, a sentiment classifier
    of its own or the stance one, and a pooled and a stemmed configuration (not covered: the plain path)."""
    config = load_config(REPO / "experiments" / "mawqif.yaml",
                         ["cv.folds=3", "n_jobs=1", "model.sentiment_features=false", "model.target_mention=false",
                          "model.target_aliases={}", "cv.select_sentiment_by=null",  # the family the shared path covers
                          "grid={model.classifier.C: [0.3, 3.0], model.char.ngram_range: [[2, 4], [3, 5]], "
                          "model.char.min_df: [1, 3], model.none_scale: [0.5, 1.0]}",
                          "search.kind=random", "search.n_trials=8"])
    tasks = list(config.tasks)
    frame = datasets.load("mawqif", "train", shared_datasets, tasks).sample(180, random_state=0).reset_index(drop=True)
    splits = cv_splits(frame, 3, config.seed)
    models = [m for _, m in config.configurations()]
    models += [models[0].model_copy(update={"sentiment_classifier": None}),
               models[0].model_copy(update={"target_mode": "pooled"}),
               models[0].model_copy(update={"word": models[0].word.model_copy(update={"stem": True, "stop_words": True})})]
    assert models[-1].word.language == "ar"  # from the dataset
    assert sum(map(sweep_cache.supported, models)) == len(models) - 2  # pooled and stemmed take the plain path

    with threadpool_limits(1):  # one BLAS thread, as in a sweep's worker processes (and much faster on 2 busy cores)
        plain = {i: (oof, table) for i, oof, table, _ in cross_validate_many(models, frame, tasks, splits, config.seed)}
        shared = {i: (oof, table) for i, oof, table, _ in
                  cross_validate_many(models, frame, tasks, splits, config.seed, memory=Memory(tmp_path, verbose=0))}
    assert sorted(plain) == sorted(shared) == list(range(len(models)))
    for i in plain:
        assert np.array_equal(plain[i][0], shared[i][0]), models[i]
        assert plain[i][1].equals(shared[i][1]), models[i]
    scores = [table["f_avg"].mean() for _, table in plain.values()]
    assert len(set(np.round(scores, 6))) > 1  # the grid really changes the predictions
    assert not np.array_equal(plain[0][0], plain[len(models) - 1][0])  # and stemming changes them too
