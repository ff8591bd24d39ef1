"""Batch, one quote and a skops round trip give the same predictions, on the Mawqif final.

    python benchmarks/consistency.py [--model models:/mawqif-stance@champion] [--tracking-uri URI]

Scores the raw Mawqif test split (read with ``keep_default_na=False``, as the loader does) through the
public API three ways: one batch, one quote per call, and one batch through a model re-read from its
skops file. Prints the number of differing labels and the largest probability difference per task.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    import numpy as np
    import pandas as pd
    import skops.io

    import predict
    from stancelab.model.pipeline import TRUSTED_TYPES
    from stancelab.serving.predictor import Predictor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models:/mawqif-stance@champion")
    parser.add_argument("--tracking-uri")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    args = parser.parse_args(argv)
    model = predict.load(args.model, args.tracking_uri)
    raw = pd.read_csv(Path(args.data_dir) / "mawqif" / "test.csv", keep_default_na=False)
    records = [{"text": t, "target": g} for t, g in zip(raw["text"], raw["target"])]
    batch = model.predict(records)
    one = [model.predict([r])[0] for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        skops.io.dump(model.pipeline, Path(tmp) / "m.skops")
        again = Predictor(skops.io.load(Path(tmp) / "m.skops", trusted=TRUSTED_TYPES), args.model,
                          metadata=model.metadata).predict(records)
    for name, other in (("one quote per call", one), ("skops round trip", again)):
        for task in model.tasks:
            labels = sum(a[task] != b[task] for a, b in zip(batch, other))
            gap = max(abs(a[f"{task}_proba"][k] - b[f"{task}_proba"][k]) for a, b in zip(batch, other)
                      for k in a[f"{task}_proba"])
            evidence = sum(a["evidence"][task] != b["evidence"][task] for a, b in zip(batch, other))
            print(f"{name:20s} {task:9s} rows {len(records)}  labels differing {labels}  "
                  f"max |p diff| {gap:.1e} (probabilities are rounded to 4 places)  evidence differing {evidence}")
    raw_proba = model.predict_proba(model.frame(records))
    one_proba = [model.predict_proba(model.frame([r])) for r in records]
    for t, task in enumerate(model.tasks):
        gap = max(float(np.abs(raw_proba[t][i] - p[t][0]).max()) for i, p in enumerate(one_proba))
        print(f"unrounded: batch vs one quote, {task}: max |p diff| {gap:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
