"""Text normalisation for Arabic and English stance data.

Every step is a switch so its value can be measured rather than assumed. The defaults are the
usual choices for Arabic social-media and news text (see the datasheet in ``data/README.md``).

``normalize_text`` is a plain function; :class:`features.vectorizer.TextFeatures` applies it word by
word in front of the TF-IDF blocks, so the fitted model scores raw text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache


# Harakat (fathatan .. sukun), Quranic annotation marks and superscript (dagger) alef U+0670.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"
_ALEF_TABLE = str.maketrans({"\u0622": "\u0627", "\u0623": "\u0627", "\u0625": "\u0627", "\u0671": "\u0627"})
_YEH_TABLE = str.maketrans({"\u0649": "\u064a"})  # alef maqsura -> yeh
_TEH_MARBUTA_TABLE = str.maketrans({"\u0629": "\u0647"})  # teh marbuta -> heh
_DIGITS_TABLE = str.maketrans(
    {**{chr(0x0660 + i): str(i) for i in range(10)}, **{chr(0x06F0 + i): str(i) for i in range(10)}}
)
# What benchmark loaders strip, so a model scores a raw benchmark file as it was evaluated: SemEval-2016's
# " #SemST" marker (a whole word) and straight double quotes at word edges (ArSarcasm-v2's stray pair).
_MARKUP = re.compile(r'(?<!\S)#SemST(?!\S)|(?<!\S)"+|"+(?!\S)')
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_REPEAT = re.compile(r"(\w)\1{2,}")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class NormalizeSteps:
    """Which normalisation steps run. Field names are the config keys (``features.normalize.*``)."""

    markup: bool = True
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
    """``normalize_text`` of each text (``str()`` of each value), word by word.

    No step reaches across whitespace (every pattern stops at it, and the last step collapses it), so
    a text normalises as its whitespace-separated words do, joined by one space; each distinct word is
    normalised once and remembered (a bounded memory per setting of the steps). The same result as
    :func:`normalize_text` (a property test checks it on any text)."""
    memory, normalise = _memory(steps), _normalizer(steps)
    get = memory.get
    out = []
    for text in map(str, texts):
        words = text.split()
        found = [get(w) for w in words]
        if None in found:
            if len(memory) > _MEMORY_LIMIT:
                memory.clear()
            found = [normalise(w) if f is None else f for w, f in zip(words, found)]
            memory.update(zip(words, found))
        out.append(" ".join([f for f in found if f]))
    return out


_MEMORY_LIMIT = 1 << 18


@lru_cache(maxsize=64)
def _memory(steps: NormalizeSteps) -> dict[str, str]:
    return {}


def normaliser(steps: NormalizeSteps = NormalizeSteps()):
    """``normalize_text`` for these steps as a function of one text, its set-up done once."""
    return _normalizer(steps)


@lru_cache(maxsize=64)
def _normalizer(steps: NormalizeSteps):
    """The normaliser for these steps as one function, its switches and patterns bound once."""
    markup, markup_sub = steps.markup, _MARKUP.sub
    urls, mentions, hashtags, diacritics, tatweel = steps.urls, steps.mentions, steps.hashtags, steps.diacritics, \
        steps.tatweel
    lowercase, repeats = steps.lowercase, steps.repeats
    letters = _letter_map(steps.alef, steps.alef_maqsura, steps.teh_marbuta, steps.digits)
    url_sub, mention_sub, hashtag_sub, diacritic_sub = _URL.sub, _MENTION.sub, _HASHTAG.sub, _DIACRITICS.sub
    letter_sub, replace = (letters[0].sub, letters[1]) if letters is not None else (None, None)
    triple, repeat_subn = _TRIPLE.search, _REPEAT.subn

    def normalise(text: str) -> str:
        if "\x00" in text:  # never text; and numpy's strings (the vocabulary) cannot end with it
            text = text.replace("\x00", "")
        if markup and ('"' in text or "#SemST" in text):
            text = markup_sub(" ", text)
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
