"""Bad input on every surface a user can give it: predict.py inputs, articles and actors YAML,
train.py / evaluate.py data CSVs, experiment YAML, CLI flags, model URIs and predictions files.

Every case must end with exit status 2, exactly one stderr line ``error: <file>[:<line>]: ...`` that
names the file and the line or field, no traceback and no output file (nor a temporary one) left
behind. The CLIs run in-process (an uncaught exception fails the test); one case per CLI also runs as
a subprocess, as a user would. Most cases fail before any model is loaded; those that need one use
the session's ``trained`` store. Mixed scripts, emoji and a 1 MB line are not errors: they must work.
"""

from __future__ import annotations

import json
import random

import pytest

from conftest import REPO, run_cli

import evaluate
import predict
import train

TARGET = "deescalation_idlib"
MAIN = {"predict.py": predict.main, "train.py": train.main, "evaluate.py": evaluate.main}
MIXED = "دعا لافروف 🙏🏽 إلى وقف إطلاق النار في إدلب — Lavrov calls for a ceasefire 呼吁停火 👍🏾 Ünïcödé"


def _garbage() -> bytes:
    rng = random.Random(6)
    return bytes(rng.randrange(256) for _ in range(4000))


# name -> bytes of a file written into the test's folder
FILES = {
    "empty.csv": b"",
    "empty.jsonl": b"\n  \n",
    "cp1256.csv": "text,target\n".encode() + f"قال الوزير,{TARGET}\n".encode("cp1256"),
    "garbage.csv": _garbage(),
    "garbage.jsonl": _garbage(),
    "nul.csv": f"text,target\nok,{TARGET}\nbad\x00text,{TARGET}\n".encode(),
    "unterminated.csv": f'text,target\nok,{TARGET}\n"never closed,{TARGET}\nmore,{TARGET}\n'.encode(),
    "no_target.csv": b"text,actor\nhello,Lavrov\n",
    "extra_field.csv": f"text,target\nok,{TARGET}\n1,2,{TARGET}\n".encode(),
    "whitespace.csv": f"text,target\nok,{TARGET}\n \t ,{TARGET}\n".encode(),
    "unknown_target.csv": f"text,target,actor\nok,{TARGET},\nok,Covid,\n".encode(),
    "bad.jsonl": f'{{"text": "ok", "target": "{TARGET}"}}\n{{"text": "ok", "target": \n'.encode(),
    "list.jsonl": b'["text", "target"]\n',
    "no_target.jsonl": b'{"text": "ok"}\n',
    "number_text.jsonl": f'{{"text": 12, "target": "{TARGET}"}}\n'.encode(),
    "quotes.txt": b"just a text file\n",
    # articles and actors YAML (predict.py --article)
    "article.txt": "قال المتحدث باسم الكرملين دميتري بيسكوف إن الوضع في إدلب خطير.\n".encode(),
    "empty_article.txt": b"\n \n",
    "control_actors.yaml": b"Peskov: [\x01Peskov]\n",
    "dup_actors.yaml": "Peskov: [بيسكوف]\nLavrov: [لافروف]\nPeskov: [Peskov]\n".encode(),
    # experiment YAML
    "empty.yaml": b"",
    "garbage.yaml": _garbage(),
    "control.yaml": b"experiment: e\x01\nmodel_name: m\n",
    "list.yaml": b"- experiment\n- model_name\n",
    "tab.yaml": b"experiment: e\nmodel_name: m\n\tdataset: {name: idlib}\n",
    # data CSVs in the project schema (train.py via dataset.name, evaluate.py via --data)
    "data_label.csv": ("id,text,target,stance,sentiment,split\n1,ok,t,favor,positive,train\n"
                       "2,ok too,t,favour,positive,train\n").encode(),
    "data_empty_text.csv": b"id,text,target,stance,sentiment,split\n1,ok,t,favor,positive,test\n2,  ,t,none,neutral,test\n",
    "data_columns.csv": b"id,text,target,sentiment\n1,ok,t,positive\n",
    "data_unterminated.csv": b'id,text,target,stance,sentiment\n1,"ok,t,favor,positive\n',
}


