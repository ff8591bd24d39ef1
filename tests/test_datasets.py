"""Loaders on the real shared benchmark files, the embedded corpus, and bad-input errors."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from stancelab.data import datasets, fetch
from stancelab.errors import UserError
from stancelab.labels import SENTIMENT_LABELS, STANCE_LABELS

SEED = datasets.REPO_ROOT.parent / "shared" / "seed" / "000_9bea97cf074443bf.txt"


# ----------------------------------------------------------------- public benchmarks

def test_mawqif_keeps_none_stance_and_counts_match_source_md(shared_datasets):
    train = datasets.load("mawqif", "train", shared_datasets)
    test = datasets.load("mawqif", "test", shared_datasets)
    assert len(train) == 3502 and len(test) == 619
    assert train["stance"].value_counts().to_dict() == {"favor": 2148, "against": 1021, "none": 333}
    assert test["stance"].value_counts().to_dict() == {"favor": 380, "against": 180, "none": 59}
    assert train["sentiment"].value_counts().to_dict() == {"positive": 1476, "neutral": 1089, "negative": 937}
    assert set(train["target"]) == {"covid_vaccine", "digital_transformation", "women_empowerment"}
    assert not train["text"].str.match(r"^\s|.*\s$").any()  # surrounding whitespace stripped
    assert train["id"].is_unique


def test_arsarcasm_is_sentiment_only_with_its_stray_quotes_stripped(shared_datasets):
    train = datasets.load("arsarcasm", "train", shared_datasets, tasks=("sentiment",))
    test = datasets.load("arsarcasm", "test", shared_datasets, tasks=("sentiment",))
    assert len(train) == 12548 and len(test) == 3000  # SOURCE.md; one train tweet spans two lines
    assert train["sentiment"].value_counts().to_dict() == {"neutral": 5747, "negative": 4621, "positive": 2180}
    assert test["sentiment"].value_counts().to_dict() == {"negative": 1677, "neutral": 748, "positive": 575}
    assert set(train["dialect"]) == {"msa", "egypt", "gulf", "levant", "magreb"}
    assert (train["target"] == "").all() and (train["stance"] == "").all() and (train["actor"] == "").all()
    assert train["raw_text"].str.startswith('"').sum() >= 7600  # written as """...""" in the file
    assert not train["text"].str.startswith('"').any() and not train["text"].str.endswith('"').any()
    assert datasets.overlap(train, test)["exact"] == 2  # raw, byte-identical tweets (SOURCE.md)
    assert train.attrs["checksum"] == "verified"
    with pytest.raises(UserError, match="has no stance labels"):
        datasets.load("arsarcasm", "train", shared_datasets, tasks=("stance", "sentiment"))


def test_overlap_counts_raw_bytes_and_normalised_text_separately():
    train = pd.DataFrame({"text": ["Hello world", "same"], "raw_text": ["Hello world #SemST", "same"]})
    test = pd.DataFrame({"text": ["hello world", "same"], "raw_text": ["hello world #SemST", "same"]})
    # one byte-identical pair; two after normalisation (case, the marker)
    assert datasets.overlap(train, test) == {"exact": 1, "normalised": 2, "test_rows_affected": 2}


def test_mawqif_duplicates_and_overlap_are_reported(shared_datasets):
    train = datasets.load("mawqif", "train", shared_datasets)
    test = datasets.load("mawqif", "test", shared_datasets)
    report = train.attrs["report"]
    assert report.exact_duplicates >= 7 and report.conflicting_duplicates >= 1
    assert report.warnings
    leak = datasets.overlap(train, test)
    assert leak["exact"] >= 2 and leak["normalised"] >= 4


def test_semeval_subtask_a_latin1_and_semst(shared_datasets):
    train = datasets.load("semeval2016", "train", shared_datasets)
    test = datasets.load("semeval2016", "test", shared_datasets)
    assert len(train) == 2914 and len(test) == 1249
    assert "donald_trump" not in set(test["target"])
    assert train["stance"].value_counts().to_dict() == {"against": 1395, "none": 766, "favor": 753}
    assert test["stance"].value_counts().to_dict() == {"against": 715, "favor": 304, "none": 230}
    assert test["sentiment"].value_counts().to_dict() == {"negative": 791, "positive": 368, "neutral": 90}
    assert not train["text"].str.contains("#SemST").any() and not test["text"].str.contains("#SemST").any()
    assert train.groupby("target").size().to_dict() == {
        "atheism": 513, "climate_change": 395, "feminist_movement": 664, "hillary_clinton": 689,
        "legalization_of_abortion": 653}


def test_fetch_from_local_copy_verifies_checksums(shared_datasets, tmp_path):
    written = fetch.fetch("mawqif", shared_datasets / "mawqif", tmp_path)
    assert [p.name for p in written] == ["train.csv", "test.csv"]
    assert len(datasets.load("mawqif", "train", tmp_path)) == 3502
    # a tampered copy is refused and nothing is written
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(shared_datasets / "mawqif" / "train.csv", bad / "Mawqif_AllTargets_Train.csv")
    with open(bad / "Mawqif_AllTargets_Train.csv", "ab") as handle:
        handle.write(b"\n")
    dest = tmp_path / "dest"
    with pytest.raises(UserError, match="sha256 mismatch"):
        fetch.fetch("mawqif", bad, dest)
    assert not (dest / "mawqif" / "train.csv").exists()


def test_missing_benchmark_explains_how_to_fetch(tmp_path):
    with pytest.raises(UserError, match="fetch mawqif"):
        datasets.load("mawqif", "train", tmp_path)
    with pytest.raises(UserError, match="saifmohammad.com"):
        datasets.load("semeval2016", "train", tmp_path)
    with pytest.raises(UserError, match="unknown dataset 'nope'"):
        datasets.load("nope", "train")


# ----------------------------------------------------------------- embedded corpus (data tests)

@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return pd.concat([datasets.load("idlib", "train"), datasets.load("idlib", "test")], ignore_index=True)


def test_corpus_schema_and_labels(corpus):
    assert list(corpus.columns[:9]) == list(datasets.SCHEMA)
    assert set(corpus["stance"]) == set(STANCE_LABELS)
    assert set(corpus["sentiment"]) <= set(SENTIMENT_LABELS)
    assert corpus["id"].is_unique
    assert (corpus["text"].str.strip() != "").all()
    assert set(corpus["split"]) == {"train", "test"}


def test_corpus_every_label_for_every_target(corpus):
    for target, group in corpus.groupby("target"):
        assert set(group["stance"]) == set(STANCE_LABELS), target
        assert set(group["sentiment"]) == set(SENTIMENT_LABELS), target
        for split, part in group.groupby("split"):
            assert set(part["stance"]) == set(STANCE_LABELS), (target, split)


def test_corpus_size_actors_and_languages(corpus):
    sentences = corpus.drop_duplicates("text")
    written_ar = sentences[(sentences["source"] == "written") & (sentences["lang"] == "ar")]
    assert len(written_ar) >= 400
    assert sentences["actor"].replace("", pd.NA).nunique() >= 12
    assert (sentences["lang"] == "en").sum() >= 100
    # each sentence is labelled for all three targets, with one sentiment
    assert corpus.groupby("text")["target"].nunique().eq(3).all()
    assert corpus.groupby("text")["sentiment"].nunique().eq(1).all()


def test_corpus_has_no_duplicates_or_split_leaks(corpus):
    keys = corpus["text"].map(datasets.text_key)
    assert not (keys + "|" + corpus["target"]).duplicated().any()
    by_split = corpus.assign(key=keys).groupby("key")["split"].nunique()
    assert by_split.eq(1).all()


def test_seed_article_is_in_the_corpus_without_boilerplate(corpus):
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    article = [line for line in lines if line not in ("اظهر المزيد", "زر الذهاب إلى الأعلى")]
    seed = corpus[corpus["source"].str.startswith("seed:")].drop_duplicates("text")
    assert seed["text"].tolist() == article
    assert set(seed["split"]) == {"test"}
    actor_of = {text.split()[0] + " " + text.split()[1]: actor for text, actor in zip(seed["text"], seed["actor"])}
    assert actor_of["دميتري بيسكوف:"] == "Peskov"
    assert actor_of["أجرى الرئيس"] == "Lavrov"   # "... حسبما أعلن وزير الخارجية سيرغي لافروف"
    assert actor_of["لوكسمبورغ: لا"] == "Asselborn"
    assert actor_of["اجتماع طارئ"] == ""


# ----------------------------------------------------------------- bad input

def schema_csv(tmp_path, body: str, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(body.encode(encoding) if isinstance(body, str) else body)
    return path


HEADER = "id,text,actor,target,stance,sentiment\n"


@pytest.mark.parametrize("body, message", [
    (HEADER + "1,hello,,t,favour,positive\n", r"data.csv:2: field 'stance': unknown label 'favour'"),
    (HEADER + "1,ok,,t,favor,positive\n2,  ,,t,favor,positive\n", r"data.csv:3: field 'text': empty text"),
    ("id,text,target,stance\n1,x,t,favor\n", r"data.csv:1: missing column\(s\) sentiment"),
    (HEADER + '1,"unterminated,,t,favor,positive\n', r"data.csv:2: malformed CSV"),
    (HEADER + "1,a,b\n", r"data.csv:2: expected 6 fields, found 3"),
    ("", r"data.csv: empty file"),
    (HEADER + "1,x,,t,favor,positive\n1,y,,t,favor,positive\n", r"data.csv:3: field 'id': duplicate id"),
])
def test_schema_csv_errors_name_file_line_field(tmp_path, body, message):
    with pytest.raises(UserError, match=message):
        datasets.load_schema_csv(schema_csv(tmp_path, body))


def test_wrong_encoding_names_the_line(tmp_path):
    path = schema_csv(tmp_path, HEADER.encode() + "1,قال,,t,favor,positive\n".encode("cp1256"))
    with pytest.raises(UserError, match=r"data.csv:2: not valid utf-8"):
        datasets.load_schema_csv(path)


def test_filled_schema_csv_loads_with_lowercased_labels(tmp_path):
    path = schema_csv(tmp_path, HEADER + "1, قال الوزير ,Lavrov,deescalation_idlib,Favor,Positive\n")
    frame = datasets.load_schema_csv(path)
    assert frame.loc[0, ["text", "stance", "sentiment", "actor"]].tolist() == ["قال الوزير", "favor", "positive", "Lavrov"]
