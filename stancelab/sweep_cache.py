"""Cross-validating a sweep with the featurisation shared across configurations (``cv.cache``).

Profiling one Mawqif configuration's 5 folds (``benchmarks/README.md``) put about half the time in
fitting TF-IDF vectorizers and half in the logistic regressions. In a sweep most of the first half
repeats: every configuration re-counts the same n-grams of the same fold, and configurations that
differ only in the stance classifier refit the same sentiment model. Here, per fold:

1. the text is normalised once per normalisation setting;
2. each training subset a model is fitted on (one per target for the per-target stance models, all
   rows for sentiment) is counted once per text block, for the union of the sweep's n-gram ranges
   (:class:`features.shared_counts.SharedCounts`), and every configuration's TF-IDF matrices are
   derived from those counts by column selection -- bit for bit the matrices its own vectorizers
   would produce;
3. each distinct classifier is fitted once per (features, subset): configurations that differ only
   in the stance classifier share the sentiment fit, and ``none_scale`` (a decision threshold) shares
   both;
4. the fitted classifiers' test-fold answers are combined by the project's own ``TargetRouter`` and
   ``JointClassifier`` code (``predict_proba``/``predict`` on stand-ins that return those answers),
   so routing, thresholds and label layout are not reimplemented.

The classifiers are the ones ``build_classifier`` makes, fitted on the same matrices with the same
labels, so out-of-fold predictions and CV scores equal the plain path's (``tests/test_sweep_cache.py``).
Only cross-validation uses this; the refit model is the ordinary ``build_pipeline`` Pipeline.

Configurations it does not cover go through the ordinary pipeline path (``supported``): pooled and
interaction stance models, actor features, ``max_features``, word stemming or stop words
(``model.word.stem``/``stop_words``), and any model option added after this
module (a field of ``ModelConfig`` it does not know, set to a non-default value).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.utils import check_array

from stancelab import metrics
from stancelab.config import ModelConfig
from stancelab.estimators import JointClassifier, TargetRouter

# ModelConfig fields whose every value this module reproduces (the rest must keep their defaults).
HANDLED_FIELDS = {"normalize", "word", "char", "target_mode", "use_actor", "none_scale", "classifier",
                  "sentiment_classifier"}
ALL_ROWS = ""  # the subset name of a model fitted on every training row (sentiment)
GROUPS_PER_JOB = 5  # feature settings per (fold, subset) job: enough work per job, results arrive steadily


def supported(cfg: ModelConfig) -> bool:
    """Whether the shared path reproduces this configuration's cross-validation exactly."""
    for name, info in type(cfg).model_fields.items():
        if name not in HANDLED_FIELDS and getattr(cfg, name) != info.get_default(call_default_factory=True):
            return False
    if cfg.target_mode != "per_target" or cfg.use_actor:
        return False
    if cfg.word is not None and (cfg.word.stem or cfg.word.stop_words):
        return False  # shared counts cut words with the default token pattern only (features/analysis.py)
    return all(block is None or block.max_features is None for block in (cfg.word, cfg.char))


def _key(model) -> str:
    return json.dumps(model.model_dump(mode="json") if model is not None else None, sort_keys=True)


@dataclass
class _Plan:
    """What the sweep's configurations need: feature settings (groups), counts and classifiers."""
    group_of: list[str]  # per configuration: its feature settings' key
    groups: dict[str, dict]  # key -> {"normalize": steps, "norm_key": key, "blocks": [(block key, settings)]}
    unions: dict[tuple, tuple[int, int]]  # block key (name, analyzer, normalize key) -> union n-gram range
    stance: dict[str, dict[str, object]]  # group -> {classifier key: ClassifierConfig}
    sentiment: dict[str, dict[str, object]]


