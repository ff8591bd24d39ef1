"""Load a registered model safely and predict stance + sentiment with evidence.

The model is read with skops and the project's own list of trusted types
(:data:`stancelab.model.TRUSTED_TYPES`), not the list stored inside the model, so a tampered
model file cannot smuggle in other types. Pickle-format models are refused unless the caller opts in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from stancelab import tracking
from features.interactions import TargetInteraction
from stancelab.compiled import compile_model
from stancelab.errors import UserError
from stancelab.estimators import TargetRouter
from stancelab.model import INPUT_COLUMNS, TRUSTED_TYPES

DEFAULT_EXPERIMENT = Path(__file__).resolve().parent.parent / "experiments" / "default.yaml"
FAST_PATH_ROWS = 4  # predict() of up to this many records takes the compiled model's one-quote path


def default_model_uri() -> str:
    from stancelab.config import load_config

    return f"models:/{load_config(DEFAULT_EXPERIMENT).model_name}@champion"


def _target_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name).casefold())


@dataclass
class Predictor:
    """A loaded model. ``predict(records)`` takes dicts with ``text``, ``target`` (and ``actor``)."""

    pipeline: Any
    model_uri: str
    metadata: dict = field(default_factory=dict)
    evidence_size: int = 5

    def __post_init__(self):
        joint = self.pipeline.named_steps["joint"]
        self.tasks = list(joint.tasks_)
        targets = self.metadata.get("targets") or {}
        stance = joint.estimator_for("stance")
        if isinstance(stance, TargetRouter):
            targets = {t: targets.get(t, [t]) for t in stance.targets_}
        elif isinstance(getattr(stance, "named_steps", {}).get("features"), TargetInteraction):
            targets = {t: targets.get(t, [t]) for t in stance.named_steps["features"].targets_}
        self.targets: dict[str, list[str]] = {t: list(names) for t, names in targets.items()}
        self._lookup = {}
        for target, names in self.targets.items():
            for name in [target, *names]:
                self._lookup[_target_key(name)] = target
        self._names_cache: dict[int, np.ndarray] = {}
        self._weights_cache: dict[tuple, np.ndarray | None] = {}
        self._name_parts: dict[int, dict[int, tuple[str, str]]] = {}
        self._class_names = [[str(c) for c in classes] for classes in joint.classes_]
        # The same numbers as the Pipeline with far less work (stancelab/compiled.py); None for a model
        # with steps the compiler does not know, which then runs through the Pipeline itself.
        self._compile()

    def _compile(self) -> None:
        self.compiled = compile_model(self.pipeline)
        if self.compiled is not None:
            self._warm()

    def _warm(self) -> None:
        """Score a one-letter quote once per target, as a batch (labels, and with evidence) and one by
        one with evidence, and throw the results away. numba loads its compiled kernels
        (stancelab.kernels) from its on-disk cache, and starts LLVM, on their first call: about a
        second once per process, which would otherwise land on the first batch or quote scored. The
        batch is long enough to take the array path of word n-grams; the letter makes every kernel run (an
        empty text has no words to look up)."""
        from stancelab.compiled import ARROW_MIN_TEXTS

        targets = list(self.targets) or [""]
        n = max(ARROW_MIN_TEXTS, len(targets))
        frame = pd.DataFrame({"text": ["x"] * n, "target": [targets[i % len(targets)] for i in range(n)],
                              "actor": [""] * n}, columns=list(INPUT_COLUMNS), dtype=object)
        self.compiled.predict_proba(frame)
        self.predict_frame(frame.head(len(targets)), evidence=True)
        for row in frame.head(len(targets)).to_dict("records"):
            self._predict_one(row, evidence=True)

    def __getstate__(self):  # shipped to Dask workers: the compiled model and caches are rebuilt there
        return {k: v for k, v in self.__dict__.items()
                if k not in ("compiled", "_names_cache", "_weights_cache", "_name_parts")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._names_cache, self._weights_cache, self._name_parts = {}, {}, {}
        self._compile()

    # ------------------------------------------------------------------ input checks
    def resolve_target(self, name: str) -> str:
        target = self._lookup.get(_target_key(name))
        if target is None:
            known = ", ".join(f"{t} ({' / '.join(n for n in names if n != t)})" if len(names) > 1 else t
                              for t, names in self.targets.items())
            raise UserError(f"unknown target {name!r}; known targets: {known}")
        return target

    def frame(self, records, source: str | None = None, lines: list[int] | None = None) -> pd.DataFrame:
        """Validated model input; errors name the record (or ``source:line`` for files)."""
        return pd.DataFrame(self._validated(records, source, lines), columns=list(INPUT_COLUMNS), dtype=object)

    def _validated(self, records, source: str | None = None, lines: list[int] | None = None) -> list[dict]:
        rows = records.to_dict("records") if isinstance(records, pd.DataFrame) else list(records)
        out = []
        for index, record in enumerate(rows):
            number = f"{source}:{lines[index]}" if source and lines else f"record {index + 1}"
            if not isinstance(record, dict):
                raise UserError(f"{number}: expected a mapping with text and target")
            text = record.get("text")
            if not isinstance(text, str) or not text.strip():
                raise UserError(f"{number}: field 'text': empty or missing text")
            target = record.get("target")
            if target is None or not str(target).strip():
                raise UserError(f"{number}: field 'target': missing; known targets: {', '.join(self.targets)}")
            try:
                resolved = self.resolve_target(str(target))
            except UserError as exc:
                raise UserError(f"{number}: field 'target': {exc}") from None
            actor = record.get("actor")
            actor = "" if actor is None or (isinstance(actor, float) and np.isnan(actor)) else str(actor).strip()
            out.append({"text": text, "target": resolved, "actor": actor})
        return out

    # ------------------------------------------------------------------ prediction
    def predict_proba(self, frame: pd.DataFrame) -> list[np.ndarray]:
        """``pipeline.predict_proba`` of validated rows (one array per task), through the compiled model."""
        if self.compiled is not None:
            return self.compiled.predict_proba(frame[list(INPUT_COLUMNS)])
        return self.pipeline.predict_proba(frame[list(INPUT_COLUMNS)])

    def predict_labels(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Labels only, for evaluation of many rows: columns ``pred_<task>`` (``pipeline.predict``'s)."""
        if self.compiled is None:
            pred = self.pipeline.predict(frame[list(INPUT_COLUMNS)])
            return pd.DataFrame({f"pred_{t}": pred[:, i] for i, t in enumerate(self.tasks)}, index=frame.index)
        probas = self.predict_proba(frame)
        classes = self.pipeline.named_steps["joint"].classes_
        return pd.DataFrame({f"pred_{t}": c[np.argmax(p, axis=1)] for t, c, p in zip(self.tasks, classes, probas)},
                            index=frame.index)

    def predict(self, records, evidence: bool = True) -> list[dict]:
        """Validate ``records`` (dicts with text, target, optional actor) and predict them."""
        rows = self._validated(records)
        if len(rows) <= FAST_PATH_ROWS and self.compiled is not None:
            return [self._predict_one(row, evidence) for row in rows]
        return self.predict_frame(pd.DataFrame(rows, columns=list(INPUT_COLUMNS), dtype=object), evidence)

    def _predict_one(self, row: dict, evidence: bool) -> dict:
        """One quote through the compiled model's one-row path (the same numbers as the batch path)."""
        probas, found = self.compiled.predict_one(row["text"], row)
        result = {"text": row["text"], "target": row["target"], "actor": row["actor"] or None}
        self._fill(result, probas)
        if evidence:
            result["evidence"] = {task: [] if model is None else self._contributions(model.features, model.clf, *x, label)
                                  for task, (model, x), label in zip(self.tasks, found, [result[t] for t in self.tasks])}
        return result

    def _fill(self, result: dict, probas) -> None:
        for task, proba, classes in zip(self.tasks, probas, self._class_names):
            values = proba.tolist()
            result[task] = classes[values.index(max(values))]  # the first largest, as np.argmax
            result[f"{task}_proba"] = {c: round(p, 4) for c, p in zip(classes, values)}

    def predict_frame(self, frame: pd.DataFrame, evidence: bool = True) -> list[dict]:
        """Predict rows already validated by :meth:`frame`."""
        if frame.empty:
            return []
        if self.compiled is not None:
            probas, kept = self.compiled.predict_proba(frame[list(INPUT_COLUMNS)], keep_features=True) \
                if evidence else (self.compiled.predict_proba(frame[list(INPUT_COLUMNS)]), None)
        else:
            probas, kept = self.pipeline.predict_proba(frame), None
        normalised = self.pipeline.named_steps["normalize"].transform(frame) if evidence and kept is None else None
        results = []
        for i, row in enumerate(frame.itertuples(index=False)):
            result = {"text": row.text, "target": row.target, "actor": row.actor or None}
            self._fill(result, [p[i] for p in probas])
            if evidence and kept is not None:
                result["evidence"] = {}
                for task, rows in zip(self.tasks, kept):
                    model, X, k = rows[i] if rows[i] is not None else (None, None, None)
                    result["evidence"][task] = [] if model is None else self._contributions(
                        model.features, model.clf, X.indices[X.indptr[k]:X.indptr[k + 1]],
                        X.data[X.indptr[k]:X.indptr[k + 1]], result[task])
            elif evidence:
                result["evidence"] = {task: self._evidence(task, normalised.iloc[[i]], result[task])
                                      for task in self.tasks}
            results.append(result)
        return results

    def predict_article(self, text_or_path, actors=None, targets=None, evidence: bool = False) -> list[dict]:
        """Who said what in an article: one record per sentence × target (see stancelab.article)."""
        from stancelab.article import predict_article

        return predict_article(self, text_or_path, actors=actors, targets=targets, evidence=evidence)

    # ------------------------------------------------------------------ evidence
    def _evidence(self, task: str, row: pd.DataFrame, label: str) -> list[dict]:
        estimator = self.pipeline.named_steps["joint"].estimator_for(task)
        if isinstance(estimator, TargetRouter):
            estimator = estimator.estimators_[row["target"].iloc[0]]
        if isinstance(estimator, str):  # a target trained on one label only
            return []
        features, clf = estimator.named_steps["features"], estimator.named_steps["clf"]
        x = features.transform(row).tocsr()
        return self._contributions(features, clf, x.indices, x.data, label)

    def _contributions(self, features, clf, indices, values, label: str) -> list[dict]:
        """The row's features that push most towards ``label``: value x weight, largest first."""
        w = self._label_weights(clf, label)
        if w is None:
            return []
        from stancelab.kernels import top_contributions

        # the evidence_size largest positive value x weight, ties in column order
        order, contributions = top_contributions(indices, values, w, self.evidence_size)
        names = self._feature_names(features)
        parts = self._name_parts.setdefault(id(features), {})  # column -> (kind, n-gram), as met
        out = []
        for column, weight in zip(indices[order].tolist(), contributions.tolist()):
            found = parts.get(column)
            if found is None:
                kind, _, ngram = str(names[column]).partition("__")
                found = parts[column] = (kind, ngram.strip())
            out.append({"ngram": found[1], "kind": found[0], "weight": round(weight, 4)})
        return out

    def _label_weights(self, clf, label: str) -> np.ndarray | None:
        """Per-feature weight towards ``label``, computed once per classifier (a mean over all
        features per call was most of one quote's latency)."""
        key = (id(clf), label)
        if key not in self._weights_cache:
            weights, classes = _class_weights(clf), list(clf.classes_)
            if weights is None or label not in classes:
                w = None
            elif weights.shape[0] == 1:  # binary linear model: one row, positive = classes_[1]
                w = weights[0] if classes.index(label) == 1 else -weights[0]
            else:
                w = weights[classes.index(label)] - weights.mean(axis=0)
            self._weights_cache[key] = w
        return self._weights_cache[key]

    def _feature_names(self, features) -> np.ndarray:
        key = id(features)
        if key not in self._names_cache:
            self._names_cache[key] = features.get_feature_names_out()
        return self._names_cache[key]


