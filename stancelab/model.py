"""Build the one scikit-learn Pipeline that is the model: normalise -> (features -> classifier) per task.

Input is a DataFrame with the columns ``text``, ``target`` and ``actor``; ``predict`` returns one
column per task (``stance``, then ``sentiment``).
"""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from features import TextNormalizer, build_features
from features.interactions import TargetInteraction
from stancelab.config import ClassifierConfig, ModelConfig
from features.mention import TargetMention
from sklearn.compose import ColumnTransformer
from stancelab.estimators import JointClassifier, NBSVMClassifier, SentimentProbabilities, TargetRouter
from stancelab.augmented import TargetBalancedPipeline

INPUT_COLUMNS = ("text", "target", "actor")

# Every type a saved model may contain. skops refuses to load anything else, whatever the model
# file itself claims (see predict.load_pipeline).
TRUSTED_TYPES = sorted({
    "features.normalize.TextNormalizer",
    "features.analysis.WordAnalyzer",
    "stancelab.estimators.JointClassifier",
    "stancelab.estimators.TargetRouter",
    "stancelab.estimators.NBSVMClassifier",
    "features.interactions.TargetInteraction",
    "stancelab.augmented.TargetBalancedPipeline",
    "features.mention.TargetMention",
    "stancelab.estimators.SentimentProbabilities",
    "sklearn.frozen._frozen.FrozenEstimator",
    "sklearn.linear_model._ridge.RidgeClassifier",
    "sklearn.ensemble._voting.VotingClassifier",
    "sklearn.ensemble._stacking.StackingClassifier",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.model_selection._split.StratifiedKFold",
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
    if cfg.kind == "ridge":
        ridge = RidgeClassifier(alpha=1.0 / cfg.C, class_weight=cfg.class_weight, random_state=seed)
        return CalibratedClassifierCV(ridge, cv=3, method="sigmoid")
    if cfg.kind == "complement_nb":
        return ComplementNB(alpha=cfg.alpha)
    if cfg.kind == "nbsvm":
        return NBSVMClassifier(C=cfg.C, class_weight=cfg.class_weight, max_iter=cfg.max_iter, random_state=seed)
    members = [(f"{i}_{m.kind}", build_classifier(m, seed)) for i, m in enumerate(cfg.members)]
    if cfg.kind == "voting":
        return VotingClassifier(members, voting="soft")
    if cfg.kind == "stacking":
        final = LogisticRegression(C=1.0, class_weight=cfg.class_weight, max_iter=cfg.max_iter, random_state=seed)
        return StackingClassifier(members, final_estimator=final, cv=3, stack_method="predict_proba")
    raise ValueError(f"unknown classifier kind {cfg.kind!r}")


def _text_model(cfg: ModelConfig, clf_cfg: ClassifierConfig, seed: int, *, use_target: bool,
                interact: bool = False, memory=None, stance: bool = False, balance_within_target: bool = False) -> Pipeline:
    word = cfg.word.model_dump() if cfg.word is not None else None
    char = cfg.char.model_dump() if cfg.char is not None else None
    features = build_features(word, char, use_target=use_target, use_actor=cfg.use_actor)
    if stance:
        features = _stance_blocks(features, cfg)
    if interact:
        features = TargetInteraction(features, shared_scale=cfg.shared_scale)
    steps = [("features", features), ("clf", build_classifier(clf_cfg, seed))]
    if balance_within_target:
        return TargetBalancedPipeline(steps, memory=memory)
    return Pipeline(steps, memory=memory)


def _stance_blocks(features: ColumnTransformer, cfg: ModelConfig) -> ColumnTransformer:
    """The stance-only feature blocks (target mention, sentiment probabilities) after the text blocks.
    Both read raw columns and normalise the text themselves, so a single quote scored block by block
    (prediction's fast path) gets the same numbers."""
    steps = cfg.normalize.model_dump()
    extra = []
    if cfg.target_mention:
        extra.append(("mention", TargetMention(aliases=dict(cfg.target_aliases), steps=steps), ["text", "target"]))
    if cfg.sentiment_features:
        extra.append(("sentiment", SentimentProbabilities(steps=steps, scale=cfg.sentiment_features_scale), ["text", "target", "actor"]))
    if not extra:
        return features
    return ColumnTransformer(features.transformers + extra, remainder="drop", sparse_threshold=1.0)


def build_pipeline(cfg: ModelConfig, tasks=("stance", "sentiment"), seed: int = 13, memory=None) -> Pipeline:
    """The model. ``memory`` (a ``joblib.Memory``, for cross-validation only) caches each fitted
    feature block by content, so configurations that differ only in the classifier reuse it; a
    model that is saved is built without it."""
    if cfg.target_mode == "per_target":
        stance = TargetRouter(_text_model(cfg, cfg.classifier, seed, use_target=False, memory=memory, stance=True))
    elif cfg.target_mode == "augmented":  # stancelab/augmented.py: class_weight balanced is applied within each target
        balance = cfg.classifier.class_weight == "balanced"
        clf_cfg = cfg.classifier.model_copy(update={"class_weight": None}) if balance else cfg.classifier
        stance = _text_model(cfg, clf_cfg, seed, use_target=True, interact=True, memory=memory, stance=True,
                             balance_within_target=balance)
    else:
        stance = _text_model(cfg, cfg.classifier, seed, use_target=True, interact=cfg.target_mode == "interact",
                             memory=memory, stance=True)
    sentiment = None
    if "sentiment" in tasks:
        own = cfg.model_copy(update={"word": cfg.sentiment_word}) if cfg.sentiment_word is not None else cfg
        sentiment = _text_model(own, cfg.sentiment_classifier or cfg.classifier, seed, use_target=False, memory=memory)
    return Pipeline([
        ("normalize", TextNormalizer(steps=cfg.normalize.model_dump())),
        ("joint", JointClassifier(stance=stance, sentiment=sentiment, none_scale=cfg.none_scale,
                                  sentiment_features=cfg.sentiment_features, random_state=seed,
                                  none_scale_per_target=cfg.none_scale_per_target,
                                  none_scale_grid=cfg.none_scale_grid)),
    ], memory=memory)
