"""Batch tagging: stream inputs, tag in bounded batches, write results as they come.

`tag_batch` is the one tagging function; the local CLI and the Ray engine both call
it. Every input record gives exactly one output record: bad input becomes a record
with `error` or `skipped`, never an exception, and never a record dropped.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from salatag.article import ArticleError, decode_article
from salatag.records import Record

if TYPE_CHECKING:
    from salatag.tagger import Tagger

MAX_CHARS = 200_000  # longer "articles" are dumps, not news items: skipped with a reason
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")  # any case
# earlier predictions or gold in an input record: replaced, not passed through
PREDICTED = ("paragraphs", "quotes", "summary", "lang", "script", "error", "skipped")


def clean(value: Any) -> Any:
    """`value` with lone surrogates (from JSON escapes or odd file names) replaced by
    U+FFFD, so every id and passed-through field can be written as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


@dataclass
class Item:
    """One input article (or the reason it could not be read)."""

    id: str
    text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def __post_init__(self) -> None:
        self.id, self.extra = clean(self.id), clean(self.extra)
        self.error = clean(self.error)


def read_bytes(data: bytes, source: str) -> Item:
    """An Item from one whole-article file (decoding problems become its error)."""
    try:
        return Item(source, decode_article(data))
    except ArticleError as err:
        return Item(source, error=str(err))


def read_file(path: Path, rid: str) -> Item:
    """An Item from a file; a file that cannot be read is an error record naming it."""
    try:
        data = path.read_bytes()
    except OSError as err:
        return Item(rid, error=f"cannot read the file ({err.strerror or err})")
    return read_bytes(data, rid)


