"""Speed benchmark: our Mawqif model, a plain scikit-learn TF-IDF pipeline and fastText, side by side.

    python benchmarks/speed.py --json speed.json [--update-readme] [--stream-rows 1000000]

All three systems are trained on the same Mawqif train split and scored on the same test split in
one run, each in its own fresh process (so peak memory is the system's own). Printed as a markdown
table; ``--json`` writes every number; ``--update-readme`` rewrites the table between the
``<!-- speed:start -->`` / ``<!-- speed:end -->`` markers of README.md and benchmarks/README.md.

- train s: fit on all of Mawqif train (3,502 tweets), single-threaded for everyone.
- predict rows/s: batch prediction of every distinct Mawqif text (test then train, 4,121; repeated
  only if ``--batch-rows`` asks for more), labels only, one call on a freshly loaded model. Ours
  goes through ``Predictor.predict_labels`` (the compiled model) and predicts stance *and*
  sentiment; the baselines predict stance only. Ours is also checked against, and timed beside,
  the plain Pipeline's ``predict`` on the same batch.
- p50/p99 ms: one quote at a time, ``--latency-calls`` calls over distinct test tweets, through each
  system's own one-text API (ours: ``Predictor.predict([record])``, the public API, with evidence,
  on a fresh predictor that has seen ``--latency-warmup`` train quotes first).
- peak RSS MiB: the process's maximum resident set size after training and scoring.
- F_avg / f_avg_target_mean: stance on Mawqif test (``stancelab.scoring.metrics``), percent.

Rounds: every system runs ``--rounds`` times (default 3), each time in a fresh process, interleaved
(ours, sklearn, fastText, ours, ...). Each reported time is the system's best round, and each quote's
latency its fastest round, before the median is taken: on a shared machine other work only ever adds
time, and a slow spell then no longer decides which system looks faster (Python's ``timeit`` makes
the same argument for the minimum). ``--json`` keeps every round's numbers.

Absolute numbers depend on the machine and on whatever else runs on it; compare the rows of one run.
fastText is an optional extra: ``pip install -e ".[bench]"``; without it its row says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

START, END = "<!-- speed:start -->", "<!-- speed:end -->"
SYSTEMS = ("ours", "sklearn", "fasttext")
DEFAULT_EXPERIMENT = REPO / "experiments" / "mawqif.yaml"
# The Mawqif experiment's selected configuration (README results table: the CV winner of its grid,
# mawqif-stance v3: a stemmed, stop-worded word block for the sentiment model, none_scale 0.65).
DEFAULT_OVERRIDES = ["model.classifier.C=0.5", "model.none_scale=0.65",
                     "model.sentiment_word={ngram_range: [1, 2], sublinear_tf: true, min_df: 1, stem: true, "
                     "stop_words: true}"]


def peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts
    from its parent's RSS at fork time, so it would count the parent's memory too."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux, bytes on macOS


def _latency(fn, items, calls: int, warmup=None) -> dict:
    """Milliseconds of each of ``calls`` calls over distinct items (cycling if fewer), in order, after
    calling ``fn`` on ``warmup`` (other items; default the first 20); with their median and 99th
    percentile."""
    for item in (warmup if warmup is not None else items[:20]):
        fn(item)
    times = []
    for i in range(calls):
        item = items[i % len(items)]
        start = time.perf_counter()
        fn(item)
        times.append(1000 * (time.perf_counter() - start))
    return {"latencies_ms": times, **_percentiles(times)}


def _percentiles(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"p50_ms": statistics.median(ordered), "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]}


def best_of(rounds: list[dict]) -> dict:
    """One system's rounds (each a fresh process) as one result: each time is its best round (the
    least disturbed: noise from other work on the machine only adds time), each quote's latency its
    fastest round, memory the largest, and the rest from the first round (they do not vary)."""
    ok = [r for r in rounds if "missing" not in r and "error" not in r]
    if not ok:
        return rounds[0]
    out = dict(ok[0])
    out["rounds"] = len(ok)
    out["train_s"] = min(r["train_s"] for r in ok)
    for key in ("predict_rows_s", "pipeline_predict_rows_s"):
        if key in out:
            out[key] = max(r[key] for r in ok)
    out["peak_rss_mib"] = max(r["peak_rss_mib"] for r in ok)
    if "identical_to_pipeline" in out:
        out["identical_to_pipeline"] = all(r["identical_to_pipeline"] for r in ok)
    fastest = [min(times) for times in zip(*(r["latencies_ms"] for r in ok))]
    out.update(_percentiles(fastest))
    out["per_round"] = [{k: r[k] for k in ("train_s", "predict_rows_s", "p50_ms", "p99_ms") if k in r} for r in ok]
    del out["latencies_ms"]
    return out


def _scores(test, stance_pred) -> dict:
    from stancelab.scoring import metrics

    scored = test.assign(pred_stance=list(stance_pred))
    s = metrics.all_scores(scored, ["stance"])
    return {"f_avg": 100 * s["f_avg"], "f_avg_target_mean": 100 * s["f_avg_target_mean"]}


def _batch(train, test, rows: int):
    """The batch every system scores: all of Mawqif's distinct texts (test, then train: 4,121), then
    repeated only if ``rows`` asks for more. Distinct texts keep caches of seen words honest."""
    import pandas as pd

    texts = pd.concat([test, train], ignore_index=True)
    reps = -(-rows // len(texts))
    return pd.concat([texts] * reps, ignore_index=True).iloc[:rows]


def run_ours(train, test, args) -> dict:
    """Our model through the public API: ``Predictor`` (the compiled model; see stancelab/compiled.py)
    for batches and single quotes, checked against the plain Pipeline's predictions on the batch."""
    import numpy as np

    from stancelab.model.config import load_config
    from stancelab.model.pipeline import build_pipeline
    from stancelab.serving.predictor import Predictor
    from stancelab.training.train import model_input

    config = load_config(args.experiment, args.set)
    tasks = list(config.tasks)
    start = time.perf_counter()
    model = build_pipeline(config.model, tasks, config.seed).fit(model_input(train), train[tasks].astype(object))
    train_s = time.perf_counter() - start
    predictor = Predictor(pipeline=model, model_uri="benchmark")  # fresh: no word seen yet
    big = model_input(_batch(train, test, args.batch_rows))
    start = time.perf_counter()
    labels = predictor.predict_labels(big)
    out = {"train_s": train_s, "predict_rows_s": len(big) / (time.perf_counter() - start)}
    start = time.perf_counter()
    plain = model.predict(big)
    out["pipeline_predict_rows_s"] = len(big) / (time.perf_counter() - start)
    out["identical_to_pipeline"] = bool((labels.to_numpy() == plain).all())
    out.update(_scores(test, model.predict(model_input(test))[:, 0]))
    fresh = Predictor(pipeline=model, model_uri="benchmark")
    warm = model_input(train).to_dict("records")[: args.latency_warmup]
    out.update(_latency(lambda r: fresh.predict([r]), model_input(test).to_dict("records"), args.latency_calls, warm))
    if args.stream_rows:
        out.update(_stream(model, train, test, args))
    return out


