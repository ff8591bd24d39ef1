"""Score a fitted model fast, with exactly the numbers its Pipeline gives.

The saved model stays the one scikit-learn Pipeline (normalise -> per task: TF-IDF blocks ->
classifier). Calling it row batch by row batch wastes work that profiling made plain (see
benchmarks/README.md): with one stance model per target plus a sentiment model, every text is
tokenised and cut into character n-grams four times, word n-grams are counted by a Python loop
per occurrence, and one quote pays for DataFrame plumbing and input validation in every step.

:class:`CompiledModel` reads the fitted steps once and then, for a batch of texts,

- normalises each text once;
- cuts text once per distinct analyser setting, and per batch: the default pattern's word tokens
  are found and factorised once (a plain word block and a stemmed one, ``WordAnalyzer``, share
  them) and their n-grams are found as integers in a trie of the merged vocabulary
  (:class:`_NgramIndex`); other tokenizers' n-gram strings are looked up by Arrow; ``char_wb``
  n-grams are cut once per distinct word and remembered in a bounded cache;
- counts each text's n-grams in the merged vocabulary of all blocks of a setting
  (``kernels.count_units``: the integers of ``occurrences @ units``, rows sorted);
- for labels and probabilities of a logistic regression on TF-IDF, mention and sentiment blocks,
  adds each row's TF-IDF values straight into the decision function (``kernels.tfidf_rows``), in
  the order scipy's sparse product adds them, then scikit-learn's own softmax; otherwise (evidence,
  other classifiers) renames the counts into each vectorizer's columns and hands them to its own
  fitted ``TfidfTransformer`` and the blocks to the classifier's own ``predict_proba``.

One quote takes a small-array path with no sparse matrices: counts, then TF-IDF weights, the
l2 norm and a logistic regression's decision function summed in the order scikit-learn's sparse
code sums them, so the probabilities are bit-for-bit the Pipeline's (other classifiers get a
one-row sparse matrix and their own ``predict_proba``). For a logistic regression on TF-IDF,
mention and sentiment blocks those loops run in :mod:`stancelab.kernels` (numba), with the same
operations in the same order; other models keep the numpy version of the same steps.

The target-interaction models (``target_mode`` interact / augmented: shared and per-target copies
of the features) are compiled too: their blocks as above, then the interaction's own ``_augment``.

Anything the compiler does not recognise (a custom feature transformer, a vectorizer with a
preprocessor, stop words or accent stripping) is either
handed to the fitted step's own ``transform`` or makes :func:`compile_model` return ``None``, and
callers use the Pipeline. tests/test_compiled.py checks labels and probabilities against the
Pipeline on whole benchmark test sets.
"""

from __future__ import annotations

import math
import re
import threading
from itertools import compress, repeat
from operator import is_
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.extmath import softmax

from features.analysis import DROPPED, WORD_TOKEN_PATTERN, WordAnalyzer
from features.fast import _char_wb_ngrams, _string_order, _word_ngrams
from features.interactions import TargetInteraction
from features.mention import TargetMention
from features.normalize import NormalizeSteps, TextNormalizer, normalize_text, normalize_texts
from stancelab.estimators import JointClassifier, SentimentProbabilities, TargetRouter

WORD_CACHE_SIZE = 200_000  # distinct words whose char_wb n-gram ids are remembered (tens of MB at most)
ARROW_MIN_WORDS = 256  # from this many new words in one call, cut and look them up with Arrow
ARROW_MIN_TEXTS = 64  # from this many texts, find word n-grams with arrays (integer ids, or Arrow)
_WORD_TOKENS = re.compile(WORD_TOKEN_PATTERN)  # as CountVectorizer.build_tokenizer compiles it


class NotCompilable(Exception):
    """The model has a step the compiler does not know; use the Pipeline."""


def compile_model(pipeline) -> "CompiledModel | None":
    """A :class:`CompiledModel` for ``pipeline``, or ``None`` if it has steps the compiler does not know."""
    try:
        return CompiledModel(pipeline)
    except NotCompilable:
        return None


# --------------------------------------------------------------------------- text analysis
def _analysis_key(vec) -> tuple | None:
    """How a vectorizer cuts text, if the compiler can do the same; ``None`` -> call its transform."""
    if not isinstance(vec, CountVectorizer) or not isinstance(vec.analyzer, str):
        return None
    if vec.input != "content" or vec.preprocessor is not None or vec.strip_accents is not None:
        return None
    if vec.stop_words is not None:
        return None
    lower = bool(vec.lowercase)
    if vec.analyzer == "char_wb":
        return ("char_wb", lower, tuple(vec.ngram_range))
    if vec.analyzer == "word":  # a custom tokenizer (e.g. features.analysis.WordAnalyzer) is called as is
        tokens = vec.token_pattern if vec.tokenizer is None else ("tokenizer", id(vec.tokenizer))
        return ("word", lower, tokens, tuple(vec.ngram_range))
    return None


class _Analysis:
    """The texts of one batch cut by one analyser setting: ``occurrences`` (texts x units, an entry per
    occurrence) of its distinct ``units``: words for ``char_wb``, n-gram strings for ``word``."""

    def __init__(self, kind: str, occurrences, units, merged=None):
        self.kind = kind
        self.occurrences = occurrences
        self.units = units
        self._merged = merged  # char_wb: given at once (the word cache's slots may be reset later)
        self._counts = None

    def _merged_ids(self, shared: "_SharedVocabulary") -> tuple[np.ndarray, np.ndarray]:
        """Per unit, the merged ids of its n-grams (-1: in no vocabulary), and their units."""
        if self._merged is None:  # word n-gram strings: one lookup serves every block
            self._merged = (shared.ids(self.units), np.arange(len(self.units), dtype=np.int64))
        return self._merged

    def merged_counts(self, shared: "_SharedVocabulary") -> sp.csr_array:
        """texts x merged ids: each text's count of each known n-gram, indices sorted in every row.
        Computed once per batch and setting (``kernels.count_units``: the integers scipy's
        ``occurrences @ units`` gives, without a sort); each block then renames columns
        (``_TextBlock.counts``)."""
        if self._counts is None:
            occurrences = self.occurrences
            doc_indptr = occurrences.indptr.astype(np.int64, copy=False)
            codes = occurrences.indices.astype(np.int64, copy=False)
            if self.kind == "merged":  # occurrences are already merged ids, one entry per occurrence
                unit_ids, codes = codes, np.arange(len(codes), dtype=np.int64)
                unit_indptr = np.arange(len(codes) + 1, dtype=np.int64)
            else:
                unit_ids, unit_of = self._merged_ids(shared)
                unit_indptr = np.zeros(len(self.units) + 1, dtype=np.int64)
                np.cumsum(np.bincount(unit_of, minlength=len(self.units)), out=unit_indptr[1:])
            indptr, ids, counts = shared.kernels.count_units(doc_indptr, codes, unit_indptr,
                                                             unit_ids.astype(np.int64, copy=False), len(shared.index))
            self._counts = sp.csr_array((counts, ids, indptr), shape=(occurrences.shape[0], len(shared.index)))
        return self._counts

    def unit_matrix(self, block: "_TextBlock") -> sp.csr_array:
        """units x the block's vocabulary: how often each unit contains each known n-gram."""
        shared = block.shared
        if self.kind == "merged":  # occurrences are already in the shared vocabulary's ids
            return shared.selection(block)
        merged, unit_of = self._merged_ids(shared)
        columns = shared.columns[id(block)][merged]
        known = columns >= 0
        indptr = np.concatenate([[0], np.cumsum(np.bincount(unit_of[known], minlength=len(self.units)))])
        return sp.csr_array((np.ones(int(known.sum()), dtype=np.int64), columns[known], indptr.astype(np.int64)),
                            shape=(len(self.units), block.n_features))


