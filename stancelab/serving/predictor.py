"""Load a registered model and predict stance + sentiment, with evidence, for quotes.

One path for one quote and for a million: validate the records, normalise the texts, featurise them
once into the shared block, score every head on those rows, and read the evidence off the same rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stancelab import tracking
from stancelab.data.records import MAX_TEXT_CHARS
from stancelab.errors import UserError
from stancelab.model.io import load_pipeline
from stancelab.model.pipeline import INPUT_COLUMNS

DEFAULT_MODEL = "models:/idlib-stance@champion"  # experiments/default.yaml's model_name


def default_model_uri() -> str:
    return DEFAULT_MODEL


def text_problem(text: str) -> str | None:
    """Why a text cannot be scored, or None: longer than the limit, a NUL character, or not Unicode that
    can be written out (a lone surrogate from JSON's "\\ud800", or undecodable bytes of a command line)."""
    if len(text) > MAX_TEXT_CHARS:
        return f"{len(text):,} characters (at most {MAX_TEXT_CHARS:,})"
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"not valid Unicode text (character {exc.start + 1} is a lone surrogate or an undecodable byte)"
    return None


def target_key(name: str) -> str:
    """How target names are compared: case, spaces, '_' and '-' do not matter."""
    return re.sub(r"[\s_\-]+", "", str(name).casefold())


@dataclass
class Predictor:
    """A loaded model. ``predict(records)`` takes dicts with ``text``, ``target`` (and ``actor``).

    ``speakers``, when set, finds the speaker of records without an ``actor``: a callable from a list
    of texts to ``(actor, speaker_span)`` per text (``predict.load()`` sets
    ``stancelab.articles.speakers.QuoteSpeakers``; this layer does not know the rules). Its results
    then carry ``speaker_span`` (None when the record named its actor or no speaker was found)."""

    pipeline: Any
    model_uri: str
    metadata: dict = field(default_factory=dict)
    evidence_size: int = 5
    speakers: Any = None

    def __post_init__(self):
        self.heads = self.pipeline.named_steps["heads"]
        self.heads.features_.steps()  # a model saved with settings this code does not know fails here
        self.tasks = list(self.heads.tasks_)
        names = self.metadata.get("targets") or {}
        self.targets: dict[str, list[str]] = {str(t): list(names.get(t, [t])) for t in self.heads.targets_}
        self._lookup = {target_key(n): t for t, aliases in self.targets.items() for n in [t, *aliases]}
        self._classes = [[str(c) for c in classes] for classes in self.heads.classes_]

    # ------------------------------------------------------------------ input checks
    def resolve_target(self, name: str) -> str:
        target = self._lookup.get(target_key(name))
        if target is None:
            known = ", ".join(f"{t} ({' / '.join(n for n in names if n != t)})" if len(names) > 1 else t
                              for t, names in self.targets.items())
            raise UserError(f"unknown target {name!r}; known targets: {known}")
        return target

    def _target_of(self, record: dict, number: str) -> str:
        """The record's target, resolved to the model's id ("" for a sentiment-only model, which has none)."""
        if "stance" not in self.tasks:
            return ""
        target = record.get("target")
        if target is None or not str(target).strip():
            raise UserError(f"{number}: field 'target': missing; known targets: {', '.join(self.targets)}")
        try:
            return self.resolve_target(str(target))
        except UserError as exc:
            raise UserError(f"{number}: field 'target': {exc}") from None

    def frame(self, records, source: str | None = None, lines: list[int] | None = None,
              speakers: bool = True) -> pd.DataFrame:
        """Validated model input; errors name the record (or ``source:line`` for files). With a ``speakers``
        finder (and ``speakers=True``) the rows without an actor get one, and a ``speaker_span`` column."""
        rows = self._validated(records, source, lines)
        columns = list(INPUT_COLUMNS)
        if speakers and self.speakers is not None:
            rows = self.attribute(rows)
            columns.append("speaker_span")
        return pd.DataFrame(rows, columns=columns, dtype=object)

    def attribute(self, rows: list[dict]) -> list[dict]:
        """Validated rows with ``actor`` filled by the ``speakers`` finder where it was empty, and a
        ``speaker_span`` (None where the row named its actor or nobody was found)."""
        missing = [i for i, row in enumerate(rows) if not row["actor"]]
        found = self.speakers([rows[i]["text"] for i in missing]) if missing else []
        out = [{**row, "speaker_span": None} for row in rows]
        for i, (actor, span) in zip(missing, found):
            out[i]["actor"], out[i]["speaker_span"] = actor or "", span
        return out

    def _validated(self, records, source: str | None = None, lines: list[int] | None = None) -> list[dict]:
        rows = records.to_dict("records") if isinstance(records, pd.DataFrame) else list(records)
        out = []
        for index, record in enumerate(rows):
            number = f"{source}:{lines[index]}" if source and lines else f"record {index + 1}"
            if not isinstance(record, dict):
                raise UserError(f"{number}: expected a mapping with text and target")
            text = record.get("text")
            if not isinstance(text, str):
                raise UserError(f"{number}: field 'text': expected a string, got "
                                f"{'nothing' if text is None else type(text).__name__}")
            if not text.strip():
                raise UserError(f"{number}: field 'text': empty text")
            problem = text_problem(text)
            if problem:
                raise UserError(f"{number}: field 'text': {problem}")
            resolved = self._target_of(record, number)
            actor = record.get("actor")
            actor = "" if actor is None or (isinstance(actor, float) and np.isnan(actor)) else str(actor).strip()
            problem = text_problem(actor)  # the target is one of the model's names already
            if problem:
                raise UserError(f"{number}: field 'actor': {problem}")
            out.append({"text": text, "target": resolved, "actor": actor})
        return out

    # ------------------------------------------------------------------ prediction
    def _score(self, texts: list[str], targets: list[str]):
        """The shared block's rows of ``texts`` and every task's probabilities from those rows."""
        matrix = self.heads.featurize(texts)
        return matrix, self.heads.proba_of(matrix, targets)

    def predict_proba(self, frame: pd.DataFrame) -> list[np.ndarray]:
        """Per task, the probabilities of validated rows (``pipeline.predict_proba``'s numbers)."""
        return self._score(frame["text"].tolist(), frame["target"].tolist())[1]

    def predict_labels(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Labels only, for evaluation of many rows: columns ``pred_<task>``."""
        labels = self._labels(self.predict_proba(frame))
        return pd.DataFrame({f"pred_{t}": found for t, found in zip(self.tasks, labels)}, index=frame.index)

    def _labels(self, probas: list[np.ndarray]) -> list[np.ndarray]:
        """Per task, each row's label: the first most probable class, as ``np.argmax`` picks it."""
        return [np.asarray(c, dtype=object)[np.argmax(p, axis=1)] for c, p in zip(self._classes, probas)]

    def predict(self, records, evidence: bool = True, speakers: bool = True) -> list[dict]:
        """Validate ``records`` (dicts with text, target, optional actor) and predict them; with a
        ``speakers`` finder (and ``speakers=True``), records without an actor get their speaker."""
        rows = self._validated(records)
        return self._results(self.attribute(rows) if speakers and self.speakers is not None else rows, evidence)

    def predict_frame(self, frame: pd.DataFrame, evidence: bool = True) -> list[dict]:
        """Predict rows already validated by :meth:`frame`."""
        return self._results(frame.to_dict("records"), evidence)

    def _results(self, rows: list[dict], evidence: bool) -> list[dict]:
        if not rows:
            return []
        targets = [r["target"] for r in rows]
        matrix, probas = self._score([r["text"] for r in rows], targets)
        labels = self._labels(probas)
        found = self.heads.evidence(matrix, labels, targets, self.evidence_size) if evidence else None
        columns = {}  # per task: the label and the probabilities of every row, built a task at a time
        for task, classes, proba, label in zip(self.tasks, self._classes, probas, labels):
            columns[task] = label.tolist()
            columns[f"{task}_proba"] = [dict(zip(classes, values)) for values in proba.round(4).tolist()]
        if found is not None:
            columns["evidence"] = [dict(zip(self.tasks, each)) for each in found]
        names = list(columns)
        spans = ({"speaker_span": row.get("speaker_span")} if "speaker_span" in row else {} for row in rows)
        return [{"text": row["text"], "target": row["target"] or None, "actor": row["actor"] or None, **span,
                 **dict(zip(names, values))} for row, span, values in zip(rows, spans, zip(*columns.values()))]


# ---------------------------------------------------------------------- loading
def cache_root() -> Path:
    """Where registry models are kept once downloaded: one folder per (store, model, version)."""
    base = os.environ.get("STANCELAB_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                             Path.home() / ".cache", "stancelab")
    return Path(base) / "models"


def parse_model_uri(model_uri: str) -> tuple[str, str | None, str | None]:
    """``models:/name@alias`` -> (name, alias, None); ``models:/name/version`` -> (name, None, version)."""
    body = model_uri.removeprefix("models:/")
    if "@" in body:
        name, alias = body.split("@", 1)
        return name, alias, None
    name, _, version = body.partition("/")
    return name, None, version


def _resolve_sqlite(db: Path, model_uri: str) -> tuple[str, str] | None:
    """(version, creation time) of a registry model, read straight from a local SQLite store, read-only:
    no MLflow import and no schema check, so a model already kept loads in a fraction of a second.
    None when the store's tables do not answer (then MLflow is asked)."""
    import sqlite3

    name, alias, version = parse_model_uri(model_uri)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            if alias is not None:
                row = con.execute("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ? "
                                  "AND workspace = 'default'", (name, alias)).fetchone()
                if row is None:
                    return None
                version = str(row[0])
            row = con.execute("SELECT creation_time FROM model_versions WHERE name = ? AND version = ? "
                              "AND workspace = 'default'", (name, int(version))).fetchone()
    except (sqlite3.Error, ValueError, TypeError):
        return None
    return (str(version), str(row[0])) if row is not None else None


def registry_entry(model_uri: str):
    """The MLflow model version behind a ``models:/`` URI; MlflowException when the registry has none."""
    from mlflow.tracking import MlflowClient

    name, alias, version = parse_model_uri(model_uri)
    client = MlflowClient()
    return client.get_model_version_by_alias(name, alias) if alias is not None else client.get_model_version(name, version)


def _resolve(model_uri: str, uri: str) -> tuple[str, str]:
    """(version, creation time) of a registry model, asked of MLflow."""
    from mlflow.exceptions import MlflowException

    try:
        found = registry_entry(model_uri)
    except MlflowException as exc:
        message = str(exc).splitlines()[0]
        hint = " Train one first: python train.py" if parse_model_uri(model_uri)[1] is not None else ""
        raise UserError(f"no model at {model_uri} in {uri} ({message}).{hint}") from None
    return str(found.version), str(found.creation_timestamp)


def _kept(uri: str, model_uri: str, version: str, created: str) -> Path:
    name = parse_model_uri(model_uri)[0]
    key = hashlib.sha256(f"{uri}\0{name}\0{version}\0{created}".encode()).hexdigest()[:20]
    return cache_root() / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}-v{version}-{key}"


def local_model(model_uri: str, tracking_uri: str | None = None) -> Path:
    """A local folder with the model. A registry model is resolved once per call, and its folder is
    kept per version, so later loads of the same version copy nothing."""
    uri = tracking.tracking_uri(tracking_uri)
    db = tracking.sqlite_path(uri)
    if model_uri.startswith("models:/") and db is not None and db.is_file():
        found = _resolve_sqlite(db, model_uri)
        if found is not None and (_kept(uri, model_uri, *found) / "MLmodel").is_file():
            return _kept(uri, model_uri, *found)
    tracking.setup(uri, create=False)
    return _download(model_uri, uri)


def _download(model_uri: str, uri: str) -> Path:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        if model_uri.startswith("models:/"):
            version, created = _resolve(model_uri, uri)
            dest = _kept(uri, model_uri, version, created)
            if (dest / "MLmodel").is_file():
                return dest
            model_uri = f"models:/{parse_model_uri(model_uri)[0]}/{version}"
        else:  # runs:/ and other URIs: fetched again each time, into one folder per URI
            dest = cache_root() / ("uri-" + hashlib.sha256(f"{uri}\0{model_uri}".encode()).hexdigest()[:20])
            shutil.rmtree(dest, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix="stancelab-model-") as tmp:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
            if not (local / "MLmodel").is_file():
                raise UserError(f"{model_uri}: not an MLflow model (no MLmodel file)")
            return _keep(local, dest)
    except MlflowException as exc:
        raise UserError(f"no model at {model_uri} in {uri} ({str(exc).splitlines()[0]})") from None
    except OSError as exc:
        raise UserError(f"{model_uri}: cannot read the model ({exc.strerror or exc})") from None
    except (ValueError, TypeError, KeyError) as exc:  # a URI MLflow cannot place (http://..., a bare name)
        raise UserError(f"{model_uri}: not a model URI MLflow can read ({str(exc).splitlines()[0][:200]}); "
                        "use models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN/model or a model folder") from None


def _keep(local: Path, dest: Path) -> Path:
    """Move a downloaded model folder into the cache (atomically: another process may race us)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".incoming-"))
    shutil.copytree(local, staging, dirs_exist_ok=True)
    try:
        staging.rename(dest)
    except OSError:  # another process kept the same version first
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def load(model_uri: str | None = None, tracking_uri: str | None = None, allow_unsafe: bool = False) -> Predictor:
    """Load a model by URI (default: the default experiment's ``champion``), or from a local folder."""
    model_uri = model_uri or default_model_uri()
    local = Path(model_uri) if Path(model_uri).is_dir() else local_model(model_uri, tracking_uri)
    pipeline, metadata = load_pipeline(local, allow_unsafe)
    try:
        return Predictor(pipeline=pipeline, model_uri=model_uri, metadata=metadata)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # saved by another version of the code
        raise UserError(f"{local}: a model this version cannot read ({type(exc).__name__}: {exc}); "
                        "retrain it with train.py") from None
