"""Fetch and check the public benchmarks: ``python -m stancelab.data.fetch fetch|check NAME``.

Files are verified against pinned sha256 checksums before they are put in place; ``check`` loads
every split and reports counts, duplicates and the train/test overlap.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from stancelab.data.datasets import CACHE_DIR, DATASETS, FOLDERS, data_dir, get_dataset, load, overlap
from stancelab.data.records import sha256_file
from stancelab.errors import UserError


def _write_verified(content_source: Callable[[Path], None], expected: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        content_source(tmp_path)
        actual = sha256_file(tmp_path)
        if actual != expected:
            raise UserError(f"{dest}: sha256 mismatch (expected {expected}, got {actual}); the file was not saved")
        os.replace(tmp_path, dest)
    finally:
        tmp_path.unlink(missing_ok=True)


def fetch(name: str, source_dir: Path | None = None, dest_root: Path | None = None) -> list[Path]:
    dataset = get_dataset(name)
    if not dataset.files:
        raise UserError(f"dataset '{name}' ships with the repository; nothing to fetch")
    folder = data_dir(dest_root) / FOLDERS[name]
    written = []
    for remote in dataset.files:
        dest = folder / remote.name
        if dest.is_file() and sha256_file(dest) == remote.sha256:
            written.append(dest)
            continue
        if source_dir is not None:
            candidates = [Path(source_dir) / n for n in (remote.name, *remote.aliases)]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise UserError(f"{source_dir}: none of {', '.join(c.name for c in candidates)} found")
            _write_verified(lambda tmp, src=found: shutil.copyfile(src, tmp), remote.sha256, dest)
        elif remote.url is None:
            raise UserError(f"{name}: cannot be downloaded automatically. {dataset.fetch_help}")
        else:
            def download(tmp, url=remote.url):
                try:
                    with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
                        shutil.copyfileobj(response, out)
                except OSError as exc:
                    raise UserError(f"{url}: download failed ({exc}); use --from DIR with a local copy") from None
            _write_verified(download, remote.sha256, dest)
        written.append(dest)
    return written


def check(name: str, root: Path | None = None) -> dict:
    """Load every split, validate it, and report duplicates and train/test overlap."""
    dataset = get_dataset(name)
    frames = {split: load(name, split, root, dataset.tasks) for split in dataset.splits}
    summary = {"dataset": name, "splits": {}}
    for split, frame in frames.items():
        report = frame.attrs["report"]
        task = dataset.tasks[0]  # stance per target; sentiment for a sentiment-only dataset (one "" target)
        summary["splits"][split] = {
            **report.as_dict(),
            f"{task}_by_target": pd.crosstab(frame["target"], frame[task]).to_dict(orient="index"),
        }
    if "train" in frames and "test" in frames:
        summary["train_test_overlap"] = overlap(frames["train"], frames["test"])
    return summary


def _print_check(summary: dict) -> None:
    """``check`` as two short tables: rows and duplicates per split, stance counts per target."""
    from stancelab.console import print_table

    splits = summary["splits"]
    key = next(k for k in next(iter(splits.values())) if k.endswith("_by_target"))
    print_table([{"split": split, "rows": info["rows"], "targets": len([t for t in info[key] if t]),
                  "exact duplicates": info["exact_duplicates"], "conflicting duplicates": info["conflicting_duplicates"],
                  "warnings": len(info["warnings"])} for split, info in splits.items()],
                title=f"{summary['dataset']}: splits")
    print_table([{"split": split, "target": target or "(none)", **counts}
                 for split, info in splits.items() for target, counts in info[key].items()],
                title=f"{key.split('_')[0]} labels per target")
    for split, info in splits.items():
        for warning in info["warnings"]:
            print(f"warning: {split}: {warning}")
    if "train_test_overlap" in summary:
        leak = summary["train_test_overlap"]
        print("train/test overlap: " + ", ".join(f"{k}={v}" for k, v in leak.items() if not isinstance(v, (list, dict))))
    print("full report: add --json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stancelab.data.datasets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="download (or copy with --from) a benchmark and verify its sha256")
    p_fetch.add_argument("name", choices=[n for n, d in DATASETS.items() if d.files])
    p_fetch.add_argument("--from", dest="source", type=Path, help="folder holding a local copy of the files")
    p_fetch.add_argument("--dest", type=Path, help="data folder (default: $STANCE_DATA_DIR or ~/.cache/stancelab/datasets)")
    p_check = sub.add_parser("check", help="validate a dataset: counts, duplicates, train/test overlap")
    p_check.add_argument("name", choices=list(DATASETS))
    p_check.add_argument("--data-dir", type=Path)
    p_check.add_argument("--json", action="store_true", help="print the full report as JSON instead of a table")
    sub.add_parser("list", help="list the registered datasets")
    args = parser.parse_args(argv)

    def body():
        if args.command == "fetch":
            # never ../shared: that copy is read-only
            dest = args.dest or (Path(os.environ["STANCE_DATA_DIR"]) if os.environ.get("STANCE_DATA_DIR") else CACHE_DIR)
            for path in fetch(args.name, args.source, dest):
                print(f"ok  {path}  sha256 verified")
        elif args.command == "check":
            import json
            summary = check(args.name, args.data_dir)
            if args.json:
                print(json.dumps(summary, ensure_ascii=False, indent=2))
            else:
                _print_check(summary)
        else:
            for name, dataset in DATASETS.items():
                print(f"{name:12s} {dataset.description}")

    from stancelab.console import run_cli

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
