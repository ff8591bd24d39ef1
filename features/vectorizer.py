"""The shared feature block: word and ``char_wb`` TF-IDF, equal to scikit-learn's ``TfidfVectorizer``.

``TfidfFeatures(analyzer, ngram_range, min_df, sublinear_tf)`` gives the same vocabulary (sorted terms),
the same idf and the same l2-normalised matrix as::

    TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, min_df=min_df, sublinear_tf=sublinear_tf,
                    lowercase=False, token_pattern=WORD_TOKEN_PATTERN)

and ``TextFeatures(word={...}, char={...})`` the same matrix as a ``FeatureUnion`` of the two
(checked by hypothesis tests in ``tests/test_vectorizer.py``). Why not scikit-learn's own: the model
cuts every quote into n-grams on every ``predict`` call, and scikit-learn's analysers build each n-gram
as a Python string, every time. Here

* the text is split at whitespace once for both blocks; every n-gram lies within one word (``char_wb``)
  or is a run of the words' tokens (word n-grams), so each distinct word is analysed once and its
  column ids are remembered (a bounded memory that is never saved with the model);
* a known word n-gram is found from integers: its document frequency is at most its (n-1)-prefix's, so
  its prefix is known too, and ``prefix column x width + last token column`` is its key;
* terms are found by binary search in the sorted vocabulary (no dict to build when a model loads);
* counting is one sparse product, (texts x words) @ (words x n-grams), with no sort; sublinear tf, idf
  and each block's l2 norm are a few array operations on the result.

Only public scikit-learn and scipy API is used. ``TfidfFeatures`` takes normalised texts;
``TextFeatures`` normalises raw ones itself (:mod:`features.normalize`).
"""

from __future__ import annotations

import re
from collections import Counter
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from features.normalize import NormalizeSteps, normaliser, normalize_texts

WORD_TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's default: words of two or more letters
_TOKENS = re.compile(WORD_TOKEN_PATTERN).findall
_MEMORY_LIMIT = 1 << 18  # distinct words remembered per fitted block before the memory starts afresh
_EMPTY = np.empty(0, dtype=np.int64)


def char_wb_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """The ``char_wb`` n-grams of one word, as scikit-learn makes them: the word padded with one space
    on each side; a padded word no longer than ``n`` gives itself once, and no longer n-grams."""
    padded = f" {word} "
    size = len(padded)
    out = []
    for n in range(min_n, max_n + 1):
        if size <= n:
            out.append(padded)
            break
        out.extend(padded[i:i + n] for i in range(size - n + 1))
    return out


def word_ngrams(tokens: list[str], min_n: int, max_n: int) -> list[str]:
    """Token n-grams joined by one space (scikit-learn's ``_word_ngrams`` without stop words)."""
    out = list(tokens) if min_n == 1 else []
    for n in range(max(min_n, 2), min(max_n, len(tokens)) + 1):
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


