"""The Python API with the shipped model: typed records, streaming order, DataFrames."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import salatag
from salatag.article import Article, paragraph_spans
from salatag.batch import Item, tag_batch
from salatag.corpus import REPO_ROOT
from salatag.labels import SECTORS

EXAMPLES = REPO_ROOT / "examples"
RUSSIAN = "Министр иностранных дел обсудил торговлю и транспорт с коллегами в Баку."


@pytest.fixture(scope="module")
def tagger() -> salatag.SalatagPipeline:
    return salatag.load(device="cpu")


def example(name: str) -> str:
    return (EXAMPLES / name).read_bytes().decode("utf-8-sig")


def test_import_salatag_does_not_import_torch_or_pandas() -> None:
    code = (
        "import sys, salatag; salatag.TaggedArticle; "
        "print(sorted(m for m in ('torch', 'transformers', 'pandas', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


def test_call_returns_a_typed_record_with_offsets_into_the_given_text(tagger) -> None:
    text = example("05-eu-forum-crlf-bom.txt")  # CRLF line ends
    assert "\r\n" in text
    article = tagger(text, id="eu")
    assert isinstance(article, salatag.TaggedArticle) and article.id == "eu"
    assert article.text == text and article.skipped is None
    spans = [(s.start, s.end) for s in paragraph_spans(text)]
    assert [(p.start, p.end) for p in article.paragraphs] == spans
    for p in article.paragraphs:
        assert isinstance(p, salatag.TaggedParagraph)
        assert set(p.scores) == set(SECTORS) and set(p.sectors) <= set(SECTORS)
        above = [s for s in SECTORS if p.scores[s] >= tagger.tagger.thresholds[s]]
        assert p.sectors == (above if p.body else [])
    assert article.quotes, "the example has quotes"
    for q in article.quotes:
        assert isinstance(q, salatag.TaggedQuote)
        assert article.span(q) == text[q.start : q.end] and article.span(q).strip()
    # the same record as the batch tagger writes
    [record] = tag_batch(tagger.tagger, [Item("eu", text)])
    assert article == record  # one schema: the API returns what the batch tagger writes


def test_pipe_streams_in_input_order_with_dicts_and_skips(tagger) -> None:
    first, second = example("01-tokayev-tashkent.txt"), example("02-minister-baku.txt")
    inputs = [
        first,
        {"id": "ru", "text": RUSSIAN, "source": "wire"},
        {"id": "baku", "text": second, "date": "2024-03-14"},
        "",
        {"no": "text"},
    ]
    out = list(tagger.pipe(iter(inputs), batch_size=2))
    assert [a.id for a in out] == ["0", "ru", "baku", "3", "4"]
    assert out[0].text == first and out[0].paragraphs
    assert out[1].skipped.startswith("not Kazakh") and out[1].extra == {"source": "wire"}
    assert out[2].text == second and out[2].extra == {"date": "2024-03-14"}
    assert out[3].skipped == "empty" and "text" in out[4].error
    assert len(out[2].paragraphs) == len(Article.from_text(second).paragraphs)


def test_to_dataframe_has_one_row_per_paragraph(example_tags: Path) -> None:
    records = [json.loads(line) for line in example_tags.read_text(encoding="utf-8").splitlines()]
    articles = [salatag.TaggedArticle.from_dict(r) for r in records]
    assert [a.to_dict() for a in articles] == records  # typed round trip, nothing lost
    df = salatag.to_dataframe(articles)
    untagged = sum(1 for a in articles if not a.paragraphs)
    assert untagged == 1  # the Russian example
    assert len(df) == sum(len(a.paragraphs) for a in articles) + untagged
    assert {"id", "paragraph", "body", "sectors", "text", "quotes", "speakers"} <= set(df.columns)
    assert {f"score_{s}" for s in SECTORS} <= set(df.columns)
    tagged = df[df["status"] == "ok"]
    flat = [(a.id, p.sectors, a.span(p)) for a in articles for p in a.paragraphs]
    assert list(zip(tagged["id"], tagged["sectors"], tagged["text"], strict=True)) == flat
    assert tagged["quotes"].sum() >= sum(len(a.quotes) for a in articles)
    assert set(df[df["id"].str.startswith("ex-jsonl")]["source"]) == {"newsroom-feed"}
    assert salatag.to_dataframe(records).equals(df)  # plain JSON records work too


def test_the_readme_example_runs() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## For analysts.*?```python\n(.*?)```", readme, re.S)
    assert block, "README.md needs a python example under 'For analysts'"
    out = subprocess.run(
        [sys.executable, "-c", block.group(1)], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "feed-1" in out.stdout  # the DataFrame printed
