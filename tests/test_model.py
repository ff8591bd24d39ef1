"""The model object: every classifier kind and target mode builds, fits, and round-trips through
skops with exactly the project's trusted-type list."""

from __future__ import annotations

import pytest
import skops.io

from stancelab import datasets
from stancelab.config import ModelConfig
from stancelab.model import TRUSTED_TYPES, build_pipeline
from stancelab.training import model_input


@pytest.fixture(scope="module")
def small():
    frame = datasets.load("idlib", "train")
    return frame.groupby("target").head(120).reset_index(drop=True)


@pytest.mark.parametrize("kind", ["logreg", "linear_svc", "sgd", "complement_nb"])
@pytest.mark.parametrize("target_mode", ["per_target", "pooled"])
def test_every_classifier_round_trips_through_skops(small, kind, target_mode):
    cfg = ModelConfig.model_validate({"classifier": {"kind": kind}, "target_mode": target_mode, "use_actor": True,
                                      "char": {"ngram_range": [2, 4], "min_df": 2}})
    X, Y = model_input(small), small[["stance", "sentiment"]]
    model = build_pipeline(cfg, ("stance", "sentiment"), seed=3).fit(X, Y)
    blob = skops.io.dumps(model)
    assert set(skops.io.get_untrusted_types(data=blob)) <= set(TRUSTED_TYPES)
    loaded = skops.io.loads(blob, trusted=TRUSTED_TYPES)
    assert (loaded.predict(X) == model.predict(X)).all()
    for a, b in zip(loaded.predict_proba(X), model.predict_proba(X)):
        assert (abs(a - b) < 1e-12).all()


def test_compact_vectorizer_keeps_the_vocabulary(small):
    from features.tfidf import vectorizer

    fitted = vectorizer("char_wb", ngram_range=(2, 3)).fit(small["text"])
    restored = skops.io.loads(skops.io.dumps(fitted), trusted=TRUSTED_TYPES)
    assert restored.vocabulary_ == fitted.vocabulary_
    assert (restored.transform(small["text"]) != fitted.transform(small["text"])).nnz == 0