class TfidfFeatures(TransformerMixin, BaseEstimator):
    """TF-IDF of word or ``char_wb`` n-grams of already normalised texts (an iterable of ``str``; the
    normaliser removes NUL, which numpy's strings cannot end with).

    Fitted attributes: ``terms_`` (the vocabulary, sorted, one array of strings: far faster to save and
    load than a dict of a few hundred thousand entries), ``idf_``, and for word n-grams from unigrams
    up, ``ngram_keys_`` / ``ngram_columns_`` (each longer n-gram's integer key and column, by key).
    """

    def __init__(self, analyzer="word", ngram_range=(1, 2), min_df=1, sublinear_tf=True):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        if self.analyzer not in ("word", "char_wb"):
            raise ValueError(f"analyzer must be 'word' or 'char_wb', not {self.analyzer!r}")
        low, high = self.ngram_range
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range must be (low, high) with 1 <= low <= high, not {self.ngram_range}")
        if self.analyzer == "word" and low != 1:
            raise ValueError("word n-grams start at unigrams (ngram_range (1, n)): longer ones are found from them")
        texts = _texts(X)
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
        least = self.min_df if isinstance(self.min_df, Integral) else self.min_df * len(texts)
        terms = sorted(term for term, count in df.items() if count >= least)
        if not terms:
            raise ValueError("empty vocabulary: no n-gram occurs in at least min_df training texts")
        counts = np.fromiter((df[t] for t in terms), dtype=np.float64, count=len(terms))
        self.terms_ = np.asarray(terms, dtype=str)
        self.idf_ = np.log((1.0 + len(texts)) / (1.0 + counts)) + 1.0
        self.ngram_keys_, self.ngram_columns_ = self._ngram_index(terms)
        return self

    def _ngram_index(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if self.analyzer != "word":
            return _EMPTY, _EMPTY
        index = {t: i for i, t in enumerate(terms)}
        keys, columns = [], []
        for column, term in enumerate(terms):
            head, space, last = term.rpartition(" ")
            if space:
                keys.append(index[head] * len(terms) + index[last])
                columns.append(column)
        keys_arr = np.asarray(keys, dtype=np.int64)
        order = np.argsort(keys_arr, kind="stable")
        return keys_arr[order], np.asarray(columns, dtype=np.int64)[order]

    # ------------------------------------------------------------------ transform
    def lookup(self, grams: list[str]) -> np.ndarray:
        """The columns of ``grams`` (-1 for an unknown one), by binary search in the sorted vocabulary.
        numpy's string order is Python's (code points), so it is the order ``terms_`` was sorted in."""
        if not grams:
            return _EMPTY
        query = np.asarray(grams, dtype=str)
        at = np.minimum(np.searchsorted(self.terms_, query), len(self.terms_) - 1)
        return np.where(self.terms_[at] == query, at, -1).astype(np.int64)

    def ids_of(self, words: list[str]) -> list[np.ndarray]:
        """For each (normalised) word, in one binary search for all of them: the columns of its known
        ``char_wb`` n-grams, or for word n-grams the unigram column of each of its tokens (-1 for an
        unknown token: it still separates its neighbours). A word may hold spaces (a hashtag the
        normaliser split)."""
        low, high = self.ngram_range
        if self.analyzer == "word":
            grams = [_TOKENS(w) for w in words]
        else:
            grams = [[g for part in w.split() for g in char_wb_ngrams(part, low, high)] for w in words]
        ids = np.split(self.lookup([g for each in grams for g in each]), np.cumsum([len(g) for g in grams])[:-1])
        return ids if self.analyzer == "word" else [i[i >= 0] for i in ids]

    def longer_ngrams(self, tokens: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, columns)`` of the known word n-grams from bigrams up, given every token's unigram
        column (-1: unknown) in text order and its text (``rows``); see the module's docstring."""
        found_rows, found_cols = [_EMPTY], [_EMPTY]
        prefix, width = tokens, len(self.terms_)
        for n in range(2, self.ngram_range[1] + 1):
            if len(prefix) < 2 or not len(self.ngram_keys_):
                break
            prefix, last = prefix[:-1], tokens[n - 1:]
            keys = np.where((rows[: len(prefix)] == rows[n - 1:]) & (prefix >= 0) & (last >= 0),
                            prefix * width + last, -1)
            at = np.minimum(np.searchsorted(self.ngram_keys_, keys), len(self.ngram_keys_) - 1)
            prefix = np.where((keys >= 0) & (self.ngram_keys_[at] == keys), self.ngram_columns_[at], -1)
            found_rows.append(rows[: len(prefix)][prefix >= 0])
            found_cols.append(prefix[prefix >= 0])
        return np.concatenate(found_rows), np.concatenate(found_cols)

    def transform(self, X) -> sp.csr_matrix:
        """The l2-normalised TF-IDF matrix (``float64`` CSR, one row per text)."""
        check_is_fitted(self, "terms_")
        return tfidf_matrix([(self, 0)], _texts(X), len(self.terms_), _memory(self), None, self.idf_)

    def __getstate__(self):  # the word memory is rebuilt as words come, never saved
        return {k: v for k, v in self.__dict__.items() if k != "_memory"}

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "terms_")
        return np.asarray(self.terms_, dtype=object)


