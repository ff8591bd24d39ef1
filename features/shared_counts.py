"""Many TF-IDF blocks from one count of n-grams (for cross-validating a sweep, see
``stancelab.sweep_cache``).

A sweep that varies a TF-IDF block's ``ngram_range``, ``min_df`` or ``max_df`` makes every
configuration count the same n-grams of the same training texts again. :class:`SharedCounts`
counts once, for the union of the n-gram ranges with ``min_df=1``, and derives each setting's
matrices by selecting columns:

* a fitted vocabulary is sorted, so a subset of the union's sorted columns is, in order, the
  setting's own sorted vocabulary;
* how often a text contains an n-gram does not depend on which other n-gram lengths are counted,
  so the selected columns hold the setting's counts. One ``char_wb`` rule needs care: a word whose
  padded form (`` word ``) is shorter than the smallest n counts once as an n-gram of its own
  length, so such whole-word terms are kept below the range's lower end;
* ``min_df``/``max_df`` filter on document frequencies of the training texts, the same numbers
  for the union's columns;
* idf and the l2 norms are then computed by a ``TfidfTransformer`` with the vectorizer's settings,
  exactly as ``TfidfVectorizer`` does after counting.

scikit-learn keeps each row's entries in the order their terms were first seen while counting (the
columns are renamed when the vocabulary is sorted, not reordered), and the union's first-seen order
restricted to a setting's terms is that setting's own first-seen order. So the matrices are the
same *bit for bit* as fitting the setting's own vectorizer, not equal up to rounding (the row norms
are summed in that order). ``tests/test_sweep_cache.py`` checks this against the real vectorizer.
``max_features`` (a top-k with ties) is not derived; callers fit such settings the ordinary way.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

from features.tfidf import vectorizer


class SharedCounts:
    """Term counts of ``train_docs`` (vocabulary fitted on them) and ``test_docs`` for one analyzer
    and the n-gram range ``ngram_range`` that covers every setting to be derived."""

    def __init__(self, analyzer: str, ngram_range, train_docs, test_docs):
        counter = vectorizer(analyzer, ngram_range=tuple(ngram_range))  # min_df=1, max_df=1.0: every n-gram
        self.analyzer = analyzer
        self.ngram_range = tuple(ngram_range)
        self.train = CountVectorizer.fit_transform(counter, train_docs)
        self.test = CountVectorizer.transform(counter, test_docs)
        terms = np.empty(len(counter.vocabulary_), dtype=object)
        for term, index in counter.vocabulary_.items():
            terms[index] = term
        if analyzer == "word":  # word n-grams are tokens (no spaces inside) joined by one space
            self.order = np.fromiter((t.count(" ") + 1 for t in terms), dtype=np.int32, count=len(terms))
        else:
            self.order = np.fromiter(map(len, terms), dtype=np.int32, count=len(terms))
        if analyzer == "char_wb":  # a whole padded word; a word has no whitespace, so only its ends are spaces
            self.whole_word = np.fromiter((len(t) >= 3 and t[0] == " " and t[-1] == " " for t in terms),
                                          dtype=bool, count=len(terms))
        else:
            self.whole_word = np.zeros(len(terms), dtype=bool)
        self.df = np.bincount(self.train.indices, minlength=self.train.shape[1])  # counts are > 0

    def columns(self, ngram_range, min_df=1, max_df=1.0) -> np.ndarray:
        """Indices of the union's columns that make up the vocabulary of one setting, in order; the
        same errors as ``CountVectorizer.fit`` when nothing is left."""
        low, high = ngram_range
        if low < self.ngram_range[0] or high > self.ngram_range[1]:
            raise ValueError(f"ngram_range {tuple(ngram_range)} is not inside the counted {self.ngram_range}")
        keep = (self.order >= low) & (self.order <= high)
        keep |= self.whole_word & (self.order < low)  # char_wb: short words count once below the range
        if not keep.any():
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        n_doc = self.train.shape[0]  # the document-frequency limits exactly as CountVectorizer.fit_transform
        max_doc_count = max_df if isinstance(max_df, Integral) else max_df * n_doc
        min_doc_count = min_df if isinstance(min_df, Integral) else min_df * n_doc
        if max_doc_count < min_doc_count:
            raise ValueError("max_df corresponds to < documents than min_df")
        keep &= (self.df <= max_doc_count) & (self.df >= min_doc_count)
        columns = np.flatnonzero(keep)
        if len(columns) == 0:
            raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
        return columns

    def tfidf(self, settings: dict):
        """``(train, test)`` TF-IDF matrices of ``features.tfidf.vectorizer(analyzer, **settings)``
        fitted on the training texts: the same as its ``fit_transform(train)`` and ``transform(test)``."""
        settings = dict(settings)
        if settings.pop("analyzer", self.analyzer) != self.analyzer:
            raise ValueError(f"settings for analyzer {settings['analyzer']!r}, counts of {self.analyzer!r}")
        own = vectorizer(self.analyzer, **settings)
        if own.max_features is not None:
            raise ValueError("max_features is not derived from shared counts; fit the vectorizer itself")
        columns = self.columns(own.ngram_range, own.min_df, own.max_df)
        train, test = self.train[:, columns], self.test[:, columns]  # new arrays: the counts stay untouched
        if own.binary:
            train.data, test.data = np.ones_like(train.data), np.ones_like(test.data)
        tfidf = TfidfTransformer(norm=own.norm, use_idf=own.use_idf, smooth_idf=own.smooth_idf,
                                 sublinear_tf=own.sublinear_tf).fit(train)
        if test.shape[0] == 0:  # nothing to transform (scikit-learn refuses 0 rows)
            return tfidf.transform(train, copy=False), test.astype(train.dtype)
        return tfidf.transform(train, copy=False), tfidf.transform(test, copy=False)
