"""Hostile input: the defects of a 171-case attack on the CLIs, each as a case that failed before and
holds now, plus more in the same spirit. The contract on every case: one ``error:`` line, exit status
2 (130 / 143 for a signal), no traceback, nothing partial, nothing lost. The CLIs run in-process
(``tests/test_bad_input.py``'s runner checks that the folder is unchanged), a few as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import stat
import time

import pytest

from conftest import REPO, run_cli
from test_bad_input import MAIN, TARGET, _assert_one_line_error, _listing, _run_in_process

GOOD_CSV = f"text,target\nhi there,{TARGET}\n"
HOSTILE = {  # name -> bytes
    "q.csv": GOOD_CSV.encode(),
    "header_only.csv": b"text,target\n",
    "wide.csv": (",".join(f"c{i}" for i in range(100_000)) + "\n").encode(),
    "long_line.jsonl": b'{"text": "' + b"a" * (9 << 20) + b'", "target": "x"}\n',
    "surrogate.jsonl": f'{{"text": "ok \\ud800", "target": "{TARGET}"}}\n'.encode(),
    "nul.jsonl": f'{{"text": "ok\\u0000", "target": "{TARGET}"}}\n'.encode(),
    "deep.jsonl": b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "big_int.jsonl": b'{"text": "ok", "target": ' + b"9" * 5000 + b"}\n",
    "cr_only.csv": f"text,target\rone,{TARGET}\rtwo,{TARGET}\r".encode(),
    "formula.csv": f'text,target,actor\n"=HYPERLINK(""http://x"")",{TARGET},@evil\n-2+3,{TARGET},\n'.encode(),
    "late_bad.jsonl": "".join(f'{{"text": "quote {i}", "target": "{TARGET}"}}\n' for i in range(30)).encode()
    + b'{"text": "", "target": "x"}\n',
    "art.csv": "قال المتحدث باسم الكرملين دميتري بيسكوف إن الوضع في إدلب خطير.\n".encode(),
    "article.txt": "قال المتحدث باسم الكرملين دميتري بيسكوف إن الوضع في إدلب خطير.\n".encode(),
    "bomb.yaml": ("experiment: e\nmodel_name: m\ndataset: {name: idlib}\n"
                  "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                  "grid: {model.classifier.C: [*d, *d, *d, *d, *d, *d, *d, *d, *d]}\n").encode(),
    "one_class.csv": ("id,text,target,stance,sentiment\n" + "".join(
        f"{i},text {i},t,favor,positive\n" for i in range(12))).encode(),
    "three_rows.csv": b"id,text,target,stance,sentiment\n1,a b,t,favor,positive\n2,c d,t,against,negative\n"
                      b"3,e f,t,none,neutral\n",
}
HOSTILE["exp_one_class.yaml"] = b"experiment: e\nmodel_name: m\ndataset: {name: one_class.csv}\ntasks: [stance]\n"
HOSTILE["exp_three_rows.yaml"] = b"experiment: e\nmodel_name: m\ndataset: {name: three_rows.csv}\ntasks: [stance]\n"
HOSTILE["exp_inf.yaml"] = b"experiment: e\nmodel_name: m\ndataset: {name: idlib}\nmodel: {classifier: {C: .inf}}\n"


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    for name, content in HOSTILE.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "bad_model").mkdir()
    (tmp_path / "bad_model" / "MLmodel").write_text("flavors: [unclosed\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


NO_MODEL = [
    # 1. data loss: the output is the input
    ("predict.py", ["--input", "q.csv", "--output", "q.csv"], "q.csv: is the input"),
    # 3. article outputs all or nothing: a later output's folder is missing, nothing is written
    ("predict.py", ["--article", "article.txt", "--template", "t.csv", "--output", "a.jsonl",
                    "--report", "missing/r.json"], "missing/r.json: folder missing does not exist"),
    ("predict.py", ["--article", "article.txt", "--output", "a.jsonl", "--chart", "nowhere/c.png"],
     "nowhere/c.png: folder nowhere does not exist"),
    ("predict.py", ["--article", "art.csv", "--template", "art.csv"], "art.csv: is the input"),
    # 4. a 100,000-column header, in linear time
    ("predict.py", ["--input", "wide.csv"], "wide.csv:1: 100000 columns (at most 1000)"),
    # 5. a YAML alias bomb: refused before it expands, with a short message
    ("train.py", ["bomb.yaml"], "bomb.yaml: YAML that expands to more than 10,000 values"),
    # 6. a line past the limit
    ("predict.py", ["--input", "long_line.jsonl"], "long_line.jsonl:1: a line longer than 8 MiB"),
    # 7. an output nobody can write, found before any work
    ("predict.py", ["--input", "q.csv", "--output", "/sys/out.jsonl"], "/sys/out.jsonl: folder /sys is not writable"),
    ("evaluate.py", ["--model", "models:/m/1", "--data", "idlib:test", "--json", "/sys/r.json"],
     "/sys/r.json: folder /sys is not writable"),
    # 8. JSON that used to crash the parser
    ("predict.py", ["--input", "deep.jsonl"], "deep.jsonl:1: JSON nested 100000 levels deep"),
    ("predict.py", ["--input", "big_int.jsonl"], "big_int.jsonl:1: invalid JSON (Exceeds the limit"),
    # 12. a header and nothing else is as empty as an empty JSON-lines file
    ("predict.py", ["--input", "header_only.csv"], "header_only.csv: no records"),
    # 15. degenerate training: refused, naming the file
    ("train.py", ["exp_one_class.yaml"], "one_class.csv: target 't' has one stance label only (favor)"),
    ("train.py", ["exp_three_rows.yaml"], "three_rows.csv: only 3 distinct texts for 5-fold cross-validation"),
    ("train.py", ["exp_inf.yaml"], "exp_inf.yaml: key 'model.classifier.C'"),
    # 11. --set is named, not the file it overrides
    ("train.py", [REPO / "experiments/default.yaml", "--set", "model.classifier.C=-1"],
     "--set model.classifier.C=-1: key 'model.classifier.C'"),
    # 9 / 10. model URIs that are not models, a server that does not answer
    ("predict.py", ["x", "--target", TARGET, "--model", "bad_model"], "bad_model/MLmodel: not a valid MLmodel file"),
]


@pytest.mark.parametrize("cli, args, expected", NO_MODEL, ids=[f"{c}:{e[:40]}" for c, a, e in NO_MODEL])
def test_hostile_input_before_any_model(hostile, capsys, cli, args, expected):
    uri = f"sqlite:///{hostile / 'never' / 'mlflow.db'}"
    start = time.perf_counter()
    code, stderr = _run_in_process(cli, args, uri, capsys, hostile)
    _assert_one_line_error(code, stderr, expected)
    assert len(stderr) < 2000, "an error line that quotes expanded input"
    assert time.perf_counter() - start < 60


def test_a_dead_tracking_server_is_one_quick_error(hostile, capsys):
    start = time.perf_counter()
    code = MAIN["predict.py"](["x", "--target", TARGET, "--tracking-uri", "http://127.0.0.1:9"])
    _assert_one_line_error(code, capsys.readouterr().err, "http://127.0.0.1:9: the tracking server does not answer")
    assert time.perf_counter() - start < 30


WITH_MODEL = [
    ("predict.py", ["--input", "surrogate.jsonl"], "surrogate.jsonl:1: field 'text': not valid Unicode text"),
    ("predict.py", ["--input", "nul.jsonl"], "nul.jsonl:1: field 'text': contains a NUL character"),
    ("predict.py", ["quote \udcff", "--target", TARGET], "record 1: field 'text': not valid Unicode text"),
    ("predict.py", ["x", "--target", TARGET, "--model", "http://127.0.0.1:9/x"], "http://127.0.0.1:9/x: not a model URI"),
]


@pytest.mark.parametrize("cli, args, expected", WITH_MODEL, ids=[f"{c}:{e[:40]}" for c, a, e in WITH_MODEL])
def test_hostile_input_with_a_model(trained, hostile, capsys, cli, args, expected):
    code, stderr = _run_in_process(cli, args, trained["uri"], capsys, hostile)
    _assert_one_line_error(code, stderr, expected)


def test_late_bad_row_prints_nothing_on_stdout(trained, hostile, capsys):
    code = MAIN["predict.py"](["--input", "late_bad.jsonl", "--tracking-uri", trained["uri"]])
    captured = capsys.readouterr()
    _assert_one_line_error(code, captured.err, "late_bad.jsonl:31: field 'text': empty text")
    assert captured.out == ""


def test_cr_only_csv_formulas_escaped_and_the_users_file_mode(trained, hostile, capsys):
    old = os.umask(0o022)
    try:
        assert MAIN["predict.py"](["--input", "cr_only.csv", "--output", "cr.jsonl", "--tracking-uri", trained["uri"]]) == 0
        assert MAIN["predict.py"](["--input", "formula.csv", "--output", "f.csv", "--tracking-uri", trained["uri"]]) == 0
    finally:
        os.umask(old)
    assert [json.loads(line)["text"] for line in (hostile / "cr.jsonl").read_text("utf-8").splitlines()] == ["one", "two"]
    import csv

    rows = list(csv.DictReader((hostile / "f.csv").open(encoding="utf-8")))
    assert rows[0]["text"] == "'=HYPERLINK(\"http://x\")" and rows[0]["actor"] == "'@evil"
    assert rows[1]["text"] == "'-2+3"
    for name in ("cr.jsonl", "f.csv"):
        assert stat.S_IMODE((hostile / name).stat().st_mode) == 0o644


def test_sigterm_removes_the_temporary_output_and_exits_143(tmp_path, capsys):
    """The handler of every CLI (stancelab.console.run_cli): a SIGTERM mid-write unwinds through
    atomic_output's finally, so no .tmp stays, and the exit status says what happened."""
    from stancelab.console import run_cli as run
    from stancelab.data.files import atomic_output

    def body():
        with atomic_output(tmp_path / "out.jsonl") as handle:
            handle.write("partial\n")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)

    assert run(body) == 143
    assert capsys.readouterr().err.strip() == "error: terminated"
    assert list(tmp_path.iterdir()) == []


