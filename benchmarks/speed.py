"""Speed benchmark: our Mawqif model through the public API, fastText and a plain scikit-learn pipeline.

    python benchmarks/speed.py                      # 3 rounds; writes benchmarks/speed.json and the README table
    python benchmarks/speed.py --rounds 5 --profile # also a cProfile of the no-evidence batch
    python benchmarks/speed.py --json /tmp/s.json --no-readme --rounds 1   # a quick look, nothing in the repo

Everything is trained on Mawqif train and run in one invocation, on the same machine, side by side:

1. **Batch throughput** (rows/s): Mawqif test (``test.csv``, 619 tweets, read with
   ``keep_default_na=False``) repeated 8 times (``--copies``) = 4,952 records. Ours:
   ``predict.load("models:/mawqif-stance@champion").predict(records, evidence=False)`` and
   ``.predict(records)`` (evidence on, the default): validation, target lookup, normalising, the
   shared TF-IDF block, the heads and the result dicts are all inside the timer. fastText: its own
   batch call ``model.predict(lines)`` on the raw texts prefixed with the target (newlines replaced
   by spaces). scikit-learn: one stock Pipeline per target, rows grouped by target inside the timer.
   Inputs (record dicts, fastText lines, text arrays) are built before the timer.
2. **One quote**: ``model.predict([record])`` on ``--quotes`` (500) distinct test tweets, one call per
   quote, p50 and p95 in ms; with evidence (the default; the goal's measure) and, in its own process,
   without. fastText's ``predict([line])`` and the scikit-learn pipeline's ``predict([text])`` beside.
3. **Cold CLI**: ``python predict.py "quote" --target T --model models:/mawqif-stance@champion``,
   the champion registered in a temporary SQLite store (``MLFLOW_TRACKING_URI=sqlite:///...``, ``STANCELAB_CACHE`` a temporary
   folder): the first run (which copies the model into the cache), then the median wall time of
   ``--cli-runs`` (5) more. Beside it, fastText's ``python -c "import fasttext; m =
   fasttext.load_model(path); print(m.predict([quote]))"``, the same number of runs, alternating
   with ours. (fastText 0.9.2's one-string ``predict`` fails on numpy 2, so its one-element list
   form is used; it is the same C++ call.)
4. **Training**: the fit of the Mawqif final configuration (``experiments/mawqif.yaml`` with
   the CV-chosen C 0.5, none_scale 0.8) on train vs ``fasttext.train_supervised`` (25 epochs, wordNgrams 2, minn 2,
   maxn 5, dim 50, one thread) on the same 3,502 tweets as ``__label__<stance> <target> <text>``.

Rounds: every measurement except the cold CLI runs ``--rounds`` times (default 3), each time in a
fresh Python process, interleaved across systems (ours, fastText, scikit-learn, ..., then the next
round), and the best round is reported (largest rows/s, smallest seconds, smallest p50 and p95 each):
on a shared machine other work only ever adds time. Each batch/latency process loads the model,
makes one small warm-up call (20 train quotes; it builds the lazily made evidence tables) and then
times one call. The repeated copies of the test set also let the shared block's bounded cache of
seen words serve copies 2-8 (fastText needs no such cache); ``--json`` keeps every round.
Measurement processes run with one BLAS/OpenMP thread (``OMP_NUM_THREADS=1`` etc.); the cold CLI
runs inherit the caller's environment, the same for both systems.

Accuracy is printed too (stance F_avg per target, mean over targets, on Mawqif test), only to show
that the three systems are comparable models; it is not a model selection.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
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
README = REPO / "benchmarks" / "README.md"
DEFAULT_JSON = REPO / "benchmarks" / "speed.json"
EXPERIMENT = REPO / "experiments" / "mawqif.yaml"
# the Mawqif final: experiments/mawqif.yaml's CV choice (one-standard-error rule): C 0.5, none_scale 0.8
SELECTED = {"model.classifier.C": 0.5, "model.none_scale": 0.8}
FASTTEXT = {"epoch": 25, "wordNgrams": 2, "minn": 2, "maxn": 5, "dim": 50}
PACKAGES = ("numpy", "scipy", "scikit-learn", "pandas", "mlflow", "skops", "fasttext-wheel")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
WARMUP = 20


# ---------------------------------------------------------------------- inputs
def raw_split(split: str):
    """Mawqif's own CSV (``test.csv`` / ``train.csv``); ``None`` is a stance here, not a missing value."""
    import pandas as pd

    return pd.read_csv(data_root() / "mawqif" / f"{split}.csv", keep_default_na=False, encoding="utf-8-sig")


