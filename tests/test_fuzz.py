"""Hostile input through the real readers, tagger and writers: no exception escapes, and
every input record gets exactly one output record (hypothesis generates the input)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salatag.batch import read_inputs, tag_batch
from salatag.corpus import REPO_ROOT
from salatag.outputs import Writer, journal_records

MODEL = REPO_ROOT / "models" / "default"
pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no shipped model")

# lone surrogates, controls, bidi marks, emoji, combining marks, Kazakh and Latin letters
ODD = st.sampled_from(
    [
        "\ud800",
        "\udfff",
        "\x00",
        "\x1b",
        "\x7f",
        "\u200f",
        "\u202e",
        "\u2066",
        "\u2028",
        "\r",
        "\ufeff",
        "😀",
        "👩‍👩‍👧",
        "\u0301",
        "Қ",
        "ә",
        "q",
        " ",
        "\n",
        "«",
        "–",
    ]
)
TEXT = st.lists(st.one_of(ODD, st.characters()), max_size=40).map("".join)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
RECORD = st.fixed_dictionaries(
    {"text": TEXT | JSON}, optional={"id": JSON, "extra": JSON, "paragraphs": JSON}
)
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def tagger():
    from salatag.tagger import Tagger

    return Tagger.load(MODEL, device="cpu")


def _line(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()  # escapes keep lone surrogates


def tag_and_write(tagger, items: list, out: Path, fmt: str) -> list[dict]:
    records = tag_batch(tagger, items)
    assert len(records) == len(items)
    assert [r.id for r in records] == [i.id for i in items]
    writer = Writer(out, fmt, include_text=True, resume=False)
    writer.write(records)
    written = list(journal_records(writer.path))
    writer.close()
    assert out.exists()
    return written


@FUZZ
@given(values=st.lists(RECORD | JSON, min_size=1, max_size=4), raw=st.binary(max_size=64))
def test_random_json_lines_one_record_each(tagger, tmp_path: Path, values, raw) -> None:
    lines = [_line(v) for v in values] + [raw.replace(b"\n", b" ") or b"x"]
    src = tmp_path / "feed.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    items = list(read_inputs([str(src)]))
    assert len(items) == len([line for line in lines if line.strip(b" \t\r\n")])
    for fmt in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"out.{fmt}"
        out.unlink(missing_ok=True)
        assert len(tag_and_write(tagger, items, out, fmt)) == len(items)


@FUZZ
@given(data=st.binary(max_size=300), text=TEXT)
def test_random_bytes_as_files_and_stdin(tagger, tmp_path: Path, data, text) -> None:
    (tmp_path / "a.txt").write_bytes(data)
    (tmp_path / "b.txt").write_bytes(text.encode("utf-8", "surrogatepass"))
    (tmp_path / "c.json").write_bytes(data)
    stdin = io.BytesIO(data)
    items = list(read_inputs([str(tmp_path / n) for n in ("a.txt", "b.txt")], stdin=stdin))
    items += list(read_inputs(["-", str(tmp_path / "c.json")], stdin=io.BytesIO(data)))
    assert len(items) >= 3  # a, b, stdin (one article or its lines), and c's records
    out = tmp_path / "out.jsonl"
    out.unlink(missing_ok=True)
    assert len(tag_and_write(tagger, items, out, "jsonl")) == len(items)
