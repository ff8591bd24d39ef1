"""Data and model integrity: a changed benchmark file is refused before training, train/test overlap
is visible in the evaluation run, and only models of trusted types load (pickle only on opt-in)."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import mlflow
import pytest
import skops.io
import yaml
from mlflow.tracking import MlflowClient

import predict
from conftest import REPO
from stancelab.data import datasets
from stancelab.model.config import load_config
from stancelab.errors import UserError
from stancelab.evaluation.evaluate import evaluate
from stancelab.serving.predictor import load_pipeline
from stancelab.training.train import train

# ----------------------------------------------------------------- pinned benchmark checksums


@pytest.fixture
def edited_mawqif(shared_datasets, tmp_path) -> Path:
    """A copy of Mawqif whose train.csv has one label changed (a locally 'corrected' copy)."""
    root = tmp_path / "data"
    shutil.copytree(shared_datasets / "mawqif", root / "mawqif")
    train_csv = root / "mawqif" / "train.csv"
    train_csv.chmod(0o644)
    raw = train_csv.read_bytes()
    train_csv.write_bytes(raw.replace(b",Women empowerment,Against,", b",Women empowerment,Favor,", 1))
    return root


def test_changed_benchmark_file_is_refused_with_the_way_out(edited_mawqif):
    with pytest.raises(UserError) as refused:
        datasets.load("mawqif", "train", edited_mawqif)
    message = str(refused.value)
    assert message.startswith(f"{edited_mawqif / 'mawqif' / 'train.csv'}: sha256 ")
    assert "pinned for mawqif:train" in message and "fetch mawqif" in message
    assert "dataset.verify_checksums: false" in message and "\n" not in message
    # the untouched split still verifies; an explicit opt-out loads the edited copy and says so
    assert datasets.load("mawqif", "test", edited_mawqif).attrs["checksum"] == "verified"
    edited = datasets.load("mawqif", "train", edited_mawqif, verify=False)
    assert edited.attrs["checksum"] == "modified"
    assert any("differs from the" in w and "used anyway" in w for w in edited.attrs["report"].warnings)


def test_training_on_a_changed_benchmark_stops_before_any_run(edited_mawqif, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    config = load_config(REPO / "experiments" / "mawqif.yaml", [f"dataset.data_dir={edited_mawqif}"])
    with pytest.raises(UserError, match="pinned for mawqif:train"):
        train(config, f"sqlite:///{store / 'mlflow.db'}")
    assert list(store.iterdir()) == []  # not even a store was created


# ----------------------------------------------------------------- train/test overlap in the run

def test_train_test_overlap_is_a_metric_and_a_tag_of_the_evaluation_run(trained, tmp_path):
    """A user's CSV with both splits: one test sentence is a train sentence with other diacritics."""
    data = tmp_path / "mine.csv"
    data.write_text(
        "id,text,actor,target,stance,sentiment,split\n"
        "1,دعا لافروف إلى وقف إطلاق النار,Lavrov,deescalation_idlib,favor,positive,train\n"
        "2,Ankara rejects the truce,,deescalation_idlib,against,negative,train\n"
        "3,دَعا لافروف إلى وقفِ إطلاقِ النار,Lavrov,deescalation_idlib,favor,positive,test\n"
        "4,NATO weighs Article 4 for Turkey,,nato_support_turkey,none,neutral,test\n", encoding="utf-8")
    result = evaluate("models:/idlib-stance@champion", str(data), "test", tracking_uri=trained["uri"],
                      n_resamples=20, experiment="integrity")
    assert result["train_overlap"] == {"exact": 0, "normalised": 1, "test_rows_affected": 1}
    assert any("1 text(s) of 'test' also occur in 'train'" in w for w in result["warnings"])
    run = MlflowClient(trained["uri"]).get_run(result["run_id"])
    assert run.data.metrics["test_train_overlap"] == 1 and run.data.metrics["test_train_overlap_rows"] == 1
    assert run.data.metrics["test_train_overlap_exact"] == 0 and run.data.tags["train_overlap"] == "1"
    assert run.data.tags["version.scikit-learn"] and run.data.tags["python_version"]

    # no train rows to compare with: said so, not reported as zero
    only_test = tmp_path / "only_test.csv"
    only_test.write_text("\n".join(data.read_text(encoding="utf-8").splitlines()[::3]) + "\n", encoding="utf-8")
    result = evaluate("models:/idlib-stance@champion", str(only_test), "test", tracking_uri=trained["uri"],
                      n_resamples=20, experiment="integrity")
    run = MlflowClient(trained["uri"]).get_run(result["run_id"])
    assert result["train_overlap"] is None and run.data.tags["train_overlap"] == "not checked"
    assert "test_train_overlap" not in run.data.metrics


