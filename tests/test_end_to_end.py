"""train -> evaluate -> predict on the embedded corpus, into a temporary SQLite tracking store."""

from __future__ import annotations

import json

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from conftest import REPO, run_cli
from stancelab.errors import UserError


def test_training_logs_runs_metrics_lineage_and_champion(trained):
    result, uri = trained["result"], trained["uri"]
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)  # get_model_info below reads the global registry
    client = MlflowClient(uri, registry_uri=uri)
    parent = client.get_run(result.parent_run_id)
    children = client.search_runs([result.experiment_id], f"tags.mlflow.parentRunId = '{result.parent_run_id}'")
    assert len(children) == 2 == len(result.configurations)
    swept = {k.removeprefix("model.") for k in result.configurations[0].overrides}
    for child in children:
        assert {"cv_f_avg", "cv_f_avg_target_mean_std", "cv_f_avg_target_mean", "cv_sentiment_macro_f1",
                "cv_sentiment_f_pn"} <= set(child.data.metrics)
        assert set(child.data.params) == swept  # only what the sweep varies; the parent has the rest
        assert child.data.tags["sweep"] == result.parent_run_id
        assert all(round(v, 4) == v for v in child.data.metrics.values())
        # the child's clock is its folds' wall clock, not the moment it was logged
        assert child.info.end_time - child.info.start_time >= 1000 * result.configurations[0].cv_seconds / 10
    assert parent.data.params["classifier.class_weight"] == "balanced"
    from stancelab.tracking import git_info

    assert parent.data.tags.get("git_commit") == git_info().get("git_commit")
    assert parent.data.tags["seed"] == "13"
    assert len(parent.data.tags["dataset_sha256"]) == 64
    assert parent.data.metrics["fit_vocabulary_size"] > 1000
    assert parent.inputs.dataset_inputs and parent.inputs.dataset_inputs[0].dataset.name == "idlib-train"
    artifacts = {a.path for a in client.list_artifacts(result.parent_run_id, "plots")}
    assert "plots/cv_confusion_stance.png" in artifacts and "plots/cv_confusion_sentiment.png" in artifacts
    version = client.get_model_version_by_alias("idlib-stance", "champion")
    assert str(version.version) == result.model_version and version.run_id == result.parent_run_id
    best = max(result.configurations, key=lambda r: r.cv_mean["f_avg_target_mean"])
    assert result.best_by_cv is best
    assert parent.data.tags["best_configuration"] == best.name
    assert parent.data.tags["chosen_configuration"] == result.best.name
    # one-standard-error rule: the chosen one is within one SE of the best
    select = "f_avg_target_mean"
    assert result.best.cv_mean[select] >= best.cv_mean[select] - best.cv_se[select]
    # the logged model carries a signature with the three input columns
    info = mlflow.models.get_model_info("models:/idlib-stance@champion")
    assert [c.name for c in info.signature.inputs.inputs] == ["text", "target", "actor"]
    assert [c.name for c in info.signature.outputs.inputs] == ["stance", "sentiment"]


def test_champion_only_moves_when_cv_improves(trained, tmp_path):
    from stancelab.model.config import load_config
    from stancelab.training.train import train

    uri = trained["uri"]
    # A deliberately weak configuration (tiny C, no char block) registers but does not take the alias.
    weak = load_config(REPO / "experiments" / "default.yaml",
                       ["cv.folds=3", "n_jobs=1", "grid={}", "model.classifier.C=0.0001",
                        "model.char=null"])
    result = train(weak, uri)
    assert not result.champion
    client = MlflowClient(uri, registry_uri=uri)
    assert str(client.get_model_version_by_alias("idlib-stance", "champion").version) == trained["result"].model_version
    assert int(result.model_version) == int(trained["result"].model_version) + 1


def test_a_new_version_of_the_experiment_file_takes_the_alias_whatever_its_score(trained, tmp_path):
    import mlflow

    from stancelab.training.train import register

    uri = trained["uri"]
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment_id = mlflow.create_experiment("champion-file", artifact_location=tmp_path.as_uri())
    client = MlflowClient(uri, registry_uri=uri)
    promoted = []
    for f_avg, sha in ((0.70, "file-v1"), (0.60, "file-v1"), (0.60, "file-v2"), (0.59, "file-v2")):
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.log_metrics({"cv_f_avg": f_avg})
            mlflow.log_text("a stand-in: registration reads only the run", "model/MLmodel")
            promoted.append(register(client, f"runs:/{run.info.run_id}/model", "file-stance", "f_avg", f_avg,
                                     {"experiment_sha": sha})[1])
    # the same file: CV decides; a changed file: its model supersedes a score measured by other settings
    assert promoted == [True, False, True, False]


