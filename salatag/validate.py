"""Validate JSONL files in the guidelines' record format; report every problem.

    python -m salatag.validate data/build/train.jsonl data/build/dev.jsonl ...

Each problem is reported as `FILE:LINE id=ID field: message`. Files given together
are checked as splits of one corpus: an id or an article text in two of them is an
error. Exit 0 when clean, 1 when problems were found, 2 when a file can't be read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from salatag.article import paragraph_spans
from salatag.corpus import holdout_urls
from salatag.errors import InputError, SalatagError, report
from salatag.labels import check_sectors
from salatag.records import Record, RecordError


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    record_id: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} id={self.record_id} {self.field}: {self.message}"


def check_record(record: Record) -> list[tuple[str, str]]:
    """(field, message) for each problem of one record."""
    problems: list[tuple[str, str]] = []
    text, n = record.text, len(record.text)
    if not record.id:
        problems.append(("id", "empty id"))
    expected = paragraph_spans(text)
    got = [(p.start, p.end) for p in record.paragraphs]
    if got != [(s.start, s.end) for s in expected]:
        problems.append(
            (
                "paragraphs",
                f"{len(got)} paragraph spans do not match the {len(expected)} non-blank lines "
                f"of the text{_first_mismatch(got, [(s.start, s.end) for s in expected])}",
            )
        )
    for i, p in enumerate(record.paragraphs):
        where = f"paragraphs[{i}]"
        if not 0 <= p.start < p.end <= n:
            problems.append((where, f"span {p.start}:{p.end} outside the text (length {n})"))
        unknown = check_sectors(p.sectors)
        if unknown:
            problems.append((f"{where}.sectors", f"unknown label(s) {unknown}"))
        if len(set(p.sectors)) != len(p.sectors):
            problems.append((f"{where}.sectors", "a label is repeated"))
        if not p.body and p.sectors:
            problems.append((f"{where}.sectors", "a chrome paragraph carries sectors"))
    chrome = [(p.start, p.end) for p in record.paragraphs if not p.body]
    previous_end, previous_i = -1, -1
    for i, q in sorted(enumerate(record.quotes), key=lambda iq: iq[1].start):
        where = f"quotes[{i}]"
        if not 0 <= q.start < q.end <= n:
            problems.append((where, f"span {q.start}:{q.end} outside the text (length {n})"))
            continue
        if q.start < previous_end:
            problems.append((where, f"overlaps quotes[{previous_i}]"))
        previous_end, previous_i = max(previous_end, q.end), i
        if text[q.start].isspace() or text[q.end - 1].isspace():
            problems.append((where, "starts or ends with whitespace"))
        if any(q.start < ce and cs < q.end for cs, ce in chrome):
            problems.append((where, "crosses into a chrome paragraph"))
        if q.speaker is not None and not q.speaker.strip():
            problems.append((f"{where}.speaker", "empty speaker (use null)"))
    return problems


def _first_mismatch(got: list[tuple[int, int]], want: list[tuple[int, int]]) -> str:
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        if g != w:
            return f" (first at paragraphs[{i}]: {g[0]}:{g[1]}, expected {w[0]}:{w[1]})"
    return ""


def _text_key(text: str) -> str:
    return hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()


def validate_files(paths: list[Path]) -> list[Problem]:
    """Problems in these files, checked as splits of one corpus."""
    problems: list[Problem] = []
    ids: dict[str, str] = {}
    texts: dict[str, str] = {}
    held = holdout_urls()
    for path in paths:
        for lineno, line in _lines(path):
            if isinstance(line, Problem):
                problems.append(line)
                continue
            if not line.strip():
                continue
            try:
                record = Record.from_dict(json.loads(line))
            except (ValueError, RecursionError) as err:
                if isinstance(err, RecordError):
                    problems.append(Problem(str(path), lineno, _peek_id(line), "record", str(err)))
                else:
                    problems.append(Problem(str(path), lineno, "?", "line", _not_json(err)))
                continue
            here = f"{path}:{lineno}"
            for fld, message in check_record(record):
                problems.append(Problem(str(path), lineno, record.id, fld, message))
            if record.id in ids:
                problems.append(
                    Problem(str(path), lineno, record.id, "id", f"duplicate of {ids[record.id]}")
                )
            ids.setdefault(record.id, here)
            key = _text_key(record.text)
            if key in texts and texts[key].split(":")[0] != str(path):
                problems.append(
                    Problem(
                        str(path),
                        lineno,
                        record.id,
                        "text",
                        f"the same article text is in another split ({texts[key]})",
                    )
                )
            texts.setdefault(key, here)
            if record.extra.get("url") in held:
                problems.append(
                    Problem(str(path), lineno, record.id, "url", "a blind-holdout article")
                )
    return problems


def _lines(path: Path) -> Iterator[tuple[int, str | Problem]]:
    """Numbered lines; a BOM is dropped and a line that is not UTF-8 becomes a problem
    (the lines after it are still checked)."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                yield lineno, raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as err:
                message = f"not valid UTF-8 at byte {err.start} of the line"
                yield lineno, Problem(str(path), lineno, "?", "line", message)


def _not_json(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"not JSON: {err.msg} (column {err.colno})"
    return f"not JSON: {type(err).__name__}"


def _peek_id(line: str) -> str:
    try:
        obj = json.loads(line)
        return str(obj.get("id", "?")) if isinstance(obj, dict) else "?"
    except (ValueError, RecursionError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="salatag-validate", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--max", type=int, default=200, help="print at most N problems")
    args = parser.parse_args(argv)
    try:
        problems = validate_files(args.files)
    except OSError as err:
        return report(InputError(f"cannot read {err.filename or 'a file'}: {err.strerror or err}"))
    except SalatagError as err:
        return report(err)
    for problem in problems[: args.max]:
        print(problem)
    if len(problems) > args.max:
        print(f"... and {len(problems) - args.max} more")
    if problems:
        print(f"{len(problems)} problem(s) in {len(args.files)} file(s)", file=sys.stderr)
        return 1
    print(f"OK: {len(args.files)} file(s), no problems")
    return 0


if __name__ == "__main__":
    sys.exit(main())
