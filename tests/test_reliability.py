"""Issue 14: nothing lost, nothing crashes. Each numbered case of the issue, reproduced
through the real CLI on the shipped model (or before it is loaded, where it is refused)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from salatag.batch import Item, read_inputs, tag_batch
from salatag.corpus import REPO_ROOT
from salatag.outputs import journal_path

MODEL = REPO_ROOT / "models" / "default"
CYRILLIC = "Қазақстан мен Қырғызстан су бөлу мәселесін талқылады"
OTHER = "Екі ел энергетика саласын талқылады."
pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no shipped model")


def infer(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "infer", *args, "--device", "cpu"],
        input=stdin,
        capture_output=True,
        cwd=REPO_ROOT,
    )
    result.stderr = result.stderr.decode("utf-8", "replace")
    return result


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line]


def feed(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def one_line_error(result: subprocess.CompletedProcess, code: int) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# 1. --out naming an input
def test_an_output_that_is_an_input_is_refused_before_reading(tmp_path: Path) -> None:
    src = feed(tmp_path / "feed.jsonl", [{"id": "a", "text": CYRILLIC}])
    before = src.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(src)
    for out, extra in ((src, []), (tmp_path / "link.jsonl", []), (src, ["--overwrite"])):
        result = infer(str(tmp_path / "." / "feed.jsonl"), "--out", str(out), *extra)
        assert "is also an input" in one_line_error(result, 2)
        assert src.read_bytes() == before


# 2. an existing output replaced without a word
def test_an_existing_output_is_refused_and_replaced_only_when_asked(tmp_path: Path) -> None:
    src = feed(tmp_path / "feed.jsonl", [{"id": "new", "text": CYRILLIC}])
    out = tmp_path / "tags.jsonl"
    out.write_text('{"id": "old work"}\n', encoding="utf-8")
    message = one_line_error(infer(str(src), "--out", str(out)), 2)
    assert "--resume" in message and "--overwrite" in message
    assert out.read_text(encoding="utf-8") == '{"id": "old work"}\n'
    journal_path(out).write_text('{"id": "half a run"}\n')  # a killed run's journal
    assert "--resume" in one_line_error(infer(str(src), "--out", str(tmp_path / "tags.jsonl")), 2)
    result = infer(str(src), "--out", str(out), "--overwrite")
    assert result.returncode == 0, result.stderr
    assert [r["id"] for r in lines(out)] == ["new"] and not journal_path(out).exists()


# 3. duplicate ids across chunks; resume keys on position
def test_duplicate_ids_are_kept_and_resume_keys_on_position(tmp_path: Path) -> None:
    records = [{"id": "same", "text": f"{CYRILLIC} {i}", "n": i} for i in range(70)]
    src = feed(tmp_path / "feed.jsonl", records[:40])
    out = tmp_path / "tags.jsonl"
    result = infer(str(src), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "'same' ×40" in result.stderr
    feed(src, records)  # the feed grew: 30 more records with the same id
    result = infer(str(src), "--out", str(out), "--resume")
    assert result.returncode == 0, result.stderr
    assert [r["n"] for r in lines(out)] == list(range(70))
    assert "30 articles" in result.stderr and "40 already done" in result.stderr
    feed(src, [{"id": "other", "text": CYRILLIC}, *records])  # not the same inputs
    assert "other inputs" in one_line_error(infer(str(src), "--out", str(out), "--resume"), 2)


# 4. one bad record stops the run: lone surrogates, cp1251 on stdin
def test_lone_surrogates_and_cp1251_stdin_become_error_records(tmp_path: Path) -> None:
    src = tmp_path / "feed.jsonl"
    src.write_text(
        '{"id": "bad", "text": "\\udc80", "note": "\\ud800x"}\n'
        + json.dumps({"id": "good", "text": CYRILLIC})
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "tags.jsonl"
    result = infer(
        str(src), "-", "--out", str(out), stdin="Казахстан и Кыргызстан".encode("cp1251")
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    bad, good, stdin = lines(out)
    assert "lone surrogate" in bad["error"] and bad["note"] == "\ufffdx"
    assert good["paragraphs"] and "UTF-8" in stdin["error"]


class FailsOnLongWindows:
    """The real forward pass, but failing on any batch holding a window of more than
    `limit` tokens, as a bug on one odd article would."""

    def __init__(self, model, limit: int) -> None:
        self.model, self.limit = model, limit
        self.device_name = model.device_name

    def on(self, device: str) -> FailsOnLongWindows:
        return self

    def probabilities(self, input_ids, attention_mask, token_para):
        if attention_mask.sum(axis=1).max() > self.limit:
            raise RuntimeError("a window the model cannot take")
        return self.model.probabilities(input_ids, attention_mask, token_para)


def test_a_failing_batch_is_retried_article_by_article() -> None:
    from salatag.tagger import Tagger

    loaded = Tagger.load(MODEL, device="cpu")
    tagger = Tagger(FailsOnLongWindows(loaded.model, 60), loaded.tokenizer, loaded.meta, "cpu")
    long_one = " ".join([OTHER] * 12)  # one window, well over 60 tokens
    items = [Item("a", CYRILLIC), Item("b", long_one), Item("c", OTHER), Item("d", "\udc80")]
    records = tag_batch(tagger, items)  # a, b and c are tagged as one batch: it fails
    assert [r.id for r in records] == ["a", "b", "c", "d"]
    assert [r.status == "ok" for r in records] == [True, False, True, False]
    assert records[0].paragraphs and records[2].paragraphs
    assert records[1].error == "tagging failed (RuntimeError: a window the model cannot take)"
    assert "lone surrogate" in (records[3].error or "")


# 5. unreadable files and folders
def _deep_folder(root: Path) -> Path:
    """A folder whose path is too long to list (ENAMETOOLONG, unreadable even as root)."""
    root.mkdir()
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(22):
            os.mkdir("d" * 200, dir_fd=fd)
            nxt = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
    finally:
        os.close(fd)
    return root


def test_unreadable_files_and_folders_become_error_records(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "good.txt").write_text(CYRILLIC, encoding="utf-8")
    (folder / "mem.txt").symlink_to("/proc/self/mem")  # read() fails with EIO
    (folder / "gone.txt").symlink_to(tmp_path / "nothing")
    _deep_folder(folder / "deep")
    out = tmp_path / "tags.jsonl"
    result = infer(str(folder), str(folder / "mem.txt"), "--out", str(out))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    by_id = {r["id"]: r for r in lines(out)}
    assert by_id[str(folder / "good.txt")]["paragraphs"]
    assert "cannot read the file" in by_id[str(folder / "mem.txt")]["error"]
    assert "cannot read the file" in by_id[str(folder / "gone.txt")]["error"]
    deep = [r for rid, r in by_id.items() if rid.startswith(str(folder / "deep"))]
    assert len(deep) == 1 and "cannot read the folder" in deep[0]["error"]
    shutil.rmtree(folder / "deep")


# 6. Parquet with a passed-through field of clashing types; resume of Parquet
def test_parquet_output_with_clashing_pass_through_types(tmp_path: Path) -> None:
    records = [
        {"id": "a", "text": CYRILLIC, "n": 1},
        {"id": "b", "text": OTHER, "n": "two"},
        {"id": "c", "text": f"{OTHER}\n{CYRILLIC}", "n": [3]},
        {"id": "d", "text": 5, "n": {"x": None}},
    ]
    src = feed(tmp_path / "feed.jsonl", records[:2])
    out = tmp_path / "tags.parquet"
    assert infer(str(src), "--out", str(out)).returncode == 0
    feed(src, records)
    result = infer(str(src), "--out", str(out), "--resume")
    assert result.returncode == 1, result.stderr  # d has no text: failed, run finished
    rows = pq.read_table(out).to_pylist()
    assert [r["id"] for r in rows] == ["a", "b", "c", "d"]
    assert [json.loads(r["n"]) for r in rows[:3]] == [1, "two", [3]] and rows[3]["n"] is None
    assert json.loads(rows[2]["paragraphs"])[1]["start"] == len(OTHER) + 1 and rows[3]["error"]
    assert pq.read_schema(out).field("n").type == "string"


# 7. .ndjson, .json and upper-case .JSONL
def test_json_lines_are_recognised_by_extension_in_any_case_and_by_content(
    tmp_path: Path,
) -> None:
    rec = {"id": "x", "text": CYRILLIC}
    specs = []
    for name in ("a.ndjson", "B.JSONL", "c.Json", "d.data"):
        specs.append(str(feed(tmp_path / name, [rec, rec])))
    (tmp_path / "e.json").write_text(json.dumps([rec, rec, rec]), encoding="utf-8")
    (tmp_path / "f.json").write_text(json.dumps(rec, indent=2), encoding="utf-8")
    specs += [str(tmp_path / "e.json"), str(tmp_path / "f.json")]
    items = list(read_inputs(specs))
    assert [i.id for i in items] == ["x"] * 12 and all(i.text == CYRILLIC for i in items)


# 8. evaluate does not validate the gold file
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["quotes"].append({"start": 0, "end": 9999, "speaker": None}), "outside"),
        (lambda r: r["paragraphs"][0].update(sectors=["tourism"]), "unknown label"),
        (lambda r: r["paragraphs"].pop(), "do not match"),
    ],
)
def test_evaluate_refuses_a_gold_file_with_problems(tmp_path: Path, edit, message: str) -> None:
    text = f"{CYRILLIC}\n{OTHER}"
    gold = {"id": "g", "text": text, "quotes": [], "paragraphs": [
        {"start": 0, "end": len(CYRILLIC), "body": True, "sectors": ["water"]},
        {"start": len(CYRILLIC) + 1, "end": len(text), "body": True, "sectors": ["energy"]},
    ]}  # fmt: skip
    edit(gold)
    data = feed(tmp_path / "gold.jsonl", [gold])
    result = subprocess.run(
        [sys.executable, "-m", "salatag.evaluate", "--data", str(data), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr and "gold.jsonl:1" in result.stderr


# 9. CSV resume with half an article written, and with a different --no-text
def test_csv_resume_is_whole_articles_and_rectangular(tmp_path: Path) -> None:
    texts = [f"{CYRILLIC}\n{OTHER} {i}" for i in range(6)]
    src = feed(tmp_path / "feed.jsonl", [{"id": f"a{i}", "text": t} for i, t in enumerate(texts)])
    out = tmp_path / "tags.csv"
    assert infer(str(src), "--out", str(out), "--format", "csv").returncode == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert [r["id"] for r in rows] == [f"a{i}" for i in range(6) for _ in range(2)]
    # a killed run: four articles in the journal, the fifth cut in the middle
    journal = journal_path(out)
    first = infer(str(src), "--out", str(tmp_path / "j.jsonl"))
    assert first.returncode == 0
    whole = (tmp_path / "j.jsonl").read_bytes().split(b"\n")
    data = b"\n".join(whole[:4]) + b"\n" + whole[4][:40]
    out.unlink()
    journal.write_bytes(data)
    result = infer(str(src), "--out", str(out), "--resume", "--no-text")
    assert result.returncode == 0, result.stderr
    assert "2 articles" in result.stderr and "4 already done" in result.stderr
    with out.open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert len({len(row) for row in table}) == 1 and "text" not in table[0]
    assert [r[0] for r in table[1:]] == [f"a{i}" for i in range(6) for _ in range(2)]
    assert not journal.exists()


# 10. damaged model, unwritable output, output folder: their own exit codes
def test_model_and_output_errors_have_their_own_exit_codes(tmp_path: Path) -> None:
    src = feed(tmp_path / "feed.jsonl", [{"id": "a", "text": CYRILLIC}])
    out = str(tmp_path / "tags.jsonl")
    truncated = tmp_path / "truncated"
    shutil.copytree(MODEL, truncated)
    heads = truncated / "heads.safetensors"
    heads.write_bytes(heads.read_bytes()[:100])
    malformed = tmp_path / "malformed"
    shutil.copytree(MODEL, malformed)
    (malformed / "salatag.json").write_text('{"base_model": ', encoding="utf-8")
    for model in (truncated, malformed):
        message = one_line_error(infer(str(src), "--out", out, "--model", str(model)), 3)
        assert str(model) in message
    assert "Traceback" in infer(str(src), "--out", out, "--model", str(malformed), "--debug").stderr
    assert "cannot write" in one_line_error(infer(str(src), "--out", "/proc/x/tags.jsonl"), 3)
    assert "is a folder" in one_line_error(infer(str(src), "--out", str(tmp_path)), 2)
    assert not Path(out).exists() and not journal_path(Path(out)).exists()


# 11. the smaller ones
def test_smaller_cases(tmp_path: Path) -> None:
    (tmp_path / "u16.txt").write_bytes("Hello, Kazakhstan".encode("utf-16-le"))
    src = tmp_path / "feed.jsonl"
    src.write_text('{"id": {"k": [1, 2]}, "text": "x"}\n{"id": "broken", "text": \n')
    items = list(read_inputs([str(tmp_path / "u16.txt"), str(src)]))
    assert "UTF-16" in items[0].error
    assert items[1].id == '{"k": [1, 2]}'
    assert (
        items[2].error
        == f"not JSON (Expecting value at column {len(src.read_text().splitlines()[1]) + 1})"
    )
    result = infer(str(src), "--out", str(tmp_path / "o.jsonl"), "--max-chars", "-5")
    assert "--max-chars" in one_line_error(result, 2)


def test_validate_accepts_a_bom_and_reports_undecodable_lines(tmp_path: Path) -> None:
    from salatag.validate import main, validate_files

    text = CYRILLIC
    good = {"id": "g", "text": text, "paragraphs": [{"start": 0, "end": len(text)}], "quotes": []}
    path = tmp_path / "gold.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + json.dumps(good).encode()
        + b"\n\xff\xfe broken\n"
        + json.dumps(dict(good, id="h", text=OTHER)).encode()
        + b"\n"
    )
    problems = validate_files([path])
    assert [(p.line, p.field) for p in problems][:2] == [(2, "line"), (3, "paragraphs")]
    assert "UTF-8" in problems[0].message
    assert main([str(path)]) == 1


def test_a_config_with_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    from salatag.config import ConfigError, load_config

    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  epochs: 3\n  epochs: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c.yaml: line 3: key 'epochs' is given twice"):
        load_config(path)


# the noise, and --help
def test_quiet_by_default_and_help_states_the_rules(tmp_path: Path) -> None:
    long = "\n".join(f"{OTHER} Бұл {i}-сөйлем, ол ұзын мақаланың бір бөлігі." for i in range(80))
    src = feed(tmp_path / "feed.jsonl", [{"id": "long", "text": long}])
    result = infer(str(src), "--out", str(tmp_path / "o.jsonl"))
    assert result.returncode == 0, result.stderr
    for noise in ("Loading weights", "Warning", "indexing errors", "it/s"):
        assert noise not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1].startswith("wrote ")
    text = subprocess.run(
        [sys.executable, "-m", "infer", "--help"], capture_output=True, text=True, cwd=REPO_ROOT
    ).stdout
    for needle in ("INPUT is any mix of", "(default: 32)", "--overwrite", "never replaced"):
        assert needle in text


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_resuming_a_finished_output_keeps_it_and_appends(tmp_path: Path, fmt: str) -> None:
    from salatag.outputs import Writer

    def record(rid: str, n: int) -> dict:
        paragraphs = [{"start": 0, "end": 3, "body": True, "sectors": ["water"],
                       "scores": dict.fromkeys(["trade", "transport", "security", "water",
                                                "energy"], 0.5)}] * n  # fmt: skip
        return {"id": rid, "text": "abc", "lang": "kk", "script": "cyrl",
                "paragraphs": paragraphs, "quotes": [], "summary": {}, "n": n}  # fmt: skip

    out = tmp_path / f"tags.{fmt}"
    first = Writer(out, fmt, include_text=True)
    first.write([record("a", 2), {"id": "a", "error": "bad"}, record("b", 0)])
    first.close()
    again = Writer(out, fmt, include_text=False, resume=True)
    assert again.done_ids == ["a", "a", "b"]
    again.write([record("c", 3)])
    again.close()
    if fmt == "csv":
        with out.open(encoding="utf-8", newline="") as fh:
            table = list(csv.reader(fh))
        assert len({len(row) for row in table}) == 1 and "text" not in table[0]
        assert [row[0] for row in table[1:]] == ["a", "a", "a", "b", "c", "c", "c"]
    else:
        got = lines(out) if fmt == "jsonl" else pq.read_table(out).to_pylist()
        assert [r["id"] for r in got] == ["a", "a", "b", "c"]
    assert not journal_path(out).exists()
