"""Results tables and comparison pages generated from MLflow (never typed by hand).

    python evaluate.py report --readme   # rewrite the results table between the README's markers
    python evaluate.py report [--experiment NAME ...] --output report.html|.md

For every experiment YAML it finds the newest test-split evaluation run of the registered
champion and prints its metrics with 95% intervals next to the published anchors.
``evaluate.py report`` puts MLflow experiments side by side (see :func:`compare_experiments`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stancelab import tracking
from stancelab.data.datasets import REPO_ROOT
from stancelab.data.files import write_between_markers
from stancelab.errors import UserError
from stancelab.evaluation.evaluate import evaluations, test_looks

__all__ = ["BENCHMARKS", "FINALS", "results_markdown", "results_tables", "test_looks", "update_readme"]
EXPERIMENTS = REPO_ROOT / "experiments"

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
    "arsarcasm": [("best WANLP 2021 system (MARBERT)", "sentiment_f_pn", 74.8),
                  ("3rd place, WANLP 2021 (MARBERT)", "sentiment_f_pn", 73.21)],
}
COLUMNS = ("f_avg", "f_avg_target_mean", "stance_macro_f1", "sentiment_macro_f1")


@dataclass(frozen=True)
class Benchmark:
    """One results table: the official metric first, then the other columns; the baseline and final
    experiments (file names in experiments/)."""

    title: str
    official: str
    columns: tuple[str, ...]
    final: str
    baseline: str | None = None


BENCHMARKS = {
    "mawqif": Benchmark("Mawqif: Arabic stance, 3 targets (StanceEval 2024 metric)", "f_avg_target_mean",
                        ("f_avg", "sentiment_macro_f1"), "mawqif.yaml", "mawqif-baseline.yaml"),
    "semeval2016": Benchmark("SemEval-2016 Task 6 A: English stance, 5 targets (eval.pl metric)", "f_avg",
                             ("f_avg_target_mean", "sentiment_macro_f1"), "semeval2016.yaml",
                             "semeval2016-baseline.yaml"),
    "arsarcasm": Benchmark("ArSarcasm-v2: Arabic sentiment, 5 dialects (WANLP 2021 F-PN)", "sentiment_f_pn",
                           ("sentiment_macro_f1", "sentiment_accuracy"), "arsarcasm.yaml", "arsarcasm-baseline.yaml"),
    "idlib": Benchmark("Embedded Idlib corpus (ours; small, for the tour)", "f_avg_target_mean",
                       ("f_avg", "sentiment_macro_f1"), "default.yaml"),
}
FINALS = tuple(name for b in BENCHMARKS.values() for name in (b.baseline, b.final) if name)


def _fmt(metrics: dict, key: str, split: str) -> str:
    """``75.8 [72.1, 79.3]`` (percent, 95% interval) from ``<split>_<key>`` and its ``_ci_low/_ci_high``."""
    value = metrics.get(f"{split}_{key}")
    if value is None:
        return "–"
    low, high = metrics.get(f"{split}_{key}_ci_low"), metrics.get(f"{split}_{key}_ci_high")
    return f"{100 * value:.1f} [{100 * low:.1f}, {100 * high:.1f}]" if low is not None else f"{100 * value:.1f}"


def _champion_evaluation(client, path: Path, split: str):
    """(config, champion version, its newest ``split`` evaluation run, its training run), or None."""
    from mlflow.exceptions import MlflowException

    from stancelab.model.config import load_config

    config = load_config(path)
    try:
        champion = client.get_model_version_by_alias(config.model_name, "champion")
    except MlflowException:
        return None
    runs = evaluations(client, split, registered_model=config.model_name, model_version=str(champion.version))
    return (config, champion, runs[0], client.get_run(champion.run_id)) if runs else None


def results_tables(tracking_uri: str | None = None, split: str = "test", n_resamples: int = 1000) -> dict[str, dict]:
    """Per benchmark with an evaluated final: its rows (baseline, final, anchors), the paired bootstrap of
    final - baseline on the official metric, and the number of test evaluations in the store."""
    from mlflow.tracking import MlflowClient

    from stancelab.scoring.compare import compare_runs

    tracking.setup(tracking_uri)
    client = MlflowClient()
    out = {}
    for dataset, bench in BENCHMARKS.items():
        found = {role: _champion_evaluation(client, EXPERIMENTS / name, split)
                 for role, name in (("baseline", bench.baseline), ("final", bench.final)) if name}
        if found.get("final") is None:
            continue
        rows, keys = [], (bench.official, *bench.columns)
        for role, entry in found.items():
            if entry is None:
                continue
            config, champion, run, train_run = entry
            chosen = train_run.data.tags.get("chosen_configuration", "")
            rows.append({"system": f"{'baseline' if role == 'baseline' else 'ours'}: {config.model_name} "
                                   f"v{champion.version}" + (f" ({chosen})" if chosen and chosen != "base" else ""),
                         **{k: _fmt(run.data.metrics, k, split) for k in keys},
                         "n": int(run.data.metrics.get(f"{split}_n", 0))})
        paired = None
        if found.get("baseline") is not None:
            result = compare_runs(found["baseline"][2].info.run_id, found["final"][2].info.run_id, tracking_uri,
                                  n_resamples=n_resamples)
            paired = result["metrics"].get(bench.official)
        rows += [{**anchor, "n": ""} for anchor in anchor_rows(dataset, keys)]
        out[dataset] = {"benchmark": bench, "rows": rows, "paired": paired, "looks": test_looks(client, dataset, split)}
    return out


def results_markdown(tables: dict[str, dict]) -> str:
    """The README's results: one table per benchmark, the paired test and the number of test looks below."""
    if not tables:
        return "_No evaluated finals in the tracking store yet._"
    parts = []
    for table in tables.values():
        bench, paired = table["benchmark"], table["paired"]
        parts += [f"**{bench.title}**", "", markdown(table["rows"]), ""]
        if paired is not None:
            verdict = "significantly better" if paired["p_value"] < 0.05 and paired["delta"] > 0 else \
                "significantly worse" if paired["p_value"] < 0.05 else "not significantly different"
            parts.append(f"Final − baseline on {bench.official}: {100 * paired['delta']:+.1f} points "
                         f"[{100 * paired['ci_low']:+.1f}, {100 * paired['ci_high']:+.1f}], paired bootstrap "
                         f"p = {paired['p_value']:.2f}: {verdict}.")
        parts += [f"Test-split evaluations of this benchmark in the store: {table['looks']}.", ""]
    return "\n".join(parts).rstrip()


