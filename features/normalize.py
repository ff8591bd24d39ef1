"""Text normalisation for Arabic and English stance data.

Every step is a switch so its value can be measured rather than assumed. The defaults are the
usual choices for Arabic social-media and news text (see the datasheet in ``data/README.md``).

``normalize_text`` is a plain function; ``TextNormalizer`` wraps it as a scikit-learn transformer
so the fitted pipeline scores raw text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

# Harakat (fathatan .. sukun), Quranic annotation marks and superscript (dagger) alef U+0670.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"
_ALEF_TABLE = str.maketrans({"\u0622": "\u0627", "\u0623": "\u0627", "\u0625": "\u0627", "\u0671": "\u0627"})
_YEH_TABLE = str.maketrans({"\u0649": "\u064a"})  # alef maqsura -> yeh
_TEH_MARBUTA_TABLE = str.maketrans({"\u0629": "\u0647"})  # teh marbuta -> heh
_DIGITS_TABLE = str.maketrans(
    {**{chr(0x0660 + i): str(i) for i in range(10)}, **{chr(0x06F0 + i): str(i) for i in range(10)}}
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_REPEAT = re.compile(r"(\w)\1{2,}")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class NormalizeSteps:
    """Which normalisation steps run. Field names are the config keys (``features.normalize.*``)."""

    urls: bool = True
    mentions: bool = True
    hashtags: bool = True
    diacritics: bool = True
    tatweel: bool = True
    alef: bool = True
    alef_maqsura: bool = True
    teh_marbuta: bool = True
    repeats: bool = True
    digits: bool = True
    lowercase: bool = True

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


def normalize_text(text: str, steps: NormalizeSteps = NormalizeSteps()) -> str:
    """Normalise one text. Deterministic, total on any ``str``, and idempotent.

    Written for speed (it runs once per quote on every prediction; see benchmarks/README.md): the
    letter and digit maps are one regex pass instead of one ``str.translate`` each (translate looks up
    every character of non-ASCII text in a dict), patterns that need a marker character only run when
    the marker is present, and elongation is searched for once before the exact rule runs.
    """
    return _normalizer(steps)(text)


def normalize_texts(texts, steps: NormalizeSteps = NormalizeSteps()) -> list[str]:
    """``normalize_text`` of each text (``str()`` of each value), with the per-call set-up done once."""
    return list(map(_normalizer(steps), map(str, texts)))


@lru_cache(maxsize=64)
def _normalizer(steps: NormalizeSteps):
    """The normaliser for these steps as one function, its switches and patterns bound once."""
    urls, mentions, hashtags, diacritics, tatweel = steps.urls, steps.mentions, steps.hashtags, steps.diacritics, \
        steps.tatweel
    lowercase, repeats = steps.lowercase, steps.repeats
    letters = _letter_map(steps.alef, steps.alef_maqsura, steps.teh_marbuta, steps.digits)
    url_sub, mention_sub, hashtag_sub, diacritic_sub = _URL.sub, _MENTION.sub, _HASHTAG.sub, _DIACRITICS.sub
    letter_sub, replace = (letters[0].sub, letters[1]) if letters is not None else (None, None)
    triple, repeat_subn = _TRIPLE.search, _REPEAT.subn

    def normalise(text: str) -> str:
        if urls and ("://" in text or "w." in text or "W." in text):
            text = url_sub(" ", text)
        if mentions and "@" in text:
            text = mention_sub(" ", text)
        if hashtags and "#" in text:
            text = hashtag_sub(_hashtag_words, text)
        if diacritics:
            text = diacritic_sub("", text)
        if tatweel:
            text = text.replace(_TATWEEL, "")
        if letter_sub is not None:
            text = letter_sub(replace, text)
        if lowercase:
            text = text.lower()
        if repeats and triple(text):
            # Elongation ("جمييييل", "soooo") -> two letters; keeps real doubled letters intact.
            # Runs until stable so the function is idempotent.
            while True:
                text, changed = repeat_subn(r"\1\1", text)
                if not changed:
                    break
        return " ".join(text.split())  # the same whitespace as re's \s (checked over all code points in tests)

    return normalise


_TRIPLE = re.compile(r"(?s)(.)\1\1")  # any character three times: a cheap necessary condition for _REPEAT


def _hashtag_words(match: re.Match) -> str:
    return " " + match.group(1).replace("_", " ") + " "


@lru_cache(maxsize=None)
def _letter_map(alef: bool, alef_maqsura: bool, teh_marbuta: bool, digits: bool):
    """One regex and replacement function for the enabled character maps. The maps are disjoint and
    none maps onto another's source, so one pass equals applying them one after the other."""
    table: dict[int, str] = {}
    for on, part in ((alef, _ALEF_TABLE), (alef_maqsura, _YEH_TABLE), (teh_marbuta, _TEH_MARBUTA_TABLE),
                     (digits, _DIGITS_TABLE)):
        if on:
            table.update(part)
    if not table:
        return None
    by_char = {chr(code): value for code, value in table.items()}
    pattern = re.compile("[" + "".join(re.escape(c) for c in by_char) + "]")
    return pattern, lambda match: by_char[match.group()]


class TextNormalizer(TransformerMixin, BaseEstimator):
    """Normalise the ``text`` column of a DataFrame (other columns pass through unchanged).

    ``steps`` maps step names of :class:`NormalizeSteps` to on/off; steps it omits keep their
    defaults, which live in :class:`NormalizeSteps` only.
    """

    def __init__(self, steps=None, column="text"):
        self.steps = steps
        self.column = column

    def normalize_steps(self) -> NormalizeSteps:
        """The steps as a :class:`NormalizeSteps`; a ValueError names unknown step names."""
        unknown = set(self.steps or {}) - set(NormalizeSteps.names())
        if unknown:
            raise ValueError(f"unknown normalisation step(s) {sorted(unknown)}; known: {NormalizeSteps.names()}")
        return NormalizeSteps(**{name: bool(value) for name, value in (self.steps or {}).items()})

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        steps = self.normalize_steps()
        if isinstance(X, pd.DataFrame):
            out = X.copy()
            out[self.column] = normalize_texts(X[self.column], steps)
            return out
        return np.asarray(normalize_texts(X, steps), dtype=object)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features if input_features is not None else [self.column], dtype=object)
