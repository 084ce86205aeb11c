"""Archive summaries from ~20 000 synthetic records: the numbers, the charts, flat memory."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import matplotlib.image
import pytest

from salatag.corpus import REPO_ROOT
from salatag.labels import SECTORS
from salatag.summary import ArchiveSummary, summarize_records

SPEAKERS = ["Қасым-Жомарт Тоқаев", "Сыртқы істер министрі", "Премьер-Министр", "Комиссия төрағасы"]
LINES = ["Екі ел келіссөз жүргізді", "Тараптар жобаларды талқылады", "– Біз бірге жұмыс істейміз"]
TEXT = "\n".join(LINES)
START = date(2024, 1, 1)


def synthetic(n: int) -> Iterator[dict]:
    """Records in the tagger's format; every count below follows from `i`."""
    spans, at = [], 0
    for line in LINES:
        spans.append((at, at + len(line)))
        at += len(line) + 1
    quote = (spans[2][0] + 2, spans[2][1])
    for i in range(n):
        if i % 50 == 49:
            yield {"id": f"r{i}", "skipped": "not Kazakh (detected ru)", "lang": "ru"}
            continue
        sector = SECTORS[i % len(SECTORS)]
        paragraphs = [
            {"start": a, "end": b, "body": k < 2 or i % 2 == 0, "sectors": [], "scores": {}}
            for k, (a, b) in enumerate(spans)
        ]
        paragraphs[0]["sectors"] = [sector]
        if paragraphs[2]["body"]:
            paragraphs[2]["sectors"] = ["security"]
        record = {"id": f"r{i}", "text": TEXT, "lang": "kk", "paragraphs": paragraphs}
        record["quotes"] = [
            {"start": quote[0], "end": quote[1], "speaker": SPEAKERS[i % 4] if i % 10 else None}
        ]
        record["date"] = (START + timedelta(days=i % 90)).isoformat() + (
            "T09:30:00" if i % 3 else ""
        )
        if i % 3 == 0:
            record["url"] = f"https://www.example.kz/news/{i}"
        else:
            record["source"] = "wire" if i % 3 == 1 else "portal"
        yield record


def expected(n: int) -> dict:
    tagged = [r for r in synthetic(n) if "paragraphs" in r]
    sectors = {
        s: sum(1 for r in tagged if s in {x for p in r["paragraphs"] for x in p["sectors"]})
        for s in SECTORS
    }
    speakers = {}
    for r in tagged:
        for q in r["quotes"]:
            if q["speaker"]:
                speakers[q["speaker"]] = speakers.get(q["speaker"], 0) + 1
    return {"tagged": len(tagged), "sectors": sectors, "speakers": speakers}


def test_cli_writes_summary_and_charts(tmp_path: Path) -> None:
    n = 20_000
    src = tmp_path / "tags.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for record in synthetic(n):
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    out = tmp_path / "summary"
    result = subprocess.run(
        [sys.executable, "-m", "salatag.summary", str(src), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr
    md = (out / "summary.md").read_text(encoding="utf-8")
    want = expected(n)
    assert f"**{n} records**: {want['tagged']} tagged, {n - want['tagged']} skipped, 0 failed" in md
    for sector, count in want["sectors"].items():
        assert re.search(rf"^\| {sector} \| \d+ \| {count} \|", md, re.M), sector
    for speaker, count in want["speakers"].items():
        assert f"| {speaker} | {count} |" in md
    assert re.search(r"^\| example\.kz \| \d+ \|", md, re.M)  # the domain of `url`
    assert {"| wire |", "| portal |"} <= {m for m in re.findall(r"^\| \w+ \|", md, re.M)}
    assert "| 2024-W01 |" in md and "| 2024-W13 |" in md  # 90 days: weekly
    for chart in ("sectors_over_time", "sectors_by_source", "top_speakers", "quoted_share"):
        assert f"({chart}.png)" in md
        image = matplotlib.image.imread(out / f"{chart}.png")
        assert image.shape[0] > 200 and image.shape[1] > 500 and image.std() > 0.01


def test_without_dates_there_is_no_time_chart(tmp_path: Path) -> None:
    records = [{k: v for k, v in r.items() if k != "date"} for r in synthetic(200)]
    src = tmp_path / "tags.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "s"
    subprocess.run(
        [sys.executable, "-m", "salatag.summary", str(src), "--out", str(out)],
        check=True,
        cwd=REPO_ROOT,
        capture_output=True,
    )
    assert not (out / "sectors_over_time.png").exists()
    assert "no `date` or `datetime` field" in (out / "summary.md").read_text(encoding="utf-8")


def peak_bytes(n: int) -> tuple[int, ArchiveSummary]:
    tracemalloc.start()
    try:
        summary = summarize_records(synthetic(n))
        return tracemalloc.get_traced_memory()[1], summary
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("n", [20_000])
def test_memory_does_not_grow_with_the_archive(n: int) -> None:
    small, _ = peak_bytes(n // 10)
    large, summary = peak_bytes(n)
    assert summary.status["tagged"] == expected(n)["tagged"]
    assert large < 1.5 * small, f"peak {large} B for {n} records vs {small} B for {n // 10}"
