"""Kazakh text for the model's eyes, with a map back to the caller's characters.

Every transform here returns a `TextView`: the new text plus, for each of its
characters, the span of original characters it came from. Views compose, so a span
found in the fully normalised Cyrillic view of a Latin-script article maps back to
exactly the Latin characters the user gave us.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass

CYRILLIC_KK = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
_CYR_RE = re.compile(r"[\u0400-\u04FF]")
_LAT_RE = re.compile(r"[A-Za-z\u00C0-\u024F]")
_WORD_RE = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class TextView:
    """`text` with `starts[i]:ends[i]` = the original characters behind `text[i]`."""

    text: str
    starts: array
    ends: array
    source_length: int

    @classmethod
    def identity(cls, text: str) -> TextView:
        idx = array("l", range(len(text)))
        return cls(text, idx, array("l", range(1, len(text) + 1)), len(text))

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of this view to the smallest original span covering it."""
        if not 0 <= start <= end <= len(self.text):
            raise IndexError(f"span {start}:{end} outside a view of length {len(self.text)}")
        if start == end:
            pos = self.starts[start] if start < len(self.text) else self.source_length
            return pos, pos
        return self.starts[start], self.ends[end - 1]

    def from_source(self, start: int, end: int) -> tuple[int, int]:
        """Map an original span to the view characters that came from inside it."""
        lo = bisect.bisect_left(self.starts, start)
        hi = bisect.bisect_left(self.starts, end)
        return (lo, hi) if hi > lo else (lo, lo)

    def then(self, transform: Callable[[str], TextView]) -> TextView:
        """Apply a transform to this view's text and compose the maps."""
        nxt: TextView = transform(self.text)
        starts = array("l", (self.starts[s] for s in nxt.starts))
        ends = array("l", (self.ends[e - 1] for e in nxt.ends))
        return TextView(nxt.text, starts, ends, self.source_length)


def _unchanged(text: str, start: int, end: int) -> Iterable[tuple[str, int, int]]:
    """The pieces of `text[start:end]` kept as they are, one per character."""
    for i in range(start, end):
        yield text[i], i, i + 1


def _matches_replaced(
    text: str,
    pattern: re.Pattern[str],
    replace: Callable[[re.Match[str]], Iterable[tuple[str, int, int]]],
) -> Iterable[tuple[str, int, int]]:
    """The pieces of `text`: each match of `pattern` as `replace` makes it, the
    characters between the matches as they are."""
    pos = 0
    for m in pattern.finditer(text):
        yield from _unchanged(text, pos, m.start())
        yield from replace(m)
        pos = m.end()
    yield from _unchanged(text, pos, len(text))


def _view(text: str, pieces: Iterable[tuple[str, int, int]]) -> TextView:
    """Build a view from (output, source start, source end) pieces in order."""
    out: list[str] = []
    starts, ends = array("l"), array("l")
    for chunk, s, e in pieces:
        out.append(chunk)
        for _ in chunk:
            starts.append(s)
            ends.append(e)
    return TextView("".join(out), starts, ends, len(text))


# --- Unicode NFC ---------------------------------------------------------------------


def nfc(text: str) -> TextView:
    """NFC per base character and its combining marks, so maps stay exact."""
    if unicodedata.is_normalized("NFC", text):
        return TextView.identity(text)

    def pieces() -> Iterable[tuple[str, int, int]]:
        i = 0
        while i < len(text):
            j = i + 1
            while j < len(text) and unicodedata.combining(text[j]):
                j += 1
            yield unicodedata.normalize("NFC", text[i:j]), i, j
            i = j

    return _view(text, pieces())


# --- look-alike letters, quotes, dashes, whitespace --------------------------------

