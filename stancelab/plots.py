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
