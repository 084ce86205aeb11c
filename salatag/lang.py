"""Language and script of paragraphs and articles.

lingua knows Kazakh, but only in Cyrillic: a Latin-script paragraph is judged on its
Cyrillic transliteration as well, and counts as Kazakh when that reads as Kazakh
more surely than the Latin text reads as any Latin-script language.

An article is judged first with lingua's low-accuracy mode (trigram models only: 0.05 s
to read instead of 0.9 s, which is most of a one-article run's start-up), and again in
the high-accuracy mode unless that first verdict is clear-cut: at least
`QUICK_MIN_LETTERS` letters judged and `QUICK_MIN_SHARE` of them in one language. On the
project's 2 795 train and dev articles the two ways give the same verdict for every
article (`tests/test_lang.py`); the quick one alone differs on two one-line articles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from salatag.text import has_kazakh_latin_marks, latin_to_cyrillic, nfc, script_of

_CODES = {
    Language.KAZAKH: "kk",
    Language.RUSSIAN: "ru",
    Language.UKRAINIAN: "uk",
    Language.MONGOLIAN: "mn",
    Language.BULGARIAN: "bg",
    Language.ENGLISH: "en",
    Language.TURKISH: "tr",
    Language.AZERBAIJANI: "az",
    Language.GERMAN: "de",
    Language.FRENCH: "fr",
    Language.SPANISH: "es",
}
_CYRILLIC = [
    Language.KAZAKH,
    Language.RUSSIAN,
    Language.UKRAINIAN,
    Language.MONGOLIAN,
    Language.BULGARIAN,
]
_LATIN = [
    Language.ENGLISH,
    Language.TURKISH,
    Language.AZERBAIJANI,
    Language.GERMAN,
    Language.FRENCH,
    Language.SPANISH,
]
MIN_LETTERS = 12  # below this, a line is too short to judge (dates, names, counters)
QUICK_MIN_LETTERS = 120  # lingua's low-accuracy mode is reliable from about 120 characters
QUICK_MIN_SHARE = 0.99


@dataclass(frozen=True)
class LangResult:
    lang: str  # ISO 639-1 code, "other", or "unknown" when too little text
    script: str  # cyrl | latn | mixed | none
    confidence: float


@cache
def _detector(kind: str, accurate: bool = True) -> LanguageDetector:
    languages = _CYRILLIC if kind == "cyrl" else [*_LATIN, Language.KAZAKH]
    builder = LanguageDetectorBuilder.from_languages(*languages)
    return (builder if accurate else builder.with_low_accuracy_mode()).build()


def _best(detector: LanguageDetector, text: str) -> tuple[str, float]:
    values = detector.compute_language_confidence_values(text)
    if not values:
        return "unknown", 0.0
    top = values[0]
    return _CODES.get(top.language, "other"), top.value


@dataclass(frozen=True)
class _Prepared:
    """A paragraph as detection reads it, prepared once for both lingua modes."""

    text: str  # NFC
    script: str
    letters: int
    cyrillic: str  # the Latin-to-Cyrillic transliteration, where detection reads it


def _prepare(norm: str) -> _Prepared:
    script = script_of(norm)
    letters = sum(ch.isalpha() for ch in norm)
    judged = script not in ("none", "cyrl") and letters >= MIN_LETTERS
    return _Prepared(norm, script, letters, latin_to_cyrillic(norm).text if judged else "")


def detect(text: str, accurate: bool = True) -> LangResult:
    return _detect(_prepare(nfc(text).text), accurate)


def _detect(para: _Prepared, accurate: bool) -> LangResult:
    norm, script, cyr = para.text, para.script, para.cyrillic
    if script == "none" or para.letters < MIN_LETTERS:
        return LangResult("unknown", script, 0.0)
    cyrillic = _detector("cyrl", accurate)
    if script == "cyrl":
        lang, conf = _best(cyrillic, norm)
        return LangResult(lang, script, conf)
    kk_conf = cyrillic.compute_language_confidence(cyr, Language.KAZAKH)
    lat_lang, lat_conf = _best(_detector("latn", accurate), norm)
    if has_kazakh_latin_marks(norm) and kk_conf >= 0.5:
        return LangResult("kk", script, kk_conf)
    if kk_conf > 0.9 and lat_conf < 0.5:
        return LangResult("kk", script, kk_conf)
    if script == "mixed":
        lang, conf = _best(cyrillic, cyr)
        return LangResult(lang, script, conf)
    return LangResult(lat_lang, script, lat_conf)


def detect_article(
    paragraphs: list[str], accurate: bool = False, nfc_texts: list[str] | None = None
) -> LangResult:
    """An article's language: the language of most of its text (by letters); quick
    when the quick verdict is clear-cut, accurate otherwise (see the module's doc), or
    always accurate if asked. `nfc_texts`: the paragraphs in NFC, where the caller has
    them already (an article normalises its text once), else they are made here."""
    if nfc_texts is None:
        nfc_texts = [nfc(p).text for p in paragraphs]
    prepared = [_prepare(norm) for norm in nfc_texts]
    if accurate:
        return _article(paragraphs, prepared, accurate=True)[0]
    quick, letters = _article(paragraphs, prepared, accurate=False)
    if letters >= QUICK_MIN_LETTERS and quick.confidence >= QUICK_MIN_SHARE:
        return quick
    return _article(paragraphs, prepared, accurate=True)[0]


def _article(
    paragraphs: list[str], prepared: list[_Prepared], accurate: bool
) -> tuple[LangResult, int]:
    weights: dict[tuple[str, str], int] = {}
    for para, prep in zip(paragraphs, prepared, strict=True):
        result = _detect(prep, accurate)
        if result.lang == "unknown":
            continue
        key = (result.lang, result.script)
        weights[key] = weights.get(key, 0) + sum(ch.isalpha() for ch in para)
    if not weights:
        return LangResult("unknown", script_of(" ".join(paragraphs)), 0.0), 0
    (lang, script), top = max(weights.items(), key=lambda kv: kv[1])
    total = sum(weights.values())
    return LangResult(lang, script, top / total), total
