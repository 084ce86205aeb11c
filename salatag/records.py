"""The JSONL record format of the annotation guidelines, as typed classes.

A record is one article: its text, per-paragraph labels and quote spans with offsets
into `text`. Unknown top-level fields (url, script, subcategory, scores, ...) are kept
in `extra` and written back, so records survive a load/save round trip unchanged.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from salatag.errors import InputError


class RecordError(InputError, ValueError):
    """A line that is not a record of the expected shape."""


@dataclass
class ParagraphLabel:
    start: int
    end: int
    body: bool = True
    sectors: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Quote:
    start: int
    end: int
    speaker: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Record:
    id: str
    text: str
    paragraphs: list[ParagraphLabel] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    source: str = "authored"
    lang: str = "kk"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "source": self.source, "lang": self.lang}
        out["text"] = self.text
        out.update(self.extra)
        out["paragraphs"] = [_flat(asdict(p)) for p in self.paragraphs]
        out["quotes"] = [_flat(asdict(q)) for q in self.quotes]
        return out

    @classmethod
    def from_dict(cls, obj: Any) -> Record:
        if not isinstance(obj, dict):
            raise RecordError("a record must be a JSON object")
        data = dict(obj)
        try:
            rid = data.pop("id")
            text = data.pop("text")
        except KeyError as err:
            raise RecordError(f"missing field {err.args[0]!r}") from None
        if not isinstance(rid, str) or not isinstance(text, str):
            raise RecordError("'id' and 'text' must be strings")
        paragraphs = [_paragraph(p, i) for i, p in enumerate(_list(data.pop("paragraphs", [])))]
        quotes = [_quote(q, i) for i, q in enumerate(_list(data.pop("quotes", [])))]
        return cls(
            id=rid,
            text=text,
            paragraphs=paragraphs,
            quotes=quotes,
            source=str(data.pop("source", "authored")),
            lang=str(data.pop("lang", "kk")),
            extra=data,
        )


def _flat(d: dict[str, Any]) -> dict[str, Any]:
    extra = d.pop("extra", {})
    d.update(extra)
    return d


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise RecordError("'paragraphs' and 'quotes' must be lists")
    return value


def _int(obj: dict[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RecordError(f"{where}.{key} must be an integer, got {value!r}")
    return value


def _paragraph(obj: Any, i: int) -> ParagraphLabel:
    where = f"paragraphs[{i}]"
    if not isinstance(obj, dict):
        raise RecordError(f"{where} must be an object")
    rest = {k: v for k, v in obj.items() if k not in ("start", "end", "body", "sectors")}
    sectors = obj.get("sectors", [])
    if not isinstance(sectors, list) or not all(isinstance(s, str) for s in sectors):
        raise RecordError(f"{where}.sectors must be a list of strings")
    body = obj.get("body", True)
    if not isinstance(body, bool):
        raise RecordError(f"{where}.body must be true or false")
    return ParagraphLabel(_int(obj, "start", where), _int(obj, "end", where), body, sectors, rest)


def _quote(obj: Any, i: int) -> Quote:
    where = f"quotes[{i}]"
    if not isinstance(obj, dict):
        raise RecordError(f"{where} must be an object")
    speaker = obj.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise RecordError(f"{where}.speaker must be a string or null")
    rest = {k: v for k, v in obj.items() if k not in ("start", "end", "speaker")}
    return Quote(_int(obj, "start", where), _int(obj, "end", where), speaker, rest)


def read_records(path: str | Path) -> Iterator[Record]:
    """Yield records; a bad line raises RecordError naming the file and line."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield Record.from_dict(json.loads(line))
            except json.JSONDecodeError as err:
                raise RecordError(f"{path}:{lineno}: not JSON ({err.msg})") from None
            except RecordError as err:
                raise RecordError(f"{path}:{lineno}: {err}") from None


def write_records(records: Iterable[Record], path: str | Path) -> int:
    """Write atomically (temp file + rename), so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