def test_evaluate_writes_intervals_and_breakdowns(trained, tmp_path):
    out = tmp_path / "results.json"
    proc = run_cli("evaluate.py", "experiments/default.yaml", "--split", "test", "--json", out,
                   "--bootstrap", "200", "--tracking-uri", trained["uri"])
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["n"] == 390
    for key in ("f_avg", "f_avg_target_mean", "stance_macro_f1", "stance_accuracy", "sentiment_macro_f1",
                "sentiment_accuracy"):
        entry = result[key]
        assert 0 <= entry["ci_low"] <= entry["value"] <= entry["ci_high"] <= 1, key
    assert result["f_avg_target_mean"]["value"] > 0.4  # far above chance on held-out sentences
    assert {row["target"] for row in result["per_target"]} == {"turkish_operation_idlib", "nato_support_turkey",
                                                              "deescalation_idlib"}
    assert any(row["actor"] == "Asselborn" for row in result["per_actor"])
    client = MlflowClient(trained["uri"])
    run = client.get_run(result["run_id"])
    assert run.data.tags["role"] == "evaluation" and run.data.tags["registered_model"] == "idlib-stance"
    assert "test_f_avg" in run.data.metrics and "test_f_avg_ci_low" in run.data.metrics
    logged = {a.path for a in client.list_artifacts(result["run_id"], "evaluation")}
    assert "evaluation/test_errors.csv" in logged
    # the evaluation metrics are linked to the registered model's logged model
    version = client.get_model_version_by_alias("idlib-stance", "champion")
    linked = client.get_logged_model(version.source.removeprefix("models:/"))
    assert {"test_f_avg", "test_f_avg_target_mean"} <= {m.key for m in linked.metrics}


def test_evaluate_any_model_on_any_data(trained, tmp_path):
    out = tmp_path / "r.json"
    version = trained["result"].model_version
    proc = run_cli("evaluate.py", "--model", f"models:/idlib-stance/{version}", "--data", "idlib:train",
                   "--json", out, "--bootstrap", "50", "--no-log", "--tracking-uri", trained["uri"])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["n"] == 1344


def test_predict_api_returns_both_tasks_with_evidence(trained):
    import predict

    model = predict.load(tracking_uri=trained["uri"])
    [result] = model.predict([{"text": "دعا الأمين العام إلى وقف فوري لإطلاق النار في إدلب واستئناف الحوار السياسي",
                               "target": "De-escalation in Idlib", "actor": "Guterres"}])
    assert set(result) == {"text", "target", "actor", "speaker_span", "stance", "stance_proba", "sentiment",
                           "sentiment_proba", "evidence"}
    assert result["target"] == "deescalation_idlib" and result["actor"] == "Guterres"
    assert result["stance"] == max(result["stance_proba"], key=result["stance_proba"].get)
    assert sum(result["stance_proba"].values()) == pytest.approx(1, abs=1e-3)
    assert set(result["sentiment_proba"]) == {"positive", "negative", "neutral"}
    assert result["evidence"]["stance"] and all(e["weight"] > 0 for e in result["evidence"]["stance"])
    # targets by id or by name, ignoring case, spaces and underscores
    for name in ("deescalation_idlib", "DEESCALATION IDLIB", "التهدئة في إدلب", "de-escalation in idlib"):
        assert model.resolve_target(name) == "deescalation_idlib"
    with pytest.raises(UserError, match="unknown target 'Covid'.*known targets: .*nato_support_turkey"):
        model.predict([{"text": "x", "target": "Covid"}])
    with pytest.raises(UserError, match="record 2: field 'text'"):
        model.predict([{"text": "ok", "target": "deescalation_idlib"}, {"text": "  ", "target": "deescalation_idlib"}])


