"""features.vectorizer.TfidfFeatures equals scikit-learn's TfidfVectorizer: the same vocabulary, the
same idf and the same matrix, on any texts (hypothesis) and on a real benchmark."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from features.normalize import NormalizeSteps, normalize_texts
from features.vectorizer import WORD_TOKEN_PATTERN, TextFeatures, TfidfFeatures

WORDS = st.sampled_from(["a", "ab", "abc", "b", "ba", "سلام", "في", "إدلب", "x1", "__", "-", ".", "ceasefire", "،", "ab.cd"])
# texts as the normaliser hands them on: no NUL (numpy's strings, the vocabulary's store, drop a trailing one)
TEXT = st.lists(WORDS, max_size=12).map(" ".join) | st.text(
    alphabet=st.characters(codec="utf-8", blacklist_characters="\x00"), max_size=40)
SETTINGS = st.sampled_from([("word", (1, 1)), ("word", (1, 2)), ("word", (1, 3)),
                            ("char_wb", (1, 3)), ("char_wb", (2, 5)), ("char_wb", (3, 3))])


def _reference(analyzer, ngram_range, min_df, sublinear_tf):
    return TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, min_df=min_df, sublinear_tf=sublinear_tf,
                           lowercase=False, token_pattern=WORD_TOKEN_PATTERN)


def _assert_equal(ours, ref, texts):
    assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out())
    np.testing.assert_allclose(ours.idf_, ref.idf_, rtol=1e-12)
    a, b = ours.transform(texts), ref.transform(texts)
    assert a.shape == b.shape
    assert abs(a - b).max() <= 1e-12 if a.nnz or b.nnz else True


@settings(max_examples=150, deadline=None)
@given(train=st.lists(TEXT, min_size=1, max_size=15), test=st.lists(TEXT, max_size=8), setting=SETTINGS,
       min_df=st.sampled_from([1, 2]), sublinear=st.booleans())
def test_equal_to_tfidf_vectorizer_on_any_texts(train, test, setting, min_df, sublinear):
    analyzer, ngram_range = setting
    ref = _reference(analyzer, ngram_range, min_df, sublinear)
    try:
        ref.fit(train)
    except ValueError:  # scikit-learn: empty vocabulary; ours must refuse too
        with pytest.raises(ValueError):
            TfidfFeatures(analyzer, ngram_range, min_df, sublinear).fit(train)
        return
    ours = TfidfFeatures(analyzer, ngram_range, min_df, sublinear).fit(train)
    _assert_equal(ours, ref, [*train, *test])
    np.testing.assert_allclose(ours.fit_transform(train).toarray(), ref.transform(train).toarray(), atol=1e-12)


@pytest.mark.parametrize("setting", [("word", (1, 2), 1), ("char_wb", (2, 5), 2)])
def test_equal_on_mawqif(shared_datasets, setting):
    import pandas as pd

    train = pd.read_csv(shared_datasets / "mawqif" / "train.csv", keep_default_na=False)["text"]
    test = pd.read_csv(shared_datasets / "mawqif" / "test.csv", keep_default_na=False)["text"]
    analyzer, ngram_range, min_df = setting
    train, test = normalize_texts(train), normalize_texts(test)
    ours = TfidfFeatures(analyzer, ngram_range, min_df).fit(train)
    _assert_equal(ours, _reference(analyzer, ngram_range, min_df, True).fit(train), test)
    single = [ours.transform([t]) for t in test[:50]]  # one quote at a time: the same rows
    assert all(abs(s - ours.transform(test[:50])[i]).max() == 0 for i, s in enumerate(single) if s.nnz)


def test_word_ngrams_start_at_unigrams():
    with pytest.raises(ValueError, match="start at unigrams"):
        TfidfFeatures("word", (2, 3)).fit(["a b c"])


def test_remembered_words_are_never_saved():
    import pickle

    ours = TfidfFeatures("char_wb", (2, 3)).fit(["ab cd", "cd ef"])
    before = ours.transform(["ab zz"])
    assert set(ours._memory) == {"ab", "zz"}
    loaded = pickle.loads(pickle.dumps(ours))
    assert "_memory" not in loaded.__dict__
    assert abs(loaded.transform(["ab zz"]) - before).max() == 0


@settings(max_examples=60, deadline=None)
@given(train=st.lists(TEXT, min_size=2, max_size=12), test=st.lists(TEXT, max_size=6),
       word=st.sampled_from([None, (1, 1), (1, 2), (1, 3)]), char=st.sampled_from([None, (1, 3), (2, 4)]),
       steps=st.sampled_from([NormalizeSteps(), NormalizeSteps(**{n: False for n in NormalizeSteps.names()})]))
def test_text_features_equal_the_normaliser_then_a_feature_union_of_vectorizers(train, test, word, char, steps):
    """Raw text in: the block normalises word by word, remembers words, and still gives the matrix of
    scikit-learn's vectorizers on the normalised texts."""
    from sklearn.pipeline import FeatureUnion

    if word is None and char is None:
        return
    blocks = [(name, _reference(analyzer, r, 1, True)) for name, analyzer, r in
              (("word", "word", word), ("char", "char_wb", char)) if r is not None]
    try:
        ref = FeatureUnion(blocks).fit(normalize_texts(train, steps))
    except ValueError:
        return  # an empty vocabulary: covered by the single-block test
    ours = TextFeatures(normalize=vars(steps), word={"ngram_range": word} if word else None,
                        char={"ngram_range": char} if char else None).fit(train)
    assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out())
    texts = [*train, *test]
    expected = ref.transform(normalize_texts(texts, steps))
    assert abs(ours.transform(texts) - expected).max() <= 1e-12
    assert abs(ours.transform(texts[::-1]) - expected[::-1]).max() <= 1e-12  # from memory, in another order
