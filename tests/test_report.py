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
    return {**trained, "evaluation": result, "configurations": [c.info.run_name for c in children],
            "sweep_id": sweep.info.run_id}


def test_report_html_compares_cv_and_test_with_intervals_and_embeds_plots(evaluated, tmp_path):
    out = tmp_path / "report.html"
    proc = run_cli("evaluate.py", "report", "--experiment", "idlib-stance-sentiment", "--output", out,
                   "--tracking-uri", evaluated["uri"])
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    value = evaluated["evaluation"]["f_avg_target_mean"]
    assert f"{100 * value['value']:.1f} [{100 * value['ci_low']:.1f}, {100 * value['ci_high']:.1f}]" in html
    assert "cv_f_avg_target_mean" in html
    assert all(f"<td>* {name}</td>" in html or f"<td>{name}</td>" in html for name in evaluated["configurations"])
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]{1000,})'", html)
    assert len(images) >= 9  # 5 from the sweep, 4 from the evaluation
    assert "wrote" in proc.stdout and "\x1b[" not in proc.stdout  # plain text when not a terminal


def _sections(html: str) -> tuple[str, str]:
    """The page's CV section and its test section (the test section comes last)."""
    assert html.count("<h2 id='cv'>") == 1 and html.count("<h2 id='test'>") == 1
    cv_start, test_start = html.index("<h2 id='cv'>"), html.index("<h2 id='test'>")
    assert cv_start < test_start
    return html[cv_start:test_start], html[test_start:]


def test_report_html_has_a_cv_section_and_a_test_section_with_real_captions(evaluated, tmp_path):
    out = tmp_path / "report.html"
    proc = run_cli("evaluate.py", "report", "--experiment", "idlib-stance-sentiment", "--output", out,
                   "--tracking-uri", evaluated["uri"], "--quiet")
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    cv, test = _sections(html)
    cv_captions = re.findall(r"<figcaption>([^<]+)</figcaption>", cv)
    test_captions = re.findall(r"<figcaption>([^<]+)</figcaption>", test)
    assert len(cv_captions) == 5 and len(test_captions) == 4
    for caption in cv_captions:
        assert "Split: train, 3-fold CV" in caption and "Run: sweep “" in caption, caption
        assert ".png" not in caption  # a sentence, not a file name
        assert f"({evaluated['sweep_id'][:8]})" in caption
    for caption in test_captions:
        assert "Split: idlib:test, n=" in caption and "Run: evaluation “" in caption and ".png" not in caption
        assert f"({evaluated['evaluation']['run_id'][:8]})" in caption
    assert any(c.startswith("Per-fold CV score of every configuration") for c in cv_captions)
    assert any(c.startswith("F1 per actor") for c in test_captions)
    assert any(c.startswith("Stance confusion matrix") for c in test_captions)
    assert "test_f1_per_actor" not in cv and "cv_spread" not in test  # no CV plot among the test ones, or back
    assert "<figcaption>plots/" not in html


@pytest.fixture(scope="module")
def two_experiments(evaluated, tmp_path_factory):
    """A copy of the shared store with a second, smaller sweep in its own experiment (the shared store is
    left as it was: other test files read it)."""
    import shutil

    from stancelab.evaluation.evaluate import evaluate
    from stancelab.model.config import load_config
    from stancelab.training.train import train
    from conftest import REPO

    folder = tmp_path_factory.mktemp("two-experiments")
    shutil.copy(evaluated["uri"].removeprefix("sqlite:///"), folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    config = load_config(REPO / "experiments" / "default.yaml",
                         ["cv.folds=2", "n_jobs=1", "grid={model.classifier.C: [3.0]}",
                          "experiment=idlib-second-question", "model_name=idlib-second"])
    train(config, uri)
    evaluate("models:/idlib-second@champion", "idlib", "test", tracking_uri=uri, experiment=config.experiment,
             n_resamples=20, seed=0)
    return {"uri": uri}


def test_report_puts_two_sweeps_side_by_side(two_experiments, tmp_path):
    out = tmp_path / "two.html"
    proc = run_cli("evaluate.py", "report", "--experiment", "idlib-stance-sentiment", "--experiment",
                   "idlib-second-question", "--output", out, "--tracking-uri", two_experiments["uri"], "--quiet")
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    cv, test = _sections(html)
    for section in (cv, test):
        rows = re.findall(r"<div class='columns' style='grid-template-columns:repeat\((\d+),", section)
        assert rows and set(rows) == {"2"}  # every row: one column per experiment
        first = section.index("<h3>idlib-stance-sentiment</h3>")
        second = section.index("<h3>idlib-second-question</h3>")
        assert first < second
    figure_rows = re.findall(r"<div class='columns'[^>]*><div>(<figure>.*?)</div><div>(<figure>.*?)</div></div>", cv)
    assert len(figure_rows) == 5  # each CV plot of the first sweep beside the same plot of the second
    for left, right in figure_rows:
        assert "Split: train, 3-fold CV" in left and "Split: train, 2-fold CV" in right
        assert left.split("<figcaption>")[1][:30] == right.split("<figcaption>")[1][:30]  # the same kind of plot
    assert len(re.findall(r"<div class='columns'[^>]*><div><figure>", test)) == 4

    md = tmp_path / "two.md"
    proc = run_cli("evaluate.py", "report", "--experiment", "idlib-stance-sentiment", "--experiment",
                   "idlib-second-question", "--output", md, "--tracking-uri", two_experiments["uri"], "--quiet")
    assert proc.returncode == 0, proc.stderr
    text = md.read_text(encoding="utf-8")
    assert text.index("## Cross-validation (train split)") < text.index("## Test split")
    assert text.count("| idlib-stance-sentiment | idlib-second-question |") == 9  # 5 CV plots + 4 test plots
    images = re.findall(r"!\[([^]]*)\]\((two_plots/[^)]+\.png)\)", text)
    assert len(images) == 18 and all((tmp_path / link).is_file() for _, link in images)
    assert all("Split: " in alt and "Run: " in alt for alt, _ in images)


def test_report_markdown_links_plot_files_and_quiet_prints_nothing(evaluated, tmp_path):
    out = tmp_path / "report.md"
    proc = run_cli("evaluate.py", "report", "--output", out, "--tracking-uri", evaluated["uri"], "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    text = out.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^]]*\]\((report_plots/[^)]+\.png)\)", text)
    assert len(links) >= 9 and all((tmp_path / link).stat().st_size > 1000 for link in links)
    assert text.count("| idlib-stance-sentiment | idlib |") == 1  # one headline row
    assert text.index("## Cross-validation (train split)") < text.index("## Test split (held out, scored once)")


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