def anchor_rows(dataset: str, columns=COLUMNS) -> list[dict]:
    """The published numbers for a benchmark, one row each, in the given metric columns."""
    return [{"system": name, **{key: (f"{value:.2f}" if key == metric else "") for key in columns}}
            for name, metric, value in ANCHORS.get(dataset, []) if metric in columns]


# --------------------------------------------------------------------------- comparison page

def _fmt_cv(metrics: dict, key: str) -> str:
    value, sd = metrics.get(f"cv_{key}"), metrics.get(f"cv_{key}_std")
    if value is None:
        return "–"
    return f"{100 * value:.2f} ± {100 * sd:.2f}" if sd is not None else f"{100 * value:.2f}"


def _plots(client, run_id: str, folder: Path) -> list[tuple[str, bytes]]:
    """(artifact path, PNG bytes) of a run's plots/, in name order."""
    names = sorted(a.path for a in client.list_artifacts(run_id, "plots") if a.path.endswith(".png"))
    if not names:
        return []
    local = Path(client.download_artifacts(run_id, "plots", str(folder)))
    return [(name, (local / Path(name).name).read_bytes()) for name in names]


PLOT_ORDER = ("spread", "confusion_stance", "confusion_sentiment", "f1_per_target", "f1_per_actor")
_WHAT = {
    "spread": "Per-fold CV score of every configuration of the sweep (box: quartiles over folds, triangle: mean, "
              "dots: folds; * marks the configuration chosen).",
    "confusion_stance": "Stance confusion matrix: counts, shaded by the share of each gold row (rows: gold, "
                        "columns: predicted).",
    "confusion_sentiment": "Sentiment confusion matrix: counts, shaded by the share of each gold row (rows: gold, "
                           "columns: predicted).",
    "f1_per_target": "F1 per target (F_avg, stance macro-F1, sentiment macro-F1), largest targets first.",
    "f1_per_actor": "F1 per actor (F_avg, stance macro-F1, sentiment macro-F1): the actors with most quotes, "
                    "by name.",
}


