"""Scale: streamed file scoring equals one batch; Dask (a real LocalCluster on 127.0.0.1) trains and
scores like the local path. Speed and memory goals are measured in benchmarks/, not here."""

from __future__ import annotations

import json

import pytest

QUOTES = [
    ("q1", "دعا لافروف إلى وقف فوري لإطلاق النار في إدلب", "deescalation_idlib", "Lavrov"),
    ("q2", "Asselborn said Turkey has no right to ask NATO for Article 5", "nato_support_turkey", ""),
    ("", "قال أسيلبورن إنه لا يحق لتركيا طلب تفعيل المادة الخامسة", "دعم الناتو لتركيا", "Asselborn"),
    ("q4", "Erdogan, \"we will not withdraw\"\nfrom Idlib", "deescalation_idlib", "Erdogan"),
    ("q5", "The ceasefire must hold", "Deescalation Idlib", ""),
]


@pytest.fixture(scope="module")
def model(trained):
    import predict

    return predict.load(trained["result"].model_uri, trained["uri"])


def _write_csv(path, quotes):
    import csv

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "target", "actor"])
        writer.writerows(quotes)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_streamed_scoring_equals_one_batch(model, tmp_path, suffix):
    import predict

    source = tmp_path / "quotes.csv"
    _write_csv(source, QUOTES * 3)
    out_small, out_large, out_batch = (tmp_path / f"{name}{suffix}" for name in ("small", "large", "batch"))
    assert predict.predict_file(model, source, out_small, chunk_size=2) == len(QUOTES) * 3
    predict.predict_file(model, source, out_large, chunk_size=10_000)
    records, lines = predict.read_records(source)  # the one-batch path
    results = model.predict_frame(model.frame(records, str(source), lines))
    predict.write_results(results, out_batch, model.tasks,
                          [{"id": r["id"]} if r["id"] else {} for r in records])
    assert out_small.read_bytes() == out_large.read_bytes() == out_batch.read_bytes()
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in out_small.read_text(encoding="utf-8").splitlines()]
        assert [r.get("id") for r in rows[:3]] == ["q1", "q2", None]
        assert rows[2]["target"] == "nato_support_turkey" and "evidence" in rows[0]


def test_streamed_error_in_a_later_chunk_names_the_line_and_leaves_no_output(trained, tmp_path, capsys):
    import predict

    source = tmp_path / "quotes.csv"
    _write_csv(source, QUOTES + [("bad", "fine text", "nowhere", "")])
    out = tmp_path / "out.jsonl"
    code = predict.main(["--input", str(source), "--output", str(out), "--chunk-size", "2",
                         "--model", trained["result"].model_uri, "--tracking-uri", trained["uri"]])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "quotes.csv:8: field 'target': unknown target 'nowhere'" in err  # q4 spans lines 5-6
    assert not out.exists() and not list(tmp_path.glob(".out.jsonl*"))


@pytest.fixture(scope="module")
def cluster():
    from dask import distributed  # in the test extra: a missing Dask is a failure, not a skip
    # one worker process (a thread worker shares the GIL with the test, and a busy CI can miss heartbeats)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, protocol="tcp://",
                                  host="127.0.0.1", scheduler_port=0, dashboard_address=None) as local:
        yield local


def test_dask_sweep_gives_the_same_cv_scores_and_runs_on_the_cluster(trained, cluster, tmp_path):
    from dask.distributed import Client, get_task_stream

    from stancelab.serving.distributed import train_on_dask

    with Client(cluster.scheduler_address) as client, get_task_stream(client) as stream:
        result = train_on_dask(trained["config"], cluster.scheduler_address, f"sqlite:///{tmp_path / 'm.db'}")
    assert len(stream.data) >= trained["config"].cv.folds * len(result.configurations)  # the folds ran there
    local = {c.name: c.cv_mean for c in trained["result"].configurations}
    assert {c.name: c.cv_mean for c in result.configurations} == local


def test_dask_batch_scoring_matches_predict(model, cluster, trained, tmp_path):
    import pandas as pd

    from stancelab.serving.distributed import predict_partitions

    source = tmp_path / "quotes.csv"
    _write_csv(source, QUOTES * 4)
    out = tmp_path / "scored"
    rows = predict_partitions(source, out, cluster.scheduler_address, trained["result"].model_uri, trained["uri"],
                              blocksize=400)
    assert rows == len(QUOTES) * 4
    assert len(list(out.glob("*.parquet"))) >= 2  # really split into partitions
    scored = pd.read_parquet(out)
    expected = model.predict([{"text": t, "target": g, "actor": a} for _, t, g, a in QUOTES * 4], evidence=False)
    assert scored["stance"].tolist() == [r["stance"] for r in expected]
    assert scored["sentiment"].tolist() == [r["sentiment"] for r in expected]
    assert scored["stance_proba_favor"].tolist() == [r["stance_proba"]["favor"] for r in expected]