def _sorted_terms(blocks) -> list[str]:
    """The union of the blocks' vocabularies in Python's string order (code points), as fitting sorts
    a vocabulary (``features.fast._string_order``)."""
    terms = list(set().union(*(block.vocabulary for block in blocks)))
    return [terms[i] for i in _string_order(terms).tolist()]


class _NgramIndex:
    """A word setting's merged vocabulary as integers, so a batch's n-grams are found without building
    their strings: every token of the vocabulary's n-grams gets an id; an n-gram of n >= 2 tokens is
    the pair (node of its first n-1 tokens, id of its last token), found by binary search in sorted
    keys (a trie, level by level). Exact when no token has a space (the default pattern's tokens,
    ``features.analysis.WordAnalyzer``'s stems): an n-gram string then splits into its tokens one way
    only, and scikit-learn's ``" ".join`` of tokens is in the vocabulary iff this finds it."""

    def __init__(self, index: dict[str, int], ngram_range):
        self.min_n, self.max_n = min_n, max_n = ngram_range
        self.n_merged = len(index)
        self.token_ids: dict[str, int] = {}
        grams: list[tuple[tuple[int, ...], int]] = []  # (token ids, merged id) of the n-grams in range
        for gram, merged in index.items():
            parts = gram.split(" ")
            if min_n <= len(parts) <= max_n:
                grams.append((tuple(self.token_ids.setdefault(p, len(self.token_ids)) for p in parts), merged))
        self.n_tokens = size = len(self.token_ids)
        self.unigram = np.full(size, -1, dtype=np.int64)  # token id -> merged id of the 1-gram
        for ids, merged in grams:
            if len(ids) == 1:
                self.unigram[ids[0]] = merged
        # per level n >= 2: sorted keys (node of the first n-1 tokens x size + last token), the node
        # each key is, and the merged id of each node (-1: only a prefix of longer n-grams)
        self.levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        previous = None  # level 1: a token's node is its id
        for n in range(2, max_n + 1):
            nodes: dict[tuple[int, ...], int] = {}
            keys, merged_of = [], []
            for ids, merged in grams:
                if len(ids) < n:
                    continue
                prefix = ids[:n]
                node = nodes.get(prefix)
                if node is None:
                    node = nodes[prefix] = len(nodes)
                    first = prefix[0] if previous is None else previous[prefix[:-1]]
                    keys.append(first * size + prefix[-1])
                    merged_of.append(-1)
                if len(ids) == n:
                    merged_of[node] = merged
            keys = np.asarray(keys, dtype=np.int64)
            order = np.argsort(keys, kind="stable")
            self.levels.append((keys[order], order.astype(np.int64), np.asarray(merged_of, dtype=np.int64)))
            previous = nodes

    def occurrences(self, tokens: np.ndarray, lengths: np.ndarray) -> _Analysis:
        """The n-grams of every text (``tokens``: token ids, -1 unknown, text after text; ``lengths``:
        tokens per text) as texts x merged ids, an entry per occurrence of a known n-gram."""
        n_texts = len(lengths)
        positions = np.arange(len(tokens), dtype=np.int64)
        doc_of = np.repeat(np.arange(n_texts, dtype=np.int64), lengths)
        end_of = np.repeat(np.cumsum(lengths), lengths)  # one past the last token of each token's text
        found, docs = [], []
        node = tokens  # the node of the n-gram starting at each position (-1: none)
        if self.min_n <= 1 and len(tokens):
            merged = np.where(tokens >= 0, self.unigram[tokens], -1)
            found.append(merged)
            docs.append(doc_of)
        for n, (keys, node_of, merged_of) in enumerate(self.levels, start=2):
            starts = positions[(positions + n <= end_of) & (node >= 0)]
            last = tokens[starts + n - 1]
            starts, last = starts[last >= 0], last[last >= 0]
            key = node[starts] * self.n_tokens + last
            at = np.minimum(np.searchsorted(keys, key), max(len(keys) - 1, 0))
            hit = keys[at] == key if len(keys) else np.zeros(len(key), dtype=bool)
            node = np.full(len(tokens), -1, dtype=np.int64)
            node[starts[hit]] = node_of[at[hit]]
            if n >= self.min_n:
                found.append(merged_of[node[starts[hit]]])
                docs.append(doc_of[starts[hit]])
        merged = np.concatenate(found) if found else np.empty(0, np.int64)
        doc = np.concatenate(docs) if docs else np.empty(0, np.int64)
        return _merged_occurrences(merged, doc, n_texts, self.n_merged)


