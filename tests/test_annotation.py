"""The .ann format: compiling marks to offsets, and the errors annotators see."""

from pathlib import Path

import pytest

from salatag.annotation import AnnotationError, compile_authored, hydrate, parse_ann, render_ann
from salatag.corpus import SourceArticle, text_sha1
from salatag.validate import check_record

ANN = """# id: au-test-1
# source: authored
@0 body: water energy
Қазақстан мен Қырғызстан су-энергетика саласын талқылады
@1 body: -
– {{q: Мемлекет басшысы}}Біз – сенімді серіктеспіз.
@2 body: trade
Екі ел сауданы дамытамыз{{/q}}, – деді Мемлекет басшысы.
@3 chrome
Фото: Ақорда
"""


def test_compile_multi_line_quote_to_offsets(tmp_path: Path) -> None:
    path = tmp_path / "a.ann"
    path.write_text(ANN, encoding="utf-8")
    record = compile_authored(path)
    assert record.id == "au-test-1"
    assert [p.sectors for p in record.paragraphs] == [["water", "energy"], [], ["trade"], []]
    assert [p.body for p in record.paragraphs] == [True, True, True, False]
    (quote,) = record.quotes
    spoken = record.text[quote.start : quote.end]
    assert spoken.startswith("Біз – сенімді") and spoken.endswith("сауданы дамытамыз")
    assert "\n" in spoken and quote.speaker == "Мемлекет басшысы"
    assert check_record(record) == []
    assert render_ann(record, {"id": "au-test-1", "source": "authored"}) == ANN


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("@0 body: tourism\nМәтін", "unknown sector 'tourism'"),
        ("@0 chrome: trade\nМәтін", "chrome paragraphs never carry sectors"),
        ("@1 body: -\nМәтін", "header says paragraph 1, but this is paragraph 0"),
        ("@0 body: -\n{{q}}Мәтін", "quote opened but never closed"),
        ("@0 body: -\nМәтін{{/q}}", "without"),
        ("@0 body: -\n{{q}}а{{q}}б{{/q}}", "opens before the one opened on line 2"),
        ("Мәтін", "expected a paragraph header"),
    ],
)
def test_errors_name_the_line(content: str, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        parse_ann(content, "x.ann")


def test_hydration_refuses_a_changed_source() -> None:
    text = "Тақырып\nМәтін."
    annotation = {
        "url": "https://example.kz/a/",
        "text_sha1": text_sha1(text),
        "paragraphs": [{"body": True, "sectors": []}] * 2,
        "quotes": [],
    }
    source = SourceArticle("https://example.kz/a/", text, "Тақырып", "Prezıdent", "politics")
    assert hydrate(annotation, source).text == text
    changed = SourceArticle(source.url, text + " Қосымша.", "", "", "")
    with pytest.raises(AnnotationError, match=r"https://example.kz/a/.*changed"):
        hydrate(annotation, changed)