def _id(value: Any, where: str) -> str:
    """A record's id as text: strings as they are, other JSON values as JSON, not repr."""
    if value is None:
        return where
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def record_item(obj: Any, where: str, what: str = "a JSONL input line") -> Item:
    """An Item from one parsed input record (a JSONL line, a Parquet row).

    Shared by the local reader and the Ray engine so both name, pass through and
    reject records the same way; `where` is the id used when the record has none.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return Item(
            _id(obj.get("id"), where) if isinstance(obj, dict) else where,
            error=f"{what} needs a string field 'text'",
        )
    obj = dict(obj)
    text = obj.pop("text")
    rid = _id(obj.pop("id", None), where)
    for key in PREDICTED:
        obj.pop(key, None)
    return Item(rid, text, obj)


JSON_WHITESPACE = " \t\r\n"  # a line of other "spaces" (\x1c, \x0b, \u2028) is an error record


def _json_error(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"not JSON ({err.msg} at line {err.lineno} column {err.colno})"
    return f"not JSON ({type(err).__name__}: {err})"  # nested too deep, a huge number


def jsonl_items(lines: Iterable[str], name: str, first: int = 1) -> Iterator[Item]:
    """Items from JSONL lines; `first` is the number of the first line (ids `name:N`)."""
    for lineno, line in enumerate(lines, first):
        if not line.strip(JSON_WHITESPACE):  # blank as JSON sees it, not as str.strip does
            continue
        where = f"{name}:{lineno}"
        try:
            obj = json.loads(line.rstrip("\r\n"))
        except (ValueError, RecursionError) as err:
            yield Item(where, error=_json_error(err).replace(" at line 1 ", " at "))
            continue
        yield record_item(obj, where)


def json_array_items(data: bytes, name: str) -> Iterator[Item]:
    """Items from a .json file holding one array of records (or one record)."""
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        yield Item(name, error=f"not valid UTF-8 at byte {err.start}")
        return
    except (ValueError, RecursionError) as err:
        yield Item(name, error=_json_error(err))
        return
    records = value if isinstance(value, list) else [value]
    for n, obj in enumerate(records, 1):
        yield record_item(obj, f"{name}:{n}", "a JSON input record")


def _decode_line(raw: bytes, lineno: int, spec: str) -> str | Item:
    try:
        return raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
    except UnicodeDecodeError as err:
        return Item(f"{spec}:{lineno}", error=f"line is not valid UTF-8 at byte {err.start}")


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
        yield from _byte_lines(fh, spec, start, stop, first)


def _byte_lines(
    lines: Iterable[bytes], spec: str, start: int = 0, stop: int | None = None, first: int = 1
) -> Iterator[Item]:
    for lineno, raw in enumerate(lines, first):
        if stop is not None and start >= stop:
            break
        start += len(raw)
        line = _decode_line(raw, lineno, spec)
        if isinstance(line, Item):
            yield line
        else:
            yield from jsonl_items([line], spec, first=lineno)


def _first_char(head: bytes) -> bytes:
    return head.lstrip(b"\xef\xbb\xbf").lstrip()[:1]


def input_kind(path: Path) -> str:
    """How a named file is read: 'jsonl', 'json' (one array or value), 'parquet', 'text'.

    By extension in any case (.jsonl, .ndjson, .json), else by content: a file that is
    not .txt and starts with a JSON object is JSON Lines. A .txt is always an article.
    """
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".txt"):
        return "parquet" if suffix == ".parquet" else "text"
    try:
        with open(path, "rb") as fh:
            line = fh.readline(1 << 20)
    except OSError:
        return "text"  # read_file reports why
    first = _first_char(line)
    if suffix == ".json" and (first == b"[" or (first == b"{" and not _parses(line))):
        return "json"  # an array, or one record over several lines
    return "jsonl" if suffix in JSON_SUFFIXES or first == b"{" else "text"


def _parses(line: bytes) -> bool:
    try:
        json.loads(line.decode("utf-8-sig"))
        return True
    except (ValueError, RecursionError):
        return False


def txt_files(folder: Path, errors: list[Item] | None = None) -> list[Path]:
    """The .txt files under a folder, recursively, in the order they are tagged.

    A sub-folder that cannot be listed is appended to `errors` as an error Item
    naming it, instead of being skipped without a word.
    """

    def unreadable(err: OSError) -> None:
        if errors is not None:
            name = err.filename if isinstance(err.filename, str) else str(folder)
            errors.append(Item(name, error=f"cannot read the folder ({err.strerror or err})"))

    found = [
        Path(root) / name
        for root, _, files in os.walk(folder, onerror=unreadable)
        for name in files
        if name.lower().endswith(".txt")
    ]
    return sorted(found)


def stdin_items(stream: IO[bytes]) -> Iterator[Item]:
    """Standard input as bytes: JSON Lines if it starts with `{`, else one article
    (decoded like a file, so cp1251 or UTF-16 bytes give an error record)."""
    first = stream.readline()
    if _first_char(first) == b"{":
        yield from _byte_lines([first], "stdin")
        yield from _byte_lines(stream, "stdin", first=2)
    else:
        yield read_bytes(first + stream.read(), "stdin")


def stat_error(spec: str) -> Item | None:
    """An error Item for a named path that does not exist or cannot be looked at."""
    try:
        Path(spec).stat()
    except FileNotFoundError:
        return Item(spec, error="no such file or folder")
    except OSError as err:
        return Item(spec, error=f"cannot read it ({err.strerror or err})")
    return None


def path_items(spec: str) -> Iterator[Item]:
    """Items from one named file or folder."""
    path = Path(spec)
    missing = stat_error(spec)
    if missing is not None:
        yield missing
        return
    if path.is_dir():
        errors: list[Item] = []
        for file in txt_files(path, errors):
            yield read_file(file, str(file))
        yield from errors
        return
    kind = input_kind(path)
    if kind == "jsonl":
        yield from jsonl_file_items(path, spec)
    elif kind == "json":
        try:
            yield from json_array_items(path.read_bytes(), spec)
        except OSError as err:
            yield Item(spec, error=f"cannot read the file ({err.strerror or err})")
    elif kind == "parquet":
        yield from parquet_items(path, spec)
    else:
        yield read_file(path, spec)


def parquet_items(path: Path, spec: str) -> Iterator[Item]:
    """Rows of a Parquet file with a `text` column, one row group at a time."""
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except Exception as err:  # not Parquet at all: one error record
        yield Item(spec, error=f"not a Parquet file ({err})")
        return
    if "text" not in file.schema_arrow.names:
        yield Item(spec, error="a Parquet input needs a column 'text'")
        return
    n = 1
    for group in range(file.metadata.num_row_groups):
        for row in file.read_row_group(group).to_pylist():
            yield record_item(row, f"{spec}:{n}", "a Parquet input row")
            n += 1


def read_inputs(inputs: list[str], stdin: IO[bytes] | None = None) -> Iterator[Item]:
    """Items from .txt files, folders of them (recursive), JSON Lines, .json arrays,
    Parquet and `-` (stdin), in order: one Item per input record."""
    for spec in inputs:
        if spec == "-":
            yield from stdin_items(stdin or sys.stdin.buffer)
        else:
            yield from path_items(spec)


# --- tagging ---------------------------------------------------------------------------


def _why(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:500]


def _untagged(
    item: Item,
    error: str | None = None,
    skipped: str | None = None,
    lang: str | None = None,
    script: str | None = None,
) -> Record:
    """The record of an article that is not tagged: the reason, and its input's fields."""
    return Record(item.id, source=None, lang=lang, extra=dict(item.extra), script=script,
                  error=error, skipped=skipped)  # fmt: skip


