"""Property-based tests (hypothesis) with arbitrary Unicode over the loaders and ``predict``: no crash
other than a clear UserError, what is written is what is read back, and the output is deterministic.
(The normaliser's properties are in test_normalize.py.)"""

from __future__ import annotations

import csv
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stancelab.data import datasets, records
from stancelab.errors import UserError

TARGET = "deescalation_idlib"
texts = st.text(max_size=60)  # any code point but lone surrogates (not encodable as UTF-8)
nonblank = texts.filter(lambda t: t.strip() and "\x00" not in t)
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings(max_examples=150, **SETTINGS)
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=4))
def test_csv_reader_reads_back_what_the_csv_module_wrote(tmp_path, rows):
    path = tmp_path / "q.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "target"])
        writer.writerows(rows)
    try:
        frame = records.read_csv_records(path, ("text", "target"))
    except UserError as exc:
        assert "\x00" in "".join(a + b for a, b in rows), exc  # the only refusal: NUL bytes
        assert str(exc).startswith(f"{path}:") and "\n" not in str(exc)
        return
    assert frame[["text", "target"]].to_numpy().tolist() == [list(r) for r in rows]  # verbatim, not stripped
    assert records.read_csv_records(path, ("text", "target")).equals(frame)


@settings(max_examples=150, **SETTINGS)
@given(st.lists(st.fixed_dictionaries({"text": texts, "target": texts}), min_size=1, max_size=4))
def test_jsonl_reader_reads_back_what_json_dumps_wrote(tmp_path, records):
    """ensure_ascii=False leaves U+2028, U+0085 etc. unescaped inside a line: only \\n ends a line."""
    import predict

    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    read, lines = predict.read_records(path)
    assert read == records and lines == list(range(1, len(records) + 1))


@settings(max_examples=100, **SETTINGS)
@given(st.lists(texts, min_size=1, max_size=4))
def test_schema_csv_loads_or_names_the_line(tmp_path, values):
    path = tmp_path / "d.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "target", "stance", "sentiment"])
        writer.writerows([i, v, "t", "favor", "neutral"] for i, v in enumerate(values))
    try:
        frame = datasets.load_schema_csv(path)
    except UserError as exc:
        message = str(exc)
        assert message.startswith(f"{path}:") and "\n" not in message
        assert "field 'text': empty text" in message or "NUL" in message, message
        return
    assert frame["text"].tolist() == [v.strip() for v in values]


@pytest.fixture(scope="module")
def model(trained):
    import predict

    return predict.load(tracking_uri=trained["uri"])


@settings(max_examples=60, **SETTINGS)
@given(text=texts, actor=texts)
def test_predict_any_unicode_is_labelled_deterministically(model, text, actor):
    records = [{"text": text, "target": TARGET, "actor": actor}]
    if not text.strip() or "\x00" in text:  # empty, or a NUL: refused at validation
        with pytest.raises(UserError, match="field 'text'"):
            model.predict(records)
        return
    if "\x00" in actor:
        with pytest.raises(UserError, match="field 'actor': contains a NUL"):
            model.predict(records)
        return
    [first] = model.predict(records)
    [again] = model.predict(records)
    assert first == again
    assert first["text"] == text and first["stance"] in {"favor", "against", "none"}
    for task in ("stance", "sentiment"):
        # the label has the largest probability shown (probabilities are rounded to 4 digits, so two
        # classes 5e-5 apart can show the same value; the label is the one that is larger unrounded)
        shown = first[f"{task}_proba"]
        assert shown[first[task]] == max(shown.values())
        assert sum(first[f"{task}_proba"].values()) == pytest.approx(1, abs=2e-3)
    # the same text in a batch gets the same answer as alone
    batch = model.predict([{"text": "وقف إطلاق النار", "target": TARGET}, *records])
    assert batch[1]["stance_proba"] == first["stance_proba"]
