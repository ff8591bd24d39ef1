"""Word lists of the speaker-attribution rules: reporting verbs, complementizers, prepositions,
sentence starters, role nouns (Arabic and English), and the clitic helpers that match them.

Every Arabic entry is stored folded (:func:`stancelab.articles.text.fold`), as token keys are.
"""

from __future__ import annotations

from stancelab.articles.text import fold

# --------------------------------------------------------------------------- lexicon

def _arabic_verbs(*stems: str) -> set[str]:
    """Past stems with their feminine and plural forms (قال -> قالت، قالوا)."""
    out = set()
    for stem in stems:
        base = fold(stem)
        if base.endswith("ي") or base.endswith("ا"):  # نفى، دعا، رأى، أبدى
            root = base[:-1]
            out |= {base, root + "ت", root + "وا", base + "ت"}
        else:
            out |= {base, base + "ت", base + "وا"}
    return out


AR_PAST = _arabic_verbs(
    "قال", "أعلن", "أكد", "أشار", "أضاف", "شدد", "أعرب", "كشف", "حذر", "دعا", "اعتبر", "رحب", "نفى", "انتقد", "رأى",
    "أوضح", "تابع", "أفاد", "صرح", "ذكر", "لفت", "اتهم", "طالب", "أبدى", "أشاد", "دان", "أدان", "شكر", "رفض",
    "أبلغ", "ختم", "أردف", "استطرد", "وصف", "أقر", "حث", "جدد", "تعهد", "توعد", "هدد", "اقترح", "زعم", "شكك",
    "علق", "نوه", "أعربت", "استبعد", "استنكر", "ندد", "أيد", "عارض", "تساءل", "أوضحت",
    "نبه", "أفصح", "أقرت", "أكدت", "رد",
)
AR_PRESENT = {fold(p + s) for s in (
    "قول", "ؤكد", "علن", "حذر", "دعو", "تهم", "رفض", "نفي", "رحب", "نتقد", "طالب", "عتبر", "رى", "شدد", "كشف",
    "هدد", "توعد", "دين", "شيد", "عرب", "ضيف", "وضح", "صرح", "ستبعد", "ندد", "قر", "تعهد", "نفي", "حث",
    "جدد", "تهم", "ستنكر", "عد", "نبه", "رد") for p in ("ي", "ت")}
AR_VERBS = AR_PAST | AR_PRESENT
AR_COMPLEMENTIZERS = {fold(w) for w in (
    "أن", "إن", "بأن", "أنه", "إنه", "أنها", "إنها", "أنهم", "إنهم", "بأنه", "بأنها", "بأنهم", "لأن", "أنّ", "إنّ",
    "أنهما", "إنهما", "انهما")}
AR_PREPOSITIONS = {fold(w) for w in (
    "في", "خلال", "أمام", "عن", "من", "على", "إلى", "مع", "عبر", "لدى", "بعد", "قبل", "أثناء", "اليوم", "أمس",
    "يوم", "مساء", "صباح", "الخميس", "الجمعة", "السبت", "الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "بالقول",
    "قائلا", "قائلة", "بأنه", "ب", "ل", "حديثه", "كلمته", "تصريحاته", "تصريحات", "كذلك", "أيضا")}
AR_STARTERS = {fold(w) for w in (
    "كما", "ثم", "حيث", "فيما", "بينما", "إذ", "وإذ", "قد", "وقد", "فقد", "لقد", "بدوره", "بدورها", "جهته", "جهتها",
    "جانبه", "جانبها", "المقابل", "وكان", "وكانت", "كان", "كانت", "ولكن", "لكن", "فيما", "كذلك", "أيضا", "بدورهم",
    "جهتهم", "جانبهم", "بالمقابل", "وبدوره", "وبدورها", "ذلك", "وفي", "في", "أمس", "اليوم")}
AR_REPORTED = [[fold(w) for w in p.split()] for p in (
    "حسبما", "حسب ما", "بحسب ما", "وفق ما", "وفقا لما", "طبقا لما", "على ما", "وفقما", "بحسبما", "وفق")]
