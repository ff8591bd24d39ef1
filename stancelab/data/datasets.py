"""Datasets: the embedded Idlib corpus and loaders for public benchmarks, mapped to one schema.

Schema (one row per labelled sentence and target)::

    id, text, actor, target, stance, sentiment, source, lang, split

``actor`` is the speaker ("" where a dataset has none); labels are the lower-case constants of
:mod:`stancelab.labels`. Public benchmark files are never part of the repository: they are read
from a data folder (see :func:`data_dir`) and can be fetched with pinned checksums::

    python -m stancelab.data.fetch fetch mawqif            # downloads, verifies sha256
    python -m stancelab.data.fetch fetch semeval2016 --from ~/Downloads/StanceDataset
    python -m stancelab.data.fetch check mawqif            # counts, duplicates, train/test overlap
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from features.normalize import normalize_text
from stancelab.data.records import MAX_TEXT_CHARS, read_csv_records, sha256_file
from stancelab.errors import UserError, located
from stancelab.labels import LABELS

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path.home() / ".cache" / "stancelab" / "datasets"
EMBEDDED_CORPUS = REPO_ROOT / "data" / "corpus.csv"
SCHEMA = ("id", "text", "actor", "target", "stance", "sentiment", "source", "lang", "split")
# Kept when a loader provides them: the text as the file holds it (for the byte-identical overlap count),
# and a grouping that evaluation breaks scores down by, as it does per target and per actor.
EXTRA_COLUMNS = ("raw_text", "dialect")
BREAKDOWNS = ("target", "actor", "dialect")


@dataclass
class DataReport:
    """What validation found; warnings do not stop training but are printed and logged."""

    rows: int = 0
    exact_duplicates: int = 0
    conflicting_duplicates: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"rows": self.rows, "exact_duplicates": self.exact_duplicates,
                "conflicting_duplicates": self.conflicting_duplicates, "warnings": list(self.warnings)}


def text_key(text: str) -> str:
    """Key under which two texts count as the same sentence (normalised, whitespace-folded)."""
    return normalize_text(text)


def validate(frame: pd.DataFrame, path: Path | str, tasks=("stance", "sentiment")) -> DataReport:
    """Raise a located UserError on unknown labels or empty texts; report duplicates."""
    lines = frame["_line"] if "_line" in frame else pd.Series(range(2, len(frame) + 2), index=frame.index)
    for row_index, value in frame["text"].items():
        if not str(value).strip():
            raise located(path, "empty text", line=int(lines[row_index]), field="text")
        if len(str(value)) > MAX_TEXT_CHARS:
            raise located(path, f"{len(str(value)):,} characters (at most {MAX_TEXT_CHARS:,})",
                          line=int(lines[row_index]), field="text")
    if "stance" in tasks:  # a sentiment-only dataset has no targets
        for row_index, value in frame["target"].items():
            if not str(value).strip():
                raise located(path, "empty target", line=int(lines[row_index]), field="target")
    for task in tasks:
        allowed = LABELS[task]
        bad = ~frame[task].isin(allowed)
        if bad.any():
            row_index = frame.index[bad.to_numpy()][0]
            raise located(path, f"unknown label {frame.at[row_index, task]!r}; expected one of {', '.join(allowed)}",
                          line=int(lines[row_index]), field=task)
    report = DataReport(rows=len(frame))
    keys = frame["text"].map(text_key) + "\x1f" + frame["target"]
    label_cols = [t for t in tasks if t in frame]
    dup_mask = keys.duplicated(keep="first")
    report.exact_duplicates = int(dup_mask.sum())
    if report.exact_duplicates:
        conflicting = frame.assign(_key=keys).groupby("_key")[label_cols].nunique().gt(1).any(axis=1)
        report.conflicting_duplicates = int(conflicting.sum())
        report.warnings.append(
            f"{path}: {report.exact_duplicates} duplicate text(s) for the same target"
            + (f", {report.conflicting_duplicates} of them with conflicting labels" if report.conflicting_duplicates else "")
            + " (normalised text; cross-validation keeps them in one fold)")
    return report


def overlap(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, int]:
    """Texts shared between two splits: ``exact`` compares the raw texts as the files hold them
    (byte-identical, before the loader strips anything), ``normalised`` the normalised texts (what the
    model sees), and ``test_rows_affected`` counts the test rows whose normalised text is in train."""
    exact = set(_raw(train)) & set(_raw(test))
    test_keys = test["text"].map(text_key)
    normalised = set(train["text"].map(text_key)) & set(test_keys)
    return {"exact": len(exact), "normalised": len(normalised),
            "test_rows_affected": int(test_keys.isin(normalised).sum())}


def _raw(frame: pd.DataFrame) -> pd.Series:
    return frame["raw_text"] if "raw_text" in frame else frame["text"]


# --------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class RemoteFile:
    name: str          # file name in the dataset's folder
    sha256: str
    url: str | None    # None: cannot be downloaded automatically
    aliases: tuple[str, ...] = ()  # names the file has in official archives (for --from)


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    lang: str
    targets: dict[str, tuple[str, ...]]  # id -> display names
    splits: tuple[str, ...]
    loader: Callable[["Dataset", str, Path | None], pd.DataFrame]
    files: tuple[RemoteFile, ...] = ()
    fetch_help: str = ""
    tasks: tuple[str, ...] = ("stance", "sentiment")


def data_dir(explicit: Path | str | None = None) -> Path:
    """Where public benchmark folders live: explicit > $STANCE_DATA_DIR > ../shared/datasets (next to
    the repository, when present) > ~/.cache/stancelab/datasets."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("STANCE_DATA_DIR"):
        return Path(os.environ["STANCE_DATA_DIR"]).expanduser()
    shared = REPO_ROOT.parent / "shared" / "datasets"
    if shared.is_dir():
        return shared
    return CACHE_DIR


