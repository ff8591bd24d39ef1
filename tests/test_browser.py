"""End to end in a real browser: train into an `mlflow server`, then check in headless Chromium that the
MLflow UI shows our runs, their metric columns and the plot artifacts, and that the URL train.py prints
opens, for a new user, on the key CV metric and the swept params of two sweeps. Screenshots are kept in
the pytest tmp folder and copied to test-artifacts/ (gitignored).

Needs Debian's chromium (`apt-get install chromium`, done by .ci/run) driven by Playwright through its
executable path (no `playwright install`). Skipped, with the reason, only when the browser is not installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, mlflow_server, run_cli

CHROMIUM = Path(os.environ.get("STANCE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO / "test-artifacts"
TIMEOUT_MS = 90_000  # the SPA renders in seconds; generous for a loaded 2-core CI machine


@contextlib.contextmanager
def _page(chromium: Path, profile: Path):
    """A page of a headless Chromium with a fresh profile (a new user's browser), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(chromium), args=ARGS, headless=True,
            viewport={"width": 1600, "height": 1000})
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.is_file():
        pytest.skip(f"browser not installed: {CHROMIUM} is missing (apt-get install chromium; .ci/run does it)")
    return CHROMIUM


@pytest.fixture(scope="module")
def server(chromium, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-server")
    with mlflow_server(folder) as url:
        yield url


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    """A small slice of the embedded corpus's train split: a sweep on it takes seconds."""
    corpus = pd.read_csv(REPO / "data" / "corpus.csv", dtype=str, keep_default_na=False)
    train_rows = corpus[corpus["split"] == "train"]
    texts = train_rows["text"].drop_duplicates().head(90)
    small = tmp_path_factory.mktemp("data") / "small.csv"
    train_rows[train_rows["text"].isin(texts)].to_csv(small, index=False)
    return small


SMALL = ["experiment=browser-check", "model_name=browser-check", "cv.folds=2", "n_jobs=1", "model.char=null"]


@pytest.fixture(scope="module")
def trained_on_server(server, small_data):
    """A two-configuration sweep over C, logged to the server."""
    import mlflow

    from stancelab.model.config import load_config
    from stancelab.training.train import train

    config = load_config(REPO / "experiments" / "default.yaml",
                         [f"dataset.name={small_data}", *SMALL, "grid={model.classifier.C: [1.0, 10.0]}"])
    previous, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    try:
        result = train(config, server)
    finally:  # both: a later test in this process must not reach the (stopped) server's registry
        mlflow.set_tracking_uri(previous)
        mlflow.set_registry_uri(registry)
    return result


@pytest.fixture(scope="module")
def second_sweep_url(server, small_data, trained_on_server) -> str:
    """A second sweep, over none_scale, through train.py as a user runs it; the UI address it prints."""
    overrides = [f"dataset.name={small_data}", *SMALL, "grid={model.none_scale: [0.5, 1.0]}"]
    proc = run_cli("train.py", *(a for o in overrides for a in ("--set", o)), "--tracking-uri", server)
    assert proc.returncode == 0, proc.stderr
    urls = [line.split("open ", 1)[1] for line in proc.stdout.splitlines() if line.startswith("  open ")]
    assert len(urls) == 1 and urls[0].startswith(f"{server}/#/experiments/"), proc.stdout
    return urls[0]


def _shot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.copy(path, SCREENSHOTS / name)


def test_mlflow_ui_shows_runs_metrics_and_plots(chromium, server, trained_on_server, tmp_path):
    result = trained_on_server
    experiment, parent = result.experiment_id, result.parent_run_id
    children = {r.name: r.run_id for r in result.configurations}
    assert set(children) == {"C=1.0", "C=10.0"}
    with _page(chromium, tmp_path / "profile") as page:
        # experiment's runs (the UI's "Model training" view): the sweep and, expanded, its configurations
        page.goto(f"{server}/#/experiments/{experiment}/runs?workflowType=machine_learning")
        page.get_by_text("small: sweep C (2)").first.wait_for()
        page.locator(f"[row-id='{parent}'] [col-id*='Name'] button").first.click()  # expand the sweep
        for name in children:
            page.get_by_text(name, exact=True).first.wait_for()
        _shot(page, tmp_path, "mlflow-experiment.png")

        # run comparison: the configurations side by side with our metric and param names
        runs = json.dumps([parent, *children.values()])
        page.goto(f"{server}/#/compare-runs?runs={runs}&experiments={json.dumps([experiment])}")
        for text in ("small: sweep C (2)", "C=1.0", "C=10.0", "cv_f_avg_target_mean", "cv_f_avg_target_mean_std",
                     "cv_sentiment_macro_f1", "classifier.C"):
            page.get_by_text(text, exact=True).first.wait_for()
        _shot(page, tmp_path, "mlflow-compare.png")

        # the sweep's plots are listed and one renders as an image
        page.goto(f"{server}/#/experiments/{experiment}/runs/{parent}/artifacts/plots/cv_f1_per_actor.png")
        for name in ("cv_confusion_stance.png", "cv_confusion_sentiment.png", "cv_f1_per_target.png",
                     "cv_f1_per_actor.png", "cv_spread.png"):
            page.get_by_text(name, exact=True).first.wait_for()
        page.wait_for_function(
            "() => [...document.images].some(i => i.complete && i.naturalWidth >= 600 && i.naturalHeight >= 600)")
        _shot(page, tmp_path, "mlflow-artifact.png")
    for name in ("mlflow-experiment.png", "mlflow-compare.png", "mlflow-artifact.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000


# Where a header sits, whether its label is cut, and whether the grid shows it without scrolling.
HEADER_JS = """ids => ids.map(id => {
    const cell = document.querySelector(`.ag-header-cell[col-id="${id}"]`);
    if (!cell) return null;
    const grid = cell.closest('.ag-header-viewport, .ag-pinned-left-header').getBoundingClientRect();
    const box = cell.getBoundingClientRect(), label = cell.querySelector('[data-testid^="sort-header-"]');
    const text = label ? label.getBoundingClientRect() : box;
    return {label: label ? label.innerText : '', inside: box.left >= grid.left - 1 && box.right <= grid.right + 1,
            uncut: text.right <= box.right + 1 && text.right <= grid.right + 1};
})"""


def test_the_printed_url_opens_on_the_key_cv_metric_and_the_swept_params(chromium, server, second_sweep_url,
                                                                          tmp_path):
    """A new user (fresh browser profile) opens the URL train.py printed: with no click, the runs table
    shows the key CV metric and the params both sweeps varied, best first, every configuration a row."""
    from mlflow.tracking import MlflowClient
    client = MlflowClient(server)
    experiment = client.get_experiment_by_name("browser-check").experiment_id
    runs = client.search_runs([experiment], "tags.role = 'configuration'")
    sweeps = client.search_runs([experiment], "tags.role = 'sweep'")
    assert len(runs) == 4 and len(sweeps) == 2
    best = max(r.data.metrics["cv_f_avg_target_mean"] for r in runs)
    columns = ["metrics.`cv_f_avg_target_mean`", "params.`classifier.C`", "params.`none_scale`"]
    with _page(chromium, tmp_path / "fresh-profile") as page:
        page.goto(second_sweep_url)
        for run in [*runs, *sweeps]:  # sorted by a metric, the table lists sweeps and configurations flat
            page.get_by_text(run.info.run_name, exact=True).first.wait_for()
        headers = page.evaluate(HEADER_JS, columns)
        first = page.locator(".ag-row[row-index='0'] [col-id='metrics.`cv_f_avg_target_mean`']").inner_text()
        _shot(page, tmp_path, "mlflow-first-open.png")
    assert [h and h["label"] for h in headers] == ["cv_f_avg_target_mean", "classifier.C", "none_scale"], headers
    assert all(h["inside"] and h["uncut"] for h in headers), headers  # on screen, labels whole, no scrolling
    assert abs(float(first) - best) < 1e-9  # best configuration first
    assert (SCREENSHOTS / "mlflow-first-open.png").stat().st_size > 10_000
