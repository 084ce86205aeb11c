"""Page chrome by rules: what scrapers drag along around the story.

Rules run on the model's view (NFC, Cyrillic, unified dashes), so one set covers
Latin-script pages too. They are a first pass and a feature a model can learn from;
the labelled corpus has the final word.
"""

from __future__ import annotations

import re

_MONTHS = [
    "қаңтар",
    "ақпан",
    "наурыз",
    "сәуір",
    "мамыр",
    "маусым",
    "шілде",
    "тамыз",
    "қыркүйек",
    "қазан",
    "қараша",
    "желтоқсан",
    "январ",
    "феврал",
    "март",
    "апрел",
    "ма",
    "июн",
    "июл",
    "август",
    "сентябр",
    "октябр",
    "ноябр",
    "декабр",
]
_DATE_WORDS = re.compile(
    r"\b(?:" + "|".join(_MONTHS) + r")\w*"
    r"|\b(?:gmt|utc|гмт|утс|жыл|ж|сағат|бүгін|кеше|сегодня|вчера)\b"
    r"|\b(?:дүйсенбі|сейсенбі|сәрсенбі|бейсенбі|жұма|сенбі|жексенбі)\b"
)
_COUNTER = re.compile(
    r"^(?:\d[\d\s.,]*\s*(?:k|м|мың)?\s*"
    r"(?:рет|пікір\w*|қаралым\w*|көрсетілім\w*|просмотр\w*|комментари\w*|лайк\w*|👁)"
    r"|(?:көрсетілді|қаралды|пікір(?:лер)?|просмотры|комментарии)\s*:?\s*[\d\s]*)$"
)
_READING = re.compile(r"оқу\s+уақыты|оқуға\s+\d+|\d+\s*мин(?:ут)?\w*\s+оқ|время\s+чтения")
_CREDIT = re.compile(
    r"^(?:фото|сурет|видео|коллаж|инфографика|иллюстрация|photo|foto|сурет|фотосурет)"
    r"(?:\s*(?:[:–-]|\bавторы\b)|суреттер)"
)
_BYLINE = re.compile(
    r"^(?:автор(?:ы)?|тілші|дайындаған|мәтін|редактор|материалды\s+дайындаған)\s*[:–]"
)
_SHARE = re.compile(r"^(?:бөлісу|бөлісіңіз|поделиться|share)\b\s*:?")
_NETWORKS = {"facebook", "telegram", "whatsapp", "vk", "twitter", "x", "instagram",
             "youtube", "tiktok", "одноклассники", "вконтакте", "threads"}  # fmt: skip
_SOURCE_TAG = re.compile(r"^[\w.-]+\.(?:kz|қз|ru|com|org|net)$|^(?:казинформ|kazinform)$")
_RELATED = re.compile(
    r"^(?:тағы\s+оқыңыз|ұқсас\s+(?:жаңалықтар|материалдар)|көп\s+оқыл\w*|үздік\s+материалдар"
    r"|оқырман\s+таңдауы|соңғы\s+жаңалықтар|тақырыпқа\s+қатысты|байланысты\s+(?:жаңалықтар|материалдар)"
    r"|тағы\s+да\s+оқыңыз|танымал\s+(?:жаңалықтар|материалдар)|читайте\s+также|похожие\s+новости|популярное)\b"
)
_SENTENCE_END = re.compile(r"[.!?…»]$")


def is_chrome_line(line: str) -> bool:
    """A single line that is chrome on its own, whatever surrounds it."""
    low = line.strip().lower()
    if not low:
        return False
    rest = _DATE_WORDS.sub("", low)
    if not re.sub(r"[\d\s:.,/|–+()-]+", "", rest) and re.search(r"\d", low):
        return True  # a date or a time alone
    if _COUNTER.match(low) or (_READING.search(low) and len(low) < 60):
        return True
    if _CREDIT.match(low) or _BYLINE.match(low) or _SHARE.match(low):
        return True
    words = re.findall(r"\w+", low)
    if words and len(words) <= 8 and all(w in _NETWORKS for w in words):
        return True
    return bool(_SOURCE_TAG.match(low))


def chrome_flags(lines: list[str]) -> list[bool]:
    """Chrome flags for an article's paragraphs (model-view text, in order).

    A related-headlines heading makes the short, headline-like lines after it chrome
    too, until a line that reads like story text again.
    """
    flags: list[bool] = []
    in_list = False
    for line in lines:
        low = line.strip().lower()
        if _RELATED.match(low):
            flags.append(True)
            in_list = True
            continue
        if in_list and len(low) <= 160 and not _SENTENCE_END.search(low):
            flags.append(True)
            continue
        in_list = False
        flags.append(is_chrome_line(low))
    return flags