AR_ROLE_NOUNS = {fold(w) for w in (
    "وزير", "وزيرة", "رئيس", "رئيسة", "متحدث", "متحدثة", "ناطق", "ناطقة", "مسؤول", "مسؤولة", "مبعوث", "مبعوثة",
    "أمين", "مستشار", "مستشارة", "سفير", "سفيرة", "مندوب", "مندوبة", "منسق", "منسقة", "مفوض", "مفوضة", "زعيم",
    "قائد", "مدير", "مديرة", "نائب", "ممثل", "ممثلة", "وكيل", "سيد", "دبلوماسي", "جنرال", "عاهل", "ملك", "أمير",
    "مستشارة")}
EN_VERBS = {
    "said", "says", "told", "tells", "announced", "added", "warned", "stressed", "noted", "urged", "accused", "denied",
    "insisted", "argued", "explained", "stated", "declared", "claimed", "confirmed", "welcomed", "criticised",
    "criticized", "condemned", "pledged", "vowed", "suggested", "wrote", "tweeted", "replied", "continued",
    "acknowledged", "admitted", "rejected", "praised", "called", "asked", "emphasised", "emphasized", "reiterated",
    "expressed", "blamed", "threatened", "dismissed", "underlined", "recalled", "cautioned", "concluded",
    "warns", "urges", "calls", "rejects", "denies", "thanked", "disclosed", "described",
    "voiced", "proposed", "appealed", "informed", "welcomes", "revealed", "predicted", "complained", "conceded",
    "responded", "commented", "observed", "maintained", "signalled", "signaled", "assured", "promised", "hailed",
}
EN_AUX = {"has", "have", "had", "also", "again", "later", "then", "earlier", "previously", "repeatedly", "once",
           "publicly", "separately", "however", "would", "will", "on", "monday", "tuesday", "wednesday",
           "thursday", "friday", "saturday", "sunday", "yesterday", "today"}
EN_PRONOUNS = {"he", "she", "they", "it"}
EN_ROLE_NOUNS = {"minister", "president", "spokesman", "spokeswoman", "spokesperson", "secretary", "chief",
                  "envoy", "ambassador", "official", "chancellor", "premier", "leader", "commissioner",
                  "director", "head", "general", "coordinator", "representative", "prime"}
EN_BOUNDARY = {"that", ",", ";", ":", "”", "“", "\"", "«", "»", "(", ")", "and", "but", "while", "as", "because",
                "meanwhile", "however"}
AR_WINDOW_STOP = {fold(w) for w in (":", "“", "«", '"', ".", "؟", "الذي", "التي", "الذين", "اللذين", "بما", "بأنها")}
AR_NEGATIONS = {fold(w) for w in ("لم", "لن", "لا", "ما", "ولم", "ولن", "ولا", "فلم", "قد", "سوف", "وقد")}
AR_CONDITIONAL_VERBS = {fold(verb + ending): fold(cue) for verb, cue in (
    ("عبر", "عن"), ("حمل", "مسؤولية"), ("ثمن", ""), ("سخر", "من"), ("قدم", "تعازيه")) for ending in ("", "ت")}
AR_CONDITIONAL_VERBS |= {fold(v): fold("على") for v in ("أثنى", "أثنت")}
QUOTE_TOKENS = {"“", "”", "«", "»", '"', "„"}


# --------------------------------------------------------------------------- clitics

def strip_clitic(key: str, choices: set[str]) -> str | None:
    """``key`` or ``key`` without a leading و/ف (وأضاف -> اضاف) if that is in ``choices``."""
    if key in choices:
        return key
    for prefix in ("و", "ف"):
        if key.startswith(prefix) and key[len(prefix):] in choices:
            return key[len(prefix):]
    return None


CLITICS = ("و", "ف", "ب", "ل", "ك", "وب", "ول", "فب", "فل", "وك")


def deprefix(key: str) -> str:
    """Without the article or a particle + article: الروسي، للجامعة، بالحلف -> روسي، جامعه، حلف."""
    for prefix in ("ال", "لل", "بال", "وال", "فال", "كال"):
        if key.startswith(prefix) and len(key) > len(prefix) + 2:
            return key[len(prefix):]
    return key

