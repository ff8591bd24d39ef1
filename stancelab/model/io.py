"""Read a saved model: an MLflow scikit-learn model folder whose model file is skops.

The model is read with skops and the project's own list of trusted types
(:data:`stancelab.model.pipeline.TRUSTED_TYPES`), not the list stored inside the model, so a tampered
model file cannot smuggle in other types. Pickle-format models are refused unless the caller opts in.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from stancelab.errors import UserError
from stancelab.model.pipeline import TRUSTED_TYPES


def skops_io():
    """``skops.io``, imported without its import-time scan of every scikit-learn estimator.

    skops builds its *default* trusted list at import with ``sklearn.utils.all_estimators()``, which
    imports every scikit-learn module: half a second of a cold one-quote CLI call. Loading here always
    passes the fixed :data:`TRUSTED_TYPES`, so that default list is never used; during the import the
    discovery is answered with the estimators our models contain."""
    if "skops.io" not in sys.modules:
        import sklearn.utils
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        discover = sklearn.utils.all_estimators
        sklearn.utils.all_estimators = lambda *args, **kwargs: [
            ("FeatureUnion", FeatureUnion), ("LogisticRegression", LogisticRegression), ("Pipeline", Pipeline)]
        try:
            import skops.io  # noqa: F401  (the import is the point)
        finally:
            sklearn.utils.all_estimators = discover
    return sys.modules["skops.io"]


def read_mlmodel(model_dir: Path) -> dict:
    mlmodel = model_dir / "MLmodel"
    if not mlmodel.is_file():
        raise UserError(f"{model_dir}: not an MLflow model (no MLmodel file)")
    try:
        spec = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"{mlmodel}: not a valid MLmodel file ({type(exc).__name__})") from None
    if not isinstance(spec, dict):
        raise UserError(f"{mlmodel}: not a valid MLmodel file (expected a mapping)")
    return spec


def load_pipeline(model_dir: Path, allow_unsafe: bool = False):
    """The scikit-learn pipeline of an MLflow sklearn model folder, and the model's metadata."""
    spec = read_mlmodel(model_dir)
    flavor = (spec.get("flavors") or {}).get("sklearn")
    if not isinstance(flavor, dict):
        raise UserError(f"{model_dir / 'MLmodel'}: not a scikit-learn model")
    path = model_dir / str(flavor.get("pickled_model", ""))
    fmt = flavor.get("serialization_format", "pickle")
    if fmt == "skops":
        sio = skops_io()
        from skops.io.exceptions import UntrustedTypesFoundException

        try:
            pipeline = sio.load(path, trusted=TRUSTED_TYPES)
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
    if "heads" not in getattr(pipeline, "named_steps", {}):
        raise UserError(f"{path}: not a model of this project (no 'heads' step); retrain it with train.py")
    return pipeline, spec.get("metadata") or {}