def test_sigterm_marks_the_open_mlflow_runs_killed(tmp_path, capsys):
    import mlflow
    from mlflow.tracking import MlflowClient

    from stancelab import tracking
    from stancelab.console import run_cli as run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking.setup(uri)
    tracking.ensure_experiment("interrupted")
    ids = []

    def body():
        with mlflow.start_run(run_name="sweep") as parent, mlflow.start_run(run_name="fold", nested=True) as child:
            ids.extend([parent.info.run_id, child.info.run_id])
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)

    assert run(body) == 143
    assert [MlflowClient(uri).get_run(i).info.status for i in ids] == ["KILLED", "KILLED"]


def test_sigterm_to_a_real_predict_leaves_no_temporary_file(trained, tmp_path):
    """As `kill` does it to a user's long run: the process ends with 143 and leaves the folder as it was."""
    import subprocess
    import sys

    rows = "".join(f'{{"text": "quote number {i} about the ceasefire", "target": "{TARGET}"}}\n' for i in range(60_000))
    (tmp_path / "big.jsonl").write_text(rows, encoding="utf-8")
    before = _listing(tmp_path)
    proc = subprocess.Popen([sys.executable, str(REPO / "predict.py"), "--input", "big.jsonl", "--output",
                             "out.jsonl", "--chunk-size", "500", "--tracking-uri", trained["uri"]],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".out.jsonl.") for p in tmp_path.iterdir()):  # it is writing
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143 and stderr.strip().splitlines()[-1] == "error: terminated"
    assert _listing(tmp_path) == before


def test_dask_output_must_not_be_the_input(hostile, capsys):
    code = MAIN["predict.py"](["--input", "q.csv", "--output", "q.csv", "--dask", "local",
                               "--tracking-uri", f"sqlite:///{hostile / 'never' / 'mlflow.db'}"])
    _assert_one_line_error(code, capsys.readouterr().err, "q.csv")
    assert (hostile / "q.csv").read_bytes() == HOSTILE["q.csv"]


def test_limits_are_stated_in_the_readme():
    from stancelab.data import records

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for value in (f"{records.MAX_TEXT_CHARS:,}", f"{records.MAX_LINE_BYTES >> 20} MiB", f"{records.MAX_COLUMNS:,}",
                  f"{records.MAX_YAML_NODES:,}", str(records.MAX_JSON_DEPTH)):
        assert value in readme, value


def test_a_user_sees_the_same_contract(hostile, trained):
    proc = run_cli("predict.py", "--input", "q.csv", "--output", "q.csv", "--tracking-uri", trained["uri"], cwd=hostile)
    _assert_one_line_error(proc.returncode, proc.stderr, "q.csv: is the input")
    assert (hostile / "q.csv").read_bytes() == HOSTILE["q.csv"]
