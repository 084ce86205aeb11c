"""Label Studio round trip: export the shipped model's tags, import a Label Studio export.

Label Studio itself is not run: its JSON export is what it writes for a task whose
predictions an annotator submitted unchanged (the prediction's result copied into an
annotation, as Label Studio does), plus edits made on that JSON.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from salatag.article import paragraph_spans
from salatag.corpus import REPO_ROOT
from salatag.evaluate import score
from salatag.labels import SECTORS
from salatag.records import read_records

CONTROLS = {"labels": "Labels", "choices": "Choices", "textarea": "TextArea"}
EMOJI_TEXT = (
    "Қазақстан 🇰🇿 мен Өзбекстан су бөлуді талқылады 💧\n– Су 💧 ортақ игілік, – деді министр."
)


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=REPO_ROOT, env=env
    )


def as_label_studio_export(tasks: list[dict]) -> list[dict]:
    """What Label Studio exports after each prediction was accepted as it stands."""
    out = []
    for i, task in enumerate(tasks):
        result = [item | {"origin": "prediction"} for item in task["predictions"][0]["result"]]
        annotation = {
            "id": 1000 + i,
            "completed_by": 7,
            "was_cancelled": False,
            "ground_truth": False,
            "created_at": "2025-01-10T10:00:00Z",
            "updated_at": "2025-01-10T10:05:00Z",
            "lead_time": 12.5,
            "result": copy.deepcopy(result),
        }
        out.append(
            {"id": i + 1, "data": task["data"], "annotations": [annotation], "predictions": []}
        )
    return out


def spans(record: dict) -> tuple[list, list]:
    paragraphs = [(p["start"], p["end"], p["body"], p["sectors"]) for p in record["paragraphs"]]
    quotes = [(q["start"], q["end"], q["speaker"]) for q in record["quotes"]]
    return paragraphs, sorted(quotes)


@pytest.fixture(scope="module")
def exported(example_tags: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ls")
    result = cli(
        "-m", "salatag.labelstudio", "export", str(example_tags), "--out", f"{out}/tasks.json"
    )
    assert result.returncode == 0, result.stderr
    return out


def import_export(export: list[dict], tmp_path: Path) -> list[dict]:
    src, gold = tmp_path / "export.json", tmp_path / "gold.jsonl"
    src.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    result = cli("-m", "salatag.labelstudio", "import", str(src), "--out", str(gold))
    assert result.returncode == 0, result.stderr
    return [r.to_dict() for r in read_records(gold)]


def test_tasks_follow_the_config_and_carry_the_predictions(exported, example_tags) -> None:
    tagged = [json.loads(x) for x in example_tags.read_text(encoding="utf-8").splitlines()]
    tagged = [r for r in tagged if "paragraphs" in r]
    tasks = json.loads((exported / "tasks.json").read_text(encoding="utf-8"))
    assert [t["data"]["record_id"] for t in tasks] == [r["id"] for r in tagged]
    config = ET.fromstring((exported / "labelstudio.xml").read_text(encoding="utf-8"))
    controls = {c.get("name"): c for c in config.iter() if c.get("toName") == "text"}
    assert [c.get("value") for c in controls["sectors"].iter("Choice")] == list(SECTORS)
    assert controls["sectors"].get("perRegion") == controls["speaker"].get("perRegion") == "true"
    assert config.find("Text").get("value") == "$text"
    for task, record in zip(tasks, tagged, strict=True):
        assert task["data"]["text"] == record["text"]
        [prediction] = task["predictions"]
        assert prediction["model_version"] and 0.5 <= prediction["score"] <= 1
        for item in prediction["result"]:
            assert controls[item["from_name"]].tag == CONTROLS[item["type"]]
            value = item["value"]
            if isinstance(value.get("text"), str):
                assert value["text"] == record["text"][value["start"] : value["end"]]
        kinds = [i for i in prediction["result"] if i["type"] == "labels"]
        assert len(kinds) == len(record["paragraphs"]) + len(record["quotes"])


def test_export_then_import_unedited_gives_back_the_tags(exported, example_tags, tmp_path) -> None:
    tagged = [json.loads(x) for x in example_tags.read_text(encoding="utf-8").splitlines()]
    tagged = [r for r in tagged if "paragraphs" in r]
    export = as_label_studio_export(json.loads((exported / "tasks.json").read_text("utf-8")))
    cancelled = copy.deepcopy(export[0]["annotations"][0]) | {"id": 1, "was_cancelled": True}
    cancelled["result"] = []
    export[0]["annotations"].insert(0, cancelled)  # a skipped attempt does not count
    export.append({"id": 99, "data": {"text": "Әлі белгіленбеген мақала."}, "annotations": []})
    gold = import_export(export, tmp_path)
    assert [g["id"] for g in gold] == [r["id"] for r in tagged]
    for g, r in zip(gold, tagged, strict=True):
        assert spans(g) == spans(r)
        assert g["text"] == r["text"] and g["labelstudio"]["completed_by"] == 7
    assert {g["source"] for g in gold if g["id"].startswith("ex-jsonl")} == {"newsroom-feed"}
    env = {**os.environ, "SALATAG_SHARED": str(tmp_path / "no-shared")}  # no holdout read
    check = cli("-m", "salatag.validate", str(tmp_path / "gold.jsonl"), env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    metrics = score(gold, tagged, n_boot=0)
    assert metrics["quote_token_f1"] == 1.0 and metrics["sector_micro_f1"] == 1.0
    assert metrics["body_accuracy"] == 1.0


def test_annotators_edits_come_back(exported, tmp_path) -> None:
    export = as_label_studio_export(json.loads((exported / "tasks.json").read_text("utf-8")))
    task = next(t for t in export if t["data"]["record_id"].endswith("01-tokayev-tashkent.txt"))
    result = task["annotations"][0]["result"]
    quotes = [i for i in result if i["type"] == "labels" and i["value"]["labels"] == ["quote"]]
    first, dropped = quotes[0]["id"], quotes[1]["id"]
    for item in result:
        if item["from_name"] == "speaker" and item["id"] == first:
            item["value"]["text"] = ["  Мемлекет   басшысы "]
        if item["id"] == "t0p0" and item["type"] == "choices":
            item["value"]["choices"] = ["security", "trade"]
        if item["id"] == "t0p1" and item["type"] == "labels":
            item["value"]["labels"] = ["chrome"]
    result[:] = [i for i in result if i["id"] != dropped]
    [gold] = [g for g in import_export(export, tmp_path) if g["id"] == task["data"]["record_id"]]
    assert gold["paragraphs"][0]["sectors"] == ["trade", "security"]  # label order
    assert gold["paragraphs"][1]["body"] is False and gold["paragraphs"][1]["sectors"] == []
    assert len(gold["quotes"]) == len(quotes) - 1
    assert gold["quotes"][0]["speaker"] == "Мемлекет басшысы"


def test_offsets_are_code_points_and_old_utf16_exports_still_import(tmp_path) -> None:
    from salatag.labelstudio import export_tasks
    from salatag.utf16 import to_utf16

    quote = "Су 💧 ортақ игілік"
    start = EMOJI_TEXT.index(quote)
    record = {
        "id": "emoji",
        "text": EMOJI_TEXT,
        "lang": "kk",
        "paragraphs": [
            {"start": s.start, "end": s.end, "body": True, "sectors": ["water"], "scores": {}}
            for s in paragraph_spans(EMOJI_TEXT)
        ],
        "quotes": [{"start": start, "end": start + len(quote), "speaker": "министр"}],
    }
    tasks, _ = export_tasks([record], "test")
    items = tasks[0]["predictions"][0]["result"]
    assert [i["value"]["text"] for i in items if i["id"] == "t0q0" and i["type"] == "labels"] == [
        quote
    ]
    new = import_export(as_label_studio_export(tasks), tmp_path)
    old = copy.deepcopy(as_label_studio_export(tasks))
    js = to_utf16(EMOJI_TEXT)
    for item in old[0]["annotations"][0]["result"]:
        item["value"]["start"], item["value"]["end"] = map(
            js, (item["value"]["start"], item["value"]["end"])
        )
    assert old[0]["annotations"][0]["result"][-1]["value"]["start"] != start  # really shifted
    assert spans(import_export(old, tmp_path)[0]) == spans(new[0]) == spans(record)
