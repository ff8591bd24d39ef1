"""The compiled model (stancelab/compiled.py) must give exactly the Pipeline's numbers: the same
probabilities bit for bit, the same labels, and the same evidence, on whole benchmark splits and on
odd inputs, for every feature and classifier setting it compiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stancelab import datasets
from stancelab.compiled import _OtherBlock, _TextBlock, compile_model
from stancelab.config import ModelConfig
from stancelab.model import build_pipeline
from stancelab.prediction import Predictor
from stancelab.training import model_input

TASKS = ["stance", "sentiment"]


def _small() -> pd.DataFrame:
    """A few dozen embedded sentences per target: enough for every label, quick to fit."""
    return datasets.load("idlib", "train").groupby("target").head(60).reset_index(drop=True)


def _fit(cfg: dict, frame: pd.DataFrame):
    model = ModelConfig.model_validate(cfg)
    return build_pipeline(model, TASKS, seed=7).fit(model_input(frame), frame[TASKS].astype(object))


def _assert_same(pipeline, frame: pd.DataFrame, single_rows: int = 40, monotone: bool = True):
    compiled = compile_model(pipeline)
    assert compiled is not None
    blocks = [b for m in compiled._compiled.values() for b, _ in m.blocks if isinstance(b, _TextBlock) and b.key]
    assert all(b.monotone for b in blocks)  # fitted vocabularies: the rename-only paths run
    if not monotone:  # the paths for a vocabulary given in another order (sorting per row)
        for b in blocks:
            b.monotone = False
        for m in compiled._compiled.values():
            m.use_kernels()
    for m in compiled._compiled.values():  # one quote runs through stancelab.kernels where it can
        plain = m.logistic and m.interaction is None and not any(isinstance(b, _OtherBlock) for b, _ in m.blocks)
        assert (m.kernels is not None) == (monotone and plain)
    X = model_input(frame)
    expected = pipeline.predict_proba(X)
    got = compiled.predict_proba(X)  # through stancelab.kernels where the model can, no feature matrix
    kept, _ = compiled.predict_proba(X, keep_features=True)  # the feature matrices (for evidence)
    for e, g, k in zip(expected, got, kept):
        assert e.dtype == g.dtype == k.dtype
        np.testing.assert_array_equal(g, e)  # bit for bit, not approximately
        np.testing.assert_array_equal(k, e)
    labels = pipeline.predict(X)
    classes = pipeline.named_steps["joint"].classes_
    mine = np.column_stack([c[np.argmax(p, axis=1)] for c, p in zip(classes, got)])
    assert (mine == labels).all()
    records = X.head(single_rows).to_dict("records")
    for i, record in enumerate(records):
        probas, _ = compiled.predict_one(record["text"], record)
        for task, p in enumerate(probas):
            np.testing.assert_array_equal(p, expected[task][i])
    for m in compiled._compiled.values():  # the numpy path, which the kernels replace (stancelab/kernels.py)
        m.kernels = None
    for i, record in enumerate(records[:10]):
        for task, p in enumerate(compiled.predict_one(record["text"], record)[0]):
            np.testing.assert_array_equal(p, expected[task][i])


def test_compiled_mawqif_model_is_bit_exact_on_every_text(shared_datasets):
    train = datasets.load("mawqif", "train", shared_datasets)
    test = datasets.load("mawqif", "test", shared_datasets)
    pipeline = _fit({"target_mode": "per_target", "word": {"ngram_range": [1, 2]},
                     "char": {"ngram_range": [2, 5], "analyzer": "char_wb", "min_df": 2},
                     "classifier": {"kind": "logreg", "C": 0.5}, "none_scale": 0.5},
                    train.sample(1000, random_state=1))
    _assert_same(pipeline, pd.concat([test, train], ignore_index=True), single_rows=300)
    _assert_same(pipeline, test, single_rows=50, monotone=False)


def test_compiled_english_word_trigrams_pooled(shared_datasets):
    train = datasets.load("semeval2016", "train", shared_datasets)
    test = datasets.load("semeval2016", "test", shared_datasets)
    pipeline = _fit({"target_mode": "pooled", "word": {"ngram_range": [1, 3], "binary": True},
                     "char": {"ngram_range": [1, 4], "analyzer": "char_wb", "sublinear_tf": False},
                     "classifier": {"kind": "logreg", "C": 2.0}},
                    train.sample(800, random_state=2))
    _assert_same(pipeline, test, single_rows=100)


@pytest.mark.parametrize("cfg", [
    {"word": None, "char": {"ngram_range": [3, 5], "analyzer": "char"}, "classifier": {"kind": "linear_svc"}},
    {"word": {"ngram_range": [2, 3], "min_df": 2}, "char": None, "classifier": {"kind": "nbsvm"}, "use_actor": True},
    {"target_mode": "pooled", "use_actor": True, "classifier": {
        "kind": "voting", "members": [{"kind": "logreg"}, {"kind": "complement_nb", "alpha": 0.5}]}},
], ids=["char-analyzer-svc", "bigrams-nbsvm-actor", "pooled-voting"])
def test_compiled_other_settings(cfg):
    frame = _small()
    _assert_same(_fit(cfg, frame), frame)


def test_binary_logistic_and_single_label_targets():
    frame = _small()
    targets = sorted(frame["target"].unique())
    first = frame[frame["target"] == targets[0]]
    two = first[first["stance"].isin(sorted(first["stance"].unique())[:2])]
    one = frame[frame["target"] == targets[1]].assign(stance="none")
    data = pd.concat([two, one], ignore_index=True)
    pipeline = _fit({"target_mode": "per_target"}, data)
    router = pipeline.named_steps["joint"].estimator_for("stance")
    assert isinstance(router.estimators_[targets[1]], str) and len(router.estimators_[targets[0]].classes_) == 2
    _assert_same(pipeline, data)


def test_interaction_model_is_compiled_bit_exact_with_its_evidence():
    frame = _small()
    pipeline = _fit({"target_mode": "interact", "char": {"ngram_range": [2, 3], "analyzer": "char_wb"}}, frame)
    test = datasets.load("idlib", "test")
    odd = test.head(3).assign(target="a target it never saw")  # only the shared copy
    _assert_same(pipeline, pd.concat([test, frame], ignore_index=True), single_rows=40)
    compiled = compile_model(pipeline)
    X = model_input(odd)
    for e, g in zip(pipeline.predict_proba(X), compiled.predict_proba(X)):
        np.testing.assert_array_equal(g, e)
    for i, record in enumerate(X.to_dict("records")):
        for e, g in zip(pipeline.predict_proba(X.iloc[[i]]), compiled.predict_one(record["text"], record)[0]):
            np.testing.assert_array_equal(g, e[0])
    stance_model = compiled.models[0]
    assert stance_model.copy_order in ("ascending", "descending")  # scipy 1.17: descending
    stance_model.copy_order = None  # another order: the interaction's own code per quote
    X = model_input(test.head(12))
    expected = pipeline.predict_proba(X)
    for i, record in enumerate(X.to_dict("records")):
        for task, g in enumerate(compiled.predict_one(record["text"], record)[0]):
            np.testing.assert_array_equal(g, expected[task][i])
    fast = Predictor(pipeline=pipeline, model_uri="in-memory")
    slow = Predictor(pipeline=pipeline, model_uri="in-memory")
    slow.compiled = None
    rows = fast.frame(test.head(15)[["text", "target", "actor"]].to_dict("records"))
    expected = slow.predict_frame(rows)
    assert fast.predict_frame(rows) == expected
    assert [fast.predict([r])[0] for r in rows.to_dict("records")] == expected
    assert any("@" in e["ngram"] for r in expected for e in r["evidence"]["stance"])  # per-target weights show


_IDLIB = None


def _idlib_model():
    global _IDLIB
    if _IDLIB is None:
        frame = _small()
        _IDLIB = (_fit({"target_mode": "per_target", "char": {"ngram_range": [2, 4], "analyzer": "char_wb"}}, frame),
                  sorted(frame["target"].unique()))
    return _IDLIB


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("لافروفقالإنهوقفالنارأدلب  \t\nabc#@!ـ٣")), min_size=0,
                        max_size=60), min_size=1, max_size=6))
def test_odd_texts_match_the_pipeline(texts):
    pipeline, targets = _idlib_model()
    frame = pd.DataFrame({"text": texts, "target": [targets[i % len(targets)] for i in range(len(texts))],
                          "actor": "", "stance": "none", "sentiment": "neutral"})
    _assert_same(pipeline, frame, single_rows=len(texts))


def test_evidence_equals_the_uncompiled_path():
    pipeline, _ = _idlib_model()
    fast = Predictor(pipeline=pipeline, model_uri="in-memory")
    slow = Predictor(pipeline=pipeline, model_uri="in-memory")
    slow.compiled = None
    assert fast.compiled is not None
    frame = fast.frame(datasets.load("idlib", "test").head(120)[["text", "target", "actor"]].to_dict("records"))
    expected = slow.predict_frame(frame)
    assert fast.predict_frame(frame) == expected
    assert [fast.predict([r])[0] for r in frame.to_dict("records")] == expected
    assert fast.predict_frame(frame, evidence=False) == slow.predict_frame(frame, evidence=False)
    assert all(r["evidence"]["stance"] for r in expected)


def test_arrow_and_python_paths_agree_and_lone_surrogates_fall_back():
    # >= 64 texts and >= 256 new words take Arrow's kernels (small batches, above, take Python's)
    pipeline, _ = _idlib_model()
    frame = datasets.load("idlib", "test").reset_index(drop=True)
    assert len(frame) >= 64
    _assert_same(pipeline, frame, single_rows=5)
    # a lone surrogate cannot be UTF-8 for Arrow: those words are cut by Python, with the same ids
    compiled = compile_model(pipeline)
    shared = next(b.shared for b, _ in compiled.models[1].blocks if b.key[0] == "char_wb")
    words = [f"w{i}\ud800" for i in range(300)]
    assert shared._cut_arrow(words) is None
    python_lengths, python_ids = shared._cut_python(["قال", "ceasefire"] * 150)
    python_rows = np.repeat(np.arange(300), python_lengths)
    arrow_rows, arrow_ids = shared._cut_arrow(["قال", "ceasefire"] * 150)
    assert sorted(zip(python_rows.tolist(), python_ids.tolist())) == sorted(zip(arrow_rows.tolist(), arrow_ids.tolist()))
    merged, _ = shared.slot_ids(shared.slots(words))
    assert len(merged) > 0


def test_joint_model_with_mention_and_sentiment_features():
    frame = _small().groupby("target").head(35).reset_index(drop=True)
    pipeline = _fit({"target_mode": "per_target", "sentiment_features": True, "target_mention": True,
                     "char": {"ngram_range": [2, 3], "analyzer": "char_wb"}}, frame)
    compiled = compile_model(pipeline)
    kinds = {type(block).__name__ for model in compiled._compiled.values() for block, _ in model.blocks}
    assert {"_MentionBlock", "_SentimentBlock"} <= kinds  # compiled, not run through their transform
    stance_models = compiled.models[0].values()
    assert any(b.inner is compiled.models[1] for m in stance_models for b, _ in m.blocks if hasattr(b, "inner"))
    _assert_same(pipeline, pd.concat([frame, datasets.load("idlib", "test")], ignore_index=True), single_rows=15)
    fast = Predictor(pipeline=pipeline, model_uri="in-memory")
    slow = Predictor(pipeline=pipeline, model_uri="in-memory")
    slow.compiled = None
    rows = fast.frame(datasets.load("idlib", "test").head(20)[["text", "target", "actor"]].to_dict("records"))
    assert fast.predict_frame(rows) == slow.predict_frame(rows)
    assert [fast.predict([r])[0] for r in rows.to_dict("records")] == slow.predict_frame(rows)


def test_a_full_word_cache_starts_afresh_with_the_same_numbers(monkeypatch):
    """When the bounded word cache fills up (in a batch or in one quote) it is emptied and refilled;
    the numbers must not change (a tiny cache makes that happen all the time)."""
    import stancelab.compiled as compiled_module

    monkeypatch.setattr(compiled_module, "WORD_CACHE_SIZE", 40)
    pipeline, _ = _idlib_model()
    frame = datasets.load("idlib", "test").reset_index(drop=True)
    _assert_same(pipeline, pd.concat([frame, _small()], ignore_index=True), single_rows=60)


def test_scoring_from_several_threads_gives_the_same_numbers(monkeypatch):
    """Dask runs partitions on one worker's threads with one shared model: the word cache is learned,
    reset and read under a lock (a tiny cache makes resets, and so races, happen all the time)."""
    from concurrent.futures import ThreadPoolExecutor

    import stancelab.compiled as compiled_module

    monkeypatch.setattr(compiled_module, "WORD_CACHE_SIZE", 40)
    pipeline, _ = _idlib_model()
    frame = pd.concat([datasets.load("idlib", "test"), _small()], ignore_index=True)
    batches = [model_input(frame.iloc[i::7]) for i in range(7)]
    expected = [pipeline.predict_proba(X) for X in batches]
    records = model_input(frame.head(40)).to_dict("records")
    single = [pipeline.predict_proba(model_input(frame.iloc[[i]])) for i in range(len(records))]
    compiled = compile_model(pipeline)

    def batch(i):
        return i, compiled.predict_proba(batches[i])

    def one(i):
        return i, compiled.predict_one(records[i]["text"], records[i])[0]

    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(3):
            for i, got in pool.map(batch, list(range(len(batches))) * 3):
                for e, g in zip(expected[i], got):
                    np.testing.assert_array_equal(g, e)
            for i, got in pool.map(one, range(len(records))):
                for e, g in zip(single[i], got):
                    np.testing.assert_array_equal(g, e[0])


def test_a_count_beyond_the_tf_table_takes_the_numpy_path():
    frame = _small()
    pipeline = _fit({}, frame)
    compiled = compile_model(pipeline)
    assert all(m.kernels is not None for m in compiled._compiled.values())
    word = frame["text"].iloc[0].split()[0]
    record = {"text": " ".join([word] * 1100) + " " + frame["text"].iloc[1], "target": frame["target"].iloc[0],
              "actor": ""}
    batch = model_input(pd.DataFrame([record, *frame.head(70).to_dict("records")]))
    expected = pipeline.predict_proba(batch)
    for task, p in enumerate(compiled.predict_one(record["text"], record)[0]):
        np.testing.assert_array_equal(p, expected[task][0])
    for e, g in zip(expected, compile_model(pipeline).predict_proba(batch)):  # the batch path too
        np.testing.assert_array_equal(g, e)


def _first_three(text: str) -> list[str]:
    return [word[:3] for word in text.split()]


def test_a_word_block_with_its_own_tokenizer_is_compiled():
    """A custom tokenizer (features.analysis.WordAnalyzer is one) is called by the compiled model
    itself, so such a model keeps the compiled paths and the kernels."""
    frame = _small()
    model = ModelConfig.model_validate({})
    pipeline = build_pipeline(model, TASKS, seed=7)
    pipeline.set_params(**{k: _first_three for k in pipeline.get_params() if k.endswith("word__tokenizer")},
                        **{k: None for k in pipeline.get_params() if k.endswith("word__token_pattern")})
    pipeline.fit(model_input(frame), frame[TASKS].astype(object))
    compiled = compile_model(pipeline)
    assert all(b.key is not None for m in compiled._compiled.values() for b, _ in m.blocks if isinstance(b, _TextBlock))
    _assert_same(pipeline, pd.concat([frame, datasets.load("idlib", "test")], ignore_index=True), single_rows=20)


_FIRST_CALLS = r"""
import json, sys
import pandas as pd
from numba.core.registry import CPUDispatcher
from stancelab import datasets, kernels
from stancelab.config import ModelConfig
from stancelab.model import build_pipeline
from stancelab.prediction import Predictor
from stancelab.training import model_input

