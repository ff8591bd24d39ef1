"""Paired comparison of two systems: McNemar's exact test and the paired bootstrap, with known answers."""

from __future__ import annotations

import json
from math import comb

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from stancelab.scoring import metrics
from stancelab.scoring.compare import align, compare_frames, mcnemar, paired_bootstrap
from stancelab.errors import UserError


def test_mcnemar_exact_known_answer():
    # 10 rows only A gets right, 2 only B, 5 both: p = 2 * P(X <= 2 | n=12, 1/2) = 2 * 79 / 4096
    a = [True] * 10 + [False] * 2 + [True] * 5
    b = [False] * 10 + [True] * 2 + [True] * 5
    result = mcnemar(a, b)
    assert (result["only_a_correct"], result["only_b_correct"]) == (10, 2)
    assert result["p_value"] == pytest.approx(2 * sum(comb(12, k) for k in range(3)) / 2 ** 12)
    assert result["p_value"] == pytest.approx(0.0385742, abs=1e-6)
    assert mcnemar(b, a)["p_value"] == result["p_value"]
    assert mcnemar([True, False], [True, False])["p_value"] == 1.0  # no discordant pairs
    assert mcnemar([True, False, True], [False, True, True])["p_value"] == 1.0  # 1 vs 1


def _system(gold, targets, accuracy, rng):
    labels = np.array(["favor", "against", "none"], dtype=object)
    pred = gold.copy()
    wrong = rng.random(len(gold)) > accuracy
    pred[wrong] = rng.choice(labels, size=wrong.sum())
    return pd.DataFrame({"id": [str(i) for i in range(len(gold))], "text": [f"t{i}" for i in range(len(gold))],
                         "target": targets, "stance": gold, "pred_stance": pred})


def test_paired_bootstrap_identical_systems_and_a_clearly_better_one():
    rng = np.random.default_rng(1)
    gold = rng.choice(np.array(["favor", "against", "none"], dtype=object), size=300)
    targets = np.array(["t1", "t2", "t3"] * 100, dtype=object)
    weak, strong = _system(gold, targets, 0.5, rng), _system(gold, targets, 0.95, rng)
    score = lambda f: metrics.all_scores(f, ["stance"])  # noqa: E731
    same = paired_bootstrap(weak, weak, score, n_resamples=100)
    assert all(m["delta"] == 0 == m["ci_low"] == m["ci_high"] and m["p_value"] == 1.0 for m in same.values())
    better = paired_bootstrap(weak, strong, score, n_resamples=200)
    f = better["f_avg"]
    assert f["delta"] == pytest.approx(f["b"] - f["a"]) and f["delta"] > 0.2
    assert 0 < f["ci_low"] <= f["delta"] <= f["ci_high"] and f["p_value"] < 0.01
    # The interval is that of the paired difference: narrower than the difference of the unpaired intervals.
    assert f["ci_high"] - f["ci_low"] < 0.2


def test_compare_frames_aligns_rows_and_rejects_different_data():
    rng = np.random.default_rng(2)
    gold = rng.choice(np.array(["favor", "against", "none"], dtype=object), size=60)
    targets = np.array(["t1", "t2"] * 30, dtype=object)
    a, b = _system(gold, targets, 0.6, rng), _system(gold, targets, 0.6, rng)
    shuffled = b.sample(frac=1, random_state=0)
    direct = compare_frames(a, b, ["stance"], n_resamples=50)
    assert compare_frames(a, shuffled, ["stance"], n_resamples=50)["mcnemar"] == direct["mcnemar"]
    with pytest.raises(UserError, match="different rows"):
        align(a, b.iloc[1:], ["stance"])
    relabelled = b.assign(stance=np.roll(b["stance"].to_numpy(), 1))
    with pytest.raises(UserError, match="gold stance"):
        align(a, relabelled, ["stance"])


def test_evaluate_compare_cli_on_two_evaluation_runs(trained, tmp_path):
    from stancelab.evaluation.evaluate import evaluate

    uri = trained["uri"]
    runs = [evaluate("models:/idlib-stance/1", "idlib", "test", tracking_uri=uri, n_resamples=20)["run_id"]
            for _ in range(2)]
    out = tmp_path / "compare.json"
    proc = run_cli("evaluate.py", "--compare", *runs, "--bootstrap", "50", "--json", out, "--tracking-uri", uri)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["n"] == 390 and result["metrics"]["f_avg"]["delta"] == 0
    assert result["mcnemar"]["stance"]["p_value"] == 1.0
    assert "McNemar stance" in proc.stdout
    bad = run_cli("evaluate.py", "--compare", runs[0], "nosuchrun", "--tracking-uri", uri)
    assert bad.returncode == 2 and "nosuchrun" in bad.stderr and "Traceback" not in bad.stderr
