"""Fast counting of character n-grams inside word boundaries (``analyzer="char_wb"``).

Profiling the Mawqif model (see ``benchmarks/README.md``) showed that ~90% of batch prediction
time and ~35% of featurisation time at fit is scikit-learn's ``CountVectorizer._count_vocab``: a
Python loop that cuts every word of every text into 2..5-grams and looks each one up in a dict
(5 million n-grams for 5,000 tweets).

``char_wb`` n-grams never cross a word boundary, so a text's n-grams are the concatenation of its
words' n-grams, and words repeat a lot. :class:`FastCharWbCounting` therefore cuts each *distinct*
word once (the same n-grams as scikit-learn's ``_char_wb_ngrams``), looks them up with C-level
``map`` instead of a Python loop, and computes the count matrix as a sparse product::

    counts (texts x n-grams) = occurrences (texts x distinct words) @ n-grams (distinct words x n-grams)

which is exact in integers. The result is the same vocabulary and the same matrix as the parent
class (tests/test_fast_features.py checks both, and whole-model predictions). ``word`` n-grams are
counted with pandas' hash table (any tokenizer); ``char`` uses the parent's code. When fitting,
the vocabulary is pruned and sorted once and its dict built for the kept terms only.

It is a mixin with no state of its own beyond a marker that lives during ``fit`` (and is never
saved), so a fitted vectorizer pickles and loads through skops exactly as before (its class name and
attributes do not change).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import compress, repeat
from numbers import Integral

import numpy as np
import pandas as pd
import scipy.sparse as sp


SMALL_BATCH = 16


def _char_wb_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """scikit-learn's ``_char_wb_ngrams`` for one word (no whitespace inside): the word padded with
    a space on each side, cut into min_n..max_n-grams; a padded word shorter than n counts once.
    The slices for each padded length are made once, so cutting a word is one C-level ``map``."""
    w = " " + word + " "
    cuts = _SLICES.get((len(w), min_n, max_n))
    if cuts is None:
        cuts = _SLICES[(len(w), min_n, max_n)] = _slices(len(w), min_n, max_n)
    return list(map(w.__getitem__, cuts))


_SLICES: dict[tuple[int, int, int], list[slice]] = {}


@lru_cache(maxsize=1 << 17)
def _char_wb_ngrams_cached(word: str, min_n: int, max_n: int) -> tuple[str, ...]:
    """``_char_wb_ngrams``, remembered: fitting a model cuts the same words many times (per target,
    per task, per inner fold). A bounded cache of a pure function."""
    return tuple(_char_wb_ngrams(word, min_n, max_n))


def _slices(size: int, min_n: int, max_n: int) -> list[slice]:
    out: list[slice] = []
    for n in range(min_n, max_n + 1):
        if n >= size:
            out.append(slice(0, size))
            break
        out.extend(slice(i, i + n) for i in range(size - n + 1))
    return out


def _word_ngrams(tokens: list[str], min_n: int, max_n: int) -> list[str]:
    """scikit-learn's ``_word_ngrams`` without stop words: the tokens (if ``min_n`` is 1), then each
    n-gram length in turn, each n tokens in a row joined by a space, in order."""
    grams = list(tokens) if min_n == 1 else []
    for n in range(max(min_n, 2), min(max_n, len(tokens)) + 1):
        grams.extend(map(" ".join, zip(*[tokens[i:] for i in range(n)])))
    return grams


def _string_order(terms: list[str]) -> np.ndarray:
    """The permutation that sorts ``terms`` as Python's ``sorted`` does (by code point). Arrow sorts
    UTF-8 bytes, which is the same order, in C++; Python sorts what Arrow cannot encode."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array(terms, type=pa.string())
    except (UnicodeError, pa.ArrowException):
        return np.asarray(sorted(range(len(terms)), key=terms.__getitem__), dtype=np.int64)
    return pc.sort_indices(array).to_numpy().astype(np.int64)