def _plan(configs: list[ModelConfig], tasks) -> _Plan:
    group_of, groups, stance, sentiment = [], {}, defaultdict(dict), defaultdict(dict)
    unions: dict[tuple, tuple[int, int]] = {}
    for cfg in configs:
        norm = _key(cfg.normalize)
        blocks = []
        for name, block in (("word", cfg.word), ("char", cfg.char)):  # build_features' block order
            if block is None:
                continue
            settings = block.model_dump()
            key = (name, settings.pop("analyzer", "word"), norm)
            low, high = unions.get(key, block.ngram_range)
            unions[key] = (min(low, block.ngram_range[0]), max(high, block.ngram_range[1]))
            blocks.append((key, settings))
        group = json.dumps([norm, [(k[:2], s) for k, s in blocks]], sort_keys=True, default=list)
        groups[group] = {"normalize": cfg.normalize.model_dump(), "norm_key": norm, "blocks": blocks}
        group_of.append(group)
        stance[group][_key(cfg.classifier)] = cfg.classifier
        if "sentiment" in tasks:
            chosen = cfg.sentiment_classifier or cfg.classifier
            sentiment[group][_key(chosen)] = chosen
    return _Plan(group_of, groups, unions, dict(stance), dict(sentiment))


def _count(train_docs: dict, test_docs: dict, unions: dict) -> tuple[dict, float]:
    """One (fold, subset): the shared counts of every block key (normalised texts per setting)."""
    from features.shared_counts import SharedCounts

    start = time.perf_counter()
    counts = {key: SharedCounts(key[1], union, train_docs[key[2]], test_docs[key[2]])
              for key, union in unions.items()}
    return counts, time.perf_counter() - start


def _features(counts: dict, blocks):
    """The ColumnTransformer's output (train, test) for one feature setting, from shared counts."""
    parts = [counts[key].tfidf(settings) for key, settings in blocks]
    train, test = [p[0] for p in parts], [p[1] for p in parts]
    nnz, total = sum(x.nnz for x in train), sum(x.shape[0] * x.shape[1] for x in train)
    if nnz / total >= 1.0:  # ColumnTransformer(sparse_threshold=1.0) goes dense only for a full matrix
        return np.hstack([x.toarray() for x in train]), np.hstack([x.toarray() for x in test])

    def stack(xs):  # ColumnTransformer._hstack
        return sparse.hstack([check_array(x, accept_sparse=True, ensure_all_finite=False) for x in xs]).tocsr()

    return stack(train), stack(test)


def _fit_subset(counts: dict, y_train: np.ndarray, jobs: list, seed: int) -> tuple[dict, float]:
    """One (fold, subset, a few feature settings): fit each classifier once on the derived features
    and answer for the subset's test rows. ``jobs``: [(group, blocks, {classifier key: config})]."""
    from sklearn.base import clone

    from stancelab.model import build_classifier

    start = time.perf_counter()
    out = {}
    for group, blocks, classifiers in jobs:
        train, test = _features(counts, blocks)
        for key, clf_cfg in classifiers.items():
            clf = clone(build_classifier(clf_cfg, seed)).fit(train, y_train)
            if test.shape[0] == 0:  # a target without test rows in this fold: never asked (TargetRouter)
                out[group, key] = (np.asarray(clf.classes_), None, None)
            else:
                out[group, key] = (np.asarray(clf.classes_), clf.predict_proba(test), clf.predict(test))
    return out, time.perf_counter() - start


class _Answers:
    """A fitted estimator's precomputed answers on one test fold (or one target's rows of it), so the
    project's own TargetRouter/JointClassifier code combines them as it combines real estimators."""

    def __init__(self, classes, proba, pred):
        self.classes_, self._proba, self._pred = classes, proba, pred

    def predict_proba(self, X):
        return self._proba

    def predict(self, X):
        return self._pred


