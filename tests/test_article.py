"""Reading articles: decoding, line ends, paragraph offsets into the caller's text."""

import unicodedata

import pytest

from salatag.article import Article, ArticleError, decode_article, paragraph_spans
from salatag.lang import detect_article
from salatag.text import normalize


def _paragraphs(text: str) -> list[str]:
    return [text[s.start : s.end] for s in paragraph_spans(text)]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_paragraphs_for_every_line_end(newline: str) -> None:
    text = newline.join(["  Бірінші жол. ", "", "Екінші жол.", "   ", "Үшінші"]) + newline
    assert _paragraphs(text) == ["Бірінші жол.", "Екінші жол.", "Үшінші"]


def test_offsets_index_the_original_string_with_bom_and_crlf() -> None:
    text = "\ufeffТақырып\r\n\r\n\t– Біз дайынбыз, – деді ол.\r\n"
    spans = paragraph_spans(text)
    assert [text[s.start : s.end] for s in spans] == ["Тақырып", "– Біз дайынбыз, – деді ол."]
    assert spans[0].start == 1  # after the BOM, which is the caller's character 0


def test_decode_accepts_bom_and_rejects_bad_bytes() -> None:
    assert decode_article("\ufeffСәлем".encode()) == "Сәлем"
    with pytest.raises(ArticleError, match="not valid UTF-8 at byte 2"):
        decode_article(b"ab\xff\xfe")
    with pytest.raises(ArticleError, match="binary"):
        decode_article(b"\x89PNG\r\n\x1a\n\x00\x00")


def test_blank_article_has_no_paragraphs() -> None:
    article = Article.from_text(" \n\r\n\t")
    assert article.paragraphs == []
    assert article.lang.lang == "unknown"


def test_latin_article_spans_map_back_to_latin_text() -> None:
    text = "Qazaqstan men Qytaı\nEki el saýda-ekonomıkalyq baılanystardy talqylady."
    article = Article.from_text(text)
    assert (article.lang.lang, article.lang.script) == ("kk", "latn")
    assert article.paragraph_view(1).startswith("Екі ел сауда-экономикалық")
    word = article.view.text.index("байланыстарды")
    start, end = article.to_source(word, word + len("байланыстарды"))
    assert text[start:end] == "baılanystardy"
    assert [article.paragraph_view(i) for i in range(2)] == article.view.text.split("\n")


LATIN_KK = (
    "Qazaqstan Prezıdenti Ózbekstanǵa memlekettik saparmen bardy.\n"
    "Eki el arasyndaǵy saýda-ekonomıkalyq yntymaqtastyq máseleleri talqylandy.\n"
)
CYRILLIC_KK = "Екі ел арасындағы сауда-экономикалық ынтымақтастық талқыланды.\nЙә, ол келісті.\n"


@pytest.mark.parametrize(
    "text",
    [
        unicodedata.normalize("NFD", LATIN_KK),
        unicodedata.normalize("NFD", CYRILLIC_KK),
        CYRILLIC_KK.replace("\nЙә", "\n\u0301Йә"),  # a paragraph opening with a lone mark
        "Қазақстан\n\u0340" + unicodedata.normalize("NFD", LATIN_KK),  # one that NFC changes
    ],
)
def test_an_article_reads_its_language_and_view_from_one_normalisation(text: str) -> None:
    """The article normalises its text once; the language read from that is the one
    `detect_article` gives for the paragraphs alone, and the view is `normalize`'s."""
    article = Article.from_text(text)
    assert article.lang == detect_article(_paragraphs(text))
    latin_kk = article.lang.lang == "kk" and article.lang.script == "latn"
    view = normalize(text, transliterate=latin_kk)
    assert (article.view.text, article.view.starts, article.view.ends) == (
        view.text,
        view.starts,
        view.ends,
    )
