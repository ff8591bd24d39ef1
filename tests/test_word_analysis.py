"""Per-language word analysis (features/analysis.py): Snowball stems chosen by the dataset's language,
stop-word lists that keep negations and stance words, and the config that switches them."""

from __future__ import annotations

import pytest

from features.analysis import WORD_TOKEN_PATTERN, WordAnalyzer, stem, stop_words
from features.tfidf import vectorizer
from stancelab.config import ModelConfig, load_config
from stancelab.errors import UserError
from conftest import REPO


def test_stems_and_stop_words_known_answers():
    assert WordAnalyzer("en")("running vaccines") == ["run", "vaccin"]
    assert WordAnalyzer("ar")("المعلمون اللقاحات") == ["معلم", "لقاح"]
    # ar+en: the stemmer follows each word's script (the English one would leave Arabic alone, and back)
    assert WordAnalyzer("ar+en")("اللقاحات vaccines") == ["لقاح", "vaccin"]
    # negations and stance words are not stop words
    assert WordAnalyzer("en", stem=False, stop_words=True)("i am not against the vaccine but for it") == \
        ["not", "against", "vaccine", "but", "for"]
    assert WordAnalyzer("ar", stem=False, stop_words=True)("هذا ليس مع اللقاح ولا ضد في البيت") == \
        ["ليس", "مع", "اللقاح", "ولا", "ضد", "البيت"]
    for negation in ("لا", "ليس", "لم", "لن", "ما", "غير", "ضد"):
        assert negation not in stop_words("ar")
    assert {"not", "no", "never", "against", "for"}.isdisjoint(stop_words("en"))
    assert "الي" in stop_words("ar") and "إلى" in stop_words("ar")  # as written and as normalised
    assert stem("english", "running") == "run" and stem.cache_info().currsize > 0


def test_off_means_the_default_word_tokens():
    import re

    text = "the vaccines are not safe اللقاحات ليست آمنة 2021"
    plain = vectorizer("word", ngram_range=(1, 1)).fit([text])
    assert plain.tokenizer is None and sorted(plain.vocabulary_) == sorted(set(re.findall(WORD_TOKEN_PATTERN, text)))
    # bigrams join the words around a dropped stop word, as scikit-learn's own stop_words does
    dropped = vectorizer("word", ngram_range=(2, 2), stop_words=True, language="en").fit(["vaccines are not safe"])
    assert sorted(dropped.vocabulary_) == ["not safe", "vaccines not"]
    with pytest.raises(ValueError, match="language"):
        vectorizer("word", stem=True)


def test_language_comes_from_the_dataset_or_the_config(tmp_path):
    assert load_config(REPO / "experiments" / "mawqif.yaml", ["model.word.stem=true"]).model.word.language == "ar"
    assert load_config(REPO / "experiments" / "semeval2016.yaml").model.word.language == "en"
    assert load_config(REPO / "experiments" / "default.yaml").model.word.language == "ar+en"
    explicit = load_config(REPO / "experiments" / "mawqif.yaml", ["model.word.language=en"])
    assert explicit.model.word.language == "en"
    sentiment_only = load_config(REPO / "experiments" / "mawqif.yaml", ["model.sentiment_word={stem: true}"]).model
    assert sentiment_only.sentiment_word.language == "ar" and not sentiment_only.word.stem
    in_grid = load_config(REPO / "experiments" / "semeval2016.yaml",
                          ["grid={model.sentiment_word: [null, {stem: true}]}"]).configurations()
    assert [m.sentiment_word and m.sentiment_word.language for _, m in in_grid] == [None, "en"]
    with pytest.raises(ValueError, match="language"):
        ModelConfig.model_validate({"word": {"stem": True}})  # no dataset to take it from
    experiment = tmp_path / "csv.yaml"
    experiment.write_text("experiment: x\nmodel_name: x\ndataset: {name: data.csv}\nmodel: {word: {stop_words: true}}\n")
    with pytest.raises(UserError, match="model.word"):
        load_config(experiment)


