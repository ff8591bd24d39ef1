"""Experiment configuration: YAML parsed into one strict, typed object.

Defaults live here and nowhere else. Unknown keys are errors (``extra="forbid"``), and command-line
overrides are dotted keys (``--set model.classifier.C=3``) applied to the raw YAML before
validation, so they go through exactly the same checks.
"""

from __future__ import annotations

import itertools
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from features.normalize import NormalizeSteps

from stancelab.errors import UserError
from stancelab.estimators import NONE_SCALE_GRID


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# The normalisation switches and their defaults come from features.normalize.NormalizeSteps.
NormalizeConfig = create_model(
    "NormalizeConfig", __base__=Strict,
    **{f.name: (bool, f.default) for f in dataclass_fields(NormalizeSteps)},
)


class TfidfConfig(Strict):
    ngram_range: tuple[int, int] = (1, 2)
    min_df: int = Field(1, ge=1)
    max_df: float = Field(1.0, gt=0, le=1)
    max_features: int | None = Field(None, ge=1)
    sublinear_tf: bool = True
    binary: bool = False

    @field_validator("ngram_range")
    @classmethod
    def _ordered(cls, value):
        low, high = value
        if not 1 <= low <= high:
            raise ValueError("ngram_range must be [low, high] with 1 <= low <= high")
        return value


class WordConfig(TfidfConfig):
    stem: bool = Field(False, description="light stemming of words (Snowball, by language; features/analysis.py)")
    stop_words: bool = Field(False, description="drop function words (negations and stance words are kept; "
                                                "features/analysis.py)")
    language: Literal["ar", "en", "ar+en"] | None = Field(
        None, description="language of stem/stop_words; default: the dataset's (ar+en: the stemmer by each word's script)")

    @model_validator(mode="after")
    def _language_for_analysis(self):
        if (self.stem or self.stop_words) and self.language is None:
            raise ValueError("stem/stop_words need a language: set model.word.language (ar, en, ar+en)")
        return self


class CharConfig(TfidfConfig):
    ngram_range: tuple[int, int] = (2, 5)
    analyzer: Literal["char_wb", "char"] = "char_wb"


ClassifierKind = Literal["logreg", "linear_svc", "sgd", "ridge", "complement_nb", "nbsvm", "voting", "stacking"]
ENSEMBLE_KINDS = ("voting", "stacking")


class ClassifierConfig(Strict):
    kind: ClassifierKind = "logreg"
    C: float = Field(1.0, gt=0, description="inverse regularisation (logreg, linear_svc, nbsvm; ridge uses alpha=1/C)")
    alpha: float = Field(1e-4, gt=0, description="regularisation (sgd) or smoothing (complement_nb)")
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: int = Field(2000, ge=10)
    members: tuple[ClassifierConfig, ...] = Field(
        (), description="voting/stacking: the member classifiers (soft voting on their probabilities)")

    @model_validator(mode="after")
    def _members_only_for_ensembles(self):
        if self.kind in ENSEMBLE_KINDS and len(self.members) < 2:
            raise ValueError(f"kind '{self.kind}' needs at least two members")
        if self.kind not in ENSEMBLE_KINDS and self.members:
            raise ValueError(f"members are only for kinds {', '.join(ENSEMBLE_KINDS)}")
        return self


# Classifiers that take per-row sample weights alone (augmented mode balances classes within targets
# that way; ensembles would mix them with their members' own class weights).
AUGMENTED_KINDS = ("logreg", "linear_svc", "sgd", "ridge", "complement_nb")


class ModelConfig(Strict):
    normalize: NormalizeConfig = NormalizeConfig()
    word: WordConfig | None = WordConfig()
    char: CharConfig | None = CharConfig()
    target_mode: Literal["per_target", "pooled", "interact", "augmented"] = Field(
        "per_target", description="stance: one model per target; one pooled model with the target one-hot; "
                                   "one pooled model whose text features are also copied per target (target x text); or "
                                   "augmented: interact with class_weight balanced within each target (stancelab/augmented.py)")
    shared_scale: float = Field(
        1.0, ge=0, description="interact/augmented: multiplies the shared copy of the features (its weight against "
                               "the per-target copies under the same penalty; 0 leaves only per-target weights)")
    use_actor: bool = Field(False, description="add the actor (speaker) as a one-hot feature")
    none_scale: float = Field(
        1.0, gt=0, description="stance: multiply p(none) by this before the argmax (threshold for 'none')")
    none_scale_per_target: bool = Field(
        False, description="stance: choose the none scale per target at fit time, from none_scale_grid, by that "
                           "target's F_avg on out-of-fold probabilities of an inner CV on the training rows "
                           "(none_scale then only serves targets without a choice)")
    none_scale_grid: tuple[float, ...] = Field(
        NONE_SCALE_GRID, min_length=1, description="the scales none_scale_per_target chooses from")
    classifier: ClassifierConfig = ClassifierConfig()
    sentiment_classifier: ClassifierConfig | None = Field(
        None, description="classifier for sentiment; defaults to the stance classifier")
    sentiment_word: WordConfig | None = Field(
        None, description="the sentiment model's word block, if it differs from model.word (e.g. stems and stop "
                          "words for sentiment only); unset: model.word")
    sentiment_features: bool = Field(
        False, description="joint: append the sentiment model's class probabilities to the stance features "
                           "(out-of-fold, from an inner 3-fold CV on the training rows; needs the sentiment task)")
    sentiment_features_scale: float = Field(
        1.0, gt=0, description="multiplies those probabilities (their weight against TF-IDF under the same penalty)")
    target_mention: bool = Field(
        False, description="stance: add a 0/1 feature 'the text names its target' (target id or an alias)")
    target_aliases: dict[str, list[str]] = Field(
        default_factory=dict, description="target id -> other names of it for target_mention (normalised like the text)")

    @model_validator(mode="after")
    def _some_text_features(self):
        if self.word is None and self.char is None:
            raise ValueError("at least one of model.word and model.char must be set")
        if self.target_mode == "augmented" and self.classifier.kind not in AUGMENTED_KINDS:
            raise ValueError(f"target_mode 'augmented' needs a classifier that takes sample weights "
                             f"({', '.join(AUGMENTED_KINDS)}), not '{self.classifier.kind}'")
        return self

    @field_validator("none_scale_grid")
    @classmethod
    def _positive_scales(cls, value):
        if any(not v > 0 for v in value):
            raise ValueError("none_scale_grid: every scale must be > 0")
        return tuple(sorted(set(value)))

    @field_validator("target_aliases")
    @classmethod
    def _non_empty_aliases(cls, value):
        for target, names in value.items():
            if not all(isinstance(n, str) and n.strip() for n in names):
                raise ValueError(f"target_aliases.{target}: aliases must be non-empty strings")
        return value