def dataset_folder(dataset: Dataset, root: Path | str | None) -> Path:
    return data_dir(root) / FOLDERS[dataset.name]


def _require(path: Path, dataset: Dataset) -> Path:
    if not path.is_file():
        raise UserError(f"{path}: not found. {dataset.fetch_help}")
    return path


def _to_schema(frame: pd.DataFrame, path: Path, tasks) -> pd.DataFrame:
    """Columns in schema order (missing ones empty), validated, with its report and source file."""
    frame = frame.copy()
    for column in SCHEMA:
        if column not in frame:
            frame[column] = ""
    extra = [c for c in EXTRA_COLUMNS if c in frame]
    frame = frame[[*SCHEMA, "_line", *extra]].reset_index(drop=True)
    frame.attrs["report"] = validate(frame, path, tasks)
    frame.attrs["paths"] = [str(path)]
    return frame


def _finish(frame: pd.DataFrame, path: Path, dataset: Dataset, split: str) -> pd.DataFrame:
    frame["split"] = split
    frame["lang"] = dataset.lang
    return _to_schema(frame, path, dataset.tasks)


def _load_idlib(dataset: Dataset, split: str, root: Path | None) -> pd.DataFrame:
    return load_schema_csv(EMBEDDED_CORPUS, split=split, tasks=dataset.tasks)


def load_schema_csv(path: Path | str, split: str | None = None, tasks=("stance", "sentiment")) -> pd.DataFrame:
    """Load a CSV already in the project schema (the embedded corpus, filled annotation templates)."""
    path = Path(path)
    required = ("id", "text", *(("target",) if "stance" in tasks else ()), *tasks)
    frame = read_csv_records(path, required, optional=tuple(c for c in SCHEMA if c not in required))
    if split is not None and "split" in frame:
        known = sorted(set(frame["split"]))
        frame = frame[frame["split"] == split]
        if frame.empty:
            raise UserError(f"{path}: no rows with split '{split}'; splits in the file: {', '.join(known)}")
    for column in ("text", "target", "actor", *tasks):
        if column in frame:
            frame[column] = frame[column].astype(object).map(str.strip)
    for task in ("stance", "sentiment"):
        if task in frame:
            frame[task] = frame[task].str.lower()
    frame["source"] = frame["source"] if "source" in frame else path.name
    dupe_ids = frame["id"][frame["id"].duplicated()]
    if len(dupe_ids):
        row = dupe_ids.index[0]
        raise located(path, f"duplicate id {frame.at[row, 'id']!r}", line=int(frame.at[row, "_line"]), field="id")
    has_split = "split" in frame
    if not has_split:
        frame["split"] = split or ""
    out = _to_schema(frame, path, tasks)
    if split is not None and not has_split:
        out.attrs["report"].warnings.append(
            f"{path}: no 'split' column, so all {len(out)} rows are used as split '{split}'; "
            "keep train and test in separate files or add a split column")
    return out


