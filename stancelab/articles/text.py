"""Article text: cleaning, sentence segmentation, word folding and tokens.

1. **Cleaning** (:func:`clean_lines`): page boilerplate lines ("اظهر المزيد", "زر الذهاب إلى
   الأعلى", share buttons, "اقرأ أيضا: …", "Advertisement", "Back to top", …) are dropped; headlines
   (short lines without final punctuation) are kept as sentences.
2. **Segmentation** (:func:`split_sentences`): a line break always ends a sentence; inside a line a
   sentence ends at ``. ! ? ؟`` followed by a space, never inside “ ” « » or "…" quotes, never after
   an English abbreviation or initial. Commas (``,`` ``،``) never split: long comma-joined news
   sentences stay whole.

:func:`sentences` does both; :func:`read_article` reads an article file (one-line errors for empty,
non-UTF-8 or boilerplate-only files). The speaker rules are in :mod:`stancelab.articles.attribution`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from stancelab.errors import UserError

# --------------------------------------------------------------------------- folding

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u0640]")
_FOLD = str.maketrans({"\u0622": "\u0627", "\u0623": "\u0627", "\u0625": "\u0627", "\u0671": "\u0627",
                       "\u0649": "\u064a", "\u0629": "\u0647"})
_ARABIC = re.compile("[\u0600-\u06ff]")


def fold(word: str) -> str:
    """Matching key of a word: no diacritics/tatweel, one alef, ى->ي, ة->ه, lower case."""
    return _DIACRITICS.sub("", word).translate(_FOLD).casefold()


def is_arabic(sentence: str) -> bool:
    """Whether at least half of the sentence's letters are Arabic."""
    letters = re.findall(r"[^\W\d_]", sentence)
    return bool(letters) and sum(bool(_ARABIC.match(c)) for c in letters) * 2 >= len(letters)


# --------------------------------------------------------------------------- cleaning

_BOILERPLATE_AR = [
    r"[اأإ]ظهر المزيد", r"عرض المزيد", r"[اإ]قر[أا] المزيد", r"[اإ]قر[أا] [أا]يضا.*", r"زر الذهاب [إا]لى ال[أا]على",
    r"العودة [إا]لى ال[أا]على", r"ال[أا]على", r"شارك(?:وا)?(?: هذا الخبر| المقال| عبر.*| على.*)?", r"مشاركة(?: عبر.*)?",
    r"تابع(?:و)?نا على.*", r"مواضيع ذات صلة", r"[أا]خبار ذات صلة", r"مقالات ذات صلة", r"ال[أا]كثر قراءة",
    r"ال[أا]كثر مشاهدة", r"[أا]خر تحديث.*", r"تاريخ النشر.*", r"نشر في.*", r"[إا]علان", r"تعليقات?.*",
    r"جميع الحقوق محفوظة.*", r"اشترك.*النشرة.*", r"طباعة", r"[إا]رسال", r"نسخ الرابط", r"الرابط المختصر.*",
]
_BOILERPLATE_EN = [
    r"show more", r"read more.*", r"see more", r"load more", r"back to top", r"share(?: this| on| via).*", r"share",
    r"tweet", r"advertisement", r"ad", r"related(?: articles| stories| topics| content)?:?", r"most (?:read|popular)",
    r"last updated.*", r"published.*", r"updated.*", r"follow us.*", r"subscribe.*", r"sign up.*", r"copyright.*",
    r"all rights reserved.*", r"click here.*", r"comments?", r"print", r"email", r"copy link", r"skip to .*",
]
_SOCIAL = {"facebook", "twitter", "whatsapp", "telegram", "linkedin", "email", "print", "فيسبوك", "فيس", "بوك",
           "تويتر", "واتساب", "تلغرام", "تيليغرام", "لينكدإن", "انستغرام", "x"}


def _fold_letters(text: str) -> str:
    return _DIACRITICS.sub("", text).translate(_FOLD)


_BOILERPLATE = re.compile("(?:" + "|".join(map(_fold_letters, _BOILERPLATE_AR + _BOILERPLATE_EN)) + r")[\s:.!…]*",
                          re.IGNORECASE)


def is_boilerplate(line: str) -> bool:
    """A page-furniture line (buttons, share bars, "read also" links, update stamps)."""
    text = " ".join(line.split())
    if not text:
        return True
    words = re.findall(r"\w+", text)
    if not words:
        return True  # separators like "—" or "***"
    if len(words) <= 12 and _BOILERPLATE.fullmatch(_fold_letters(text)):
        return True
    return all(w.casefold() in _SOCIAL for w in words)


