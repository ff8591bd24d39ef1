"""Time a sweep of 100 configurations x 5-fold CV on Mawqif through the project's own ``train()``.

    python benchmarks/sweep.py --json sweep.json       # all 100 configurations (takes a while)
    python benchmarks/sweep.py --n 4 --folds 2         # the first 4 only: a smoke test / rough estimate
    python benchmarks/sweep.py --dask local            # the CV folds through joblib's Dask backend

The grid is classifier.C (5) x none_scale (5) x word ngram_range (2) x char ngram_range (2) = 100
configurations over ``experiments/mawqif.yaml`` (its own grid replaced). Every configuration is
cross-validated (nested MLflow runs in a temporary SQLite store), the best is refitted, logged and
registered, exactly as ``train.py`` does. Configurations that differ only in none_scale (a decision
threshold) share their fits, so the sweep fits 20 distinct models per fold. none_scale varies
fastest, so ``--n`` up to 5 fits one model per fold and a linear estimate from it is optimistic;
``--n 25`` covers every C and none_scale of the first (word, char) setting: 5 fits per fold, a
quarter of the full sweep's fitting.

The machine may be shared: the load average and the CPU seconds of this process and its workers are
recorded too (CPU seconds / cores is roughly what the wall clock would be on otherwise idle cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

GRID = {  # the last key varies fastest
    "model.word.ngram_range": [[1, 1], [1, 2]],
    "model.char.ngram_range": [[2, 5], [3, 5]],
    "model.classifier.C": [0.25, 0.5, 1.0, 2.0, 4.0],
    "model.none_scale": [0.5, 0.65, 0.8, 0.9, 1.0],
}


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its children (finished ones, and live worker
    processes, which joblib keeps for reuse, when psutil is installed)."""
    import resource

    total = sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    try:
        import psutil
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
    parser.add_argument("--n", type=int, help="only the first N configurations (grid order)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=-1, help="parallel CV jobs (joblib); -1 = all cores")
    parser.add_argument("--dask", metavar="SCHEDULER", help="scheduler address or 'local'")
    args = parser.parse_args(argv)

    from stancelab.model.config import load_config
    from stancelab.training.train import train

    overrides = [f"grid={json.dumps(GRID)}", f"cv.folds={args.folds}", f"n_jobs={args.n_jobs}",
                 "search.kind=grid"]
    if args.n:
        overrides.append(f"search.n_trials={args.n}")
    config = load_config(REPO / "experiments" / "mawqif.yaml", overrides)
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

        metrics = MlflowClient(uri).get_run(result.parent_run_id).data.metrics
    cv_wall, fit_s = metrics["cv_wall_seconds"], metrics.get("fit_seconds", float("nan"))
    rest = seconds - cv_wall  # data loading, the refit of the best, logging and registering
    select = config.cv.select_by
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
           "load_average_1min_before": load_before, "load_average_1min_after": os.getloadavg()[0],
           "configurations": n_configs, "folds": args.folds, "n_jobs": args.n_jobs, "dask": args.dask,
           "grid": GRID, "total_s": seconds, "cv_wall_s": cv_wall, "refit_s": fit_s, "cpu_s": cpu,
           "cv_s_summed": sum(c.cv_seconds for c in result.configurations),
           # linear in the configurations: see the module docstring for when that misleads
           "estimated_100_configurations_min": (rest + 100 * cv_wall / n_configs) / 60,
           "best": result.best.name, f"best_cv_{select}": result.best.cv_mean.get(select)}
    print(f"| configurations | folds | total s | CV wall s | CPU s | load before/after | est. 100 configurations, min |\n"
          f"|---|---|---|---|---|---|---|\n| {n_configs} | {args.folds} | {seconds:.0f} | {cv_wall:.0f} | {cpu:.0f} | "
          f"{load_before:.1f}/{out['load_average_1min_after']:.1f} | {out['estimated_100_configurations_min']:.1f} |\n"
          f"best: {result.best.name} (CV {select} {out[f'best_cv_{select}']:.4f})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
