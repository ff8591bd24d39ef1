"""TF-IDF feature blocks built from config.

Input rows are a DataFrame with columns ``text`` (already normalised by
:class:`features.normalize.TextNormalizer`), ``target`` and ``actor``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import OneHotEncoder

from features.analysis import WORD_TOKEN_PATTERN, WordAnalyzer
from features.fast import FastCharWbCounting

class CompactTfidfVectorizer(FastCharWbCounting, TfidfVectorizer):
    """A TfidfVectorizer that serialises its vocabulary as one array of terms instead of a dict.

    skops writes a dict as a tree of JSON nodes, which for a few hundred thousand character
    n-grams takes minutes to save and tens of seconds to load; an array of strings is one ``.npy``
    entry. Behaviour is otherwise identical to the parent class (``char_wb`` counting is vectorised by
    :class:`features.fast.FastCharWbCounting`, with the same result).
    """

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: the parent may hand back self.__dict__ itself
        vocabulary = state.pop("vocabulary_", None)
        if vocabulary is not None:
            terms = np.empty(len(vocabulary), dtype=object)
            for term, index in vocabulary.items():
                terms[index] = term
            state["_vocabulary_terms"] = np.asarray(terms.tolist() or [""], dtype=str)[: len(vocabulary)]
        state.pop("stop_words_", None)  # only informative, and as large as the pruned vocabulary
        state.pop("_vocabulary_done", None)  # a marker of fitting (features.fast), never needed after
        return state

    def __setstate__(self, state):
        state = dict(state)
        terms = state.pop("_vocabulary_terms", None)
        if terms is not None:
            state["vocabulary_"] = {str(term): index for index, term in enumerate(terms)}
        super().__setstate__(state)


def vectorizer(analyzer="word", ngram_range=(1, 2), min_df=1, max_df=1.0, max_features=None,
               sublinear_tf=True, binary=False, stem=False, stop_words=False, language=None) -> TfidfVectorizer:
    """A TF-IDF block on normalised text: words (``analyzer="word"``) or characters (``char_wb``/``char``).
    Words only: ``stem`` and ``stop_words`` in ``language`` (``features.analysis.WordAnalyzer``)."""
    analysis = None
    if analyzer == "word" and (stem or stop_words):
        if language is None:
            raise ValueError("word stemming / stop words need a language (model.word.language)")
        analysis = WordAnalyzer(language, stem=stem, stop_words=stop_words)
    return CompactTfidfVectorizer(
        analyzer=analyzer,
        tokenizer=analysis,
        token_pattern=WORD_TOKEN_PATTERN if analyzer == "word" and analysis is None else None,
        ngram_range=tuple(ngram_range),
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        sublinear_tf=sublinear_tf,
        binary=binary,
        lowercase=False,  # the normaliser lower-cases (switchable there)
        dtype=np.float32,
    )


def build_features(word: dict[str, Any] | None, char: dict[str, Any] | None, *, use_target: bool,
                   use_actor: bool) -> ColumnTransformer:
    """One ColumnTransformer: word and/or character TF-IDF on ``text``, optional one-hot ``target``
    and ``actor`` indicators. Unknown targets/actors at prediction time encode as all zeros."""
    blocks = []
    if word is not None:
        blocks.append(("word", vectorizer("word", **word), "text"))
    if char is not None:
        blocks.append(("char", vectorizer(**char), "text"))
    if not blocks:
        raise ValueError("at least one of the word or char TF-IDF blocks must be configured")
    if use_target:
        blocks.append(("target", OneHotEncoder(handle_unknown="ignore"), ["target"]))
    if use_actor:
        blocks.append(("actor", OneHotEncoder(handle_unknown="ignore"), ["actor"]))
    return ColumnTransformer(blocks, remainder="drop", sparse_threshold=1.0)


def vocabulary_size(features: ColumnTransformer) -> int:
    """Number of TF-IDF features in a fitted feature block (logged instead of the vocabulary)."""
    size = 0
    features = getattr(features, "features_", features)  # a TargetInteraction wraps the blocks
    for _name, transformer, _ in features.transformers_:
        if isinstance(transformer, TfidfVectorizer):
            size += len(transformer.vocabulary_)
    return size
