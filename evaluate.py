"""Evaluate a model once on a split, with bootstrap 95% intervals.

    python evaluate.py EXPERIMENT.yaml --split test --json OUT.json     # the experiment's champion
    python evaluate.py --model models:/mawqif-stance/3 --data mawqif:test --json OUT.json
    python evaluate.py --compare RUN_A RUN_B --json OUT.json  # paired bootstrap + McNemar, B vs A
    python evaluate.py --predictions PRED.jsonl --data mawqif:test      # score a file (id,target,stance[,sentiment])
    python evaluate.py report [--experiment NAME ...] --output report.html|.md   # experiments side by side
    python evaluate.py ablation EXPERIMENT.yaml [--update-docs]  # each component off, by CV on train, paired vs full

The JSON holds n, f_avg (SemEval-2016), f_avg_target_mean (StanceEval 2024), sentiment_f_pn (WANLP 2021),
stance and sentiment macro-F1 and accuracy, each as {value, ci_low, ci_high}, plus per-target and per-actor
breakdowns (and per dialect, for ArSarcasm-v2).
An evaluation run is logged to MLflow with confusion matrices and a CSV of errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

METRIC_KEYS = ("f_avg", "f_avg_target_mean", "stance_macro_f1", "stance_accuracy",
               "sentiment_macro_f1", "sentiment_f_pn", "sentiment_accuracy")




def write_json(result: dict, path: Path) -> None:
    from stancelab.data.files import atomic_output

    with atomic_output(path) as handle:
        json.dump(result, handle, ensure_ascii=False, indent=2)


def report_main(argv: list[str]) -> int:
    """``evaluate.py report``: one page comparing MLflow experiments (stancelab.report.write_comparison)."""
    from stancelab.console import add_tracking_option, run_cli

    parser = argparse.ArgumentParser(prog="evaluate.py report",
                                     description="Compare MLflow experiments side by side: CV and test metrics with "
                                                 "95%% intervals, the published anchors and the logged plots.")
    parser.add_argument("--experiment", action="append", metavar="NAME",
                        help="MLflow experiment name (repeat; default: every experiment with a training run)")
    parser.add_argument("--output", type=Path, help="report.html (self-contained) or report.md")
    parser.add_argument("--readme", action="store_true",
                        help="rewrite the README's results tables from the final and baseline experiments' "
                             "champions, with the paired test and the count of test evaluations")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    add_tracking_option(parser)
    args = parser.parse_args(argv)

    def body():
        from stancelab.console import print_table
        from stancelab.errors import UserError
        from stancelab.evaluation import report

        if args.readme:
            table = report.results_markdown(report.results_tables(args.tracking_uri))
            report.update_readme(table)
            return 0 if args.quiet else print(table)
        if args.output is None:
            raise UserError("evaluate.py report needs --output FILE (.html or .md), or --readme")
        summaries = report.write_comparison(args.output, args.experiment, args.tracking_uri)
        if not args.quiet:
            rows, key = _report_table(summaries, report)
            print_table(rows, title="experiments side by side (percent; test with 95% CI)", key=key)
            print(f"wrote {args.output}")
        return 0

    return run_cli(body)


def _report_table(summaries: list[dict], report) -> tuple[list[dict], dict[str, str]]:
    """The printed side-by-side table: per experiment its chosen configuration's CV score and its newest
    evaluation, then the published anchors of each benchmark; percent with one decimal."""
    from stancelab.console import metric_key, pct_ci, pct_sd, short

    rows, key, anchored = [], {"CV": "cv_<select_by>: the selection metric, mean ± sd over CV folds on train"}, set()
    for summary in summaries:
        sweep, evaluation = summary["sweep"].data, summary["evaluation"]
        m, split = (evaluation.data.metrics, evaluation.data.tags.get("split", "test")) if evaluation else ({}, "test")
        cv = sweep.metrics.get(f"cv_{summary['select_by']}")
        chosen = sweep.tags.get("chosen_configuration") or sweep.tags.get("best_configuration", "")
        rows.append({"system": f"{summary['experiment']}: {chosen}",
                     "CV": pct_sd(cv, sweep.metrics.get(f"cv_{summary['select_by']}_std")) if cv is not None else "–",
                     **{short(k): (pct_ci(m[f"{split}_{k}"], m.get(f"{split}_{k}_ci_low"), m.get(f"{split}_{k}_ci_high"))
                                   if f"{split}_{k}" in m else "–") for k in report.COLUMNS},
                     "n": str(int(m.get(f"{split}_n", 0))) if evaluation else "–"})
        for anchor in ([] if summary["dataset"] in anchored else report.ANCHORS.get(summary["dataset"], [])):
            rows.append({"system": f"published: {anchor[0]}", "CV": "",
                         **{short(k): (f"{anchor[2]:.1f}" if k == anchor[1] else "") for k in report.COLUMNS}, "n": ""})
        anchored.add(summary["dataset"])
    return rows, {**key, **metric_key(report.COLUMNS, "test_"), "n": "rows of the evaluated split"}


def _parser() -> argparse.ArgumentParser:
    from stancelab.console import add_model_loading_options

    parser = argparse.ArgumentParser(prog="evaluate.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", nargs="?", help="experiment YAML: evaluates its registered champion")
    parser.add_argument("--split", help="split to evaluate (default: the experiment's test split)")
    parser.add_argument("--model", help="model URI (models:/name@alias, models:/name/version, runs:/id/model)")
    parser.add_argument("--data", help="NAME:SPLIT, e.g. mawqif:test, or PATH.csv:SPLIT for a schema CSV")
    parser.add_argument("--predictions", type=Path,
                        help="score this .csv/.jsonl (id,target,stance[,sentiment]) instead of a model; its ids "
                             "must match the gold split's one to one (nothing is logged)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--bootstrap", type=int, help="bootstrap resamples (default: the experiment's, or 1000)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--no-log", action="store_true", help="do not log an evaluation run to MLflow")
    parser.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"),
                        help="compare two evaluation runs on the same rows: paired bootstrap and McNemar (B vs A)")
    parser.add_argument("--quiet", action="store_true", help="no progress and no table (warnings and errors only)")
    add_model_loading_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    from stancelab.console import run_cli

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["report"]:
        return report_main(argv[1:])
    if argv[:1] == ["ablation"]:
        from stancelab.training.ablation import main as ablation_main

        return ablation_main(argv[1:])
    args = _parser().parse_args(argv)
    return run_cli(lambda: _evaluate(args))


def _target(args) -> dict:
    """What to evaluate, from the experiment YAML and the flags that override it."""
    from stancelab.errors import UserError
    from stancelab.model.config import load_config

    out = {"experiment": None, "data_dir": None, "seed": 0, "resamples": 1000, "verify": True,
           "model_uri": args.model, "dataset": None, "split": args.split}
    if args.experiment:
        config = load_config(args.experiment, args.overrides)
        out.update(experiment=config.experiment, data_dir=config.dataset.data_dir, seed=config.seed,
                   resamples=config.bootstrap, verify=config.dataset.verify_checksums,
                   model_uri=args.model or f"models:/{config.model_name}@champion", dataset=config.dataset.name,
                   split=args.split or config.dataset.test_split)
    if args.data:
        name, sep, data_split = args.data.rpartition(":")
        if not sep or not name or not data_split:
            raise UserError(f"--data '{args.data}': expected NAME:SPLIT, e.g. mawqif:test")
        out.update(dataset=name, split=data_split)
    out["n_resamples"] = args.bootstrap if args.bootstrap is not None else out["resamples"]
    return out


def _evaluate(args) -> int:
    from stancelab.console import metric_key, pct, print_table, short
    from stancelab.data.files import check_output_folder
    from stancelab.errors import UserError
    from stancelab.evaluation.evaluate import evaluate, score_predictions

    if args.json:
        check_output_folder(args.json)
    if args.compare:
        return _compare(args)
    t = _target(args)
    dataset, split, n_resamples = t["dataset"], t["split"], t["n_resamples"]
    if args.predictions is not None:
        if args.model or dataset is None:
            raise UserError("--predictions FILE needs --data NAME:SPLIT (or an experiment YAML) and no --model")
        result = score_predictions(args.predictions, dataset, split, data_dir=t["data_dir"], n_resamples=n_resamples,
                                   seed=t["seed"], verify_checksums=t["verify"])
    else:
        if dataset is None or t["model_uri"] is None:
            raise UserError("give an experiment YAML, or --model URI with --data NAME:SPLIT")
        from stancelab.progress import Progress

        with Progress(quiet=args.quiet) as progress:
            tasks = []  # the progress line starts once the model and data have loaded cleanly
            result = evaluate(t["model_uri"], dataset, split, data_dir=t["data_dir"], tracking_uri=args.tracking_uri,
                              experiment=t["experiment"], n_resamples=n_resamples, seed=t["seed"],
                              log=not args.no_log, allow_unsafe=args.allow_unsafe_pickle, verify_checksums=t["verify"],
                              on_start=lambda: tasks.append(progress.add_task(
                                  f"evaluating on {dataset}:{split}, {n_resamples} bootstrap resamples", total=1)))
            for task in tasks:
                progress.advance(task)
    if args.json:
        write_json(result, args.json)
    for warning in result["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    keys = [k for k in METRIC_KEYS if k in result]
    rows = [{"metric": short(k), "value": pct(result[k]["value"]),
             "95% CI": f"[{pct(result[k]['ci_low'])}, {pct(result[k]['ci_high'])}]"} for k in keys]
    if not args.quiet:
        print_table(rows, title=f"{result.get('model_uri') or result['predictions']} on {dataset}:{split} "
                                f"(n={result['n']}, percent)", key=metric_key(keys, f"{split}_"))
    if args.json and not args.quiet:
        print(f"wrote {args.json}")
    return 0


def _compare(args) -> int:
    from stancelab.scoring.compare import compare_runs
    from stancelab.console import metric_key, pct, print_table, short

    result = compare_runs(*args.compare, args.tracking_uri,
                          n_resamples=args.bootstrap if args.bootstrap is not None else 1000)
    if args.json:
        write_json(result, args.json)
    rows = [{"metric": short(k), "A": pct(m["a"]), "B": pct(m["b"]), "B - A": f"{100 * m['delta']:+.1f}",
             "95% CI": f"[{100 * m['ci_low']:+.1f}, {100 * m['ci_high']:+.1f}]", "p": f"{m['p_value']:.3f}"}
            for k, m in result["metrics"].items()]
    print_table(rows, title=f"B = {result['name_b']} vs A = {result['name_a']} (n={result['n']}, percent)",
                key={**metric_key(result["metrics"]),
                     "B - A": "the paired difference in percentage points, with its 95% bootstrap interval",
                     "p": "the paired bootstrap's two-sided p-value"})
    for task, m in result["mcnemar"].items():
        print(f"McNemar {task}: only A correct {m['only_a_correct']}, only B correct {m['only_b_correct']}, "
              f"exact p = {m['p_value']:.4f}")
    if args.json:
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
