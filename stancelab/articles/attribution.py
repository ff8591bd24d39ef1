"""From a news article to who said what: cleaning, sentence segmentation and speaker attribution.

``attribute(text, actors)`` returns one :class:`Attribution` per sentence, in article order:

1. **Cleaning** (:func:`clean_lines`): page boilerplate lines ("اظهر المزيد", "زر الذهاب إلى
   الأعلى", share buttons, "اقرأ أيضا: …", "Advertisement", "Back to top", …) are dropped; headlines
   (short lines without final punctuation) are kept as sentences.
2. **Segmentation** (:func:`split_sentences`): a line break always ends a sentence; inside a line a
   sentence ends at ``. ! ? ؟`` followed by a space, never inside “ ” « » or "…" quotes, never after
   an English abbreviation or initial. Commas (``,`` ``،``) never split: long comma-joined news
   sentences stay whole.
3. **Attribution** (:func:`attribute`), per sentence:
   - reported speech ``… حسبما أعلن X`` / ``وفق ما قال X`` / ``according to X``: X speaks;
   - headline form ``X: quote``;
   - a reporting verb (قال، أعلن، أكد، أشار، أضاف، شدد، أعرب، كشف، حذر، دعا، اعتبر، رحب، نفى …, with
     feminine/plural and present forms and و/ف prefixes; said, told, announced, added, warned …):
     the speaker is the noun phrase after the verb in Arabic (``قال وزير الخارجية سيرغي لافروف إن``),
     before it for ``كان X قد أعلن`` / ``أما X فقد رفض`` / English ``X said``, or after an English
     quote (``“…,” said X``);
   - a verb without a subject (``وأضاف أن``، ``وتابع:``، ``he told``) or a role anaphor
     (``الوزير``، ``الوزير الروسي``، ``the minister``) carries the speaker over: the role's words are
     matched against the actors' role aliases, preferring the actor last quoted, then last mentioned;
   - an actor only *mentioned* (object of the verb, or in narration) is not the speaker; no
     reporting structure -> no speaker (``actor`` None).

With an actors file the actor is the canonical id of the matching alias; a speaker that matches no
actor (an institution, an unlisted official) keeps its ``speaker_span`` with ``actor`` None.
Without an actors file the speaker span itself is the actor id, and a shorter later span
(``بيسكوف``) joins the earlier span that contains it (``الناطق باسم الكرملين دميتري بيسكوف``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from stancelab.articles.actors import Actors
from stancelab.errors import UserError

# --------------------------------------------------------------------------- folding

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u0640]")
_FOLD = str.maketrans({"\u0622": "\u0627", "\u0623": "\u0627", "\u0625": "\u0627", "\u0671": "\u0627",
                       "\u0649": "\u064a", "\u0629": "\u0647"})
_ARABIC = re.compile("[\u0600-\u06ff]")


def fold(word: str) -> str:
    """Matching key of a word: no diacritics/tatweel, one alef, ى->ي, ة->ه, lower case."""
    return _DIACRITICS.sub("", word).translate(_FOLD).casefold()


def _folds(words) -> set[str]:
    return {fold(w) for w in words}


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
    if line[i] != ".":
        return True
    before = re.search(r"([\w.]+)$", line[:i])
    word = before.group(1).casefold() if before else ""
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha() and not _ARABIC.match(word)):
        return False
    after = line[j:].lstrip()
    return not (after and (after[0].islower() or after[0].isdigit()))


def sentences(text: str) -> list[str]:
    """The article's sentences after cleaning, in order (headlines included)."""
    return [s for line in clean_lines(text) for s in split_sentences(line)]


# --------------------------------------------------------------------------- lexicon

def _arabic_verbs(*stems: str) -> set[str]:
    """Past stems with their feminine and plural forms (قال -> قالت، قالوا)."""
    out = set()
    for stem in stems:
        base = fold(stem)
        if base.endswith("ي") or base.endswith("ا"):  # نفى، دعا، رأى، أبدى
            root = base[:-1]
            out |= {base, root + "ت", root + "وا", base + "ت"}
        else:
            out |= {base, base + "ت", base + "وا"}
    return out


_AR_PAST = _arabic_verbs(
    "قال", "أعلن", "أكد", "أشار", "أضاف", "شدد", "أعرب", "كشف", "حذر", "دعا", "اعتبر", "رحب", "نفى", "انتقد", "رأى",
    "أوضح", "تابع", "أفاد", "صرح", "ذكر", "لفت", "اتهم", "طالب", "أبدى", "أشاد", "دان", "أدان", "شكر", "رفض",
    "أبلغ", "ختم", "أردف", "استطرد", "وصف", "أقر", "حث", "جدد", "تعهد", "توعد", "هدد", "اقترح", "زعم", "شكك",
    "علق", "نوه", "أعربت", "استبعد", "استنكر", "ندد", "أيد", "عارض", "تساءل", "أوضحت",
    "نبه", "أفصح", "أقرت", "أكدت", "رد",
)
_AR_PRESENT = {fold(p + s) for s in (
    "قول", "ؤكد", "علن", "حذر", "دعو", "تهم", "رفض", "نفي", "رحب", "نتقد", "طالب", "عتبر", "رى", "شدد", "كشف",
    "هدد", "توعد", "دين", "شيد", "عرب", "ضيف", "وضح", "صرح", "ستبعد", "ندد", "قر", "تعهد", "نفي", "حث",
    "جدد", "تهم", "ستنكر", "عد", "نبه", "رد") for p in ("ي", "ت")}
