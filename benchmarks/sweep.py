"""Time a sweep of >= 100 configurations with 5-fold CV on Mawqif through the project's own train().

    python benchmarks/sweep.py --json sweep.json                 # 100 configurations, all cores
    python benchmarks/sweep.py --limit 10 --json sweep10.json    # the first 10 only (a quick estimate)
    python benchmarks/sweep.py --dask tcp://scheduler:8786       # through joblib's Dask backend

The grid is C (5 values) x char n-gram range (4) x char min_df (5) = 100 configurations over the
Mawqif experiment; every configuration is cross-validated (nested MLflow runs in a temporary SQLite
store), the best refit and logged, as ``train.py`` does. Goal from the issue: <= 15 min on 2 cores.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

GRID = {
    "model.classifier.C": [0.1, 0.3, 1.0, 3.0, 10.0],
    "model.char.ngram_range": [[2, 4], [2, 5], [1, 4], [3, 5]],
    "model.char.min_df": [1, 2, 3, 5, 10],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/sweep.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--limit", type=int, help="only the first N configurations")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--dask", metavar="SCHEDULER", help="scheduler address or 'local'")
    args = parser.parse_args(argv)

    from stancelab.config import load_config
    from stancelab.training import train

    combos = list(itertools.product(*GRID.values()))[: args.limit]
    grid = {key: sorted({json.dumps(c[i]) for c in combos}, key=lambda v: [json.dumps(x) for x in GRID[key]].index(v))
            for i, key in enumerate(GRID)}
    grid_text = "{" + ", ".join(f"{k}: [{', '.join(v)}]" for k, v in grid.items()) + "}"
    config = load_config(REPO / "experiments" / "mawqif.yaml",
                         [f"grid={grid_text}", f"cv.folds={args.folds}", f"n_jobs={args.n_jobs}"])
    n_configs = len(config.configurations())
    print(f"{n_configs} configurations x {args.folds} folds on Mawqif train ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        start = time.perf_counter()
        if args.dask:
            from stancelab.distributed import train_on_dask

            result = train_on_dask(config, args.dask, uri)
        else:
            result = train(config, uri)
        seconds = time.perf_counter() - start
    cv_seconds = sum(c.cv_seconds for c in result.configurations)
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
           "configurations": n_configs, "folds": args.folds, "n_jobs": args.n_jobs, "dask": args.dask,
           "total_s": seconds, "cv_s": cv_seconds, "cv_s_per_configuration": cv_seconds / n_configs,
           "estimated_100_configurations_min": (seconds - cv_seconds + 100 * cv_seconds / n_configs) / 60,
           "best": result.best.name, "best_cv_f_avg_target_mean": result.best.cv_mean.get("f_avg_target_mean")}
    print(f"| configurations | folds | total s | CV s per configuration | est. 100 configurations, min |\n"
          f"|---|---|---|---|---|\n| {n_configs} | {args.folds} | {seconds:.0f} | "
          f"{out['cv_s_per_configuration']:.1f} | {out['estimated_100_configurations_min']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
