"""Time a sweep of >= 100 configurations with 5-fold CV on Mawqif through the project's own train().

    python benchmarks/sweep.py --json sweep.json                 # 100 configurations, all cores
    python benchmarks/sweep.py --limit 10 --json sweep10.json    # the first 10 only (a quick estimate)
    python benchmarks/sweep.py --dask tcp://scheduler:8786       # through joblib's Dask backend

The grid is char n-gram range (4) x char min_df (5) x C (5 values) = 100 configurations over the
Mawqif experiment; every configuration is cross-validated (nested MLflow runs in a temporary SQLite
store), the best refit and logged, as ``train.py`` does. Goal from the issue: <= 15 min on 2 cores.
C varies fastest, so ``--limit 25`` runs every C for the first 5 feature settings (C changes the
solver's work a lot: 8 to 60 lbfgs iterations). The machine is shared, so the load average and the
CPU seconds of this process and its workers are recorded too: CPU seconds / cores is what the
wall clock would be on otherwise idle cores (roughly: it ignores the time workers wait).
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

# The sweep's model family: the Mawqif experiment's per-target TF-IDF + logistic regression without the
# joint sentiment features and target mention that its final adds (those configurations take the plain
# CV path: the shared-count path does not cover them), with the fold cache on, as by default.
BASE = ["model.sentiment_features=false", "model.target_mention=false", "model.target_aliases={}", "cv.cache=true",
        "cv.select_sentiment_by=null", "model.classifier.C=0.5", "model.none_scale=0.5"]

GRID = {
    "model.char.ngram_range": [[2, 4], [2, 5], [1, 4], [3, 5]],
    "model.char.min_df": [1, 2, 3, 5, 10],
    "model.classifier.C": [0.1, 0.3, 1.0, 3.0, 10.0],
}


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its children (finished ones, and the live
    worker processes, which joblib keeps for reuse)."""
    import resource

    total = sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    try:
        import psutil  # comes with the scale extra (Dask)
    except ImportError:
        return total
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/sweep.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--limit", type=int, help="only the first N configurations")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--dask", metavar="SCHEDULER", help="scheduler address or 'local'")
    args = parser.parse_args(argv)

    from stancelab.model.config import load_config
    from stancelab.training.train import train

    combos = list(itertools.product(*GRID.values()))[: args.limit]
    grid = {key: sorted({json.dumps(c[i]) for c in combos}, key=lambda v: [json.dumps(x) for x in GRID[key]].index(v))
            for i, key in enumerate(GRID)}
    grid_text = "{" + ", ".join(f"{k}: [{', '.join(v)}]" for k, v in grid.items()) + "}"
    config = load_config(REPO / "experiments" / "mawqif.yaml",
                         [f"grid={grid_text}", f"cv.folds={args.folds}", f"n_jobs={args.n_jobs}", *BASE])
    n_configs = len(config.configurations())
    print(f"{n_configs} configurations x {args.folds} folds on Mawqif train ...", file=sys.stderr, flush=True)
    load_before, cpu_before = os.getloadavg()[0], cpu_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        start = time.perf_counter()
        if args.dask:
            from stancelab.serving.distributed import train_on_dask

            result = train_on_dask(config, args.dask, uri)
        else:
            result = train(config, uri)
        seconds = time.perf_counter() - start
        cpu = cpu_seconds() - cpu_before
        from mlflow.tracking import MlflowClient

        cv_wall = MlflowClient(uri).get_run(result.parent_run_id).data.metrics["cv_wall_seconds"]
    cv_seconds = sum(c.cv_seconds for c in result.configurations)
    rest = seconds - cv_wall  # data loading, the refit of the best and logging
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
           "load_average_1min_before": load_before, "load_average_1min_after": os.getloadavg()[0],
           "configurations": n_configs, "folds": args.folds, "n_jobs": args.n_jobs, "dask": args.dask,
           "total_s": seconds, "cv_wall_s": cv_wall, "cpu_s": cpu, "cv_s": cv_seconds,
           "cv_s_per_configuration": cv_seconds / n_configs,
           # linear in the configurations: pessimistic for the shared path, whose per-fold counting is a fixed cost
           "estimated_100_configurations_min": (rest + 100 * cv_wall / n_configs) / 60,
           "best": result.best.name, "best_cv_f_avg_target_mean": result.best.cv_mean.get("f_avg_target_mean")}
    print(f"| configurations | folds | total s | CV wall s | CPU s | load before/after | est. 100 configurations, min |\n"
          f"|---|---|---|---|---|---|---|\n| {n_configs} | {args.folds} | {seconds:.0f} | {cv_wall:.0f} | {cpu:.0f} | "
          f"{load_before:.1f}/{out['load_average_1min_after']:.1f} | {out['estimated_100_configurations_min']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