def _stream(model, train, test, args) -> dict:
    """Score ``--stream-rows`` quotes from a CSV file with predict.py (a child process: its own RSS)."""
    import mlflow

    from stancelab.model.pipeline import TRUSTED_TYPES

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mlflow.sklearn.save_model(model, tmp / "model", serialization_format="skops",
                                  skops_trusted_types=TRUSTED_TYPES)
        big = _batch(train[["text", "target"]], test[["text", "target"]], args.stream_rows)
        big.to_csv(tmp / "quotes.csv", index=False)
        del big
        command = [sys.executable, str(REPO / "predict.py"), "--input", str(tmp / "quotes.csv"), "--output",
                   str(tmp / "out.jsonl"), "--model", str(tmp / "model"), "--no-evidence"]
        start = time.perf_counter()
        code = (f"import runpy, sys; sys.argv = {command[1:]!r}; "
                "sys.path.insert(0, " + repr(str(REPO)) + ")\n"
                "from benchmarks.speed import peak_rss_mib\n"
                "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
                "finally:\n    print('RSS', peak_rss_mib(), file=sys.stderr)")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        seconds = time.perf_counter() - start
        rss = [line for line in done.stderr.splitlines() if line.startswith("RSS ")]
        if not rss:
            raise RuntimeError(f"streaming run failed: {done.stderr[-2000:]}")
        with open(tmp / "out.jsonl", "rb") as handle:
            lines = sum(1 for _ in handle)
        return {"stream_rows": lines, "stream_s": seconds, "stream_rows_s": lines / seconds,
                "stream_peak_rss_mib": float(rss[-1].split()[1])}


