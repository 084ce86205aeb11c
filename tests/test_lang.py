"""Language and script detection on real sentences and on hand-written ones."""

import json

import pytest

from salatag.corpus import KAZINFORM, kaznerd_sentences
from salatag.lang import detect, detect_article


def test_real_cyrillic_kazakh_sentences(corpus) -> None:
    sentences = [s for s in kaznerd_sentences("valid", limit=600) if len(s) >= 60][:300]
    results = [detect(s) for s in sentences]
    kazakh = sum(r.lang == "kk" and r.script == "cyrl" for r in results)
    assert kazakh / len(results) >= 0.97


def test_real_latin_kazakh_paragraphs(corpus) -> None:
    with open(corpus / KAZINFORM, encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for _, line in zip(range(40), fh, strict=False)]
    paragraphs = [p for t in texts for p in t.split("\n") if len(p) >= 80][:300]
    results = [detect(p) for p in paragraphs]
    kazakh = sum(r.lang == "kk" and r.script == "latn" for r in results)
    assert kazakh / len(results) >= 0.97
    assert detect_article(texts[0].split("\n")).lang == "kk"


@pytest.mark.parametrize(
    ("text", "lang", "script"),
    [
        ("Президент Казахстана провёл переговоры с делегацией Узбекистана.", "ru", "cyrl"),
        ("Министр иностранных дел обсудил вопросы водных ресурсов.", "ru", "cyrl"),
        ("Президент України провів переговори з делегацією.", "uk", "cyrl"),
        ("The two presidents discussed transport and energy cooperation.", "en", "latn"),
        ("Qazaqstan men Ózbekstan sý resýrstaryn birlesip paıdalanady.", "kk", "latn"),
        ("Екі ел энергетика саласындағы ынтымақтастықты талқылады.", "kk", "cyrl"),
        ("12:30, 5 наурыз", "unknown", "cyrl"),
    ],
)
def test_hand_written(text: str, lang: str, script: str) -> None:
    result = detect(text)
    assert (result.lang, result.script) == (lang, script)


@pytest.mark.slow  # both lingua modes over 2 795 articles
def test_the_quick_verdict_is_the_accurate_one_on_every_train_and_dev_article(
    corpus, tmp_path
) -> None:
    """The quick path (low-accuracy models, 0.05 s to load) may only decide an article
    when the accurate models would decide it the same way."""
    from salatag import data

    splits = data.build(tmp_path)
    articles = [
        [r.text[p.start : p.end] for p in r.paragraphs]
        for name in ("train", "dev")
        for r in splits[name]
    ]
    assert len(articles) > 2000

    def verdict(paras: list[str], accurate: bool) -> tuple[str, str]:
        result = detect_article(paras, accurate)
        return result.lang, result.script

    differ = [
        i for i, paras in enumerate(articles) if verdict(paras, False) != verdict(paras, True)
    ]
    assert differ == []