_MAWQIF_TARGETS = {"Covid Vaccine": "covid_vaccine", "Digital Transformation": "digital_transformation",
                   "Women empowerment": "women_empowerment"}


def _load_mawqif(dataset: Dataset, split: str, root: Path | None) -> pd.DataFrame:
    path = _require(dataset_folder(dataset, root) / f"{split}.csv", dataset)
    # csv-module parsing keeps the stance "None" a string (pandas would turn it into NaN).
    raw = read_csv_records(path, ("ID", "text", "target", "stance", "sentiment"), encoding="utf-8-sig")
    unknown = sorted(set(raw["target"]) - set(_MAWQIF_TARGETS))
    if unknown:
        row = raw.index[raw["target"].isin(unknown)][0]
        raise located(path, f"unknown target {unknown[0]!r}", line=int(raw.at[row, "_line"]), field="target")
    frame = pd.DataFrame({
        "id": "mawqif-" + raw["ID"].str.strip(),
        "text": raw["text"].str.strip(),
        "raw_text": raw["text"],
        "actor": "",
        "target": raw["target"].map(_MAWQIF_TARGETS),
        "stance": raw["stance"].str.strip().str.lower(),
        "sentiment": raw["sentiment"].str.strip().str.lower(),
        "source": f"mawqif/{split}.csv",
        "_line": raw["_line"],
    })
    return _finish(frame, path, dataset, split)


_SEMEVAL_SENTIMENT = {"pos": "positive", "neg": "negative", "other": "neutral"}
_SEMEVAL_TARGETS = {"Atheism": "atheism", "Climate Change is a Real Concern": "climate_change",
                    "Feminist Movement": "feminist_movement", "Hillary Clinton": "hillary_clinton",
                    "Legalization of Abortion": "legalization_of_abortion", "Donald Trump": "donald_trump"}


def _load_semeval(dataset: Dataset, split: str, root: Path | None) -> pd.DataFrame:
    path = _require(dataset_folder(dataset, root) / f"{split}.csv", dataset)
    # latin-1: train.csv holds two rows of mojibake bytes that are not valid UTF-8 or cp1252.
    raw = read_csv_records(path, ("Tweet", "Target", "Stance", "Sentiment"), encoding="latin-1")
    if split == "test":  # subtask A; the Donald Trump rows are subtask B (no training data)
        raw = raw[raw["Target"] != "Donald Trump"]
    unknown = sorted(set(raw["Target"]) - set(_SEMEVAL_TARGETS))
    if unknown:
        row = raw.index[raw["Target"].isin(unknown)][0]
        raise located(path, f"unknown target {unknown[0]!r}", line=int(raw.at[row, "_line"]), field="Target")
    # " #SemST" ends every row but the 100 trial rows: strip it, or it identifies the split.
    text = raw["Tweet"].str.replace(r"\s*#SemST\s*$", "", regex=True).str.strip()
    frame = pd.DataFrame({
        "id": [f"semeval-{split}-{n}" for n in raw["_line"]],
        "text": text,
        "raw_text": raw["Tweet"],
        "actor": "",
        "target": raw["Target"].map(_SEMEVAL_TARGETS),
        "stance": raw["Stance"].str.strip().str.lower(),
        "sentiment": raw["Sentiment"].str.strip().map(lambda s: _SEMEVAL_SENTIMENT.get(s, s)),
        "source": f"semeval2016_task6/{split}.csv",
        "_line": raw["_line"],
    })
    return _finish(frame, path, dataset, split)


_ARSARCASM_SENTIMENT = {"POS": "positive", "NEG": "negative", "NEU": "neutral"}


def _load_arsarcasm(dataset: Dataset, split: str, root: Path | None) -> pd.DataFrame:
    """ArSarcasm-v2 as a sentiment-only dataset: no target, stance or actor; ``dialect`` kept for the
    per-dialect breakdown. Most tweets are written as ``\"\"\"…\"\"\"``, so after CSV parsing their
    text starts and ends with a stray ``"``: stripped here, and by the model's normaliser too."""
    path = _require(dataset_folder(dataset, root) / f"{split}.csv", dataset)
    raw = read_csv_records(path, ("tweet", "sarcasm", "sentiment", "dialect"))
    labels = raw["sentiment"].str.strip()
    bad = ~labels.isin(list(_ARSARCASM_SENTIMENT))
    if bad.any():
        row = raw.index[bad.to_numpy()][0]
        raise located(path, f"unknown label {labels[row]!r}; expected one of POS, NEG, NEU",
                      line=int(raw.at[row, "_line"]), field="sentiment")
    frame = pd.DataFrame({
        "id": [f"arsarcasm-{split}-{n}" for n in raw["_line"]],
        "text": raw["tweet"].str.strip().str.strip('"').str.strip(),
        "raw_text": raw["tweet"],
        "sentiment": labels.map(_ARSARCASM_SENTIMENT),
        "dialect": raw["dialect"].str.strip(),
        "source": f"arsarcasm_v2/{split}.csv",
        "_line": raw["_line"],
    })
    return _finish(frame, path, dataset, split)