def data_root() -> Path:
    """The project's own rule: $STANCE_DATA_DIR, else ../shared/datasets next to the repository, ..."""
    from stancelab.data.datasets import data_dir

    return data_dir(None)


def records(frame, copies: int = 1) -> list[dict]:
    """The public API's input: dicts with text, target (the dataset's own name) and actor."""
    one = [{"text": t, "target": g, "actor": ""} for t, g in zip(frame["text"], frame["target"])]
    return one * copies


def fasttext_line(target: str, text: str) -> str:
    """What fastText reads: the target as the first token, then the raw text on one line."""
    return target.replace(" ", "_") + " " + text.replace("\r", " ").replace("\n", " ")


def stance_score(frame, predicted) -> float:
    """StanceEval's F_avg per target, mean over targets, in percent (a sanity check, not a selection)."""
    from stancelab.scoring import metrics

    gold = frame["stance"].str.strip().str.lower().to_numpy()
    pred = [str(p).lower() for p in predicted]
    return 100 * metrics.f_avg_target_mean(gold, pred, frame["target"].to_numpy())


def _percentiles(times_ms: list[float]) -> dict:
    ordered = sorted(times_ms)
    return {"p50_ms": statistics.median(ordered), "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            "calls": len(ordered)}


def _latency(fn, items, n: int) -> dict:
    times = []
    for i in range(n):
        item = items[i % len(items)]
        start = time.perf_counter()
        fn(item)
        times.append(1000 * (time.perf_counter() - start))
    return _percentiles(times)


# ---------------------------------------------------------------------- set-up (once per run)
def build_ours():
    """The Mawqif final, built and fitted exactly as the project does it."""
    from stancelab.data import datasets
    from stancelab.model.config import load_config
    from stancelab.model.pipeline import build_pipeline
    from stancelab.training.cv import model_input

    config = load_config(EXPERIMENT)
    tasks = list(config.tasks)
    frame = datasets.load("mawqif", "train", data_root(), tasks)
    from stancelab.model.config import apply_model_overrides

    pipeline = build_pipeline(apply_model_overrides(config.model, SELECTED), tasks, config.seed)
    X, Y = model_input(frame), frame[tasks].astype(object)
    return config, tasks, frame, pipeline, X, Y


def register_ours(uri: str) -> tuple[str, float]:
    """Fit ours, log it as train.py does (``_log_model``: skops, the trusted types) in the store at
    ``uri`` and register it as champion (``registry.register``). Returns the champion URI, fit seconds."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from stancelab import tracking
    from stancelab.data import datasets
    from stancelab.training.registry import CHAMPION, register
    from stancelab.training.train import ConfigResult, _log_model

    config, tasks, frame, pipeline, X, Y = build_ours()
    start = time.perf_counter()
    model = pipeline.fit(X, Y)
    fit_s = time.perf_counter() - start
    tracking.setup(uri)
    tracking.ensure_experiment("speed-benchmark")
    select = config.cv.select_by
    # no cross-validation here: the score slots say so (NaN), and a fresh store has no champion to beat
    best = ConfigResult("benchmark", {}, "", {select: float("nan")}, {}, 0.0)
    with mlflow.start_run(run_name="speed benchmark: Mawqif final"):
        info = _log_model(mlflow, model, frame, tasks, config.dataset.name, datasets.digest(frame), select, best)
        version, promoted, _ = register(MlflowClient(), info.model_uri, config.model_name, select, float("nan"),
                                        {"dataset": "mawqif", "note": "speed benchmark, no CV"})
    if not promoted:
        raise RuntimeError("the benchmark model did not become champion")
    return f"models:/{config.model_name}@{CHAMPION}", fit_s


def train_fasttext(path: Path, threads: int):
    import fasttext

    return fasttext.train_supervised(str(path), **FASTTEXT, thread=threads, seed=13, verbose=0)


def write_fasttext_train(path: Path) -> None:
    train = raw_split("train")
    path.write_text("".join(f"__label__{s.strip()} {fasttext_line(g, t)}\n"
                            for s, g, t in zip(train["stance"], train["target"], train["text"])), encoding="utf-8")


def sklearn_models():
    """Stock scikit-learn, one Pipeline per target on the raw text: word 1-2 + char_wb 2-5 TF-IDF in a
    FeatureUnion (sublinear tf, char min_df 2: the same settings as our shared block) and
    LogisticRegression(C=1, class_weight='balanced')."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    train = raw_split("train")
    models = {}
    for target, rows in train.groupby("target"):
        models[target] = Pipeline([
            ("features", FeatureUnion([
                ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True))])),
            ("classifier", LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)),
        ]).fit(rows["text"].tolist(), rows["stance"].str.strip().tolist())
    return models