class TextFeatures(TransformerMixin, BaseEstimator):
    """The shared block of raw texts: the normaliser, then word and ``char_wb`` TF-IDF side by side, as
    ``FeatureUnion([("word", ...), ("char", ...)])`` of normalised texts would give them (each block
    l2-normalised on its own). ``normalize`` is the normaliser's steps (see
    :class:`features.normalize.NormalizeSteps`); ``word`` and ``char`` the blocks' settings
    (``ngram_range``, ``min_df``, ``sublinear_tf``) or None. Feature names are ``word__<n-gram>`` and
    ``char__<n-gram>``.

    No normalisation step reaches across whitespace, so each distinct raw word is normalised and
    analysed for both blocks once, and remembered: a text is split once, and each of its words is one
    look-up."""

    def __init__(self, normalize=None, word=None, char=None):
        self.normalize = normalize
        self.word = word
        self.char = char

    def steps(self) -> NormalizeSteps:
        unknown = set(self.normalize or {}) - set(NormalizeSteps.names())
        if unknown:
            raise ValueError(f"unknown normalisation step(s) {sorted(unknown)}; known: {NormalizeSteps.names()}")
        return NormalizeSteps(**{name: bool(on) for name, on in (self.normalize or {}).items()})

    def fit(self, X, y=None):
        texts = normalize_texts(_texts(X), self.steps())
        blocks = [(name, TfidfFeatures(analyzer=analyzer, **dict(params)).fit(texts))
                  for name, analyzer, params in (("word", "word", self.word), ("char", "char_wb", self.char))
                  if params is not None]
        if not blocks:
            raise ValueError("at least one of the word or char TF-IDF blocks must be configured")
        self.blocks_ = blocks
        sizes = [len(block.terms_) for _, block in blocks]
        self.offsets_ = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
        self.n_features_out_ = int(sum(sizes))
        return self

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def transform(self, X) -> sp.csr_matrix:
        check_is_fitted(self, "blocks_")
        idf = self.__dict__.get("_idf")
        if idf is None:  # the blocks' idf side by side, once per process rather than once per call
            idf = self._idf = np.concatenate([block.idf_ for _, block in self.blocks_])
        return tfidf_matrix([(block, int(offset)) for (_, block), offset in zip(self.blocks_, self.offsets_)],
                            _texts(X), self.n_features_out_, _memory(self), normaliser(self.steps()), idf)

    def __getstate__(self):  # the word memory and the joined idf are rebuilt, never saved
        return {k: v for k, v in self.__dict__.items() if k not in ("_memory", "_idf")}

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "blocks_")
        return np.concatenate([np.char.add(f"{name}__", block.terms_).astype(object)
                               for name, block in self.blocks_])


def _memory(owner) -> dict:
    """The raw word -> per-block ids memory of a fitted block (bounded; starts afresh when full)."""
    memory = owner.__dict__.setdefault("_memory", {})
    if len(memory) > _MEMORY_LIMIT:
        memory.clear()
    return memory


