"""Figures logged to MLflow. matplotlib's Agg backend is chosen inside the functions, not at import.

Arabic labels go through :func:`shape_label`. matplotlib >= 3.11 lays text out with libraqm (shaping and
right-to-left order built in), so the label passes unchanged; older matplotlib draws characters one by
one, left to right, so the label is reshaped to its contextual letter forms (arabic-reshaper) and put
in visual order (python-bidi). Either way matplotlib's bundled DejaVu Sans has the Arabic glyphs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

_RTL = re.compile("[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")
F1_METRICS = ("f_avg", "stance_macro_f1", "sentiment_macro_f1")


def _matplotlib_shapes_text() -> bool:
    from matplotlib import ft2font

    return bool(getattr(ft2font, "__libraqm_version__", ""))


def shape_label(text) -> str:
    """A label matplotlib draws correctly: Arabic shaped and right to left; other text unchanged."""
    text = "" if text is None else str(text)
    if not _RTL.search(text) or _matplotlib_shapes_text():
        return text
    import arabic_reshaper
    from bidi import get_display

    return get_display(arabic_reshaper.reshape(text), base_dir="L")  # Arabic runs right to left in an LTR label


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def confusion_matrix_figure(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str], title: str):
    """Counts with row-normalised shading (rows: gold, columns: predicted)."""
    plt = _pyplot()
    gold, pred = np.asarray(gold, dtype=object), np.asarray(pred, dtype=object)
    counts = np.array([[int(np.sum((gold == g) & (pred == p))) for p in labels] for g in labels])
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.2, 3.6), dpi=110)
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), [shape_label(x) for x in labels])
    ax.set_yticks(range(len(labels)), [shape_label(x) for x in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(shape_label(title), fontsize=10)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                    color="white" if shares[i, j] > 0.6 else "black", fontsize=9)
    fig.tight_layout()
    return fig


TOP_GROUPS = 15  # per-actor (and per-target) plots show the largest groups only, and say so in the title


def _top(rows: Sequence[Mapping], size, limit: int, what: str) -> tuple[list, str]:
    """The ``limit`` largest rows by ``size(row)`` (stable), and a title note when some were left out."""
    ordered = sorted(rows, key=lambda r: -size(r))
    note = f" (top {limit} of {len(ordered)} {what} by count)" if len(ordered) > limit else ""
    return ordered[:limit], note


def f1_bars_figure(rows: Sequence[Mapping], key: str, title: str, names: Mapping[str, str] | None = None,
                   metrics: Sequence[str] = F1_METRICS, max_bars: int = TOP_GROUPS):
    """Horizontal grouped bars of F1 scores per group (target or actor): the ``max_bars`` largest groups,
    largest first (the title says when there were more), the legend outside the bars.

    ``rows`` are dicts with ``key``, ``n`` and the metric values (a breakdown table);
    ``names`` maps a group's id to the label to show (a target's Arabic name, an actor's name)."""
    plt = _pyplot()
    rows = sorted(rows, key=lambda r: str(r[key]))
    rows, note = _top(rows, lambda r: int(r.get("n", 0)), max_bars, f"{key}s")
    metrics = [m for m in metrics if any(m in r for r in rows)]
    names = names or {}
    labels = [shape_label(f"{names.get(r[key], r[key])} (n={r.get('n', '?')})") for r in rows]
    height = 0.8 / max(len(metrics), 1)
    fig, ax = plt.subplots(figsize=(8.0, 1.3 + 0.4 * len(rows)), dpi=110, layout="constrained")
    y = np.arange(len(rows))
    for i, metric in enumerate(metrics):
        values = [float(r.get(metric, np.nan)) for r in rows]
        ax.barh(y + (i - (len(metrics) - 1) / 2) * height, values, height=height, label=metric)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(shape_label(title + note), fontsize=10)
    fig.legend(fontsize=7, loc="outside right upper", frameon=False)
    return fig