def _class_weights(clf) -> np.ndarray | None:
    if hasattr(clf, "coef_"):
        return np.asarray(clf.coef_)
    if hasattr(clf, "calibrated_classifiers_"):
        coefs = [np.asarray(c.estimator.coef_) for c in clf.calibrated_classifiers_ if hasattr(c.estimator, "coef_")]
        return np.mean(coefs, axis=0) if coefs else None
    if hasattr(clf, "feature_log_prob_"):
        return np.asarray(clf.feature_log_prob_)
    return None


def _download(model_uri: str) -> Path:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
    except MlflowException as exc:
        message = str(exc).splitlines()[0]
        hint = " Train one first: python train.py" if "@champion" in model_uri or "alias" in message.lower() else ""
        raise UserError(f"no model at {model_uri} in {mlflow.get_tracking_uri()} ({message}).{hint}") from None
    except OSError as exc:
        raise UserError(f"{model_uri}: cannot read the model ({exc})") from None


def load_pipeline(model_dir: Path, allow_unsafe: bool = False):
    """Load the scikit-learn pipeline of an MLflow sklearn model directory."""
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    mlmodel = model_dir / "MLmodel"
    if not mlmodel.is_file():
        raise UserError(f"{model_dir}: not an MLflow model (no MLmodel file)")
    spec = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
    flavor = (spec.get("flavors") or {}).get("sklearn")
    if not flavor:
        raise UserError(f"{mlmodel}: not a scikit-learn model")
    path = model_dir / flavor.get("pickled_model", "")
    fmt = flavor.get("serialization_format", "pickle")
    if fmt == "skops":
        try:
            pipeline = skops.io.load(path, trusted=TRUSTED_TYPES)
        except UntrustedTypesFoundException as exc:
            raise UserError(f"{path}: refused, the model contains types outside the trusted list ({exc})") from None
        except Exception as exc:  # corrupt zip / json: a clear refusal, never a partial model
            raise UserError(f"{path}: cannot load the model ({type(exc).__name__}: {exc})") from None
    elif allow_unsafe:
        import pickle

        with open(path, "rb") as handle:
            pipeline = pickle.load(handle)  # noqa: S301 - explicit user opt-in
    else:
        raise UserError(f"{path}: a {fmt} model can run arbitrary code when loaded; refused. Re-log it with "
                        "serialization_format='skops', or pass --allow-unsafe-pickle if you trust its source")
    return pipeline, spec.get("metadata") or {}


def load(model_uri: str | None = None, tracking_uri: str | None = None, allow_unsafe: bool = False) -> Predictor:
    """Load a model by URI (default: the default experiment's ``champion``)."""
    tracking.setup(tracking_uri)
    model_uri = model_uri or default_model_uri()
    local = Path(model_uri) if Path(model_uri).is_dir() else _download(model_uri)
    pipeline, metadata = load_pipeline(local, allow_unsafe)
    return Predictor(pipeline=pipeline, model_uri=model_uri, metadata=metadata)