def tfidf_matrix(blocks: list[tuple[TfidfFeatures, int]], texts: list[str], width: int, memory: dict,
                 normalise, idf: np.ndarray) -> sp.csr_matrix:
    """TF-IDF of ``texts`` for fitted blocks placed side by side at their column offsets.

    Counting is one sparse product, (texts x distinct words) @ (distinct words x columns), which sums
    repeated n-grams without sorting; each distinct word's row holds its remembered ``char_wb`` and
    unigram columns (``memory``, filled after ``normalise`` where given), and word n-grams from bigrams
    up, which span words, enter as one extra "word" per occurrence. Then sublinear tf and idf per
    block (``idf``: the blocks' idf side by side), and each block's rows scaled to unit l2 norm.
    Columns within a row are not sorted."""
    words, ends = [], []
    for text in texts:
        words.extend(text.split())
        ends.append(len(words))
    position: dict[str, int] = {}
    occurrence = np.fromiter((position.setdefault(w, len(position)) for w in words), dtype=np.int64,
                             count=len(words))
    distinct = list(position)
    parts = [memory.get(w) for w in distinct]
    new = [w for w, p in zip(distinct, parts) if p is None]
    if new:
        normalised = [normalise(w) for w in new] if normalise is not None else new
        fresh = dict(zip(new, zip(*(block.ids_of(normalised) for block, _ in blocks))))
        memory.update(fresh)
        parts = [fresh[w] if p is None else p for w, p in zip(distinct, parts)]
    word_ends = np.asarray([0, *ends], dtype=np.int64)
    word_rows = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(word_ends))
    columns, extra_rows, extra_cols = [], [_EMPTY], [_EMPTY]
    for k, (block, offset) in enumerate(blocks):
        ids = [p[k] for p in parts]
        if block.analyzer == "word":
            tokens = [ids[i] for i in occurrence.tolist()]
            lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
            rows, cols = block.longer_ngrams(np.concatenate(tokens) if tokens else _EMPTY,
                                             np.repeat(word_rows, lengths))
            extra_rows.append(rows)
            extra_cols.append(cols + offset)
            ids = [i[i >= 0] for i in ids]
        columns.append([i + offset for i in ids])
    per_word = [np.concatenate(c) for c in zip(*columns)] if len(blocks) > 1 else columns[0]
    extra_rows, extra_cols = np.concatenate(extra_rows), np.concatenate(extra_cols)
    # rows of the right factor: the distinct words, then one per longer n-gram occurrence
    lengths = np.fromiter(map(len, per_word), dtype=np.int64, count=len(per_word))
    right_ptr = np.concatenate([[0], np.cumsum(lengths), np.sum(lengths) + np.arange(1, len(extra_cols) + 1)])
    right = sp.csr_matrix((np.ones(right_ptr[-1]), np.concatenate([*per_word, extra_cols]), right_ptr),
                          shape=(len(per_word) + len(extra_cols), width))
    # rows of the left factor: each text's word occurrences, then its longer n-gram occurrences
    left_rows = np.concatenate([word_rows, extra_rows])
    left_cols = np.concatenate([occurrence, len(per_word) + np.arange(len(extra_cols), dtype=np.int64)])
    order = np.argsort(left_rows, kind="stable")
    left_ptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(left_rows, minlength=len(texts)), out=left_ptr[1:])
    left = sp.csr_matrix((np.ones(len(left_cols)), left_cols[order], left_ptr), shape=(len(texts), right.shape[0]))
    matrix = sp.csr_matrix(left @ right)
    return _weigh(matrix, blocks, idf)


def _weigh(matrix: sp.csr_matrix, blocks: list[tuple[TfidfFeatures, int]], idf: np.ndarray) -> sp.csr_matrix:
    """Counts -> sublinear tf (per block's setting) x idf, each block's part of a row at unit l2 norm."""
    starts = np.asarray([offset for _, offset in blocks], dtype=np.int64)
    block_of = np.searchsorted(starts, matrix.indices, side="right") - 1
    sublinear = [block.sublinear_tf for block, _ in blocks]
    if all(sublinear):
        np.log(matrix.data, out=matrix.data)
        matrix.data += 1.0
    elif any(sublinear):
        mine = np.asarray(sublinear)[block_of]
        matrix.data[mine] = np.log(matrix.data[mine]) + 1.0
    matrix.data *= idf[matrix.indices]
    n_rows = matrix.shape[0]
    slot = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(matrix.indptr)) * len(blocks) + block_of
    norms = np.sqrt(np.bincount(slot, weights=matrix.data ** 2, minlength=n_rows * len(blocks)))
    norms[norms == 0] = 1.0
    matrix.data /= norms[slot]
    return matrix


def _texts(X) -> list[str]:
    if isinstance(X, str):
        raise ValueError("expected an iterable of texts, not one string")
    return X.tolist() if hasattr(X, "tolist") else list(X)
