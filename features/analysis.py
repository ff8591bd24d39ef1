"""Per-language analysis of the word TF-IDF block: light stemming and stop words (``model.word.stem``,
``model.word.stop_words``, ``model.word.language``), each a switch so its value is measured.

The language is the dataset's (``stancelab.datasets``: Mawqif ``ar``, SemEval-2016 ``en``, the
embedded corpus ``ar+en``) or set in the experiment; it is never guessed per text. ``ar+en`` picks the
stemmer per *word* by its script (a word with an Arabic letter: Arabic; any other: English), which is
a property of the word, not a guess about the text.

- Stemming: the Snowball stemmers (``snowballstemmer``: pure Python; its Arabic stemmer is the light
  one of Snowball 2.1, prefixes and suffixes, no roots). A stem is remembered per (stemmer, word), so a
  word is stemmed once per process whatever the number of texts, folds and models.
- Stop words: short lists of function words (articles, pronouns, prepositions, auxiliaries) that
  **keep negations, contrast and stance words** ("not", "no", "never", "against", "for", "but",
  "should"; "لا", "ليس", "لم", "لن", "ما", "غير", "ضد", "لكن", "مع"...): in stance detection those carry the
  label ("not in favour of", "ليس مع"). English is scikit-learn's list minus those and minus its few
  content words ("bill", "fire", "system", ...); Arabic is written here. Both are matched on the
  normalised text (the lists hold each word as written and as the default normaliser writes it).

:class:`WordAnalyzer` is the vectorizer's ``tokenizer``: the same tokens as the default word pattern,
then stop words dropped, then stems. Removing stop words before building n-grams means bigrams join the
words around a removed one, as scikit-learn's own ``stop_words`` does.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from itertools import compress, repeat
from operator import is_

LANGUAGES = ("ar", "en", "ar+en")

# Words of two or more letters or digits; keeps Arabic letters (\w is Unicode-aware).
WORD_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_TOKEN = re.compile(WORD_TOKEN_PATTERN)
_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff]")

# Kept out of the English list although scikit-learn's has them: negations, contrast, stance and
# modality words, quantifiers that carry judgement, and its content words.
_ENGLISH_KEEP = frozenset("""
no nor not never nothing none nobody noone neither nowhere cannot cant couldnt hasnt without against for
but however although though yet nevertheless otherwise rather except should must could would might may
will can all every everyone everything few less least more most much many only too very enough even
ever always indeed serious sincere bill fire system interest cry describe detail find found show call
move side fill full empty top bottom front back name part thick thin amount keep give put take see
""".split())

_ARABIC_STOP = """
في من الى إلى الي على علي عن حتى حتي منذ مذ عند لدى لدي بين خلال حول مثل بعد قبل فوق تحت امام أمام خلف
هو هي هم هما هن انا أنا نحن انت أنت انتم أنتم انتي أنتي انتن
هذا هذه هذي ذلك تلك ذاك هؤلاء هولاء اولئك أولئك هنا هناك
الذي التي الذين اللذين اللتين اللاتي اللواتي اللي
او أو ثم ام أم اذا إذا كما حيث عندما بينما
قد لقد ان إن أن انه إنه أنه انها إنها أنها كان كانت كانوا يكون تكون ايضا أيضا
به بها بهم له لها لهم لنا لي فيه فيها فيهم منه منها منهم عليه عليها عليهم عنه عنها
""".split()  # no negations (لا ليس لم لن ما غير مش مو), no contrast (لكن بل), no stance words (ضد مع)


@lru_cache(maxsize=None)
def stop_words(language: str) -> frozenset[str]:
    """The stop words of ``ar``, ``en`` or ``ar+en``, as written and as the default normaliser writes them."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from features.normalize import normalize_text

    words: set[str] = set()
    if "ar" in language.split("+"):
        words.update(_ARABIC_STOP)
    if "en" in language.split("+"):
        words.update(ENGLISH_STOP_WORDS - _ENGLISH_KEEP)
    return frozenset(words | {normalize_text(w) for w in words})


_STEMMERS: dict[str, object] = {}
_STEM_LOCK = threading.Lock()  # a Snowball stemmer object keeps its current word: one caller at a time


@lru_cache(maxsize=1 << 18)
def stem(algorithm: str, word: str) -> str:
    """``word`` stemmed by the Snowball stemmer ``algorithm`` (``arabic``, ``english``), remembered."""
    with _STEM_LOCK:
        stemmer = _STEMMERS.get(algorithm)
        if stemmer is None:
            import snowballstemmer

            stemmer = _STEMMERS[algorithm] = snowballstemmer.stemmer(algorithm)
        return stemmer.stemWord(word)


def _algorithm(language: str, word: str) -> str:
    if language == "ar+en":
        return "arabic" if _ARABIC_LETTER.search(word) else "english"
    return "arabic" if language == "ar" else "english"


DROPPED = " "  # what ``WordAnalyzer.finals`` gives a stop word: no token or stem has a space
FINALS_SIZE = 1 << 18  # tokens whose final form is remembered per setting (a few tens of MB at most)
_FINALS: dict[tuple, dict[str, str]] = {}  # (language, stem, stop_words) -> token -> final form


class WordAnalyzer:
    """The word block's tokenizer: default word tokens, minus ``stop_words``, stemmed if ``stem``.

    A plain callable with three settings (skops saves and loads it by its attributes; it is in
    ``stancelab.model.TRUSTED_TYPES``). Each token's final form (its stem, or dropped) is remembered
    per setting in this process, outside the object (so nothing of it is saved): one dict lookup per
    token instead of choosing a stemmer and a cached call per token, which was most of a batch's
    word analysis."""

    def __init__(self, language: str = "en", stem: bool = True, stop_words: bool = False):
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
        self.language = language
        self.stem = stem
        self.stop_words = stop_words

    def __call__(self, text: str) -> list[str]:
        tokens = self.finals(_TOKEN.findall(text))
        return [t for t in tokens if t != DROPPED] if self.stop_words else tokens

    def final(self, token: str) -> str:
        """The token as the block sees it: ``DROPPED`` if a stop word, else stemmed if ``stem``."""
        if self.stop_words and token in stop_words(self.language):
            return DROPPED
        return stem(_algorithm(self.language, token), token) if self.stem else token

    def finals(self, tokens: list[str]) -> list[str]:
        """``final`` of each of the default pattern's tokens (a batch's, or one text's), remembered."""
        key = (self.language, self.stem, self.stop_words)
        table = _FINALS.get(key)
        if table is None or len(table) > FINALS_SIZE:  # bounded: start afresh
            table = _FINALS[key] = {}
        out = list(map(table.get, tokens))
        if None in out:  # new tokens: found by C-level loops, worked out once each
            for token in set(compress(tokens, map(is_, out, repeat(None)))):
                table[token] = self.final(token)
            out = list(map(table.__getitem__, tokens))
        return out

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self):
        return hash((self.language, self.stem, self.stop_words))

    def __repr__(self):
        return f"WordAnalyzer(language={self.language!r}, stem={self.stem}, stop_words={self.stop_words})"
