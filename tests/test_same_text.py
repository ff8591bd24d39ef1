"""Training and serving see the same text: what a benchmark loader strips from a tweet (SemEval-2016's
" #SemST", ArSarcasm-v2's stray quote pair), the model's own normaliser strips too. So ``predict`` on
the raw test file, as users have it, gives exactly the numbers ``evaluate`` reports."""

from __future__ import annotations

import csv

import mlflow
import pytest

import predict
from stancelab.data import datasets
from stancelab.evaluation.evaluate import evaluate
from stancelab.model.config import ModelConfig
from stancelab.model.pipeline import TRUSTED_TYPES, build_pipeline
from stancelab.scoring import metrics
from stancelab.training.cv import model_input

CHAR_ONLY = ModelConfig.model_validate({"word": {"ngram_range": [1, 2]}, "char": {"ngram_range": [2, 4], "min_df": 2}})


def _saved_model(folder, dataset: str, tasks: tuple[str, ...], rows: int):
    frame = datasets.load(dataset, "train", tasks=tasks)
    frame = frame.groupby(["target", tasks[0]]).head(rows)  # a small, balanced model: only its text matters here
    model = build_pipeline(CHAR_ONLY, tasks).fit(model_input(frame), frame[list(tasks)].astype(object))
    mlflow.sklearn.save_model(model, str(folder), serialization_format="skops", skops_trusted_types=TRUSTED_TYPES,
                              metadata={"tasks": list(tasks), "targets": datasets.target_names(dataset, frame)})
    return str(folder)


def _raw_rows(path, encoding: str) -> list[dict]:
    with open(path, encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


def test_semeval_raw_test_file_through_predict_scores_as_evaluate(shared_datasets, tmp_path):
    uri = _saved_model(tmp_path / "model", "semeval2016", ("stance",), rows=40)
    raw = [r for r in _raw_rows(shared_datasets / "semeval2016_task6" / "test.csv", "latin-1")
           if r["Target"] != "Donald Trump"]
    assert all(r["Tweet"].rstrip().endswith("#SemST") for r in raw)  # the marker the loader strips
    out = predict.load(uri).predict([{"text": r["Tweet"], "target": r["Target"]} for r in raw], evidence=False)
    served = metrics.f_avg([r["Stance"].lower() for r in raw], [o["stance"] for o in out])
    evaluated = evaluate(uri, "semeval2016", "test", n_resamples=1, log=False)
    assert evaluated["n"] == len(raw)
    assert served == pytest.approx(evaluated["f_avg"]["value"], abs=1e-12)


def test_arsarcasm_raw_test_file_through_predict_scores_as_evaluate(shared_datasets, tmp_path):
    uri = _saved_model(tmp_path / "model", "arsarcasm", ("sentiment",), rows=300)
    raw = _raw_rows(shared_datasets / "arsarcasm_v2" / "test.csv", "utf-8")
    assert sum(r["tweet"].startswith('"') for r in raw) > 10  # the stray quote pair the loader strips
    out = predict.load(uri).predict([{"text": r["tweet"]} for r in raw], evidence=False)
    names = {"POS": "positive", "NEG": "negative", "NEU": "neutral"}
    gold = [names[r["sentiment"]] for r in raw]
    evaluated = evaluate(uri, "arsarcasm", "test", n_resamples=1, log=False)
    assert evaluated["n"] == len(raw) == 3000
    assert metrics.f_pn(gold, [o["sentiment"] for o in out]) == pytest.approx(evaluated["sentiment_f_pn"]["value"],
                                                                              abs=1e-12)
    assert {row["dialect"] for row in evaluated["per_dialect"]} == {"msa", "egypt", "gulf", "levant", "magreb"}
    assert out[0]["target"] is None and "stance" not in out[0]