class DatasetConfig(Strict):
    name: str = Field(description="a registered dataset: idlib, mawqif, semeval2016")
    train_split: str = "train"
    test_split: str = "test"
    data_dir: Path | None = Field(None, description="folder of the public benchmark files (default: see README)")
    verify_checksums: bool = Field(True, description="refuse a benchmark file whose sha256 differs from the pinned one")


class CVConfig(Strict):
    folds: int = Field(5, ge=2, le=20)
    cache: bool = Field(True, description="cache fitted fold features by content across configurations")
    select_by: Literal["f_avg", "f_avg_target_mean", "stance_macro_f1", "sentiment_macro_f1"] = "f_avg_target_mean"
    select_sentiment_by: Literal["sentiment_macro_f1", "sentiment_accuracy"] | None = Field(
        None, description="choose the sentiment classifier by this CV metric first, then everything else by "
                          "select_by among the configurations that use that sentiment classifier")


class SearchConfig(Strict):
    kind: Literal["grid", "random"] = Field(
        "grid", description="grid: every combination of `grid`; random: n_trials draws from it")
    n_trials: int | None = Field(None, ge=1, description="cap on the number of configurations")
    seed: int = 0
    resume: bool = Field(True, description="reuse finished trials of an earlier run of the same sweep "
                                           "(same data, CV protocol, seed and model code)")


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

    @field_validator("tasks")
    @classmethod
    def _stance_first(cls, value):
        if "stance" not in value:
            raise ValueError("tasks must include stance")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="before")
    @classmethod
    def _word_language_from_dataset(cls, raw):
        """``model.word.language`` defaults to the registered dataset's language (a user CSV has none:
        stemming or stop words then need it set)."""
        from stancelab.datasets import DATASETS

        if not isinstance(raw, dict) or not isinstance(raw.get("dataset"), dict):
            return raw
        known = DATASETS.get(str(raw["dataset"].get("name")))
        model = raw.get("model", {})
        if known is None or not isinstance(model, dict):
            return raw

        def filled(word):
            return {**word, "language": known.lang} if isinstance(word, dict) and word.get("language") is None else word

        for key in ("word", "sentiment_word"):
            model = {**model, key: filled(model.get(key, {} if key == "word" else None))}
        grid = raw.get("grid")
        if isinstance(grid, dict):  # whole word blocks as grid values
            grid = {k: [filled(v) for v in values] if k in ("model.word", "model.sentiment_word")
                    and isinstance(values, list) else values for k, values in grid.items()}
            return {**raw, "model": model, "grid": grid}
        return {**raw, "model": model}

    @model_validator(mode="after")
    def _select_by_a_trained_task(self):
        if self.cv.select_by.startswith("sentiment") and "sentiment" not in self.tasks:
            raise ValueError(f"cv.select_by '{self.cv.select_by}' needs the sentiment task")
        if self.cv.select_sentiment_by is not None:
            if "sentiment" not in self.tasks:
                raise ValueError(f"cv.select_sentiment_by '{self.cv.select_sentiment_by}' needs the sentiment task")
            if self.cv.select_by.startswith("sentiment"):
                raise ValueError("cv.select_by must be a stance metric when cv.select_sentiment_by is set")
        if self.model.sentiment_features and "sentiment" not in self.tasks:
            raise ValueError("model.sentiment_features needs the sentiment task")
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
                _apply_model_overrides(self.model, overrides)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                problem = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
                raise ValueError(f"grid combination {overrides}: model.{where}: {problem}") from None
        return self

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
        return [(o, _apply_model_overrides(self.model, o)) for o in combos]


def grid_combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def _apply_model_overrides(model: ModelConfig, overrides: dict[str, Any]) -> ModelConfig:
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


def _format_validation_error(path: Path | str, error: ValidationError) -> str:
    first = error.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        message = f"unknown key '{loc}'"
    elif first["type"] == "missing":
        message = f"missing key '{loc}'"
    else:
        message = f"key '{loc}': {first['msg']}"
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
        raw = yaml.safe_load(text)
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
    for item in overrides:
        key, value = parse_override(item)
        set_dotted(raw, key, value)
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise UserError(_format_validation_error(path, exc)) from None
    except UserError:
        raise


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")