def _pinned_files(base_url: str, train: tuple[str, str], test: tuple[str, str]) -> tuple[RemoteFile, ...]:
    """``train.csv`` and ``test.csv`` of a dataset that can be downloaded: each ``(name in the source
    repository, sha256)``, fetched from ``base_url`` + that name (which ``--from`` also accepts)."""
    return tuple(RemoteFile(f"{split}.csv", sha256, base_url + source, (source,))
                 for split, (source, sha256) in (("train", train), ("test", test)))


def _fetch_help(name: str, folder: str) -> str:
    return (f"Fetch it with `python -m stancelab.data.fetch fetch {name}` (or --from DIR for a local copy), "
            f"or point STANCE_DATA_DIR at a folder holding {folder}/train.csv and {folder}/test.csv.")


_MAWQIF_COMMIT = "1310ffe31762dae33ccb33c6446875ded1c02391"
_MAWQIF_RAW = f"https://raw.githubusercontent.com/NoraAlt/Mawqif-Arabic-Stance/{_MAWQIF_COMMIT}/Data/"

_ARSARCASM_COMMIT = "eb85513e133cfc67e30aca4968fadbe2594fcb42"
_ARSARCASM_RAW = f"https://raw.githubusercontent.com/iabufarha/ArSarcasm-v2/{_ARSARCASM_COMMIT}/ArSarcasm-v2/"

DATASETS: dict[str, Dataset] = {
    "idlib": Dataset(
        name="idlib",
        description="embedded corpus: the seed article on Idlib + sentences written and labelled by us (data/)",
        lang="ar+en",
        targets={
            "turkish_operation_idlib": ("Turkish operation in Idlib", "العملية العسكرية التركية في إدلب"),
            "nato_support_turkey": ("NATO support for Turkey", "دعم الناتو لتركيا"),
            "deescalation_idlib": ("De-escalation in Idlib", "التهدئة في إدلب"),
        },
        splits=("train", "test"),
        loader=_load_idlib,
    ),
    "mawqif": Dataset(
        name="mawqif",
        description="Mawqif (Alturayeif et al., WANLP 2022): Arabic tweets, stance + sentiment, 3 targets",
        lang="ar",
        targets={v: (k,) for k, v in _MAWQIF_TARGETS.items()},
        splits=("train", "test"),
        loader=_load_mawqif,
        files=_pinned_files(
            _MAWQIF_RAW,
            ("Mawqif_AllTargets_Train.csv", "70715ac6b58b737ab0eb3a377e898765eda7607521388ce7a3c8f0d4c602c179"),
            ("Mawqif_AllTargets_Test.csv", "4c984b462efc1490e46dade0db0173341c53d8e8961085e27f8c7a7c1ae92621")),
        fetch_help=_fetch_help("mawqif", "mawqif"),
    ),
    "semeval2016": Dataset(
        name="semeval2016",
        description="SemEval-2016 Task 6 (Mohammad et al.): English tweets, stance + sentiment; test = subtask A",
        lang="en",
        targets={v: (k,) for k, v in _SEMEVAL_TARGETS.items() if v != "donald_trump"},
        splits=("train", "test"),
        loader=_load_semeval,
        files=(
            RemoteFile("train.csv", "f2c14b3cd8df4787efa37bafacc79d37017b6ad95e60acab41dd5fb2ccfbdc6e", None),
            RemoteFile("test.csv", "613fb5a49da6a66adf94298865cba78b9e4c96b03dc1dded125950e64a884dae", None),
        ),
        fetch_help="Its licence forbids redistribution: download stancedataset.zip from "
                   "http://www.saifmohammad.com/WebPages/StanceDataset.htm, unzip it, then run "
                   "`python -m stancelab.data.fetch fetch semeval2016 --from <unzipped folder>` "
                   "(or set STANCE_DATA_DIR to a folder holding semeval2016_task6/train.csv and test.csv).",
    ),
    "arsarcasm": Dataset(
        name="arsarcasm",
        description="ArSarcasm-v2 (Abu Farha et al., WANLP 2021): Arabic tweets, sentiment only (subtask 2), "
                    "5 dialects",
        lang="ar",
        targets={},
        splits=("train", "test"),
        loader=_load_arsarcasm,
        files=_pinned_files(
            _ARSARCASM_RAW,
            ("training_data.csv", "1da727eb763459f436c4e61f52c6a0bc63d5300af8fcc99b5675ae4616dae04a"),
            ("testing_data.csv", "0f0a77ba8a4a0a9370846a42a93a63244092f1fb30a909595b70e17e299bcf6c")),
        fetch_help=_fetch_help("arsarcasm", "arsarcasm_v2"),
        tasks=("sentiment",),
    ),
}
FOLDERS = {"idlib": "", "mawqif": "mawqif", "semeval2016": "semeval2016_task6", "arsarcasm": "arsarcasm_v2"}