def cross_validate_shared(configs: list[ModelConfig], frame: pd.DataFrame, tasks, splits, seed: int,
                          n_jobs: int = 1):
    """Like ``training.cross_validate_many`` for ``supported`` configurations: yields ``(index, oof,
    fold_table, seconds)`` per configuration as soon as its folds are done; ``seconds`` is its share
    of the work (shared counting and fits split evenly between the configurations that use them)."""
    from features import TextNormalizer
    from stancelab.training import model_input

    tasks = list(tasks)
    plan = _plan(configs, tasks)
    X = model_input(frame)
    texts = {g["norm_key"]: TextNormalizer(steps=g["normalize"]).transform(X)["text"].to_numpy(dtype=object)
             for g in plan.groups.values()}
    targets = X["target"].to_numpy(dtype=object)
    stance = frame["stance"].to_numpy(dtype=object)
    sentiment = frame["sentiment"].to_numpy(dtype=object) if "sentiment" in tasks else None

    # the subsets each fold fits models on: (fold, target) for stance, (fold, ALL_ROWS) for sentiment
    subsets = []  # (fold, name, train rows, test rows, labels of the train rows)
    single = {}  # (fold, target) -> the one label of a target with a single training label (no model)
    for f, (tr, te) in enumerate(splits):
        for target in sorted(set(targets[tr])):
            rows = tr[targets[tr] == target]
            labels = set(stance[rows])
            if len(labels) == 1:
                single[f, target] = next(iter(labels))
            else:
                subsets.append((f, target, rows, te[targets[te] == target], stance[rows]))
        if sentiment is not None:
            subsets.append((f, ALL_ROWS, tr, te, sentiment[tr]))

    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    docs = [({k: t[rows] for k, t in texts.items()}, {k: t[test] for k, t in texts.items()})
            for _, _, rows, test, _ in subsets]
    counted = list(parallel(delayed(_count)(train, test, plan.unions) for train, test in docs))
    count_seconds = sum(s for _, s in counted)

    members = defaultdict(list)  # group -> configuration indices
    for i, group in enumerate(plan.group_of):
        members[group].append(i)
    order = list(members)
    chunks = [order[i:i + GROUPS_PER_JOB] for i in range(0, len(order), GROUPS_PER_JOB)]
    jobs = []  # (chunk, subset index, [(group, blocks, classifiers)])
    for c, chunk in enumerate(chunks):
        for s, (_, name, _, _, _) in enumerate(subsets):
            table = plan.sentiment if name == ALL_ROWS else plan.stance
            jobs.append((c, s, [(g, plan.groups[g]["blocks"], table[g]) for g in chunk]))
    results = parallel(delayed(_fit_subset)(counted[s][0], subsets[s][4], work, seed) for _, s, work in jobs)

    seconds = np.full(len(configs), count_seconds / len(configs))
    answers = {}  # (fold, subset name, group, classifier key) -> (classes, proba, pred)
    for n, (out, job_seconds) in enumerate(results):  # to the end: a generator left open makes joblib warn
        c, s, work = jobs[n]
        users = [i for g, _, _ in work for i in members[g]]
        seconds[users] += job_seconds / len(users)
        f, name = subsets[s][:2]
        for (group, key), value in out.items():
            answers[f, name, group, key] = value
        if n + 1 < len(jobs) and jobs[n + 1][0] == c:
            continue
        for group in chunks[c]:  # the last job of a chunk (they are queued chunk after chunk): its groups are done
            for i in members[group]:
                oof, table = _combine(configs[i], group, answers, single, splits, frame, X, tasks, targets, stance)
                yield i, oof, table, float(seconds[i])
        answers.clear()


def _combine(cfg, group, answers, single, splits, frame, X, tasks, targets, stance):
    """One configuration's out-of-fold predictions and per-fold scores, through the project's own
    TargetRouter and JointClassifier (their prediction code, the fits' precomputed answers)."""
    oof = np.empty((len(frame), len(tasks)), dtype=object)
    scores = []
    stance_key = _key(cfg.classifier)
    sentiment_key = _key(cfg.sentiment_classifier or cfg.classifier)
    for f, (tr, te) in enumerate(splits):
        router = TargetRouter()
        router.classes_ = np.array(sorted(set(stance[tr])), dtype=object)  # as TargetRouter.fit
        router.estimators_ = {}
        for target in sorted(set(targets[tr])):
            if (f, target) in single:  # a target with one training label predicts it (TargetRouter.fit)
                router.estimators_[target] = single[f, target]
            else:
                router.estimators_[target] = _Answers(*answers[f, target, group, stance_key])
        estimators = [router]
        if "sentiment" in tasks:
            estimators.append(_Answers(*answers[f, ALL_ROWS, group, sentiment_key]))
        joint = JointClassifier(none_scale=cfg.none_scale)
        joint.tasks_ = [t for t in ("stance", "sentiment") if t in tasks]  # as JointClassifier.fit
        joint.estimators_ = estimators
        joint.classes_ = [np.asarray(est.classes_, dtype=object) for est in estimators]
        pred = joint.predict(X.iloc[te])
        oof[te] = pred
        fold = frame.iloc[te].assign(**{f"pred_{t}": pred[:, c] for c, t in enumerate(tasks)})
        scores.append(metrics.all_scores(fold, tasks))
    return oof, pd.DataFrame(scores)
