"""The model object: one shared feature block, a stance head per target and a sentiment head; it
round-trips through skops with exactly the project's trusted-type list, and the public predict path
gives the Pipeline's own numbers for a batch, one quote and a reloaded model."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io

from stancelab.data import datasets
from stancelab.model.config import ModelConfig
from stancelab.model.io import skops_io
from stancelab.model.pipeline import TRUSTED_TYPES, build_pipeline
from stancelab.serving.predictor import Predictor
from stancelab.training.cv import model_input


@pytest.fixture(scope="module")
def small():
    frame = datasets.load("idlib", "train")
    return frame.groupby("target").head(120).reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted(small):
    cfg = ModelConfig.model_validate({"char": {"ngram_range": [2, 4], "min_df": 2}, "none_scale": 0.8})
    return build_pipeline(cfg, ("stance", "sentiment"), seed=3).fit(model_input(small), small[["stance", "sentiment"]])


def test_round_trips_through_skops_with_the_trusted_list_only(small, fitted):
    X = model_input(small)
    blob = skops.io.dumps(fitted)
    assert set(skops.io.get_untrusted_types(data=blob)) <= set(TRUSTED_TYPES)
    loaded = skops.io.loads(blob, trusted=TRUSTED_TYPES)
    assert (loaded.predict(X) == fitted.predict(X)).all()
    for a, b in zip(loaded.predict_proba(X), fitted.predict_proba(X)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_the_quote_is_featurised_once_for_every_head(small, fitted):
    heads = fitted.named_steps["heads"]
    assert len(heads.stance_heads_) == small["target"].nunique()
    width = len(heads.feature_names())
    assert all(h.coef_.shape[1] == width for h in [*heads.stance_heads_, heads.sentiment_head_])


def test_batch_one_quote_and_reloaded_model_agree(small, fitted):
    loaded = skops_io().loads(skops.io.dumps(fitted), trusted=TRUSTED_TYPES)
    batch = Predictor(fitted, "memory").predict(small.to_dict("records"))
    again = Predictor(loaded, "memory")
    proba = fitted.predict_proba(model_input(small))
    for i, row in enumerate(small.to_dict("records")):
        one = again.predict([row])[0]
        assert one["stance"] == batch[i]["stance"] and one["sentiment"] == batch[i]["sentiment"]
        assert one["evidence"] == batch[i]["evidence"]
        classes = [str(c) for c in fitted.named_steps["heads"].classes_[0]]
        assert abs(one["stance_proba"][classes[0]] - round(proba[0][i, 0], 4)) < 1e-9


def test_evidence_is_the_scored_row_times_the_class_weight(small, fitted):
    heads = fitted.named_steps["heads"]
    model = Predictor(fitted, "memory")
    row = small.iloc[0]
    result = model.predict([row.to_dict()])[0]
    x = heads.featurize(small["text"].head(1))
    head = heads.head("stance", row["target"])
    classes = list(head.classes_)
    w = head.coef_[classes.index(result["stance"])] - head.coef_.mean(axis=0)
    contributions = x.toarray()[0] * w
    expected = sorted(contributions[contributions > 0], reverse=True)[:5]
    assert [e["weight"] for e in result["evidence"]["stance"]] == [round(v, 4) for v in expected]
    names = heads.feature_names()
    assert {f"{e['kind']}__{e['ngram']}" for e in result["evidence"]["stance"]} <= {str(n).strip() for n in names} | \
        {f"{str(n).partition('__')[0]}__{str(n).partition('__')[2].strip()}" for n in names}


def test_a_target_with_one_stance_label_is_refused(small):
    one = small.assign(stance=np.where(small["target"] == small["target"].iloc[0], "favor", small["stance"]))
    with pytest.raises(ValueError, match="one stance label"):
        build_pipeline(ModelConfig(), ("stance",)).fit(model_input(one), one[["stance"]])


def test_unknown_target_is_named(fitted, small):
    with pytest.raises(ValueError, match="unknown target"):
        fitted.predict(model_input(small.head(1)).assign(target="nope"))


def test_top_per_row_equals_a_full_sort():
    from stancelab.model.heads import top_per_row

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 40, size=200)
    rows = np.repeat(np.arange(200), lengths)
    values = rng.integers(1, 6, size=len(rows)).astype(float)  # many ties: broken by column
    columns = rng.permutation(len(rows)).astype(np.int32)  # unique within a row, in no order; CSR's dtype
    expected = np.lexsort((columns, -values, rows))
    expected = expected[np.arange(len(expected)) - np.searchsorted(rows[expected], rows[expected]) < 5]
    assert top_per_row(rows, values, columns, 5).tolist() == expected.tolist()
