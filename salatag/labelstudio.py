"""Label Studio round trip: model predictions out as tasks, corrected annotations back in.

    python -m salatag.labelstudio export tags.jsonl --out tasks.json   # + labelstudio.xml
    python -m salatag.labelstudio import export.json --out gold.jsonl

`export` writes Label Studio tasks (`data` + `predictions`) and the labelling config
beside them; `import` turns a Label Studio JSON export back into the guidelines' record
format, which `python -m salatag.validate` checks and `salatag.evaluate` scores.

Formats followed (Label Studio documentation and source, as stored for this project):
- Tasks with pre-annotations: https://labelstud.io/guide/predictions ("JSON format for
  pre-annotations": a `data` object and a `predictions` list whose items carry
  `model_version`, `score` and `result`; each result item has `id`, `from_name`,
  `to_name`, `type` and `value`; text spans as in "Import span pre-annotations for
  text": `value` {start, end, text, labels}; a per-region control repeats the region's
  `id`, as the OCR example does for its `textarea` result, `value.text` a list).
- Annotated tasks and the JSON export: https://labelstud.io/guide/task_format and
  https://labelstud.io/guide/export (a list of tasks, each with `annotations[]`, each
  with `result[]` in the same item format, `was_cancelled`, `completed_by`, ...).
- Tags: https://labelstud.io/tags/text (every character counts in offsets; without
  `white-space: pre-wrap` spaces are trimmed, so the config sets it),
  https://labelstud.io/tags/labels, tags/choices and tags/textarea (`perRegion`),
  https://labelstud.io/tags/view (`visibleWhen="region-selected"`, `whenLabelValue`).
- Offsets: Label Studio stores code-point offsets since label-studio-frontend PR #308
  (label-studio PR #1559, issue #1008); older versions stored JavaScript (UTF-16)
  offsets (label-studio issue #1347). Export writes code points and the region's text;
  import takes whichever reading reproduces that text.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from salatag.article import paragraph_spans
from salatag.labels import SECTORS
from salatag.records import ParagraphLabel, Quote, Record, read_json_lines, write_records
from salatag.utf16 import from_utf16

TEXT, KIND, SECTOR_CHOICES, SPEAKER = "text", "kind", "sectors", "speaker"
BODY, CHROME, QUOTE = "body", "chrome", "quote"
_RECORD_KEYS = {"id", "text", "paragraphs", "quotes", "summary", "script", "skipped", "error"}


def labelling_config() -> str:
    """Paragraph regions (body or chrome) with sector choices; quote regions with the
    speaker as a per-region text area. Names match the result items of `export`."""
    choices = "\n".join(f"      <Choice value={quoteattr(s)}/>" for s in SECTORS)
    return f"""<View>
  <Style>.htx-text {{ white-space: pre-wrap; }}</Style>
  <Labels name="{KIND}" toName="{TEXT}">
    <Label value="{BODY}" background="#93c5fd"/>
    <Label value="{CHROME}" background="#d1d5db"/>
    <Label value="{QUOTE}" background="#fcd34d"/>
  </Labels>
  <Text name="{TEXT}" value="${TEXT}"/>
  <View visibleWhen="region-selected" whenLabelValue="{BODY}">
    <Header value="Sectors of this paragraph"/>
    <Choices name="{SECTOR_CHOICES}" toName="{TEXT}" perRegion="true" choice="multiple">
{choices}
    </Choices>
  </View>
  <View visibleWhen="region-selected" whenLabelValue="{QUOTE}">
    <Header value="Speaker (as the attribution names them; empty if none)"/>
    <TextArea name="{SPEAKER}" toName="{TEXT}" perRegion="true" maxSubmissions="1"
              editable="true" rows="1"/>
  </View>