class _SharedVocabulary:
    """The union of the vocabularies of the blocks that cut text the same way (the sentiment model's
    and each target's): an n-gram is looked up once for all of them, and a block's columns are
    ``columns[id(block)][merged id]`` (-1: not in that block; merged id -1: in none)."""

    def __init__(self, key: tuple, blocks: list["_TextBlock"]):
        self.key = key
        self.tokenize = blocks[0].vec.build_tokenizer() if key[0] == "word" else None
        # Merged ids in sorted order of the n-grams: a fitted vocabulary's columns are its n-grams in
        # sorted order too, so ascending merged ids map to ascending columns in every block.
        self.index: dict[str, int] = {gram: i for i, gram in enumerate(_sorted_terms(blocks))}
        # One row per merged id (the last row answers merged id -1) with its column in every block:
        # a quote reads one short row per n-gram for all its blocks (stancelab.kernels.tfidf_block).
        self.table = np.full((len(self.index) + 1, len(blocks)), -1, dtype=np.int32)
        self.columns: dict[int, np.ndarray] = {}  # a block's column of the table
        self.slot: dict[int, int] = {}
        self.monotone: dict[int, bool] = {}
        for slot, block in enumerate(blocks):
            where = np.fromiter(map(self.index.__getitem__, block.vocabulary), dtype=np.int64,
                                count=len(block.vocabulary))
            self.table[where, slot] = np.fromiter(block.vocabulary.values(), dtype=np.int64, count=len(block.vocabulary))
            column = self.columns[id(block)] = self.table[:, slot]
            self.slot[id(block)] = slot
            present = column[column >= 0]  # a vocabulary given by hand need not be sorted
            self.monotone[id(block)] = bool(np.all(present[1:] > present[:-1]))
        self._value_set = None
        self._ngrams: _NgramIndex | None = None
        self._selections: dict[int, sp.csr_array] = {}
        from stancelab import kernels

        self.kernels = kernels  # a quote's distinct n-grams and its words' n-gram ids (integer work)
        # The word cache is shared by every call on this model, and Dask (or any caller) may score
        # from several threads: learning, resetting and reading it happen under this lock.
        self._lock = threading.Lock()
        self._reset()

    def ids(self, grams) -> np.ndarray:
        return np.fromiter(map(self.index.get, grams, repeat(-1)), dtype=np.int64, count=len(grams))

    def selection(self, block) -> sp.csr_array:
        """merged ids x the block's columns: 1 where a merged n-gram is in the block's vocabulary."""
        if id(block) not in self._selections:
            column = self.columns[id(block)][:-1]
            present = np.flatnonzero(column >= 0)
            self._selections[id(block)] = sp.csr_array(
                (np.ones(len(present), dtype=np.int64), (present, column[present])),
                shape=(len(self.index), block.n_features))
        return self._selections[id(block)]

    def ngram_index(self) -> _NgramIndex:
        """The merged vocabulary as token ids and n-gram keys (a word setting; built once)."""
        if self._ngrams is None:
            self._ngrams = _NgramIndex(self.index, self.key[3])
        return self._ngrams

    def value_set(self):
        """The merged vocabulary as an Arrow array (position = merged id), for ``pc.index_in``."""
        if self._value_set is None:
            import pyarrow as pa

            self._value_set = pa.array(list(self.index), type=pa.string())
        return self._value_set

    def quote(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text's distinct n-grams (ascending merged ids, only those in some vocabulary): their
        rows of ``table`` (their columns in every block) and their counts, the work a quote's blocks
        of this setting share."""
        if self.key[1]:
            text = text.lower()
        if self.key[0] != "char_wb":  # scikit-learn's word analyser: tokens, then " ".join of n in a row
            ids = self.ids(_word_ngrams(self.tokenize(text), *self.key[3]))
        else:
            ids = self._word_ids(text.split())
        return self.kernels.distinct_rows(np.sort(ids), self.table)  # numpy's sort is faster than numba's

    def _word_ids(self, words: list[str]) -> np.ndarray:
        """The merged ids of the words' char_wb n-grams, with repeats (one quote)."""
        if not words:
            return np.empty(0, np.int32)
        with self._lock:
            slots = np.fromiter(self._slots_of(words), dtype=np.int64, count=len(words))
            # self._flat read after learning: the buffer may have grown or started afresh
            return self.kernels.spans(self._flat, self._starts, self._lengths, slots)

    def word_units(self, words: list[str]) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """A batch's words as units: the distinct words' cache slots, each word's unit, and the units'
        merged n-gram ids (``slot_ids``), read together (another call may reset the cache afterwards).
        The words are told apart first (pandas' hash table), so each distinct word is looked up once."""
        codes, distinct = pd.factorize(np.asarray(words, dtype=object)) if words else (np.empty(0, np.int64), [])
        distinct = list(distinct)
        with self._lock:
            units = self.slots(distinct)
            return units, np.asarray(codes, dtype=np.int64), self.slot_ids(units)

    def _slots_of(self, words: list[str]) -> list[int]:
        """Each word's slot in the cache (its n-grams' ids are ``_flat[_starts[slot]:][:_lengths[slot]]``),
        cut and remembered first if new. When the bounded cache would overflow it starts afresh with
        these words."""
        found = list(map(self._slot.get, words))
        if None in found:
            new = list(dict.fromkeys(compress(words, map(is_, found, repeat(None)))))  # C-level loops
            if len(self._slot) + len(new) > WORD_CACHE_SIZE:
                self._reset()
                new = list(dict.fromkeys(words))
            self._learn(new)
            found = list(map(self._slot.__getitem__, words))
        return found

    def prewarm(self, words) -> None:
        """Cut and remember ``words`` now (at load), so quotes made of known words skip that work."""
        with self._lock:
            new = [word for word in dict.fromkeys(words) if word not in self._slot][: WORD_CACHE_SIZE // 2]
            if new:
                self._learn(new)

    def _reset(self) -> None:
        self._slot: dict[str, int] = {}  # word -> its number in the cache
        self._flat = np.empty(1024, dtype=np.int32)  # a growable buffer: the first self._used entries
        self._used = 0
        self._starts = np.empty(1024, dtype=np.int64)  # per slot (a word's number in the cache)
        self._lengths = np.empty(1024, dtype=np.int64)

    def _learn(self, new: list[str]) -> None:
        """Cut the new words into char_wb n-grams, look them up, and remember them (a bounded cache on
        this in-memory object, never saved): cutting and looking up fresh n-gram strings was most of
        the time, for a quote and for a batch. Many new words are cut by Arrow's C++ kernels
        (``_cut_arrow``), a few by Python; both give the same ids (tested)."""
        cut = self._cut_arrow(new) if len(new) >= ARROW_MIN_WORDS else None
        if cut is None:
            lengths, ids = self._cut_python(new)
        else:  # grouped by word, in order
            rows, ids = cut
            ids = ids[np.argsort(rows, kind="stable")]
            lengths = np.bincount(rows, minlength=len(new)).tolist()
        k = len(ids)
        if self._used + k > len(self._flat):
            grown = np.empty(max(2 * len(self._flat), self._used + k), dtype=np.int32)
            grown[: self._used] = self._flat[: self._used]
            self._flat = grown
        self._flat[self._used: self._used + k] = ids
        known = self._slot
        first = len(known)
        if first + len(new) > len(self._starts):
            size = max(2 * len(self._starts), first + len(new))
            self._starts, self._lengths = (np.concatenate([a[:first], np.empty(size - first, np.int64)])
                                           for a in (self._starts, self._lengths))
        if len(new) <= 8:  # a quote's few new words: plain Python is cheaper than array set-up
            start, starts, lengths_ = self._used, self._starts, self._lengths
            for slot, (word, length) in enumerate(zip(new, lengths), first):
                known[word] = slot
                starts[slot], lengths_[slot] = start, length
                start += length
            self._used += k
            return
        lengths = np.asarray(lengths, dtype=np.int64)
        starts = self._used + np.cumsum(lengths) - lengths
        self._starts[first: first + len(new)] = starts
        self._lengths[first: first + len(new)] = lengths
        known.update(zip(new, range(first, first + len(new))))
        self._used += k

    def slots(self, words: list[str]) -> np.ndarray:
        """The cache slot of each word (cut and remembered first if new): for a batch."""
        return np.fromiter(self._slots_of(words), dtype=np.int64, count=len(words))

    def slot_ids(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The merged ids of the slots' words' n-grams (with repeats, -1: in no vocabulary) and, for
        each id, the position of its slot in ``slots``."""
        starts, lengths = self._starts[slots], self._lengths[slots]
        total = int(lengths.sum())
        offsets = np.cumsum(lengths) - lengths
        index = np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)
        return self._flat[index].astype(np.int64), np.repeat(np.arange(len(slots), dtype=np.int64), lengths)

    def _cut_python(self, new: list[str]) -> tuple[list[int], np.ndarray]:
        """(number of n-grams of each word, their merged ids, word after word)."""
        min_n, max_n = self.key[2]
        flat: list[str] = []
        lengths = []
        for word in new:
            grams = _char_wb_ngrams(word, min_n, max_n)
            flat.extend(grams)
            lengths.append(len(grams))
        return lengths, self.ids(flat)

    def _cut_arrow(self, new: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """The same n-grams as ``_char_wb_ngrams`` (windows of n < padded size, and the whole padded
        word once if it is at most max_n long), cut and looked up column-wise by Arrow."""
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            words = pa.array(new, type=pa.string())
        except (pa.ArrowException, UnicodeError):  # e.g. lone surrogates: Python handles those
            return None
        min_n, max_n = self.key[2]
        padded = pc.binary_join_element_wise(" ", words, " ", "")
        sizes = pc.utf8_length(padded).to_numpy()
        order = np.argsort(-sizes, kind="stable")  # longest first: each slice below is a prefix
        padded, sizes = padded.take(pa.array(order)), sizes[order]
        descending = -sizes
        pieces, rows = [], []
        for n in range(min_n, max_n + 1):
            for i in range(int(sizes[0]) - n + 1 if len(sizes) else 0):
                k = int(np.searchsorted(descending, -max(i + n, n + 1), side="right"))
                if k == 0:
                    break
                pieces.append(pc.utf8_slice_codeunits(padded.slice(0, k), i, i + n))
                rows.append(order[:k])
        whole = int(np.searchsorted(descending, -max_n, side="left"))  # sizes <= max_n from here on
        if whole < len(sizes):
            pieces.append(padded.slice(whole))
            rows.append(order[whole:])
        if not pieces:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        found = pc.fill_null(pc.index_in(pa.concat_arrays(pieces), value_set=self.value_set()), -1)
        return np.concatenate(rows).astype(np.int64), found.to_numpy().astype(np.int64)


def _occurrence_matrix(codes: np.ndarray, indptr: np.ndarray, n_units: int) -> sp.csr_array:
    return sp.csr_array((np.ones(len(codes), dtype=np.int64), codes.astype(np.int64), indptr),
                        shape=(len(indptr) - 1, n_units))


def _analyse_char_wb(texts: list[str], shared: "_SharedVocabulary") -> _Analysis:
    """Units are the batch's distinct words, numbered by their slot in the word cache (no hashing of
    the strings again); their n-gram ids are read now, as a later call may reset the cache."""
    words: list[str] = []
    indptr = [0]
    for text in texts:  # scikit-learn collapses runs of whitespace, then str.split(): the same words
        words.extend(text.split())
        indptr.append(len(words))
    units, codes, merged = shared.word_units(words)
    return _Analysis("char_wb", _occurrence_matrix(codes, np.asarray(indptr, np.int64), len(units)), units,
                     merged=merged)


def _tokens(texts: list[str], tokenize) -> tuple[list[str], np.ndarray]:
    """Every text's tokens, one after the other, and how many each text has."""
    tokens: list[str] = []
    lengths = []
    for text in texts:
        found = tokenize(text)
        tokens.extend(found)
        lengths.append(len(found))
    return tokens, np.asarray(lengths, dtype=np.int64)


def _analyse_words(tokens: list[str], lengths: np.ndarray, ngram_range) -> _Analysis:
    """Word n-grams as scikit-learn forms them (``" ".join`` of consecutive tokens of one text), with
    each distinct n-gram string built once: an n-gram is coded by the pair (code of the (n-1)-gram at
    the same start, code of its last token). ``tokens``/``lengths``: as ``_tokens`` gives them."""
    n_texts = len(lengths)
    n_tokens = len(tokens)
    doc_of = np.repeat(np.arange(n_texts, dtype=np.int64), lengths)
    end_of = np.repeat(np.cumsum(lengths), lengths)  # one past the last token of each token's text
    codes, vocab = pd.factorize(np.asarray(tokens, dtype=object)) if tokens else (np.empty(0, np.int64), [])
    codes = np.asarray(codes, dtype=np.int64)
    vocab = list(vocab)
    positions = np.arange(n_tokens, dtype=np.int64)
    min_n, max_n = ngram_range
    docs, units, grams = [], [], []
    level_codes, level_strings = codes, vocab  # code of the n-gram starting at each position (-1: none)
    for n in range(1, max_n + 1):
        if n == 1:
            starts, new_codes = positions, codes
        else:
            starts = positions[positions + n <= end_of]
            previous = level_codes[starts]
            new_codes, distinct = pd.factorize(previous * (len(vocab) + 1) + codes[starts + n - 1])
            new_codes = np.asarray(new_codes, dtype=np.int64)
            representative = np.empty(len(distinct), dtype=np.int64)
            representative[new_codes] = starts  # one start of each distinct n-gram
            last = codes[representative + n - 1].tolist()
            level_strings = [level_strings[p] + " " + vocab[t]
                             for p, t in zip(level_codes[representative].tolist(), last)]
            level_codes = np.full(n_tokens, -1, dtype=np.int64)
            level_codes[starts] = new_codes
        if n >= min_n:
            units.append(new_codes + len(grams))
            docs.append(doc_of[starts])
            grams.extend(level_strings)
    doc_index = np.concatenate(docs) if docs else np.empty(0, np.int64)
    unit_index = np.concatenate(units) if units else np.empty(0, np.int64)
    order = np.argsort(doc_index, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(doc_index, minlength=n_texts))]).astype(np.int64)
    return _Analysis("word", _occurrence_matrix(unit_index[order], indptr, len(grams)), grams)