# Latin letters that look like Cyrillic ones, fixed only inside words that also hold
# Cyrillic letters (mixed keyboards), never in genuine Latin-script words.
_LATIN_LOOKALIKE = dict(
    zip(
        "aeopcxyiAEOPCXYIKMHTBı",
        "аеорсхуіАЕОРСХУІКМНТВі",
        strict=True,
    )
)
# Letters of other Cyrillic alphabets typed in place of Kazakh ones.
_CYRILLIC_LOOKALIKE = {
    "ə": "ә", "Ə": "Ә", "ӛ": "ә", "Ӛ": "Ә",
    "ѳ": "ө", "Ѳ": "Ө", "ӧ": "ө", "Ӧ": "Ө",
    "ҡ": "қ", "Ҡ": "Қ", "ӄ": "қ", "Ӄ": "Қ",
    "ҥ": "ң", "Ҥ": "Ң", "ӊ": "ң", "Ӊ": "Ң", "ӈ": "ң", "Ӈ": "Ң",
    "ӱ": "ү", "Ӱ": "Ү", "ҙ": "з", "ӏ": "і", "Ӏ": "І",
}  # fmt: skip
_QUOTES = {
    "“": "«", "„": "«", "‟": "«", "‹": "«", "”": "»", "›": "»", "〝": "«", "〞": "»",
}  # fmt: skip
_DASHES = {"—": "–", "―": "–", "‒": "–", "−": "–", "‐": "-", "‑": "-"}


def fix_lookalikes(text: str) -> TextView:
    """Latin look-alikes inside Cyrillic words, and whole words made only of them when
    the text around is Cyrillic (`cy` typed for `су`), become Cyrillic letters."""
    chars = list(text)
    words = _WORD_RE.findall(text)
    cyr_words = sum(1 for w in words if _CYR_RE.search(w))
    lat_words = sum(
        1 for w in words if any(_LAT_RE.match(c) and c not in _LATIN_LOOKALIKE for c in w)
    )
    cyrillic_text = cyr_words >= 2 * lat_words and cyr_words > 0
    for i, ch in enumerate(chars):
        if ch in _CYRILLIC_LOOKALIKE:
            chars[i] = _CYRILLIC_LOOKALIKE[ch]
    for m in _WORD_RE.finditer(text):
        word = m.group()
        mixed = _CYR_RE.search(word) and _LAT_RE.search(word)
        disguised = cyrillic_text and all(ch in _LATIN_LOOKALIKE for ch in word)
        if mixed or disguised:
            for i in range(m.start(), m.end()):
                chars[i] = _LATIN_LOOKALIKE.get(chars[i], chars[i])
    return _view(text, ((c, i, i + 1) for i, c in enumerate(chars)))


def unify_punctuation(text: str) -> TextView:
    """One opening and one closing quote mark, one dash: the genre's forms."""

    def pieces() -> Iterable[tuple[str, int, int]]:
        for i, ch in enumerate(text):
            if ch in _QUOTES:
                ch = _QUOTES[ch]
            elif ch in _DASHES:
                ch = _DASHES[ch]
            elif ch == '"':
                opening = i == 0 or text[i - 1].isspace() or text[i - 1] in "([«–-"
                ch = "«" if opening else "»"
            elif ch == "-" and 0 < i < len(text) - 1 and text[i - 1] == " " == text[i + 1]:
                ch = "–"  # a spaced hyphen is a dash
            elif ch == "-" and i == 0 and len(text) > 1 and text[1] == " ":
                ch = "–"
            yield ch, i, i + 1

    return _view(text, pieces())


_SPACE_RUN = re.compile(r"\s*\n\s*|[^\S\n]+|[\u200b\u200c\u200d\u2060\ufeff]+")


def collapse_whitespace(text: str) -> TextView:
    """Runs of spaces become one space, runs holding a line break one newline;
    zero-width characters go."""

    def run(m: re.Match[str]) -> Iterable[tuple[str, int, int]]:
        if m.group()[0].isspace() or m.group()[-1].isspace():
            yield ("\n" if "\n" in m.group() else " "), m.start(), m.end()

    return _view(text, _matches_replaced(text, _SPACE_RUN, run))