def sklearn_predict(models, texts, targets):
    import numpy as np

    out = np.empty(len(texts), dtype=object)
    for target, model in models.items():
        rows = np.flatnonzero(targets == target)
        if len(rows):
            out[rows] = model.predict(texts[rows].tolist())
    return out


# ---------------------------------------------------------------------- workers (one fresh process each)
def worker(kind: str, state: dict) -> dict:
    copies, quotes = state["copies"], state["quotes"]
    test, train = raw_split("test"), raw_split("train")
    if kind.startswith("ours"):
        import predict

        start = time.perf_counter()
        model = predict.load(state["model_uri"])
        out = {"load_s": time.perf_counter() - start}
        model.predict(records(train)[:WARMUP])  # lazily built evidence tables; a few words in the cache
        if kind in ("ours_batch", "ours_batch_evidence"):
            batch = records(test, copies)
            evidence = kind == "ours_batch_evidence"
            start = time.perf_counter()
            results = model.predict(batch, evidence=evidence)
            seconds = time.perf_counter() - start
            out.update(rows=len(batch), seconds=seconds, rows_s=len(batch) / seconds,
                       stance_f_avg_target_mean=stance_score(test, [r["stance"] for r in results[:len(test)]]))
        elif kind in ("ours_latency", "ours_latency_no_evidence"):
            evidence = kind == "ours_latency"
            out.update(_latency(lambda r: model.predict([r], evidence=evidence), records(test), quotes))
        elif kind == "ours_profile":
            import cProfile
            import io
            import pstats

            batch = records(test, copies)
            profiler = cProfile.Profile()
            start = time.perf_counter()
            profiler.runcall(model.predict, batch, evidence=False)
            out["seconds_profiled"] = time.perf_counter() - start
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(15)
            out["profile"] = text.getvalue()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
            out["profile_tottime"] = text.getvalue()
        else:
            raise ValueError(kind)
        return out
    if kind == "fasttext_batch":
        import fasttext

        start = time.perf_counter()
        model = fasttext.load_model(state["fasttext_model"])
        out = {"load_s": time.perf_counter() - start}
        one = [fasttext_line(g, t) for g, t in zip(test["target"], test["text"])]
        model.predict([fasttext_line(g, t) for g, t in zip(train["target"], train["text"])][:WARMUP])
        batch = one * copies
        start = time.perf_counter()
        labels, _ = model.predict(batch)
        seconds = time.perf_counter() - start
        out.update(rows=len(batch), seconds=seconds, rows_s=len(batch) / seconds,
                   stance_f_avg_target_mean=stance_score(test, [l[0].removeprefix("__label__")
                                                                for l in labels[:len(test)]]))
        out["latency"] = _latency(lambda line: model.predict([line]), one, quotes)
        return out
    if kind == "sklearn_batch":
        import joblib
        import numpy as np

        models = joblib.load(state["sklearn_model"])  # our own file, written by this run
        texts, targets = test["text"].to_numpy(dtype=object), test["target"].to_numpy(dtype=object)
        sklearn_predict(models, texts[:WARMUP], targets[:WARMUP])
        big_texts, big_targets = np.tile(texts, copies), np.tile(targets, copies)
        start = time.perf_counter()
        predicted = sklearn_predict(models, big_texts, big_targets)
        seconds = time.perf_counter() - start
        out = {"rows": len(big_texts), "seconds": seconds, "rows_s": len(big_texts) / seconds,
               "stance_f_avg_target_mean": stance_score(test, predicted[:len(test)])}
        out["latency"] = _latency(lambda i: models[targets[i]].predict([texts[i]]), list(range(len(texts))), quotes)
        return out
    if kind == "train_ours":
        *_, pipeline, X, Y = build_ours()
        start = time.perf_counter()
        pipeline.fit(X, Y)
        return {"seconds": time.perf_counter() - start}
    if kind == "train_fasttext":
        path = Path(state["tmp"]) / f"fasttext-train-{os.getpid()}.txt"
        write_fasttext_train(path)
        start = time.perf_counter()
        train_fasttext(path, state["fasttext_threads"])
        seconds = time.perf_counter() - start
        path.unlink()
        return {"seconds": seconds}
    if kind == "train_sklearn":
        start = time.perf_counter()
        sklearn_models()
        return {"seconds": time.perf_counter() - start}
    raise ValueError(kind)


