"""Output files that a crash, a forgotten flag or a typo cannot destroy.

A run appends its records, one JSON line per input position, to a journal beside the
output (`OUT.partial.jsonl`), each batch in one write and fsynced, so a killed run
leaves whole lines and `--resume` continues after the last one. When the run ends,
the journal becomes the output: renamed (JSONL) or converted into a temporary file
that is renamed (CSV, Parquet). An output that exists is only continued (--resume) or
replaced once the new one is whole (--overwrite); an output that is an input is
refused before anything is read.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from salatag.errors import SetupError, UsageError
from salatag.labels import SECTORS
from salatag.records import Record, overlaps

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
CSV_ROWS = "salatag:csv_rows"  # a journal line holding a finished CSV's rows of one article
# record fields with a fixed Parquet type; nested ones are JSON text
PARQUET_FIELDS = ("id", "text", "lang", "script", "paragraphs", "quotes", "summary",
                  "error", "skipped")  # fmt: skip
PARQUET_JSON = ("paragraphs", "quotes", "summary")
ROW_GROUP = 1000


class OutputError(SetupError):
    """The output cannot be written (permissions, a full disk, a missing drive)."""


def journal_path(out: Path) -> Path:
    return out.with_name(out.name + ".partial.jsonl")


def _temporary(out: Path) -> Path:
    return out.with_name(out.name + ".tmp")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_output(out: Path, inputs: list[str], resume: bool, overwrite: bool) -> None:
    """Refuse, before anything is read, a run that would destroy a file."""
    if resume and overwrite:
        raise UsageError("--resume continues an output, --overwrite replaces it: pick one")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder: name a file (e.g. {out / 'tags.jsonl'})")
    ours = (out, journal_path(out), _temporary(out))
    for spec in inputs:
        if spec != "-" and any(_same_file(Path(spec), p) for p in ours):
            raise UsageError(f"--out {out} is also an input ({spec}): it would be overwritten")
    if not (resume or overwrite):
        for path in ours[:2]:
            if path.exists():
                raise UsageError(
                    f"{path} exists: add --resume to continue it, or --overwrite to replace it"
                )


def _dumps(record: dict[str, Any]) -> bytes:
    line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate somewhere: written as U+FFFD
        from salatag.batch import clean

        return (json.dumps(clean(record), ensure_ascii=False, default=str) + "\n").encode()


def journal_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a journal, in input order (its lines are always whole)."""
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError:
                    raise UsageError(
                        f"{path}:{n} is not a record: cannot resume from it (use --overwrite)"
                    ) from None