# --- transliteration ---------------------------------------------------------------

CYR_TO_LAT = {
    "а": "a", "ә": "á", "б": "b", "в": "v", "г": "g", "ғ": "ǵ", "д": "d", "е": "e",
    "ё": "ıo", "ж": "j", "з": "z", "и": "ı", "й": "ı", "к": "k", "қ": "q", "л": "l",
    "м": "m", "н": "n", "ң": "ń", "о": "o", "ө": "ó", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "ý", "ұ": "u", "ү": "ú", "ф": "f", "х": "h", "һ": "h", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e",
    "ю": "ıý", "я": "ıa",
}  # fmt: skip
_LAT_TO_CYR = {
    "a": "а", "á": "ә", "b": "б", "d": "д", "e": "е", "f": "ф", "g": "г", "ǵ": "ғ",
    "h": "х", "i": "і", "ı": "и", "j": "ж", "k": "к", "l": "л", "m": "м", "n": "н",
    "ń": "ң", "o": "о", "ó": "ө", "p": "п", "q": "қ", "r": "р", "s": "с", "t": "т",
    "u": "ұ", "ú": "ү", "v": "в", "y": "ы", "ý": "у", "z": "з",
}  # fmt: skip
_LAT_VOWELS = set("aáeioóuúyýı")
_BACK_VOWELS = set("aouy")
# Word starts where the official table loses information (soft and hard signs, э, һ,
# и after a vowel), as Latin stem -> Cyrillic stem. Longest match wins.
_STEM_EXCEPTIONS = {
    "ýkraın": "украин", "kaır": "каир", "rýbl": "рубль", "obekt": "объект",
    "sýbekt": "субъект", "fılm": "фильм", "aprel": "апрель", "ıýl": "июль",
    "ıýn": "июнь", "kompıýter": "компьютер", "poezı": "поэзи", "aero": "аэро",
    "ekonom": "эконом", "eksport": "экспорт", "ekspert": "эксперт", "ekspo": "экспо",
    "ekspedıt": "экспедиц", "ekstrem": "экстрем", "energet": "энергет",
    "energ": "энерг", "elektr": "электр", "etnos": "этнос", "ekran": "экран",
    "ekzıt": "экзит", "premer": "премьер", "mobıl": "мобиль", "avtomobıl": "автомобиль",
    "asfalt": "асфальт", "gospıtal": "госпиталь", "belarýs": "беларусь", "boıng": "боинг",
    "volontıor": "волонтёр", "aktıor": "актёр", "rejısıor": "режиссёр",
    "ıshaq": "исхақ", "jahan": "жаһан", "shveıts": "швейц", "ıá": "иә",
    "evolıý": "эволю", "etap": "этап",
    "efır": "эфир", "ekolog": "эколог", "ekıpaj": "экипаж", "eston": "эстон",
    "elıt": "элит", "emır": "эмир", "efıopı": "эфиопи", "ekvador": "эквадор",
    "qaharman": "қаһарман", "jıhaz": "жиһаз", "shahar": "шаһар", "aıdahar": "айдаһар",
    "gaýhar": "гауһар", "ıdeıa": "идея", "olımpıada": "олимпиада",
}  # fmt: skip
_STEMS_BY_LENGTH = sorted(_STEM_EXCEPTIONS, key=len, reverse=True)
# ц before these continuations, тс otherwise (айтса, кетсе vs процент, концерт)
_TS_AS_TSE = re.compile(r"ts(?=ı|e(?:ı|nt|nz|s|r|pt|h|l|z))")


def lower_per_letter(word: str) -> str:
    """Lower case with one character per character: `str.lower` makes the Turkish `İ`
    two ("i" and a combining dot), which would shift every offset after it."""
    return "".join(c.lower()[:1] for c in word)


