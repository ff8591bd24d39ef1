"""The speaker of a single quote: a quote without an actor gets one by the article rules and the actors
file (data/actors.yaml or --actors), from the command line, from --input files and from the Python API."""

from __future__ import annotations

import csv
import json

import pytest

import predict

TARGET = "deescalation_idlib"
LAVROV = "دعا لافروف إلى وقف فوري لإطلاق النار في إدلب"
NOBODY = "وقف إطلاق النار في إدلب هش ويجب احترامه"


@pytest.fixture(scope="module")
def model(trained):
    return predict.load(tracking_uri=trained["uri"])


def _one_quote(capsys, *args) -> tuple[int, dict | None, str]:
    code = predict.main(list(map(str, args)))
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


def test_the_readme_quote_names_lavrov(trained, capsys):
    code, result, err = _one_quote(capsys, LAVROV, "--target", TARGET, "--tracking-uri", trained["uri"])
    assert code == 0, err
    assert result["actor"] == "Lavrov" and result["speaker_span"] == "لافروف"
    assert result["stance"] in ("favor", "against", "none")


def test_python_api_arabic_english_nobody_and_a_given_actor(model):
    results = model.predict([
        {"text": LAVROV, "target": TARGET},
        {"text": "Kremlin spokesman Dmitry Peskov told reporters the truce in Idlib must hold.", "target": TARGET},
        {"text": NOBODY, "target": TARGET},
        {"text": LAVROV, "target": TARGET, "actor": "Erdogan"},  # the record's actor wins
        {"text": "وقال المسؤول إن الهدنة صامدة", "target": TARGET},  # a bare title: no context, no actor
    ], evidence=False)
    assert [(r["actor"], r["speaker_span"]) for r in results] == [
        ("Lavrov", "لافروف"), ("Peskov", "Kremlin spokesman"), (None, None), ("Erdogan", None), (None, "المسؤول")]


def test_attribution_off_gives_the_old_result_shape(trained, model):
    plain = predict.load(tracking_uri=trained["uri"], actors=None)
    [without] = plain.predict([{"text": LAVROV, "target": TARGET}], evidence=False)
    [with_] = model.predict([{"text": LAVROV, "target": TARGET}], evidence=False)
    assert without["actor"] is None and "speaker_span" not in without
    assert with_["stance_proba"] == without["stance_proba"]  # the speaker does not change the scores


def test_input_file_rows_without_actor_get_a_speaker(trained, tmp_path, capsys):
    quotes = tmp_path / "quotes.csv"
    with open(quotes, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows([["text", "target", "actor"], [LAVROV, TARGET, ""], [NOBODY, TARGET, ""],
                          ["Erdogan said Turkey will not withdraw from Idlib.", TARGET, ""],
                          [LAVROV, TARGET, "Putin"]])
    out = tmp_path / "p.csv"
    assert predict.main(["--input", str(quotes), "--output", str(out), "--tracking-uri", trained["uri"],
                         "--no-evidence", "--quiet"]) == 0, capsys.readouterr().err
    with open(out, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["actor"], r["speaker_span"]) for r in rows] == [
        ("Lavrov", "لافروف"), ("", ""), ("Erdogan", "Erdogan"), ("Putin", "")]
    out_jsonl = tmp_path / "p.jsonl"
    assert predict.main(["--input", str(quotes), "--output", str(out_jsonl), "--tracking-uri", trained["uri"],
                         "--no-evidence", "--quiet"]) == 0
    lines = [json.loads(line) for line in out_jsonl.read_text(encoding="utf-8").splitlines()]
    assert [r["actor"] for r in lines] == ["Lavrov", None, "Erdogan", "Putin"]
    assert lines[1]["speaker_span"] is None


def test_custom_actors_file(trained, tmp_path, capsys):
    actors = tmp_path / "mine.yaml"
    actors.write_text("Zaid: [زيد الخطيب, الخطيب, Zaid al-Khatib]\n", encoding="utf-8")
    quote = "قال الخطيب إن وقف إطلاق النار في إدلب ضروري"
    code, result, err = _one_quote(capsys, quote, "--target", TARGET, "--actors", actors,
                                   "--tracking-uri", trained["uri"])
    assert code == 0, err
    assert result["actor"] == "Zaid" and result["speaker_span"] == "الخطيب"
    code, result, err = _one_quote(capsys, quote, "--target", TARGET, "--tracking-uri", trained["uri"])
    assert code == 0 and result["actor"] is None and result["speaker_span"] == "الخطيب"  # not in data/actors.yaml
    code, result, _ = _one_quote(capsys, LAVROV, "--target", TARGET, "--actors", actors, "--tracking-uri", trained["uri"])
    assert result["actor"] is None  # only the given file's actors


@pytest.mark.parametrize("content, message", [
    ("Zaid: زيد\n", "mine.yaml:1: actor 'Zaid': aliases must be a list"),
    ("Zaid: [زيد]\nZaid: [الخطيب]\n", "mine.yaml:2: duplicate actor id 'Zaid'"),
    ("Zaid: [زيد\n", "mine.yaml:2: not valid YAML"),
])
def test_bad_actors_file_is_one_located_line_and_no_output(trained, tmp_path, capsys, content, message):
    actors = tmp_path / "mine.yaml"
    actors.write_text(content, encoding="utf-8")
    out = tmp_path / "p.jsonl"
    code = predict.main([LAVROV, "--target", TARGET, "--actors", str(actors), "--output", str(out),
                         "--tracking-uri", trained["uri"]])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.yaml"]