frame = datasets.load("idlib", "train").groupby("target").head(40).reset_index(drop=True)
cfg = ModelConfig.model_validate({"target_mode": "per_target", "sentiment_features": True, "target_mention": True,
                                  "char": {"ngram_range": [2, 4], "analyzer": "char_wb"},
                                  "sentiment_word": {"stem": True, "stop_words": True, "language": "ar+en"}})
tasks = ["stance", "sentiment"]
pipeline = build_pipeline(cfg, tasks, seed=7).fit(model_input(frame), frame[tasks].astype(object))
dispatchers = {name: f for name, f in vars(kernels).items() if isinstance(f, CPUDispatcher)}
assert not any(f.signatures for f in dispatchers.values()), "a kernel ran before the Predictor was built"
predictor = Predictor(pipeline=pipeline, model_uri="in-memory")
loaded = {name: [str(s) for s in f.signatures] for name, f in dispatchers.items()}
records = pd.concat([datasets.load("idlib", "test"), frame]).loc[:, ["text", "target", "actor"]].to_dict("records")
rows = predictor.frame(records)
predictor.predict_labels(rows)                # a batch long enough for the Arrow path
predictor.predict_labels(rows.head(10))       # and a short one
predictor.predict(records[:5])                # quotes one by one, with evidence
called = {name: [str(s) for s in f.signatures] for name, f in dispatchers.items()}
print(json.dumps({"loaded": loaded, "called": called, "rows": len(rows)}))
for n in called:
    print(n, sorted(set(called[n]) - set(loaded[n])), file=sys.stderr)
