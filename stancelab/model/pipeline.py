"""Build the one scikit-learn Pipeline that is the model: raw text -> shared block (the normaliser, word
and char TF-IDF) -> a stance head per target and a sentiment head.

Input is a DataFrame with the columns ``text`` and ``target`` (``actor`` may be there and is not
read); ``predict`` returns one column per task (``stance``, then ``sentiment``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from features import TextFeatures
from stancelab.model.heads import SharedFeatureHeads

if TYPE_CHECKING:  # reading a model needs no config (pydantic)
    from stancelab.model.config import ClassifierConfig, ModelConfig

INPUT_COLUMNS = ("text", "target", "actor")

# Every type a saved model may contain. skops refuses to load anything else, whatever the model
# file itself claims (see stancelab.model.io.load_pipeline).
TRUSTED_TYPES = sorted({
    "features.vectorizer.TfidfFeatures",
    "features.vectorizer.TextFeatures",
    "stancelab.model.heads.SharedFeatureHeads",
    "sklearn.pipeline.Pipeline",
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.float64",
    "numpy.int64",
    "numpy.dtype",
})


def build_classifier(cfg: ClassifierConfig, seed: int) -> LogisticRegression:
    return LogisticRegression(C=cfg.C, class_weight=cfg.class_weight, max_iter=cfg.max_iter, random_state=seed)


def build_pipeline(cfg: ModelConfig, tasks=("stance", "sentiment"), seed: int = 13) -> Pipeline:
    """The model for one configuration."""
    features = TextFeatures(normalize=cfg.normalize.model_dump(), word=cfg.word.model_dump() if cfg.word else None,
                            char=cfg.char.model_dump() if cfg.char else None)
    sentiment = build_classifier(cfg.sentiment_classifier or cfg.classifier, seed) if "sentiment" in tasks else None
    stance = build_classifier(cfg.classifier, seed) if "stance" in tasks else None
    return Pipeline([
        ("heads", SharedFeatureHeads(features=features, stance=stance,
                                     sentiment=sentiment, none_scale=cfg.none_scale)),
    ])
