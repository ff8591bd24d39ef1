"""Two-step selection: the sentiment classifier by its own CV metric, then stance by select_by."""

from __future__ import annotations

import pytest

from stancelab.config import ExperimentConfig, ModelConfig
from stancelab.errors import UserError
from stancelab.selection import choose


def _model(stance_c, sentiment_c):
    return ModelConfig.model_validate({"classifier": {"C": stance_c}, "sentiment_classifier": {"C": sentiment_c}})


def test_sentiment_classifier_first_then_stance_among_its_configurations():
    models = [_model(1, 1), _model(3, 1), _model(1, 10), _model(3, 10)]
    scores = [{"f_avg": 0.60, "sentiment_macro_f1": 0.50},
              {"f_avg": 0.70, "sentiment_macro_f1": 0.50},
              {"f_avg": 0.90, "sentiment_macro_f1": 0.40},   # best stance, but with the worse sentiment C
              {"f_avg": 0.65, "sentiment_macro_f1": 0.40}]
    assert choose(models, scores, "f_avg") == 2  # one metric: the plain argmax
    assert choose(models, scores, "f_avg", "sentiment_macro_f1") == 1  # sentiment C=1, then stance C=3


def test_without_a_sentiment_classifier_the_stance_classifier_is_shared():
    models = [ModelConfig.model_validate({"classifier": {"C": c}}) for c in (1, 3)]
    scores = [{"f_avg": 0.9, "sentiment_macro_f1": 0.1}, {"f_avg": 0.1, "sentiment_macro_f1": 0.9}]
    assert choose(models, scores, "f_avg", "sentiment_macro_f1") == 1


def test_the_sentiment_word_block_is_part_of_the_sentiment_model_chosen_first():
    stems = {"stem": True, "stop_words": True, "language": "ar"}
    models = [ModelConfig.model_validate({"classifier": {"C": c}, "sentiment_classifier": {"C": 1}, "sentiment_word": w})
              for w in (None, stems) for c in (1, 3)]
    scores = [{"f_avg": 0.70, "sentiment_macro_f1": 0.60}, {"f_avg": 0.72, "sentiment_macro_f1": 0.60},
              {"f_avg": 0.69, "sentiment_macro_f1": 0.62}, {"f_avg": 0.71, "sentiment_macro_f1": 0.62}]
    assert choose(models, scores, "f_avg", "sentiment_macro_f1") == 3  # stems for sentiment, then stance C=3
    assert choose(models, scores, "f_avg") == 1


@pytest.mark.parametrize(("patch", "message"), [
    ({"tasks": ["stance"], "cv": {"select_sentiment_by": "sentiment_macro_f1"}}, "needs the sentiment task"),
    ({"cv": {"select_by": "sentiment_macro_f1", "select_sentiment_by": "sentiment_macro_f1"}}, "stance metric"),
    ({"cv": {"select_sentiment_by": "f_avg"}}, "select_sentiment_by"),
    ({"tasks": ["stance"], "model": {"sentiment_features": True}}, "sentiment_features needs"),
    ({"model": {"target_aliases": {"covid": [" "]}}}, "non-empty"),
])
def test_selection_and_joint_settings_are_validated(patch, message):
    raw = {"experiment": "e", "model_name": "m", "dataset": {"name": "idlib"}, **patch}
    with pytest.raises(Exception) as info:
        ExperimentConfig.model_validate(raw)
    assert message in str(info.value)
    assert not isinstance(info.value, UserError)  # pydantic's error; load_config turns it into one line
