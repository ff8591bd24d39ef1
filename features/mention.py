"""Target-mention feature: does the text name its target?

A tweet that names the target ("the vaccine", "#HillaryClinton") is more often for or against it
than one that does not, whatever else it says; TF-IDF sees the words but not that they are *this
row's* target. :class:`TargetMention` adds one indicator column, 1 when the normalised text contains
one of the normalised names of the row's target (its id with ``_`` as spaces, plus the configured
aliases; substring match, so Arabic clitics like "وال" + name still count).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

from features.normalize import NormalizeSteps, normalize_text


class TargetMention(TransformerMixin, BaseEstimator):
    """``X`` has ``text`` and ``target`` columns; output is an ``(n, 1)`` sparse 0/1 column.

    The text is normalised again with ``steps`` (normalisation is idempotent), so the block gives
    the same answer on raw or already normalised text. Unknown targets only match their own id."""

    def __init__(self, aliases=None, steps=None):
        self.aliases = aliases
        self.steps = steps

    def _steps(self) -> NormalizeSteps:
        return NormalizeSteps(**{k: bool(v) for k, v in (self.steps or {}).items()})

    def _normalise(self, text: str) -> str:
        return normalize_text(str(text), self._steps())

    def mentions(self, normalised: str, target) -> bool:
        """Whether already normalised text names ``target`` (the compiled model calls this too)."""
        names = self.names_.get(str(target)) or self._names(target, [])
        return any(name in normalised for name in names)

    def _names(self, target: str, extra) -> list[str]:
        names = {self._normalise(str(target).replace("_", " "))}
        names.update(self._normalise(a) for a in extra)
        return sorted(n for n in names if n)

    def fit(self, X, y=None):
        self.names_ = {str(t): self._names(t, (self.aliases or {}).get(str(t), []))
                       for t in sorted(set(X["target"]) | set(self.aliases or {}))}
        return self

    def transform(self, X):
        steps = self._steps()
        values = np.zeros((len(X), 1), dtype=np.float32)
        for i, (text, target) in enumerate(zip(X["text"], X["target"])):
            values[i, 0] = self.mentions(normalize_text(str(text), steps), target)
        return sparse.csr_matrix(values)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(["mentions_target"], dtype=object)