def run_worker(kind: str, state_path: Path, env: dict) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", kind, "--state", str(state_path)],
                          capture_output=True, text=True, env=env, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"worker {kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- cold command line
def cold_cli(state: dict, runs: int, env: dict) -> dict:
    """Wall time of whole processes: our one-quote CLI and fastText's load + predict of one quote.
    The first of each is reported apart (ours copies the model from the registry into the cache)."""
    test = raw_split("test")
    quote, target = test["text"][0].strip(), test["target"][0]
    ours = [sys.executable, "predict.py", quote, "--target", target, "--model", state["model_uri"]]
    fast = [sys.executable, "-c", "import sys, fasttext; m = fasttext.load_model(sys.argv[1]); "
            "print(m.predict([sys.argv[2]]))", state["fasttext_model"], fasttext_line(target, quote)]

    def timed(command, expect: str) -> float:
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
        seconds = time.perf_counter() - start
        if done.returncode != 0 or expect not in done.stdout:
            raise RuntimeError(f"{command[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
        return seconds

    out = {"quote": quote, "target": target, "ours_first_s": timed(ours, '"stance"'),
           "fasttext_first_s": timed(fast, "__label__")}
    times: dict[str, list[float]] = {"ours": [], "fasttext": []}
    for i in range(runs):  # alternate which goes first
        for name in (("ours", "fasttext") if i % 2 == 0 else ("fasttext", "ours")):
            times[name].append(timed(ours, '"stance"') if name == "ours" else timed(fast, "__label__"))
    out.update({f"{name}_runs_s": values for name, values in times.items()})
    out.update({f"{name}_median_s": statistics.median(values) for name, values in times.items()})
    return out


# ---------------------------------------------------------------------- the run
def machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu, "nproc": nproc,
            "python": platform.python_version(), "platform": platform.platform(), "packages": versions,
            "load_average_1min_start": os.getloadavg()[0]}


def best(rounds: list[dict], key: str, largest: bool) -> float:
    values = [r[key] for r in rounds]
    return max(values) if largest else min(values)