class FastCharWbCounting:
    """Mixin for a ``CountVectorizer`` subclass: a vectorised ``_count_vocab`` for ``char_wb``, and
    for every analyzer the vocabulary pruning (``min_df``/``max_df``) and sorting of ``fit`` without a
    Python loop over the vocabulary (the same vocabulary, in the same insertion order, and the same
    matrix as scikit-learn's; tests/test_fast_features.py)."""

    def _limit_features(self, X, vocabulary, high=None, low=None, limit=None):
        if limit is None and vocabulary is self.__dict__.get("_vocabulary_done"):
            return X  # pruned and sorted by _fitted (the same thresholds)
        if limit is not None:  # max_features: a top-k with ties, left to scikit-learn
            return super()._limit_features(X, vocabulary, high, low, limit)
        dfs = np.bincount(X.indices, minlength=X.shape[1])  # sklearn's _document_frequency of a csr matrix
        mask = np.ones(len(dfs), dtype=bool)
        if high is not None:
            mask &= dfs <= high
        if low is not None:
            mask &= dfs >= low
        new_indices = np.cumsum(mask) - 1
        terms = list(vocabulary)
        old = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(terms))
        keep = mask[old]
        vocabulary.clear()  # in place, kept terms in their order, as the parent's loop of deletions leaves it
        vocabulary.update(zip(compress(terms, keep.tolist()), new_indices[old[keep]].tolist()))
        kept_indices = np.where(mask)[0]
        if len(kept_indices) == 0:
            raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
        return X[:, kept_indices]

    def _sort_features(self, X, vocabulary):
        if vocabulary is self.__dict__.pop("_vocabulary_done", None):
            return X
        terms = list(vocabulary)
        old = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(terms))
        order = _string_order(terms)
        map_index = np.empty(len(terms), dtype=X.indices.dtype)
        map_index[old[order]] = np.arange(len(terms), dtype=X.indices.dtype)
        vocabulary.update(zip(map(terms.__getitem__, order.tolist()), range(len(terms))))
        X.indices = map_index.take(X.indices, mode="clip")
        return X

    def _count_vocab(self, raw_documents, fixed_vocab):
        few = hasattr(raw_documents, "__len__") and len(raw_documents) < SMALL_BATCH
        if few:  # a few texts: the parent's loop has less fixed cost
            return super()._count_vocab(raw_documents, fixed_vocab)
        if self.analyzer == "word" and self.stop_words is None:  # any tokenizer: build_tokenizer() gives it
            return self._count_word_vocab(raw_documents, fixed_vocab)
        if self.analyzer != "char_wb":
            return super()._count_vocab(raw_documents, fixed_vocab)
        preprocess, decode = self.build_preprocessor(), self.decode
        spaces = self._white_spaces
        words: list[str] = []  # every word occurrence, text after text
        indptr = [0]
        for doc in raw_documents:
            # the parent's analyzer: decode -> preprocess -> normalise runs of spaces -> split
            words.extend(spaces.sub(" ", preprocess(decode(doc))).split())
            indptr.append(len(words))
        occurrences, distinct = pd.factorize(np.asarray(words, dtype=object)) if words else (np.empty(0, np.int64), [])

        min_n, max_n = self.ngram_range
        flat: list[str] = []  # every distinct word's n-grams, word after word
        w_indptr = [0]
        for word in distinct:
            flat.extend(_char_wb_ngrams_cached(word, min_n, max_n))
            w_indptr.append(len(flat))
        # out-of-vocabulary n-grams go to one extra column, dropped below
        w_indices, vocabulary = self._lookup(flat, fixed_vocab, unknown=len(self.vocabulary_) if fixed_vocab else 0)
        n_docs, n_words, n_features = len(indptr) - 1, len(distinct), len(vocabulary)
        occ = sp.csr_array((np.ones(len(occurrences), dtype=np.int64), np.asarray(occurrences, dtype=np.int64),
                            np.asarray(indptr, dtype=np.int64)), shape=(n_docs, n_words))
        grams = sp.csr_array((np.ones(len(w_indices), dtype=np.int64), np.asarray(w_indices, dtype=np.int64),
                              np.asarray(w_indptr, dtype=np.int64)), shape=(n_words, n_features + fixed_vocab))
        counts = (occ @ grams).tocsr()  # sums duplicates: exact integer counts
        if fixed_vocab:
            counts = counts[:, :n_features].tocsr()
        counts.sum_duplicates()
        counts.eliminate_zeros()
        return self._fitted(vocabulary, counts)

    def _count_word_vocab(self, raw_documents, fixed_vocab):
        """``analyzer="word"``: the parent's n-grams, counted with pandas' hash table instead of a dict
        per document. Ids are given in order of first appearance, as the parent's ``defaultdict`` does,
        and each row's entries are sorted, as the parent sorts them."""
        preprocess, decode, tokenize = self.build_preprocessor(), self.decode, self.build_tokenizer()
        min_n, max_n = self.ngram_range
        grams: list[str] = []
        indptr = [0]
        for doc in raw_documents:
            grams.extend(_word_ngrams(tokenize(preprocess(decode(doc))), min_n, max_n))
            indptr.append(len(grams))
        codes, vocabulary = self._lookup(grams, fixed_vocab, unknown=-1)
        indptr = np.asarray(indptr, dtype=np.int64)
        rows = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
        known = codes >= 0
        rows, codes = rows[known], codes[known]
        counts = sp.csr_array((np.ones(len(codes), dtype=np.int64), (rows, codes)),
                              shape=(len(indptr) - 1, len(vocabulary)))  # duplicates summed, rows sorted
        counts.sum_duplicates()
        return self._fitted(vocabulary, counts)

    def _fitted(self, vocabulary, counts):
        """(vocabulary, count matrix) for the parent's ``fit_transform``/``transform``. When fitting
        without ``max_features``, the vocabulary is pruned (``min_df``/``max_df``, the parent's
        thresholds) and sorted here, and built as a dict once, for the kept terms only: the parent's
        ``_limit_features`` and ``_sort_features`` then have nothing left to do (they see this
        vocabulary marked as done). The same terms, ids, insertion order and matrix as the parent's
        three steps (tests/test_fast_features.py)."""
        if not isinstance(vocabulary, _Terms):  # transform: the fitted vocabulary
            return vocabulary, _count_matrix(counts, self.dtype)
        terms = vocabulary.terms
        n_doc = counts.shape[0]
        high = self.max_df if isinstance(self.max_df, Integral) else self.max_df * n_doc
        low = self.min_df if isinstance(self.min_df, Integral) else self.min_df * n_doc
        if self.max_features is not None or high < low:  # the parent's steps (and errors) follow
            return dict(zip(terms, range(len(terms)))), _count_matrix(counts, self.dtype)
        dfs = np.bincount(counts.indices, minlength=counts.shape[1])  # one entry per (text, term)
        kept = np.flatnonzero((dfs <= high) & (dfs >= low))
        if len(kept) == 0:
            raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
        kept_terms = list(map(terms.__getitem__, kept.tolist()))
        order = _string_order(kept_terms)
        column = np.full(len(terms), -1, dtype=np.int64)
        column[kept[order]] = np.arange(len(kept), dtype=np.int64)
        # the parent's order: kept terms as first met, each given its rank in sorted order
        vocabulary = dict(zip(kept_terms, column[kept].tolist()))
        counts.sort_indices()
        columns = column[counts.indices]
        known = columns >= 0
        indptr = np.zeros(n_doc + 1, dtype=np.int64)
        rows = np.repeat(np.arange(n_doc, dtype=np.int64), np.diff(counts.indptr))
        np.cumsum(np.bincount(rows[known], minlength=n_doc), out=indptr[1:])
        # each row in the order of the first-met ids, renamed but not re-sorted, as the parent leaves it
        pruned = sp.csr_array((counts.data[known], columns[known], indptr), shape=(n_doc, len(kept)))
        self._vocabulary_done = vocabulary
        return vocabulary, _count_matrix(pruned, self.dtype, sort=False)

    def _lookup(self, items: list[str], fixed_vocab: bool, unknown: int) -> tuple[np.ndarray, dict]:
        """Ids of ``items`` and the vocabulary: the fitted one (``unknown`` for a term not in it), or,
        when fitting, ids in order of first appearance, as the parent's ``defaultdict`` gives them."""
        if fixed_vocab:
            vocabulary = self.vocabulary_
            return np.fromiter(map(vocabulary.get, items, repeat(unknown)), dtype=np.int64, count=len(items)), vocabulary
        codes, distinct = pd.factorize(np.asarray(items, dtype=object)) if items else (np.empty(0, np.int64), [])
        if not len(distinct):
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        return np.asarray(codes, dtype=np.int64), _Terms(distinct.tolist())


class _Terms:
    """A vocabulary being fitted: its distinct terms in order of first appearance (id = position),
    made into a dict only once pruned and sorted (``FastCharWbCounting._fitted``)."""

    def __init__(self, terms: list[str]):
        self.terms = terms

    def __len__(self) -> int:
        return len(self.terms)


def _count_matrix(counts, dtype, sort: bool = True):
    """The parent's count matrix from exact integer counts: ``intc`` values, int32 indices unless there
    are too many entries, each row sorted, the parent's sparse API."""
    from sklearn.utils._sparse import _align_api_if_sparse

    index_dtype = np.int64 if counts.nnz > np.iinfo(np.int32).max else np.int32
    X = sp.csr_array((counts.data.astype(np.intc), counts.indices.astype(index_dtype),
                      counts.indptr.astype(index_dtype)), shape=counts.shape, dtype=dtype)
    if sort:
        X.sort_indices()
    return _align_api_if_sparse(X)
