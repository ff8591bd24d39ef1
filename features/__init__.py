"""Feature extraction: text normalisation and the shared TF-IDF block (no side effects at import)."""

from features.normalize import NormalizeSteps, TextNormalizer, normalize_text, normalize_texts
from features.vectorizer import TfidfFeatures, build_features

__all__ = ["NormalizeSteps", "TextNormalizer", "normalize_text", "normalize_texts", "TfidfFeatures",
           "build_features"]
