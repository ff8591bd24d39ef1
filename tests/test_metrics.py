"""Known-answer tests: the official scorers' definitions on hand-computed examples."""

import numpy as np
import pandas as pd
import pytest

from stancelab.scoring import metrics

# 10 tweets over two targets. Hand-computed below.
GOLD = ["favor", "favor", "favor", "against", "against", "none", "favor", "against", "against", "none"]
PRED = ["favor", "against", "favor", "against", "none", "favor", "favor", "favor", "against", "none"]
TARGET = ["A"] * 6 + ["B"] * 4


def test_f_avg_pooled_semeval():
    # favor: tp=3 (rows 0,2,6), guessed=5 (0,2,5,6,7), gold=4 -> P=3/5, R=3/4, F=2/3
    # against: tp=2 (rows 3,8), guessed=3 (1,3,8), gold=4 -> P=2/3, R=1/2, F=4/7
    assert metrics.f_avg(GOLD, PRED) == pytest.approx((2 / 3 + 4 / 7) / 2)


def test_f_avg_target_mean_stanceeval():
    # target A: favor tp=2 guessed=3 gold=3 -> F=2/3; against tp=1 guessed=2 gold=2 -> F=1/2; F_avg=7/12
    # target B: favor tp=1 guessed=2 gold=1 -> F=2/3; against tp=1 guessed=1 gold=2 -> F=2/3; F_avg=2/3
    assert metrics.f_avg_target_mean(GOLD, PRED, TARGET) == pytest.approx((7 / 12 + 2 / 3) / 2)


def test_class_never_guessed_or_never_gold_scores_zero_like_eval_pl():
    assert metrics.f_avg(["favor", "favor"], ["none", "none"]) == 0.0
    assert metrics.f_avg(["none", "none"], ["none", "none"]) == 0.0
    # perfect favor, no against anywhere: against contributes 0, as in eval.pl
    assert metrics.f_avg(["favor", "none"], ["favor", "none"]) == pytest.approx(0.5)


def test_none_only_counts_as_errors():
    # a none row predicted as favor is a false favor guess: P(favor) 1 -> 1/2, F(favor) 1 -> 2/3
    assert metrics.f_avg(["favor", "none"], ["favor", "none"]) == pytest.approx(0.5)
    assert metrics.f_avg(["favor", "none"], ["favor", "favor"]) == pytest.approx((2 / 3 + 0) / 2)
    # a favor row predicted as none only costs favor recall: R 1 -> 1/2, F(favor) 2/3
    assert metrics.f_avg(["favor", "favor"], ["favor", "none"]) == pytest.approx((2 / 3 + 0) / 2)


def test_sentiment_f_pn_wanlp2021():
    gold = ["positive", "positive", "negative", "negative", "negative", "neutral", "neutral", "positive"]
    pred = ["positive", "negative", "negative", "negative", "neutral", "positive", "neutral", "neutral"]
    # positive: tp=1 (row 0), guessed=2 (0,5), gold=3 -> P=1/2, R=1/3, F=2/5
    # negative: tp=2 (rows 2,3), guessed=3 (1,2,3), gold=3 -> P=2/3, R=2/3, F=2/3
    # neutral (tp=1, guessed=3, gold=2 -> F=2/5) is not averaged, but its rows count as misses and
    # false guesses above
    assert metrics.f_pn(gold, pred) == pytest.approx((2 / 5 + 2 / 3) / 2)
    scores = metrics.sentiment_scores(gold, pred)
    assert scores["sentiment_f_pn"] == pytest.approx((2 / 5 + 2 / 3) / 2)
    assert scores["sentiment_macro_f1"] == pytest.approx((2 / 5 + 2 / 3 + 2 / 5) / 3)
    # a class never guessed and never gold scores 0, as in the shared task's scorer
    assert metrics.f_pn(["negative", "neutral"], ["negative", "neutral"]) == pytest.approx(0.5)


def test_macro_f1_and_accuracy_match_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score

    labels = ["favor", "against", "none"]
    assert metrics.macro_f1(GOLD, PRED, labels) == pytest.approx(f1_score(GOLD, PRED, labels=labels, average="macro"))
    assert metrics.accuracy(GOLD, PRED) == pytest.approx(accuracy_score(GOLD, PRED)) == pytest.approx(0.6)


def test_f_avg_matches_scikit_learn_two_label_macro():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    gold = rng.choice(["favor", "against", "none"], 300)
    pred = rng.choice(["favor", "against", "none"], 300)
    expected = f1_score(gold, pred, labels=["favor", "against"], average="macro")
    assert metrics.f_avg(gold, pred) == pytest.approx(expected)


def test_bootstrap_interval_contains_point_and_is_reproducible():
    rng = np.random.default_rng(1)
    n = 400
    gold = rng.choice(["favor", "against", "none"], n)
    pred = np.where(rng.random(n) < 0.7, gold, rng.choice(["favor", "against", "none"], n))
    frame = pd.DataFrame({"stance": gold, "pred_stance": pred, "target": rng.choice(["A", "B"], n),
                          "sentiment": gold, "pred_sentiment": gold})
    frame["sentiment"] = frame["sentiment"].map({"favor": "positive", "against": "negative", "none": "neutral"})
    frame["pred_sentiment"] = frame["sentiment"]
    a = metrics.scores_with_intervals(frame, n_resamples=200, seed=5)
    b = metrics.scores_with_intervals(frame, n_resamples=200, seed=5)
    assert a == b
    for key, entry in a.items():
        assert entry["ci_low"] <= entry["value"] <= entry["ci_high"], key
    assert a["sentiment_accuracy"] == {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0}
    assert 0.02 < a["f_avg"]["ci_high"] - a["f_avg"]["ci_low"] < 0.25


def test_bootstrap_resamples_sentences_whole_across_targets():
    """A sentence labelled for three targets is one unit: each resample keeps three rows per sentence
    and equal target sizes."""
    sentences = [f"s{i}" for i in range(30)]
    frame = pd.DataFrame([{"text": s, "target": t, "stance": "favor", "pred_stance": "favor"}
                          for s in sentences for t in ("A", "B", "C")])
    seen = []

    def record(sample):
        seen.append((sample.groupby("target").size().tolist(), sample.groupby("text").size().mod(3).eq(0).all()))
        return {"n": float(len(sample))}

    intervals = metrics.bootstrap_intervals(frame, record, n_resamples=20, seed=0)
    assert intervals["n"] == (90.0, 90.0)
    assert all(sizes == [30, 30, 30] and whole for sizes, whole in seen)


def test_bootstrap_keeps_target_sizes_when_texts_are_unique():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(50)], "target": ["A"] * 20 + ["B"] * 30,
                          "stance": "none", "pred_stance": "none"})
    sizes = []
    metrics.bootstrap_intervals(frame, lambda f: sizes.append(f.groupby("target").size().tolist()) or {},
                                n_resamples=10, seed=1)
    assert sizes == [[20, 30]] * 10