def _translit_word_lat(word: str) -> list[tuple[str, int, int]]:
    """Latin-script Kazakh word -> Cyrillic pieces with character spans in `word`."""
    lw = lower_per_letter(word)
    letters = [c for c in word if c.isalpha()]
    caps = len(letters) > 1 and all(
        c.isupper() or (c in "hH" and i > 0 and word[i - 1] in "SCsc")
        for i, c in enumerate(word)
        if c.isalpha()
    )
    out = _translit_stem(word, lw)
    k = out[-1][2] if out else 0
    while k < len(lw):
        c = lw[k]
        prev = lw[k - 1] if k else ""
        nxt = lw[k + 1] if k + 1 < len(lw) else ""
        if lw.startswith("shch", k):
            out.append(("щ", k, k + 4))
            k += 4
        elif c == "s" and nxt == "h":
            out.append(("ш", k, k + 2))
            k += 2
        elif c == "c" and nxt == "h":
            out.append(("ч", k, k + 2))
            k += 2
        elif c == "t" and nxt == "s" and (k == 0 or _TS_AS_TSE.match(lw, k)):
            out.append(("ц", k, k + 2))
            k += 2
        elif c == "ı" and nxt == "a" and (k == 0 or prev in _LAT_VOWELS):
            # я is written ıa, и is ı: so ия is ııa, and ıa after a consonant is иа
            out.append(("я", k, k + 2))
            k += 2
        elif c == "ı" and nxt == "ý":
            out.append(("ю", k, k + 2))
            k += 2
        elif c == "ı":
            # й after a vowel (ý is a glide: заманауи), и after a consonant; ıı at a
            # word's end or before a consonant is ий (Дмитрий)
            after_vowel = prev in _LAT_VOWELS and prev != "ý"
            glide = nxt not in _LAT_VOWELS if prev == "ı" else after_vowel
            out.append(("й" if glide else "и", k, k + 1))
            k += 1
        elif c == "i" and word[k] == "I":
            # capital I is both І and the capital of ı (И): vowel harmony decides
            pool = lw if caps else lw[k + 1 :]
            rest = [v for v in pool if v in _LAT_VOWELS and v not in "ıi"] or [
                v for v in lw[k + 1 :] if v == "i"
            ]
            if nxt == "a":
                out.append(("я", k, k + 2))
                k += 2
                continue
            if nxt == "ý":
                out.append(("ю", k, k + 2))
                k += 2
                continue
            out.append(("и" if rest and rest[0] in _BACK_VOWELS else "і", k, k + 1))
            k += 1
        elif c in _LAT_TO_CYR:
            out.append((_LAT_TO_CYR[c], k, k + 1))
            k += 1
        else:
            out.append((word[k], k, k + 1))
            k += 1
    return _recase(word, out, caps)


