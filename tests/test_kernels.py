"""Known answers for stancelab/kernels.py: each kernel against the numpy code it replaces, bit for bit."""

from __future__ import annotations

import numpy as np

from stancelab import kernels


def _numpy_block(rows, slot, counts, table, idf, l2):
    """The numpy path of stancelab.compiled._TextBlock for ascending columns."""
    columns = rows[:, slot]
    known = columns >= 0
    idx, numbers = columns[known].astype(np.int64), counts[known]
    v = table[numbers]
    if idf is not None:
        v = v * idf[idx]
    if l2 and len(v):
        total = float(np.add.accumulate(v * v, dtype=np.float64)[-1])
        if total:
            v = (v.astype(np.float64) / np.sqrt(total)).astype(table.dtype)
    return idx, v


def test_tfidf_block_matches_numpy_and_refuses_counts_beyond_the_table():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        table = np.arange(64, dtype=dtype)
        np.log(table[1:], table[1:])
        table[1:] += 1.0
        idf = (1 + rng.random(50) * 5).astype(dtype)
        for trial in range(30):
            rows = np.sort(rng.integers(-1, 50, size=(rng.integers(0, 40), 2)), axis=0).astype(np.int32)
            counts = rng.integers(1, 64, size=len(rows))
            for l2 in (True, False):
                want_idx, want_val = _numpy_block(rows, 1, counts, table, idf, l2)
                idx, val = np.zeros(100, np.int64), np.zeros(100, np.float64)
                end = kernels.tfidf_block(rows, 1, counts, table, idf, True, l2, False, 7, np.empty(len(rows), dtype),
                                          idx, val, 3)
                assert end == 3 + len(want_idx)
                np.testing.assert_array_equal(idx[3:end], want_idx + 7)
                np.testing.assert_array_equal(val[3:end], want_val.astype(np.float64))
    rows = np.array([[0], [1]], np.int32)
    assert kernels.tfidf_block(rows, 0, np.array([1, 64]), table, idf, True, True, False, 0, np.empty(2),
                               np.zeros(2, np.int64), np.zeros(2), 0) == -1


def test_decision_sums_in_order_in_the_products_precision():
    rng = np.random.default_rng(1)
    for coef_dtype, val_dtype in ((np.float32, np.float32), (np.float64, np.float64), (np.float32, np.float64)):
        coef = rng.normal(size=(200, 3)).astype(coef_dtype)
        idx = np.sort(rng.choice(200, 120, replace=False))
        val = rng.random(120).astype(val_dtype)
        dtype = np.result_type(coef_dtype, val_dtype)
        want = np.add.accumulate(coef[idx].astype(dtype) * val.astype(dtype)[:, None], axis=0)[-1]
        got = kernels.decision(idx, val, coef, np.zeros(3, dtype))
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    empty = kernels.decision(np.empty(0, np.int64), np.empty(0), np.ones((3, 2)), np.zeros(2))
    np.testing.assert_array_equal(empty, [0.0, 0.0])


def test_top_contributions_keeps_ties_in_column_order():
    values = np.array([1.0, 2.0, 2.0, -1.0, np.nan, 3.0, 2.0, 0.0])
    order, scores = kernels.top_contributions(np.arange(8), values, np.ones(8), 3)
    assert order.tolist() == [5, 1, 2] and scores.tolist() == [3.0, 2.0, 2.0]
    order, _ = kernels.top_contributions(np.arange(8), -values, np.ones(8), 5)
    assert order.tolist() == [3]
    rng = np.random.default_rng(2)
    for _ in range(50):  # against the numpy ranking it replaced (stancelab.prediction before kernels)
        values = rng.integers(-3, 4, size=rng.integers(0, 30)).astype(np.float32)
        weights = rng.choice([0.5, 1.0, -1.0], size=40)
        idx = np.sort(rng.choice(40, len(values), replace=False))
        contributions = values * weights[idx]
        top = np.flatnonzero(contributions > 0)
        want = top[np.argsort(-contributions[top], kind="stable")][:5]
        order, scores = kernels.top_contributions(idx, values, weights, 5)
        assert order.tolist() == want.tolist()
        assert scores.tolist() == contributions[want].tolist()