def test_predict_cli_single_quote_and_files(trained, tmp_path):
    proc = run_cli("predict.py", "Stoltenberg said allies stand with Turkey and will provide more air defence support",
                   "--target", "nato_support_turkey", "--tracking-uri", trained["uri"])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stance"] in {"favor", "against", "none"}

    quotes = tmp_path / "quotes.csv"
    quotes.write_text("id,text,target,actor\nq1,دعا لافروف إلى التهدئة في إدلب,deescalation_idlib,Lavrov\n"
                      "q2,Asselborn said Turkey has no right to ask NATO for Article 5,nato_support_turkey,\n",
                      encoding="utf-8")
    out_jsonl, out_csv = tmp_path / "p.jsonl", tmp_path / "p.csv"
    assert run_cli("predict.py", "--input", quotes, "--output", out_jsonl, "--tracking-uri", trained["uri"]).returncode == 0
    rows = [json.loads(line) for line in out_jsonl.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2"] and rows[0]["actor"] == "Lavrov"
    assert (rows[1]["actor"], rows[1]["speaker_span"]) == ("Asselborn", "Asselborn")  # the quote names its speaker
    assert run_cli("predict.py", "--input", out_jsonl, "--output", out_csv, "--tracking-uri", trained["uri"]).returncode == 0
    import pandas as pd

    table = pd.read_csv(out_csv, keep_default_na=False)
    assert {"stance", "stance_proba_favor", "sentiment", "sentiment_proba_negative", "stance_evidence"} <= set(table.columns)
    assert len(table) == 2


@pytest.mark.parametrize("args, message", [
    (["--input", "missing.csv", "--output", "{out}"], "missing.csv: no such file"),
    (["--input", "{bad_label}", "--output", "{out}"], "bad.csv:3: field 'target': unknown target 'nowhere'"),
    (["--input", "{empty_text}", "--output", "{out}"], "empty.jsonl:2: field 'text': empty text"),
    (["--input", "{latin}", "--output", "{out}"], "latin.csv:2: not valid utf-8"),
    (["quote without target"], "a quote needs --target"),
    (["x", "--target", "deescalation_idlib", "--model", "models:/no-such-model@champion"], "no model at models:/no-such-model@champion"),
])
def test_predict_cli_bad_input_one_line_no_traceback_no_output(trained, tmp_path, monkeypatch, capsys, args, message):
    """In-process (no interpreter start-up per case); any uncaught exception would fail the test."""
    import predict

    (tmp_path / "bad.csv").write_text("text,target\nok,deescalation_idlib\nfine,nowhere\n", encoding="utf-8")
    (tmp_path / "empty.jsonl").write_text('{"text": "ok", "target": "deescalation_idlib"}\n{"text": " ", "target": "deescalation_idlib"}\n')
    (tmp_path / "latin.csv").write_bytes("text,target\ncafé,deescalation_idlib\n".encode("latin-1"))
    out = tmp_path / "out.jsonl"
    paths = {"out": out, "bad_label": tmp_path / "bad.csv", "empty_text": tmp_path / "empty.jsonl",
             "latin": tmp_path / "latin.csv"}
    monkeypatch.chdir(tmp_path)
    code = predict.main([a.format(**paths) for a in args] + ["--tracking-uri", trained["uri"]])
    stderr = capsys.readouterr().err
    assert code == 2
    assert message in stderr
    assert stderr.startswith("error: ") and len(stderr.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".out.jsonl*"))


def test_predict_before_any_training_is_a_clear_error(tracking_uri):
    proc = run_cli("predict.py", "x", "--target", "deescalation_idlib", "--tracking-uri", tracking_uri)
    assert proc.returncode == 2 and "Train one first: python train.py" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_train_cli_rejects_unknown_config_key(tmp_path, tracking_uri):
    proc = run_cli("train.py", "experiments/default.yaml", "--set", "model.clasifier.C=3", "--tracking-uri", tracking_uri)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --set model.clasifier.C=3: unknown key 'model.clasifier'"


def test_evaluate_cli_rejects_bad_data_argument(trained):
    proc = run_cli("evaluate.py", "--model", "models:/idlib-stance@champion", "--data", "idlib",
                   "--tracking-uri", trained["uri"])
    assert proc.returncode == 2 and "expected NAME:SPLIT" in proc.stderr


