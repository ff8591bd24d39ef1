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
        from stancelab.progress import Progress

        with Progress(quiet=args.quiet) as progress:
            progress.note("loading libraries ...")  # imports, data and store take seconds: never a silent pause
            from stancelab.model.config import load_config
            from stancelab.training.train import train

            config = load_config(args.experiment, args.overrides)
            progress.note(f"{config.experiment}: {len(config.configurations())} configurations × {config.cv.folds} "
                          f"folds on {config.dataset.name}:{config.dataset.train_split}; loading the data and the "
                          "MLflow store ...")
            if args.dask:
                from stancelab.serving.distributed import train_on_dask

                result = train_on_dask(config, args.dask, args.tracking_uri, progress=progress)
            else:
                result = train(config, args.tracking_uri, progress=progress)
        for warning in result.data_warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if not args.quiet:
            _summary(args, config, result)
        return 0

    return run_cli(body)


def _summary(args, config, result) -> None:
    """The CV table with its key, the registration, and the next two commands (the README's)."""
    from stancelab import tracking
    from stancelab.console import print_table
    from stancelab.training.train import results_key, results_table

    select, folds = config.cv.select_by, config.cv.folds
    print_table(results_table(result, select), key=results_key(select, folds, config.cv.rule),
                title=f"{config.experiment}: {folds}-fold CV on {config.dataset.name}:{config.dataset.train_split}")
    status = ("is now the champion" if result.champion
              else f"did not beat the champion (v{result.previous_champion}) on cv_{select}")
    print(f"registered {result.registered_model} v{result.model_version} ({result.best.name}); it {status}.")
    experiment = os.path.relpath(args.experiment)
    experiment = args.experiment if experiment.startswith("..") else experiment
    uri = tracking.tracking_uri(args.tracking_uri)
    print("evaluate it once on the test split:")
    print(f"  python evaluate.py {experiment} --split {config.dataset.test_split} --json results.json")
    print("compare the runs in the MLflow UI, on the key CV metric and the swept params:")
    if uri.startswith(("http://", "https://")):
        print(f"  open {tracking.ui_url(uri, result.experiment_id)}")
    else:
        print(f"  {tracking.ui_command(uri)}")
        print(f"  then open {tracking.ui_url(uri, result.experiment_id)}")


if __name__ == "__main__":
    sys.exit(main())
