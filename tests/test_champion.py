"""The champion alias: a higher CV score takes it, an exact tie keeps the old champion. The rule here;
through ``register`` (and the experiment-file rule) in tests/test_end_to_end.py."""

from __future__ import annotations

from stancelab.training.train import beats_champion


def test_beats_champion_known_answers():
    assert beats_champion(0.70, None)  # no champion yet (or one of another experiment file)
    assert beats_champion(0.71, 0.70)
    assert not beats_champion(0.69, 0.70)
    assert not beats_champion(0.70, 0.70)  # a tie keeps the old champion
