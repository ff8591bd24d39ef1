"""The naming and tagging convention of our MLflow runs (docs/design.md, "Comparing runs in MLflow").

Checked by tests/test_conventions.py over the runs that training and evaluation create, so a
change here is a change of the convention (and of the README).
"""

from __future__ import annotations

import re

# <stage>_<name>: the stage says where the number comes from. cv: cross-validation on train;
# fit: the refit of the chosen configuration on all of train; <split>: an evaluation on that split.
# Suffixes: _std (sd over folds), _ci_low/_ci_high (95% bootstrap interval), _seconds, _n.
STAGES = ("cv", "fit", "train", "dev", "val", "test")
METRIC_KEY = re.compile(rf"^({'|'.join(STAGES)})_[a-z0-9]+(_[a-z0-9]+)*$")
# Flat, dotted config paths as in the YAML (``classifier.C``, ``word.ngram_range``); short scalar values.
PARAM_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
PARAM_VALUE_MAX = 64
MAX_METRICS_PER_RUN = 60  # per-target / per-actor / per-class numbers go to reports/*.csv, not metrics
# Tags every run has, and the extra ones per role (sweep = parent, configuration = child, evaluation).
COMMON_TAGS = ("role", "dataset", "split", "tasks", "targets")
ROLE_TAGS = {
    "sweep": ("seed", "best_configuration", "best_run_id", "chosen_configuration", "chosen_run_id", "dataset_sha256",
              "champion", "cv.rule"),
    "configuration": ("seed", "trial_hash", "sweep"),
    "evaluation": ("model_uri", "registered_model", "model_version", "source_run_id"),
}
# Artifacts: figures in plots/, tables and reports in reports/ (training) or evaluation/ (evaluation),
# each file named <stage>_<what>[_<task>].<ext>; plus the run-level config.json and data report.
ARTIFACT = re.compile(rf"^(plots/({'|'.join(STAGES)})_[a-z0-9_]+\.png"
                      rf"|(reports|evaluation)/({'|'.join(STAGES)})_[a-z0-9_]+\.(csv|json)"
                      r"|config\.json|reports/data_report\.json)$")