</View>
"""


def _item(rid: str, from_name: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"id": rid, "from_name": from_name, "to_name": TEXT, "type": kind, "value": value}


def _certainty(record: dict[str, Any]) -> float:
    """The model's least certain decision (Label Studio can sort tasks by it)."""
    probs = [s for p in record["paragraphs"] if p["body"] for s in p.get("scores", {}).values()]
    probs += [q["score"] for q in record["quotes"] if q.get("score") is not None]
    return round(min((max(s, 1 - s) for s in probs), default=1.0), 4)


def record_to_task(record: dict[str, Any], n: int, model_version: str) -> dict[str, Any]:
    """One task: the text and passed-through fields as `data`, the tags as a prediction."""
    text = record["text"]
    data = {TEXT: text, "record_id": record["id"]}
    data |= {k: v for k, v in record.items() if k not in _RECORD_KEYS}
    result = []
    for i, p in enumerate(record["paragraphs"]):
        rid, span = f"t{n}p{i}", {"start": p["start"], "end": p["end"]}
        region = span | {"text": text[p["start"] : p["end"]]}
        result.append(
            _item(rid, KIND, "labels", region | {"labels": [BODY if p["body"] else CHROME]})
        )
        if p["body"] and p["sectors"]:
            result.append(_item(rid, SECTOR_CHOICES, "choices", region | {"choices": p["sectors"]}))
    for j, q in enumerate(record["quotes"]):
        rid, span = f"t{n}q{j}", {"start": q["start"], "end": q["end"]}
        region = span | {"text": text[q["start"] : q["end"]]}
        if q.get("score") is not None:
            region["score"] = q["score"]
        result.append(_item(rid, KIND, "labels", region | {"labels": [QUOTE]}))
        if q.get("speaker"):
            result.append(_item(rid, SPEAKER, "textarea", span | {"text": [q["speaker"]]}))
    prediction = {"model_version": model_version, "score": _certainty(record), "result": result}
    return {"data": data, "predictions": [prediction]}


def export_tasks(records: Iterable[dict[str, Any]], model_version: str) -> tuple[list, int]:
    """(tasks, records left out): skipped and failed records have nothing to correct."""
    tasks: list[dict[str, Any]] = []
    left_out = 0
    for record in records:
        if "paragraphs" not in record or "text" not in record:
            left_out += 1
            continue
        tasks.append(record_to_task(record, len(tasks), model_version))
    return tasks, left_out


# --- import --------------------------------------------------------------------------


def resolve_span(text: str, value: dict[str, Any]) -> tuple[int, int]:
    """Code-point offsets of a region: as given, or read as UTF-16 (older Label Studio),
    whichever reproduces the region's own `text` when it has one."""
    start, end = int(value["start"]), int(value["end"])
    shown = value.get("text")
    if not isinstance(shown, str) or text[start:end] == shown:
        return start, end
    cp = from_utf16(text)
    if text[cp(start) : cp(end)] == shown:
        return cp(start), cp(end)
    return start, end


def annotation_regions(text: str, result: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Result items grouped by region id: span, labels, choices, speaker."""
    regions: dict[str, dict[str, Any]] = {}
    for item in result:
        value = item.get("value") or {}
        if item.get("to_name") != TEXT or "start" not in value or "end" not in value:
            continue
        region = regions.setdefault(str(item.get("id")), {})
        if item.get("type") == "labels" or "start" not in region:
            region["start"], region["end"] = resolve_span(text, value)
        if item.get("type") == "labels":
            region["labels"] = list(value.get("labels", []))
        elif item.get("type") == "choices" and item.get("from_name") == SECTOR_CHOICES:
            region["choices"] = list(value.get("choices", []))
        elif item.get("type") == "textarea" and item.get("from_name") == SPEAKER:
            region["speaker"] = " ".join(" ".join(value.get("text", [])).split()) or None
    return regions


def _paragraphs(text: str, regions: list[dict[str, Any]]) -> list[ParagraphLabel]:
    """Every non-blank line; the body/chrome region covering most of it decides."""
    out = []
    for span in paragraph_spans(text):
        cover = []
        for r in regions:
            overlap = min(span.end, r["end"]) - max(span.start, r["start"])
            if overlap > 0:
                cover.append((overlap, r))
        body = not cover or BODY in max(cover, key=lambda c: c[0])[1]["labels"]
        chosen = {s for _, r in cover if BODY in r["labels"] for s in r.get("choices", [])}
        sectors = [s for s in SECTORS if s in chosen] + sorted(chosen - set(SECTORS))
        out.append(ParagraphLabel(span.start, span.end, body, sectors if body else []))
    return out


def _quotes(text: str, regions: list[dict[str, Any]]) -> list[Quote]:
    out = []
    for r in sorted(regions, key=lambda r: (r["start"], r["end"])):
        start, end = r["start"], r["end"]
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append(Quote(start, end, r.get("speaker")))
    return out


def chosen_annotation(task: dict[str, Any]) -> dict[str, Any] | None:
    """The task's latest annotation that was not cancelled (skipped)."""
    kept = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if not kept:
        return None
    return max(
        kept, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), kept.index(a))
    )


