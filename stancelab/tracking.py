"""MLflow set-up, called explicitly by the stages (never at import).

Default store: ``sqlite:///<repo>/mlflow.db`` with artifacts in ``<repo>/mlartifacts``;
``MLFLOW_TRACKING_URI`` (or an explicit URI) overrides. For a local SQLite store the artifacts go
next to the database file, so a temporary store in tests is self-contained.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from stancelab.data.datasets import REPO_ROOT
from stancelab.errors import UserError

DEFAULT_TRACKING_URI = f"sqlite:///{REPO_ROOT / 'mlflow.db'}"


def tracking_uri(explicit: str | None = None) -> str:
    return explicit or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def check_server(uri: str, timeout: float = 10.0) -> None:
    """A tracking server that does not answer is one clear error within seconds, not minutes of
    MLflow's retries followed by a misleading message. MLflow's own retries are bounded too."""
    import urllib.error
    import urllib.request

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
            if response.status == 200:
                return
            reason = f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        reason = f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = str(getattr(exc, "reason", exc))
    raise UserError(f"{uri}: the tracking server does not answer ({reason}); start it or check "
                    "MLFLOW_TRACKING_URI / --tracking-uri")


def sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:"):
        return None
    path = uri.split("sqlite:///", 1)[1] if "sqlite:///" in uri else ""
    return Path(path) if path else None


def artifact_root(uri: str) -> str | None:
    """Artifact location for new experiments: next to a local SQLite file, else the server's."""
    db = sqlite_path(uri)
    if db is None:
        return None
    return (db.resolve().parent / "mlartifacts").as_uri()


def quiet_mlflow() -> None:
    """MLflow and alembic are chatty at INFO; keep the terminal for our own tables."""
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=FutureWarning, module="mlflow")
    warnings.filterwarnings("ignore", message=".*Hint: Inferred schema contains integer column.*")
    warnings.filterwarnings("ignore", message=".*dataset source can be interpreted in multiple ways.*")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def setup(explicit_uri: str | None = None, create: bool = True) -> str:
    """Point MLflow at the tracking store and return its URI. ``create=False`` (reading a model) never
    creates a local store: a missing one is an error that says to train first."""
    import mlflow

    quiet_mlflow()
    uri = tracking_uri(explicit_uri)
    db = sqlite_path(uri)
    if db is not None and not db.resolve().parent.is_dir():
        raise UserError(f"{uri}: folder {db.resolve().parent} does not exist")
    if db is not None and not create and not db.is_file():
        raise UserError(f"{uri}: no tracking store there yet. Train one first: python train.py")
    if urlparse(uri).scheme in ("http", "https"):
        check_server(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if db is not None and create:
        _create_sqlite_store(uri)
    return uri


@contextlib.contextmanager
def store_lock(uri: str | None = None) -> Iterator[None]:
    """Exclusive inter-process lock for a local SQLite store (``<db>.lock`` beside the database);
    a no-op for other stores. Held while a store is created and while a model is registered and
    the champion alias is decided, so concurrent ``train.py`` processes cannot interleave there."""
    import fcntl

    import mlflow

    db = sqlite_path(uri or mlflow.get_tracking_uri())
    if db is None:
        yield
        return
    lock = db.resolve().with_name(db.name + ".lock")
    if lock in _HELD:  # re-entered in this process: flock on a second handle would wait for ourselves
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _HELD.add(lock)
        try:
            yield
        finally:
            _HELD.discard(lock)
            fcntl.flock(handle, fcntl.LOCK_UN)


_HELD: set[Path] = set()


def _create_sqlite_store(uri: str) -> None:
    """Create and migrate a SQLite store once, under the store lock. MLflow creates the tables on
    first use without any inter-process coordination: two processes opening a fresh store at the
    same time both run the migrations and one dies ("duplicate column name: step")."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    if uri in _CREATED:
        return
    with store_lock(uri):
        TrackingStore(uri, artifact_root(uri))  # runs the migrations when the tables are missing
        RegistryStore(uri)
    _CREATED.add(uri)


_CREATED: set[str] = set()


def ensure_experiment(name: str) -> str:
    import mlflow

    uri = mlflow.get_tracking_uri()
    with store_lock(uri):  # two processes must not both create it
        experiment = mlflow.get_experiment_by_name(name)
        if experiment is None:
            from mlflow.exceptions import MlflowException

            try:
                # the MLflow 3 UI files the experiment under "Model training", not GenAI traces
                experiment_id = mlflow.create_experiment(name, artifact_location=artifact_root(uri),
                                                         tags={"mlflow.experimentKind": "custom_model_development"})
            except MlflowException as exc:  # through a server, a parallel sweep created it in between: use theirs
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                experiment_id = mlflow.get_experiment_by_name(name).experiment_id
        else:
            experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def log_dataset(frame, name: str, split: str, context: str) -> str:
    """Log a loaded split as an MLflow dataset input (lineage), tagged with its files' sha256."""
    import mlflow

    from stancelab.data import datasets

    sha = datasets.digest(frame)
    data = frame[list(datasets.SCHEMA)].astype(object)
    source = frame.attrs.get("paths", [name])[0]
    from mlflow.exceptions import MlflowException

    dataset = mlflow.data.from_pandas(data, source=source, name=f"{name}-{split}", targets="stance")
    with store_lock():  # MLflow gets-or-inserts the dataset row: two processes logging the same data collide
        try:
            mlflow.log_input(dataset, context=context, tags={"sha256": sha})
        except MlflowException as exc:
            # Through a server (no lock file) two sweeps can still race: the store checks, then inserts,
            # and the second insert hits the unique key. The row exists now, so a second attempt links to it.
            if "UNIQUE constraint failed: datasets" not in str(exc) and exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            mlflow.log_input(dataset, context=context, tags={"sha256": sha})
    return sha


def git_info() -> dict[str, str]:
    """Commit and dirty flag of the repository the code runs from (empty when not a checkout)."""
    def run(*args):
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)

    try:
        head = run("rev-parse", "HEAD")
        if head.returncode != 0:
            return {}
        dirty = run("status", "--porcelain", "--untracked-files=no")
        return {"git_commit": head.stdout.strip(), "git_dirty": str(bool(dirty.stdout.strip())).lower()}
    except (OSError, subprocess.SubprocessError):
        return {}