def run_sklearn(train, test, args) -> dict:
    """A plain scikit-learn pipeline: stock word (1-2) + char_wb (2-5) TF-IDF and logistic regression
    on the raw text with the target prepended; stance only."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    def texts(frame):
        return (frame["target"] + " " + frame["text"]).tolist()

    model = make_pipeline(
        FeatureUnion([("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                      ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True))]),
        LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000))
    start = time.perf_counter()
    model.fit(texts(train), train["stance"].tolist())
    out = {"train_s": time.perf_counter() - start, **_scores(test, model.predict(texts(test)))}
    big = texts(_batch(train, test, args.batch_rows))
    start = time.perf_counter()
    model.predict(big)
    out["predict_rows_s"] = len(big) / (time.perf_counter() - start)
    out.update(_latency(lambda t: model.predict([t]), texts(test), args.latency_calls))
    return out


def run_fasttext(train, test, args) -> dict:
    """fastText supervised with word bigrams and character 2-5-gram subwords, on our normalised text
    with the target as a first token; stance only; one thread (like the others). Timed from raw text,
    like the other systems: normalising is part of its input pipeline (it was not timed before
    2026-11-29, which flattered fastText by ~17 us a tweet)."""
    try:
        import fasttext
    except ImportError:
        return {"missing": "fastText is not installed: pip install -e '.[bench]' (fasttext-wheel)"}
    from features.normalize import normalize_text

    def lines(frame):
        return [f"__target_{t} " + normalize_text(x).replace("\n", " ") for t, x in zip(frame["target"], frame["text"])]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text("".join(f"__label__{s} {line}\n" for s, line in zip(train["stance"], lines(train))),
                        encoding="utf-8")
        start = time.perf_counter()
        model = fasttext.train_supervised(str(path), epoch=args.fasttext_epochs, lr=0.5, wordNgrams=2, minn=2,
                                          maxn=5, dim=100, thread=args.fasttext_threads, seed=13, verbose=0)
        train_s = time.perf_counter() - start

    def predict_many(texts):  # the low-level API: fastText 0.9.2's Python wrapper breaks on numpy 2
        return [labels[0].removeprefix("__label__") for labels, _ in
                zip(*model.f.multilinePredict(texts, 1, 0.0, "strict"))]

    out = {"train_s": train_s, **_scores(test, predict_many(lines(test)))}
    big = _batch(train, test, args.batch_rows)
    start = time.perf_counter()  # from raw text, like the others: our normaliser is part of its input pipeline
    predict_many(lines(big))
    out["predict_rows_s"] = len(big) / (time.perf_counter() - start)

    def one(row):
        return model.f.predict(f"__target_{row['target']} " + normalize_text(row["text"]).replace("\n", " ") + "\n",
                               1, 0.0, "strict")

    out.update(_latency(one, test.to_dict("records"), args.latency_calls))
    return out


def run_one(name: str, args) -> dict:
    from stancelab.data import datasets

    train = datasets.load("mawqif", "train")
    test = datasets.load("mawqif", "test")  # a benchmark of speed; no selection happens here
    result = {"sklearn": run_sklearn, "ours": run_ours, "fasttext": run_fasttext}[name](train, test, args)
    result["peak_rss_mib"] = peak_rss_mib()
    return result


LABELS = {"ours": "ours (Mawqif experiment's selected model; stance + sentiment)",
          "sklearn": "plain scikit-learn TF-IDF + logreg (stance)",
          "fasttext": "fastText supervised, subwords 2-5 (stance)"}


def markdown(results: dict) -> str:
    rows = ["| system | train s | predict rows/s | p50 ms | p99 ms | peak RSS MiB | F_avg | f_avg_target_mean |",
            "|---|---|---|---|---|---|---|---|"]
    for name, r in results["systems"].items():
        label = LABELS.get(name, name)
        if "missing" in r or "error" in r:
            rows.append(f"| {label} | {r.get('missing') or r.get('error')} |  |  |  |  |  |  |")
            continue
        rows.append(f"| {label} | {r['train_s']:.1f} | {r['predict_rows_s']:,.0f} | {r['p50_ms']:.2f} | "
                    f"{r['p99_ms']:.2f} | {r['peak_rss_mib']:.0f} | {r['f_avg']:.2f} | {r['f_avg_target_mean']:.2f} |")
    ours = results["systems"].get("ours", {})
    load = f", load average {results['load_average_1min']:.1f} at the start" if "load_average_1min" in results else ""
    notes = [f"Measured {results['date']} on {results['machine']} ({results['cpus']} CPUs{load}); "
             f"batch = {results['batch_rows']:,} rows, latency = {results['latency_calls']} calls; "
             f"best of {results.get('rounds', 1)} interleaved fresh-process rounds per system (per quote for latency)."]
    if "pipeline_predict_rows_s" in ours:
        same = "identical to" if ours.get("identical_to_pipeline") else "DIFFERENT from"
        notes.append(f"Our batch labels are {same} the plain Pipeline's, which scores "
                     f"{ours['pipeline_predict_rows_s']:,.0f} rows/s on the same batch.")
    if "stream_rows" in ours:
        notes.append(f"Streaming {ours['stream_rows']:,} quotes from a CSV with `predict.py --input` "
                     f"(no evidence): {ours['stream_s']:.0f} s ({ours['stream_rows_s']:,.0f} rows/s), "
                     f"peak RSS {ours['stream_peak_rss_mib']:.0f} MiB.")
    return "\n".join(rows) + "\n\n" + " ".join(notes)


def update_readme(path: Path, table: str) -> None:
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{path}: no {START} / {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/speed.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--update-readme", action="store_true", help="rewrite the tables in the READMEs")
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--experiment", default=str(DEFAULT_EXPERIMENT), help="our experiment YAML")
    parser.add_argument("--set", action="append", default=None, metavar="KEY=VALUE",
                        help=f"override for our model (default: {' '.join(DEFAULT_OVERRIDES)})")
    parser.add_argument("--batch-rows", type=int, default=4121, help="default: every Mawqif text once")
    parser.add_argument("--latency-calls", type=int, default=600, help="one quote per call, test quotes")
    parser.add_argument("--latency-warmup", type=int, default=20, help="train quotes our predictor sees first")
    parser.add_argument("--stream-rows", type=int, default=0, help="also stream this many quotes through predict.py")
    parser.add_argument("--rounds", type=int, default=3,
                        help="fresh-process rounds per system, interleaved; each time reported is its best round")
    parser.add_argument("--fasttext-epochs", type=int, default=25)
    parser.add_argument("--fasttext-threads", type=int, default=1)
    parser.add_argument("--one", choices=SYSTEMS, help=argparse.SUPPRESS)  # internal: run one system, JSON out
    args = parser.parse_args(argv)
    if args.set is None:
        args.set = list(DEFAULT_OVERRIDES)

    if args.one:
        print(json.dumps(run_one(args.one, args)))
        return 0

    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.processor() or
               platform.machine(), "cpus": os.cpu_count(), "batch_rows": args.batch_rows,
               "latency_calls": args.latency_calls, "experiment": args.experiment, "overrides": args.set,
               "load_average_1min": os.getloadavg()[0],
               "systems": {}}
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    rounds: dict[str, list[dict]] = {name: [] for name in args.systems}
    for round_number in range(args.rounds):  # interleaved, so a slow spell of the machine hits every system
        for name in args.systems:
            if rounds[name] and "missing" in rounds[name][0]:  # not installed: said once
                continue
            print(f"round {round_number + 1}/{args.rounds}: {name} ...", file=sys.stderr, flush=True)
            extra = ["--stream-rows", "0"] if round_number > 0 else []  # the streaming run: once
            done = subprocess.run([sys.executable, __file__, *passthrough, *extra, "--one", name], capture_output=True,
                                  text=True, env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
                                                  "OPENBLAS_NUM_THREADS": "1"})
            if done.returncode != 0:
                rounds[name].append({"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"})
                print(done.stderr, file=sys.stderr)
            else:
                rounds[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    results["rounds"] = args.rounds
    results["systems"] = {name: best_of(r) for name, r in rounds.items()}
    table = markdown(results)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.update_readme:
        for readme in (REPO / "README.md", REPO / "benchmarks" / "README.md"):
            update_readme(readme, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
