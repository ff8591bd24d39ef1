"""The runs that training and evaluation log follow the naming and tagging convention of
tests/conventions.py (docs/design.md: "Comparing runs in MLflow"), so experiments compare in the UI."""

from __future__ import annotations

import struct

import pytest
from mlflow.tracking import MlflowClient

import conventions
from stancelab.training.train import config_name


def _files(client, run_id, path=None):
    for entry in client.list_artifacts(run_id, path):
        if entry.is_dir:
            yield from _files(client, run_id, entry.path)
        else:
            yield entry.path


@pytest.fixture(scope="module")
def runs(trained):
    """The sweep, its configurations and one evaluation run of the champion, from the shared store."""
    from stancelab.evaluation.evaluate import evaluate

    uri, config = trained["uri"], trained["config"]
    evaluation = evaluate(f"models:/{config.model_name}@champion", "idlib", "test", tracking_uri=uri,
                          experiment=config.experiment, n_resamples=20, seed=0)
    client = MlflowClient(uri, registry_uri=uri)
    result = trained["result"]
    parent = client.get_run(result.parent_run_id)
    children = client.search_runs([result.experiment_id], f"tags.mlflow.parentRunId = '{result.parent_run_id}'")
    return {"client": client, "parent": parent, "children": children,
            "evaluation": client.get_run(evaluation["run_id"]), "result": result}


def _all(runs):
    return [runs["parent"], *runs["children"], runs["evaluation"]]


def test_metric_keys_say_their_stage_and_long_tables_are_not_metrics(runs):
    targets = set(runs["parent"].data.tags["targets"].split(","))
    for run in _all(runs):
        keys = set(run.data.metrics)
        bad = sorted(k for k in keys if not conventions.METRIC_KEY.match(k))
        assert not bad, f"{run.info.run_name}: metric keys off convention: {bad}"
        assert len(keys) <= conventions.MAX_METRICS_PER_RUN, run.info.run_name
        assert not [k for k in keys if any(t in k for t in targets)], "per-target numbers belong in reports/"
    # the same headline keys on every training run, so the UI's columns line up across experiments
    for run in [runs["parent"], *runs["children"]]:
        assert {"cv_f_avg", "cv_f_avg_target_mean_std", "cv_f_avg_target_mean", "cv_stance_macro_f1",
                "cv_sentiment_macro_f1", "cv_sentiment_f_pn", "cv_seconds"} <= set(run.data.metrics), run.info.run_name
    assert {"test_f_avg", "test_f_avg_ci_low", "test_f_avg_ci_high", "test_f_avg_target_mean",
            "test_n"} <= set(runs["evaluation"].data.metrics)
    assert "fit_seconds" in runs["parent"].data.metrics and "fit_vocabulary_size" in runs["parent"].data.metrics


def test_params_are_short_and_flat(runs):
    for run in _all(runs):
        for key, value in run.data.params.items():
            assert conventions.PARAM_KEY.match(key), f"{run.info.run_name}: param key {key!r}"
            assert len(value) <= conventions.PARAM_VALUE_MAX and not set(value) & set("{}[]\n"), (key, value)
    for child in runs["children"]:
        assert child.data.params == {"classifier.C": child.data.params["classifier.C"]}  # what the sweep varies
        assert child.data.params["classifier.C"] in ("1.0", "10.0")
    chosen = next(c for c in runs["children"] if c.info.run_id == runs["parent"].data.tags["chosen_run_id"])
    assert chosen.data.params.items() <= runs["parent"].data.params.items()  # same keys, so the sweep lines up
    assert runs["parent"].data.params["word.ngram_range"] == "1-2"


def test_tags_allow_filtering_by_dataset_task_and_targets(runs):
    for run in _all(runs):
        tags = run.data.tags
        role = tags.get("role")
        assert role in conventions.ROLE_TAGS, f"{run.info.run_name}: role {role!r}"
        missing = [t for t in (*conventions.COMMON_TAGS, *conventions.ROLE_TAGS[role]) if not tags.get(t)]
        assert not missing, f"{run.info.run_name} ({role}): missing tags {missing}"
        assert tags["dataset"] == "idlib" and tags["tasks"] == "stance,sentiment"
        assert tags["targets"] == "deescalation_idlib,nato_support_turkey,turkish_operation_idlib"


def test_run_names_say_what_changed(runs):
    result = runs["result"]
    names = sorted(child.info.run_name for child in runs["children"])
    assert names == sorted(config_name(r.overrides) for r in result.configurations) == ["C=1.0", "C=10.0"]
    assert runs["parent"].info.run_name == "idlib: sweep C (2)"
    version = runs["evaluation"].data.tags["model_version"]
    assert runs["evaluation"].info.run_name == f"evaluate idlib-stance v{version} on idlib:test"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_artifacts_are_named_by_stage_and_plots_are_logged(runs, tmp_path):
    client = runs["client"]
    for run in _all(runs):
        files = list(_files(client, run.info.run_id))
        bad = [f for f in files if not conventions.ARTIFACT.match(f)]
        assert not bad, f"{run.info.run_name}: artifacts off convention: {bad}"
    parent_files = set(_files(client, runs["parent"].info.run_id))
    expected = {"plots/cv_confusion_stance.png", "plots/cv_confusion_sentiment.png", "plots/cv_f1_per_target.png",
                "plots/cv_f1_per_actor.png", "plots/cv_spread.png", "reports/cv_per_target.csv",
                "reports/cv_per_actor.csv", "reports/cv_folds.csv", "reports/cv_configurations.json"}
    assert expected <= parent_files, expected - parent_files
    eval_files = set(_files(client, runs["evaluation"].info.run_id))
    assert {"plots/test_confusion_stance.png", "plots/test_confusion_sentiment.png", "plots/test_f1_per_target.png",
            "plots/test_f1_per_actor.png", "evaluation/test_per_actor.csv"} <= eval_files
    local = client.download_artifacts(runs["parent"].info.run_id, "plots/cv_f1_per_actor.png", str(tmp_path))
    width, height = _png_size(open(local, "rb").read())
    assert width >= 600 and 500 <= height <= 1000  # 30 actors: the top 15 by count, one group of bars each