def _kind(name: str, stage: str) -> str:
    """``plots/test_f1_per_actor.png`` -> ``f1_per_actor``; ``plots/cv_spread.png`` -> ``spread``."""
    stem = Path(name).stem
    return stem[len(stage) + 1:] if stem.startswith(f"{stage}_") else stem


def _figures(plots: list[tuple[str, bytes]], stage: str, source: str) -> list[dict]:
    """A run's plots as figures with a caption: what the plot shows, then ``source`` (split and run)."""
    figures = []
    for name, data in plots:
        kind = _kind(name, stage)
        what = _WHAT.get(kind, f"{kind.replace('_', ' ').capitalize()}.")
        figures.append({"kind": kind, "artifact": name, "data": data, "caption": f"{what} {source}"})
    order = {k: i for i, k in enumerate(PLOT_ORDER)}
    return sorted(figures, key=lambda f: (order.get(f["kind"], len(order)), f["kind"]))


def _setting(sweep, key: str, default: str) -> str:
    """A sweep's setting: a tag (params are what configurations vary), or a param in older runs."""
    return sweep.data.tags.get(key) or sweep.data.params.get(key, default)


def _sources(sweep, evaluation, select_by: str) -> tuple[str, str]:
    """Where the CV plots and the evaluation plots come from: which split and which run."""
    folds = _setting(sweep, "cv.folds", "k")
    best = sweep.data.tags.get("chosen_configuration") or sweep.data.tags.get("best_configuration", "")
    cv = (f"Split: train, {folds}-fold CV (selected by cv_{select_by}; the confusion matrices and F1 bars are the "
          f"out-of-fold predictions of the chosen configuration {best}). Run: sweep “{sweep.info.run_name}” "
          f"({sweep.info.run_id[:8]}).")
    if evaluation is None:
        return cv, ""
    tags = evaluation.data.tags
    split = tags.get("split", "test")
    n = evaluation.data.metrics.get(f"{split}_n")
    test = (f"Split: {tags.get('dataset', '')}:{split}{f', n={int(n)}' if n is not None else ''}, scored once. Run: "
            f"evaluation “{evaluation.info.run_name}” ({evaluation.info.run_id[:8]}) of model "
            f"{tags.get('registered_model', '')} v{tags.get('model_version', '')}.")
    return cv, test