def summarise(raw: dict) -> dict:
    r = raw["rounds"]
    s = {
        "ours_rows_s_no_evidence": best(r["ours_batch"], "rows_s", True),
        "ours_rows_s_evidence": best(r["ours_batch_evidence"], "rows_s", True),
        "fasttext_rows_s": best(r["fasttext_batch"], "rows_s", True),
        "sklearn_rows_s": best(r["sklearn_batch"], "rows_s", True),
        "ours_p50_ms": best(r["ours_latency"], "p50_ms", False),
        "ours_p95_ms": best(r["ours_latency"], "p95_ms", False),
        "ours_p50_ms_no_evidence": best(r["ours_latency_no_evidence"], "p50_ms", False),
        "ours_p95_ms_no_evidence": best(r["ours_latency_no_evidence"], "p95_ms", False),
        "fasttext_p50_ms": min(x["latency"]["p50_ms"] for x in r["fasttext_batch"]),
        "fasttext_p95_ms": min(x["latency"]["p95_ms"] for x in r["fasttext_batch"]),
        "sklearn_p50_ms": min(x["latency"]["p50_ms"] for x in r["sklearn_batch"]),
        "sklearn_p95_ms": min(x["latency"]["p95_ms"] for x in r["sklearn_batch"]),
        "ours_train_s": best(r["train_ours"], "seconds", False),
        "fasttext_train_s": best(r["train_fasttext"], "seconds", False),
        "sklearn_train_s": best(r["train_sklearn"], "seconds", False),
        "ours_load_s": best(r["ours_batch"], "load_s", False),
        "ours_f": r["ours_batch"][0]["stance_f_avg_target_mean"],
        "fasttext_f": r["fasttext_batch"][0]["stance_f_avg_target_mean"],
        "sklearn_f": r["sklearn_batch"][0]["stance_f_avg_target_mean"],
    }
    cli = raw["cold_cli"]
    s.update({"ours_cli_first_s": cli["ours_first_s"], "ours_cli_median_s": cli["ours_median_s"],
              "fasttext_cli_first_s": cli["fasttext_first_s"], "fasttext_cli_median_s": cli["fasttext_median_s"]})
    s["ratio_no_evidence"] = s["ours_rows_s_no_evidence"] / s["fasttext_rows_s"]
    s["ratio_evidence"] = s["ours_rows_s_evidence"] / s["fasttext_rows_s"]
    s["ratio_cold_cli"] = s["ours_cli_median_s"] / s["fasttext_cli_median_s"]
    s["ratio_train"] = s["ours_train_s"] / s["fasttext_train_s"]
    s["goals"] = {
        "throughput_no_evidence >= 1.0x fastText (stretch 2x)": s["ratio_no_evidence"] >= 1.0,
        "throughput_no_evidence stretch 2x": s["ratio_no_evidence"] >= 2.0,
        "throughput_evidence >= 0.5x fastText": s["ratio_evidence"] >= 0.5,
        "one quote p50 <= 1 ms": s["ours_p50_ms"] <= 1.0,
        "cold CLI <= 3x fastText": s["ratio_cold_cli"] <= 3.0,
    }
    return s


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def markdown(raw: dict) -> str:
    s, m = raw["summary"], raw["machine"]
    rows_n = raw["rounds"]["ours_batch"][0]["rows"]
    g = s["goals"]
    lines = [
        "| measure | ours (public API) | fastText | plain scikit-learn | ours / fastText | goal |",
        "|---|---|---|---|---|---|",
        f"| batch rows/s, no evidence (test x {raw['copies']} = {rows_n:,} rows) | {s['ours_rows_s_no_evidence']:,.0f} | "
        f"{s['fasttext_rows_s']:,.0f} | {s['sklearn_rows_s']:,.0f} | {s['ratio_no_evidence']:.2f}x | >= 1.0x "
        f"(stretch 2x): {_met(g['throughput_no_evidence >= 1.0x fastText (stretch 2x)'])}"
        f"{', stretch met' if g['throughput_no_evidence stretch 2x'] else ''} |",
        f"| batch rows/s, with evidence (the default) | {s['ours_rows_s_evidence']:,.0f} | {s['fasttext_rows_s']:,.0f} "
        f"(no evidence) | {s['sklearn_rows_s']:,.0f} | {s['ratio_evidence']:.2f}x | >= 0.5x: "
        f"{_met(g['throughput_evidence >= 0.5x fastText'])} |",
        f"| one quote, p50 / p95 ms, with evidence | {s['ours_p50_ms']:.2f} / {s['ours_p95_ms']:.2f} | "
        f"{s['fasttext_p50_ms']:.3f} / {s['fasttext_p95_ms']:.3f} | {s['sklearn_p50_ms']:.2f} / {s['sklearn_p95_ms']:.2f} "
        f"| | p50 <= 1 ms: {_met(g['one quote p50 <= 1 ms'])} |",
        f"| one quote, p50 / p95 ms, no evidence | {s['ours_p50_ms_no_evidence']:.2f} / "
        f"{s['ours_p95_ms_no_evidence']:.2f} | | | | |",
        f"| cold CLI, one quote: median of {len(raw['cold_cli']['ours_runs_s'])} runs, s | {s['ours_cli_median_s']:.2f} | "
        f"{s['fasttext_cli_median_s']:.2f} | | {s['ratio_cold_cli']:.2f}x | <= 3x: {_met(g['cold CLI <= 3x fastText'])} |",
        f"| cold CLI, first run (ours: copies the model into the cache), s | {s['ours_cli_first_s']:.2f} | "
        f"{s['fasttext_cli_first_s']:.2f} | | | |",
        f"| training on Mawqif train (3,502 tweets), s | {s['ours_train_s']:.1f} | {s['fasttext_train_s']:.1f} | "
        f"{s['sklearn_train_s']:.1f} | {s['ratio_train']:.2f}x | |",
        f"| stance F_avg, mean over targets, Mawqif test (sanity check) | {s['ours_f']:.1f} | {s['fasttext_f']:.1f} | "
        f"{s['sklearn_f']:.1f} | | |",
    ]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    note = (f"Measured {m['date']} on {m['cpu']} (nproc {m['nproc']}, load average {m['load_average_1min_start']:.1f} "
            f"at the start), Python {m['python']}; {packages}. Best of {raw['rounds_n']} interleaved fresh-process "
            f"rounds (one warm-up call of {WARMUP} train quotes per process before the timed call); one quote = "
            f"{raw['quotes']} distinct test tweets; cold CLI = whole `python` processes, median of "
            f"{len(raw['cold_cli']['ours_runs_s'])} runs after a first one. Our model loads in "
            f"{s['ours_load_s']:.2f} s in process (`predict.load` from the cache). fastText: {FASTTEXT['epoch']} epochs, "
            f"wordNgrams {FASTTEXT['wordNgrams']}, minn {FASTTEXT['minn']}, maxn {FASTTEXT['maxn']}, dim "
            f"{FASTTEXT['dim']}, lr its default (0.1), {raw['fasttext_threads']} thread(s); ours and scikit-learn fit "
            "single-threaded.")
    return "\n".join(lines) + "\n\n" + note


