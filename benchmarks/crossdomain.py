"""Does one sentiment corpus help the other? Mawqif <-> ArSarcasm-v2, 5-fold CV on train splits only.

    python benchmarks/crossdomain.py [--data-dir ../shared/datasets] [--folds 5] [--weights 0.1 0.3]
                                     [--directions mawqif arsarcasm] [--n-jobs 1] [--json OUT]

For each direction (in-domain corpus D, other corpus O) the folds are ``cv_splits(D, folds, 13)`` on
D's train split, the folds train.py uses; O's train rows are added to every training fold and never to
a test fold (O rows whose normalised text also occurs in D are dropped first, so no D test text can be
trained on). One sentiment head: the project's shared word 1-2 + char_wb 2-5 TF-IDF block and
LogisticRegression(C=1, class_weight="balanced"). Variants:

- ``in-domain``: D's training fold only (the reference; the vectorizer is fitted on it);
- ``concat``: D's training fold + all of O, unweighted;
- ``weight w``: the same rows, O's rows with sample_weight w (balanced class weights are computed
  from the weighted label counts, as scikit-learn does when both are given);
- ``augment``: Daume III (2007) feature augmentation, x -> [x, x*1(D), x*1(O)], on D's fold + O;
  a D test row is [x, x, 0].

Every variant but the reference fits the vectorizer on D's training fold + O. Prints per direction
and variant the mean ± sd over folds of sentiment macro-F1 and F-PN, and the paired difference to
the reference (mean ± standard error, folds worse). "Helps" = better than the reference by more than
one paired standard error on the direction's headline metric (Mawqif: macro-F1; ArSarcasm: F-PN).
The test splits are never read; nothing is written except ``--json OUT``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from features.vectorizer import TextFeatures  # noqa: E402
from stancelab.data import datasets  # noqa: E402
from stancelab.scoring import metrics  # noqa: E402
from stancelab.training.cv import cv_splits  # noqa: E402

SEED = 13
LABELS = ("positive", "negative", "neutral")
FEATURES = dict(normalize={}, word={"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1},
                char={"ngram_range": (2, 5), "sublinear_tf": True, "min_df": 2})
DIRECTIONS = {  # in-domain corpus: (its tasks as train.py loads them, the other corpus, headline metric)
    "mawqif": (("stance", "sentiment"), "arsarcasm", "macro_f1"),
    "arsarcasm": (("sentiment",), "mawqif", "f_pn"),
}


def classifier() -> LogisticRegression:
    return LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=SEED)


def outside_rows(inside: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """The other corpus's rows whose normalised text does not occur in the in-domain corpus."""
    seen = set(inside["text"].map(datasets.text_key))
    return other[~other["text"].map(datasets.text_key).isin(seen)]


def augment(X: sp.csr_matrix, in_domain: np.ndarray) -> sp.csr_matrix:
    """Daume III's augmentation: [x, x if in-domain else 0, x if out-of-domain else 0]."""
    d = sp.diags(in_domain.astype(float))
    o = sp.diags((~in_domain).astype(float))
    return sp.hstack([X, d @ X, o @ X], format="csr")


def fold_predictions(inside: pd.DataFrame, other: pd.DataFrame, train_idx, test_idx,
                     weights) -> tuple[dict[str, np.ndarray], float]:
    """Test-fold predictions of every variant, and the fold's seconds."""
    start = time.perf_counter()
    text, y = inside["text"].to_numpy(), inside["sentiment"].to_numpy()
    train_text, test_text = list(text[train_idx]), list(text[test_idx])
    preds = {}

    vec = TextFeatures(**FEATURES)
    X = vec.fit_transform(train_text)
    preds["in-domain"] = classifier().fit(X, y[train_idx]).predict(vec.transform(test_text))

    vec = TextFeatures(**FEATURES)
    X = vec.fit_transform(train_text + list(other["text"]))
    X_test = vec.transform(test_text)
    y_all = np.concatenate([y[train_idx], other["sentiment"].to_numpy()])
    in_domain = np.arange(len(y_all)) < len(train_idx)
    preds["concat"] = classifier().fit(X, y_all).predict(X_test)
    for w in weights:
        sample_weight = np.where(in_domain, 1.0, w)
        preds[f"weight {w:g}"] = classifier().fit(X, y_all, sample_weight=sample_weight).predict(X_test)
    test_in = np.ones(len(test_idx), dtype=bool)
    preds["augment"] = classifier().fit(augment(X, in_domain), y_all).predict(augment(X_test, test_in))
    return preds, time.perf_counter() - start


