"""target_mode 'augmented': Daumé III's feature augmentation with class weights balanced within each
target (stancelab/augmented.py) and a weight on the shared copy (features/interactions.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io
from pydantic import ValidationError
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from features.interactions import TargetInteraction
from stancelab import datasets
from stancelab.augmented import TargetBalancedPipeline, within_target_balanced_weights
from stancelab.compiled import compile_model
from stancelab.config import ModelConfig
from stancelab.model import TRUSTED_TYPES, build_pipeline
from stancelab.training import model_input

TINY = pd.DataFrame({"text": ["aa bb", "bb", "aa", "cc aa", "cc"], "target": ["t1", "t2", "t1", "t2", "t1"]})


def _counts():
    return ColumnTransformer([("w", CountVectorizer(dtype=np.float64), "text")])


def test_within_target_weights_known_answer():
    # t1: favor, favor, none -> n=3, k=2: favor 3/(2*2), none 3/(2*1); t2: one row per class -> 1 each
    w = within_target_balanced_weights(["t1", "t1", "t1", "t2", "t2"], ["favor", "favor", "none", "favor", "none"])
    assert np.allclose(w, [0.75, 0.75, 1.5, 1.0, 1.0])
    # each target keeps its total weight n_t
    assert np.isclose(w[:3].sum(), 3) and np.isclose(w[3:].sum(), 2)


def test_shared_scale_multiplies_only_the_shared_copy():
    fitted = TargetInteraction(_counts(), shared_scale=0.5).fit(TINY)
    out = fitted.transform(TINY).toarray()
    counts = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 0], [1, 0, 1], [0, 0, 1]], dtype=float)  # aa bb cc
    in_t1 = (TINY["target"] == "t1").to_numpy()[:, None]
    assert out.shape == (5, 9)
    assert np.array_equal(out, np.hstack([0.5 * counts, counts * in_t1, counts * ~in_t1]))
    names = list(fitted.get_feature_names_out())
    assert names[:3] == ["w__aa", "w__bb", "w__cc"] and names[3] == "w__aa@t1" and names[8] == "w__cc@t2"
    # a scikit-learn parameter: cloned and set like any other
    assert clone(fitted).get_params()["shared_scale"] == 0.5
    unscaled = TargetInteraction(_counts()).fit(TINY).transform(TINY).toarray()
    assert np.array_equal(unscaled[:, :3], counts) and np.array_equal(unscaled[:, 3:], out[:, 3:])


def test_balanced_pipeline_fits_the_classifier_with_within_target_weights():
    y = np.array(["favor", "none", "favor", "against", "none"], dtype=object)  # t1: favor, favor, none
    pipe = TargetBalancedPipeline([("features", TargetInteraction(_counts())), ("clf", LogisticRegression(C=10.0))])
    pipe.fit(TINY, y)
    X = TargetInteraction(_counts()).fit_transform(TINY)
    by_hand = LogisticRegression(C=10.0).fit(X, y, sample_weight=within_target_balanced_weights(TINY["target"], y))
    unweighted = LogisticRegression(C=10.0).fit(X, y)
    assert np.allclose(pipe.named_steps["clf"].coef_, by_hand.coef_)
    assert not np.allclose(by_hand.coef_, unweighted.coef_)  # the weights do change the fit
    assert isinstance(clone(pipe), TargetBalancedPipeline)


def test_augmented_model_round_trips_through_skops_and_compiles_bit_exact():
    frame = datasets.load("idlib", "train").groupby("target").head(80).reset_index(drop=True)
    cfg = ModelConfig.model_validate({"target_mode": "augmented", "shared_scale": 0.5, "char": None,
                                      "word": {"min_df": 2}, "sentiment_features": True})
    X, Y = model_input(frame), frame[["stance", "sentiment"]]
    model = build_pipeline(cfg, ("stance", "sentiment"), seed=3).fit(X, Y)
    stance = model.named_steps["joint"].estimator_for("stance")
    assert isinstance(stance, TargetBalancedPipeline)
    assert stance.named_steps["clf"].class_weight is None  # 'balanced' is applied within targets instead
    assert stance.named_steps["features"].shared_scale == 0.5
    blob = skops.io.dumps(model)
    assert set(skops.io.get_untrusted_types(data=blob)) <= set(TRUSTED_TYPES)
    loaded = skops.io.loads(blob, trusted=TRUSTED_TYPES)
    assert (loaded.predict(X) == model.predict(X)).all()
    compiled = compile_model(loaded)  # the shared copy x0.5 and within-target weights, bit for bit
    assert compiled is not None
    expected = loaded.predict_proba(X)
    for e, g in zip(expected, compiled.predict_proba(X)):
        np.testing.assert_array_equal(g, e)
    for i, record in enumerate(X.head(25).to_dict("records")):
        for task, g in enumerate(compiled.predict_one(record["text"], record)[0]):
            np.testing.assert_array_equal(g, expected[task][i])


def test_augmented_needs_a_classifier_that_takes_sample_weights():
    with pytest.raises(ValidationError, match="augmented"):
        ModelConfig.model_validate({"target_mode": "augmented", "classifier": {"kind": "nbsvm"}})
    with pytest.raises(ValidationError, match="shared_scale"):
        ModelConfig.model_validate({"target_mode": "augmented", "shared_scale": -1})