def test_stemmed_model_round_trips_and_compiles_bit_exact():
    """A word block with the WordAnalyzer as tokenizer: skops round trip with the trusted list, and the
    compiled model (which calls the block's tokenizer itself) gives the Pipeline's numbers bit for bit."""
    import numpy as np
    import skops.io

    from stancelab import datasets
    from stancelab.compiled import _TextBlock, compile_model
    from stancelab.model import TRUSTED_TYPES, build_pipeline
    from stancelab.training import model_input

    frame = datasets.load("idlib", "train").groupby(["target", "lang"]).head(30).reset_index(drop=True)
    cfg = ModelConfig.model_validate({"word": {"stem": True, "stop_words": True, "language": "ar+en"},
                                      "char": {"ngram_range": [2, 4]}})
    X, Y = model_input(frame), frame[["stance", "sentiment"]].astype(object)
    pipeline = build_pipeline(cfg, ("stance", "sentiment"), seed=7).fit(X, Y)
    word = pipeline.named_steps["joint"].estimator_for("sentiment").named_steps["features"].named_transformers_["word"]
    assert word.tokenizer == WordAnalyzer("ar+en", stem=True, stop_words=True)
    # model.sentiment_word: the sentiment model's own word block; stance keeps model.word
    own = build_pipeline(ModelConfig.model_validate({"char": None, "sentiment_word": {"stem": True, "language": "ar"}}),
                         ("stance", "sentiment"), seed=7).fit(X, Y).named_steps["joint"]
    stance_words = next(iter(own.estimator_for("stance").estimators_.values())).named_steps["features"]
    assert stance_words.named_transformers_["word"].tokenizer is None
    assert own.estimator_for("sentiment").named_steps["features"].named_transformers_["word"].tokenizer == \
        WordAnalyzer("ar", stem=True)
    assert any(" the " in t for t in X["text"].str.lower()) and any(" في " in t for t in X["text"])
    assert "the" not in word.vocabulary_ and "في" not in word.vocabulary_  # stop words of both languages
    # a batch's default-pattern tokens are found once and shared by the plain and the stemmed block
    # (compiled.py): long batches (Arrow) and short ones (Python)
    own_pipeline = build_pipeline(ModelConfig.model_validate({"sentiment_word": {"stem": True, "stop_words": True,
                                                                                 "language": "ar+en"}}),
                                  ("stance", "sentiment"), seed=7).fit(X, Y)
    for rows in (X, X.head(20)):
        for e, g in zip(own_pipeline.predict_proba(rows), compile_model(own_pipeline).predict_proba(rows)):
            np.testing.assert_array_equal(g, e)

    blob = skops.io.dumps(pipeline)
    assert "features.analysis.WordAnalyzer" in skops.io.get_untrusted_types(data=blob)
    loaded = skops.io.loads(blob, trusted=TRUSTED_TYPES)
    assert loaded.named_steps["joint"].estimator_for("sentiment").named_steps["features"] \
        .named_transformers_["word"].tokenizer == word.tokenizer

    compiled = compile_model(loaded)
    assert compiled is not None
    blocks = [b for m in compiled._compiled.values() for b, _ in m.blocks if isinstance(b, _TextBlock)]
    assert any(b.key is not None and b.key[0] == "word" and b.vec.tokenizer == word.tokenizer for b in blocks)
    expected = pipeline.predict_proba(X)
    for e, g in zip(expected, compiled.predict_proba(X)):
        np.testing.assert_array_equal(g, e)
    for i, record in enumerate(X.head(20).to_dict("records")):
        probas, _ = compiled.predict_one(record["text"], record)
        for task, p in enumerate(probas):
            np.testing.assert_array_equal(p, expected[task][i])


def test_the_c_stemmers_give_the_pure_python_stems(shared_datasets):
    """snowballstemmer hands its work to PyStemmer (C) when it is installed, as the project installs
    it; a model trained with one and served with the other must see the same stems."""
    import re

    import Stemmer
    from snowballstemmer.arabic_stemmer import ArabicStemmer
    from snowballstemmer.english_stemmer import EnglishStemmer

    from features.normalize import normalize_text
    from stancelab import datasets

    token = re.compile(r"(?u)\b\w\w+\b")
    for name, algorithm, python in (("mawqif", "arabic", ArabicStemmer), ("semeval2016", "english", EnglishStemmer)):
        texts = datasets.load(name, "train", shared_datasets)["text"].head(1500)
        words = sorted({w for t in texts for w in token.findall(normalize_text(t))})
        c, py = Stemmer.Stemmer(algorithm), python()
        assert len(words) > 3000
        assert [c.stemWord(w) for w in words] == [py.stemWord(w) for w in words]


def test_remembered_final_forms_are_the_worked_out_ones(shared_datasets):
    """``WordAnalyzer`` remembers each token's final form (stem, or dropped) per setting; what it gives
    must be what working it out gives: the default tokens, stop words dropped, the rest stemmed."""
    import re

    from features.analysis import _algorithm
    from features.normalize import normalize_text
    from stancelab import datasets

    token = re.compile(WORD_TOKEN_PATTERN)
    texts = [normalize_text(t) for name in ("mawqif", "semeval2016")
             for t in datasets.load(name, "train", shared_datasets)["text"].head(300)]
    for language in ("ar", "en", "ar+en"):
        for stemmed, stops in ((True, False), (False, True), (True, True)):
            analyser = WordAnalyzer(language, stem=stemmed, stop_words=stops)
            for _ in range(2):  # first worked out, then remembered
                for text in texts:
                    expected = [t for t in token.findall(text) if not (stops and t in stop_words(language))]
                    if stemmed:
                        expected = [stem(_algorithm(language, t), t) for t in expected]
                    assert analyser(text) == expected