# ----------------------------------------------------------------- safe model loading

@pytest.fixture
def model_dir(trained, tmp_path) -> Path:
    local = mlflow.artifacts.download_artifacts(artifact_uri="models:/idlib-stance@champion",
                                                tracking_uri=trained["uri"], dst_path=str(tmp_path / "m"))
    return Path(local)


def test_untrusted_type_is_refused_even_when_the_model_lists_it_as_trusted(model_dir):
    """The type list stored in the MLmodel file is the attacker's to edit; ours is the one used."""
    import os

    skops.io.dump({"payload": os.system}, model_dir / "model.skops")
    smuggled = skops.io.get_untrusted_types(file=model_dir / "model.skops")
    spec = yaml.safe_load((model_dir / "MLmodel").read_text(encoding="utf-8"))
    spec["flavors"]["sklearn"]["skops_trusted_types"] += smuggled
    (model_dir / "MLmodel").write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(UserError, match=r"refused, the model contains types outside the trusted list.*system"):
        load_pipeline(model_dir)


def test_corrupt_model_file_is_refused_cleanly(model_dir):
    blob = (model_dir / "model.skops").read_bytes()
    (model_dir / "model.skops").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(UserError, match=r"model.skops: cannot load the model"):
        load_pipeline(model_dir)


def test_pickle_model_needs_the_opt_in_flag(model_dir, tmp_path, capsys, monkeypatch):
    pipeline, _ = load_pipeline(model_dir)
    with open(model_dir / "model.pkl", "wb") as handle:
        pickle.dump(pipeline, handle)
    spec = yaml.safe_load((model_dir / "MLmodel").read_text(encoding="utf-8"))
    spec["flavors"]["sklearn"].update(pickled_model="model.pkl", serialization_format="cloudpickle")
    (model_dir / "MLmodel").write_text(yaml.safe_dump(spec), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    quote = ["Lavrov calls for an immediate ceasefire in Idlib", "--target", "deescalation_idlib",
             "--model", str(model_dir), "--output", "out.jsonl"]

    assert predict.main(quote) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "can run arbitrary code" in err
    assert "--allow-unsafe-pickle" in err and not (tmp_path / "out.jsonl").exists()

    assert predict.main([*quote, "--allow-unsafe-pickle"]) == 0
    [row] = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    [expected] = predict.Predictor(pipeline=pipeline, model_uri="skops").predict(
        [{"text": quote[0], "target": "deescalation_idlib"}])
    assert row["stance_proba"] == expected["stance_proba"]

    with pytest.raises(SystemExit):
        predict.main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--allow-unsafe-pickle" in help_text and "runs any code inside it" in help_text


# ----------------------------------------------------------------- scoring a predictions file

def test_scoring_predict_output_equals_evaluating_the_model(trained, tmp_path, capsys):
    """predict.py's own output (with ids), shuffled, scores exactly like evaluating the model."""
    import evaluate as evaluate_cli

    test = datasets.load("idlib", "test")
    quotes = tmp_path / "quotes.csv"
    test[["id", "text", "target", "actor"]].sample(frac=1, random_state=1).to_csv(quotes, index=False)
    out = tmp_path / "predictions.jsonl"
    assert predict.main(["--input", str(quotes), "--output", str(out), "--no-evidence",
                         "--tracking-uri", trained["uri"]]) == 0
    scores = tmp_path / "scores.json"
    assert evaluate_cli.main(["--predictions", str(out), "--data", "idlib:test", "--bootstrap", "50",
                              "--json", str(scores)]) == 0, capsys.readouterr().err
    from_file = json.loads(scores.read_text(encoding="utf-8"))
    from_model = evaluate("models:/idlib-stance@champion", "idlib", "test", tracking_uri=trained["uri"],
                          n_resamples=50, log=False)
    assert from_file["n"] == from_model["n"] == len(test)
    for key in ("f_avg", "f_avg_target_mean", "stance_macro_f1", "sentiment_macro_f1"):
        assert from_file[key] == from_model[key], key
    assert from_file["per_target"] == from_model["per_target"]