def clean_lines(text: str) -> list[str]:
    """Non-empty, non-boilerplate lines of an article, whitespace-trimmed, in order."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    return [line.strip() for line in text.split("\n") if line.strip() and not is_boilerplate(line)]


# --------------------------------------------------------------------------- segmentation

_OPEN_QUOTES = {"“": "”", "«": "»", "„": "“"}
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "maj", "capt", "sgt", "st", "jr", "sr",
                  "no", "vs", "etc", "inc", "ltd", "co", "corp", "gov", "sen", "rep", "u.s", "u.n", "u.k", "e.u",
                  "jan", "feb", "mar", "apr", "aug", "sep", "sept", "oct", "nov", "dec", "a.m", "p.m"}


def split_sentences(line: str) -> list[str]:
    """Sentences of one line: split after . ! ? ؟ (and closing quotes) + space, outside quotes."""
    out, start, stack, straight = [], 0, [], False
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in _OPEN_QUOTES and not (c == "“" and stack and stack[-1] == "“"):
            stack.append(_OPEN_QUOTES[c])
        elif stack and c == stack[-1]:
            stack.pop()
        elif c == '"':
            straight = not straight
        elif c in ".!?؟…" and not stack and not straight:
            j = i + 1
            while j < n and line[j] in ".!?؟…":
                j += 1
            while j < n and line[j] in "”»\")]":
                j += 1
            if j < n and line[j].isspace() and _ends_sentence(line, i, j):
                out.append(line[start:j].strip())
                start = j
            i = j
            continue
        i += 1
    tail = line[start:].strip()
    if tail:
        out.append(tail)
    return [s for s in out if s]


def _ends_sentence(line: str, i: int, j: int) -> bool:
    """Whether the stop at ``i`` (followed by space at ``j``) ends a sentence: not after an abbreviation
    or an initial, nor before a lower-case word or a digit. Looks only at the neighbouring characters, so
    a long line is split in linear time."""
    if line[i] != ".":
        return True
    start = i
    while start > 0 and _WORD_OR_DOT.match(line[start - 1]):  # the run of [\w.] that ends at i
        start -= 1
    word = line[start:i].casefold()
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha() and not _ARABIC.match(word)):
        return False
    while j < len(line) and line[j].isspace():
        j += 1
    after = line[j] if j < len(line) else ""
    return not (after and (after.islower() or after.isdigit()))


_WORD_OR_DOT = re.compile(r"[\w.]")


def sentences(text: str) -> list[str]:
    """The article's sentences after cleaning, in order (headlines included)."""
    return [s for line in clean_lines(text) for s in split_sentences(line)]


# --------------------------------------------------------------------------- tokens

_WORD = re.compile(r"(?:\w|[\u0610-\u061a\u064b-\u065f\u0670\u0640])+|[^\w\s\u0610-\u061a\u064b-\u065f\u0670\u0640]")


@dataclass(frozen=True)
class Token:
    """A word or punctuation mark: its text, folded key and character offsets in the sentence."""

    text: str
    key: str
    start: int
    end: int

    @property
    def is_word(self) -> bool:
        return self.key[:1].isalnum() or self.key[:1] == "_"


def tokenize(sentence: str) -> list[Token]:
    """Words and single punctuation marks of a sentence, with their folded keys and offsets."""
    return [Token(m.group(), fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(sentence)]


# --------------------------------------------------------------------------- reading

def read_article(path: Path | str) -> str:
    """An article file's text; an empty, unreadable or non-UTF-8 file is a one-line UserError."""
    from stancelab.data.records import read_text

    text = read_text(Path(path)).lstrip("\ufeff")
    if not text.strip():
        raise UserError(f"{path}: empty article, expected the article's text (UTF-8)")
    if "\x00" in text:
        raise UserError(f"{path}: contains NUL bytes: not a text file")
    if not sentences(text):
        raise UserError(f"{path}: no sentences left after removing page boilerplate")
    return text


def article_text(text_or_path) -> tuple[str, str]:
    """(text, source name) from article text or a path to an article file."""
    looks_like_path = isinstance(text_or_path, str) and "\n" not in text_or_path and len(text_or_path) < 1024 and (
        Path(text_or_path).is_file() or re.fullmatch(r"\S+\.(?:txt|text|md)", text_or_path.strip()) is not None)
    if isinstance(text_or_path, Path) or looks_like_path:
        return read_article(text_or_path), str(text_or_path)  # a missing file is an error, not a one-word article
    if not isinstance(text_or_path, str) or not text_or_path.strip():
        raise UserError("empty article: give the article's text or the path of a UTF-8 text file")
    if not sentences(text_or_path):
        raise UserError("article: no sentences left after removing page boilerplate")
    return text_or_path, "article"