class Writer:
    """Appends one journal line per input position; `done_ids` are those already in it.

    `done_ids[i]` is the id of input position i, so a resumed run skips exactly the
    positions done (duplicate ids and all) and can check that the inputs are the same.
    """

    def __init__(self, out: Path, fmt: str, include_text: bool, resume: bool = False) -> None:
        self.out, self.fmt, self.include_text = out, fmt, include_text
        self.path = journal_path(out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            if resume and not self.path.exists() and out.exists():
                self._journal_from_output()
            elif not resume:
                self.path.unlink(missing_ok=True)  # an unfinished run being replaced
            self._truncate_partial_line()
            self.done_ids = [r["id"] for r in journal_records(self.path)]
            self.fh = open(self.path, "ab")  # noqa: SIM115 (closed in close())
        except OSError as err:
            raise OutputError(f"cannot write {err.filename or out}: {err.strerror or err}") from err

    def _truncate_partial_line(self) -> None:
        """A kill in the middle of a write leaves at most one half line at the end."""
        if not self.path.exists():
            self.path.touch()
            return
        with open(self.path, "r+b") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            keep, pos = 0, size
            while pos > 0 and not keep:
                step = min(1 << 16, pos)
                pos -= step
                fh.seek(pos)
                chunk = fh.read(step)
                if b"\n" in chunk:
                    keep = pos + chunk.rfind(b"\n") + 1
            fh.truncate(keep)

    def _journal_from_output(self) -> None:
        """Resuming a finished output (more inputs since): it becomes the journal's start."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        if self.fmt == "jsonl":
            shutil.copyfile(self.out, tmp)
        else:
            rows = csv_articles(self.out) if self.fmt == "csv" else parquet_records(self.out)
            with open(tmp, "wb") as fh:
                for record in rows:
                    fh.write(_dumps(record))
        os.replace(tmp, self.path)

    def write(self, records: list[Record] | list[dict[str, Any]]) -> None:
        """One write and an fsync per batch: a kill loses at most this batch.

        Records, or their JSON form (written as it is)."""
        lines = [r.to_dict() if isinstance(r, Record) else r for r in records]
        try:
            self.fh.write(b"".join(_dumps(r) for r in lines))
            self.fh.flush()
            os.fsync(self.fh.fileno())
        except OSError as err:
            raise OutputError(f"cannot write {self.path}: {err.strerror or err}") from err
        self.done_ids.extend(r["id"] for r in lines)

    def close(self) -> None:
        """Make the journal the output: renamed, or converted beside it and renamed."""
        try:
            self.fh.close()
            if self.fmt == "jsonl":
                os.replace(self.path, self.out)
                return
            if self.fmt == "csv":
                write_csv(self.path, self.out, self.include_text)
            else:
                write_parquet(self.path, self.out)
            self.path.unlink()
        except OSError as err:
            raise OutputError(f"cannot write {self.out}: {err.strerror or err}") from err


# --- CSV: one row per paragraph ----------------------------------------------------------


def csv_rows(record: Record, include_text: bool) -> list[dict[str, Any]]:
    """The rows of one article: one per paragraph, or one row saying why there are none."""
    if not record.paragraphs:
        return [{"id": record.id, "status": record.status, "lang": record.lang}]
    rows = []
    for i, p in enumerate(record.paragraphs):
        row = {
            "id": record.id,
            "paragraph": i,
            "start": p.start,
            "end": p.end,
            "body": p.body,
            "sectors": " ".join(p.sectors),
            "quotes": sum(1 for q in record.quotes if overlaps(q, p)),
            "lang": record.lang,
            "status": record.status,
        }
        row.update({f"score_{s}": (p.scores or {}).get(s) for s in SECTORS})
        if include_text and record.text:
            row["text"] = record.span(p)
        rows.append(row)
    return rows


def write_csv(journal: Path, out: Path, include_text: bool) -> None:
    """The whole CSV beside `out`, then renamed: one header, the same columns in every row."""
    fields = CSV_FIELDS if include_text else CSV_FIELDS[:-1]
    tmp = _temporary(out)
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fields, extrasaction="ignore")
        writer.writeheader()
        for record in journal_records(journal):
            rows = record.get(CSV_ROWS) or csv_rows(Record.from_dict(record), include_text)
            writer.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)


def csv_articles(path: Path) -> Iterator[dict[str, Any]]:
    """A finished CSV as journal lines: its rows grouped by article (a new article
    starts at paragraph 0 or at a row without a paragraph)."""
    with open(path, encoding="utf-8", newline="") as fh:
        group: list[dict[str, Any]] = []
        for row in csv.DictReader(fh):
            if group and row.get("paragraph") in ("", "0", None):
                yield {"id": group[0]["id"], CSV_ROWS: group}
                group = []
            group.append(row)
        if group:
            yield {"id": group[0]["id"], CSV_ROWS: group}


# --- Parquet: a fixed schema -------------------------------------------------------------


def _parquet_row(record: dict[str, Any], extras: list[str]) -> dict[str, Any]:
    row = {}
    for key in PARQUET_FIELDS:
        value = record.get(key)
        if key in PARQUET_JSON and value is not None:
            value = json.dumps(value, ensure_ascii=False)
        row[key] = value
    for key in extras:  # passed-through fields: JSON text, so types never clash
        row[key] = json.dumps(record[key], ensure_ascii=False) if key in record else None
    return row


def write_parquet(journal: Path, out: Path) -> None:
    """Record fields in fixed string columns (nested ones as JSON text), passed-through
    fields as JSON text columns; written beside `out` in row groups, then renamed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    extras: dict[str, None] = {}
    for record in journal_records(journal):
        extras.update((k, None) for k in record if k not in PARQUET_FIELDS and k != CSV_ROWS)
    names = sorted(extras)
    schema = pa.schema([(k, pa.string()) for k in (*PARQUET_FIELDS, *names)])
    tmp = _temporary(out)
    with pq.ParquetWriter(tmp, schema) as writer:
        rows: list[dict[str, Any]] = []
        for record in journal_records(journal):
            rows.append(_parquet_row(record, names))
            if len(rows) == ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(rows, schema))
                rows = []
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema))
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, out)


def parquet_records(path: Path) -> Iterator[dict[str, Any]]:
    """A finished Parquet output back as records (the inverse of `write_parquet`)."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    for group in range(file.metadata.num_row_groups):
        for row in file.read_row_group(group).to_pylist():
            record = {}
            for key, value in row.items():
                if value is None:
                    continue
                json_text = key in PARQUET_JSON or key not in PARQUET_FIELDS
                record[key] = json.loads(value) if json_text and isinstance(value, str) else value
            yield record
