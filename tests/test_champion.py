"""The champion alias: a higher CV score takes it; an exact tie is broken by the experiment's sentiment
selection metric (issue #3: SemEval v2 tied v1's stance score with a better sentiment model, and the
alias had to be moved by hand). The rule here; through ``register`` in tests/test_end_to_end.py."""

from __future__ import annotations

from stancelab.training.train import beats_champion


def test_beats_champion_known_answers():
    assert beats_champion(0.70, None)  # no champion yet
    assert beats_champion(0.71, 0.70, 0.50, 0.60)  # higher score wins whatever the tie metric
    assert not beats_champion(0.69, 0.70, 0.90, 0.10)
    assert beats_champion(0.70, 0.70, 0.56, 0.55)  # a tie, better sentiment: moves
    assert not beats_champion(0.70, 0.70, 0.55, 0.55)  # a full tie keeps the old champion
    assert not beats_champion(0.70, 0.70, 0.54, 0.55)
    assert not beats_champion(0.70, 0.70)  # a tie without a tie-break metric keeps the old champion
    assert not beats_champion(0.70, 0.70, 0.60, None)
