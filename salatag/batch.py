"""Batch tagging: stream inputs, tag in bounded batches, write results as they come.

`tag_batch` is the one tagging function; the local CLI and the Ray engine both call
it. Bad input becomes a record with `error` or `skipped`, never an exception.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salatag.article import Article, ArticleError, decode_article
from salatag.labels import SECTORS
from salatag.tagger import Tagger

MAX_CHARS = 200_000  # longer "articles" are dumps, not news items: skipped with a reason


@dataclass
class Item:
    """One input article (or the reason it could not be read)."""

    id: str
    text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def read_bytes(data: bytes, source: str) -> Item:
    """An Item from one whole-article file (decoding problems become its error)."""
    try:
        return Item(source, decode_article(data))
    except ArticleError as err:
        return Item(source, error=str(err))


def record_item(obj: Any, where: str, what: str = "a JSONL input line") -> Item:
    """An Item from one parsed input record (a JSONL line, a Parquet row).

    Shared by the local reader and the Ray engine so both name, pass through and
    reject records the same way; `where` is the id used when the record has none.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return Item(
            str(obj.get("id", where)) if isinstance(obj, dict) else where,
            error=f"{what} needs a string field 'text'",
        )
    text = obj.pop("text")
    rid = str(obj.pop("id", where))
    for key in ("paragraphs", "quotes", "summary", "lang", "script", "error", "skipped"):
        obj.pop(key, None)  # earlier predictions or gold: replaced, not passed through
    return Item(rid, text, obj)


def jsonl_items(lines: Iterable[str], name: str, first: int = 1) -> Iterator[Item]:
    """Items from JSONL lines; `first` is the number of the first line (ids `name:N`)."""
    for lineno, line in enumerate(lines, first):
        if not line.strip():
            continue
        where = f"{name}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            yield Item(where, error=f"not JSON ({err.msg})")
            continue
        yield record_item(obj, where)


def txt_files(folder: Path) -> list[Path]:
    """The .txt files under a folder, recursively, in the order they are tagged."""
    return sorted(p for p in folder.rglob("*.txt") if p.is_file())


def read_inputs(inputs: list[str], stdin: io.TextIOBase | None = None) -> Iterator[Item]:
    """Items from .txt files, folders of them (recursive), JSONL files and `-` (stdin)."""
    for spec in inputs:
        if spec == "-":
            stream = stdin or sys.stdin
            first = stream.readline()
            if first.lstrip("\ufeff \t").startswith("{"):  # JSONL: streamed line by line
                yield from jsonl_items([first.lstrip("\ufeff")], "stdin")
                yield from jsonl_items(stream, "stdin", first=2)
            else:  # one article: the whole stream
                yield Item("stdin", (first + stream.read()).lstrip("\ufeff"))
            continue
        path = Path(spec)
        if path.is_dir():
            for file in txt_files(path):
                yield read_bytes(file.read_bytes(), str(file))
        elif not path.exists():
            yield Item(spec, error="no such file or folder")
        elif path.suffix == ".jsonl":
            yield from jsonl_file_items(path, spec)
        else:
            yield read_bytes(path.read_bytes(), spec)


def jsonl_file_items(
    path: Path, spec: str, start: int = 0, stop: int | None = None, first: int = 1
) -> Iterator[Item]:
    """Line by line, so memory does not grow with the file; a line that is not UTF-8
    becomes an error record and the lines after it are still read.

    `start` and `stop` (byte offsets of line starts) and `first` (the number of the
    line at `start`) read one part of the file: a part of a shard in the Ray engine.
    """
    with open(path, "rb") as fh:
        fh.seek(start)
        for lineno, raw in enumerate(fh, first):
            if stop is not None and start >= stop:
                break
            start += len(raw)
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as err:
                yield Item(f"{spec}:{lineno}", error=f"line is not valid UTF-8 at byte {err.start}")
                continue
            yield from jsonl_items([line], spec, first=lineno)


def tag_batch(
    tagger: Tagger, items: list[Item], include_text: bool = True, max_chars: int = MAX_CHARS
) -> list[dict[str, Any]]:
    """Tag a batch of items; unreadable, empty, foreign or huge ones get a reason."""
    results: dict[int, dict[str, Any]] = {}
    articles: list[tuple[int, Article]] = []
    for i, item in enumerate(items):
        base = {"id": item.id, **item.extra}
        if item.error:
            results[i] = base | {"error": item.error}
        elif not item.text or not item.text.strip():
            results[i] = base | {"skipped": "empty"}
        elif len(item.text) > max_chars:
            results[i] = base | {"skipped": f"too long ({len(item.text)} characters > {max_chars})"}
        else:
            try:
                article = Article.from_text(item.text, item.id)
            except Exception as err:  # a bug on odd input must not stop the run
                results[i] = base | {"error": f"could not read the article: {err}"}
                continue
            if article.lang.lang not in ("kk", "unknown"):
                results[i] = base | {
                    "skipped": f"not Kazakh (detected {article.lang.lang})",
                    "lang": article.lang.lang,
                    "script": article.lang.script,
                }
                continue
            articles.append((i, article))
    if articles:
        tagged = tagger.tag([a for _, a in articles], include_text=include_text)
        for (i, _), record in zip(articles, tagged, strict=True):
            results[i] = {**record, **items[i].extra}
    return [results[i] for i in range(len(items))]


