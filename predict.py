"""Predict stance and sentiment for quotes.

Python::

    import predict
    model = predict.load()                      # default: models:/idlib-stance@champion
    model.predict([{"text": "...", "target": "deescalation_idlib", "actor": "Lavrov"}])
    model.predict([{"text": "دعا لافروف إلى وقف فوري لإطلاق النار في إدلب", "target": "deescalation_idlib"}])
    # -> actor 'Lavrov', speaker_span 'لافروف': a quote without an actor gets its speaker

Command line::

    python predict.py "quote" --target deescalation_idlib [--actor Lavrov | --actors my_actors.yaml]
    python predict.py --input quotes.csv --output predictions.jsonl     # CSV: text,target[,actor]
    python predict.py --input quotes.jsonl --output predictions.csv --model models:/mawqif-stance@champion
    python predict.py --input big.csv --output scored/ --dask tcp://scheduler:8786   # Parquet parts
    python predict.py --article news.txt --actors data/actors.yaml --output who_said_what.jsonl \
        [--target deescalation_idlib ...] [--report actors.json|.csv] [--chart actors.png] [--log-run]
    python predict.py --article news.txt --actors data/actors.yaml --template to_label.csv   # no model needed

An article gives one record per sentence × target (all the model's targets unless --target is
given), in article order: sentence_index, sentence, actor, speaker_span, rule, target, stance,
stance_proba, sentiment, sentiment_proba. Python: ``predict_article(predict.load(), text_or_path,
actors="data/actors.yaml", targets=[...])`` (``from stancelab.articles.predict import predict_article``;
the attribution rules are in stancelab/articles/attribution.py).

Each result has text, target, actor, speaker_span, stance, stance_proba, sentiment, sentiment_proba
and evidence (per task, the n-grams of the input that pushed the decision most, with their weights).
A quote without an actor gets its speaker from the article rules (stancelab/articles/speakers.py) and
the actors file (default data/actors.yaml, or --actors; ``predict.load(actors=None)`` turns it off):
``actor`` is the actor id and ``speaker_span`` the words that named the speaker, both null when the
quote names nobody. A given actor is kept (its ``speaker_span`` is null). --dask does not attribute.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from stancelab.errors import UserError
from stancelab.data.files import atomic_output, check_output_folder

if TYPE_CHECKING:
    from stancelab.serving.predictor import Predictor

__all__ = ["load", "Predictor", "default_model_uri", "read_records", "write_results", "main"]


DEFAULT_ACTORS = "default"  # data/actors.yaml, read on the first quote without an actor


def load(model_uri: str | None = None, tracking_uri: str | None = None, allow_unsafe: bool = False,
         actors=DEFAULT_ACTORS):
    """Load a model (default: ``models:/idlib-stance@champion``); see stancelab.serving.predictor.load.

    ``actors``: the actors file (a path, a mapping or an Actors) that names the speaker of quotes given
    without an ``actor``; default data/actors.yaml, read once on first use; None: no attribution."""
    from stancelab.serving.predictor import load as load_model

    model = load_model(model_uri, tracking_uri, allow_unsafe)
    if actors is not None:
        from stancelab.articles.speakers import QuoteSpeakers

        model.speakers = QuoteSpeakers() if isinstance(actors, str) and actors == DEFAULT_ACTORS else QuoteSpeakers(actors)
    return model


def default_model_uri() -> str:
    from stancelab.serving.predictor import default_model_uri as default

    return default()


def __getattr__(name: str):  # ``predict.Predictor`` without importing scikit-learn with the CLI
    if name == "Predictor":
        from stancelab.serving.predictor import Predictor

        return Predictor
    raise AttributeError(name)


def read_records(path: Path) -> tuple[list[dict], list[int]]:
    """Records and their line numbers from a .csv (text,target[,actor,id]) or .jsonl file."""
    from stancelab.data.records import read_records as read

    return read(path)


def _csv_row(result: dict, tasks: list[str], extra: dict) -> dict:
    from stancelab.data.files import csv_safe

    row = {**{k: csv_safe(v) for k, v in extra.items()}, "text": csv_safe(result["text"]), "target": result["target"],
           "actor": csv_safe(result["actor"] or "")}
    if "speaker_span" in result:
        row["speaker_span"] = csv_safe(result["speaker_span"] or "")
    for task in tasks:
        row[task] = result[task]
        for label, p in result[f"{task}_proba"].items():
            row[f"{task}_proba_{label}"] = p
        row[f"{task}_evidence"] = csv_safe("; ".join(e["ngram"] for e in result.get("evidence", {}).get(task, [])))
    return row


class ResultWriter:
    """Writes results chunk by chunk: JSON lines to stdout or a handle, or CSV (bounded memory)."""

    def __init__(self, handle, suffix: str | None, tasks: list[str]):
        self.handle, self.suffix, self.tasks, self.writer = handle, suffix, tasks, None

    def write(self, results: list[dict], extras: list[dict] | None = None) -> None:
        extras = extras or [{} for _ in results]
        if self.suffix != ".csv":
            lines = (json.dumps({**extra, **result}, ensure_ascii=False) + "\n" for result, extra in zip(results, extras))
            (self.handle or sys.stdout).write("".join(lines))
            return
        rows = [_csv_row(r, self.tasks, e) for r, e in zip(results, extras)]
        if self.writer is None and rows:
            self.writer = csv.DictWriter(self.handle, fieldnames=list(rows[0]))
            self.writer.writeheader()
        if rows:
            self.writer.writerows(rows)

    def close(self) -> None:
        if self.suffix == ".csv" and self.writer is None:  # no rows: the header alone
            csv.DictWriter(self.handle, fieldnames=["text", "target", "actor"]).writeheader()


def write_results(results: list[dict], path: Path | None, tasks: list[str], extras: list[dict] | None = None) -> None:
    """Write JSONL or CSV atomically (temporary file + rename): no partial output on failure."""
    if path is None:
        return ResultWriter(None, None, tasks).write(results, extras)
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise UserError(f"{path}: unsupported output type '{suffix}'; use .jsonl or .csv")
    with atomic_output(path, newline="") as handle:
        writer = ResultWriter(handle, suffix, tasks)
        writer.write(results, extras)
        writer.close()


def predict_file(model: Predictor, path: Path, output: Path | None, evidence: bool = True,
                 chunk_size: int = 5000, quiet: bool | None = None) -> int:
    """Score a CSV/JSONL file chunk by chunk (same output as one batch); returns the number of rows."""
    from contextlib import nullcontext

    from stancelab.progress import Progress
    from stancelab.data.records import count_lines, record_chunks

    chunks = record_chunks(path, chunk_size)
    quiet = not sys.stderr.isatty() if quiet is None else quiet  # a bar on a terminal only
    total = max(count_lines(path) - (path.suffix.lower() == ".csv"), 1)
    done = 0
    suffix = output.suffix.lower() if output is not None else None
    with (atomic_output(output, newline="") if output is not None else nullcontext()) as handle, \
            Progress(quiet=quiet) as progress:
        bar = progress.add_task(f"scoring {path.name}", total=total)
        writer = ResultWriter(handle, suffix, model.tasks)
        for records, lines in chunks:
            frame = model.frame(records, str(path), lines)
            results = model.predict_frame(frame, evidence=evidence)
            writer.write(results, [{"id": r["id"]} if r.get("id") not in (None, "") else {} for r in records])
            done += len(results)
            progress.advance(bar, len(results))
        writer.close()
    return done


def _parser() -> argparse.ArgumentParser:
    from stancelab.console import add_model_loading_options

    parser = argparse.ArgumentParser(prog="predict.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("quote", nargs="?", help="one quote to classify (with --target, unless the model is "
                                                 "sentiment-only)")
    parser.add_argument("--target", action="extend", nargs="+",
                        help="target id or name: one for a single quote; with --article, the targets to predict")
    parser.add_argument("--actor", default="", help="speaker of the quote (optional)")
    parser.add_argument("--input", type=Path, help="CSV (text,target[,actor]) or JSONL file of quotes")
    parser.add_argument("--output", type=Path, help="write .jsonl or .csv here (default: JSON lines on stdout)")
    parser.add_argument("--model", help="model URI (default: models:/<default experiment model>@champion)")
    parser.add_argument("--no-evidence", action="store_true", help="skip the evidence n-grams (faster)")
    parser.add_argument("--chunk-size", type=int, default=5000, help="quotes read and scored at a time with --input")
    parser.add_argument("--dask", metavar="SCHEDULER", help="score --input (.csv/.parquet) as Dask partitions "
                        "on this scheduler address, or 'local' for a local cluster; --output is a folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary line")
    article = parser.add_argument_group("articles: who said what")
    article.add_argument("--article", type=Path, help="a news article (UTF-8 text): attribute every sentence and predict")
    article.add_argument("--actors", type=Path,
                         help="actors YAML (id: [aliases]). A quote or --input row without an actor gets its speaker "
                              "from it (default data/actors.yaml); with --article, without it the speaker's words are the actor id")
    article.add_argument("--template", type=Path, help="write an annotation CSV (project schema, actor pre-filled, labels empty)")
    article.add_argument("--report", type=Path, help="per-actor stance/sentiment counts with evidence: .json or .csv")
    article.add_argument("--chart", type=Path, help="per-actor stance and sentiment chart: .png (top 15 actors by sentences)")
    article.add_argument("--log-run", action="store_true", help="log the article's predictions, report and chart to MLflow")
    add_model_loading_options(parser)
    return parser


def _check_output(args) -> None:
    """Before any work: a quote's or --input's output is .jsonl or .csv, never over an input, the model or its cache."""
    if args.output is None:
        return
    if args.output.suffix.lower() not in (".jsonl", ".csv"):
        raise UserError(f"{args.output}: unsupported output type '{args.output.suffix}'; use .jsonl or .csv")
    from stancelab.serving.predictor import cache_root

    model_folder = [args.model] if args.model is not None and (Path(args.model) / "MLmodel").is_file() else []
    check_output_folder(args.output, inputs=[p for p in (args.input, args.actors) if p is not None],
                        folders=[*model_folder, cache_root()],
                        need=2 * args.input.stat().st_size if args.input is not None and args.input.is_file() else 0)


def _quote_actors(args):
    """The actors that name the speaker of quotes without an actor: --actors, read and checked now (a bad
    file fails before the model loads), or data/actors.yaml, read on the first quote that needs it."""
    if args.actors is None:
        return DEFAULT_ACTORS
    from stancelab.articles.actors import load_actors

    return load_actors(args.actors)


def main(argv: list[str] | None = None) -> int:
    from stancelab.console import run_cli

    args = _parser().parse_args(argv)

    def body():
        if args.article is not None:
            from stancelab.cli.article import run_article_cli

            return run_article_cli(args)
        if args.template or args.report or args.chart or args.log_run:
            raise UserError("--template, --report, --chart and --log-run go with --article FILE")
        if (args.quote is None) == (args.input is None):
            raise UserError("give either a quote (with --target), --input FILE or --article FILE")
        if args.quote is not None and args.target and len(args.target) > 1:
            raise UserError("a single quote takes one --target")
        if args.dask:
            from stancelab.serving.distributed import predict_partitions

            if args.input is None or args.output is None:
                raise UserError("--dask needs --input FILE (.csv or .parquet) and --output FOLDER")
            if args.actors is not None:
                raise UserError("--actors does not apply to --dask (rows without an actor keep none)")
            rows = predict_partitions(args.input, args.output, args.dask, args.model, args.tracking_uri,
                                      allow_unsafe=args.allow_unsafe_pickle)
            if not args.quiet:
                print(f"wrote {rows} predictions to {args.output}/", file=sys.stderr)
            return 0
        _check_output(args)
        actors = _quote_actors(args)
        if args.input is not None:  # streamed in chunks: bounded memory, same output as one batch
            from stancelab.data.records import check_input, record_chunks

            check_input(args.input, args.chunk_size)  # bad files and first-chunk rows fail before the model loads
            model = load(args.model, args.tracking_uri, allow_unsafe=args.allow_unsafe_pickle, actors=actors)
            if args.output is None:  # stdout cannot be taken back: every row is checked before the first is printed
                for records, lines in record_chunks(args.input, args.chunk_size):
                    model.frame(records, str(args.input), lines, speakers=False)
            # a bar on a terminal only: a bad row in a later chunk must still be the only line on stderr
            rows = predict_file(model, args.input, args.output, not args.no_evidence, args.chunk_size,
                                quiet=True if args.quiet else None)
            if args.output is not None and not args.quiet:
                print(f"wrote {rows} predictions to {args.output}", file=sys.stderr)
            return 0
        # one quote (files were streamed above)
        record = {"text": args.quote, "target": args.target[0] if args.target else None, "actor": args.actor}
        model = load(args.model, args.tracking_uri, allow_unsafe=args.allow_unsafe_pickle, actors=actors)
        if not args.target and "stance" in model.tasks:  # a sentiment-only model needs none
            raise UserError(f"a quote needs --target (a target id or name; this model knows {', '.join(model.targets)})")
        results = model.predict_frame(model.frame([record]), evidence=not args.no_evidence)
        if args.output is None:
            print(json.dumps(results[0], ensure_ascii=False, indent=2))
            return 0
        write_results(results, args.output, model.tasks)
        if not args.quiet:
            print(f"wrote {len(results)} predictions to {args.output}", file=sys.stderr)
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
