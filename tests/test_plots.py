"""Figures people read: actors by name (Arabic shaped), legends outside the bars, per-actor plots bounded
to the largest actors however many there are, and the article chart's sentiment next to stance."""

from __future__ import annotations

import pytest

from stancelab.scoring import plots

MANY = 400


@pytest.fixture(scope="module")
def names() -> dict[str, str]:
    found = plots.default_actor_names()
    assert found["Lavrov"] == "Sergei Lavrov · سيرغي لافروف"  # data/actors.yaml: Latin full name · Arabic name
    return found


def _actor_ids(names: dict[str, str]) -> list[str]:
    return list(names)[:10] + [f"speaker{i}" for i in range(MANY - 10)]


def _legend_outside_every_axes(fig) -> None:
    fig.canvas.draw()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    assert legends
    for legend in legends:
        box = legend.get_window_extent()
        assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1)  # not cut off
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent()), (box, ax.get_window_extent())


def test_f1_per_actor_is_bounded_named_and_the_legend_is_outside(names):
    ids = _actor_ids(names)
    rows = [{"actor": a, "n": 1000 - i, "f_avg": 0.5, "stance_macro_f1": 0.4, "sentiment_macro_f1": 0.7}
            for i, a in enumerate(ids)]
    fig = plots.f1_bars_figure(rows, "actor", "F1 per actor: idlib:test", names)
    try:
        width, height = fig.get_size_inches() * fig.dpi
        assert height <= 1000 and width <= 1200  # the old figure of 30 actors was 2,321 px tall
        ax = fig.axes[0]
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert len(labels) == plots.TOP_GROUPS
        assert labels[1] == plots.shape_label("Sergei Lavrov · سيرغي لافروف (n=999)")  # the name, not "Lavrov"
        assert f"top {plots.TOP_GROUPS} of {MANY} actors" in ax.get_title()
        _legend_outside_every_axes(fig)
    finally:
        plots.close(fig)


def test_f1_per_target_legend_does_not_cover_the_bars():
    rows = [{"target": t, "n": 100, "f_avg": 0.99, "stance_macro_f1": 0.98, "sentiment_macro_f1": 0.97}
            for t in ("deescalation_idlib", "nato_support_turkey")]  # bars as long as the axes: nowhere to hide
    fig = plots.f1_bars_figure(rows, "target", "F1 per target", plots.display_names("idlib"))
    try:
        assert "top" not in fig.axes[0].get_title()  # nothing left out, nothing said
        assert fig.axes[0].get_yticklabels()[0].get_text().startswith("deescalation_idlib · ")
        _legend_outside_every_axes(fig)
    finally:
        plots.close(fig)


def _report(ids: list[str]) -> list[dict]:
    rows = []
    for i, actor in enumerate(ids):
        for target in ("deescalation_idlib", "nato_support_turkey"):
            n = MANY - i
            rows.append({"actor": actor, "target": target, "sentences": n, "favor": n // 2, "against": n // 4,
                         "none": n - n // 2 - n // 4, "positive": n // 5, "negative": n // 2,
                         "neutral": n - n // 5 - n // 2})
    return rows


def test_article_chart_shows_sentiment_next_to_stance_for_the_top_actors_by_name(names):
    ids = _actor_ids(names)
    fig = plots.actor_stance_figure(_report(ids), "stance and sentiment per actor: a.txt", names)
    try:
        width, height = fig.get_size_inches() * fig.dpi
        assert height <= 1000 and width <= 1600
        titles = [ax.get_title() for ax in fig.axes]
        assert titles == ["stance: deescalation_idlib", "stance: nato_support_turkey", "sentiment (all targets)"]
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert len(labels) == plots.TOP_GROUPS and labels[1] == plots.shape_label(names["Lavrov"])
        assert f"top {plots.TOP_GROUPS} of {MANY} actors" in fig._suptitle.get_text()
        sentiment = fig.axes[-1]  # Lavrov (row 1): 79 positive, 199 negative, 121 neutral of 399
        lavrov = sorted((p.get_x(), p.get_width()) for p in sentiment.patches if abs(p.get_y() + p.get_height() / 2 - 1) < 1e-9)
        assert [w for _, w in lavrov] == [79, 199, 121]
        legend = fig.legends[0]
        assert [t.get_text() for t in legend.get_texts()] == ["favor", "against", "none", "positive", "negative", "neutral"]
        _legend_outside_every_axes(fig)
    finally:
        plots.close(fig)


def test_actor_names_fall_back_to_the_id():
    assert plots.actor_names({"X": ["إكس"], "Y": ["Yann Why", "Y"], "Z": ["zed"]}) == {
        "X": "X · إكس", "Y": "Yann Why", "Z": "Z"}
