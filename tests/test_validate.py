"""The validator names the record and field of every problem, and never tracebacks."""

import json
from pathlib import Path

import pytest

from salatag.records import ParagraphLabel, Quote, Record, read_records, write_records
from salatag.validate import main, validate_files

TEXT = "Тақырып\n– Біз сенімді серіктеспіз, – деді Президент.\nФото: Ақорда"


def _good(rid: str = "kz-1", text: str = TEXT) -> Record:
    lines, paragraphs, pos = text.split("\n"), [], 0
    for line in lines:
        paragraphs.append(ParagraphLabel(pos, pos + len(line)))
        pos += len(line) + 1
    paragraphs[-1].body = False
    start = text.index("Біз")
    return Record(rid, text, paragraphs, [Quote(start, text.index(", –"), "Президент")])


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def test_clean_file_passes_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    write_records([_good()], path)
    assert validate_files([path]) == []
    assert [r.to_dict() for r in read_records(path)] == [_good().to_dict()]
    assert main([str(path)]) == 0


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda r: r["quotes"][0].update(end=999), "quotes[0]", "outside the text"),
        (lambda r: r["paragraphs"][1].update(start=3), "paragraphs", "do not match"),
        (
            lambda r: r["paragraphs"][0].update(sectors=["tourism"]),
            "paragraphs[0].sectors",
            "unknown label",
        ),
        (
            lambda r: r["paragraphs"][2].update(sectors=["trade"]),
            "paragraphs[2].sectors",
            "chrome paragraph carries sectors",
        ),
        (
            lambda r: r["quotes"].append({"start": 12, "end": 20, "speaker": None}),
            "quotes[1]",
            "overlaps quotes[0]",
        ),
        (
            lambda r: r["quotes"].append(
                {"start": len(TEXT) - 6, "end": len(TEXT), "speaker": None}
            ),
            "quotes[1]",
            "crosses into a chrome paragraph",
        ),
        (
            lambda r: r["quotes"][0].update(start=r["quotes"][0]["start"] - 1),
            "quotes[0]",
            "whitespace",
        ),
    ],
)
def test_each_problem_is_named(tmp_path: Path, edit, field: str, message: str) -> None:
    record = _good().to_dict()
    edit(record)
    problems = validate_files([_write(tmp_path / "bad.jsonl", [record])])
    assert any(p.field == field and message in p.message for p in problems), problems
    assert all(p.record_id == "kz-1" and p.line == 1 for p in problems)


def test_duplicates_and_split_leaks(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.jsonl", [_good("a").to_dict(), _good("a").to_dict()])
    other = TEXT.replace("Тақырып", "Басқа")
    test = _write(tmp_path / "test.jsonl", [_good("b").to_dict(), _good("c", other).to_dict()])
    problems = validate_files([train, test])
    assert any(p.field == "id" and "duplicate" in p.message for p in problems)
    leak = [p for p in problems if p.field == "text"]
    assert len(leak) == 1 and leak[0].record_id == "b" and "another split" in leak[0].message


def test_bad_files_give_messages_not_tracebacks(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "ok"}\nnot json\n{"id": 3, "text": "t"}\n[1, 2]\n')
    assert main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:2 id=? line: not JSON" in out
    assert f"{bad}:3 id=3 record: 'id' and 'text' must be strings" in out
    assert f"{bad}:4 id=? record: a record must be a JSON object" in out
    assert main([str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
