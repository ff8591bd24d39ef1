"""Scale out on Dask distributed: sweeps through joblib's Dask backend, batch scoring as partitions.

    python train.py experiments/mawqif.yaml --dask tcp://scheduler:8786     # or --dask local
    python predict.py --input big.csv --output scored/ --dask tcp://scheduler:8786

Nothing here is a scheduler of its own: ``train`` is unchanged and runs its cross-validation
through ``joblib.Parallel``, which ``joblib.parallel_config(backend="dask")`` sends to the
cluster's workers. Workers need this project installed (``pip install -e ".[scale]"``) and, for
``predict``, a model URI they can all read (a shared tracking server, see the README).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stancelab.data.files import check_output_folder
from stancelab.errors import UserError


@contextmanager
def dask_client(address: str, n_workers: int | None = None, processes: bool = True) -> Iterator:
    """A Dask client on ``address``, or on a new local cluster (127.0.0.1) when ``address == "local"``."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UserError("Dask is not installed: pip install -e '.[scale]'") from None
    if address == "local":
        workers = n_workers or os.cpu_count() or 1
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, protocol="tcp://",
                          host="127.0.0.1", scheduler_port=0, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address, timeout="10s")
    except OSError as exc:
        raise UserError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
    with client:
        yield client


def train_on_dask(config, address: str, tracking_uri: str | None = None, progress=None):
    """``stancelab.training.train`` with its joblib work (the CV folds) run on a Dask cluster."""
    from joblib import parallel_config

    from stancelab.training.train import train

    with dask_client(address), parallel_config(backend="dask"):
        return train(config, tracking_uri, progress=progress)


def _score_partition(part, predictor):
    import pandas as pd

    frame = predictor.frame(part.to_dict("records"))
    labels = predictor.predict_proba(frame)
    out = {"text": frame["text"].to_numpy(), "target": frame["target"].to_numpy(), "actor": frame["actor"].to_numpy()}
    if "id" in part.columns:
        out = {"id": part["id"].astype(str).to_numpy(), **out}
    for task, proba, classes in zip(predictor.tasks, labels, predictor.heads.classes_):
        out[task] = [str(c) for c in classes[proba.argmax(axis=1)]]
        for j, label in enumerate(classes):
            out[f"{task}_proba_{label}"] = proba[:, j].round(4)
    return pd.DataFrame(out, index=part.index)


def predict_partitions(path: Path, output: Path, address: str, model_uri: str | None = None,
                       tracking_uri: str | None = None, allow_unsafe: bool = False,
                       blocksize: str | int = "32MB", n_workers: int | None = None, processes: bool = True) -> int:
    """Score a large .csv or .parquet file as Dask partitions into a folder of Parquet parts (labels
    and probabilities, no evidence). The folder appears complete or not at all."""
    import dask
    import dask.dataframe as dd

    from stancelab.serving.predictor import load

    path, output = Path(path), Path(output)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = dd.read_csv(path, dtype=str, keep_default_na=False, blocksize=blocksize, encoding="utf-8")
    elif suffix == ".parquet":
        frame = dd.read_parquet(path)
    else:
        raise UserError(f"{path}: unsupported input type '{suffix}' for --dask; use .csv or .parquet")
    missing = [c for c in ("text", "target") if c not in frame.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}")
    if output.exists():
        raise UserError(f"{output}: already exists; give a new folder for the Parquet parts")
    check_output_folder(output, inputs=[path])
    predictor = load(model_uri, tracking_uri, allow_unsafe=allow_unsafe)
    keep = [c for c in ("id", "text", "target", "actor") if c in frame.columns]
    meta = _score_partition(frame[keep].head(1, npartitions=1), predictor).iloc[:0]
    scored = frame[keep].map_partitions(_score_partition, dask.delayed(predictor), meta=meta)
    tmp = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}."))
    try:
        with dask_client(address, n_workers, processes):
            scored.to_parquet(tmp / "parts", write_index=False)
        os.replace(tmp / "parts", output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return int(dd.read_parquet(output).shape[0].compute())
