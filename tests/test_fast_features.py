"""features/fast.py: the vectorised char_wb counting gives the same vocabulary, the same matrix and
the same model predictions as scikit-learn's own loop (speed is measured in benchmarks/, not here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from features import fast as fast_module
from features.tfidf import CompactTfidfVectorizer, vectorizer
from stancelab import datasets
from stancelab.config import load_config
from stancelab.model import build_pipeline
from stancelab.training import model_input


class SlowVectorizer(CompactTfidfVectorizer):
    """The same vectorizer with scikit-learn's unoptimised counting loop."""

    _count_vocab = TfidfVectorizer._count_vocab
    _limit_features = TfidfVectorizer._limit_features
    _sort_features = TfidfVectorizer._sort_features


def _slow(fast: CompactTfidfVectorizer) -> SlowVectorizer:
    return SlowVectorizer(**fast.get_params())


def _assert_same(fast, slow, fit_texts, new_texts):
    small, fast_module.SMALL_BATCH = fast_module.SMALL_BATCH, 0  # the vectorised path even for a few texts
    try:
        _compare(fast, slow, fit_texts, new_texts)
    finally:
        fast_module.SMALL_BATCH = small


def _compare(fast, slow, fit_texts, new_texts):
    a, b = fast.fit_transform(fit_texts), slow.fit_transform(fit_texts)
    assert list(fast.vocabulary_.items()) == list(slow.vocabulary_.items())  # same terms, ids and order
    assert [type(v) for v in fast.vocabulary_.values()] == [type(v) for v in slow.vocabulary_.values()]
    assert np.array_equal(fast.idf_, slow.idf_)
    for x, y in ((a, b), (fast.transform(new_texts), slow.transform(new_texts))):
        assert x.shape == y.shape and x.dtype == y.dtype
        assert np.array_equal(x.indptr, y.indptr) and np.array_equal(x.indices, y.indices)
        assert np.array_equal(x.data, y.data)


ODD_TEXTS = ["", " ", "a", "ab  ab\tab\n", "  leading and trailing  ", "x" * 12, "ي", "لا لا لا",
             "\u200f mixed العربية and English 123 \u00a0 nbsp"]


@pytest.mark.parametrize("params", [
    {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 2},
    {"analyzer": "char_wb", "ngram_range": (1, 3), "min_df": 1, "max_df": 0.5, "binary": True},
    {"analyzer": "char_wb", "ngram_range": (3, 4), "max_features": 300},
    {"analyzer": "word", "ngram_range": (1, 2), "min_df": 1},
    {"analyzer": "word", "ngram_range": (1, 3), "min_df": 2, "max_df": 0.3, "sublinear_tf": False},
])
def test_fast_counting_and_pruning_match_scikit_learn_on_mawqif(shared_datasets, params):
    frame = datasets.load("mawqif", "train", shared_datasets)
    texts = frame["text"].tolist()
    fast = vectorizer(**params)
    _assert_same(fast, _slow(fast), texts[:600] + ODD_TEXTS, texts[600:900] + ODD_TEXTS)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab ي\tلx\u00a0", max_size=14), min_size=1, max_size=8).filter(
    lambda texts: any(t.strip() for t in texts)), st.lists(st.text(alphabet="abc يل ", max_size=10), min_size=1, max_size=5))
def test_fast_char_wb_counting_matches_on_any_text(fit_texts, new_texts):
    fast = vectorizer("char_wb", ngram_range=(1, 3))
    _assert_same(fast, _slow(fast), fit_texts, new_texts)


def test_model_predictions_identical_to_the_unoptimised_pipeline(shared_datasets):
    """The Mawqif experiment's model (word + char_wb blocks, per target), trained on 350 tweets:
    same probabilities with and without the fast counting."""
    config = load_config(Path(__file__).resolve().parent.parent / "experiments" / "mawqif.yaml",
                         ["model.classifier.kind=sgd"])  # its features; a quick classifier
    frame = datasets.load("mawqif", "train", shared_datasets).sample(500, random_state=0).reset_index(drop=True)
    train, test = model_input(frame.iloc[:350]), model_input(frame.iloc[350:])
    Y = frame.iloc[:350][["stance", "sentiment"]].astype(object)
    fast = build_pipeline(config.model, ("stance", "sentiment"), seed=13)
    slow = build_pipeline(config.model, ("stance", "sentiment"), seed=13)
    swapped = {key: _slow(value) for key, value in slow.get_params(deep=True).items()
               if type(value) is CompactTfidfVectorizer}
    assert swapped  # the model has vectorizers to swap
    slow.set_params(**swapped)
    fast.fit(train, Y)
    slow.fit(train, Y)
    assert (fast.predict(test) == slow.predict(test)).all()
    for a, b in zip(fast.predict_proba(test), slow.predict_proba(test)):
        assert np.array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab ي\tلx.\u00a0", max_size=20), min_size=1, max_size=8).filter(
    lambda texts: any(len(w) > 1 for t in texts for w in t.split())),
    st.lists(st.text(alphabet="abx يل ", max_size=16), min_size=1, max_size=5),
    st.sampled_from([(1, 1), (1, 2), (1, 3), (2, 3)]))
def test_fast_word_counting_matches_on_any_text(fit_texts, new_texts, ngram_range):
    fast = vectorizer("word", ngram_range=ngram_range)
    try:
        _slow(fast).fit(fit_texts)
    except ValueError:  # no token of two letters: both refuse alike
        with pytest.raises(ValueError):
            fast.fit(fit_texts)
        return
    _assert_same(fast, _slow(fast), fit_texts, new_texts)


def _first_three(text: str) -> list[str]:
    """A custom tokenizer (a crude stemmer: each word's first three characters), as
    features.analysis.WordAnalyzer is one."""
    return [word[:3] for word in text.split()]


def test_fast_word_counting_takes_a_custom_tokenizer(shared_datasets, monkeypatch):
    texts = list(datasets.load("mawqif", "train", shared_datasets)["text"].head(600))
    fast = vectorizer("word", ngram_range=(1, 2))
    fast.set_params(tokenizer=_first_three, token_pattern=None)
    calls = []
    counting = fast_module.FastCharWbCounting._count_word_vocab
    monkeypatch.setattr(fast_module.FastCharWbCounting, "_count_word_vocab",
                        lambda self, *a: calls.append(1) or counting(self, *a))
    _assert_same(fast, _slow(fast), texts[:500], texts[500:])
    assert len(calls) == 2  # fit and transform took the vectorised path
