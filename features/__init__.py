"""Feature extraction: text normalisation and TF-IDF blocks (no side effects at import)."""

from features.normalize import NormalizeSteps, TextNormalizer, normalize_text
from features.tfidf import build_features, vocabulary_size

__all__ = ["NormalizeSteps", "TextNormalizer", "normalize_text", "build_features", "vocabulary_size"]