def _translit_stem(word: str, lw: str) -> list[tuple[str, int, int]]:
    """The pieces of an exceptional stem the word starts with (none if it has none)."""
    # a capital I may stand for ı, so stems starting with ı match it too
    key = "ı" + lw[1:] if word[:1] == "I" and lw[:2] != "ıa" else lw
    for stem in _STEMS_BY_LENGTH:
        if lw.startswith(stem) or key.startswith(stem):
            cyr = _STEM_EXCEPTIONS[stem]
            # spread the stem's Cyrillic letters over its Latin letters proportionally
            out = []
            for j, ch in enumerate(cyr):
                a = j * len(stem) // len(cyr)
                b = max(a + 1, (j + 1) * len(stem) // len(cyr))
                out.append((ch, a, b))
            return out
    return []


def _recase(word: str, out: list[tuple[str, int, int]], caps: bool) -> list[tuple[str, int, int]]:
    """Upper-case the pieces of capitals (all of them in an all-caps word)."""
    cased, seen = [], set()
    for ch, a, b in out:
        # a capital anywhere in the piece: Kazinform writes a capital Я as `ıA` (`ıAdykar`)
        if caps or (not word[a:b].islower() and a not in seen):
            ch = ch.upper()
        seen.add(a)
        cased.append((ch, a, b))
    return cased


_FOREIGN_LETTERS = set("cwxäöüéèàçñß")


def latin_to_cyrillic(text: str) -> TextView:
    """Kazinform's accented Latin alphabet -> Cyrillic Kazakh, with an exact map.

    Words with letters outside the Kazakh Latin alphabet (c, w, x, ä, …) are foreign
    names and stay as they are; Cyrillic and non-letters pass through.
    """

    def word(m: re.Match[str]) -> Iterable[tuple[str, int, int]]:
        word, lw = m.group(), lower_per_letter(m.group())
        latin = _LAT_RE.search(word) and not _CYR_RE.search(word)
        if latin and not (_FOREIGN_LETTERS & set(lw.replace("ch", ""))):
            for ch, a, b in _translit_word_lat(word):
                yield ch, m.start() + a, m.start() + b
        else:
            yield from _unchanged(text, m.start(), m.end())

    return _view(text, _matches_replaced(text, _WORD_RE, word))


def cyrillic_to_latin(text: str) -> str:
    """The official Cyrillic -> Latin table (2018, acute accents), as Kazinform uses."""
    out = []
    for ch in text:
        low = ch.lower()
        lat = CYR_TO_LAT.get(low)
        if lat is None:
            out.append(ch)
        elif ch != low and lat:
            out.append(lat[0].upper() + lat[1:])
        else:
            out.append(lat)
    return "".join(out)


# --- scripts and the whole pipeline ------------------------------------------------

_KK_LATIN_MARKS = set("áóúýıǵńÁÓÚÝǴŃ")


def script_of(text: str) -> str:
    """`cyrl`, `latn`, `mixed` (both in real amounts) or `none` (no letters)."""
    cyr = len(_CYR_RE.findall(text))
    lat = len(_LAT_RE.findall(text))
    if cyr == lat == 0:
        return "none"
    if cyr >= 4 * lat:
        return "cyrl"
    if lat >= 4 * cyr:
        return "latn"
    return "mixed"


def has_kazakh_latin_marks(text: str) -> bool:
    return any(ch in _KK_LATIN_MARKS for ch in text)


def normalize(text: str, transliterate: bool | None = None) -> TextView:
    """The model's view: NFC, Latin Kazakh -> Cyrillic, look-alikes, quotes, spaces.

    `transliterate=None` decides from the text: Latin script carrying Kazakh letters.
    """
    return normalize_nfc(nfc(text), transliterate)


def normalize_nfc(view: TextView, transliterate: bool | None = None) -> TextView:
    """`normalize` from the text's NFC view (`nfc(text)`), for a caller that has made
    it already: an article reads its paragraphs' language from it first."""
    if transliterate is None:
        transliterate = script_of(view.text) != "cyrl" and has_kazakh_latin_marks(view.text)
    if transliterate:
        view = view.then(latin_to_cyrillic)
    return view.then(fix_lookalikes).then(unify_punctuation).then(collapse_whitespace)


@dataclass
class RoundTrip:
    """Cyrillic -> Latin -> Cyrillic agreement over words that hold Cyrillic letters."""

    words: int
    words_exact: int
    chars: int
    char_edits: int
    errors: dict[tuple[str, str], int]

    @property
    def word_accuracy(self) -> float:
        return self.words_exact / max(self.words, 1)

    @property
    def char_accuracy(self) -> float:
        return 1 - self.char_edits / max(self.chars, 1)


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def round_trip(sentences: Iterable[str]) -> RoundTrip:
    words = exact = chars = edits = 0
    errors: dict[tuple[str, str], int] = {}
    for sentence in sentences:
        for word in sentence.split():
            if not _CYR_RE.search(word):
                continue
            back = latin_to_cyrillic(cyrillic_to_latin(word)).text
            words += 1
            chars += len(word)
            if back == word:
                exact += 1
            else:
                edits += _edit_distance(word, back)
                errors[(word, back)] = errors.get((word, back), 0) + 1
    return RoundTrip(words, exact, chars, edits, errors)
