"""The speaker of a single quote, by the same rules as an article (:mod:`stancelab.articles.attribution`).

``QuoteSpeakers(actors)`` is what ``predict.load()`` gives a predictor: called with the texts of the
quotes that have no ``actor``, it returns ``(actor, speaker_span)`` for each — the first sentence of
the quote whose reporting structure names a speaker (``دعا لافروف إلى …``, ``Lavrov said …``), or
``(None, None)``. The actors file is read, and the alias lexicon built, once, on the first quote
without an actor, so quotes that carry their actor never pay for it.

A quote has no context before it, so what an article resolves from its earlier sentences is not
guessed here: a carry-over (``وأضاف``, ``he added``) finds no speaker, and a bare title
(``قال المسؤول``, ``the official said``) keeps its ``speaker_span`` with ``actor`` None unless it has
at least two words and fits exactly one actor's aliases (``الوزير الروسي`` -> Lavrov).
"""

from __future__ import annotations

from pathlib import Path

from stancelab.articles.actors import DEFAULT_ACTORS, Actors
from stancelab.articles.attribution import _actors_arg, _Attributor, _State
from stancelab.articles.text import sentences, tokenize


class QuoteSpeakers:
    """Callable: quote texts -> ``(actor, speaker_span)`` each. ``actors`` is an Actors, a YAML path or a
    mapping (see :func:`stancelab.articles.attribution.attribute_article`); the default is data/actors.yaml."""

    def __init__(self, actors: Actors | Path | str | dict = DEFAULT_ACTORS):
        self.source = actors
        self._attributor: _Attributor | None = None

    @property
    def attributor(self) -> _Attributor:
        if self._attributor is None:
            self._attributor = _Attributor(_actors_arg(self.source))
        return self._attributor

    def __call__(self, texts: list[str]) -> list[tuple[str | None, str | None]]:
        found: dict[str, tuple[str | None, str | None]] = {}  # a quote scored for several targets: once
        for text in texts:
            if text not in found:
                found[text] = self.speaker(text)
        return [found[text] for text in texts]

    def speaker(self, text: str) -> tuple[str | None, str | None]:
        """``(actor, speaker_span)`` of one quote: its first sentence that names a speaker, by the article
        rules (one pass: the article's look-ahead for headlines has nothing to look at in a quote)."""
        attributor = self.attributor  # never runs article(), so it has no look-ahead state to reset
        state = _State(attributor.lexicon)
        for sentence in sentences(text):
            found = attributor.sentence(sentence, state)
            if found is None or found.rule == "carry-over" or not (found.actor or found.span):
                continue
            if found.rule == "role":
                return self._title_actor(found.span), found.span
            return found.actor, found.span or None
        return None, None

    def _title_actor(self, span: str | None) -> str | None:
        """The actor of a title without context: only a title of two words or more that one actor fits."""
        words = [t.key for t in tokenize(span or "") if t.is_word and t.key != "the"]
        if len(words) < 2 or self.attributor.lexicon.actors is None:
            return None
        candidates = self.attributor.lexicon.role_candidates(words)
        return candidates[0] if len(candidates) == 1 else None

    def __repr__(self) -> str:
        return f"QuoteSpeakers({str(getattr(self.source, 'source', self.source))!r})"