def task_to_record(task: dict[str, Any]) -> Record | None:
    """A gold record from the task's annotation; None when it has none."""
    annotation = chosen_annotation(task)
    if annotation is None:
        return None
    data = dict(task["data"])
    text = data.pop(TEXT)
    regions = list(annotation_regions(text, annotation.get("result", [])).values())
    kinds = [r for r in regions if {BODY, CHROME} & set(r.get("labels", []))]
    quotes = [r for r in regions if QUOTE in r.get("labels", [])]
    rid = str(data.pop("record_id", None) or f"labelstudio-{task.get('id')}")
    source, lang = str(data.pop("source", "authored")), str(data.pop("lang", "kk"))
    extra = data | {"labelstudio": {"task": task.get("id"), "annotation": annotation.get("id")}}
    if annotation.get("completed_by") is not None:
        extra["labelstudio"]["completed_by"] = annotation["completed_by"]
    return Record(rid, text, _paragraphs(text, kinds), _quotes(text, quotes), source, lang, extra)


def import_tasks(tasks: list[dict[str, Any]]) -> tuple[list[Record], int]:
    """(records, tasks without a usable annotation)."""
    records = [task_to_record(t) for t in tasks]
    return [r for r in records if r is not None], sum(r is None for r in records)


# --- command line --------------------------------------------------------------------


def run_export(args: argparse.Namespace) -> int:
    records = read_json_lines(args.inputs)
    tasks, left_out = export_tasks(records, args.model_version)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    config = args.config or args.out.with_name("labelstudio.xml")
    config.write_text(labelling_config(), encoding="utf-8")
    print(
        f"wrote {len(tasks)} tasks to {args.out} ({left_out} skipped or failed records left "
        f"out) and the labelling config to {config}",
        file=sys.stderr,
    )
    return 0


def run_import(args: argparse.Namespace) -> int:
    tasks = json.loads(args.export.read_text(encoding="utf-8"))
    if isinstance(tasks, dict):  # a single task
        tasks = [tasks]
    records, unannotated = import_tasks(tasks)
    write_records(records, args.out)
    print(
        f"wrote {len(records)} gold records to {args.out}; {unannotated} tasks had no "
        "annotation (or only cancelled ones) and were left out",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m salatag.labelstudio",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="tagged JSONL -> Label Studio tasks + labelling config")
    exp.add_argument("inputs", nargs="+", type=Path)
    exp.add_argument("--out", type=Path, required=True, help="tasks JSON file")
    exp.add_argument("--config", type=Path, help="labelling config (default: beside --out)")
    exp.add_argument("--model-version", default="salatag", help="shown on the predictions")
    imp = sub.add_parser("import", help="Label Studio JSON export -> gold JSONL")
    imp.add_argument("export", type=Path)
    imp.add_argument("--out", type=Path, required=True, help="gold JSONL file")
    args = parser.parse_args(argv)
    try:
        return run_export(args) if args.command == "export" else run_import(args)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
