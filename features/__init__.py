"""Feature extraction: text normalisation and the shared TF-IDF block (no side effects at import)."""

from features.normalize import NormalizeSteps, normaliser, normalize_text, normalize_texts
from features.vectorizer import TextFeatures, TfidfFeatures

__all__ = ["NormalizeSteps", "normaliser", "normalize_text", "normalize_texts", "TextFeatures", "TfidfFeatures"]