def _experiment(data: str) -> str:
    return f"experiment: e\nmodel_name: m\ndataset: {{name: {data}}}\ncv: {{folds: 2}}\nn_jobs: 1\n"


FILES["exp_label.yaml"] = _experiment("data_label.csv").encode()
FILES["exp_garbage.yaml"] = _experiment("garbage.csv").encode()
FILES["exp_missing.yaml"] = _experiment("nowhere.csv").encode()
FILES["exp_columns.yaml"] = _experiment("data_columns.csv").encode()

NO_MODEL = [  # (cli, args, expected fragment of the one error line); these fail before a model loads
    ("predict.py", ["--input", "missing.csv"], "missing.csv: no such file"),
    ("predict.py", ["--input", "empty.csv"], "empty.csv: empty file"),
    ("predict.py", ["--input", "empty.jsonl"], "empty.jsonl: empty file"),
    ("predict.py", ["--input", "cp1256.csv"], "cp1256.csv:2: not valid utf-8"),
    ("predict.py", ["--input", "garbage.csv"], "garbage.csv:1: not valid utf-8"),
    ("predict.py", ["--input", "garbage.jsonl"], "garbage.jsonl:1: not valid utf-8"),
    ("predict.py", ["--input", "nul.csv"], "nul.csv:3: contains NUL bytes"),
    ("predict.py", ["--input", "unterminated.csv"], "unterminated.csv:3: malformed CSV"),
    ("predict.py", ["--input", "no_target.csv"], "no_target.csv:1: missing column(s) target"),
    ("predict.py", ["--input", "extra_field.csv"], "extra_field.csv:3: expected 2 fields, found 3"),
    ("predict.py", ["--input", "bad.jsonl"], "bad.jsonl:2: invalid JSON"),
    ("predict.py", ["--input", "list.jsonl"], "list.jsonl:1: expected a JSON object"),
    ("predict.py", ["--input", "quotes.txt"], "quotes.txt: unsupported input type '.txt'"),
    ("predict.py", ["--input", "."], ".: unsupported input type"),
    ("predict.py", ["x", "--target", TARGET, "--output", "out.txt"], "out.txt: unsupported output type"),
    ("predict.py", ["x", "--target", TARGET, "--output", "no/such/folder/out.jsonl"], "folder no/such/folder does not exist"),
    ("predict.py", ["--article", "missing.txt", "--template", "t.csv"], "missing.txt: no such file"),
    ("predict.py", ["--article", "empty_article.txt", "--template", "t.csv"], "empty_article.txt: empty article"),
    ("predict.py", ["--article", "garbage.csv", "--template", "t.csv"], "garbage.csv:1: not valid utf-8"),
    ("predict.py", ["--article", "article.txt", "--actors", "garbage.yaml", "--template", "t.csv"],
     "garbage.yaml:1: not valid utf-8"),
    ("predict.py", ["--article", "article.txt", "--actors", "control_actors.yaml", "--template", "t.csv"],
     "control_actors.yaml:1: not valid YAML (control character U+0001"),
    ("predict.py", ["--article", "article.txt", "--actors", "dup_actors.yaml", "--template", "t.csv"],
     "dup_actors.yaml:3: duplicate actor id 'Peskov'"),
    ("predict.py", ["--article", "article.txt", "--actors", "list.yaml", "--template", "t.csv"],
     "list.yaml:1: expected a mapping"),
    ("train.py", ["missing.yaml"], "missing.yaml: no such experiment file"),
    ("train.py", ["empty.yaml"], "empty.yaml: expected a mapping"),
    ("train.py", ["garbage.yaml"], "garbage.yaml:1: not UTF-8 text"),
    ("train.py", ["control.yaml"], "control.yaml:1: invalid YAML (control character U+0001"),
    ("train.py", ["list.yaml"], "list.yaml: expected a mapping"),
    ("train.py", ["tab.yaml"], "tab.yaml:3: invalid YAML"),
    ("train.py", [REPO / "experiments/default.yaml", "--set", "cv.folds=abc"], "--set cv.folds=abc: key 'cv.folds'"),
    ("train.py", [REPO / "experiments/default.yaml", "--set", "n_jobs=0"], "--set n_jobs=0: key 'n_jobs'"),
    ("train.py", [REPO / "experiments/default.yaml", "--set", "bootstrap=0"], "--set bootstrap=0: key 'bootstrap'"),
    ("train.py", [REPO / "experiments/default.yaml", "--set", "=3"], "--set '=3': expected key=value"),
    ("train.py", [REPO / "experiments/default.yaml", "--set", "seed.x=1"], "--set seed.x: 'seed' is not a section"),
    ("train.py", [REPO / "experiments/default.yaml", "--set", "dataset.name=nope"], "unknown dataset 'nope'"),
    ("train.py", ["exp_label.yaml"], "data_label.csv:3: field 'stance': unknown label 'favour'"),
    ("train.py", ["exp_garbage.yaml"], "garbage.csv:1: not valid utf-8"),
    ("train.py", ["exp_missing.yaml"], "nowhere.csv: no such file"),
    ("train.py", ["exp_columns.yaml"], "data_columns.csv:1: missing column(s) stance"),
    ("evaluate.py", ["garbage.yaml"], "garbage.yaml:1: not UTF-8 text"),
    ("evaluate.py", ["--model", "models:/m/1", "--data", "idlib"], "--data 'idlib': expected NAME:SPLIT"),
    ("evaluate.py", ["--model", "models:/m/1", "--data", "idlib:test", "--json", "no/such/r.json"],
     "folder no/such does not exist"),
    ("evaluate.py", ["--predictions", "p.csv"], "--predictions FILE needs --data NAME:SPLIT"),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    for name, content in FILES.items():
        (tmp_path / name).write_bytes(content)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _listing(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def _run_in_process(cli, args, uri, capsys, folder):
    before = _listing(folder)
    output = ["--output", "out.jsonl"] if cli == "predict.py" and "--output" not in args else []
    output += ["--json", "out.json"] if cli == "evaluate.py" and "--json" not in args else []
    code = MAIN[cli]([str(a) for a in args] + output + ["--tracking-uri", uri])
    captured = capsys.readouterr()
    # no output file, no temporary file, no store created by a failed command
    assert _listing(folder) == before, "a failed command left a file behind"
    return code, captured.err


def _assert_one_line_error(code, stderr, expected):
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize("cli, args, expected", NO_MODEL, ids=[f"{c}:{e[:40]}" for c, a, e in NO_MODEL])
def test_bad_input_before_any_model(folder, capsys, cli, args, expected):
    uri = f"sqlite:///{folder / 'never' / 'mlflow.db'}"  # a failed command must not need (or create) a store
    code, stderr = _run_in_process(cli, args, uri, capsys, folder)
    _assert_one_line_error(code, stderr, expected)


PREDICTIONS_GOLD = ("id,text,actor,target,stance,sentiment,split\n"
                    "a,Lavrov calls for a ceasefire,Lavrov,deescalation_idlib,favor,positive,test\n"
                    "b,Ankara rejects the truce,,deescalation_idlib,against,negative,test\n"
                    "c,NATO weighs Article 4,,nato_support_turkey,none,neutral,test\n")

PREDICTIONS = [  # (file name, content, expected fragment)
    ("p.csv", "id,target,stance\na,deescalation_idlib,favor\nb,deescalation_idlib,against\n",
     "p.csv: field 'id': 1 of the 3 ids of gold.csv:test have no prediction ('c')"),
    ("p.csv", "id,target,stance\na,deescalation_idlib,favor\nb,deescalation_idlib,against\n"
              "c,nato_support_turkey,none\nz,nato_support_turkey,none\n",
     "p.csv:5: field 'id': id 'z' is not in gold.csv:test"),
    ("p.csv", "id,target,stance\na,deescalation_idlib,favor\nb,deescalation_idlib,against\n"
              "a,deescalation_idlib,none\nc,nato_support_turkey,none\n",
     "p.csv:4: field 'id': duplicate id 'a' (first on line 2)"),
    ("p.jsonl", '{"id": "a", "target": "deescalation_idlib", "stance": "favor"}\n'
                '{"id": "b", "target": "nato_support_turkey", "stance": "favor"}\n',
     "p.jsonl:2: field 'target': target 'nato_support_turkey' but gold.csv:test has 'deescalation_idlib' for id 'b'"),
    ("p.jsonl", '{"id": "a", "target": "deescalation_idlib", "stance": "pro"}\n',
     "p.jsonl:1: field 'stance': unknown label 'pro'"),
    ("p.jsonl", '{"id": "a", "target": "deescalation_idlib"}\n', "p.jsonl:1: field 'stance': missing"),
    ("p.csv", "id,target,stance\n,deescalation_idlib,favor\n", "p.csv:2: field 'id': empty id"),
    ("p.csv", "target,stance\ndeescalation_idlib,favor\n", "p.csv:1: missing column(s) id"),
    ("p.csv", "", "p.csv: empty file"),
    ("p.tsv", "id\ttarget\tstance\n", "p.tsv: unsupported predictions type '.tsv'"),
]


@pytest.mark.parametrize("name, content, expected", PREDICTIONS, ids=[e[:50] for _, _, e in PREDICTIONS])
def test_predictions_must_match_gold_ids_one_to_one(folder, capsys, name, content, expected):
    (folder / "gold.csv").write_text(PREDICTIONS_GOLD, encoding="utf-8")
    (folder / name).write_text(content, encoding="utf-8")
    code, stderr = _run_in_process("evaluate.py", ["--predictions", name, "--data", "gold.csv:test"],
                                   f"sqlite:///{folder / 'never' / 'mlflow.db'}", capsys, folder)
    _assert_one_line_error(code, stderr, expected)


def test_scoring_a_matching_predictions_file(folder, capsys):
    """The same file, shuffled and with other columns, scores; a wrong label lowers the score."""
    (folder / "gold.csv").write_text(PREDICTIONS_GOLD, encoding="utf-8")
    (folder / "p.jsonl").write_text(
        '{"id": "c", "target": "nato_support_turkey", "stance": "none", "sentiment": "neutral", "text": "x"}\n'
        '{"id": "a", "target": "deescalation_idlib", "stance": "favor", "sentiment": "Positive"}\n'
        '{"id": "b", "target": "deescalation_idlib", "stance": "favor", "sentiment": "negative"}\n', encoding="utf-8")
    code = evaluate.main(["--predictions", "p.jsonl", "--data", "gold.csv:test", "--json", "r.json", "--bootstrap", "20"])
    assert code == 0, capsys.readouterr().err
    result = json.loads((folder / "r.json").read_text(encoding="utf-8"))
    assert result["n"] == 3 and result["predictions"] == "p.jsonl"
    assert result["stance_accuracy"]["value"] == pytest.approx(2 / 3)
    assert result["sentiment_accuracy"]["value"] == 1.0


# ----------------------------------------------------------------- cases that need a model

# evaluate.py without --quiet: its progress line only starts once the model and the data have been
# checked, so a bad input leaves the error as the only line.
WITH_MODEL = [
    ("predict.py", ["--input", "unknown_target.csv"], "unknown_target.csv:3: field 'target': unknown target 'Covid'"),
    ("predict.py", ["--input", "whitespace.csv"], "whitespace.csv:3: field 'text': empty text"),
    ("predict.py", ["--input", "no_target.jsonl"], "no_target.jsonl:1: field 'target': missing"),
    ("predict.py", ["--input", "number_text.jsonl"], "number_text.jsonl:1: field 'text'"),
    ("predict.py", ["x", "--target", TARGET, "--model", "models:/idlib-stance/999"], "no model at models:/idlib-stance/999"),
    ("predict.py", ["x", "--target", TARGET, "--model", "models:/idlib-stance@nope"], "no model at models:/idlib-stance@nope"),
    ("predict.py", ["x", "--target", TARGET, "--model", "runs:/0123456789abcdef/model"], "no model at runs:/0123456789abcdef/model"),
    ("predict.py", ["x", "--target", TARGET, "--model", "."], ".: not an MLflow model (no MLmodel file)"),
    ("predict.py", ["x", "--target", "nowhere"], "field 'target': unknown target 'nowhere'"),
    ("evaluate.py", ["--model", "models:/idlib-stance@champion", "--data", "data_empty_text.csv:test", "--no-log"],
     "data_empty_text.csv:3: field 'text': empty text"),
    ("evaluate.py", ["--model", "models:/idlib-stance@champion", "--data", "data_unterminated.csv:test", "--no-log"],
     "data_unterminated.csv:2: malformed CSV"),
    ("evaluate.py", ["--model", "models:/idlib-stance@champion", "--data", "idlib:dev", "--no-log"],
     "dataset 'idlib' has no split 'dev'"),
    ("evaluate.py", ["--model", "models:/idlib-stance@champion", "--data", "idlib:test", "--bootstrap", "-5", "--no-log"],
     "bootstrap resamples must be at least 1"),
]


@pytest.mark.parametrize("cli, args, expected", WITH_MODEL, ids=[f"{c}:{e[:40]}" for c, a, e in WITH_MODEL])
def test_bad_input_with_a_model(trained, folder, capsys, cli, args, expected):
    code, stderr = _run_in_process(cli, args, trained["uri"], capsys, folder)
    _assert_one_line_error(code, stderr, expected)


@pytest.mark.parametrize("cli, args, expected", [
    ("predict.py", ["--input", "unterminated.csv", "--output", "out.csv"], "unterminated.csv:3: malformed CSV"),
    ("train.py", ["exp_label.yaml"], "data_label.csv:3: field 'stance': unknown label 'favour'"),
])
def test_bad_input_as_a_user_runs_it(trained, folder, cli, args, expected):
    """A real interpreter: exit status, stderr and the folder exactly as a user sees them."""
    before = _listing(folder)
    proc = run_cli(cli, *args, "--tracking-uri", trained["uri"], cwd=folder)
    assert proc.stdout == ""
    _assert_one_line_error(proc.returncode, proc.stderr, expected)
    assert _listing(folder) == before


# ----------------------------------------------------------------- unusual but valid input works

def test_mixed_scripts_emoji_bom_and_extra_columns_work(trained, folder, capsys):
    (folder / "mixed.csv").write_text(f"\ufefftext,target,actor,note\n\"{MIXED}\",{TARGET},Лавров,ignored\n"
                                      f"👍,nato_support_turkey,,\n", encoding="utf-8")
    assert predict.main(["--input", "mixed.csv", "--output", "out.jsonl", "--tracking-uri", trained["uri"]]) == 0
    rows = [json.loads(line) for line in (folder / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == [MIXED, "👍"] and rows[0]["actor"] == "Лавров"
    assert all(r["stance"] in {"favor", "against", "none"} for r in rows)
    # the same text as gold data for evaluate.py
    (folder / "gold.csv").write_text("id,text,actor,target,stance,sentiment\n"
                                     f"1,\"{MIXED}\",Лавров,{TARGET},favor,positive\n2,👍🏾 🇹🇷,,{TARGET},none,neutral\n",
                                     encoding="utf-8")
    code = evaluate.main(["--model", "models:/idlib-stance@champion", "--data", "gold.csv:test", "--no-log",
                          "--bootstrap", "10", "--json", "r.json", "--tracking-uri", trained["uri"]])
    assert code == 0, capsys.readouterr().err
    assert json.loads((folder / "r.json").read_text(encoding="utf-8"))["n"] == 2


def test_a_one_megabyte_line_works(trained, folder, capsys):
    """Past the csv module's 128 KiB field limit (it used to be reported as a malformed CSV)."""
    long_text = ("دعا لافروف إلى وقف فوري لإطلاق النار في إدلب 🕊 Lavrov urged a ceasefire. " * 14000)[:1_000_000]
    (folder / "long.csv").write_text(f"id,text,target\nlong,\"{long_text}\",{TARGET}\n", encoding="utf-8")
    (folder / "long.jsonl").write_text(json.dumps({"text": long_text, "target": TARGET}) + "\n", encoding="utf-8")
    for name in ("long.csv", "long.jsonl"):
        code = predict.main(["--input", name, "--output", f"{name}.out.jsonl", "--no-evidence",
                             "--tracking-uri", trained["uri"]])
        assert code == 0, capsys.readouterr().err
        [row] = [json.loads(line) for line in (folder / f"{name}.out.jsonl").read_text(encoding="utf-8").splitlines()]
        assert row["text"] == long_text and row["stance"] in {"favor", "against", "none"}