def compare_experiments(names: list[str] | None = None, tracking_uri: str | None = None) -> list[dict]:
    """One summary per MLflow experiment: its newest sweep (best configuration, CV of every configuration),
    the newest evaluation of the model that sweep registered, and the plots of both.

    ``names`` are MLflow experiment names; by default every experiment that holds a sweep."""
    import tempfile

    from mlflow.tracking import MlflowClient

    tracking.setup(tracking_uri)
    client = MlflowClient()
    if names:
        experiments = []
        for name in names:
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                known = ", ".join(e.name for e in client.search_experiments()) or "none"
                raise UserError(f"--experiment '{name}': no such MLflow experiment (known: {known})")
            experiments.append(experiment)
    else:
        experiments = client.search_experiments(order_by=["name ASC"])
    summaries = []
    with tempfile.TemporaryDirectory() as tmp:
        for experiment in experiments:
            sweeps = client.search_runs([experiment.experiment_id], "tags.role = 'sweep'",
                                        order_by=["attributes.start_time DESC"], max_results=1)
            if not sweeps:
                if names:
                    raise UserError(f"--experiment '{experiment.name}': no training run (role=sweep) in it")
                continue
            sweep = sweeps[0]
            configurations = client.search_runs([experiment.experiment_id],
                                                f"tags.mlflow.parentRunId = '{sweep.info.run_id}'")
            evaluations = client.search_runs([experiment.experiment_id],
                                             f"tags.role = 'evaluation' and tags.source_run_id = '{sweep.info.run_id}'",
                                             order_by=["attributes.start_time DESC"])
            evaluations.sort(key=lambda r: r.data.tags.get("split") != "test")  # test split first, newest first
            evaluation = evaluations[0] if evaluations else None
            folder = Path(tmp) / sweep.info.run_id
            select_by = _setting(sweep, "cv.select_by", "f_avg_target_mean")
            cv_source, test_source = _sources(sweep, evaluation, select_by)
            split = evaluation.data.tags.get("split", "test") if evaluation else "test"
            summaries.append({
                "experiment": experiment.name,
                "dataset": sweep.data.tags.get("dataset", ""),
                "select_by": select_by,
                "sweep": sweep,
                "configurations": sorted(configurations, key=lambda r: r.info.run_name or ""),
                "evaluation": evaluation,
                "split": split,
                "cv_figures": _figures(_plots(client, sweep.info.run_id, folder / "sweep"), "cv", cv_source),
                "test_figures": _figures(_plots(client, evaluation.info.run_id, folder / "evaluation"), split,
                                         test_source) if evaluation else [],
            })
    return summaries


def comparison_rows(summaries: list[dict]) -> list[dict]:
    """The headline table: one row per experiment (CV of the chosen configuration, then the evaluation with
    95% intervals), followed by the published anchors of its benchmark."""
    rows, anchored = [], set()
    for summary in summaries:
        sweep, evaluation = summary["sweep"], summary["evaluation"]
        split = evaluation.data.tags.get("split", "test") if evaluation else "test"
        model = (f"{evaluation.data.tags.get('registered_model', '')} v{evaluation.data.tags.get('model_version', '')}"
                 if evaluation else "not evaluated")
        rows.append({"experiment": summary["experiment"], "dataset": summary["dataset"],
                     "system": f"{sweep.data.tags.get('chosen_configuration', '')} ({model})",
                     f"cv_{summary['select_by']}": _fmt_cv(sweep.data.metrics, summary["select_by"]),
                     **{f"{split}_{key}": (_fmt(evaluation.data.metrics, key, split) if evaluation else "–")
                        for key in COLUMNS},
                     "n": int(evaluation.data.metrics.get(f"{split}_n", 0)) if evaluation else ""})
    header = list(dict.fromkeys(k for row in rows for k in row))
    out = [{h: row.get(h, "") for h in header} for row in rows]
    for summary in summaries:
        if summary["dataset"] in anchored:
            continue
        anchored.add(summary["dataset"])
        for anchor in anchor_rows(summary["dataset"]):
            row = {h: "" for h in header}
            row.update({"experiment": "published", "dataset": summary["dataset"], "system": anchor["system"]})
            for key in COLUMNS:
                for column in header:  # <split>_<key>, never the cv_ column
                    if anchor[key] and not column.startswith("cv_") and column.split("_", 1)[-1] == key:
                        row[column] = anchor[key]
            out.append(row)
    return out


