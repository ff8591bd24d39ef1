"""One TF-IDF transformer for word and ``char_wb`` n-grams, equal to scikit-learn's ``TfidfVectorizer``.

``TfidfFeatures(analyzer, ngram_range, min_df, sublinear_tf)`` gives the same vocabulary (sorted terms),
the same idf and the same l2-normalised matrix as::

    TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, min_df=min_df, sublinear_tf=sublinear_tf,
                    lowercase=False, token_pattern=WORD_TOKEN_PATTERN)

(checked by hypothesis tests in ``tests/test_vectorizer.py``). Why a second implementation at all: the
model scores each quote once per call of ``predict``, and scikit-learn's analysers build every n-gram
as a Python string, for every quote, every time. Here

* a ``char_wb`` n-gram never crosses a word, so each distinct word is analysed once and its column ids
  are remembered (a bounded dict that is never saved with the model);
* word n-grams are looked up token by token in one dict;
* counting, sublinear tf, idf and l2 normalisation are a handful of array operations on one CSR matrix.

Only public scikit-learn and scipy API is used. Normalisation (lower-casing included) happens before,
in :class:`features.normalize.TextNormalizer`.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import repeat
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

WORD_TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's default: words of two or more letters
_TOKENS = re.compile(WORD_TOKEN_PATTERN).findall
_CACHE_LIMIT = 1 << 18  # distinct words remembered per fitted block before the memory starts afresh
_EMPTY = np.empty(0, dtype=np.int64)
_UNSAVED = ("_index", "_words", "_keys", "_key_columns")  # rebuilt from terms_ at load


def char_wb_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """The ``char_wb`` n-grams of one word, as scikit-learn makes them: the word padded with one space
    on each side; a padded word shorter than ``n`` gives itself once."""
    padded = f" {word} "
    size = len(padded)
    out = []
    for n in range(min_n, max_n + 1):
        if size <= n:
            out.append(padded)
            break  # scikit-learn adds a short padded word once, then stops
        out.extend(padded[i:i + n] for i in range(size - n + 1))
    return out


def word_ngrams(tokens: list[str], min_n: int, max_n: int) -> list[str]:
    """Token n-grams joined by one space (scikit-learn's ``_word_ngrams`` without stop words)."""
    out = list(tokens) if min_n == 1 else []
    for n in range(max(min_n, 2), min(max_n, len(tokens)) + 1):
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


class TfidfFeatures(TransformerMixin, BaseEstimator):
    """TF-IDF of word or ``char_wb`` n-grams of already normalised texts (an iterable of ``str``).

    Fitted attributes: ``terms_`` (the vocabulary, sorted, as an array of strings: one array saves and
    loads far faster than a dict of a few hundred thousand entries) and ``idf_``.
    """

    def __init__(self, analyzer="word", ngram_range=(1, 2), min_df=1, sublinear_tf=True):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    # ------------------------------------------------------------------ analysis
    def _check_params(self):
        if self.analyzer not in ("word", "char_wb"):
            raise ValueError(f"analyzer must be 'word' or 'char_wb', not {self.analyzer!r}")
        low, high = self.ngram_range
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range must be (low, high) with 1 <= low <= high, not {self.ngram_range}")

    def analyze(self, text: str) -> list[str]:
        """All n-grams of one text, repeats included (``TfidfVectorizer.build_analyzer()``'s output)."""
        low, high = self.ngram_range
        if self.analyzer == "word":
            return word_ngrams(_TOKENS(text), low, high)
        return [g for word in text.split() for g in char_wb_ngrams(word, low, high)]

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        return self._fit(X).transform(X)

    def _fit(self, X):
        self._check_params()
        texts = _texts(X)
        low, high = self.ngram_range
        df: Counter = Counter()
        if self.analyzer == "word":
            for text in texts:
                df.update(set(word_ngrams(_TOKENS(text), low, high)))
        else:
            grams: dict[str, frozenset] = {}
            for text in texts:
                found: set[str] = set()
                for word in set(text.split()):
                    g = grams.get(word)
                    if g is None:
                        g = grams[word] = frozenset(char_wb_ngrams(word, low, high))
                    found |= g
                df.update(found)
        n_docs = len(texts)
        least = self.min_df if isinstance(self.min_df, Integral) else self.min_df * n_docs
        terms = sorted(term for term, count in df.items() if count >= least)
        if not terms:
            raise ValueError("empty vocabulary: no n-gram occurs in at least min_df training texts")
        counts = np.fromiter((df[t] for t in terms), dtype=np.float64, count=len(terms))
        self.terms_ = np.asarray(terms, dtype=str)
        self.idf_ = np.log((1.0 + n_docs) / (1.0 + counts)) + 1.0
        self.n_features_out_ = len(terms)
        self._reset()
        return self

    # ------------------------------------------------------------------ transform
    def _reset(self):
        terms = self.terms_.tolist()
        self._index = index = {t: i for i, t in enumerate(terms)}
        self._words: dict[str, np.ndarray] = {}
        keys, columns = [], []
        if self.analyzer == "word" and self.ngram_range[0] == 1:
            width = len(terms)
            for column, term in enumerate(terms):
                head, space, last = term.rpartition(" ")
                if space:
                    keys.append(index[head] * width + index[last])
                    columns.append(column)
        order = np.argsort(np.asarray(keys, dtype=np.int64), kind="stable")
        self._keys = np.asarray(keys, dtype=np.int64)[order]
        self._key_columns = np.asarray(columns, dtype=np.int64)[order]

    def __getstate__(self):  # the lookup dict and the word memory are rebuilt, never saved
        return {k: v for k, v in self.__dict__.items() if k not in _UNSAVED}

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "terms_" in state:
            self._reset()

    def _word(self, word: str) -> np.ndarray:
        """The column ids of one word's known ``char_wb`` n-grams (remembered per word)."""
        ids = self._words.get(word)
        if ids is None:
            if len(self._words) >= _CACHE_LIMIT:
                self._words = {}
            index = self._index
            low, high = self.ngram_range
            found = [index[g] for g in char_wb_ngrams(word, low, high) if g in index]
            ids = self._words[word] = np.asarray(found, dtype=np.int64) if found else _EMPTY
        return ids

    def _tokens(self, word: str) -> np.ndarray:
        """The unigram columns of one whitespace-separated word's tokens, -1 for an unknown token."""
        ids = self._words.get(word)
        if ids is None:
            if len(self._words) >= _CACHE_LIMIT:
                self._words = {}
            get = self._index.get
            ids = self._words[word] = np.asarray([get(t, -1) for t in _TOKENS(word)], dtype=np.int64)
        return ids

    def _split(self, texts: list[str], lookup) -> tuple[np.ndarray, np.ndarray]:
        """Each word's remembered ids, concatenated, and each text's slice of them (an indptr)."""
        words, ends = [], []
        for text in texts:
            words.extend(text.split())
            ends.append(len(words))
        get = self._words.get
        parts = [get(w) for w in words]
        parts = [lookup(w) if p is None else p for w, p in zip(words, parts)]
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        per_word = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=per_word[1:])
        ids = np.concatenate(parts) if parts else _EMPTY
        return ids, per_word[np.asarray([0, *ends], dtype=np.int64)]

    def _columns(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(indices, indptr)``: the column ids of each text's known n-grams, repeats included."""
        if self.analyzer == "char_wb":
            return self._split(texts, self._word)
        if self.ngram_range[0] > 1:
            return self._columns_by_string(texts)
        # Word n-grams as integers: an n-gram's document frequency is at most its (n-1)-prefix's, so a
        # known n-gram always has a known prefix, and its key is prefix column x width + last token column.
        tokens, indptr = self._split(texts, self._tokens)
        rows = np.repeat(np.arange(len(texts)), np.diff(indptr))
        found_rows, found_cols = [rows[tokens >= 0]], [tokens[tokens >= 0]]
        prefix = tokens
        width = len(self.terms_)
        for n in range(2, self.ngram_range[1] + 1):
            if len(prefix) < 2:
                break
            prefix, last = prefix[:-1], tokens[n - 1:]
            same = rows[: len(prefix)] == rows[n - 1:]
            keys = np.where(same & (prefix >= 0) & (last >= 0), prefix * width + last, -1)
            at = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1) if len(self._keys) else None
            prefix = np.where((keys >= 0) & (self._keys[at] == keys), self._key_columns[at], -1) \
                if at is not None else np.full(len(keys), -1)
            found_rows.append(rows[: len(prefix)][prefix >= 0])
            found_cols.append(prefix[prefix >= 0])
        rows, cols = np.concatenate(found_rows), np.concatenate(found_cols)
        order = np.argsort(rows, kind="stable")
        counts = np.bincount(rows, minlength=len(texts))
        out = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(counts, out=out[1:])
        return cols[order], out

    def _columns_by_string(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        get = self._index.get
        found, ends = [], []
        for text in texts:
            found.extend(map(get, self.analyze(text), repeat(-1)))
            ends.append(len(found))
        ids = np.fromiter(found, dtype=np.int64, count=len(found))
        known = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(ids >= 0, out=known[1:])
        return ids[ids >= 0], known[np.asarray([0, *ends], dtype=np.int64)]

    def transform(self, X) -> sp.csr_matrix:
        """The l2-normalised TF-IDF matrix (``float64`` CSR, one row per text)."""
        check_is_fitted(self, "terms_")
        texts = _texts(X)
        indices, indptr = self._columns(texts)
        matrix = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(texts), len(self.terms_)))
        matrix.sum_duplicates()  # counts per (text, column), columns sorted within each row
        if self.sublinear_tf:
            np.log(matrix.data, out=matrix.data)
            matrix.data += 1.0
        matrix.data *= self.idf_[matrix.indices]
        return normalize(matrix, copy=False)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "terms_")
        return np.asarray(self.terms_, dtype=object)


def _texts(X) -> list[str]:
    if isinstance(X, str):
        raise ValueError("expected an iterable of texts, not one string")
    return X.tolist() if hasattr(X, "tolist") else list(X)


def build_features(word: dict | None, char: dict | None):
    """The shared feature block: word and/or ``char_wb`` TF-IDF of normalised texts, side by side.
    ``word`` and ``char`` are the config sections (``ngram_range``, ``min_df``, ``sublinear_tf``)."""
    from sklearn.pipeline import FeatureUnion

    blocks = [(name, TfidfFeatures(analyzer=analyzer, **params))
              for name, analyzer, params in (("word", "word", word), ("char", "char_wb", char)) if params is not None]
    if not blocks:
        raise ValueError("at least one of the word or char TF-IDF blocks must be configured")
    return FeatureUnion(blocks)