def _analyse_words_arrow(tokens: list[str], lengths: np.ndarray, ngram_range, shared) -> _Analysis | None:
    """Word n-grams of every occurrence, joined and looked up in the shared vocabulary by Arrow's
    C++ kernels: ``occurrences`` is texts x merged ids. ``None`` if Arrow cannot take the tokens."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n_texts = len(lengths)
    try:
        column = pa.array(tokens, type=pa.string())
    except (pa.ArrowException, UnicodeError):
        return None
    positions = np.arange(len(tokens), dtype=np.int64)
    doc_of = np.repeat(np.arange(n_texts, dtype=np.int64), lengths)
    end_of = np.repeat(np.cumsum(lengths), lengths)
    min_n, max_n = ngram_range
    pieces, docs = [], []
    for n in range(min_n, max_n + 1):
        starts = positions[positions + n <= end_of]
        if not len(starts):
            break
        if n == 1:
            pieces.append(column)
        else:  # " ".join of n consecutive tokens, as scikit-learn's _word_ngrams
            pieces.append(pc.binary_join_element_wise(*[column.take(pa.array(starts + j)) for j in range(n)], " "))
        docs.append(doc_of[starts])
    if not pieces:
        return _merged_occurrences(np.empty(0, np.int64), np.empty(0, np.int64), n_texts, len(shared.index))
    merged = pc.fill_null(pc.index_in(pa.concat_arrays(pieces), value_set=shared.value_set()), -1)
    return _merged_occurrences(merged.to_numpy().astype(np.int64), np.concatenate(docs), n_texts, len(shared.index))


def _merged_occurrences(merged: np.ndarray, doc: np.ndarray, n_texts: int, n_merged: int) -> _Analysis:
    """texts x merged ids, an entry per occurrence: ``merged[i]`` (-1: in no vocabulary, dropped)
    found in text ``doc[i]``, kept in their order within each text."""
    known = merged >= 0
    merged, doc = merged[known], doc[known]
    order = np.argsort(doc, kind="stable")
    indptr = np.zeros(n_texts + 1, dtype=np.int64)
    np.cumsum(np.bincount(doc, minlength=n_texts), out=indptr[1:])
    return _Analysis("merged", _occurrence_matrix(merged[order], indptr, n_merged), [])


class _Batch:
    """Analyses of one batch, shared by every vectorizer with the same setting."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        self._analyses: dict[tuple, _Analysis] = {}
        self.memo: dict = {}  # per batch: a text model's features and probabilities for all rows

    def analysis(self, key: tuple, vec, shared: "_SharedVocabulary") -> _Analysis:
        if key not in self._analyses:
            texts = self._texts(key[1])
            if key[0] == "char_wb":
                self._analyses[key] = _analyse_char_wb(texts, shared)
            elif len(texts) >= ARROW_MIN_TEXTS and _default_tokens(vec):  # n-grams as integers
                ngrams = shared.ngram_index()
                self._analyses[key] = ngrams.occurrences(*self.token_ids(key[1], vec.tokenizer, ngrams))
            else:
                tokens, lengths = _tokens(texts, vec.build_tokenizer())
                arrow = (_analyse_words_arrow(tokens, lengths, key[3], shared)
                         if len(texts) >= ARROW_MIN_TEXTS else None)
                self._analyses[key] = arrow or _analyse_words(tokens, lengths, key[3])
        return self._analyses[key]

    def _texts(self, lower: bool) -> list[str]:
        if not lower:
            return self.texts
        if "lower" not in self.memo:
            self.memo["lower"] = [t.lower() for t in self.texts]
        return self.memo["lower"]

    def token_ids(self, lower: bool, analyser, ngrams: _NgramIndex) -> tuple[np.ndarray, np.ndarray]:
        """Every text's tokens as ``ngrams``' token ids (-1: in no n-gram), and how many each text has.
        The default pattern's tokens are found and told apart (factorised) once per batch; each
        distinct token is then looked up once per setting, after ``WordAnalyzer`` (``analyser``, or
        None) has mapped it to its stem or dropped it."""
        key = ("distinct tokens", lower)
        if key not in self.memo:
            tokens, lengths = _tokens(self._texts(lower), _WORD_TOKENS.findall)
            codes, distinct = pd.factorize(np.asarray(tokens, dtype=object)) if tokens else \
                (np.empty(0, np.int64), np.empty(0, object))
            self.memo[key] = (np.asarray(codes, dtype=np.int64), distinct.tolist(), lengths)
        codes, distinct, lengths = self.memo[key]
        finals = distinct if analyser is None else analyser.finals(distinct)
        ids = np.fromiter(map(ngrams.token_ids.get, finals, repeat(-1)), np.int64, len(finals))[codes]
        if analyser is None or not analyser.stop_words or not len(codes):
            return ids, lengths
        keep = (np.asarray(finals, dtype=object) != DROPPED)[codes]
        doc_of = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        return ids[keep], np.bincount(doc_of[keep], minlength=len(lengths)).astype(np.int64)


