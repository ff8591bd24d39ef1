"""One shared vocabulary or one per target? 5-fold CV on train, the same folds as train.py.

    python benchmarks/vocabulary.py [--data-dir ../shared/datasets] [--datasets mawqif semeval2016]

"shared": the model as shipped: one TF-IDF block (vocabulary and idf) fitted on all training texts,
read by every target's stance head. "per target": the same configuration fitted on one target's rows
at a time, so each target has its own vocabulary and idf (and the quote is featurised once per
target). Stance only, with the experiment's base model (``model:`` of its YAML, none_scale 1). Prints
per-fold scores and the paired difference (per target - shared) over folds, mean ± sd; the test split
is never read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stancelab.data import datasets  # noqa: E402
from stancelab.model.config import load_config  # noqa: E402
from stancelab.model.pipeline import build_pipeline  # noqa: E402
from stancelab.scoring import metrics  # noqa: E402
from stancelab.training.cv import cv_splits, model_input  # noqa: E402


def fold_scores(model_cfg, frame, splits, seed, per_target: bool) -> pd.DataFrame:
    rows = []
    X, y = model_input(frame), frame[["stance"]].astype(object)
    for train_idx, test_idx in splits:
        pred = np.empty(len(test_idx), dtype=object)
        test_targets = frame["target"].to_numpy()[test_idx]
        groups = sorted(set(frame["target"])) if per_target else [None]
        for target in groups:
            tr = train_idx if target is None else train_idx[frame["target"].to_numpy()[train_idx] == target]
            te = np.arange(len(test_idx)) if target is None else np.flatnonzero(test_targets == target)
            model = build_pipeline(model_cfg, ("stance",), seed).fit(X.iloc[tr], y.iloc[tr])
            pred[te] = model.predict(X.iloc[test_idx[te]])[:, 0]
        fold = frame.iloc[test_idx].assign(pred_stance=pred)
        rows.append(metrics.all_scores(fold, ["stance"]))
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--datasets", nargs="+", default=["mawqif", "semeval2016"])
    args = parser.parse_args(argv)
    for name in args.datasets:
        config = load_config(REPO / "experiments" / f"{name}.yaml")
        model_cfg = config.model.model_copy(update={"none_scale": 1.0})
        frame = datasets.load(name, "train", args.data_dir, ("stance",))
        splits = cv_splits(frame, config.cv.folds, config.seed)
        shared = fold_scores(model_cfg, frame, splits, config.seed, per_target=False)
        own = fold_scores(model_cfg, frame, splits, config.seed, per_target=True)
        print(f"\n{name}: {config.cv.folds}-fold CV on train, stance, {len(frame)} rows")
        for key in ("f_avg_target_mean", "f_avg", "stance_macro_f1"):
            delta = own[key] - shared[key]
            print(f"  {key:18s} shared {100 * shared[key].mean():6.2f} ± {100 * shared[key].std(ddof=1):4.2f}"
                  f"   per target {100 * own[key].mean():6.2f} ± {100 * own[key].std(ddof=1):4.2f}"
                  f"   paired delta {100 * delta.mean():+5.2f} ± {100 * delta.std(ddof=1):4.2f}"
                  f"   (folds where per target wins: {(delta > 0).sum()}/{len(delta)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