def get_dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise UserError(f"unknown dataset '{name}'; known datasets: {', '.join(DATASETS)} "
                        "(or a path to a CSV in the project schema)") from None


def load(name: str, split: str, root: Path | str | None = None, tasks=("stance", "sentiment"),
         verify: bool = True) -> pd.DataFrame:
    """Load one split of a registered dataset, or of a schema CSV given by path.

    A registered benchmark file must still have the sha256 it was pinned with: a changed file is
    an error (``verify=False``: a warning, and ``frame.attrs["checksum"] == "modified"``)."""
    if name.endswith(".csv"):
        frame = load_schema_csv(Path(name), split=split, tasks=tasks)
        frame.attrs["checksum"] = "not pinned"
        return frame
    dataset = get_dataset(name)
    missing = [t for t in tasks if t not in dataset.tasks]
    if missing:
        raise UserError(f"dataset '{name}' has no {' or '.join(missing)} labels; its tasks: "
                        f"{', '.join(dataset.tasks)} (set `tasks: [{', '.join(dataset.tasks)}]` in the experiment)")
    if split not in dataset.splits:
        raise UserError(f"dataset '{name}' has no split '{split}'; splits: {', '.join(dataset.splits)}")
    status, problem = verify_checksum(dataset, split, Path(root) if root else None)
    if problem and verify:
        raise UserError(problem + "; restore it with `python -m stancelab.data.fetch fetch " + name
                        + "` (--from DIR for a local copy), or set dataset.verify_checksums: false in the experiment "
                        "to use this copy anyway (the run is then tagged data_checksum=modified)")
    frame = dataset.loader(dataset, split, Path(root) if root else None)
    frame.attrs["checksum"] = status
    if problem:
        frame.attrs["report"].warnings.append(problem + " (dataset.verify_checksums is false: used anyway)")
    return frame


def verify_checksum(dataset: Dataset, split: str, root: Path | None) -> tuple[str, str | None]:
    """("verified" | "modified" | "not pinned", the mismatch message or None) for one split's file."""
    pinned = {f.name: f.sha256 for f in dataset.files}.get(f"{split}.csv")
    path = dataset_folder(dataset, root) / f"{split}.csv"
    if pinned is None or not path.is_file():  # embedded data, or missing (the loader explains how to fetch)
        return "not pinned", None
    actual = sha256_file(path)
    if actual == pinned:
        return "verified", None
    return "modified", (f"{path}: sha256 {actual} differs from the {pinned} pinned for {dataset.name}:{split}; "
                        "the file changed after it was fetched (edited, re-exported or corrupted), so its scores "
                        "are not comparable with published ones")


def label(name: str) -> str:
    """Short name of a dataset for run names and tags: a registered name, or a CSV's file stem."""
    return Path(name).stem if name.endswith(".csv") else name


def target_names(name: str, frame: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Target id -> the names it may be given by (its id, its names in the dataset)."""
    if name in DATASETS:
        return {t: [t, *names] for t, names in DATASETS[name].targets.items()}
    return {t: [t] for t in sorted(set(frame["target"]))} if frame is not None else {}


def digest(frame: pd.DataFrame) -> str:
    """sha256 of the files a frame was read from (in order), for lineage and integrity checks."""
    h = hashlib.sha256()
    for path in frame.attrs.get("paths", []):
        h.update(sha256_file(Path(path)).encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- fetch / check CLI

