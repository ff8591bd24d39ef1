"""Train an experiment: python train.py [EXPERIMENT.yaml] [--set key=value ...]

Cross-validates every configuration of the experiment's grid on the train split, refits the best
on all of train, logs everything to MLflow, registers the model and moves the `champion` alias to
it when it beats the current champion on cross-validation. The logic is in stancelab.training.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_EXPERIMENT = Path(__file__).resolve().parent / "experiments" / "default.yaml"


def main(argv: list[str] | None = None) -> int:
    from stancelab.console import add_tracking_option, run_cli

    parser = argparse.ArgumentParser(prog="train.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", nargs="?", default=str(DEFAULT_EXPERIMENT), help="experiment YAML")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set cv.folds=3 --set model.classifier.C=2")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    parser.add_argument("--dask", metavar="SCHEDULER",
                        help="run the cross-validation on a Dask cluster (scheduler address, or 'local')")
    add_tracking_option(parser)
    args = parser.parse_args(argv)

    def body():
        from stancelab import tracking
        from stancelab.model.config import load_config
        from stancelab.console import print_table
        from stancelab.progress import Progress
        from stancelab.training.train import results_table, train

        config = load_config(args.experiment, args.overrides)
        with Progress(quiet=args.quiet) as progress:
            if args.dask:
                from stancelab.serving.distributed import train_on_dask

                result = train_on_dask(config, args.dask, args.tracking_uri, progress=progress)
            else:
                result = train(config, args.tracking_uri, progress=progress)
        for warning in result.data_warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if args.quiet:
            return 0
        print_table(results_table(result, config.cv.select_by),
                    title=f"{config.experiment}: {config.cv.folds}-fold CV on {config.dataset.name}:{config.dataset.train_split}")
        status = ("is now the champion" if result.champion
                  else f"did not beat the champion (v{result.previous_champion}) on cv_{config.cv.select_by}")
        print(f"registered {result.registered_model} v{result.model_version} ({result.best.name}); it {status}.")
        experiment = os.path.relpath(args.experiment) if not os.path.relpath(args.experiment).startswith("..") else args.experiment
        print(f"evaluate it once on the test split: python evaluate.py {experiment} --json results.json")
        print(f"browse the runs: {tracking.ui_command(tracking.tracking_uri(args.tracking_uri))}")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
