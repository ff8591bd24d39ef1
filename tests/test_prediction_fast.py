"""One quote through ``Predictor.predict`` takes a fast path (the fitted steps called directly);
it must answer exactly what the Pipeline's batch path answers, evidence included."""

from __future__ import annotations

import pytest

from stancelab import datasets
from stancelab.config import ModelConfig
from stancelab.model import build_pipeline
from stancelab.prediction import FAST_PATH_ROWS, Predictor
from stancelab.training import model_input

RECORDS = [
    {"text": "دعا لافروف إلى وقف فوري لإطلاق النار في إدلب", "target": "deescalation_idlib", "actor": "Lavrov"},
    {"text": "Asselborn said Turkey has no right to ask NATO for Article 5", "target": "nato_support_turkey"},
    {"text": "قال أسيلبورن إنه لا يحق لتركيا طلب تفعيل المادة الخامسة", "target": "دعم الناتو لتركيا",
     "actor": "Asselborn"},
    {"text": "#Idlib ceasefire NOW!!! @UN https://x.y/z", "target": "Deescalation Idlib", "actor": "Unknown Person"},
]


def _assert_fast_equals_batch(predictor: Predictor):
    batch = predictor.predict_frame(predictor.frame(RECORDS))
    assert len(RECORDS) > FAST_PATH_ROWS - 1
    for record, expected in zip(RECORDS, batch):
        assert predictor.predict([record]) == [expected]
    assert predictor.predict(RECORDS * 3) == batch * 3  # the batch path, for more rows


def test_fast_single_quote_path_equals_the_pipeline(trained):
    import predict

    _assert_fast_equals_batch(predict.load(trained["result"].model_uri, trained["uri"]))


@pytest.mark.parametrize("target_mode", ["pooled", "per_target"])
def test_fast_path_with_target_and_actor_blocks(target_mode):
    frame = datasets.load("idlib", "train").groupby("target").head(80).reset_index(drop=True)
    cfg = ModelConfig.model_validate({"target_mode": target_mode, "use_actor": True,
                                      "char": {"ngram_range": [2, 4]}, "classifier": {"kind": "sgd"}})
    pipeline = build_pipeline(cfg, ("stance", "sentiment"), seed=3).fit(model_input(frame),
                                                                        frame[["stance", "sentiment"]])
    metadata = {"targets": datasets.target_names("idlib", frame)}
    _assert_fast_equals_batch(Predictor(pipeline=pipeline, model_uri="in-memory", metadata=metadata))
