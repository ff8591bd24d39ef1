"""``predict.py --article``: who said what in a news article, as files a person reads.

The per-actor report (:func:`actor_report`, written by :func:`write_report` as .json or .csv), the
per-actor stance and sentiment chart (:func:`save_chart`), the annotation template (:func:`template_rows`,
:func:`write_template`), the predictions file (:func:`write_records`), the MLflow run
(:func:`log_article_run`) and the command itself (:func:`run_article_cli`). The attribution rules are
in :mod:`stancelab.articles.attribution`, the per-sentence predictions in
:mod:`stancelab.articles.predict`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from stancelab.articles.actors import load_actors
from stancelab.articles.attribution import Attribution, attribute
from stancelab.articles.predict import predict_article
from stancelab.articles.text import is_arabic, read_article
from stancelab.console import print_table
from stancelab.data.files import atomic_output, check_output_folder, csv_safe, staged
from stancelab.errors import UserError
from stancelab.labels import SENTIMENT_LABELS, STANCE_LABELS

NO_SPEAKER = "(no speaker)"


def actor_report(records: list[dict]) -> list[dict]:
    """Per actor and target: how many sentences, the stance and sentiment counts, and the evidence
    sentences for each stance label. Sentences without a speaker are grouped as ``(no speaker)``."""
    groups: dict[tuple[str, str], dict] = {}
    for r in records:
        key = (r["actor"] or NO_SPEAKER, r["target"])
        g = groups.setdefault(key, {"actor": key[0], "target": key[1], "sentences": 0,
                                    **{s: 0 for s in STANCE_LABELS}, **{s: 0 for s in SENTIMENT_LABELS},
                                    "evidence": {s: [] for s in STANCE_LABELS}})
        g["sentences"] += 1
        if r.get("stance") in STANCE_LABELS:
            g[r["stance"]] += 1
            g["evidence"][r["stance"]].append({"sentence_index": r["sentence_index"], "sentence": r["sentence"],
                                               "stance_proba": (r.get("stance_proba") or {}).get(r["stance"])})
        if r.get("sentiment") in SENTIMENT_LABELS:
            g[r["sentiment"]] += 1
    rows = sorted(groups.values(), key=lambda g: (g["actor"] == NO_SPEAKER, g["actor"], g["target"]))
    for g in rows:
        counts = {s: g[s] for s in STANCE_LABELS}
        g["majority_stance"] = max(STANCE_LABELS, key=lambda s: (counts[s], s != "none"))
    return rows


def report_table(report: list[dict]) -> list[dict]:
    """Short rows for the terminal: actor, target, n, stance and sentiment counts."""
    return [{"actor": g["actor"], "target": g["target"], "n": g["sentences"],
             "favor/against/none": f"{g['favor']}/{g['against']}/{g['none']}",
             "pos/neg/neu": f"{g['positive']}/{g['negative']}/{g['neutral']}",
             "majority": g["majority_stance"]} for g in report]


def write_report(report: list[dict], path: Path) -> None:
    """The per-actor report as .json (with evidence sentences) or .csv (evidence as sentence numbers)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise UserError(f"{path}: unsupported report type '{suffix}'; use .json or .csv")
    with atomic_output(path, newline="") as handle:
        if suffix == ".json":
            json.dump(report, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
            return
        fields = ["actor", "target", "sentences", "favor", "against", "none", "positive", "negative", "neutral",
                  "majority_stance", "evidence_favor", "evidence_against", "evidence_none"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for g in report:
            row = {k: csv_safe(g[k]) for k in fields if k in g}
            for label in ("favor", "against", "none"):
                row[f"evidence_{label}"] = " ".join(str(e["sentence_index"] + 1) for e in g["evidence"][label])
            writer.writerow(row)


def chart_names(actors) -> dict[str, str] | None:
    """Chart labels of an actors file's ids (``Sergei Lavrov · سيرغي لافروف``); None without a file (the
    actors are then the speakers' own words)."""
    from stancelab.scoring.plots import actor_names

    return actor_names(actors.aliases) if actors is not None else None


def save_chart(report: list[dict], path: Path, title: str = "stance and sentiment per actor",
               names: dict[str, str] | None = None) -> None:
    """PNG of the stance counts per actor and target, and the sentiment counts per actor, the actors
    by name (``names``: id -> label) and at most the 15 with most sentences (written atomically, with
    the user's usual file mode)."""
    from stancelab.data.files import user_mode
    from stancelab.scoring.plots import actor_stance_figure, close

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"{path}: unsupported chart type '{path.suffix}'; use .png")
    if not path.parent.resolve().is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")
    fig = actor_stance_figure(report, title, names)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png")
        os.chmod(tmp, user_mode())  # mkstemp's file is 0600
        os.replace(tmp, path)
    finally:
        close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def template_rows(attributions: list[Attribution], targets: list[str], source: str) -> list[dict]:
    """Annotation template in the project schema (``id,text,actor,target,stance,sentiment,source,lang,split``):
    one row per sentence × target, the attributed actor pre-filled, stance and sentiment empty."""
    from stancelab.data.datasets import SCHEMA

    stem = re.sub(r"[^\w-]+", "-", Path(source).stem).strip("-") or "article"
    rows = []
    for a in attributions:
        for target in targets:
            row = dict.fromkeys(SCHEMA, "")
            row.update({"id": f"{stem}-{a.index + 1:02d}:{target}", "text": a.sentence, "actor": a.actor or "",
                        "target": target, "source": f"article:{Path(source).name}",
                        "lang": "ar" if is_arabic(a.sentence) else "en", "split": "train"})
            rows.append(row)
    return rows


def write_template(rows: list[dict], path: Path) -> None:
    from stancelab.data.datasets import SCHEMA

    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise UserError(f"{path}: the template is a .csv file")
    with atomic_output(path, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(SCHEMA))
        writer.writeheader()
        writer.writerows(rows)


def log_article_run(records: list[dict], report: list[dict], *, source: str, actors_source: str | None,
                    model_uri: str, tracking_uri: str | None = None, experiment: str = "article-attribution",
                    names: dict[str, str] | None = None) -> str:
    """Log one article's attribution, predictions, per-actor report and chart to MLflow; returns the run id."""
    import mlflow

    from stancelab import tracking

    tracking.setup(tracking_uri)
    tracking.ensure_experiment(experiment)
    sentences_ = {r["sentence_index"]: r for r in records}
    attributed = sum(1 for r in sentences_.values() if r["actor"])
    with mlflow.start_run(run_name=f"article {Path(source).name}") as run:
        mlflow.set_tags({"role": "article", "article": Path(source).name, "model_uri": model_uri})
        mlflow.log_params({"article": Path(source).name, "actors_file": actors_source or "(none: speaker spans)",
                           "model_uri": model_uri, "targets": ",".join(dict.fromkeys(r["target"] for r in records)),
                           "article_sha256": hashlib.sha256("\n".join(r["sentence"] for r in sentences_.values())
                                                             .encode("utf-8")).hexdigest()})
        mlflow.log_metrics({"sentences": len(sentences_), "sentences_attributed": attributed,
                            "actors": len({r["actor"] for r in records if r["actor"]})})
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            with open(folder / "predictions.jsonl", "w", encoding="utf-8") as handle:
                for r in records:
                    handle.write(json.dumps(r, ensure_ascii=False) + "\n")
            write_report(report, folder / "actor_report.json")
            write_report(report, folder / "actor_report.csv")
            if report:
                save_chart(report, folder / "actor_stance.png", f"stance and sentiment per actor: {Path(source).name}",
                           names)
            mlflow.log_artifacts(str(folder), "article")
        return run.info.run_id


def _template_targets(names: list[str] | None) -> list[str]:
    """Targets for a template written without a model: the embedded corpus's, by id or name."""
    from stancelab.data.datasets import get_dataset

    known = get_dataset("idlib").targets
    lookup = {re.sub(r"[\s_\-]+", "", n.casefold()): t for t, ns in known.items() for n in (t, *ns)}
    if not names:
        return list(known)
    out = []
    for name in names:
        target = lookup.get(re.sub(r"[\s_\-]+", "", str(name).casefold()))
        if target is None:
            raise UserError(f"unknown target {name!r}; known targets: {', '.join(known)}")
        out.append(target)
    return list(dict.fromkeys(out))


def write_records(records: list[dict], path: Path | None) -> None:
    """Article predictions as JSON lines (stdout when ``path`` is None) or a flat CSV."""
    if path is None:
        for r in records:
            print(json.dumps(r, ensure_ascii=False))
        return
    with atomic_output(path, newline="") as handle:
        if Path(path).suffix.lower() == ".jsonl":
            for r in records:
                handle.write(json.dumps(r, ensure_ascii=False) + "\n")
            return
        rows = []
        for r in records:
            row = {k: csv_safe("" if r[k] is None else r[k]) for k in
                   ("sentence_index", "sentence", "actor", "speaker_span", "rule", "target")}
            for task in ("stance", "sentiment"):
                row[task] = r.get(task) or ""
                for label, p in (r.get(f"{task}_proba") or {}).items():
                    row[f"{task}_proba_{label}"] = p
                if "evidence" in r:
                    row[f"{task}_evidence"] = csv_safe("; ".join(e["ngram"] for e in r["evidence"].get(task, [])))
            rows.append(row)
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run_article_cli(args) -> int:
    """``predict.py --article``: check every option first, compute everything, then write the files."""
    for option, path, suffixes in (("--output", args.output, (".jsonl", ".csv")), ("--report", args.report, (".json", ".csv")),
                                   ("--chart", args.chart, (".png",)), ("--template", args.template, (".csv",))):
        if path is not None and path.suffix.lower() not in suffixes:
            raise UserError(f"{path}: unsupported {option} type '{path.suffix}'; use {' or '.join(suffixes)}")
    if args.quote is not None or args.input is not None:
        raise UserError("--article cannot be combined with a quote or --input")
    outputs = [p for p in (args.output, args.report, args.chart, args.template) if p is not None]
    for path in outputs:  # every output is checked before any work: all are written, or none
        check_output_folder(path, inputs=[args.article, *([args.actors] if args.actors else [])],
                            folders=[args.model] if args.model is not None and (Path(args.model) / "MLmodel").is_file() else [])
    if len({p.resolve() for p in outputs}) < len(outputs):
        raise UserError("--output, --report, --chart and --template must be different files")
    text = read_article(args.article)
    actors = load_actors(args.actors) if args.actors is not None else None
    attributions = attribute(text, actors)
    wants_model = args.output is not None or args.report is not None or args.chart is not None or args.log_run \
        or args.template is None
    records = report = None
    model_uri = None
    if wants_model:
        from stancelab.serving.predictor import load

        model = load(args.model, args.tracking_uri, allow_unsafe=args.allow_unsafe_pickle)
        model_uri = model.model_uri
        targets = [model.resolve_target(t) for t in (args.target or list(model.targets))]
        records = predict_article(model, text, actors=actors, targets=list(dict.fromkeys(targets)),
                                  evidence=not args.no_evidence)
        report = actor_report(records)
        template_targets = list(dict.fromkeys(targets))
    else:
        template_targets = _template_targets(args.target)
    # everything is computed: now write every file, all or nothing
    with staged(outputs) as temps:
        temp = dict(zip(outputs, temps))
        if args.template is not None:
            write_template(template_rows(attributions, template_targets, str(args.article)), temp[args.template])
        if records is not None:
            if args.output is not None:
                write_records(records, temp[args.output])
            if args.report is not None:
                write_report(report, temp[args.report])
            if args.chart is not None:
                save_chart(report, temp[args.chart], f"stance and sentiment per actor: {args.article.name}",
                           chart_names(actors))
    if args.template is not None:
        print(f"wrote {len(attributions)} sentences × {len(template_targets)} targets to {args.template}; "
              "fill stance and sentiment, then load it like data/corpus.csv", file=sys.stderr)
    if records is None:
        print_table([{"#": a.index + 1, "actor": a.actor or "", "speaker": a.speaker_span or "", "rule": a.rule,
                      "sentence": a.sentence[:70]} for a in attributions], title=f"who said what: {args.article}")
        return 0
    if args.output is None:
        write_records(records, None)
    table_file = sys.stdout if args.output is not None else sys.stderr
    if not getattr(args, "quiet", False):
        print_table(report_table(report), title=f"per actor: {args.article}", file=table_file)
    if args.log_run:
        run_id = log_article_run(records, report, source=str(args.article),
                                 actors_source=str(args.actors) if args.actors else None,
                                 model_uri=model_uri, tracking_uri=args.tracking_uri, names=chart_names(actors))
        print(f"logged to MLflow run {run_id}", file=sys.stderr)
    if args.output is not None and not getattr(args, "quiet", False):
        print(f"wrote {len(records)} predictions ({len(attributions)} sentences) to {args.output}", file=sys.stderr)
    return 0