_AR_VERBS = _AR_PAST | _AR_PRESENT
_AR_COMPLEMENTIZERS = {fold(w) for w in (
    "أن", "إن", "بأن", "أنه", "إنه", "أنها", "إنها", "أنهم", "إنهم", "بأنه", "بأنها", "بأنهم", "لأن", "أنّ", "إنّ",
    "أنهما", "إنهما", "انهما")}
_AR_PREPOSITIONS = {fold(w) for w in (
    "في", "خلال", "أمام", "عن", "من", "على", "إلى", "مع", "عبر", "لدى", "بعد", "قبل", "أثناء", "اليوم", "أمس",
    "يوم", "مساء", "صباح", "الخميس", "الجمعة", "السبت", "الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "بالقول",
    "قائلا", "قائلة", "بأنه", "ب", "ل", "حديثه", "كلمته", "تصريحاته", "تصريحات", "كذلك", "أيضا")}
_AR_STARTERS = {fold(w) for w in (
    "كما", "ثم", "حيث", "فيما", "بينما", "إذ", "وإذ", "قد", "وقد", "فقد", "لقد", "بدوره", "بدورها", "جهته", "جهتها",
    "جانبه", "جانبها", "المقابل", "وكان", "وكانت", "كان", "كانت", "ولكن", "لكن", "فيما", "كذلك", "أيضا", "بدورهم",
    "جهتهم", "جانبهم", "بالمقابل", "وبدوره", "وبدورها", "ذلك", "وفي", "في", "أمس", "اليوم")}
_AR_REPORTED = [[fold(w) for w in p.split()] for p in (
    "حسبما", "حسب ما", "بحسب ما", "وفق ما", "وفقا لما", "طبقا لما", "على ما", "وفقما", "بحسبما", "وفق")]
_AR_ROLE_NOUNS = {fold(w) for w in (
    "وزير", "وزيرة", "رئيس", "رئيسة", "متحدث", "متحدثة", "ناطق", "ناطقة", "مسؤول", "مسؤولة", "مبعوث", "مبعوثة",
    "أمين", "مستشار", "مستشارة", "سفير", "سفيرة", "مندوب", "مندوبة", "منسق", "منسقة", "مفوض", "مفوضة", "زعيم",
    "قائد", "مدير", "مديرة", "نائب", "ممثل", "ممثلة", "وكيل", "سيد", "دبلوماسي", "جنرال", "عاهل", "ملك", "أمير",
    "مستشارة")}
_EN_VERBS = {
    "said", "says", "told", "tells", "announced", "added", "warned", "stressed", "noted", "urged", "accused", "denied",
    "insisted", "argued", "explained", "stated", "declared", "claimed", "confirmed", "welcomed", "criticised",
    "criticized", "condemned", "pledged", "vowed", "suggested", "wrote", "tweeted", "replied", "continued",
    "acknowledged", "admitted", "rejected", "praised", "called", "asked", "emphasised", "emphasized", "reiterated",
    "expressed", "blamed", "threatened", "dismissed", "underlined", "recalled", "cautioned", "concluded",
    "warns", "urges", "calls", "rejects", "denies", "thanked", "disclosed", "described",
    "voiced", "proposed", "appealed", "informed", "welcomes", "revealed", "predicted", "complained", "conceded",
    "responded", "commented", "observed", "maintained", "signalled", "signaled", "assured", "promised", "hailed",
}
_EN_AUX = {"has", "have", "had", "also", "again", "later", "then", "earlier", "previously", "repeatedly", "once",
           "publicly", "separately", "however", "would", "will", "on", "monday", "tuesday", "wednesday",
           "thursday", "friday", "saturday", "sunday", "yesterday", "today"}
_EN_PRONOUNS = {"he", "she", "they", "it"}
_EN_ROLE_NOUNS = {"minister", "president", "spokesman", "spokeswoman", "spokesperson", "secretary", "chief",
                  "envoy", "ambassador", "official", "chancellor", "premier", "leader", "commissioner",
                  "director", "head", "general", "coordinator", "representative", "prime"}
_EN_BOUNDARY = {"that", ",", ";", ":", "”", "“", "\"", "«", "»", "(", ")", "and", "but", "while", "as", "because",
                "meanwhile", "however"}
_AR_WINDOW_STOP = {fold(w) for w in (":", "“", "«", '"', ".", "؟", "الذي", "التي", "الذين", "اللذين", "بما", "بأنها")}
_AR_NEGATIONS = {fold(w) for w in ("لم", "لن", "لا", "ما", "ولم", "ولن", "ولا", "فلم", "قد", "سوف", "وقد")}
_AR_CONDITIONAL_VERBS = {fold(verb + ending): fold(cue) for verb, cue in (
    ("عبر", "عن"), ("حمل", "مسؤولية"), ("ثمن", ""), ("سخر", "من"), ("قدم", "تعازيه")) for ending in ("", "ت")}
_AR_CONDITIONAL_VERBS |= {fold(v): fold("على") for v in ("أثنى", "أثنت")}
_QUOTE_TOKENS = {"“", "”", "«", "»", '"', "„"}


# --------------------------------------------------------------------------- tokens

_WORD = re.compile(r"(?:\w|[\u0610-\u061a\u064b-\u065f\u0670\u0640])+|[^\w\s\u0610-\u061a\u064b-\u065f\u0670\u0640]")


@dataclass(frozen=True)
class _Token:
    text: str
    key: str
    start: int
    end: int

    @property
    def is_word(self) -> bool:
        return self.key[:1].isalnum() or self.key[:1] == "_"