def tally(record: dict[str, Any], counts: Counter, reasons: Counter) -> None:
    """Count one output record for the end-of-run summary, the same in every driver."""
    if "error" in record:
        counts["failed"] += 1
        reasons[f"failed: {record['error']}"] += 1
    elif "skipped" in record:
        counts["skipped"] += 1
        reasons[f"skipped: {record['skipped'].split(' (')[0]}"] += 1
    else:
        counts["tagged"] += 1
        counts["paragraphs"] += len(record["paragraphs"])
        counts["quotes"] += len(record["quotes"])


# --- writers -------------------------------------------------------------------------

CSV_FIELDS = [
    "id",
    "paragraph",
    "start",
    "end",
    "body",
    "sectors",
    *[f"score_{s}" for s in SECTORS],
    "quotes",
    "lang",
    "status",
    "text",
]


def csv_rows(record: dict[str, Any], include_text: bool) -> list[dict[str, Any]]:
    status = record.get("error") or record.get("skipped") or "ok"
    if "paragraphs" not in record:
        return [{"id": record["id"], "status": status}]
    rows = []
    text = record.get("text", "")
    for i, p in enumerate(record["paragraphs"]):
        inside = sum(1 for q in record["quotes"] if q["start"] < p["end"] and p["start"] < q["end"])
        row = {
            "id": record["id"],
            "paragraph": i,
            "start": p["start"],
            "end": p["end"],
            "body": p["body"],
            "sectors": " ".join(p["sectors"]),
            "quotes": inside,
            "lang": record.get("lang"),
            "status": status,
        }
        row.update({f"score_{s}": p["scores"][s] for s in SECTORS})
        if include_text and text:
            row["text"] = text[p["start"] : p["end"]]
        rows.append(row)
    return rows


class Writer:
    """Appends results and flushes each batch, so a killed run keeps what it wrote.

    JSONL and CSV are written in place (one write per batch: no half lines). Parquet
    cannot be appended to, so it is journalled as JSONL beside the output and
    converted when the run completes.
    """

    def __init__(self, out: Path, fmt: str, include_text: bool, resume: bool) -> None:
        self.out, self.fmt, self.include_text = out, fmt, include_text
        self.path = out.with_name(out.name + ".partial.jsonl") if fmt == "parquet" else out
        self.done: set[str] = set()
        out.parent.mkdir(parents=True, exist_ok=True)
        if resume and fmt == "parquet" and not self.path.exists() and out.exists():
            self._parquet_to_journal()
        if resume and self.path.exists():
            self._truncate_partial_line()
            self.done = self._ids_done()
        else:
            self.path.write_text("")
        self.fh = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115 (closed in close())
        if fmt == "csv" and self.path.stat().st_size == 0:
            self._write_csv_header()

    def _truncate_partial_line(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)

    def _ids_done(self) -> set[str]:
        with open(self.path, encoding="utf-8", newline="") as fh:
            if self.fmt == "csv":
                return {row["id"] for row in csv.DictReader(fh)}
            return {json.loads(line)["id"] for line in fh if line.strip()}

    def _parquet_to_journal(self) -> None:
        import pyarrow.parquet as pq

        with open(self.path, "w", encoding="utf-8") as fh:
            for row in pq.read_table(self.out).to_pylist():
                fh.write(
                    json.dumps({k: _unjson(v) for k, v in row.items()}, ensure_ascii=False) + "\n"
                )

    def _write_csv_header(self) -> None:
        fields = CSV_FIELDS if self.include_text else CSV_FIELDS[:-1]
        buf = io.StringIO()
        csv.DictWriter(buf, fields).writeheader()
        self.fh.write(buf.getvalue())
        self.fh.flush()

    def write(self, records: list[dict[str, Any]]) -> None:
        buf = io.StringIO()
        if self.fmt == "csv":
            fields = CSV_FIELDS if self.include_text else CSV_FIELDS[:-1]
            writer = csv.DictWriter(buf, fields, extrasaction="ignore")
            for record in records:
                writer.writerows(csv_rows(record, self.include_text))
        else:
            for record in records:
                buf.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.fh.write(buf.getvalue())
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.done.update(r["id"] for r in records)

    def close(self) -> None:
        self.fh.close()
        if self.fmt == "parquet":
            write_parquet(self.path, self.out)
            self.path.unlink()


def _unjson(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def write_parquet(journal: Path, out: Path) -> None:
    """Nested fields are stored as JSON strings: records differ in shape (errors)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    with open(journal, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            rows.append(
                {
                    k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                    for k, v in record.items()
                }
            )
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k != "id", k))
    table = pa.Table.from_pylist([{k: r.get(k) for k in keys} for r in rows])
    tmp = out.with_name(out.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, out)
