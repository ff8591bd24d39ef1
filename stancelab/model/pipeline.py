"""Build the one scikit-learn Pipeline that is the model: normalise -> shared features -> heads.

Input is a DataFrame with the columns ``text`` and ``target`` (``actor`` may be there and is not
read); ``predict`` returns one column per task (``stance``, then ``sentiment``).
"""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from features import TextNormalizer, build_features
from stancelab.model.config import ClassifierConfig, ModelConfig
from stancelab.model.heads import SharedFeatureHeads

INPUT_COLUMNS = ("text", "target", "actor")

# Every type a saved model may contain. skops refuses to load anything else, whatever the model
# file itself claims (see stancelab.model.io.load_pipeline).
TRUSTED_TYPES = sorted({
    "features.normalize.TextNormalizer",
    "features.vectorizer.TfidfFeatures",
    "stancelab.model.heads.SharedFeatureHeads",
    "sklearn.pipeline.Pipeline",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.float64",
    "numpy.int64",
    "numpy.dtype",
})


def build_classifier(cfg: ClassifierConfig, seed: int) -> LogisticRegression:
    return LogisticRegression(C=cfg.C, class_weight=cfg.class_weight, max_iter=cfg.max_iter, random_state=seed)


def build_pipeline(cfg: ModelConfig, tasks=("stance", "sentiment"), seed: int = 13) -> Pipeline:
    """The model for one configuration."""
    features = build_features(cfg.word.model_dump() if cfg.word else None, cfg.char.model_dump() if cfg.char else None)
    sentiment = build_classifier(cfg.sentiment_classifier or cfg.classifier, seed) if "sentiment" in tasks else None
    return Pipeline([
        ("normalize", TextNormalizer(steps=cfg.normalize.model_dump())),
        ("heads", SharedFeatureHeads(features=features, stance=build_classifier(cfg.classifier, seed),
                                     sentiment=sentiment, none_scale=cfg.none_scale)),
    ])