def configuration_rows(summary: dict) -> list[dict]:
    """CV mean ± sd of every configuration of the sweep, best first."""
    select = summary["select_by"]
    best = summary["sweep"].data.tags.get("best_run_id")
    keys = list(dict.fromkeys([select, "f_avg", "stance_macro_f1", "sentiment_macro_f1"]))
    runs = sorted(summary["configurations"], key=lambda r: -r.data.metrics.get(f"cv_{select}", float("-inf")))
    return [{"configuration": ("* " if r.info.run_id == best else "") + (r.info.run_name or r.info.run_id),
             **{f"cv_{k}": _fmt_cv(r.data.metrics, k) for k in keys},
             "cv_seconds": f"{r.data.metrics.get('cv_seconds', float('nan')):.1f}"} for r in runs]


def _html_table(rows: list[dict]) -> str:
    from html import escape

    if not rows:
        return "<p><em>nothing logged</em></p>"
    head = "".join(f"<th>{escape(str(h))}</th>" for h in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row.values()) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = ("body{font-family:'DejaVu Sans',sans-serif;margin:2em;max-width:1600px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
        "text-align:left;font-size:.9em}th{background:#f3f3f3}"
        ".columns{display:grid;gap:1.5em;align-items:start}"
        ".columns>div{min-width:0}.columns table{display:block;overflow-x:auto;max-width:100%}figure{margin:.5em 0}figure img{max-width:100%;height:auto}"
        "figcaption{font-size:.8em;color:#444;max-width:60em}h3{margin-bottom:.2em}.run{color:#555;font-size:.9em}")
_INTRO = ("CV: mean ± sd over folds of the chosen configuration (train split only). Evaluation: value [95% bootstrap "
          "interval], percent. Published anchors are on the same test splits.")


def _columns(cells: list[str]) -> str:
    """One grid row, a column per experiment: the sweeps side by side."""
    inner = "".join(f"<div>{c}</div>" for c in cells)
    return f"<div class='columns' style='grid-template-columns:repeat({len(cells)},minmax(0,1fr))'>{inner}</div>"


def _html_figure(figure: dict | None) -> str:
    import base64
    from html import escape

    if figure is None:
        return "<p><em>not logged</em></p>"
    return (f"<figure><img alt='{escape(figure['caption'])}' title='{escape(figure['artifact'])}' "
            f"src='data:image/png;base64,{base64.b64encode(figure['data']).decode()}'>"
            f"<figcaption>{escape(figure['caption'])}</figcaption></figure>")


def _figure_rows(summaries: list[dict], key: str) -> list[list[dict | None]]:
    """Per plot kind (in PLOT_ORDER), one figure per experiment (None where it has none)."""
    kinds = list(dict.fromkeys(f["kind"] for s in summaries for f in s[key]))
    return [[next((f for f in s[key] if f["kind"] == kind), None) for s in summaries] for kind in kinds]


def _test_header(summary: dict) -> str:
    evaluation = summary["evaluation"]
    if evaluation is None:
        return "not evaluated yet: python evaluate.py EXPERIMENT.yaml --split test"
    return (f"evaluation run “{evaluation.info.run_name}” ({evaluation.info.run_id}), "
            f"{evaluation.data.tags.get('dataset', '')}:{summary['split']}")


