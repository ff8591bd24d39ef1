"""evaluate.py report: experiments side by side from MLflow (HTML with embedded plots, or Markdown)."""

from __future__ import annotations

import re

import pytest

from conftest import run_cli


@pytest.fixture(scope="module")
def evaluated(trained):
    """An evaluation of the model registered by the experiment's newest sweep (other tests may add sweeps
    to the shared store, and the report shows the newest)."""
    from mlflow.tracking import MlflowClient

    from stancelab.evaluation.evaluate import evaluate
    from stancelab.evaluation.report import compare_experiments

    config, uri = trained["config"], trained["uri"]
    sweep = compare_experiments([config.experiment], uri)[0]["sweep"]
    client = MlflowClient(uri, registry_uri=uri)
    version = client.search_model_versions(f"run_id = '{sweep.info.run_id}'")[0]
    result = evaluate(f"models:/{version.name}/{version.version}", "idlib", "test", tracking_uri=uri,
                      experiment=config.experiment, n_resamples=20, seed=0)
    children = client.search_runs([sweep.info.experiment_id], f"tags.mlflow.parentRunId = '{sweep.info.run_id}'")
    return {**trained, "evaluation": result, "configurations": [c.info.run_name for c in children]}


def test_report_html_compares_cv_and_test_with_intervals_and_embeds_plots(evaluated, tmp_path):
    out = tmp_path / "report.html"
    proc = run_cli("evaluate.py", "report", "--experiment", "idlib-stance-sentiment", "--output", out,
                   "--tracking-uri", evaluated["uri"])
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    value = evaluated["evaluation"]["f_avg_target_mean"]
    assert f"{100 * value['value']:.2f} [{100 * value['ci_low']:.1f}, {100 * value['ci_high']:.1f}]" in html
    assert "cv_f_avg_target_mean" in html
    assert all(f"<td>* {name}</td>" in html or f"<td>{name}</td>" in html for name in evaluated["configurations"])
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]{1000,})'", html)
    assert len(images) >= 9  # 5 from the sweep, 4 from the evaluation
    assert "plots/test_f1_per_actor.png" in html and "plots/cv_spread.png" in html
    assert "wrote" in proc.stdout and "\x1b[" not in proc.stdout  # plain text when not a terminal


def test_report_markdown_links_plot_files_and_quiet_prints_nothing(evaluated, tmp_path):
    out = tmp_path / "report.md"
    proc = run_cli("evaluate.py", "report", "--output", out, "--tracking-uri", evaluated["uri"], "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    text = out.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^]]*\]\((report_plots/[^)]+\.png)\)", text)
    assert len(links) >= 9 and all((tmp_path / link).stat().st_size > 1000 for link in links)
    assert text.count("| idlib-stance-sentiment |") == 1


def test_report_rejects_unknown_experiment_and_output_type(evaluated, tmp_path):
    proc = run_cli("evaluate.py", "report", "--experiment", "nope", "--output", tmp_path / "r.html",
                   "--tracking-uri", evaluated["uri"])
    assert proc.returncode == 2 and "no such MLflow experiment" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r.html").exists()
    proc = run_cli("evaluate.py", "report", "--output", tmp_path / "r.pdf", "--tracking-uri", evaluated["uri"])
    assert proc.returncode == 2 and "use .html or .md" in proc.stderr


def test_anchors_sit_under_the_matching_test_column(evaluated):
    from stancelab.evaluation.report import compare_experiments, comparison_rows

    summary = compare_experiments(["idlib-stance-sentiment"], evaluated["uri"])[0]
    rows = comparison_rows([{**summary, "dataset": "mawqif"}])  # as if the sweep had been on Mawqif
    anchors = [r for r in rows if r["experiment"] == "published"]
    assert [a["system"] for a in anchors] == ["best StanceEval 2024 team", "Mawqif paper's best BERT model",
                                              "sentence-transformer + LR (StanceEval 2024)"]
    assert anchors[0]["test_f_avg_target_mean"] == "84.38" and anchors[0]["test_f_avg"] == ""
    assert anchors[0]["cv_f_avg_target_mean"] == ""
