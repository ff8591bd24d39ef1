"""Experiment configuration: YAML parsed into one strict, typed object.

Defaults live here and nowhere else. Unknown keys are errors (``extra="forbid"``), and command-line
overrides are dotted keys (``--set model.classifier.C=3``) applied to the raw YAML before
validation, so they go through exactly the same checks.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, create_model, field_validator,
                      model_validator)

from features.normalize import NormalizeSteps

from stancelab.data.records import load_yaml
from stancelab.errors import UserError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# The normalisation switches and their defaults come from features.normalize.NormalizeSteps.
NormalizeConfig = create_model(
    "NormalizeConfig", __base__=Strict,
    **{f.name: (bool, f.default) for f in dataclass_fields(NormalizeSteps)},
)


class TfidfConfig(Strict):
    ngram_range: tuple[int, int] = (1, 2)
    min_df: int = Field(1, ge=1, description="keep n-grams found in at least this many training texts")
    sublinear_tf: bool = True

    @field_validator("ngram_range")
    @classmethod
    def _ordered(cls, value):
        low, high = value
        if not 1 <= low <= high:
            raise ValueError("ngram_range must be [low, high] with 1 <= low <= high")
        return value


class CharConfig(TfidfConfig):
    """``char_wb`` n-grams: characters within each word, padded with a space on each side."""

    ngram_range: tuple[int, int] = (2, 5)


class ClassifierConfig(Strict):
    """A LogisticRegression head (the only kind: every other kind lost the CV screening; see docs/)."""

    C: float = Field(1.0, gt=0, allow_inf_nan=False, description="inverse regularisation strength")
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: int = Field(2000, ge=10)


class ModelConfig(Strict):
    normalize: NormalizeConfig = NormalizeConfig()
    word: TfidfConfig | None = TfidfConfig()
    char: CharConfig | None = CharConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    sentiment_classifier: ClassifierConfig | None = Field(
        None, description="the sentiment head's classifier; defaults to the stance classifier")
    none_scale: float = Field(
        1.0, gt=0, allow_inf_nan=False,
        description="stance: multiply p(none) by this before the argmax (the threshold for 'none')")

    @model_validator(mode="after")
    def _some_text_features(self):
        if self.word is None and self.char is None:
            raise ValueError("at least one of model.word and model.char must be set")
        if self.word is not None and self.word.ngram_range[0] != 1:
            raise ValueError("model.word.ngram_range must start at 1 (longer n-grams are found from unigrams)")
        return self


class DatasetConfig(Strict):
    name: str = Field(description="a registered dataset: idlib, mawqif, semeval2016")
    train_split: str = "train"
    test_split: str = "test"
    data_dir: Path | None = Field(None, description="folder of the public benchmark files (default: see README)")
    verify_checksums: bool = Field(True, description="refuse a benchmark file whose sha256 differs from the pinned one")


class CVConfig(Strict):
    folds: int = Field(5, ge=2, le=20)
    rule: Literal["one_standard_error", "best"] = Field(
        "one_standard_error", description="one_standard_error: the simplest configuration within one standard error "
                                          "(over folds) of the best CV score; best: the best score")
    select_by: Literal["f_avg", "f_avg_target_mean", "stance_macro_f1", "sentiment_macro_f1",
                       "sentiment_f_pn"] = "f_avg_target_mean"


class SearchConfig(Strict):
    kind: Literal["grid", "random"] = Field(
        "grid", description="grid: every combination of `grid`; random: n_trials draws from it")
    n_trials: int | None = Field(None, ge=1, description="cap on the number of configurations")
    seed: int = 0


class ExperimentConfig(Strict):
    experiment: str = Field(description="MLflow experiment name: the research question")
    model_name: str = Field(description="registered model name, e.g. mawqif-stance")
    dataset: DatasetConfig
    tasks: tuple[Literal["stance", "sentiment"], ...] = ("stance", "sentiment")
    seed: int = 13
    n_jobs: int = Field(-1, description="parallel CV folds (joblib); -1 = all cores")

    @field_validator("n_jobs")
    @classmethod
    def _some_jobs(cls, value):
        if value == 0:
            raise ValueError("n_jobs must be a positive number of processes, or -1 for all cores")
        return value
    cv: CVConfig = CVConfig()
    bootstrap: int = Field(1000, ge=1, description="bootstrap resamples for confidence intervals")
    model: ModelConfig = ModelConfig()
    grid: dict[str, list[Any]] = Field(
        default_factory=dict, description="dotted model keys -> values; every combination is one configuration")
    search: SearchConfig = SearchConfig()
    # the experiment file's settings before any --set, hashed (see training.train.experiment_sha)
    _source_sha: str | None = PrivateAttr(None)

    @field_validator("tasks")
    @classmethod
    def _some_task(cls, value):
        if not value:
            raise ValueError("tasks must name at least one of stance, sentiment")
        return tuple(t for t in ("stance", "sentiment") if t in value)

    @model_validator(mode="after")
    def _select_by_a_trained_task(self):
        task = "sentiment" if self.cv.select_by.startswith("sentiment") else "stance"
        if task not in self.tasks:
            raise ValueError(f"cv.select_by '{self.cv.select_by}' needs the {task} task")
        return self

    @model_validator(mode="after")
    def _grid_keys_are_model_keys(self):
        for key, values in self.grid.items():
            if not key.startswith("model."):
                raise ValueError(f"grid key '{key}' must start with 'model.'")
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid key '{key}' needs a non-empty list of values")
        # Every combination must itself be a valid model config.
        for overrides in grid_combinations(self.grid):
            try:
                apply_model_overrides(self.model, overrides)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                problem = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
                shown = str(overrides)
                shown = shown if len(shown) <= 200 else shown[:200] + " ..."
                raise ValueError(f"grid combination {shown}: model.{where}: {problem}") from None
        return self

    def mark_source(self, sha: str) -> ExperimentConfig:
        """Record the hash of the experiment file's settings before any ``--set`` (by :func:`load_config`)."""
        self._source_sha = sha
        return self

    def source_sha(self) -> str | None:
        """The hash of the experiment file this configuration was read from (None: built in code)."""
        return self._source_sha

    def configurations(self) -> list[tuple[dict[str, Any], ModelConfig]]:
        """The search's configurations as (overrides, resolved ModelConfig); one item when no grid.

        ``search.kind: grid`` takes every combination (the first ``n_trials`` when capped);
        ``random`` draws ``n_trials`` distinct combinations with a seeded sampler."""
        combos = grid_combinations(self.grid)
        cap = self.search.n_trials
        if self.search.kind == "random" and cap is not None and cap < len(combos):
            # a seeded permutation: raising n_trials keeps the earlier draws (so a sweep can be extended)
            order = np.random.default_rng(self.search.seed).permutation(len(combos))
            combos = [combos[i] for i in order[:cap]]
        elif cap is not None:
            combos = combos[:cap]
        return [(o, apply_model_overrides(self.model, o)) for o in combos]


