"""Shared fixtures. Public benchmarks are read from ../shared/datasets (never copied into the repo);
MLflow always points at a temporary SQLite store."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STANCE_DATA_DIR", REPO.parent / "shared" / "datasets"))


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """Registry models the tests load are kept in a temporary cache, never in the user's ~/.cache
    (subprocesses inherit it through the environment)."""
    folder = tmp_path_factory.mktemp("model-cache")
    previous = os.environ.get("STANCELAB_CACHE")
    os.environ["STANCELAB_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("STANCELAB_CACHE", None)
    else:
        os.environ["STANCELAB_CACHE"] = previous


@pytest.fixture(scope="session", autouse=True)
def no_mlruns_in_the_repo():
    """No test may leave MLflow's ``./mlruns`` (an experiment made without an artifact location) in the repo."""
    existed = (REPO / "mlruns").exists()
    yield
    assert existed or not (REPO / "mlruns").exists(), "a test wrote ./mlruns into the repo root"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    if not (SHARED / "mawqif" / "train.csv").is_file():
        message = f"public benchmarks not found at {SHARED} (set STANCE_DATA_DIR)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI always has ../shared: a missing copy is a failure, not a skip
        pytest.skip(message)
    return SHARED


@pytest.fixture
def tracking_uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """One small training run of the default experiment into a temporary store (shared by tests)."""
    from stancelab.model.config import load_config
    from stancelab.training.train import train

    folder = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    config = load_config(REPO / "experiments" / "default.yaml",
                         ["cv.folds=3", "n_jobs=1", "grid={model.classifier.C: [1.0, 10.0]}"])
    result = train(config, uri)
    return {"uri": uri, "config": config, "result": result}


def run_cli(*args, env=None, cwd=None) -> subprocess.CompletedProcess:
    """Run one of the project's CLIs in a subprocess, as a user would."""
    args = [str(a) for a in args]
    if args and args[0].endswith(".py"):
        args[0] = str(REPO / args[0])
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd or REPO,
                          env={**os.environ, **(env or {})}, timeout=600)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(folder: Path, timeout: float = 180):
    """A real ``mlflow server`` on 127.0.0.1 (free port, SQLite backend and artifact folder in
    ``folder``); yields its URL once /health answers, and stops it with its workers afterwards."""
    port = free_port()
    argv = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1"]
    with serving(argv, port, folder, timeout=timeout) as url:
        yield url


@contextlib.contextmanager
def serving(argv: list[str], port: int, folder: Path, env=None, timeout: float = 180):
    """Run a server command in ``folder`` (its own process group, output in ``folder/server.log``);
    yield its URL once ``/health`` answers on ``port``, and stop it with its children afterwards."""
    log = open(folder / "server.log", "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=folder, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not come up:\n{(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its workers (our own process group)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
