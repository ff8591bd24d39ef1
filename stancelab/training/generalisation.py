"""Generalisation reports: how does a configuration do on a target (or actor) it never saw?

    python -m stancelab.training.generalisation experiments/mawqif.yaml --by target   # leave-one-target-out
    python -m stancelab.training.generalisation experiments/default.yaml --by actor   # leave-one-actor-out

For each value of the column, the experiment's model configuration (``model``, without its grid) is
fitted on the train-split rows with other values and scored on the held-out rows. Leaving a target
out needs one pooled stance head (a per-target head has nothing to route an unseen target to), so the
other targets' rows train one head under a single pseudo-target, which then scores the held-out
target's rows. Only train is read.
Each report is its own MLflow run (``role=generalisation``): the mean over groups as metrics
(``cv_loto_<metric>`` / ``cv_loao_<metric>``) and the per-group table as ``reports/cv_loto.csv``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

from stancelab.data import datasets
from stancelab.scoring import metrics
from stancelab import tracking
from stancelab.model.config import ExperimentConfig
from stancelab.errors import UserError
from stancelab.model.pipeline import build_pipeline
from stancelab.training.cv import model_input

KINDS = {"target": "leave-one-target-out", "actor": "leave-one-actor-out"}
POOLED = "(any target)"


def leave_one_out(config: ExperimentConfig, by: str, tracking_uri: str | None = None, log: bool = True,
                  only: list[str] | None = None) -> dict:
    """One fit per held-out value of ``by`` (``only``: just these values)."""
    if by not in KINDS:
        raise UserError(f"--by {by}: expected one of {', '.join(KINDS)}")
    tasks = list(config.tasks)
    frame = datasets.load(config.dataset.name, config.dataset.train_split, config.dataset.data_dir, tasks)
    groups = sorted(v for v in frame[by].unique() if v and (only is None or v in only))
    if len(groups) < 2:
        raise UserError(f"{config.dataset.name}: needs at least two {by}s for {KINDS[by]} (found {len(groups)})")
    model_cfg = config.model
    inputs = model_input(frame)
    if by == "target":  # one pooled stance head: every row under one pseudo-target
        inputs = inputs.assign(target=POOLED)
    rows = []
    for group in groups:
        held = (frame[by] == group).to_numpy()
        # Holding out an actor holds out all of their sentences (for every target). Holding out a
        # target keeps its sentences' labels for the *other* targets in training: the held-out
        # target's labels are never seen, which is the question asked.
        train_rows = ~held
        model = build_pipeline(model_cfg, tasks, config.seed).fit(
            inputs[train_rows], frame.loc[train_rows, tasks].astype(object))
        test = frame[held]
        pred = model.predict(inputs[held])
        scored = test.assign(**{f"pred_{t}": pred[:, i] for i, t in enumerate(tasks)})
        rows.append({by: group, "n_train": int(train_rows.sum()), "n_test": int(held.sum()),
                     **metrics.all_scores(scored, tasks)})
    table = pd.DataFrame(rows)
    means = table.drop(columns=[by, "n_train", "n_test"]).mean().to_dict()
    result = {"by": by, "kind": KINDS[by], "table": table, "mean": means}
    if log:
        result["run_id"] = _log(config, by, table, means, sorted(frame["target"].unique()), tracking_uri)
    return result


def _log(config, by, table, means, targets, tracking_uri) -> str:
    import mlflow

    from stancelab.training.train import flat_params

    tracking.setup(tracking_uri)
    tracking.ensure_experiment(config.experiment)
    label = datasets.label(config.dataset.name)
    prefix = f"cv_lo{by[0]}o"
    with mlflow.start_run(run_name=f"{KINDS[by]} on {label}",
                          tags={"role": "generalisation", "generalisation": KINDS[by], "dataset": label,
                                "split": config.dataset.train_split, "tasks": ",".join(config.tasks),
                                "targets": ",".join(targets),
                                **tracking.git_info()}) as run:
        mlflow.log_params(flat_params(config.model))
        mlflow.log_metrics({f"{prefix}_{k}": v for k, v in means.items()})
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{prefix}.csv"
            table.to_csv(path, index=False)
            mlflow.log_artifact(str(path), "reports")
        return run.info.run_id


def main(argv: list[str] | None = None) -> int:
    from stancelab.model.config import load_config
    from stancelab.console import METRICS, add_tracking_option, metric_key, pct, print_table, run_cli, short

    parser = argparse.ArgumentParser(prog="python -m stancelab.training.generalisation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", help="experiment YAML (its `model` section is used, not its grid)")
    parser.add_argument("--by", choices=sorted(KINDS), default="target")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--only", action="append", metavar="VALUE", help="hold out only this target/actor (repeatable)")
    parser.add_argument("--no-log", action="store_true")
    add_tracking_option(parser)
    args = parser.parse_args(argv)

    def body():
        config = load_config(args.experiment, args.overrides)
        result = leave_one_out(config, args.by, args.tracking_uri, log=not args.no_log, only=args.only)
        rows = result["table"].to_dict("records")
        scores = [k for k in rows[0] if k in METRICS] if rows else []
        print_table([{short(k) if k in METRICS else k: (pct(v) if k in METRICS else v) for k, v in row.items()}
                     for row in rows], title=f"{result['kind']}: {config.dataset.name} (percent)",
                    key=metric_key(scores, "", ", on the held-out group"))
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
