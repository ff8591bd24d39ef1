"""Figures logged to MLflow. matplotlib's Agg backend is chosen inside the functions, not at import."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=10)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                    color="white" if shares[i, j] > 0.6 else "black", fontsize=9)
    fig.tight_layout()
    return fig


def close(fig) -> None:
    _pyplot().close(fig)


# --------------------------------------------------------------------------- per-actor stance (articles)

def _label(text: str) -> str:
    """Every label of the per-actor chart passes here (the place to shape Arabic text for display)."""
    return str(text)


def actor_stance_figure(report: Sequence[dict], title: str):
    """Stacked horizontal bars: per actor (rows) and target (one panel each), favor / against / none counts."""
    plt = _pyplot()
    targets = list(dict.fromkeys(g["target"] for g in report))
    actors = list(dict.fromkeys(g["actor"] for g in report))
    cells = {(g["actor"], g["target"]): g for g in report}
    colors = {"favor": "#2e7d32", "against": "#c62828", "none": "#9e9e9e"}
    height = max(2.4, 0.42 * len(actors) + 1.4)
    fig, axes = plt.subplots(1, max(1, len(targets)), figsize=(3.6 * max(1, len(targets)) + 1.6, height),
                             dpi=110, sharey=True, squeeze=False)
    y = np.arange(len(actors))
    for ax, target in zip(axes[0], targets):
        left = np.zeros(len(actors))
        for label in ("favor", "against", "none"):
            values = np.array([cells.get((a, target), {}).get(label, 0) for a in actors], dtype=float)
            ax.barh(y, values, left=left, color=colors[label], label=_label(label))
            left += values
        ax.set_title(_label(target), fontsize=9)
        ax.set_xlabel(_label("sentences"))
    axes[0][0].invert_yaxis()  # first actor on top (the y axis is shared: invert once)
    axes[0][0].set_yticks(y, [_label(a) for a in actors])
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.suptitle(_label(title), fontsize=10)
    fig.tight_layout()
    return fig
