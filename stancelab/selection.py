"""Which configuration of a sweep wins, from its CV means (train split only).

Stance and sentiment are separate estimators inside one model, so they can be tuned on their own
metrics. With ``cv.select_sentiment_by`` the choice has two steps:

1. the sentiment classifier (``model.sentiment_classifier``, or the stance classifier when that is
   unset), with its own word block (``model.sentiment_word``) if it has one, of the configuration
   with the best sentiment score;
2. among the configurations that use that sentiment classifier, the best by ``cv.select_by``.

The winner is always a configuration that was cross-validated as a whole, so both of its CV
scores are measured, not assembled from two different runs. (With ``sentiment_features`` the
stance model depends on the sentiment classifier; step 2 only compares stance models built on the
chosen one.) Ties go to the first configuration.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stancelab.config import ModelConfig


def sentiment_classifier(model: ModelConfig):
    classifier = model.sentiment_classifier or model.classifier
    return classifier if model.sentiment_word is None else (classifier, model.sentiment_word)


def choose(models: Sequence[ModelConfig], cv_means: Sequence[dict[str, float]], select_by: str,
           select_sentiment_by: str | None = None) -> int:
    """Index of the winning configuration."""
    candidates = list(range(len(models)))
    if select_sentiment_by is not None:
        best_sentiment = candidates[int(np.argmax([cv_means[i][select_sentiment_by] for i in candidates]))]
        chosen = sentiment_classifier(models[best_sentiment])
        candidates = [i for i in candidates if sentiment_classifier(models[i]) == chosen]
    return candidates[int(np.argmax([cv_means[i][select_by] for i in candidates]))]
