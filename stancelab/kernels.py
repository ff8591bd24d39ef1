"""Numba kernels for scoring one quote: the per-n-gram loops of TF-IDF, the decision function and
the evidence ranking, compiled once (cached on disk) instead of ~100 small numpy calls per quote.

Each kernel does exactly the floating-point operations of the numpy code it replaces, in the same
order and precision, so the numbers stay the Pipeline's bit for bit (tests/test_compiled.py):

- a block's values are computed in the block's dtype (``tmp``), squared in that dtype, summed in
  float64 from left to right (scikit-learn's ``inplace_csr_row_normalize_l2``), divided in float64
  and rounded back to the block's dtype;
- the decision function adds ``weight x value`` products feature after feature in column order, in
  the precision numpy's type promotion gives (``acc``'s dtype), as scipy's sparse product does;
- no fast-math, so no reassociation and no fused multiply-add.

Imported only when a model is compiled (``stancelab.compiled``), so importing the package does not
load numba.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros


@njit(cache=True, nogil=True)
def _normalise_l2(tmp, n):
    """``tmp[:n] /= ||tmp[:n]||``: squares in tmp's dtype, summed left to right in float64, divided in
    float64 and rounded back (scikit-learn's ``inplace_csr_row_normalize_l2``)."""
    total = 0.0
    for j in range(n):
        square = tmp[j] * tmp[j]
        total += square
    if total != 0.0:
        root = math.sqrt(total)
        for j in range(n):
            tmp[j] = tmp[j] / root


@njit(cache=True, nogil=True)
def tfidf_block(rows, slot, counts, table, idf, use_idf, l2, binary, offset, tmp, out_idx, out_val, pos):
    """Append one text block's features of a quote to ``out_idx``/``out_val`` from ``pos``; return
    the new end, or -1 if a count is beyond ``table`` (the caller then takes the numpy path).

    ``rows``: the quote's distinct n-grams' columns in every block (ascending merged ids, so this
    block's columns ascend); ``counts``: their counts; ``table[c]``: the term frequency of count c
    in the block's dtype (``1 + log(c)`` when sublinear); ``tmp``: scratch in the block's dtype."""
    n = 0
    for i in range(rows.shape[0]):
        column = rows[i, slot]
        if column < 0:
            continue
        count = 1 if binary else counts[i]
        if count >= table.shape[0]:
            return -1
        if use_idf:
            tmp[n] = table[count] * idf[column]
        else:
            tmp[n] = table[count]
        out_idx[pos + n] = column + offset
        n += 1
    if l2:
        _normalise_l2(tmp, n)
    for j in range(n):
        out_val[pos + j] = tmp[j]
    return pos + n


@njit(cache=True, nogil=True)
def decision(idx, val, coef_rows, acc):
    """``acc[j] = sum_i coef_rows[idx[i], j] * val[i]``, summed in order of i in ``acc``'s dtype."""
    k = acc.shape[0]
    if idx.shape[0] == 0:
        return acc
    for j in range(k):
        acc[j] = coef_rows[idx[0], j] * val[0]
    for i in range(1, idx.shape[0]):
        column = idx[i]
        x = val[i]
        for j in range(k):
            acc[j] = acc[j] + coef_rows[column, j] * x
    return acc


@njit(cache=True, nogil=True)
def top_contributions(idx, val, weights, k):
    """The positions of the ``k`` largest positive ``val[i] * weights[idx[i]]``, largest first (ties
    in position order), and those products."""
    best = np.empty(k, np.int64)
    score = np.empty(k, np.float64)
    n = 0
    for i in range(idx.shape[0]):
        c = val[i] * weights[idx[i]]
        if not c > 0:
            continue
        if n == k and not c > score[k - 1]:
            continue
        j = n if n < k else k - 1
        while j > 0 and score[j - 1] < c:
            best[j] = best[j - 1]
            score[j] = score[j - 1]
            j -= 1
        best[j] = i
        score[j] = c
        if n < k:
            n += 1
    return best[:n], score[:n]


@njit(cache=True, nogil=True)
def distinct_rows(ordered, table):
    """The distinct ids >= 0 of a quote's n-grams (merged ids, sorted, with repeats; -1: in no
    vocabulary): their ``table`` rows in ascending id order and how often each occurs (numpy's own
    sort is faster than numba's, so the caller sorts)."""
    n = ordered.shape[0]
    first = 0
    while first < n and ordered[first] < 0:
        first += 1
    distinct = 0
    for i in range(first, n):
        if i == first or ordered[i] != ordered[i - 1]:
            distinct += 1
    rows = np.empty((distinct, table.shape[1]), table.dtype)
    counts = np.zeros(distinct, np.int64)
    d = -1
    for i in range(first, n):
        if i == first or ordered[i] != ordered[i - 1]:
            d += 1
            rows[d, :] = table[ordered[i], :]
        counts[d] += 1
    return rows, counts


@njit(cache=True, nogil=True)
def spans(flat, starts, lengths, slots):
    """``concatenate([flat[starts[s]:starts[s] + lengths[s]] for s in slots])``: a quote's words'
    char n-gram ids from the word cache."""
    total = 0
    for i in range(slots.shape[0]):
        total += lengths[slots[i]]
    out = np.empty(total, flat.dtype)
    pos = 0
    for i in range(slots.shape[0]):
        s = starts[slots[i]]
        n = lengths[slots[i]]
        for j in range(n):
            out[pos + j] = flat[s + j]
        pos += n
    return out


@njit(cache=True, nogil=True)
def count_units(doc_indptr, codes, unit_indptr, unit_ids, n_ids):
    """Each text's count of each id, as CSR ``(indptr, ids, counts)`` with every row's ids ascending:
    text t is the units ``codes[doc_indptr[t]:doc_indptr[t + 1]]`` (its words, or its n-grams), and
    unit u stands for the ids ``unit_ids[unit_indptr[u]:unit_indptr[u + 1]]`` (-1: in no
    vocabulary; skipped). The integers of scipy's ``(occurrences @ units).tocsr()`` after
    ``sort_indices``, without a comparison sort: a text's distinct ids are marked in a bitmap (and
    the bitmap's non-zero words in a summary bitmap), then read back in ascending order."""
    n_texts = doc_indptr.shape[0] - 1
    total = 0
    for w in range(codes.shape[0]):
        u = codes[w]
        total += unit_indptr[u + 1] - unit_indptr[u]
    out_ids = np.empty(total, np.int32)
    out_counts = np.empty(total, np.int64)
    indptr = np.empty(n_texts + 1, np.int64)
    count = np.zeros(n_ids, np.int64)
    bits = np.zeros((n_ids >> 6) + 1, np.uint64)  # bit i: id i occurs in the current text
    summary = np.zeros((bits.shape[0] >> 6) + 1, np.uint64)  # bit b: bits[b] is not zero
    one = np.uint64(1)
    pos = 0
    indptr[0] = 0
    for t in range(n_texts):
        for w in range(doc_indptr[t], doc_indptr[t + 1]):
            u = codes[w]
            for e in range(unit_indptr[u], unit_indptr[u + 1]):
                i = unit_ids[e]
                if i < 0:
                    continue
                if count[i] == 0:
                    bits[i >> 6] |= one << np.uint64(i & 63)
                    summary[i >> 12] |= one << np.uint64((i >> 6) & 63)
                count[i] += 1
        for s in range(summary.shape[0]):
            marked = summary[s]
            if marked == 0:
                continue
            summary[s] = 0
            while marked != 0:
                word = (s << 6) + np.int64(trailing_zeros(marked))
                marked &= marked - one
                found = bits[word]
                bits[word] = 0
                while found != 0:
                    i = (word << 6) + np.int64(trailing_zeros(found))
                    found &= found - one
                    out_ids[pos] = i
                    out_counts[pos] = count[i]
                    count[i] = 0
                    pos += 1
        indptr[t + 1] = pos
    return indptr, out_ids[:pos], out_counts[:pos]


@njit(cache=True, nogil=True)
def tfidf_rows(indptr, indices, counts, texts, table, slot, tf, idf, use_idf, l2, binary, offset, coef_rows, acc,
               tmp, columns, value):
    """A batch's ``tfidf_block`` + ``decision`` without a feature matrix: for each row r (the text
    ``texts[r]`` of the texts x merged-ids count matrix ``indptr/indices/counts``), this block's
    TF-IDF values are added into ``acc[r]`` as ``X @ coef.T`` adds them (scipy's ``csr_matvecs``:
    entry after entry in column order, ``y += value * weight``). ``value`` is a 1-element array of
    the model's feature dtype (the dtype the blocks' ``hstack`` has). False if a count is beyond
    ``tf``: the caller then takes the numpy path."""
    k = acc.shape[1]
    for r in range(texts.shape[0]):
        t = texts[r]
        n = 0
        for e in range(indptr[t], indptr[t + 1]):
            column = table[indices[e], slot]
            if column < 0:
                continue
            count = 1 if binary else counts[e]
            if count >= tf.shape[0]:
                return False
            if use_idf:
                tmp[n] = tf[count] * idf[column]
            else:
                tmp[n] = tf[count]
            columns[n] = column + offset
            n += 1
        if l2:
            _normalise_l2(tmp, n)
        for j in range(n):
            value[0] = tmp[j]
            x = value[0]
            c = columns[j]
            for i in range(k):
                acc[r, i] += x * coef_rows[c, i]
    return True


@njit(cache=True, nogil=True)
def add_dense(values, coef_rows, offset, acc):
    """``acc[r] += values[r, j] * coef_rows[offset + j]`` for the non-zero values, in column order
    (a dense block as the sparse ``hstack`` stores it: zeros dropped)."""
    k = acc.shape[1]
    for r in range(values.shape[0]):
        for j in range(values.shape[1]):
            x = values[r, j]
            if x != 0:
                for i in range(k):
                    acc[r, i] += x * coef_rows[offset + j, i]
