"""The model object: every classifier kind and target mode builds, fits, and round-trips through
skops with exactly the project's trusted-type list."""

from __future__ import annotations

import pytest
import skops.io

from stancelab.data import datasets
from stancelab.model.config import ModelConfig
from stancelab.model.pipeline import TRUSTED_TYPES, build_pipeline
from stancelab.training.train import model_input


@pytest.fixture(scope="module")
def small():
    frame = datasets.load("idlib", "train")
    return frame.groupby("target").head(120).reset_index(drop=True)


ENSEMBLE = {"members": [{"kind": "logreg"}, {"kind": "complement_nb", "alpha": 0.3}]}


# Ensembles only per target: that case already covers their types, and it keeps the suite lean.
CASES = [(k, m) for k in ("logreg", "linear_svc", "sgd", "complement_nb", "ridge", "nbsvm")
         for m in ("per_target", "pooled")] + [("voting", "per_target"), ("stacking", "per_target")]


@pytest.mark.parametrize(("kind", "target_mode"), CASES)
def test_every_classifier_round_trips_through_skops(small, kind, target_mode):
    cfg = ModelConfig.model_validate({"classifier": {"kind": kind, **(ENSEMBLE if kind in ("voting", "stacking") else {})},
                                      "target_mode": target_mode, "use_actor": True,
                                      "char": {"ngram_range": [2, 4], "min_df": 2}})
    X, Y = model_input(small), small[["stance", "sentiment"]]
    model = build_pipeline(cfg, ("stance", "sentiment"), seed=3).fit(X, Y)
    blob = skops.io.dumps(model)
    assert set(skops.io.get_untrusted_types(data=blob)) <= set(TRUSTED_TYPES)
    loaded = skops.io.loads(blob, trusted=TRUSTED_TYPES)
    assert (loaded.predict(X) == model.predict(X)).all()
    for a, b in zip(loaded.predict_proba(X), model.predict_proba(X)):
        assert (abs(a - b) < 1e-12).all()


def test_interaction_model_round_trips_and_names_its_target_blocks(small):
    cfg = ModelConfig.model_validate({"target_mode": "interact", "none_scale": 0.5, "char": None})
    X, Y = model_input(small), small[["stance", "sentiment"]]
    model = build_pipeline(cfg, ("stance", "sentiment"), seed=3).fit(X, Y)
    loaded = skops.io.loads(skops.io.dumps(model), trusted=TRUSTED_TYPES)
    assert (loaded.predict(X) == model.predict(X)).all()
    features = model.named_steps["joint"].estimator_for("stance").named_steps["features"]
    names = features.get_feature_names_out()
    targets = sorted(set(small["target"]))
    assert len(names) == (1 + len(targets)) * len(features.features_.get_feature_names_out())
    assert any(str(n).endswith(f"@{targets[0]}") for n in names)
    # a lower none_scale can only move predictions away from 'none'
    base = build_pipeline(cfg.model_copy(update={"none_scale": 1.0}), ("stance", "sentiment"), seed=3).fit(X, Y)
    assert (model.predict(X)[:, 0] == "none").sum() <= (base.predict(X)[:, 0] == "none").sum()


def test_compact_vectorizer_keeps_the_vocabulary(small):
    from features.tfidf import vectorizer

    fitted = vectorizer("char_wb", ngram_range=(2, 3)).fit(small["text"])
    restored = skops.io.loads(skops.io.dumps(fitted), trusted=TRUSTED_TYPES)
    assert restored.vocabulary_ == fitted.vocabulary_
    assert (restored.transform(small["text"]) != fitted.transform(small["text"])).nnz == 0


def test_joint_sentiment_and_target_mention_round_trip_and_explain(small, target_mode="per_target"):
    """Stance with out-of-fold sentiment probabilities and the target-mention indicator: one
    Pipeline, skops-loadable with the trusted list, and the fast single-quote path (which scores
    feature blocks one by one on raw text) agrees with the Pipeline and names the extra features."""
    import numpy as np

    from stancelab.estimators import SentimentProbabilities
    from stancelab.serving.predictor import Predictor

    cfg = ModelConfig.model_validate({"target_mode": target_mode, "sentiment_features": True, "target_mention": True,
                                      "target_aliases": {"nato_support_turkey": ["الناتو"]},
                                      "char": None, "word": {"min_df": 2}})
    X, Y = model_input(small), small[["stance", "sentiment"]]
    model = build_pipeline(cfg, ("stance", "sentiment"), seed=3).fit(X, Y)
    joint = model.named_steps["joint"]
    stance = joint.estimator_for("stance")
    member = next(iter(stance.estimators_.values())) if target_mode == "per_target" else stance
    features = member.named_steps["features"]
    names = list(features.get_feature_names_out())
    assert names[-4:] == ["mention__mentions_target", "sentiment__p_negative", "sentiment__p_neutral",
                          "sentiment__p_positive"]
    block = features.named_transformers_["sentiment"]
    assert isinstance(block, SentimentProbabilities)
    # the training rows saw out-of-fold probabilities, not the refit sentiment model's in-sample ones
    normalised = model.named_steps["normalize"].transform(X)
    in_sample = joint.estimator_for("sentiment").predict_proba(normalised)
    assert np.abs(np.asarray(block.oof) - in_sample).max() > 0.05
    mention = features.named_transformers_["mention"].transform(
        normalised.assign(text=["بيان الناتو اليوم"] + [""] * (len(X) - 1), target="nato_support_turkey"))
    assert mention.toarray()[0, 0] == 1 and mention.toarray()[1, 0] == 0

    loaded = skops.io.loads(skops.io.dumps(model), trusted=TRUSTED_TYPES)
    assert (loaded.predict(X) == model.predict(X)).all()
    predictor = Predictor(loaded, "test")
    rows = small.head(3)[["text", "target", "actor"]].to_dict("records")
    fast = predictor.predict(rows)  # block by block, one quote at a time
    assert [r["stance"] for r in fast] == list(model.predict(X.head(3))[:, 0])
    framed = predictor.predict_frame(predictor.frame(rows))
    for a, b in zip(fast, framed):
        assert a["stance_proba"] == b["stance_proba"]
        assert a["evidence"]["stance"] == b["evidence"]["stance"]
