"""The one record schema: gold records and the tagger's predictions, as typed classes.

A `Record` is one article: its text, per-paragraph labels and quote spans with offsets
into `text`. Gold records (the annotation guidelines' JSONL) carry `source`; records
the tagger writes carry the prediction fields: paragraph `scores`, quote `attribution`
and `score`, the article's `summary`, or, for an article without tags, the `error` or
`skipped` reason. Unknown fields (url, subcategory, fields passed through from the
input, ...) are kept in `extra` and written back, so records survive a load/save round
trip unchanged. Validation lives here (`from_dict`); `to_dict` writes the JSON layout,
whose key order is part of the output format:

* gold: id, source, lang, text, url, script, other extra fields, paragraphs, quotes
* tagged: id, text (unless left out), lang, script, paragraphs, quotes, summary, extra
* not tagged: id, extra, error or skipped, lang and script (when known)

No heavy imports: the batch reader and the Python API load this cheaply.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

from salatag.errors import InputError


class RecordError(InputError, ValueError):
    """A line that is not a record of the expected shape."""


def _is(*kinds: type | None) -> Callable[[Any], bool]:
    """Valid when an instance of one of `kinds` (None among them: null as well)."""
    types = tuple(k for k in kinds if k is not None)
    return lambda value: isinstance(value, types) or (value is None and None in kinds)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(s, str) for s in value)


def _ints_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(i, int) for i in value))


# the checks of a paragraph's or quote's fields besides start and end, in order:
# JSON key -> (valid, what it must be, the value when absent)
FieldChecks = dict[str, tuple[Callable[[Any], bool], str, Callable[[], Any]]]


class _Span:
    """What paragraphs and quotes share: reading one from its JSON object."""

    FIELDS: ClassVar[FieldChecks]

    @classmethod
    def from_dict(cls, obj: Any, where: str | None = None) -> Self:
        """`where` names the object in errors (default: paragraph, quote)."""
        return cls(**_span_fields(obj, where or cls.__name__.lower(), cls.FIELDS))


@dataclass
class Paragraph(_Span):
    """One non-blank line: chrome or body, its sectors and (predicted) every score."""

    FIELDS: ClassVar[FieldChecks] = {
        "sectors": (_strings, "a list of strings", list),
        "body": (_is(bool), "true or false", lambda: True),
        "scores": (_is(dict, None), "an object", lambda: None),
    }

    start: int
    end: int
    body: bool = True
    sectors: list[str] = field(default_factory=list)
    scores: dict[str, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "body": self.body}
        out["sectors"] = self.sectors
        if self.scores is not None:
            out["scores"] = self.scores
        return out | self.extra


@dataclass
class Quote(_Span):
    """A direct quote; predicted ones carry `attribution` (the span naming the speaker,
    or null) and `score`."""

    FIELDS: ClassVar[FieldChecks] = {
        "speaker": (_is(str, None), "a string or null", lambda: None),
        "attribution": (_ints_or_null, "a list of integers or null", lambda: None),
        "score": (_is(int, float, None), "a number or null", lambda: None),
    }

    start: int
    end: int
    speaker: str | None = None
    attribution: list[int] | None = None
    score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "speaker": self.speaker}
        if self.score is not None:  # a prediction: attribution is written even when null
            out.update(attribution=self.attribution, score=self.score)
        elif self.attribution is not None:
            out["attribution"] = self.attribution
        return out | self.extra


# fields of a prediction: a record holding one of these was written by the tagger
STATUS = ("error", "skipped")
PREDICTION = ("summary", *STATUS)


@dataclass
class Record:
    id: str
    text: str = ""
    paragraphs: list[Paragraph] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    source: str | None = "authored"
    lang: str | None = "kk"
    extra: dict[str, Any] = field(default_factory=dict)
    script: str | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    skipped: str | None = None

    @property
    def predicted(self) -> bool:
        """Written by the tagger (tagged, or with the reason why not)."""
        return self.summary is not None or self.error is not None or self.skipped is not None

    @property
    def status(self) -> str:
        """'ok', or the error or skip reason."""
        return self.error or self.skipped or "ok"

    def span(self, item: Paragraph | Quote) -> str:
        """The text of a paragraph or quote."""
        return self.text[item.start : item.end]

    def to_dict(self) -> dict[str, Any]:
        if self.error is not None or self.skipped is not None:
            return self._untagged()
        if self.summary is not None:
            return self._tagged()
        out: dict[str, Any] = {"id": self.id, "source": self.source, "lang": self.lang}
        out["text"] = self.text
        extra = dict(self.extra)
        if "url" in extra:
            out["url"] = extra.pop("url")
        if self.script is not None:
            out["script"] = self.script
        out.update(extra)
        out["paragraphs"] = [p.to_dict() for p in self.paragraphs]
        out["quotes"] = [q.to_dict() for q in self.quotes]
        return out

    def _tagged(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.text:
            out["text"] = self.text
        out.update(
            lang=self.lang,
            script=self.script,
            paragraphs=[p.to_dict() for p in self.paragraphs],
            quotes=[q.to_dict() for q in self.quotes],
            summary=self.summary,
        )
        return out | self._passed()

    def _untagged(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, **self._passed()}
        for key in ("error", "skipped", "lang", "script"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def _passed(self) -> dict[str, Any]:
        """The input's own fields of a prediction (`source` among them, if set)."""
        return ({"source": self.source} if self.source is not None else {}) | self.extra

    @classmethod
    def from_dict(cls, obj: Any) -> Record:
        """A gold record or a prediction (one with `summary`, `error` or `skipped`).

        Gold records default to source 'authored' and lang 'kk'; in a prediction, an
        input's `source` stays among its passed-through fields (`extra`).
        """
        data = dict(_object(obj, "a record", "a record must be a JSON object"))
        try:
            rid = data.pop("id")
        except KeyError as err:
            raise RecordError(f"missing field {err.args[0]!r}") from None
        predicted = any(k in data for k in PREDICTION)
        if "text" not in data and not predicted:
            raise RecordError("missing field 'text'")
        text = data.pop("text", "")
        if not isinstance(rid, str) or not isinstance(text, str):
            raise RecordError("'id' and 'text' must be strings")
        paragraphs = [
            Paragraph.from_dict(p, f"paragraphs[{i}]")
            for i, p in enumerate(_list(data.pop("paragraphs", [])))
        ]
        quotes = [
            Quote.from_dict(q, f"quotes[{i}]") for i, q in enumerate(_list(data.pop("quotes", [])))
        ]
        fields = {k: _optional_str(data.pop(k, None), k) for k in ("script", *STATUS)}
        summary = data.pop("summary", None)
        if summary is not None and not isinstance(summary, dict):
            raise RecordError("'summary' must be an object")
        if predicted:
            source, lang = None, _optional_str(data.pop("lang", None), "lang")
        else:
            source, lang = str(data.pop("source", "authored")), str(data.pop("lang", "kk"))
        return cls(rid, text, paragraphs, quotes, source, lang, data, summary=summary, **fields)

    @classmethod
    def of(cls, value: Record | dict[str, Any]) -> Record:
        """A Record from a Record or its JSON form."""
        return value if isinstance(value, Record) else cls.from_dict(value)