def _default_tokens(vec) -> bool:
    """The vectorizer's tokens are the default pattern's, or ``WordAnalyzer``'s made from them."""
    if vec.tokenizer is None:
        return vec.token_pattern == WORD_TOKEN_PATTERN
    return type(vec.tokenizer) is WordAnalyzer


# --------------------------------------------------------------------------- fitted blocks
TF_TABLE_SIZE = 1024  # counts of one n-gram in one quote below this get 1 + log(count) from a table


def _sublinear_table(dtype) -> np.ndarray | None:
    """``table[k] = 1 + log(k)`` computed exactly as ``TfidfTransformer`` does on a ``dtype`` array
    (``np.log`` in place, then ``+= 1``), so a lookup gives the same bits."""
    if np.dtype(dtype) not in (np.float32, np.float64):
        return None
    table = np.arange(TF_TABLE_SIZE, dtype=dtype)
    np.log(table[1:], table[1:])
    table[1:] += 1.0
    return table


class _TextBlock:
    """One fitted vectorizer on the ``text`` column."""

    def __init__(self, vec):
        self.vec = vec
        self.key = _analysis_key(vec)
        self.vocabulary = vec.vocabulary_
        self.n_features = len(self.vocabulary)
        self.binary = bool(vec.binary)
        self.dtype = vec.dtype
        self.tfidf = vec._tfidf if isinstance(vec, TfidfVectorizer) else None
        tfidf = self.tfidf
        self.sublinear = bool(tfidf is not None and tfidf.sublinear_tf)
        self.idf = np.asarray(tfidf.idf_) if tfidf is not None and tfidf.use_idf else None
        self.norm = tfidf.norm if tfidf is not None else None
        self.shared: _SharedVocabulary | None = None  # set by CompiledModel, with self.columns
        self.columns: np.ndarray | None = None  # merged n-gram id -> this block's column (-1: none)
        self.slot = -1  # this block's column in shared.table
        self.monotone = False  # columns ascend with merged ids (no sort per quote)
        self.tf_table = _sublinear_table(self.dtype) if self.sublinear else None
        # For stancelab.kernels.tfidf_block / tfidf_rows: (term frequency per count, idf or nothing,
        # use idf, l2 norm, binary), or None if this block needs the numpy path (another norm, a
        # dtype without a table).
        self.kernel_args = None
        if self.key is not None and (self.tfidf is None or self.norm in (None, "l2")):
            table = self.tf_table if self.sublinear else np.arange(TF_TABLE_SIZE).astype(self.dtype)
            if table is not None and table.dtype in (np.float32, np.float64):
                idf = self.idf if self.idf is not None else np.empty(0, self.dtype)
                self.kernel_args = (table, idf, self.idf is not None, self.norm == "l2", self.binary)

    def counts(self, batch: _Batch, rows: np.ndarray | None):
        """Exactly ``CountVectorizer._count_vocab``'s matrix (+ ``binary``) for the rows."""
        analysis = batch.analysis(self.key, self.vec, self.shared)
        if self.monotone:  # rename the merged columns: ascending merged ids give ascending columns
            merged = analysis.merged_counts(self.shared)
            if rows is not None:
                merged = merged[rows]
            columns = self.columns[merged.indices]
            known = columns >= 0
            kept = np.concatenate([[0], np.cumsum(known)])
            X = sp.csr_array((merged.data[known].astype(self.dtype), columns[known].astype(np.int32),
                              kept[merged.indptr].astype(np.int32)), shape=(merged.shape[0], self.n_features))
        else:
            occurrences = analysis.occurrences if rows is None else analysis.occurrences[rows]
            counts = (occurrences @ analysis.unit_matrix(self)).tocsr()
            counts.sort_indices()
            X = sp.csr_array((counts.data.astype(self.dtype), counts.indices.astype(np.int32),
                              counts.indptr.astype(np.int32)), shape=counts.shape)
        if self.binary:
            X.data.fill(1)
        return X

    def transform(self, batch: _Batch, frame: pd.DataFrame, rows: np.ndarray | None):
        if self.key is None:
            return self.vec.transform(batch.texts if rows is None else [batch.texts[i] for i in rows])
        X = self.counts(batch, rows)
        return self.tfidf.transform(X, copy=False) if self.tfidf is not None else X

    def one(self, text: str, row: dict, counted: dict) -> tuple[np.ndarray, np.ndarray]:
        """(sorted column indices, values) of one text's row, as ``transform`` computes them.
        ``counted`` shares the n-gram counts between blocks with the same analyser setting."""
        if self.key is None:
            row = sp.csr_array(self.vec.transform([text]))
            return row.indices.astype(np.int64), row.data
        idx, numbers = self._columns(text, counted)
        if not self.monotone:
            order = idx.argsort()
            idx, numbers = idx[order], numbers[order]
        return idx, self._values(idx, numbers)

    def quoted(self, text: str, counted: dict) -> tuple[np.ndarray, np.ndarray]:
        """The quote's distinct n-grams of this block's setting: their ``shared.table`` rows and counts,
        computed once per quote for all the setting's blocks (``counted``)."""
        found = counted.get(self.key)
        if found is None:
            found = counted[self.key] = self.shared.quote(text)
        return found

    def _columns(self, text: str, counted: dict) -> tuple[np.ndarray, np.ndarray]:
        """The quote's n-grams in this block: columns (ascending if ``monotone``) and counts."""
        rows, numbers = self.quoted(text, counted)
        columns = rows[:, self.slot]
        known = columns >= 0
        return columns[known].astype(np.int64), numbers[known]

    def _values(self, idx: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        """TF-IDF values of the sorted columns ``idx`` with these counts."""
        if not len(idx) or self.tfidf is None:
            return (np.ones_like(numbers) if self.binary else numbers).astype(self.dtype)
        if self.binary:
            numbers = np.ones_like(numbers)
        if self.norm not in (None, "l2"):
            row = self.tfidf.transform(sp.csr_array((numbers.astype(self.dtype), idx, [0, len(idx)]),
                                                    shape=(1, self.n_features)), copy=False)
            return sp.csr_array(row).data
        if self.sublinear and self.tf_table is not None and np.maximum.reduce(numbers) < len(self.tf_table):
            v = self.tf_table[numbers]  # 1 + log(count), the same bits as computing it (tested)
        else:
            v = numbers.astype(self.dtype)
            if self.sublinear:
                np.log(v, v)
                v += 1.0
        if self.idf is not None:
            v *= self.idf[idx]
        if self.norm == "l2":
            # sklearn's inplace_csr_row_normalize_l2: squares in the data's precision, summed in order in double
            total = float(np.add.accumulate(v * v, dtype=np.float64)[-1])
            if total != 0.0:
                v = (v.astype(np.float64) / math.sqrt(total)).astype(self.dtype)
        return v


class _OtherBlock:
    """A fitted non-text block (one-hot target or actor): its own ``transform``."""

    def __init__(self, transformer, columns):
        self.transformer = transformer
        self.columns = list(columns)

    def transform(self, batch: _Batch, frame: pd.DataFrame, rows):
        return sp.csr_array(self.transformer.transform((frame if rows is None else frame.iloc[rows])[self.columns]))

    def one(self, text: str, row: dict, counted: dict):
        x = sp.csr_array(self.transformer.transform(pd.DataFrame([{c: row[c] for c in self.columns}], dtype=object)))
        return x.indices.astype(np.int64), x.data


class _MentionBlock:
    """:class:`features.mention.TargetMention` on text the Pipeline has already normalised with the
    same steps (normalising again changes nothing, so its own second pass is skipped)."""

    def __init__(self, transformer):
        self.transformer = transformer

    def transform(self, batch: _Batch, frame: pd.DataFrame, rows):
        texts = batch.texts if rows is None else [batch.texts[i] for i in rows]
        targets = frame["target"].to_numpy(dtype=object) if rows is None else frame["target"].to_numpy(dtype=object)[rows]
        values = np.fromiter((self.transformer.mentions(t, g) for t, g in zip(texts, targets)), dtype=np.float32,
                             count=len(texts)).reshape(-1, 1)
        return sp.csr_array(values)

    def one(self, text: str, row: dict, counted: dict):
        if self.transformer.mentions(text, row["target"]):
            return np.zeros(1, np.int64), np.ones(1, np.float32)
        return np.empty(0, np.int64), np.empty(0, np.float32)


class _SentimentBlock:
    """:class:`stancelab.estimators.SentimentProbabilities`: the (compiled) sentiment model's
    probabilities times ``scale``. When it is the joint model's own sentiment model (the same fitted
    object), its probabilities are computed once per batch or quote for both uses."""

    def __init__(self, transformer, inner: "_TextModel"):
        self.inner = inner
        self.scale = transformer.scale
        self.classes = list(transformer.classes_)
        self.columns = [self.classes.index(label) for label in inner.clf.classes_]

    def _layout(self, proba: np.ndarray) -> np.ndarray:
        """The block's columns times ``scale``, for rows x classes or one row (1-d)."""
        out = np.zeros(proba.shape[:-1] + (len(self.classes),))
        out[..., self.columns] = proba
        return self.scale * out

    def transform(self, batch: _Batch, frame: pd.DataFrame, rows):
        proba = self.inner.proba_all(batch, frame)[1]
        return self._layout(proba if rows is None else proba[rows])

    def one(self, text: str, row: dict, counted: dict):
        values = self._layout(self.inner.proba_one_memo(text, row, counted)[0])
        idx = np.flatnonzero(values)  # ColumnTransformer's sparse hstack keeps only non-zeros
        return idx, values[idx]


def _copy_order(interaction, width: int) -> str | None:
    """In which order ``interaction._augment`` stores a row's entries in the row's target copy: scipy's
    sparse product (``mask @ shared``) has stored them in reverse. Probed on one row, so the one-quote
    path sums in the same order as the Pipeline on any scipy; ``None``: some other order."""
    if width < 3 or not len(interaction.targets_):
        return None
    row = sp.csr_matrix((np.array([1.0, 2.0, 3.0]), np.array([0, 1, 2]), np.array([0, 3])), shape=(1, width))
    out = sp.csr_matrix(interaction._augment(row, pd.DataFrame({interaction.column: [interaction.targets_[0]]})))
    copy = out.indices[3:].tolist()
    return {(width, width + 1, width + 2): "ascending", (width + 2, width + 1, width): "descending"}.get(tuple(copy))


class _TextModel:
    """A fitted ``Pipeline(features=ColumnTransformer, clf=...)``."""

    def __init__(self, model, steps: NormalizeSteps | None = None, inner=None):
        if not isinstance(model, Pipeline) or list(model.named_steps) != ["features", "clf"]:
            raise NotCompilable("not a features -> clf pipeline")
        features, self.clf = model.named_steps["features"], model.named_steps["clf"]
        self.interaction = None  # target_mode interact/augmented: shared + per-target copies of the features
        if isinstance(features, TargetInteraction):
            self.interaction, features = features, features.features_
        if not isinstance(features, ColumnTransformer) or not features.sparse_output_:
            raise NotCompilable(f"feature step {type(features).__name__} (sparse output only)")
        self.features = features if self.interaction is None else self.interaction  # feature names
        self.blocks: list[tuple[Any, int]] = []  # (block, column offset)
        offset = 0
        for name, transformer, columns in features.transformers_:
            if isinstance(transformer, str):
                if transformer == "drop":
                    continue
                raise NotCompilable(f"passthrough block {name}")
            if columns == "text":
                if not isinstance(transformer, CountVectorizer):
                    raise NotCompilable(f"text block {name} is a {type(transformer).__name__}")
                block = _TextBlock(transformer)
                width = block.n_features
            elif isinstance(transformer, TargetMention) and steps is not None and transformer._steps() == steps:
                block, width = _MentionBlock(transformer), 1
            elif isinstance(transformer, SentimentProbabilities) and inner is not None:
                block = _SentimentBlock(transformer, inner(getattr(transformer.model, "estimator", transformer.model)))
                width = len(transformer.classes_)
            else:
                block = _OtherBlock(transformer, columns)
                width = len(transformer.get_feature_names_out())
            self.blocks.append((block, offset))
            offset += width
        self.n_base = offset
        if self.interaction is not None:
            self.scale = getattr(self.interaction, "shared_scale", 1.0)  # as is: its type sets the dtype
            self.target_pos = {t: i for i, t in enumerate(self.interaction.targets_)}
            self.copy_order = _copy_order(self.interaction, offset)
            offset *= 1 + len(self.target_pos)
        self.n_features = offset
        self.logistic = isinstance(self.clf, LogisticRegression)
        self.kernels = None
        if self.logistic:
            self.coef_rows = np.ascontiguousarray(np.asarray(self.clf.coef_).T)  # a feature's weights together
            self.intercept = np.asarray(self.clf.intercept_)

    def use_kernels(self) -> None:
        """Score one quote with stancelab.kernels if every text block can (ascending columns, an l2
        or no norm): the features' dtype is what concatenating the blocks gives, the products' what
        multiplying them by the weights gives, as on the numpy path. Called once the blocks know
        their shared vocabulary, and again whenever a block's ``monotone`` changes."""
        self.kernels = None
        if not self.logistic or self.interaction is not None:
            return
        dtypes = []
        for block, _ in self.blocks:
            if isinstance(block, _TextBlock):
                if block.kernel_args is None or not block.monotone:
                    return
                dtypes.append(np.dtype(block.dtype))
            elif isinstance(block, _SentimentBlock):
                dtypes.append(np.dtype(np.float64))
            elif isinstance(block, _MentionBlock):
                dtypes.append(np.dtype(np.float32))
            else:
                return  # one-hot blocks: their dtype is the encoder's; keep the numpy path
        from stancelab import kernels

        self.kernels = kernels
        self.value_dtype = np.result_type(*dtypes)
        self.product_dtype = np.result_type(self.value_dtype, self.coef_rows.dtype)

    def features_of(self, batch: _Batch, frame: pd.DataFrame, rows: np.ndarray | None):
        parts = [block.transform(batch, frame, rows) for block, _ in self.blocks]
        X = sp.csr_array(sp.hstack(parts).tocsr())  # ColumnTransformer's sparse hstack
        if self.interaction is not None:  # its own code, on the same matrix
            X = sp.csr_array(self.interaction._augment(sp.csr_matrix(X), frame if rows is None else frame.iloc[rows]))
        return X

    def proba_all(self, batch: _Batch, frame: pd.DataFrame, features: bool = False):
        """(features or None, probabilities) of every row of the batch, computed once per batch;
        ``features``: the feature matrix is needed too (evidence)."""
        key = ("proba", id(self))
        if key not in batch.memo or (features and batch.memo[key][0] is None):
            if features:
                X = self.features_of(batch, frame, None)
                batch.memo[key] = (X, np.asarray(self.clf.predict_proba(X)))
            else:
                batch.memo[key] = (None, self.proba_rows(batch, frame, None))
        return batch.memo[key]

    def proba_rows(self, batch: _Batch, frame: pd.DataFrame, rows: np.ndarray | None) -> np.ndarray:
        """``clf.predict_proba`` of the rows' features; through stancelab.kernels without building
        the feature matrix when the model scores quotes with them (the same sums, see
        ``kernels.tfidf_rows``), else the feature matrix and the classifier's own code."""
        if self.kernels is not None:
            proba = self._proba_rows_kernels(batch, frame, rows)
            if proba is not None:
                return proba
        return np.asarray(self.clf.predict_proba(self.features_of(batch, frame, rows)))

    def _proba_rows_kernels(self, batch: _Batch, frame: pd.DataFrame, rows: np.ndarray | None):
        kernels = self.kernels
        texts = np.arange(len(batch.texts), dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        acc = np.zeros((len(texts), len(self.intercept)), self.product_dtype)
        value = np.zeros(1, self.value_dtype)
        for block, offset in self.blocks:
            if isinstance(block, _TextBlock):
                counts = batch.analysis(block.key, block.vec, block.shared).merged_counts(block.shared)
                longest = int(np.diff(counts.indptr).max()) if len(texts) else 0
                if not kernels.tfidf_rows(counts.indptr, counts.indices, counts.data, texts, block.shared.table,
                                          block.slot, *block.kernel_args, offset, self.coef_rows, acc,
                                          np.empty(longest, block.dtype), np.empty(longest, np.int64), value):
                    return None
            else:
                part = block.transform(batch, frame, rows)
                part = part.toarray() if sp.issparse(part) else np.asarray(part)
                kernels.add_dense(part.astype(self.value_dtype, copy=False), self.coef_rows, offset, acc)
        scores = acc + self.intercept  # decision_function
        if len(self.clf.classes_) <= 2:  # _predict_proba_lr of a binary model
            prob = scores.reshape(-1)
            expit(prob, out=prob)
            return np.stack([1 - prob, prob], axis=1)
        return softmax(scores, copy=False)

    def proba_one_memo(self, text: str, row: dict, counted: dict):
        key = ("proba", id(self))
        if key not in counted:
            counted[key] = self.proba_one(text, row, counted)
        return counted[key]

    def proba_one(self, text: str, row: dict, counted: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.kernels is not None:
            found = self._proba_kernels(text, row, counted)
            if found is not None:
                return found
        pieces = [block.one(text, row, counted) for block, _ in self.blocks]
        idx = np.concatenate([i + offset if offset else i for (i, _), (_, offset) in zip(pieces, self.blocks)])
        data = np.concatenate([d for _, d in pieces])
        if self.interaction is not None:  # TargetInteraction._augment on one row: s * row, then the row again
            position = self.target_pos.get(row["target"])
            if self.copy_order is None:  # an order not recognised: its own code on a one-row matrix
                x = sp.csr_array(self.interaction._augment(sp.csr_matrix((data, idx, [0, len(idx)]),
                                                                         shape=(1, self.n_base)),
                                                           pd.DataFrame({self.interaction.column: [row["target"]]})))
                idx, data = x.indices.astype(np.int64), x.data
            else:
                shared = data if self.scale == 1.0 else data * self.scale  # at its target's copy, if it has one
                if position is None:
                    data = shared
                else:
                    own, copy = (idx, data) if self.copy_order == "ascending" else (idx[::-1], data[::-1])
                    idx = np.concatenate([idx, own + (1 + position) * self.n_base])
                    data = np.concatenate([shared, copy])
        if self.logistic:
            # safe_sparse_dot(X, coef.T) + intercept: scipy sums the products row entry by row entry, in
            # column order, in the result's precision (float32 for a float32 model on float32 features)
            dtype = np.result_type(data.dtype, self.coef_rows.dtype)
            if len(idx):
                products = np.take(self.coef_rows, idx, axis=0).astype(dtype, copy=False)
                products *= data.astype(dtype, copy=False)[:, None]
                decision = np.add.accumulate(products, axis=0)[-1] + self.intercept
            else:
                decision = np.zeros(len(self.intercept), dtype) + self.intercept
            return self._probabilities(decision), idx, data
        row_matrix = sp.csr_array((data, idx, [0, len(idx)]), shape=(1, self.n_features))
        return np.asarray(self.clf.predict_proba(row_matrix))[0], idx, data

    def _probabilities(self, decision: np.ndarray) -> np.ndarray:
        if len(self.clf.classes_) <= 2:
            p = expit(decision)
            return np.concatenate([1 - p, p])
        decision -= decision.max()  # scikit-learn's softmax, on one row
        np.exp(decision, out=decision)
        decision /= decision.sum()
        return decision

    def _proba_kernels(self, text: str, row: dict, counted: dict):
        """``proba_one`` through stancelab.kernels; ``None`` if a count is beyond the tf table."""
        kernels = self.kernels
        quoted = [block.quoted(text, counted) if isinstance(block, _TextBlock) else None for block, _ in self.blocks]
        size = sum(len(q[0]) for q in quoted if q is not None) + self.n_base  # enough for the other blocks
        idx = np.empty(size, np.int64)
        val = np.empty(size, self.value_dtype)
        pos = 0
        for (block, offset), found in zip(self.blocks, quoted):
            if found is not None:
                rows, counts = found
                pos = kernels.tfidf_block(rows, block.slot, counts, *block.kernel_args, offset,
                                          np.empty(len(rows), block.dtype), idx, val, pos)
                if pos < 0:
                    return None
            else:
                i, d = block.one(text, row, counted)
                idx[pos: pos + len(i)] = i + offset
                val[pos: pos + len(i)] = d
                pos += len(i)
        idx, val = idx[:pos], val[:pos]
        acc = kernels.decision(idx, val, self.coef_rows, np.zeros(len(self.intercept), self.product_dtype))
        return self._probabilities(acc + self.intercept), idx, val


# --------------------------------------------------------------------------- the model
class CompiledModel:
    """The fitted Pipeline's numbers, computed with shared work. Build with :func:`compile_model`."""

    def __init__(self, pipeline):
        if not isinstance(pipeline, Pipeline) or list(pipeline.named_steps) != ["normalize", "joint"]:
            raise NotCompilable("not a normalize -> joint pipeline")
        normalizer, joint = pipeline.named_steps["normalize"], pipeline.named_steps["joint"]
        if not isinstance(normalizer, TextNormalizer) or not isinstance(joint, JointClassifier):
            raise NotCompilable("unknown normaliser or joint step")
        self.steps = normalizer._steps()
        self.column = normalizer.column
        self.joint = joint
        self.tasks = list(joint.tasks_)
        self.models: list[dict[str, _TextModel] | _TextModel] = []
        self.routers: list[TargetRouter | None] = []
        self._compiled: dict[int, _TextModel] = {}  # one _TextModel per fitted pipeline object
        for estimator in joint.estimators_:
            if isinstance(estimator, TargetRouter):
                self.models.append({t: m if isinstance(m, str) else self._text_model(m)
                                    for t, m in estimator.estimators_.items()})
                self.routers.append(estimator)
            else:
                self.models.append(self._text_model(estimator))
                self.routers.append(None)
        self._layouts = []  # per task: target -> columns of joint.classes_ its model's classes go to
        for models, router in zip(self.models, self.routers):
            if router is None:
                self._layouts.append(None)
                continue
            column_of = {label: i for i, label in enumerate(router.classes_)}
            self._layouts.append({t: [column_of[m]] if isinstance(m, str) else [column_of[c] for c in m.clf.classes_]
                                  for t, m in models.items()})
        by_key: dict[tuple, list[_TextBlock]] = {}
        for model in self._compiled.values():
            for block, _ in model.blocks:
                if isinstance(block, _TextBlock) and block.key is not None:
                    by_key.setdefault(block.key, []).append(block)
        words: set[str] = set()  # the training words the word blocks know
        for key, blocks in by_key.items():
            shared = _SharedVocabulary(key, blocks)
            for block in blocks:
                block.shared, block.columns, block.slot = shared, shared.columns[id(block)], shared.slot[id(block)]
                block.monotone = shared.monotone[id(block)]
            if key[0] == "word" and not isinstance(key[2], tuple):  # a tokenizer's terms (stems) are not words
                words.update(gram for gram in shared.index if " " not in gram)
        for block_list in by_key.values():  # a quote of known words then cuts no word at prediction time
            shared = block_list[0].shared
            if shared.key[0] == "char_wb":
                shared.prewarm(sorted(words))
                continue
            # and the lookup tables of batches are built now, not by the first batch
            if _default_tokens(block_list[0].vec):
                shared.ngram_index()
            else:
                shared.value_set()
            if isinstance(shared.key[2], tuple) and words:
                # a tokenizer that remembers its work (features.analysis.WordAnalyzer's stems) sees the
                # known words now; its output is not used, only what it remembers
                shared.tokenize(" ".join(sorted(words)))
        for model in self._compiled.values():
            model.use_kernels()

    def _text_model(self, pipeline) -> _TextModel:
        if id(pipeline) not in self._compiled:
            self._compiled[id(pipeline)] = _TextModel(pipeline, self.steps, self._text_model)
        return self._compiled[id(pipeline)]

    def normalise(self, texts) -> list[str]:
        return normalize_texts(texts, self.steps)

    def predict_proba(self, frame: pd.DataFrame, keep_features: bool = False):
        """As ``pipeline.predict_proba(frame)`` (one array per task). With ``keep_features``, also per
        task a list giving each row's ``(text model, csr matrix, row number in it)`` for evidence (``None`` if the row's
        target was trained on one label)."""
        frame = frame.reset_index(drop=True)
        batch = _Batch(self.normalise(frame[self.column]))
        frame = frame.assign(**{self.column: batch.texts})  # what the Pipeline's feature steps receive
        probas, kept = [], []
        targets = frame["target"].to_numpy(dtype=object)
        for models, router, layout in zip(self.models, self.routers, self._layouts):
            rows_features: list = [None] * len(frame) if keep_features else []
            if router is None:
                X, proba = models.proba_all(batch, frame, features=keep_features)
                probas.append(proba)
                if keep_features:
                    rows_features = [(models, X, i) for i in range(len(frame))]
            else:
                router._check_targets(targets)
                out = np.zeros((len(frame), len(router.classes_)))
                for target in sorted(set(targets)):
                    rows = np.flatnonzero(targets == target)
                    model = models[target]
                    if isinstance(model, str):
                        out[rows, layout[target][0]] = 1.0
                        continue
                    if keep_features:
                        X = model.features_of(batch, frame, rows)
                        out[np.ix_(rows, layout[target])] = np.asarray(model.clf.predict_proba(X))
                        for k, i in enumerate(rows):
                            rows_features[i] = (model, X, k)
                    else:
                        out[np.ix_(rows, layout[target])] = model.proba_rows(batch, frame, rows)
                probas.append(out)
            kept.append(rows_features)
        probas = self.joint.scale_none(probas, targets)  # per-target none scales need the rows' targets
        return (probas, kept) if keep_features else probas

    def predict_one(self, text: str, row: dict):
        """One record: per task ``(probabilities on joint.classes_, text model or None, (idx, data))``."""
        normalised = normalize_text(str(text), self.steps)
        row = {**row, self.column: normalised}  # what the Pipeline's feature steps receive
        counted: dict = {}  # n-gram counts per analyser setting, shared by the task models
        probas, found = [], []
        for models, router, layout in zip(self.models, self.routers, self._layouts):
            if router is None:
                p, idx, data = models.proba_one_memo(normalised, row, counted)
                probas.append(p)
                found.append((models, (idx, data)))
                continue
            target = row["target"]
            model = models.get(target)
            if model is None:
                router._check_targets([target])  # raises: unknown target
            out = np.zeros(len(router.classes_))
            if isinstance(model, str):
                out[layout[target]] = 1.0
                found.append((None, None))
            else:
                p, idx, data = model.proba_one(normalised, row, counted)
                out[layout[target]] = p
                found.append((model, (idx, data)))
            probas.append(out)
        return self.joint.scale_none(probas, row["target"]), found
