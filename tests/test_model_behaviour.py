"""Behavioural tests (Made-With-ML style) on the model trained from the embedded corpus."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def model(trained):
    import predict

    return predict.load(tracking_uri=trained["uri"])


def stance(model, text, target, actor=""):
    return model.predict([{"text": text, "target": target, "actor": actor}], evidence=False)[0]


@pytest.mark.parametrize("text", [
    "دعا الأمين العام للأمم المتحدة إلى وقف فوري لإطلاق النار في إدلب والعودة إلى طاولة المفاوضات",
    "رحب وزير الخارجية بالاتفاق على وقف إطلاق النار في إدلب وأكد ضرورة الحل السياسي",
    "The UN chief called for an immediate ceasefire in Idlib and a return to political talks",
])
def test_minimum_functionality_clear_calls_for_ceasefire_are_favor(model, text):
    assert stance(model, text, "deescalation_idlib")["stance"] == "favor"


def test_directional_rejecting_a_truce_moves_away_from_favor(model):
    calm = stance(model, "رحب الوزير بوقف إطلاق النار في إدلب ودعا إلى الحوار", "deescalation_idlib")
    fight = stance(model, "رفض الوزير أي هدنة في إدلب وتوعد بمواصلة العمليات العسكرية حتى القضاء على الإرهاب",
                   "deescalation_idlib")
    assert fight["stance_proba"]["against"] > calm["stance_proba"]["against"]
    assert fight["stance_proba"]["favor"] < calm["stance_proba"]["favor"]


def test_directional_nato_backing(model):
    backing = stance(model, "طالب أردوغان حلفاء الناتو بتقديم الدعم لتركيا ونشر بطاريات باتريوت على حدودها",
                     "nato_support_turkey")
    rejecting = stance(model, "قال أسيلبورن إنه لا يحق لتركيا طلب دعم حلف الناتو وتفعيل المادة الخامسة",
                       "nato_support_turkey")
    assert backing["stance_proba"]["favor"] > rejecting["stance_proba"]["favor"]
    assert rejecting["stance_proba"]["against"] > backing["stance_proba"]["against"]


@pytest.mark.parametrize("variant", [
    "دَعَا الأمينُ العامُّ إلى وقفٍ فوريٍّ لإطلاقِ النارِ في إدلب",          # diacritics
    "دعا الأمين العام إلى وقف فوري لإطلاق النار في إدلب https://t.co/x",  # URL
    "دعا الأمين العام إلى وقف فوري لإطلاق النار في إدلب @UN",             # mention
    "دعا الأمين العام إلى وقـــف فوري لإطلاق النار في إدلب",              # tatweel
])
def test_invariance_to_surface_noise(model, variant):
    base = stance(model, "دعا الأمين العام إلى وقف فوري لإطلاق النار في إدلب", "deescalation_idlib")
    assert stance(model, variant, "deescalation_idlib")["stance_proba"] == base["stance_proba"]


def test_sentiment_direction(model):
    grief = stance(model, "أعرب الوزير عن حزنه العميق وإدانته الشديدة للهجوم الذي أودى بحياة الجنود", "turkish_operation_idlib")
    welcome = stance(model, "رحب الوزير بالاتفاق وأشاد بالجهود المبذولة وأعرب عن تفاؤله", "deescalation_idlib")
    assert grief["sentiment"] == "negative"
    assert welcome["sentiment_proba"]["positive"] > grief["sentiment_proba"]["positive"]


def test_predictions_are_deterministic_and_batch_invariant(model):
    records = [{"text": f"قال المتحدث إن الوضع في إدلب خطير رقم {i}", "target": "deescalation_idlib"} for i in range(5)]
    one_by_one = [model.predict([r], evidence=False)[0] for r in records]
    assert model.predict(records, evidence=False) == one_by_one