def fold_scores(gold: np.ndarray, preds: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    return {variant: {"macro_f1": metrics.macro_f1(gold, pred, LABELS), "f_pn": metrics.f_pn(gold, pred)}
            for variant, pred in preds.items()}


def run_direction(name: str, data_dir: str | None, folds: int, weights, n_jobs: int) -> dict:
    """Per-fold scores of every variant for one in-domain corpus."""
    tasks, other_name, headline = DIRECTIONS[name]
    inside = datasets.load(name, "train", data_dir, tasks)
    other_all = datasets.load(other_name, "train", data_dir, ("sentiment",))
    other = outside_rows(inside, other_all)
    splits = cv_splits(inside, folds, SEED)
    jobs = (delayed(fold_predictions)(inside, other, tr, te, weights) for tr, te in splits)
    results = Parallel(n_jobs=n_jobs)(jobs)
    gold = inside["sentiment"].to_numpy()
    per_fold = [fold_scores(gold[te], preds) for (_, te), (preds, _) in zip(splits, results)]
    seconds = [s for _, s in results]
    for k, s in enumerate(seconds):
        print(f"  {name} fold {k + 1}: {s:.0f} s", flush=True)
    return {"in_domain": name, "other": other_name, "headline": headline, "rows": len(inside),
            "other_rows": len(other), "other_dropped": len(other_all) - len(other),
            "folds": per_fold, "fold_seconds": seconds}


def summarise(result: dict) -> list[dict]:
    """One row per variant: mean and sd over folds, paired difference to the reference."""
    folds, headline = result["folds"], result["headline"]
    rows = []
    for variant in folds[0]:
        row = {"variant": variant}
        for metric in ("macro_f1", "f_pn"):
            scores = np.array([f[variant][metric] for f in folds])
            delta = scores - np.array([f["in-domain"][metric] for f in folds])
            row[metric] = (scores.mean(), scores.std(ddof=1))
            row[f"delta_{metric}"] = (delta.mean(), delta.std(ddof=1) / np.sqrt(len(delta)),
                                      int((delta < 0).sum()))
        mean, se, _ = row[f"delta_{headline}"]
        row["helps"] = bool(variant != "in-domain" and mean > se)
        rows.append(row)
    return rows


def print_table(result: dict, rows: list[dict]) -> None:
    n = len(result["folds"])
    print(f"\n{result['in_domain']} sentiment, {n}-fold CV on train ({result['rows']} rows), "
          f"+ {result['other']} train ({result['other_rows']} rows, {result['other_dropped']} dropped "
          f"as texts also in {result['in_domain']}); headline {result['headline']}")
    print("| variant | macro-F1 | F-PN | Δ macro-F1 (folds worse) | Δ F-PN (folds worse) | helps |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        reference = row["variant"] == "in-domain"
        cells = [f"{100 * row[m][0]:.2f} ± {100 * row[m][1]:.2f}" for m in ("macro_f1", "f_pn")]
        for m in ("macro_f1", "f_pn"):
            mean, se, worse = row[f"delta_{m}"]
            cells.append("—" if reference else f"{100 * mean:+.2f} ± {100 * se:.2f} ({worse}/{n})")
        helps = "—" if reference else ("yes" if row["helps"] else "no")
        print(f"| {row['variant']} | " + " | ".join(cells) + f" | {helps} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--weights", type=float, nargs="*", default=[0.1, 0.3])
    parser.add_argument("--directions", nargs="+", choices=sorted(DIRECTIONS), default=["mawqif", "arsarcasm"])
    parser.add_argument("--n-jobs", type=int, default=1, help="folds fitted in parallel (default 1)")
    parser.add_argument("--json", metavar="OUT", help="also write per-fold scores and the summary here")
    args = parser.parse_args(argv)
    start, out = time.perf_counter(), []
    for name in args.directions:
        result = run_direction(name, args.data_dir, args.folds, args.weights, args.n_jobs)
        rows = summarise(result)
        print_table(result, rows)
        out.append({**result, "summary": rows})
    print(f"\nwall time {time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
