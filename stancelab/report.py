"""Results tables generated from MLflow (never typed by hand).

    python -m stancelab.report                   # print the markdown table
    python -m stancelab.report --update-readme   # rewrite the table between the README markers

For every experiment YAML it finds the newest test-split evaluation run of the registered
champion and prints its metrics with 95% intervals next to the published anchors.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from stancelab import tracking
from stancelab.datasets import REPO_ROOT
from stancelab.errors import UserError

START, END = "<!-- results:start -->", "<!-- results:end -->"

# Published numbers on the same test splits (percent). The metric column says which of ours compares.
ANCHORS = {
    "semeval2016": [("SVM-ngrams baseline (Mohammad et al. 2016)", "f_avg", 68.98),
                    ("best of 19 teams, MITRE (SemEval-2016)", "f_avg", 67.82),
                    ("RoBERTa-base (TweetEval setting)", "f_avg", 68.0),
                    ("best TweetEval model", "f_avg", 72.9)],
    "mawqif": [("best StanceEval 2024 team", "f_avg_target_mean", 84.38),
               ("Mawqif paper's best BERT model", "f_avg_target_mean", 78.89),
               ("sentence-transformer + LR (StanceEval 2024)", "f_avg_target_mean", 71.77)],
}
COLUMNS = ("f_avg", "f_avg_target_mean", "stance_macro_f1", "sentiment_macro_f1")


def _fmt(metrics: dict, key: str, split: str) -> str:
    value = metrics.get(f"{split}_{key}")
    if value is None:
        return "–"
    low, high = metrics.get(f"{split}_{key}_ci_low"), metrics.get(f"{split}_{key}_ci_high")
    return f"{100 * value:.2f} [{100 * low:.1f}, {100 * high:.1f}]" if low is not None else f"{100 * value:.2f}"


def results_rows(experiments: list[Path], tracking_uri: str | None = None, split: str = "test") -> list[dict]:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from stancelab.config import load_config

    tracking.setup(tracking_uri)
    client = MlflowClient()
    rows = []
    for path in experiments:
        config = load_config(path)
        try:
            champion = client.get_model_version_by_alias(config.model_name, "champion")
        except MlflowException:
            continue
        experiment = client.get_experiment_by_name(config.experiment)
        if experiment is None:
            continue
        runs = client.search_runs(
            [experiment.experiment_id],
            f"tags.role = 'evaluation' and tags.split = '{split}' and tags.registered_model = '{config.model_name}' "
            f"and tags.model_version = '{champion.version}'",
            order_by=["attributes.start_time DESC"], max_results=1)
        if not runs:
            continue
        train_run = client.get_run(champion.run_id)
        metrics = runs[0].data.metrics
        rows.append({
            "benchmark": config.dataset.name,
            "system": f"{'backbone' if config.model_name.endswith('-baseline') else 'ours'}: {config.model_name} v{champion.version} ({train_run.data.tags.get('best_configuration', '')})",
            **{key: _fmt(metrics, key, split) for key in COLUMNS},
            "n": int(metrics.get(f"{split}_n", 0)),
            "train s": f"{train_run.data.metrics.get('fit_seconds', float('nan')):.1f}",
        })
    # published anchors once per benchmark, after our rows for it
    out = []
    for benchmark in dict.fromkeys(r["benchmark"] for r in rows):
        out += [r for r in rows if r["benchmark"] == benchmark]
        for name, metric, value in ANCHORS.get(benchmark, []):
            out.append({"benchmark": benchmark, "system": name,
                        **{key: (f"{value:.2f}" if key == metric else "") for key in COLUMNS}, "n": "", "train s": ""})
    return out


def markdown(rows: list[dict]) -> str:
    if not rows:
        return "_No evaluated champions in the tracking store yet._"
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row[h]) for h in header) + " |" for row in rows]
    return "\n".join(lines)


def update_readme(table: str, readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise UserError(f"{readme}: markers {START} / {END} not found")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    readme.write_text(pattern.sub(lambda _: f"{START}\n{table}\n{END}", text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    from stancelab.console import run_cli

    parser = argparse.ArgumentParser(prog="python -m stancelab.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiments", nargs="*", type=Path,
                        default=[REPO_ROOT / "experiments" / n for n in ("mawqif-baseline.yaml", "mawqif.yaml",
                                                                         "semeval2016-baseline.yaml", "semeval2016.yaml",
                                                                         "default.yaml")])
    parser.add_argument("--tracking-uri")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)

    def body():
        table = markdown(results_rows(args.experiments, args.tracking_uri))
        if args.update_readme:
            update_readme(table, REPO_ROOT / "README.md")
        print(table)

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