VERSIONED_PACKAGES = ("scikit-learn", "numpy", "scipy", "pandas", "mlflow", "skops", "pydantic", "joblib")


def environment_tags() -> dict[str, str]:
    """Python and package versions a run was made with (tags ``python_version``, ``version.<package>``)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    tags = {"python_version": platform.python_version(), "platform": platform.platform()}
    for name in VERSIONED_PACKAGES:
        try:
            tags[f"version.{name}"] = version(name)
        except PackageNotFoundError:
            tags[f"version.{name}"] = "not installed"
    return tags


UI_PORT = 5000
VIEW_KEY = "stancelab-cv"  # the saved view's id: ?viewStateShareKey=stancelab-cv
VIEW_NAME = "CV comparison"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"  # MLflow >= 3.15 keeps saved views as experiment tags
NOTE_TAG = "mlflow.note.content"  # the experiment's description in the UI


def ui_command(uri: str) -> str:
    if urlparse(uri).scheme in ("http", "https"):
        return f"open {uri}"
    return f"mlflow ui --backend-store-uri {uri} --port {UI_PORT}"


def ui_url(uri: str, experiment_id: str) -> str:
    """The runs table of an experiment in the MLflow UI, opened with the saved view that
    ``present_experiment`` wrote: the key CV metric and the swept params as columns."""
    base = uri.rstrip("/") if urlparse(uri).scheme in ("http", "https") else f"http://127.0.0.1:{UI_PORT}"
    return f"{base}/#/experiments/{experiment_id}/runs?viewStateShareKey={VIEW_KEY}"


def swept_params(param_sets: list[dict[str, str]]) -> list[str]:
    """The param keys whose value differs between configurations, in first-seen order."""
    keys = dict.fromkeys(k for params in param_sets for k in params)
    return [k for k in keys if len({params.get(k) for params in param_sets}) > 1]


def present_experiment(experiment_id: str, metrics: list[str], params: list[str], description: str = "") -> None:
    """Set up what a user sees on first opening the experiment in the MLflow UI (3.15 or later).

    MLflow keeps no default columns per experiment: a new browser shows Source, Models and Dataset,
    and no metric or param. It does keep *saved views*, as experiment tags
    ``mlflow.sharedViewState.<id>`` that the runs page loads from ``?viewStateShareKey=<id>``
    (``ui_url``). This writes one, "CV comparison": the first metric, the params, then the other
    metrics as columns, wide enough for their names, sorted by the first metric, best first. A table
    sorted by a metric lists parent and child runs flat, so every configuration of every sweep is a
    row. Columns already in the view (an earlier sweep's params) are kept. ``description`` becomes
    the experiment's description unless it has one already."""
    import json
    import time

    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    with store_lock():  # two sweeps of one experiment at once: read-modify-write the view one at a time
        tags = client.get_experiment(experiment_id).tags
        columns = _view_columns(tags.get(VIEW_TAG))
        columns += [c for c in [*(_column("metrics", m) for m in metrics), *(_column("params", p) for p in params)]
                    if c not in columns]
        key = _column("metrics", metrics[0])
        order = [key, *(c for c in columns if c.startswith("params.")),
                 *(c for c in columns if c.startswith("metrics.") and c != key)]
        widths = {c: round(7.5 * len(c.split("`")[1])) + (56 if c == key else 32) for c in order}  # name + sort icon
        state = {"selectedColumns": order, "orderByKey": key, "orderByAsc": False,
                 "columnOrder": [*UI_FIRST_COLUMNS, *order], "columnWidths": {**UI_FIRST_COLUMNS, **widths}}
        now = int(time.time() * 1000)
        envelope = {"name": VIEW_NAME, "createdAt": now, "updatedAt": now, "state": json.dumps(state)}
        client.set_experiment_tag(experiment_id, VIEW_TAG, json.dumps(envelope))
        if description and not tags.get(NOTE_TAG):
            client.set_experiment_tag(experiment_id, NOTE_TAG, description)


# The runs table's leading columns (ids of the MLflow 3.17 UI) and their widths in the saved view: a
# sweep's name in full, "5 minutes ago" without an ellipsis, so the key metric and the swept params
# fit beside them on a laptop screen, with the UI's assistant panel open.
UI_FIRST_COLUMNS = {"attributes.`Run Name`": 200, "runDateAndNestInfo": 140, "duration": 80}


def _column(kind: str, key: str) -> str:
    """The UI's column id: ``metrics.`cv_f_avg` ``, ``params.`classifier.C` ``."""
    return f"{kind}.`{key}`"


def _view_columns(envelope: str | None) -> list[str]:
    import json

    try:
        return list(json.loads(json.loads(envelope)["state"])["selectedColumns"])
    except (TypeError, ValueError, KeyError):  # no view yet, or one we cannot read: start afresh
        return []
