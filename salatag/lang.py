"""Language and script of paragraphs and articles.

lingua knows Kazakh, but only in Cyrillic: a Latin-script paragraph is judged on its
Cyrillic transliteration as well, and counts as Kazakh when that reads as Kazakh
more surely than the Latin text reads as any Latin-script language.
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


@dataclass(frozen=True)
class LangResult:
    lang: str  # ISO 639-1 code, "other", or "unknown" when too little text
    script: str  # cyrl | latn | mixed | none
    confidence: float


@cache
def _detector(kind: str) -> LanguageDetector:
    languages = _CYRILLIC if kind == "cyrl" else [*_LATIN, Language.KAZAKH]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def _best(detector: LanguageDetector, text: str) -> tuple[str, float]:
    values = detector.compute_language_confidence_values(text)
    if not values:
        return "unknown", 0.0
    top = values[0]
    return _CODES.get(top.language, "other"), top.value


def detect(text: str) -> LangResult:
    norm = nfc(text).text
    script = script_of(norm)
    letters = sum(ch.isalpha() for ch in norm)
    if script == "none" or letters < MIN_LETTERS:
        return LangResult("unknown", script, 0.0)
    if script == "cyrl":
        lang, conf = _best(_detector("cyrl"), norm)
        return LangResult(lang, script, conf)
    cyr = latin_to_cyrillic(norm).text
    kk_conf = _detector("cyrl").compute_language_confidence(cyr, Language.KAZAKH)
    lat_lang, lat_conf = _best(_detector("latn"), norm)
    if has_kazakh_latin_marks(norm) and kk_conf >= 0.5:
        return LangResult("kk", script, kk_conf)
    if kk_conf > 0.9 and lat_conf < 0.5:
        return LangResult("kk", script, kk_conf)
    if script == "mixed":
        lang, conf = _best(_detector("cyrl"), cyr)
        return LangResult(lang, script, conf)
    return LangResult(lat_lang, script, lat_conf)


def detect_article(paragraphs: list[str]) -> LangResult:
    """An article's language: the language of most of its text (by letters)."""
    weights: dict[tuple[str, str], int] = {}
    for para in paragraphs:
        result = detect(para)
        if result.lang == "unknown":
            continue
        key = (result.lang, result.script)
        weights[key] = weights.get(key, 0) + sum(ch.isalpha() for ch in para)
    if not weights:
        return LangResult("unknown", script_of(" ".join(paragraphs)), 0.0)
    (lang, script), top = max(weights.items(), key=lambda kv: kv[1])
    return LangResult(lang, script, top / sum(weights.values()))
