"""The threshold for `none` chosen per target (model.none_scale_per_target): the selection rule on a
hand-made case, and a fitted model that applies the chosen scales row by row, saves and loads."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io
from sklearn.base import clone

from stancelab import datasets
from stancelab.config import ModelConfig
from stancelab.estimators import choose_none_scales
from stancelab.model import TRUSTED_TYPES, build_pipeline
from stancelab.training import model_input

CLASSES = ["against", "favor", "none"]


def test_choose_none_scales_known_answer():
    proba = [[0.1, 0.4, 0.5],  # a: favor; scale <= 0.65 recovers it
             [0.1, 0.3, 0.6],  # a: none; scale 0.35 loses it (0.21 < 0.3)
             [0.6, 0.1, 0.3],  # a: against, whatever the scale
             [0.2, 0.35, 0.45],  # b: none; scale 0.65 loses it (0.2925 < 0.35)
             [0.1, 0.7, 0.2],  # b: favor
             [0.9, 0.05, 0.05]]  # c: against, whatever the scale
    gold = ["favor", "none", "against", "none", "favor", "against"]
    targets = ["a", "a", "a", "b", "b", "c"]
    # F_avg per scale 0.35 / 0.65 / 1.0: a 0.833 / 1.0 / 0.5; b 0.333 / 0.333 / 0.5; c 0.5 everywhere
    assert choose_none_scales(proba, CLASSES, gold, targets, (0.35, 0.65, 1.0)) == {"a": 0.65, "b": 1.0, "c": 1.0}
    # ties go to the scale nearest 1 (|log 1.25| < |log 0.65|), then to the smaller one
    assert choose_none_scales(proba, CLASSES, gold, targets, (0.65, 1.25))["c"] == 1.25
    assert choose_none_scales(proba, CLASSES, gold, targets, (0.8, 1.25))["c"] == 0.8


@pytest.fixture(scope="module")
def fitted():
    frame = datasets.load("idlib", "train").groupby("target").head(120).reset_index(drop=True)
    cfg = ModelConfig.model_validate({"none_scale_per_target": True, "none_scale_grid": [0.35, 0.65, 1.0, 1.25],
                                      "char": None, "none_scale": 0.5})
    X, Y = model_input(frame), frame[["stance", "sentiment"]].astype(object)
    return frame, X, Y, build_pipeline(cfg, ("stance", "sentiment"), seed=3).fit(X, Y)


def test_scales_are_chosen_on_out_of_fold_probabilities_and_applied_per_row(fitted):
    from stancelab.splits import StratifiedGroupKFold

    frame, X, Y, model = fitted
    joint = model.named_steps["joint"]
    assert set(joint.none_scales_) == set(frame["target"]) and joint.scales_per_target
    # the same choice from out-of-fold probabilities computed here by hand
    normalised = model.named_steps["normalize"].transform(X)
    plain = clone(joint).set_params(none_scale=1.0, none_scale_per_target=False, sentiment=None)
    oof = np.zeros((len(X), 3))
    strata = (frame["target"] + "|" + frame["stance"]).to_numpy()
    splitter = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=3)
    for tr, te in splitter.split(normalised, strata, groups=normalised["text"].to_numpy(dtype=object)):
        oof[te] = clone(plain).fit(normalised.iloc[tr], Y.iloc[tr][["stance"]]).predict_proba(normalised.iloc[te])[0]
    assert joint.none_scales_ == choose_none_scales(oof, CLASSES, frame["stance"], frame["target"], (0.35, 0.65, 1.0, 1.25))
    assert len(set(joint.none_scales_.values())) > 1  # a per-target choice, not one scale

    # predictions: each row's stance probabilities with its target's scale on p(none), renormalised
    raw = joint.estimator_for("stance").predict_proba(normalised)
    factor = np.array([joint.none_scales_[t] for t in frame["target"]])
    expected = raw * np.where(np.arange(3) == 2, factor[:, None], 1.0)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(X)[0], expected, rtol=0, atol=1e-12)
    assert (model.predict(X)[:, 0] == np.array(CLASSES, dtype=object)[expected.argmax(axis=1)]).all()
    one = joint.scale_none([raw[0].copy(), np.ones(3) / 3], frame["target"].iloc[0])[0]  # one row, one target
    np.testing.assert_allclose(one, expected[0], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="targets"):
        joint.scale_none([raw, raw])


def test_per_target_threshold_model_saves_loads_and_is_compiled_bit_exact(fitted):
    from stancelab.prediction import Predictor

    frame, X, _, model = fitted
    loaded = skops.io.loads(skops.io.dumps(model), trusted=TRUSTED_TYPES)
    assert loaded.named_steps["joint"].none_scales_ == model.named_steps["joint"].none_scales_
    assert (loaded.predict(X) == model.predict(X)).all()
    predictor = Predictor(pipeline=loaded, model_uri="in-memory")
    assert predictor.compiled is not None  # the compiled model passes the rows' targets to scale_none
    expected = model.predict_proba(X)
    for e, g in zip(expected, predictor.compiled.predict_proba(X)):
        np.testing.assert_array_equal(g, e)
    for i, record in enumerate(X.head(30).to_dict("records")):
        for task, p in enumerate(predictor.compiled.predict_one(record["text"], record)[0]):
            np.testing.assert_array_equal(p, expected[task][i])
    records = predictor.predict_frame(predictor.frame(X.head(30).to_dict("records")), evidence=False)
    assert [r["stance"] for r in records] == list(model.predict(X.head(30))[:, 0])
