"""Normalisation keeps an exact map to the original; transliteration is measured."""

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from salatag.corpus import kaznerd_sentences
from salatag.text import (
    cyrillic_to_latin,
    latin_to_cyrillic,
    normalize,
    round_trip,
    script_of,
)

WORDS = [
    "Қазақстан",
    "Президенті",
    "сауда",
    "ынтымақтастық",
    "көлік",
    "теміржол",
    "энергетика",
    "су",
    "ресурстары",
    "қауіпсіздік",
    "Өзбекстан",
    "Тоқаев",
    "деді",
    "мұнай",
    "газ",
    "инвестиция",
    "әуе",
    "рейсі",
    "Арал",
    "шекара",
    "серіктеспіз",
    "Біз",
]
LATIN_LOOKALIKE = {
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "х": "x",
    "у": "y",
    "і": "i",
    "К": "K",
    "М": "M",
    "Н": "H",
    "Т": "T",
    "В": "B",
    "А": "A",
}
SEPARATORS = [" ", "  ", "\t", " \u00a0", " – ", " — ", " - ", ", ", " «", "» ", "\u200b "]


@st.composite
def edited_texts(draw: st.DrawFn) -> tuple[str, list[tuple[int, int, str]]]:
    """A text of known words, randomly edited; returns it with each word's span."""
    pieces: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for _ in range(draw(st.integers(1, 12))):
        word = draw(st.sampled_from(WORDS))
        edited = "".join(
            LATIN_LOOKALIKE[ch] if ch in LATIN_LOOKALIKE and draw(st.booleans()) else ch
            for ch in word
        )
        if not re.search("[\u0400-\u04ff]", edited):  # all look-alikes: a Latin word,
            edited = word  # which the normaliser rightly leaves alone
        if draw(st.booleans()):
            edited = unicodedata.normalize("NFD", edited)  # decomposed й, ё
        spans.append((pos, pos + len(edited), word))
        sep = draw(st.sampled_from(SEPARATORS))
        pieces += [edited, sep]
        pos += len(edited) + len(sep)
    return "".join(pieces), spans


@settings(max_examples=300, deadline=None)
@given(edited_texts())
def test_every_word_maps_back_to_its_original_characters(case) -> None:
    text, spans = case
    view = normalize(text, transliterate=False)
    found = [m for m in re.finditer(r"\w+", view.text)]
    assert [m.group() for m in found] == [w for _, _, w in spans]
    for match, (start, end, _) in zip(found, spans, strict=True):
        assert view.to_source(*match.span()) == (start, end)
        assert view.from_source(start, end) == match.span()


def test_normalisation_unifies_quotes_dashes_and_spaces() -> None:
    view = normalize("“Біз —  дайынбыз”  - деді\u200b ол.", transliterate=False)
    assert view.text == "«Біз – дайынбыз» – деді ол."


LATIN_WORDS = [
    "Qazaqstan",
    "Prezıdenti",
    "delegatsııasyn",
    "ınvestıtsııa",
    "baılanys",
    "Eýrazııa",
    "TAShKENT",
    "saýda-ekonomıkalyq",
    "áýe",
    "ǵalym",
    "Ýkraına",
    "İstanbul",  # "İ".lower() is two characters: offsets must not shift
    "DSİ",
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(LATIN_WORDS), min_size=1, max_size=10),
    st.lists(st.sampled_from([" ", ", ", ". ", " – ", "  "]), min_size=10, max_size=10),
)
def test_latin_words_map_back_after_transliteration(words, seps) -> None:
    text = "".join(w + s for w, s in zip(words, seps, strict=False))
    view = latin_to_cyrillic(text)
    pos = 0
    for word in words:
        start = text.index(word, pos)
        pos = start + len(word)
        a, b = view.from_source(start, pos)
        assert view.to_source(a, b) == (start, pos)
        assert view.text[a:b] == latin_to_cyrillic(word).text


def test_known_transliterations() -> None:
    cases = {
        "delegatsııa": "делегация",
        "ınvestıtsııa": "инвестиция",
        "prezıdent": "президент",
        "baılanys": "байланыс",
        "Eýrazııa": "Еуразия",
        "aıtsa": "айтса",
        "protsent": "процент",
        "TAShKENT": "ТАШКЕНТ",
        "Ishki": "Ішкі",
        "Iran": "Иран",
        "Ýkraına": "Украина",
        "mıllıard": "миллиард",
        "Dmıtrıı": "Дмитрий",
        "zamanaýı": "заманауи",
        "ıAdykar": "Ядыкар",  # Kazinform's capital Я
    }
    for latin, cyrillic in cases.items():
        assert latin_to_cyrillic(latin).text == cyrillic, latin
    assert cyrillic_to_latin("Қазақстан Президенті") == "Qazaqstan Prezıdenti"


def test_script_of() -> None:
    assert script_of("Қазақстан") == "cyrl"
    assert script_of("Qazaqstan") == "latn"
    assert script_of("Astana Hub – Астана хаб") == "mixed"
    assert script_of("12:30") == "none"


def test_transliteration_round_trip_floor_on_real_sentences(corpus) -> None:
    rt = round_trip(kaznerd_sentences("test"))
    assert rt.words > 100_000
    assert rt.char_accuracy >= 0.995
    assert rt.word_accuracy >= 0.98