def test_distinct_rows_and_spans():
    rng = np.random.default_rng(3)
    table = rng.integers(-1, 100, size=(31, 3)).astype(np.int32)
    for _ in range(20):
        ids = rng.integers(-1, 30, size=rng.integers(0, 60))
        rows, counts = kernels.distinct_rows(np.sort(ids), table)
        unique, want = np.unique(ids[ids >= 0], return_counts=True)
        np.testing.assert_array_equal(rows, table[unique])
        np.testing.assert_array_equal(counts, want)
    flat = np.arange(10, dtype=np.int32) * 10
    got = kernels.spans(flat, np.array([0, 4, 7]), np.array([2, 3, 0]), np.array([1, 0, 2, 1]))
    assert got.tolist() == [40, 50, 60, 0, 10, 40, 50, 60]


def test_tfidf_rows_adds_each_row_like_a_sparse_product():
    import scipy.sparse as sp

    rng = np.random.default_rng(4)
    table = np.arange(16, dtype=np.float32)
    counts = sp.random(30, 40, density=0.2, format="csr", random_state=5, data_rvs=lambda n: rng.integers(1, 9, n))
    counts = sp.csr_array(counts.astype(np.int64))
    counts.sort_indices()
    rows = np.full((41, 1), -1, np.int32)
    rows[:40:2, 0] = np.arange(20)  # every other merged id is in the block
    coef = rng.normal(size=(25, 3))
    texts = np.array([3, 0, 7, 29])
    acc = np.zeros((4, 3))
    assert kernels.tfidf_rows(counts.indptr, counts.indices, counts.data, texts, rows, 0, table, np.empty(0, np.float32),
                              False, False, False, 5, coef, acc, np.empty(40, np.float32), np.empty(40, np.int64),
                              np.zeros(1))
    X = np.zeros((4, 25))
    for r, t in enumerate(texts):
        for e in range(counts.indptr[t], counts.indptr[t + 1]):
            if counts.indices[e] % 2 == 0:
                X[r, 5 + counts.indices[e] // 2] = counts.data[e]
    np.testing.assert_array_equal(acc, sp.csr_array(X) @ coef)
    over = np.full(16, 1, np.int64)
    assert not kernels.tfidf_rows(np.array([0, 1]), np.array([0]), over, np.array([0]), rows, 0, table[:1],
                                  np.empty(0, np.float32), False, False, False, 0, coef, np.zeros((1, 3)),
                                  np.empty(1, np.float32), np.empty(1, np.int64), np.zeros(1))
    dense = np.array([[0.0, 2.0], [1.5, 0.0]])
    acc = np.full((2, 3), -0.0)
    kernels.add_dense(dense, coef, 3, acc)
    np.testing.assert_array_equal(acc, [2.0 * coef[4], 1.5 * coef[3]])


def test_count_units_equals_scipys_product_with_sorted_indices():
    """texts x ids counts from texts made of units (words) that stand for ids (their n-grams): the
    integers of scipy's ``occurrences @ units`` with sorted indices, -1 ids skipped, including ids
    in the same bitmap word, ids 64 and 4096 apart (the summary bitmap), empty texts and units."""
    import scipy.sparse as sp

    rng = np.random.default_rng(4)
    for n_ids in (1, 63, 64, 65, 4096, 4097, 20_000):
        n_units, n_texts = 50, 40
        lengths = rng.integers(0, 12, n_units)
        unit_indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        unit_ids = rng.integers(-1, n_ids, unit_indptr[-1]).astype(np.int64)
        unit_ids[: min(len(unit_ids), 3)] = [n_ids - 1, 0, -1][: min(len(unit_ids), 3)]
        text_lengths = rng.integers(0, 15, n_texts)
        text_lengths[5] = 0
        doc_indptr = np.concatenate([[0], np.cumsum(text_lengths)]).astype(np.int64)
        codes = rng.integers(0, n_units, doc_indptr[-1]).astype(np.int64)
        occurrences = sp.csr_array((np.ones(len(codes), np.int64), codes, doc_indptr), shape=(n_texts, n_units))
        known = unit_ids >= 0
        unit_of = np.repeat(np.arange(n_units), lengths)
        units = sp.csr_array((np.ones(int(known.sum()), np.int64), (unit_of[known], unit_ids[known])),
                             shape=(n_units, n_ids))
        want = (occurrences @ units).tocsr()
        want.sum_duplicates()
        want.sort_indices()
        indptr, ids, counts = kernels.count_units(doc_indptr, codes, unit_indptr, unit_ids, n_ids)
        np.testing.assert_array_equal(indptr, want.indptr)
        np.testing.assert_array_equal(ids, want.indices)
        np.testing.assert_array_equal(counts, want.data)
