"""From a news article to who said what: speaker attribution, sentence by sentence.

``attribute(text, actors)`` returns one :class:`Attribution` per sentence, in article order. The
article is first cleaned and segmented (:func:`stancelab.articles.text.sentences`); then, per sentence:
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

from dataclasses import asdict, dataclass

from stancelab.articles.actors import Actors, actors_from_mapping, load_actors
from stancelab.articles.lexicon import (AR_COMPLEMENTIZERS, AR_CONDITIONAL_VERBS, AR_NEGATIONS, AR_PAST,
                                        AR_PREPOSITIONS, AR_PRESENT, AR_REPORTED, AR_ROLE_NOUNS, AR_STARTERS,
                                        AR_VERBS, AR_WINDOW_STOP, CLITICS, EN_AUX, EN_BOUNDARY, EN_PRONOUNS,
                                        EN_ROLE_NOUNS, EN_VERBS, QUOTE_TOKENS, deprefix, strip_clitic)
from stancelab.articles.text import Token, article_text, is_arabic, sentences, tokenize


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
                keys = tuple(t.key for t in tokenize(alias))
                if not keys or not tokenize(alias)[0].is_word:
                    continue
                self.by_first.setdefault(keys[0], []).append((keys, actor))
                self.role_words.setdefault(actor, []).append({deprefix(k) for k in keys if k[:1].isalnum()})
        for entries in self.by_first.values():
            entries.sort(key=lambda e: -len(e[0]))

    def matches(self, tokens: list[Token], lo: int = 0, hi: int | None = None) -> list[tuple[int, int, list[str]]]:
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
        candidates = [(key, "")] + [(key[len(p):], p) for p in CLITICS if key.startswith(p) and len(key) > len(p) + 2]
        for first, _ in candidates:
            for keys, _actor in self.by_first.get(first, ()):
                n = len(keys)
                if i + n <= hi and all(tokens[i + k].key == keys[k] for k in range(1, n)):
                    actors = sorted({a for ks, a in self.by_first[first] if ks == keys})
                    return (i, i + n, actors)
        return None

    def role_candidates(self, words: list[str]) -> list[str]:
        """Actors one of whose aliases contains all ``words`` (ال stripped): الوزير الروسي -> Lavrov."""
        wanted = {deprefix(w) for w in words}
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


def _span(sentence: str, tokens: list[Token], lo: int, hi: int) -> str:
    words = [t for t in tokens[lo:hi]]
    while words and not words[-1].is_word:
        words.pop()
    while words and not words[0].is_word:
        words.pop(0)
    return sentence[words[0].start:words[-1].end] if words else ""

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
        if head in EN_PRONOUNS or head in {"هو", "هي"}:
            return self.carry(words[0].text, state)
        role = self.role_phrase(words)
        if role:
            return self.resolve_role(role, sentence, tokens, state, rule)
        span = _span(sentence, tokens, lo, hi)
        if not self.with_actors:
            return _Speaker(self.span_actor(span, state), span, rule)
        return _Speaker(None, span, rule)

    def role_phrase(self, words: list[Token]) -> list[Token]:
        """``الوزير الروسي`` / ``the minister`` / ``the Russian minister``: a definite title without a name."""
        head = words[0].key
        if deprefix(head) in AR_ROLE_NOUNS:
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
            if following is None or following.key.startswith("ال") or following.key in AR_PREPOSITIONS:
                return phrase  # the title is the whole subject (what follows is the object)
            return []  # a title that goes on (الناطق باسم الكرملين دميتري بيسكوف) is a name, not an anaphor
        if head == "the" and len(words) > 1:
            phrase = [words[0]]
            for w in words[1:]:
                phrase.append(w)
                if w.key in EN_ROLE_NOUNS:
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
        names = [t.key for t in tokenize(span) if t.is_word]
        words = {deprefix(w) for w in names}
        for known, actor in reversed(state.spans):
            last = [t.key for t in tokenize(actor) if t.is_word][-1]
            if words and (words <= known or (names and names[-1] == last)):
                return actor  # "بيسكوف" after "الناطق باسم الكرملين دميتري بيسكوف"; same surname
        state.spans.append((words, span))
        return span

    # ---------------------------------------------------------------- one sentence
    def sentence(self, sentence: str, state: _State) -> _Speaker | None:
        tokens = tokenize(sentence)
        if not tokens:
            return None
        arabic = is_arabic(sentence)
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
            for cue in AR_REPORTED:
                n = len(cue)
                if keys[i:i + n] == cue and i + n < len(keys) and strip_clitic(keys[i + n], AR_VERBS):
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
        if any(strip_clitic(t.key, AR_VERBS) or t.key in EN_VERBS for t in before):
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
            if not strip_clitic(token.key, AR_VERBS):
                cue = strip_clitic(token.key, set(AR_CONDITIONAL_VERBS))
                keys = [t.key for t in tokens]
                if not (cue and v == 0 and (not AR_CONDITIONAL_VERBS[cue] or AR_CONDITIONAL_VERBS[cue] in keys)):
                    continue
            strong = v == 0 or not tokens[v - 1].is_word or tokens[v - 1].key in AR_STARTERS \
                or strip_clitic(tokens[v - 1].key, AR_STARTERS) is not None or v <= 1
            stem = strip_clitic(token.key, AR_VERBS)
            if stem in AR_PRESENT and stem not in AR_PAST and 0 < v <= 6 and tokens[v - 1].key not in AR_NEGATIONS:
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
        omitted = nxt is None or not nxt.is_word or nxt.key in AR_COMPLEMENTIZERS or nxt.key in AR_PREPOSITIONS \
            or strip_clitic(nxt.key, AR_VERBS) is not None or nxt.key in ("قائلا", "قائله", "بالقول")
        if not omitted:
            hi = v + 1
            while hi < n and hi < v + 17:
                t = tokens[hi]
                if t.key in AR_COMPLEMENTIZERS or t.key in AR_WINDOW_STOP or (t.key.startswith("بال") and hi > v + 1):
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
            if end > lo and (t.key in AR_PREPOSITIONS or t.key in AR_WINDOW_STOP or t.key.startswith("بال")):
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
            if token.key not in EN_VERBS:
                continue
            lo = v
            while lo > 0 and tokens[lo - 1].key not in EN_BOUNDARY and tokens[lo - 1].key != ".":
                lo -= 1
            hi = v
            while hi > lo and tokens[hi - 1].key in EN_AUX:
                hi -= 1
            if hi > lo:
                speaker = self.resolve_np(sentence, tokens, lo, hi, state, "verb")
                if speaker is not None:
                    return speaker
            elif lo > 0 and any(t.key in QUOTE_TOKENS for t in tokens[:lo]):  # “…,” said X
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
        while hi < len(tokens) and tokens[hi].key not in EN_BOUNDARY and tokens[hi].key not in {".", "?", "!"} \
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
                for _, _, actors in self.lexicon.matches(tokenize(text)):
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


def _actors_arg(actors) -> Actors | None:
    """``actors`` as given to the public functions: an Actors, a path, a mapping, or None (spans)."""
    if actors is None or isinstance(actors, Actors):
        return actors
    if isinstance(actors, dict):
        return actors_from_mapping(actors)
    return load_actors(actors)


def attribute_article(text_or_path, actors=None) -> list[Attribution]:
    """:func:`attribute` for article text or a file path; ``actors`` an Actors, a YAML path, a mapping or None."""
    text, _ = article_text(text_or_path)
    return attribute(text, _actors_arg(actors))