def _tokens(sentence: str) -> list[_Token]:
    return [_Token(m.group(), fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(sentence)]


def _strip_clitic(key: str, choices: set[str]) -> str | None:
    """``key`` or ``key`` without a leading و/ف (وأضاف -> اضاف) if that is in ``choices``."""
    if key in choices:
        return key
    for prefix in ("و", "ف"):
        if key.startswith(prefix) and key[len(prefix):] in choices:
            return key[len(prefix):]
    return None


_CLITICS = ("و", "ف", "ب", "ل", "ك", "وب", "ول", "فب", "فل", "وك")


def _deprefix(key: str) -> str:
    """Without the article or a particle + article: الروسي، للجامعة، بالحلف -> روسي، جامعه، حلف."""
    for prefix in ("ال", "لل", "بال", "وال", "فال", "كال"):
        if key.startswith(prefix) and len(key) > len(prefix) + 2:
            return key[len(prefix):]
    return key


# --------------------------------------------------------------------------- matching actors

class _Lexicon:
    """Alias token sequences -> actor ids, and role-word sets for anaphors."""

    def __init__(self, actors: Actors | None):
        self.actors = actors
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self.role_words: dict[str, list[set[str]]] = {}
        if actors is None:
            return
        for actor, aliases in actors.aliases.items():
            for alias in aliases:
                keys = tuple(t.key for t in _tokens(alias))
                if not keys or not _tokens(alias)[0].is_word:
                    continue
                self.by_first.setdefault(keys[0], []).append((keys, actor))
                self.role_words.setdefault(actor, []).append({_deprefix(k) for k in keys if k[:1].isalnum()})
        for entries in self.by_first.values():
            entries.sort(key=lambda e: -len(e[0]))

    def matches(self, tokens: list[_Token], lo: int = 0, hi: int | None = None) -> list[tuple[int, int, list[str]]]:
        """Alias occurrences (start, end, actor ids) in tokens[lo:hi], longest first at each start."""
        hi = len(tokens) if hi is None else hi
        found, i = [], lo
        while i < hi:
            hit = self._match_at(tokens, i, hi)
            if hit:
                found.append(hit)
                i = hit[1]
            else:
                i += 1
        return found

    def _match_at(self, tokens, i, hi):
        key = tokens[i].key
        candidates = [(key, "")] + [(key[len(p):], p) for p in _CLITICS if key.startswith(p) and len(key) > len(p) + 2]
        for first, _ in candidates:
            for keys, _actor in self.by_first.get(first, ()):
                n = len(keys)
                if i + n <= hi and all(tokens[i + k].key == keys[k] for k in range(1, n)):
                    actors = sorted({a for ks, a in self.by_first[first] if ks == keys})
                    return (i, i + n, actors)
        return None

    def role_candidates(self, words: list[str]) -> list[str]:
        """Actors one of whose aliases contains all ``words`` (ال stripped): الوزير الروسي -> Lavrov."""
        wanted = {_deprefix(w) for w in words}
        if not wanted:
            return []
        return [a for a, sets in self.role_words.items() if any(wanted <= s for s in sets)]


# --------------------------------------------------------------------------- attribution

@dataclass
class Attribution:
    """One sentence of an article and its speaker."""

    index: int                 # 0-based position in the article
    sentence: str
    actor: str | None          # canonical id (or the speaker span without an actors file); None: nobody quoted
    speaker_span: str | None   # the words that named the speaker ("he", "وأضاف" for carry-over)
    rule: str                  # which rule decided: headline, verb, reported, carry-over, role, none

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Speaker:
    actor: str | None
    span: str | None
    rule: str
    explicit: bool = False  # named by an alias (not an anaphor or an unknown name)


class _State:
    def __init__(self, lexicon: _Lexicon):
        self.lexicon = lexicon
        self.last: _Speaker | None = None      # last sentence with a speaker
        self.recent: list[str] = []            # actors, most recently quoted or mentioned last
        self.spoken: list[str] = []            # actors quoted, most recent last
        self.spans: list[tuple[set[str], str]] = []  # without an actors file: span words -> id

    def touch(self, actor: str, spoke: bool) -> None:
        for seq in (self.recent, self.spoken) if spoke else (self.recent,):
            if actor in seq:
                seq.remove(actor)
            seq.append(actor)

    def pick(self, candidates: list[str]) -> str | None:
        """Among candidate actors: the last quoted, else the last mentioned, else the only one."""
        if not candidates:
            return None
        if self.last and self.last.actor in candidates:
            return self.last.actor
        for seq in (self.spoken, self.recent):
            for actor in reversed(seq):
                if actor in candidates:
                    return actor
        return candidates[0] if len(candidates) == 1 else None


def _span(sentence: str, tokens: list[_Token], lo: int, hi: int) -> str:
    words = [t for t in tokens[lo:hi]]
    while words and not words[-1].is_word:
        words.pop()
    while words and not words[0].is_word:
        words.pop(0)
    return sentence[words[0].start:words[-1].end] if words else ""


def _is_arabic(sentence: str) -> bool:
    letters = re.findall(r"[^\W\d_]", sentence)
    return bool(letters) and sum(bool(_ARABIC.match(c)) for c in letters) * 2 >= len(letters)


class _Attributor:
    def __init__(self, actors: Actors | None):
        self.lexicon = _Lexicon(actors)
        self.with_actors = actors is not None
        self._future: _State | None = None  # a first pass over the article: who speaks in it

    # ---------------------------------------------------------------- resolving a noun phrase
    def resolve_np(self, sentence, tokens, lo, hi, state, rule) -> _Speaker | None:
        """Speaker named by tokens[lo:hi]: an alias, a role anaphor, a pronoun, or an unknown name."""
        if hi <= lo:
            return None
        if self.with_actors:
            hits = self.lexicon.matches(tokens, lo, hi)
            if hits:
                start, end, actors = hits[0]
                actor = actors[0] if len(actors) == 1 else state.pick(actors)
                return _Speaker(actor, _span(sentence, tokens, start, end), rule, explicit=True)
        words = [t for t in tokens[lo:hi] if t.is_word]
        if not words:
            return None
        head = words[0].key
        if head in _EN_PRONOUNS or head in {"هو", "هي"}:
            return self.carry(words[0].text, state)
        role = self.role_phrase(words)
        if role:
            return self.resolve_role(role, sentence, tokens, state, rule)
        span = _span(sentence, tokens, lo, hi)
        if not self.with_actors:
            return _Speaker(self.span_actor(span, state), span, rule)
        return _Speaker(None, span, rule)

    def role_phrase(self, words: list[_Token]) -> list[_Token]:
        """``الوزير الروسي`` / ``the minister`` / ``the Russian minister``: a definite title without a name."""
        head = words[0].key
        if _deprefix(head) in _AR_ROLE_NOUNS:
            definite = head.startswith("ال")
            phrase = [words[0]]
            for w in words[1:]:
                if (w.key.startswith("ال") and (not definite or w.key.endswith(("ي", "يه")) or w.key in ("العام", "الخاص"))) \
                        or (w.key.startswith("لل") and len(phrase) >= 2):
                    phrase.append(w)  # الوزير الروسي، الأمين العام للناتو، وزير الخارجية
                else:
                    break
            if not definite and len(phrase) == 1:
                return []
            following = words[len(phrase)] if len(phrase) < len(words) else None
            if following is None or following.key.startswith("ال") or following.key in _AR_PREPOSITIONS:
                return phrase  # the title is the whole subject (what follows is the object)
            return []  # a title that goes on (الناطق باسم الكرملين دميتري بيسكوف) is a name, not an anaphor
        if head == "the" and len(words) > 1:
            phrase = [words[0]]
            for w in words[1:]:
                phrase.append(w)
                if w.key in _EN_ROLE_NOUNS:
                    return phrase if len(phrase) == len(words) else []
                if len(phrase) > 4:
                    break
        return []

    def resolve_role(self, role, sentence, tokens, state, rule) -> _Speaker:
        span = sentence[role[0].start:role[-1].end]
        words = [w.key for w in role if w.key != "the"]
        if self.with_actors:
            candidates = self.lexicon.role_candidates(words)
            if candidates:
                return _Speaker(state.pick(candidates), span, "role")
            # a title no alias names ("المسؤول الأممي") refers back to the last speaker
            last = state.last.actor if state.last else None
            return _Speaker(last, span, "role")
        last = state.last.actor if state.last else None
        return _Speaker(last, span, "role")

    def carry(self, span: str, state) -> _Speaker:
        last = state.last
        return _Speaker(last.actor if last else None, span, "carry-over")

    def span_actor(self, span: str, state) -> str:
        names = [t.key for t in _tokens(span) if t.is_word]
        words = {_deprefix(w) for w in names}
        for known, actor in reversed(state.spans):
            last = [t.key for t in _tokens(actor) if t.is_word][-1]
            if words and (words <= known or (names and names[-1] == last)):
                return actor  # "بيسكوف" after "الناطق باسم الكرملين دميتري بيسكوف"; same surname
        state.spans.append((words, span))
        return span

    # ---------------------------------------------------------------- one sentence
    def sentence(self, sentence: str, state: _State) -> _Speaker | None:
        tokens = _tokens(sentence)
        if not tokens:
            return None
        arabic = _is_arabic(sentence)
        found = self.reported(sentence, tokens, state, arabic)
        if found is None:
            found = self.headline(sentence, tokens, state, arabic)
        if found is None:
            found = (self.arabic_verbs if arabic else self.english_verbs)(sentence, tokens, state)
        return found

    def reported(self, sentence, tokens, state, arabic) -> _Speaker | None:
        keys = [t.key for t in tokens]
        if not arabic:
            for i in range(len(keys) - 2):
                if keys[i] == "according" and keys[i + 1] == "to":
                    hi = self._en_clause_end(tokens, i + 2)
                    return self.resolve_np(sentence, tokens, i + 2, hi, state, "reported")
            return None
        for i in range(len(keys)):
            for cue in _AR_REPORTED:
                n = len(cue)
                if keys[i:i + n] == cue and i + n < len(keys) and _strip_clitic(keys[i + n], _AR_VERBS):
                    v = i + n
                    speaker = self._after_verb(sentence, tokens, v, state, "reported")
                    if speaker is not None:
                        return speaker
        return None

    def headline(self, sentence, tokens, state, arabic) -> _Speaker | None:
        colon = next((i for i, t in enumerate(tokens) if t.key == ":"), None)
        if colon is None or colon == 0 or colon > 6:
            return None
        before = tokens[:colon]
        if any(not t.is_word for t in before):
            return None
        if any(_strip_clitic(t.key, _AR_VERBS) or t.key in _EN_VERBS for t in before):
            return None
        if self.with_actors:
            hits = self.lexicon.matches(tokens, 0, colon)
            if hits:
                start, end, actors = hits[0]
                actor = actors[0] if len(actors) == 1 else state.pick(actors)
                return _Speaker(actor, _span(sentence, tokens, start, end), "headline")
            # "لوكسمبورغ: …" -> the actor whose role alias names Luxembourg
            words = [t.key for t in before]
            candidates = self.lexicon.role_candidates(words)
            chosen = state.pick(candidates) or (self._future.pick(candidates) if self._future else None)
            return _Speaker(chosen, _span(sentence, tokens, 0, colon), "headline")
        span = _span(sentence, tokens, 0, colon)
        return _Speaker(self.span_actor(span, state), span, "headline")

    # ---------------------------------------------------------------- Arabic: verb-subject order
    def arabic_verbs(self, sentence, tokens, state) -> _Speaker | None:
        fallback = None
        for v, token in enumerate(tokens):
            if not _strip_clitic(token.key, _AR_VERBS):
                cue = _strip_clitic(token.key, set(_AR_CONDITIONAL_VERBS))
                keys = [t.key for t in tokens]
                if not (cue and v == 0 and (not _AR_CONDITIONAL_VERBS[cue] or _AR_CONDITIONAL_VERBS[cue] in keys)):
                    continue
            strong = v == 0 or not tokens[v - 1].is_word or tokens[v - 1].key in _AR_STARTERS \
                or _strip_clitic(tokens[v - 1].key, _AR_STARTERS) is not None or v <= 1
            stem = _strip_clitic(token.key, _AR_VERBS)
            if stem in _AR_PRESENT and stem not in _AR_PAST and 0 < v <= 6 and tokens[v - 1].key not in _AR_NEGATIONS:
                # headline style, subject first: "غروسي يطالب طهران …", "عون يتعهد …"
                speaker = self._subject_before(sentence, tokens, v, state, "headline", present=True)
                if speaker is not None:
                    return speaker
                continue
            speaker = self._after_verb(sentence, tokens, v, state, "verb")
            if speaker is None:
                continue
            if (strong and speaker.actor is not None) or speaker.explicit:
                return speaker
            if strong and fallback is None:
                fallback = speaker
        return fallback

    def _after_verb(self, sentence, tokens, v, state, rule) -> _Speaker | None:
        n = len(tokens)
        nxt = tokens[v + 1] if v + 1 < n else None
        omitted = nxt is None or not nxt.is_word or nxt.key in _AR_COMPLEMENTIZERS or nxt.key in _AR_PREPOSITIONS \
            or _strip_clitic(nxt.key, _AR_VERBS) is not None or nxt.key in ("قائلا", "قائله", "بالقول")
        if not omitted:
            hi = v + 1
            while hi < n and hi < v + 17:
                t = tokens[hi]
                if t.key in _AR_COMPLEMENTIZERS or t.key in _AR_WINDOW_STOP or (t.key.startswith("بال") and hi > v + 1):
                    break
                hi += 1
            if self.with_actors:
                hits = self.lexicon.matches(tokens, v + 1, hi)
                if hits:
                    return self.resolve_np(sentence, tokens, hits[0][0], hits[0][1], state, rule)
            np_end = self._arabic_np_end(tokens, v + 1, hi)
            return self.resolve_np(sentence, tokens, v + 1, np_end, state, rule)
        # subject before the verb: "وكان X قد أعلن", "أما X فقد رفض", "X يحذر", "… من X، حيث أشار"
        before = self._subject_before(sentence, tokens, v, state, rule)
        if before is not None:
            return before
        return self.carry(tokens[v].text, state)

    def _arabic_np_end(self, tokens, lo, hi) -> int:
        end = lo
        while end < hi:
            t = tokens[end]
            if end > lo and (t.key in _AR_PREPOSITIONS or t.key in _AR_WINDOW_STOP or t.key.startswith("بال")):
                break
            if t.key in ("،", ",") and end - lo >= 8:
                break
            end += 1
        return end

    def _subject_before(self, sentence, tokens, v, state, rule, present=False) -> _Speaker | None:
        keys = [t.key for t in tokens]
        lo = max(0, v - 14)
        if self.with_actors:
            hits = [h for h in self.lexicon.matches(tokens, lo, v)]
            if hits:
                start, end, actors = hits[-1]
                actor = actors[0] if len(actors) == 1 else state.pick(actors)
                return _Speaker(actor, _span(sentence, tokens, start, end), rule, explicit=True)
        if present:
            span = _span(sentence, tokens, 0, v)
            if self.with_actors:
                return _Speaker(None, span, rule)
            return _Speaker(self.span_actor(span, state), span, rule)
        # structural forms without an alias: كان X قد + verb, أما X ف + verb
        for opener in ("كان", "وكان", "كانت", "وكانت", "اما", "واما"):
            if opener in keys[lo:v]:
                start = lo + keys[lo:v].index(opener) + 1
                end = v - 1 if keys[v - 1] in ("قد", "فقد", "فانه", "فان") else v
                if end > start:
                    span = _span(sentence, tokens, start, end)
                    role = self.role_phrase([t for t in tokens[start:end] if t.is_word])
                    if role:
                        return self.resolve_role(role, sentence, tokens, state, rule)
                    if self.with_actors:
                        return _Speaker(None, span, rule)
                    return _Speaker(self.span_actor(span, state), span, rule)
        return None

    # ---------------------------------------------------------------- English: subject-verb order
    def english_verbs(self, sentence, tokens, state) -> _Speaker | None:
        for v, token in enumerate(tokens):
            if token.key not in _EN_VERBS:
                continue
            lo = v
            while lo > 0 and tokens[lo - 1].key not in _EN_BOUNDARY and tokens[lo - 1].key != ".":
                lo -= 1
            hi = v
            while hi > lo and tokens[hi - 1].key in _EN_AUX:
                hi -= 1
            if hi > lo:
                speaker = self.resolve_np(sentence, tokens, lo, hi, state, "verb")
                if speaker is not None:
                    return speaker
            elif lo > 0 and any(t.key in _QUOTE_TOKENS for t in tokens[:lo]):  # “…,” said X
                end = self._en_clause_end(tokens, v + 1)
                speaker = self.resolve_np(sentence, tokens, v + 1, end, state, "verb")
                if speaker is not None:
                    return speaker
            elif lo > 0 and tokens[lo - 1].key == ",":  # "X, head of Y, said": the subject before the apposition
                first = next((i for i, t in enumerate(tokens) if t.key == ","), lo - 1)
                speaker = self.resolve_np(sentence, tokens, 0, first, state, "verb")
                if speaker is not None:
                    return speaker
        return None

    def _en_clause_end(self, tokens, lo) -> int:
        hi = lo
        while hi < len(tokens) and tokens[hi].key not in _EN_BOUNDARY and tokens[hi].key not in {".", "?", "!"} \
                and tokens[hi].key not in {"in", "on", "at", "after", "during", "from", "to"}:
            hi += 1
        return hi

    # ---------------------------------------------------------------- the article
    def article(self, items: list[str]) -> list[Attribution]:
        # A first pass learns who speaks in the article, for headlines that name a country ("لوكسمبورغ:").
        self._future = None
        if self.with_actors:
            scout = _State(self.lexicon)
            for text in items:
                found = self.sentence(text, scout)
                if found and found.actor:
                    scout.touch(found.actor, spoke=True)
                    scout.last = found
            self._future = scout
        state = _State(self.lexicon)
        out = []
        for index, text in enumerate(items):
            found = self.sentence(text, state)
            if self.with_actors:
                for _, _, actors in self.lexicon.matches(_tokens(text)):
                    if len(actors) == 1:
                        state.touch(actors[0], spoke=False)
            if found is not None and (found.actor is not None or found.span):
                if found.actor is not None:
                    state.touch(found.actor, spoke=True)
                state.last = found
                out.append(Attribution(index, text, found.actor, found.span or None, found.rule))
            else:
                out.append(Attribution(index, text, None, None, "none"))
        return out


def attribute(text: str, actors: Actors | None = None) -> list[Attribution]:
    """Clean, segment and attribute an article's text: one :class:`Attribution` per sentence."""
    return _Attributor(actors).article(sentences(text))


def read_article(path: Path | str) -> str:
    """An article file's text; an empty, unreadable or non-UTF-8 file is a one-line UserError."""
    from stancelab.data.datasets import read_text

    text = read_text(Path(path)).lstrip("\ufeff")
    if not text.strip():
        raise UserError(f"{path}: empty article, expected the article's text (UTF-8)")
    if "\x00" in text:
        raise UserError(f"{path}: contains NUL bytes: not a text file")
    if not sentences(text):
        raise UserError(f"{path}: no sentences left after removing page boilerplate")
    return text


# --------------------------------------------------------------------------- predictions, report, template

NO_SPEAKER = "(no speaker)"


def _actors_arg(actors) -> Actors | None:
    """``actors`` as given to the public functions: an Actors, a path, a mapping, or None (spans)."""
    from stancelab.articles.actors import actors_from_mapping, load_actors

    if actors is None or isinstance(actors, Actors):
        return actors
    if isinstance(actors, dict):
        return actors_from_mapping(actors)
    return load_actors(actors)


def _text_arg(text_or_path) -> tuple[str, str]:
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


def attribute_article(text_or_path, actors=None) -> list[Attribution]:
    """:func:`attribute` for article text or a file path; ``actors`` an Actors, a YAML path, a mapping or None."""
    text, _ = _text_arg(text_or_path)
    return attribute(text, _actors_arg(actors))


def predict_article(predictor, text_or_path, actors=None, targets=None, evidence: bool = False) -> list[dict]:
    """Attribute an article's sentences and predict stance + sentiment for each.

    One record per sentence × target, in article order (targets in the order given, default: all
    the model's targets): ``sentence_index, sentence, actor, speaker_span, rule, target, stance,
    stance_proba, sentiment, sentiment_proba`` (+ ``evidence``). Narration sentences (no speaker) are
    predicted too, with ``actor`` None.
    """
    attributions = attribute_article(text_or_path, actors)
    resolved = [predictor.resolve_target(t) for t in (targets or list(predictor.targets))]
    resolved = list(dict.fromkeys(resolved))
    rows = [{"text": a.sentence, "target": t, "actor": a.actor or ""} for a in attributions for t in resolved]
    results = predictor.predict_frame(predictor.frame(rows), evidence=evidence)
    out, k = [], 0
    for a in attributions:
        for _ in resolved:
            result = results[k]
            k += 1
            record = {"sentence_index": a.index, "sentence": a.sentence, "actor": a.actor,
                      "speaker_span": a.speaker_span, "rule": a.rule, "target": result["target"]}
            for task in ("stance", "sentiment"):
                record[task] = result.get(task)
                record[f"{task}_proba"] = result.get(f"{task}_proba")
            if evidence:
                record["evidence"] = result.get("evidence", {})
            out.append(record)
    return out


def actor_report(records: list[dict]) -> list[dict]:
    """Per actor and target: how many sentences, the stance and sentiment counts, and the evidence
    sentences for each stance label. Sentences without a speaker are grouped as ``(no speaker)``."""
    from stancelab.labels import SENTIMENT_LABELS, STANCE_LABELS

    groups: dict[tuple[str, str], dict] = {}
    for r in records:
        key = (r["actor"] or NO_SPEAKER, r["target"])
        g = groups.setdefault(key, {"actor": key[0], "target": key[1], "sentences": 0,
                                    **{s: 0 for s in STANCE_LABELS}, **{s: 0 for s in SENTIMENT_LABELS},
                                    "evidence": {s: [] for s in STANCE_LABELS}})
        g["sentences"] += 1
        if r.get("stance") in STANCE_LABELS:
            g[r["stance"]] += 1
            g["evidence"][r["stance"]].append({"sentence_index": r["sentence_index"], "sentence": r["sentence"],
                                               "stance_proba": (r.get("stance_proba") or {}).get(r["stance"])})
        if r.get("sentiment") in SENTIMENT_LABELS:
            g[r["sentiment"]] += 1
    rows = sorted(groups.values(), key=lambda g: (g["actor"] == NO_SPEAKER, g["actor"], g["target"]))
    for g in rows:
        counts = {s: g[s] for s in STANCE_LABELS}
        g["majority_stance"] = max(STANCE_LABELS, key=lambda s: (counts[s], s != "none"))
    return rows


def report_table(report: list[dict]) -> list[dict]:
    """Short rows for the terminal: actor, target, n, stance and sentiment counts."""
    return [{"actor": g["actor"], "target": g["target"], "n": g["sentences"],
             "favor/against/none": f"{g['favor']}/{g['against']}/{g['none']}",
             "pos/neg/neu": f"{g['positive']}/{g['negative']}/{g['neutral']}",
             "majority": g["majority_stance"]} for g in report]


def write_report(report: list[dict], path: Path) -> None:
    """The per-actor report as .json (with evidence sentences) or .csv (evidence as sentence numbers)."""
    import csv
    import json

    from stancelab.data.files import atomic_output

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise UserError(f"{path}: unsupported report type '{suffix}'; use .json or .csv")
    with atomic_output(path, newline="") as handle:
        if suffix == ".json":
            json.dump(report, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
            return
        fields = ["actor", "target", "sentences", "favor", "against", "none", "positive", "negative", "neutral",
                  "majority_stance", "evidence_favor", "evidence_against", "evidence_none"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for g in report:
            row = {k: g[k] for k in fields if k in g}
            for label in ("favor", "against", "none"):
                row[f"evidence_{label}"] = " ".join(str(e["sentence_index"] + 1) for e in g["evidence"][label])
            writer.writerow(row)


def save_chart(report: list[dict], path: Path, title: str = "stance per actor") -> None:
    """PNG of the stance counts per actor and target (written atomically)."""
    import os
    import tempfile

    from stancelab.scoring.plots import actor_stance_figure, close

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"{path}: unsupported chart type '{path.suffix}'; use .png")
    if not path.parent.resolve().is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")
    fig = actor_stance_figure(report, title)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def template_rows(attributions: list[Attribution], targets: list[str], source: str) -> list[dict]:
    """Annotation template in the project schema (``id,text,actor,target,stance,sentiment,source,lang,split``):
    one row per sentence × target, the attributed actor pre-filled, stance and sentiment empty."""
    from stancelab.data.datasets import SCHEMA

    stem = re.sub(r"[^\w-]+", "-", Path(source).stem).strip("-") or "article"
    rows = []
    for a in attributions:
        for target in targets:
            row = dict.fromkeys(SCHEMA, "")
            row.update({"id": f"{stem}-{a.index + 1:02d}:{target}", "text": a.sentence, "actor": a.actor or "",
                        "target": target, "source": f"article:{Path(source).name}",
                        "lang": "ar" if _is_arabic(a.sentence) else "en", "split": "train"})
            rows.append(row)
    return rows


def write_template(rows: list[dict], path: Path) -> None:
    import csv

    from stancelab.data.datasets import SCHEMA
    from stancelab.data.files import atomic_output

    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise UserError(f"{path}: the template is a .csv file")
    with atomic_output(path, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(SCHEMA))
        writer.writeheader()
        writer.writerows(rows)


def log_article_run(records: list[dict], report: list[dict], *, source: str, actors_source: str | None,
                    model_uri: str, tracking_uri: str | None = None, experiment: str = "article-attribution") -> str:
    """Log one article's attribution, predictions, per-actor report and chart to MLflow; returns the run id."""
    import hashlib
    import json
    import tempfile

    import mlflow

    from stancelab import tracking

    tracking.setup(tracking_uri)
    tracking.ensure_experiment(experiment)
    sentences_ = {r["sentence_index"]: r for r in records}
    attributed = sum(1 for r in sentences_.values() if r["actor"])
    with mlflow.start_run(run_name=f"article {Path(source).name}") as run:
        mlflow.set_tags({"role": "article", "article": Path(source).name, "model_uri": model_uri})
        mlflow.log_params({"article": Path(source).name, "actors_file": actors_source or "(none: speaker spans)",
                           "model_uri": model_uri, "targets": ",".join(dict.fromkeys(r["target"] for r in records)),
                           "article_sha256": hashlib.sha256("\n".join(r["sentence"] for r in sentences_.values())
                                                             .encode("utf-8")).hexdigest()})
        mlflow.log_metrics({"sentences": len(sentences_), "sentences_attributed": attributed,
                            "actors": len({r["actor"] for r in records if r["actor"]})})
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            with open(folder / "predictions.jsonl", "w", encoding="utf-8") as handle:
                for r in records:
                    handle.write(json.dumps(r, ensure_ascii=False) + "\n")
            write_report(report, folder / "actor_report.json")
            write_report(report, folder / "actor_report.csv")
            if report:
                save_chart(report, folder / "actor_stance.png", f"stance per actor: {Path(source).name}")
            mlflow.log_artifacts(str(folder), "article")
        return run.info.run_id


def _template_targets(names: list[str] | None) -> list[str]:
    """Targets for a template written without a model: the embedded corpus's, by id or name."""
    from stancelab.data.datasets import get_dataset

    known = get_dataset("idlib").targets
    lookup = {re.sub(r"[\s_\-]+", "", n.casefold()): t for t, ns in known.items() for n in (t, *ns)}
    if not names:
        return list(known)
    out = []
    for name in names:
        target = lookup.get(re.sub(r"[\s_\-]+", "", str(name).casefold()))
        if target is None:
            raise UserError(f"unknown target {name!r}; known targets: {', '.join(known)}")
        out.append(target)
    return list(dict.fromkeys(out))


def write_records(records: list[dict], path: Path | None) -> None:
    """Article predictions as JSON lines (stdout when ``path`` is None) or a flat CSV."""
    import csv
    import json

    from stancelab.data.files import atomic_output

    if path is None:
        for r in records:
            print(json.dumps(r, ensure_ascii=False))
        return
    with atomic_output(path, newline="") as handle:
        if Path(path).suffix.lower() == ".jsonl":
            for r in records:
                handle.write(json.dumps(r, ensure_ascii=False) + "\n")
            return
        rows = []
        for r in records:
            row = {k: ("" if r[k] is None else r[k]) for k in
                   ("sentence_index", "sentence", "actor", "speaker_span", "rule", "target")}
            for task in ("stance", "sentiment"):
                row[task] = r.get(task) or ""
                for label, p in (r.get(f"{task}_proba") or {}).items():
                    row[f"{task}_proba_{label}"] = p
                if "evidence" in r:
                    row[f"{task}_evidence"] = "; ".join(e["ngram"] for e in r["evidence"].get(task, []))
            rows.append(row)
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run_article_cli(args) -> int:
    """``predict.py --article``: check every option first, compute everything, then write the files."""
    import sys

    from stancelab.articles.actors import load_actors
    from stancelab.cli.console import print_table

    for option, path, suffixes in (("--output", args.output, (".jsonl", ".csv")), ("--report", args.report, (".json", ".csv")),
                                   ("--chart", args.chart, (".png",)), ("--template", args.template, (".csv",))):
        if path is not None and path.suffix.lower() not in suffixes:
            raise UserError(f"{path}: unsupported {option} type '{path.suffix}'; use {' or '.join(suffixes)}")
    if args.quote is not None or args.input is not None:
        raise UserError("--article cannot be combined with a quote or --input")
    text = read_article(args.article)
    actors = load_actors(args.actors) if args.actors is not None else None
    attributions = attribute(text, actors)
    wants_model = args.output is not None or args.report is not None or args.chart is not None or args.log_run \
        or args.template is None
    records = report = None
    model_uri = None
    if wants_model:
        from stancelab.serving.predictor import load

        model = load(args.model, args.tracking_uri, allow_unsafe=args.allow_unsafe_pickle)
        model_uri = model.model_uri
        targets = [model.resolve_target(t) for t in (args.target or list(model.targets))]
        records = predict_article(model, text, actors=actors, targets=list(dict.fromkeys(targets)),
                                  evidence=not args.no_evidence)
        report = actor_report(records)
        template_targets = list(dict.fromkeys(targets))
    else:
        template_targets = _template_targets(args.target)
    # everything is computed: now write (each file atomically)
    if args.template is not None:
        write_template(template_rows(attributions, template_targets, str(args.article)), args.template)
        print(f"wrote {len(attributions)} sentences × {len(template_targets)} targets to {args.template}; "
              "fill stance and sentiment, then load it like data/corpus.csv", file=sys.stderr)
    if records is None:
        print_table([{"#": a.index + 1, "actor": a.actor or "", "speaker": a.speaker_span or "", "rule": a.rule,
                      "sentence": a.sentence[:70]} for a in attributions], title=f"who said what: {args.article}")
        return 0
    write_records(records, args.output)
    if args.report is not None:
        write_report(report, args.report)
    if args.chart is not None:
        save_chart(report, args.chart, f"stance per actor: {args.article.name}")
    table_file = sys.stdout if args.output is not None else sys.stderr
    if not getattr(args, "quiet", False):
        print_table(report_table(report), title=f"per actor: {args.article}", file=table_file)
    if args.log_run:
        run_id = log_article_run(records, report, source=str(args.article),
                                 actors_source=str(args.actors) if args.actors else None,
                                 model_uri=model_uri, tracking_uri=args.tracking_uri)
        print(f"logged to MLflow run {run_id}", file=sys.stderr)
    if args.output is not None and not getattr(args, "quiet", False):
        print(f"wrote {len(records)} predictions ({len(attributions)} sentences) to {args.output}", file=sys.stderr)
    return 0