def cv_spread_figure(fold_scores: Mapping[str, Sequence[float]], metric: str, title: str, best: str | None = None):
    """Per-fold CV scores of each configuration of a sweep (box + points), best mean on top."""
    plt = _pyplot()
    names = sorted(fold_scores, key=lambda n: -float(np.nanmean(fold_scores[n])))
    data = [np.asarray(fold_scores[n], dtype=float) for n in names]
    fig, ax = plt.subplots(figsize=(6.4, 1.2 + 0.35 * len(names)), dpi=110)
    import matplotlib

    horizontal = ({"orientation": "horizontal"} if tuple(map(int, matplotlib.__version__.split(".")[:2])) >= (3, 10)
                  else {"vert": False})
    ax.boxplot(data, widths=0.5, showmeans=True, **horizontal)
    for i, values in enumerate(data, 1):
        ax.scatter(values, np.full(len(values), i), s=12, color="black", alpha=0.6, zorder=3)
    ax.set_yticks(range(1, len(names) + 1),
                  [shape_label(("* " if n == best else "") + n) for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"cv_{metric} per fold")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(shape_label(title), fontsize=10)
    fig.tight_layout()
    return fig


def display_names(dataset: str) -> dict[str, str]:
    """Target id -> plot label: the id plus its Arabic name when the registered dataset has one."""
    from stancelab.data.datasets import DATASETS

    spec = DATASETS.get(dataset)
    if spec is None:
        return {}
    out = {}
    for target, names in spec.targets.items():
        arabic = [n for n in names if _RTL.search(n)]
        out[target] = f"{target} · {arabic[0]}" if arabic else target
    return out


def actor_names(aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Actor id -> plot label from an actors file's aliases: the first Latin full name (two words or more)
    and the first Arabic alias, ``Sergei Lavrov · سيرغي لافروف``; the id stands in for a missing one."""
    out = {}
    for actor, names in aliases.items():
        names = [" ".join(str(n).split()) for n in names if str(n).strip() and str(n) != actor]
        latin = next((n for n in names if not _RTL.search(n) and len(n.split()) >= 2), None)
        arabic = next((n for n in names if _RTL.search(n)), None)
        out[str(actor)] = " · ".join(dict.fromkeys([latin or str(actor), *([arabic] if arabic else [])]))
    return out


def default_actor_names() -> dict[str, str]:
    """:func:`actor_names` of the shipped data/actors.yaml (the actors of the embedded corpus); {} when the
    file is missing or unreadable: a plot label is never a reason to fail (the checked reader is
    stancelab.articles.actors)."""
    import yaml

    from stancelab.data.datasets import REPO_ROOT

    try:
        mapping = yaml.safe_load((REPO_ROOT / "data" / "actors.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(mapping, dict):
        return {}
    return actor_names({str(k): v for k, v in mapping.items() if isinstance(v, list)})


def log_breakdown_plots(mlflow, per_target: Sequence[Mapping], per_actor: Sequence[Mapping], stage: str,
                        where: str, names: Mapping[str, str] | None = None,
                        actors: Mapping[str, str] | None = None) -> None:
    """Log ``plots/<stage>_f1_per_target.png`` and, when the data names actors, ``..._per_actor.png``
    (the largest groups only; actors by name, from ``actors`` or data/actors.yaml)."""
    for key, rows in (("target", per_target), ("actor", per_actor)):
        if not rows or (key == "actor" and all(r[key] in ("", "(none)") for r in rows)):
            continue
        labels = names if key == "target" else (actors if actors is not None else default_actor_names())
        fig = f1_bars_figure(rows, key, f"F1 per {key}: {where}", labels)
        mlflow.log_figure(fig, f"plots/{stage}_f1_per_{key}.png")
        close(fig)


def close(fig) -> None:
    _pyplot().close(fig)


# --------------------------------------------------------------------------- per-actor stance (articles)

def _label(text: str) -> str:
    """Every label of the per-actor chart passes here (the place to shape Arabic text for display)."""
    return shape_label(text)


STANCE_COLORS = {"favor": "#2e7d32", "against": "#c62828", "none": "#9e9e9e"}
SENTIMENT_COLORS = {"positive": "#1565c0", "negative": "#ef6c00", "neutral": "#cfd8dc"}


def actor_stance_figure(report: Sequence[dict], title: str, names: Mapping[str, str] | None = None,
                        top: int = TOP_GROUPS):
    """Stacked horizontal bars per actor (rows): one stance panel per target (favor / against / none
    counts) and a sentiment panel (positive / negative / neutral sentences), one legend below them all.

    ``report`` is :func:`stancelab.cli.article.actor_report`'s rows; ``names`` maps an actor id to its
    label (default: the id). The ``top`` actors with the most sentences are shown; the title says when
    there were more, so the figure never grows past a screen."""
    plt = _pyplot()
    names = names or {}
    targets = list(dict.fromkeys(g["target"] for g in report))
    cells = {(g["actor"], g["target"]): g for g in report}
    sizes: dict[str, int] = {}
    for g in report:
        sizes[g["actor"]] = max(sizes.get(g["actor"], 0), int(g.get("sentences", 0)))
    actors, note = _top(list(sizes), sizes.get, top, "actors")
    y = np.arange(len(actors))
    panels = [("stance", t, STANCE_COLORS) for t in targets] + [("sentiment", None, SENTIMENT_COLORS)]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.0 + 3.0 * len(panels), 1.9 + 0.36 * len(actors)),
                             dpi=110, sharey=True, squeeze=False, layout="constrained")
    def cell(actor: str, target: str | None) -> Mapping:
        if target is not None:
            return cells.get((actor, target), {})
        # sentiment is one label per sentence: every target's row of an actor counts the same sentences
        return next((cells[(actor, t)] for t in targets if (actor, t) in cells), {})

    for ax, (task, target, colors) in zip(axes[0], panels):
        left = np.zeros(len(actors))
        for label, color in colors.items():
            values = np.array([cell(a, target).get(label, 0) for a in actors], dtype=float)
            ax.barh(y, values, left=left, color=color, label=_label(label))
            left += values
        ax.set_title(_label(f"stance: {target}" if task == "stance" else "sentiment (all targets)"), fontsize=9)
        ax.set_xlabel(_label("sentences"))
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].invert_yaxis()  # first actor on top (the y axis is shared: invert once)
    axes[0][0].set_yticks(y, [_label(names.get(a, a)) for a in actors])
    handles = [h for ax in (axes[0][0], axes[0][-1]) for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles, [h.get_label() for h in handles], loc="outside lower center", ncol=len(handles),
               fontsize=8, frameon=False)
    fig.suptitle(_label(title + note), fontsize=10)
    return fig