def _prepare(item: Item, max_chars: int) -> tuple[Record | None, Any]:
    """(a finished record, None) for items that are not tagged, else (None, article)."""
    from salatag.article import Article

    if item.error:
        return _untagged(item, error=item.error), None
    if not item.text or not item.text.strip():
        return _untagged(item, skipped="empty"), None
    if len(item.text) > max_chars:
        why = f"too long ({len(item.text)} characters > {max_chars})"
        return _untagged(item, skipped=why), None
    try:
        item.text.encode("utf-8")
    except UnicodeEncodeError as err:
        why = f"the text holds a lone surrogate at character {err.start} (not valid Unicode)"
        return _untagged(item, error=why), None
    try:
        article = Article.from_text(item.text, item.id)
    except Exception as err:  # a bug on odd input must not stop the run
        return _untagged(item, error=f"could not read the article ({_why(err)})"), None
    lang = article.lang.lang
    if lang not in ("kk", "unknown"):
        why = f"not Kazakh (detected {lang})"
        return _untagged(item, skipped=why, lang=lang, script=article.lang.script), None
    return None, article


def _tag_all(tagger: Tagger, articles: list[Any], include_text: bool) -> list[Record | str]:
    """Records for the articles; if the batch fails, each article alone, so only the
    culprit fails (its entry is then the reason, a string)."""
    try:
        return list(tagger.tag(articles, include_text=include_text))
    except Exception as err:
        if len(articles) == 1:
            return [f"tagging failed ({_why(err)})"]
    return [_tag_all(tagger, [a], include_text)[0] for a in articles]


def tag_batch(
    tagger: Tagger, items: list[Item], include_text: bool = True, max_chars: int = MAX_CHARS
) -> list[Record]:
    """One record per item, in order: tagged, or with a `skipped` or `error` reason."""
    results: dict[int, Record] = {}
    articles: list[tuple[int, Any]] = []
    for i, item in enumerate(items):
        try:
            record, article = _prepare(item, max_chars)
        except Exception as err:
            record, article = _untagged(item, error=f"could not read it ({_why(err)})"), None
        if record is not None:
            results[i] = record
        else:
            articles.append((i, article))
    if articles:
        tagged = _tag_all(tagger, [a for _, a in articles], include_text)
        for (i, _), result in zip(articles, tagged, strict=True):
            if isinstance(result, str):
                results[i] = _untagged(items[i], error=result)
            else:
                result.extra = dict(items[i].extra)
                results[i] = result
    return [results[i] for i in range(len(items))]


def tally(record: Record, counts: Counter, reasons: Counter) -> None:
    """Count one output record for the end-of-run summary, the same in every driver."""
    if record.error is not None:
        counts["failed"] += 1
        reasons[f"failed: {record.error}"] += 1
    elif record.skipped is not None:
        counts["skipped"] += 1
        reasons[f"skipped: {record.skipped.split(' (')[0]}"] += 1
    else:
        counts["tagged"] += 1
        counts["paragraphs"] += len(record.paragraphs)
        counts["quotes"] += len(record.quotes)


from salatag.outputs import Writer, write_parquet  # noqa: E402  (re-exported for drivers)

__all__ = ["Item", "Writer", "read_inputs", "tag_batch", "tally", "write_parquet"]