"""


def test_a_loaded_predictor_has_every_kernel_its_first_calls_need():
    """numba loads a kernel from its disk cache (and starts LLVM) on the kernel's first call, about a
    second once per process. Predictor does that at load (``Predictor._warm``), so the first batch,
    short or long, and the first quote with evidence find every kernel signature they call already
    there. Run in a fresh process: in this one, other tests have loaded kernels already."""
    import json
    import subprocess
    import sys

    from conftest import REPO

    done = subprocess.run([sys.executable, "-c", _FIRST_CALLS], capture_output=True, text=True, cwd=REPO,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["rows"] >= 64
    for name in ("count_units", "tfidf_rows", "add_dense", "tfidf_block", "decision", "distinct_rows", "spans",
                 "top_contributions"):
        assert out["loaded"][name], f"{name} was not loaded at load time"
    assert out["called"] == out["loaded"], done.stderr  # no signature was added by the first real calls


def test_ngram_index_finds_exactly_the_vocabularys_ngrams():
    """A batch's word n-grams found as integers (``_NgramIndex``: token ids, then a trie of n-gram
    keys) are the n-grams scikit-learn's analyser forms that are in the vocabulary, counted alike:
    n-grams that are only prefixes of longer ones, unknown tokens, ranges not starting at 1, and odd
    entries of a vocabulary given by hand (a double space, an n-gram longer than the range)."""
    import re
    from collections import Counter

    from sklearn.feature_extraction.text import CountVectorizer

    from features.analysis import WORD_TOKEN_PATTERN
    from stancelab.compiled import _NgramIndex

    texts = datasets.load("idlib", "train")["text"].str.lower().tolist()
    texts += ["", "ab ab ab ab", "ab cd ab cd ef", "x"]
    findall = re.compile(WORD_TOKEN_PATTERN).findall
    tokens = [findall(t) for t in texts]
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    for ngram_range in ((1, 1), (1, 2), (2, 2), (2, 3), (1, 3)):
        fitted = CountVectorizer(ngram_range=ngram_range, token_pattern=WORD_TOKEN_PATTERN, lowercase=False)
        grams = set(fitted.fit(texts[::2] + ["ab cd ef"]).vocabulary_) | {"ab  cd", "ab cd ab cd ef", "zz"}
        index = {gram: i for i, gram in enumerate(sorted(grams))}
        ngrams = _NgramIndex(index, ngram_range)
        ids = np.array([ngrams.token_ids.get(t, -1) for text in tokens for t in text], dtype=np.int64)
        counts = ngrams.occurrences(ids, lengths).occurrences.tocsr()
        analyse = fitted.build_analyzer()
        for row, text in enumerate(texts):
            want = Counter(index[g] for g in analyse(text) if g in index)
            start, end = counts.indptr[row], counts.indptr[row + 1]
            assert Counter(counts.indices[start:end].tolist()) == want, (ngram_range, text)
