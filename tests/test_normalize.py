from hypothesis import given, settings
from hypothesis import strategies as st

from features.normalize import NormalizeSteps, normalize_text, normalize_texts


def test_arabic_steps_known_answers():
    assert normalize_text("مُحَمَّدٌ") == "محمد"                       # harakat
    assert normalize_text("الرحمٰن") == "الرحمن"                         # superscript alef U+0670
    assert normalize_text("جميـــــل") == "جميل"                        # tatweel
    assert normalize_text("أحمد إبراهيم آمن ٱلله") == "احمد ابراهيم امن الله"  # alef variants
    assert normalize_text("مستشفى") == "مستشفي"                          # alef maqsura -> yeh
    assert normalize_text("مدرسة") == "مدرسه"                            # teh marbuta -> heh
    assert normalize_text("رائعععععع") == "رائعع"                        # elongation -> two letters
    assert normalize_text("عام ٢٠٢٠ و۱۹") == "عام 2020 و19"              # Arabic-Indic and Persian digits


def test_social_media_tokens():
    text = "@user قال https://t.co/abc #وقف_اطلاق_النار الآن www.example.com"
    assert normalize_text(text) == "قال وقف اطلاق النار الان"


def test_english_lowercase_and_repeats():
    assert normalize_text("Ceasefire NOW!!! Soooo good") == "ceasefire now!!! soo good"  # only letters are de-elongated


def test_each_step_can_be_switched_off():
    off = NormalizeSteps(diacritics=False, alef=False, teh_marbuta=False, lowercase=False)
    assert normalize_text("أَهلاً بالمدرسة Hello", off) == "أَهلاً بالمدرسة Hello"
    assert normalize_text("مُؤتمر", NormalizeSteps()) == "مؤتمر"  # hamza seats are kept


def test_the_shared_block_normalises_raw_text_with_its_own_steps():
    from features import TextFeatures

    raw, clean = ["أَهلاً بالمدرسة"], ["اهلا بالمدرسه"]
    block = TextFeatures(word={"ngram_range": (1, 1)}).fit(raw + ["x yz"])
    assert abs(block.transform(raw) - block.transform(clean)).max() == 0
    kept = TextFeatures(normalize={"diacritics": False}, char={"ngram_range": (2, 2)}).fit(raw)
    assert "char__اَ" in set(kept.get_feature_names_out())  # the step switched off: the fatha stays


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_total_deterministic_and_idempotent(text):
    once = normalize_text(text)
    assert isinstance(once, str)
    assert normalize_text(text) == once
    assert normalize_text(once) == once


def _reference(text: str, steps: NormalizeSteps) -> str:
    """The plain, slow statement of the rules: one step after the other, as documented."""
    import re

    from features import normalize as n

    text = text.replace("\x00", "")
    if steps.markup:
        text = n._MARKUP.sub(" ", text)
    if steps.urls:
        text = n._URL.sub(" ", text)
    if steps.mentions:
        text = n._MENTION.sub(" ", text)
    if steps.hashtags:
        text = n._HASHTAG.sub(lambda m: " " + m.group(1).replace("_", " ") + " ", text)
    if steps.diacritics:
        text = n._DIACRITICS.sub("", text)
    if steps.tatweel:
        text = text.replace("\u0640", "")
    for on, table in ((steps.alef, n._ALEF_TABLE), (steps.alef_maqsura, n._YEH_TABLE),
                      (steps.teh_marbuta, n._TEH_MARBUTA_TABLE),
                      (steps.digits, n._DIGITS_TABLE)):
        if on:
            text = text.translate(table)
    if steps.lowercase:
        text = text.lower()
    if steps.repeats:
        prev = None
        while prev != text:
            prev, text = text, n._REPEAT.sub(r"\1\1", text)
    return re.sub(r"\s+", " ", text).strip()


_TRICKY = st.lists(st.sampled_from([*"آأإٱىةؤئ٠٩۰۹ـًٌَّٰ \t\n\u00a0\u2028\x1c@#_:/.wWhtps!aAسلم\"", "#SemST"]),
                   max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_TRICKY, st.text()), st.sampled_from([NormalizeSteps(),
                                                       *[NormalizeSteps(**{f: False}) for f in NormalizeSteps.names()]]))
def test_fast_normaliser_equals_the_step_by_step_rules(text, steps):
    assert normalize_text(text, steps) == _reference(text, steps)


def test_benchmark_markup_is_stripped_as_the_loaders_strip_it():
    # SemEval-2016's loader drops the trailing " #SemST"; ArSarcasm-v2's the stray quote pair
    assert normalize_text("Hillary for president #SemST") == normalize_text("Hillary for president")
    assert normalize_text('"مع فيدرر يا آجا"') == normalize_text("مع فيدرر يا آجا") == "مع فيدرر يا اجا"
    assert normalize_text('"quoted" words') == "quoted words"
    assert normalize_text("#SemSTx") == "semstx"  # only the whole marker word


def test_str_split_whitespace_is_regex_whitespace():
    # normalize_text collapses spaces with str.split(); the rule is stated with re's \s
    import re

    space = re.compile(r"\s")
    assert all((space.match(chr(c)) is not None) == chr(c).isspace() for c in range(0x110000))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_TRICKY, st.text()), max_size=6),
       st.sampled_from([NormalizeSteps(), *[NormalizeSteps(**{f: False}) for f in NormalizeSteps.names()]]))
def test_word_by_word_normalisation_equals_the_whole_text(texts, steps):
    """normalize_texts works word by word and remembers words; normalize_text works on the whole text."""
    assert normalize_texts(texts, steps) == [normalize_text(t, steps) for t in texts]
    assert normalize_texts(texts, steps) == [normalize_text(t, steps) for t in texts]  # from memory
