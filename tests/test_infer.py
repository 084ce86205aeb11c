"""Batch tagging through the real CLI: formats, offsets, bad input, resume, windows."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from salatag.article import Article, paragraph_spans
from salatag.corpus import REPO_ROOT
from salatag.decoding import TAGS
from salatag.encoder import load_tokenizer
from salatag.features import make_windows, tag_windows
from salatag.meta import read_meta
from salatag.records import Record
from salatag.tagger import Tagger
from salatag.validate import check_record

CYRILLIC = (
    "Қазақстан мен Қырғызстан су бөлу мәселесін талқылады\n"
    "– Біз суды бірге пайдаланамыз, – деді министр."
)
LATIN = (
    "Qazaqstan men Qytaı saýda baılanystaryn talqylady\n– Biz birge jumys isteımiz, – dedi mınıstr."
)
MIXED = "Kaзақстан  мен Astana Hub\r\n\r\n  Екі ел энергетика саласын талқылады.  "


def run_infer(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "infer", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow  # the overfit model (tiny_model) is trained first
def test_inputs_of_every_kind_and_offsets_into_the_original(
    tiny_model: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in" / "nested"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text(CYRILLIC, encoding="utf-8")
    (tmp_path / "in" / "b.txt").write_bytes(("\ufeff" + MIXED).encode())
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps({"id": "L1", "text": LATIN, "source": "wire"}) + "\n", encoding="utf-8"
    )
    out = tmp_path / "out.jsonl"
    result = run_infer(
        str(tmp_path / "in"),
        str(feed),
        "-",
        "--out",
        str(out),
        "--model",
        str(tiny_model / "model"),
        stdin=CYRILLIC,
    )
    assert result.returncode == 0, result.stderr
    records = {r["id"]: r for r in read_jsonl(out)}
    assert set(records) == {str(folder / "a.txt"), str(tmp_path / "in" / "b.txt"), "L1", "stdin"}
    assert records["L1"]["source"] == "wire" and records["L1"]["script"] == "latn"
    originals = {
        "L1": LATIN,
        "stdin": CYRILLIC,
        str(folder / "a.txt"): CYRILLIC,
        str(tmp_path / "in" / "b.txt"): MIXED,
    }
    for rid, record in records.items():
        text = originals[rid]
        assert record["text"] == text
        spans = [(s.start, s.end) for s in paragraph_spans(text)]
        assert [(p["start"], p["end"]) for p in record["paragraphs"]] == spans
        assert check_record(Record.from_dict(record)) == []
        for q in record["quotes"]:
            assert text[q["start"] : q["end"]].strip() == text[q["start"] : q["end"]]
        assert set(record["summary"]) == {"sectors", "quoted_share"}
    assert "4 articles" in result.stderr and "tagged" in result.stderr


@pytest.mark.slow  # the overfit model (tiny_model) is trained first
def test_csv_and_parquet_outputs(tiny_model: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    src = tmp_path / "a.txt"
    src.write_text(CYRILLIC, encoding="utf-8")
    model = str(tiny_model / "model")
    assert run_infer(str(src), "--out", str(tmp_path / "o.csv"), "--model", model).returncode == 0
    rows = list(csv.DictReader((tmp_path / "o.csv").open(encoding="utf-8")))
    assert [r["paragraph"] for r in rows] == ["0", "1"]
    assert rows[1]["text"] == CYRILLIC.split("\n")[1]
    assert {f"score_{s}" for s in ("trade", "water")} <= set(rows[0])
    assert (
        run_infer(str(src), "--out", str(tmp_path / "o.parquet"), "--model", model).returncode == 0
    )
    table = pq.read_table(tmp_path / "o.parquet").to_pylist()
    assert table[0]["id"] == str(src) and json.loads(table[0]["paragraphs"])[0]["start"] == 0
    assert not (tmp_path / "o.parquet.partial.jsonl").exists()


@pytest.mark.slow  # the overfit model (tiny_model) is trained first
def test_bad_inputs_become_records_not_crashes(tiny_model: Path, tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "latin1.txt").write_bytes("Қазақ".encode("utf-16"))
    (tmp_path / "bad" / "empty.txt").write_text("  \n\n")
    (tmp_path / "bad" / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (tmp_path / "bad" / "huge.txt").write_text("Қазақстан " * 520_000)  # a 5 MB single line
    (tmp_path / "bad" / "russian.txt").write_text(
        "Президент Казахстана провёл переговоры с президентом Узбекистана о транспорте.",
        encoding="utf-8",
    )
    (tmp_path / "bad" / "good.txt").write_text(CYRILLIC, encoding="utf-8")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "text": 5}\nnot json\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run_infer(
        str(tmp_path / "bad"),
        str(broken),
        str(tmp_path / "missing.txt"),
        "--out",
        str(out),
        "--model",
        str(tiny_model / "model"),
    )
    assert result.returncode == 1  # something failed, and the run still finished
    assert "Traceback" not in result.stderr
    by_name = {Path(r["id"]).name if "/" in r["id"] else r["id"]: r for r in read_jsonl(out)}
    assert "UTF-8" in by_name["latin1.txt"]["error"]
    assert by_name["empty.txt"]["skipped"] == "empty"
    assert "binary" in by_name["binary.txt"]["error"]
    assert by_name["huge.txt"]["skipped"].startswith("too long")
    assert by_name["russian.txt"]["skipped"] == "not Kazakh (detected ru)"
    assert by_name["good.txt"]["paragraphs"]
    assert "'text'" in by_name["x"]["error"]
    assert "not JSON" in by_name["broken.jsonl:2"]["error"]
    assert by_name["missing.txt"]["error"] == "no such file or folder"


@pytest.mark.slow  # the overfit model (tiny_model) is trained first
def test_usage_errors_exit_2(tiny_model: Path, tmp_path: Path) -> None:
    model = str(tiny_model / "model")
    for args in (
        ["--out", str(tmp_path / "o.xyz")],
        ["--threshold", "tourism=0.3"],
        ["--threshold", "water=2"],
    ):
        result = run_infer(
            str(tmp_path), "--out", str(tmp_path / "o.jsonl"), "--model", model, *args
        )
        assert result.returncode == 2, args
        assert result.stderr.startswith("error:") and "Traceback" not in result.stderr
    # not a model directory: a model error, exit 3 (2 is for the command line and inputs)
    result = run_infer(str(tmp_path), "--out", str(tmp_path / "o.jsonl"), "--model", str(tmp_path))
    assert result.returncode == 3 and result.stderr.startswith("error:"), result.stderr


@pytest.mark.slow  # the overfit model (tiny_model) is trained first
def test_resume_after_a_killed_run(tiny_model: Path, tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    texts = [CYRILLIC.replace("министр", f"министр {i}") for i in range(400)]
    feed.write_text(
        "".join(
            json.dumps({"id": f"a{i}", "text": t}, ensure_ascii=False) + "\n"
            for i, t in enumerate(texts)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    args = [
        sys.executable,
        "-m",
        "infer",
        str(feed),
        "--out",
        str(out),
        "--model",
        str(tiny_model / "model"),
        "--device",
        "cpu",
    ]
    journal = out.with_name(out.name + ".partial.jsonl")  # the run so far; renamed when whole
    proc = subprocess.Popen(args, cwd=REPO_ROOT, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if journal.exists() and journal.stat().st_size > 0:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    with open(journal, "ab") as fh:  # what a kill mid-write could leave behind
        fh.write(b'{"id": "a9999", "text": "half a li')
    done_before = len(journal.read_text(encoding="utf-8").splitlines()) - 1
    assert 0 < done_before < 400
    result = run_infer(
        str(feed), "--out", str(out), "--model", str(tiny_model / "model"), "--resume"
    )
    assert result.returncode == 0, result.stderr
    ids = [r["id"] for r in read_jsonl(out)]
    assert sorted(ids) == sorted(f"a{i}" for i in range(400))  # each exactly once
    assert f"{400 - done_before} articles" in result.stderr
    assert not journal.exists()


class GoldForward:
    """A stand-in for the model (any `Forward` will do for the tagger) that answers each
    window with its gold tags as one-hot probabilities, and no sectors or chrome."""

    device_name = "cpu"

    def __init__(self, windows: list) -> None:
        self.gold: dict[tuple[int, ...], np.ndarray] = {}
        for w in windows:
            probs = np.zeros((len(w.input_ids), len(TAGS)), dtype=np.float32)
            probs[np.arange(len(w.tags)), np.maximum(w.tags, 0)] = 1.0
            key = tuple(w.input_ids)
            assert key not in self.gold or (self.gold[key] == probs).all(), "ambiguous window"
            self.gold[key] = probs

    def on(self, device: str) -> GoldForward:
        return self

    def probabilities(self, input_ids, attention_mask, token_para):
        batch, length = input_ids.shape
        tags = np.zeros((batch, length, len(TAGS)), dtype=np.float32)
        for r in range(batch):
            n = int(attention_mask[r].sum())
            tags[r, :n] = self.gold[tuple(int(i) for i in input_ids[r, :n])]
        slots = int(token_para.max()) + 1
        return tags, np.zeros((batch, slots, 5), np.float32), np.zeros((batch, slots), np.float32)


@pytest.mark.skipif(not (REPO_ROOT / "models" / "default").exists(), reason="no shipped model")
def test_windowing_keeps_a_quote_that_crosses_a_window_edge() -> None:
    """The tagger's own windows, merging and decoding, with the model answering the gold
    tags: a quote longer than a window comes back whole, speaker and all."""
    meta = read_meta(REPO_ROOT / "models" / "default").model_copy(
        update={"max_length": 64, "stride": 16, "context": "article"}
    )
    tokenizer = load_tokenizer(meta.base_model)
    narration = "Екі ел арасындағы ынтымақтастық жыл сайын нығайып келеді. " * 6
    speech = "Біз көлік дәліздерін дамытып, сауданы арттырамыз және бұл жұмысты жалғастырамыз. " * 3
    text = f"{narration}\n– {speech.strip()}, – деді министр.\n{narration}"
    start = text.index("Біз")
    end = text.index(", – деді")
    record = {
        "text": text,
        "quotes": [{"start": start, "end": end, "speaker": "министр"}],
        "paragraphs": [{"start": s.start, "end": s.end} for s in paragraph_spans(text)],
    }
    article = Article.from_text(text, "long")
    windows = make_windows(article, tokenizer, meta.max_length, meta.stride, meta.context)
    assert len(windows) > 3
    edges = [(w.starts[1], w.ends[-2]) for w in windows]
    assert any(a < start < b < end for a, b in edges), "the quote must cross a window edge"
    tag_windows(windows, article, record)
    tagger = Tagger(GoldForward(windows), tokenizer, meta, device="cpu", batch_size=3)
    (decoded,) = tagger.tag([article])
    assert [(q.start, q.end) for q in decoded.quotes] == [(start, end)]
    assert decoded.quotes[0].speaker == "министр"
    assert decoded.span(decoded.quotes[0]) == text[start:end]
    assert text[slice(*decoded.quotes[0].attribution or ())] == "деді министр"


@pytest.mark.skipif(not (REPO_ROOT / "models" / "default").exists(), reason="no shipped model")
def test_readme_main_job_tags_the_bundled_examples(tmp_path: Path) -> None:
    out = tmp_path / "tags.jsonl"
    result = run_infer("examples/", "--out", str(out), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    records = {Path(r["id"]).name if "/" in r["id"] else r["id"]: r for r in read_jsonl(out)}
    assert records["04-russian-news.txt"]["skipped"] == "not Kazakh (detected ru)"
    tashkent = records["01-tokayev-tashkent.txt"]
    assert {"water", "transport"} <= set(tashkent["summary"]["sectors"])
    assert tashkent["quotes"], "the Tashkent article has three direct quotes"
    assert records["03-qazaqstan-qytai-latin.txt"]["script"] == "latn"


def test_chunks_start_small_for_a_quick_first_output_and_grow_to_the_cap() -> None:
    from salatag.driver import FIRST_CHUNK, MAX_CHUNK, chunks

    sizes = [len(c) for c in chunks(iter(range(3000)))]
    assert sizes[0] == FIRST_CHUNK and max(sizes) == MAX_CHUNK
    assert sizes == sorted(sizes[:-1]) + sizes[-1:] and sum(sizes) == 3000
    assert [x for c in chunks(iter(range(100))) for x in c] == list(range(100))