def test_tampered_or_pickled_model_is_refused(trained, tmp_path):
    """predict loads with our own trusted-type list: a model file whose types are outside it is refused."""
    import skops.io

    from stancelab.serving.predictor import load_pipeline

    local = mlflow.artifacts.download_artifacts(artifact_uri="models:/idlib-stance@champion",
                                                tracking_uri=trained["uri"], dst_path=str(tmp_path / "m"))
    from pathlib import Path

    model_dir = Path(local)
    pipeline, metadata = load_pipeline(model_dir)
    assert metadata["dataset"] == "idlib"
    # Replace the model with one containing an untrusted type (a function object from os).
    import os

    skops.io.dump({"payload": os.getcwd}, model_dir / "model.skops")
    with pytest.raises(UserError, match="refused"):
        load_pipeline(model_dir)
    # A pickle-format model is refused without the explicit opt-in.
    mlmodel = (model_dir / "MLmodel").read_text()
    (model_dir / "MLmodel").write_text(mlmodel.replace("serialization_format: skops", "serialization_format: cloudpickle"))
    with pytest.raises(UserError, match="allow-unsafe-pickle"):
        load_pipeline(model_dir)


def test_stance_only_experiment_on_a_user_csv(tmp_path, tracking_uri):
    """A user's own schema CSV (no sentiment column) trains, registers and predicts stance alone."""
    import pandas as pd

    import predict
    from stancelab.model.config import load_config
    from stancelab.training.train import train

    corpus = pd.read_csv(REPO / "data" / "corpus.csv", keep_default_na=False)
    english = corpus[corpus["lang"] == "en"].drop(columns=["sentiment", "split"])
    path = tmp_path / "mine.csv"
    english.to_csv(path, index=False)
    experiment = tmp_path / "mine.yaml"
    experiment.write_text(f"experiment: mine\nmodel_name: mine-stance\ndataset: {{name: {path}}}\n"
                          "tasks: [stance]\ncv: {folds: 3}\nn_jobs: 1\nmodel: {char: null, "
                          "word: {ngram_range: [1, 3]}}\n", encoding="utf-8")
    result = train(load_config(experiment), tracking_uri)
    params = MlflowClient(tracking_uri).get_run(result.parent_run_id).data.params
    assert params["word.ngram_range"] == "1-3" and params["char"] == "null"
    assert any("no 'split' column" in w for w in result.data_warnings)
    assert result.champion and set(result.best.cv_mean) == {"f_avg", "f_avg_target_mean", "stance_macro_f1",
                                                            "stance_accuracy"}
    model = predict.load("models:/mine-stance@champion", tracking_uri)
    [out] = model.predict([{"text": "NATO allies must back Turkey", "target": "nato_support_turkey"}])
    assert out["stance"] in {"favor", "against", "none"} and "sentiment" not in out
    with pytest.raises(UserError, match="needs the sentiment task"):
        load_config(experiment, ["cv.select_by=sentiment_macro_f1"])


def test_results_tables_are_generated_from_mlflow(trained, tmp_path):
    from mlflow.tracking import MlflowClient

    from stancelab.evaluation.evaluate import evaluate
    from stancelab.evaluation.report import results_markdown, results_tables, test_looks, update_readme

    client = MlflowClient(trained["uri"])
    before = test_looks(client, "idlib") if client.search_experiments() else 0
    result = evaluate("models:/idlib-stance@champion", "idlib", "test", tracking_uri=trained["uri"],
                      experiment=trained["config"].experiment, n_resamples=50, seed=1)
    tables = results_tables(trained["uri"], n_resamples=50)
    assert list(tables) == ["idlib"]  # no mawqif, semeval2016 or arsarcasm champion in this store
    table = tables["idlib"]
    assert table["looks"] == before + 1 and table["paired"] is None  # the idlib experiment has no baseline
    f_avg = result["f_avg"]
    assert table["rows"][0]["f_avg"] == f"{100 * f_avg['value']:.1f} [{100 * f_avg['ci_low']:.1f}, {100 * f_avg['ci_high']:.1f}]"
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\noutro\n", encoding="utf-8")
    update_readme(results_markdown(tables), readme)
    text = readme.read_text(encoding="utf-8")
    assert "old" not in text and "| ours: idlib-stance v" in text and text.endswith("outro\n")
    assert f"Test-split evaluations of this benchmark in the store: {before + 1}." in text
    # the same version scored on test again: counted, and the user is told
    again = evaluate("models:/idlib-stance@champion", "idlib", "test", tracking_uri=trained["uri"],
                     experiment=trained["config"].experiment, n_resamples=5, seed=1)
    assert again["looks"] == result["looks"] + 1 == before + 2
    assert any("was already evaluated on idlib:test" in w for w in again["warnings"])