def grid_combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def apply_model_overrides(model: ModelConfig, overrides: dict[str, Any]) -> ModelConfig:
    raw = model.model_dump(mode="json")
    for key, value in overrides.items():
        set_dotted(raw, key.removeprefix("model."), value)
    return ModelConfig.model_validate(raw)


def set_dotted(raw: dict, dotted: str, value: Any) -> None:
    node = raw
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise UserError(f"--set {dotted}: '{part}' is not a section")
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``key.sub=value`` with the value parsed as YAML (numbers, booleans, lists, null)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set '{text}': expected key=value")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def _format_validation_error(path: Path | str, error: ValidationError, overrides=()) -> str:
    """One line naming where the problem is: the file, or the ``--set`` that put the bad value there."""
    first = error.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    for item in overrides:
        key = item.partition("=")[0].strip()
        if loc == key or loc.startswith(key + ".") or key.startswith(loc + "."):
            path = f"--set {item}"
    if first["type"] == "extra_forbidden":
        message = f"unknown key '{loc}'"
    elif first["type"] == "missing":
        message = f"missing key '{loc}'"
    else:
        message = f"key '{loc}': {first['msg'][:300]}"
    more = len(error.errors()) - 1
    return f"{path}: {message}" + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such experiment file") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        raw = load_yaml(text, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        if isinstance(exc, yaml.reader.ReaderError):  # a control character; its str() spans lines
            line = f":{text[: exc.position].count(chr(10)) + 1}"
            char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
            exc.problem = f"control character {char} at offset {exc.position} is not allowed"
        raise UserError(f"{path}{line}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected a mapping of experiment settings")
    source_sha = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]
    for item in overrides:
        key, value = parse_override(item)
        set_dotted(raw, key, value)
    try:
        config = ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise UserError(_format_validation_error(path, exc, overrides)) from None
    except UserError:
        raise
    return config.mark_source(source_sha)


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")