def update_readme(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8")
    if text.count(START) != 1 or text.count(END) != 1:
        raise SystemExit(f"{path}: expected one {START} and one {END} marker")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{block}\n{END}{tail}", encoding="utf-8")


SCHEDULE = ("ours_batch", "fasttext_batch", "sklearn_batch", "ours_batch_evidence", "ours_latency",
            "ours_latency_no_evidence", "train_ours", "train_fasttext", "train_sklearn")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/speed.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="fresh-process rounds per measurement (best is kept)")
    parser.add_argument("--copies", type=int, default=8, help="copies of Mawqif test in the batch")
    parser.add_argument("--quotes", type=int, default=500, help="one-quote calls (distinct test tweets)")
    parser.add_argument("--cli-runs", type=int, default=5, help="cold CLI runs after the first, per system")
    parser.add_argument("--fasttext-threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile our no-evidence batch (top 15 by cumulative and by own time, in the JSON)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results (default {DEFAULT_JSON})")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the table in benchmarks/README.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary store and models")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        state = json.loads(args.state.read_text(encoding="utf-8"))
        print(json.dumps(worker(args.worker, state)))
        return 0

    raw = {"machine": machine(), "rounds_n": args.rounds, "copies": args.copies, "quotes": args.quotes,
           "fasttext_threads": args.fasttext_threads, "fasttext": FASTTEXT, "selected": SELECTED}
    tmp = Path(tempfile.mkdtemp(prefix="stancelab-speed-"))
    try:
        uri = f"sqlite:///{tmp / 'mlflow.db'}"
        env_cli = {**os.environ, "MLFLOW_TRACKING_URI": uri, "STANCELAB_CACHE": str(tmp / "cache"),
                   "PYTHONPATH": str(REPO)}
        env = {**env_cli, **ONE_THREAD}
        print("set-up: fitting ours and registering it as champion in a temporary store ...", file=sys.stderr,
              flush=True)
        model_uri, fit_s = register_ours(uri)
        import joblib

        print("set-up: fastText and scikit-learn ...", file=sys.stderr, flush=True)
        write_fasttext_train(tmp / "fasttext-train.txt")
        train_fasttext(tmp / "fasttext-train.txt", args.fasttext_threads).save_model(str(tmp / "fasttext.bin"))
        joblib.dump(sklearn_models(), tmp / "sklearn.joblib")
        state = {"tmp": str(tmp), "model_uri": model_uri, "fasttext_model": str(tmp / "fasttext.bin"),
                 "sklearn_model": str(tmp / "sklearn.joblib"), "copies": args.copies, "quotes": args.quotes,
                 "fasttext_threads": args.fasttext_threads}
        state_path = tmp / "state.json"
        state_path.write_text(json.dumps(state), encoding="utf-8")
        raw["setup_fit_s"] = fit_s

        print("cold CLI ...", file=sys.stderr, flush=True)  # first: ours must find an empty cache
        raw["cold_cli"] = cold_cli(state, args.cli_runs, env_cli)
        raw["rounds"] = {kind: [] for kind in SCHEDULE}
        for number in range(args.rounds):
            for kind in SCHEDULE:
                print(f"round {number + 1}/{args.rounds}: {kind} ...", file=sys.stderr, flush=True)
                raw["rounds"][kind].append(run_worker(kind, state_path, env))
        if args.profile:
            print("profile ...", file=sys.stderr, flush=True)
            raw["profile"] = run_worker("ours_profile", state_path, env)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    raw["summary"] = summarise(raw)
    block = markdown(raw)
    print(block)
    if "profile" in raw:
        print(f"\ncProfile of predict(records, evidence=False) ({raw['profile']['seconds_profiled']:.2f} s "
              f"profiled):\n{raw['profile']['profile']}\nby own time:\n{raw['profile']['profile_tottime']}")
    args.json.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not args.no_readme:
        update_readme(README, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