def render_html(summaries: list[dict], title: str) -> str:
    """One page: the headline table, then a CV section and a test section, each with the experiments side
    by side (a column per experiment) and every plot under a caption that says what it shows and where
    it comes from."""
    from html import escape

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
             f"<style>{_CSS}</style></head><body>", f"<h1>{escape(title)}</h1>", f"<p>{escape(_INTRO)}</p>",
             _html_table(comparison_rows(summaries)),
             "<h2 id='cv'>Cross-validation (train split)</h2>"]
    parts.append(_columns([
        f"<h3>{escape(s['experiment'])}</h3><p class='run'>sweep run “{escape(s['sweep'].info.run_name or '')}” "
        f"({s['sweep'].info.run_id}), selected by cv_{escape(s['select_by'])}</p>" + _html_table(configuration_rows(s))
        for s in summaries]))
    parts += [_columns([_html_figure(f) for f in row]) for row in _figure_rows(summaries, "cv_figures")]
    parts.append("<h2 id='test'>Test split (held out, scored once)</h2>")
    parts.append(_columns([f"<h3>{escape(s['experiment'])}</h3><p class='run'>{escape(_test_header(s))}</p>"
                           for s in summaries]))
    parts += [_columns([_html_figure(f) for f in row]) for row in _figure_rows(summaries, "test_figures")]
    parts.append("</body></html>")
    return "\n".join(parts)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_figures(summaries: list[dict], key: str, index: dict[str, int], plots_dir: Path, plots_link: str) -> list[str]:
    """Per plot kind a table: a column per experiment, the image, then its caption."""
    lines = []
    for row in _figure_rows(summaries, key):
        images, captions = [], []
        for summary, figure in zip(summaries, row):
            if figure is None:
                images.append("_not logged_")
                captions.append("")
                continue
            file = f"{index[summary['experiment']]}_{Path(figure['artifact']).name}"
            plots_dir.mkdir(exist_ok=True)
            (plots_dir / file).write_bytes(figure["data"])
            images.append(f"![{_md_cell(figure['caption'])}]({plots_link}/{file})")
            captions.append(_md_cell(figure["caption"]))
        header = " | ".join(_md_cell(s["experiment"]) for s in summaries)
        lines += ["", f"| {header} |", "|" + "---|" * len(summaries), f"| {' | '.join(images)} |",
                  f"| {' | '.join(captions)} |"]
    return lines


def render_markdown(summaries: list[dict], title: str, plots_dir: Path, plots_link: str) -> str:
    """Markdown with the plots written to ``plots_dir`` and linked as ``plots_link/<file>``: a CV section and a
    test section, the experiments side by side in table columns, a caption under every plot."""
    index = {s["experiment"]: i for i, s in enumerate(summaries)}
    lines = [f"# {title}", "", _INTRO, "", markdown(comparison_rows(summaries)), "", "## Cross-validation (train split)"]
    for summary in summaries:
        lines += ["", f"### {summary['experiment']}", "",
                  f"sweep run `{summary['sweep'].info.run_name}` ({summary['sweep'].info.run_id}), "
                  f"selected by cv_{summary['select_by']}", "", markdown(configuration_rows(summary))]
    lines += _md_figures(summaries, "cv_figures", index, plots_dir, plots_link)
    lines += ["", "## Test split (held out, scored once)", ""]
    lines += [f"- **{s['experiment']}**: {_test_header(s)}" for s in summaries]
    lines += _md_figures(summaries, "test_figures", index, plots_dir, plots_link)
    return "\n".join(lines) + "\n"


def write_comparison(output: Path, names: list[str] | None = None, tracking_uri: str | None = None) -> list[dict]:
    """Write the comparison page (``.html`` self-contained, ``.md`` with a ``<stem>_plots/`` folder beside it)."""
    from stancelab.data.files import atomic_output

    output = Path(output)
    if output.suffix.lower() not in (".html", ".md"):
        raise UserError(f"{output}: unsupported report type '{output.suffix}'; use .html or .md")
    if not output.parent.resolve().is_dir():
        raise UserError(f"{output}: folder {output.parent} does not exist")
    summaries = compare_experiments(names, tracking_uri)
    if not summaries:
        raise UserError("no experiment with a training run in the tracking store; run train.py first")
    title = "Experiments side by side: " + ", ".join(s["experiment"] for s in summaries)
    if output.suffix.lower() == ".html":
        text = render_html(summaries, title)
    else:
        text = render_markdown(summaries, title, output.parent / f"{output.stem}_plots", f"{output.stem}_plots")
    with atomic_output(output) as handle:
        handle.write(text)
    return summaries


def markdown(rows: list[dict]) -> str:
    if not rows:
        return "_No evaluated champions in the tracking store yet._"
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row[h]) for h in header) + " |" for row in rows]
    return "\n".join(lines)



def update_readme(table: str, readme: Path = REPO_ROOT / "README.md") -> None:
    write_between_markers(readme, START, END, table)