def _object(obj: Any, where: str, message: str | None = None) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise RecordError(message or f"{where} must be an object")
    return obj


def _rest(obj: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in known}


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise RecordError("'paragraphs' and 'quotes' must be lists")
    return value


def _optional_str(value: Any, key: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise RecordError(f"'{key}' must be a string or null")
    return value


def _span_fields(obj: Any, where: str, checks: FieldChecks) -> dict[str, Any]:
    """A paragraph's or quote's JSON object as keyword arguments: each checked field,
    then `start` and `end`; the other keys go to `extra`. A field that is not valid is
    refused as '{where}.{key} must be …'."""
    obj = _object(obj, where)
    out: dict[str, Any] = {}
    for key, (valid, must_be, default) in checks.items():
        out[key] = obj[key] if key in obj else default()
        if not valid(out[key]):
            raise RecordError(f"{where}.{key} must be {must_be}")
    out["extra"] = _rest(obj, ("start", "end", *checks))
    return {"start": _int(obj, "start", where), "end": _int(obj, "end", where), **out}


def _int(obj: dict[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RecordError(f"{where}.{key} must be an integer, got {value!r}")
    return value


def overlaps(a: Paragraph | Quote, b: Paragraph | Quote) -> bool:
    """Whether two spans share at least one character."""
    return a.start < b.end and b.start < a.end


def quote_tokens(text: str, quotes: list[Quote]) -> list[bool]:
    """Per whitespace token of `text`: inside one of the quotes or not."""
    return [
        any(q.start < m.end() and m.start() < q.end for q in quotes)
        for m in re.finditer(r"\S+", text)
    ]


# the name the gold readers used before paragraphs and predictions shared one class
ParagraphLabel = Paragraph


def read_json_lines(paths: Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    """The JSON objects of JSONL files, in order, blank lines skipped: for the tools that
    read `python -m infer` output as it is (summary, view, Label Studio export)."""
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def json_lines_parser(prog: str, doc: str | None, out_help: str) -> argparse.ArgumentParser:
    """The command line of a tool that reads `python -m infer` JSONL (summary, view): the
    input files and `--out`; the tool adds its own options."""
    parser = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("inputs", nargs="+", type=Path, help="JSONL from python -m infer")
    parser.add_argument("--out", type=Path, required=True, help=out_help)
    return parser


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
