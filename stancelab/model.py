"""Build the one scikit-learn Pipeline that is the model: normalise -> (features -> classifier) per task.

Input is a DataFrame with the columns ``text``, ``target`` and ``actor``; ``predict`` returns one
column per task (``stance``, then ``sentiment``).
"""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from features import TextNormalizer, build_features
from stancelab.config import ClassifierConfig, ModelConfig
from stancelab.estimators import JointClassifier, TargetRouter

INPUT_COLUMNS = ("text", "target", "actor")

# Every type a saved model may contain. skops refuses to load anything else, whatever the model
# file itself claims (see predict.load_pipeline).
TRUSTED_TYPES = sorted({
    "features.normalize.TextNormalizer",
    "stancelab.estimators.JointClassifier",
    "stancelab.estimators.TargetRouter",
    "sklearn.pipeline.Pipeline",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "features.tfidf.CompactTfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._stochastic_gradient.SGDClassifier",
    "sklearn.naive_bayes.ComplementNB",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.utils._bunch.Bunch",
    "builtins.slice",
    "numpy.float32",
    "numpy.float64",
    "numpy.int64",
    "numpy.dtype",
    "scipy.sparse._csr.csr_matrix",
})


def build_classifier(cfg: ClassifierConfig, seed: int):
    if cfg.kind == "logreg":
        return LogisticRegression(C=cfg.C, class_weight=cfg.class_weight, max_iter=cfg.max_iter, random_state=seed)
    if cfg.kind == "linear_svc":
        svc = LinearSVC(C=cfg.C, class_weight=cfg.class_weight, max_iter=cfg.max_iter, random_state=seed)
        return CalibratedClassifierCV(svc, cv=3, method="sigmoid")
    if cfg.kind == "sgd":
        return SGDClassifier(loss="log_loss", alpha=cfg.alpha, class_weight=cfg.class_weight,
                             max_iter=cfg.max_iter, random_state=seed, tol=1e-4)
    if cfg.kind == "complement_nb":
        return ComplementNB(alpha=cfg.alpha)
    raise ValueError(f"unknown classifier kind {cfg.kind!r}")


def _text_model(cfg: ModelConfig, clf_cfg: ClassifierConfig, seed: int, *, use_target: bool) -> Pipeline:
    word = cfg.word.model_dump() if cfg.word is not None else None
    char = cfg.char.model_dump() if cfg.char is not None else None
    features = build_features(word, char, use_target=use_target, use_actor=cfg.use_actor)
    return Pipeline([("features", features), ("clf", build_classifier(clf_cfg, seed))])


def build_pipeline(cfg: ModelConfig, tasks=("stance", "sentiment"), seed: int = 13) -> Pipeline:
    if cfg.target_mode == "per_target":
        stance = TargetRouter(_text_model(cfg, cfg.classifier, seed, use_target=False))
    else:
        stance = _text_model(cfg, cfg.classifier, seed, use_target=True)
    sentiment = None
    if "sentiment" in tasks:
        sentiment = _text_model(cfg, cfg.sentiment_classifier or cfg.classifier, seed, use_target=False)
    return Pipeline([
        ("normalize", TextNormalizer(steps=cfg.normalize.model_dump())),
        ("joint", JointClassifier(stance=stance, sentiment=sentiment)),
    ])
