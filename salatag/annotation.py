"""The human-editable annotation format and its compiler to records with offsets.

Hand-typed offsets are a source of silent errors, so annotators never type them. An
`.ann` file shows one article, a header line per paragraph and the paragraph's text
on the next line, with quotes marked inline:

    # source: authored
    # id: au-0001
    @0 body: trade transport
    Қазақстан мен Өзбекстан сауда-экономикалық ынтымақтастықты талқылады.
    @1 body: -
    – {{q: Мемлекет басшысы}}Біз көлік дәліздерін дамытамыз{{/q}}, – деді Президент.
    @2 chrome
    Фото: Ақорда

`{{q: SPEAKER}}` opens a quote (`{{q}}` when no attribution can be found) and `{{/q}}`
closes it, possibly on a later line (multi-line quotes). Compiling removes the marks
and computes offsets, so the text the annotator sees is the text the offsets index.

Real (third-party) articles are annotated through the same files, exported from
../shared into the git-ignored `data/work/`; importing checks every line against the
source and stores only labels and offsets (`data/annotations/kazinform/*.json`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from salatag.article import paragraph_spans
from salatag.corpus import (
    REPO_ROOT,
    CorpusError,
    SourceArticle,
    holdout_urls,
    kazinform_articles,
    text_sha1,
    url_key,
)
from salatag.errors import InputError, run_command
from salatag.labels import SECTORS, check_sectors
from salatag.records import ParagraphLabel, Quote, Record

ANNOTATIONS_DIR = REPO_ROOT / "data" / "annotations"
_HEADER = re.compile(r"^@(\d*)\s+(body|chrome)\s*(?::\s*(.*?))?\s*$")
_MARK = re.compile(r"\{\{(/q|q(?::\s*([^}]*?))?)\s*\}\}")


class AnnotationError(InputError, ValueError):
    """A problem in an .ann file or annotation, with the file and line it is on."""


@dataclass
class AnnotatedArticle:
    """An article as parsed from an .ann file: clean lines plus labels and quotes."""

    meta: dict[str, str]
    lines: list[str]
    body: list[bool]
    sectors: list[list[str]]
    # quote spans as (line, column) pairs into the clean lines, end exclusive
    quotes: list[tuple[tuple[int, int], tuple[int, int], str | None]] = field(default_factory=list)


def parse_ann(content: str, name: str = "<ann>") -> AnnotatedArticle:
    meta: dict[str, str] = {}
    lines: list[str] = []
    body: list[bool] = []
    sectors: list[list[str]] = []
    quotes: list[tuple[tuple[int, int], tuple[int, int], str | None]] = []
    open_quote: tuple[tuple[int, int], str | None, int] | None = None
    raw = content.lstrip("\ufeff").split("\n")
    i = 0
    while i < len(raw):
        lineno, line = i + 1, raw[i].rstrip("\r")
        i += 1
        if not lines and (line.startswith("#") or not line.strip()):
            if ":" in line:
                key, _, value = line.lstrip("#").partition(":")
                meta[key.strip()] = value.strip()
            continue
        if not line.strip() and i >= len(raw):
            break
        header = _HEADER.match(line)
        if not header:
            raise AnnotationError(
                f"{name}:{lineno}: expected a paragraph header like '@3 body: trade' or "
                f"'@3 chrome', got {line[:60]!r}"
            )
        index, kind, labels = header.groups()
        if index and int(index) != len(lines):
            raise AnnotationError(
                f"{name}:{lineno}: header says paragraph {index}, but this is paragraph "
                f"{len(lines)} (do not add, drop or reorder paragraphs)"
            )
        names = [] if not labels or labels.strip() == "-" else labels.replace(",", " ").split()
        unknown = check_sectors(names)
        if unknown:
            raise AnnotationError(
                f"{name}:{lineno}: unknown sector {unknown[0]!r}; use {', '.join(SECTORS)}"
            )
        if kind == "chrome" and names:
            raise AnnotationError(f"{name}:{lineno}: chrome paragraphs never carry sectors")
        if i >= len(raw):
            raise AnnotationError(f"{name}:{lineno}: header without a text line after it")
        text_lineno, marked = i + 1, raw[i].rstrip("\r")
        i += 1
        clean, pos = [], 0
        for mark in _MARK.finditer(marked):
            clean.append(marked[pos : mark.start()])
            pos = mark.end()
            col = sum(len(c) for c in clean)
            here = (len(lines), col)
            if mark.group(1) == "/q":
                if open_quote is None:
                    raise AnnotationError(f"{name}:{text_lineno}: {{{{/q}}}} without {{{{q}}}}")
                quotes.append((open_quote[0], here, open_quote[1]))
                open_quote = None
            else:
                if open_quote is not None:
                    raise AnnotationError(
                        f"{name}:{text_lineno}: a quote opens before the one opened on line "
                        f"{open_quote[2]} is closed"
                    )
                speaker = (mark.group(2) or "").strip() or None
                open_quote = (here, speaker, text_lineno)
        clean.append(marked[pos:])
        text = "".join(clean)
        if "{{" in text or "}}" in text:
            raise AnnotationError(f"{name}:{text_lineno}: malformed quote mark in {text[:60]!r}")
        lines.append(text)
        body.append(kind == "body")
        sectors.append(sorted(set(names), key=SECTORS.index))
    if open_quote is not None:
        raise AnnotationError(f"{name}:{open_quote[2]}: quote opened but never closed")
    return AnnotatedArticle(meta, lines, body, sectors, quotes)


def _to_record(ann: AnnotatedArticle, rid: str, text: str, starts: list[int], name: str) -> Record:
    paragraphs = [
        ParagraphLabel(s, s + len(line), b, secs)
        for s, line, b, secs in zip(starts, ann.lines, ann.body, ann.sectors, strict=True)
    ]
    quotes = []
    for (l0, c0), (l1, c1), speaker in ann.quotes:
        start, end = starts[l0] + c0, starts[l1] + c1
        if end <= start:
            raise AnnotationError(f"{name}: empty quote in paragraph {l0}")
        quotes.append(Quote(start, end, speaker))
    return Record(rid, text, paragraphs, quotes)


def compile_authored(path: Path) -> Record:
    """An authored article: the .ann file is the source, text included."""
    ann = parse_ann(path.read_text(encoding="utf-8"), str(path))
    rid = ann.meta.get("id") or path.stem
    text = "\n".join(ann.lines)
    starts: list[int] = []
    pos = 0
    for line in ann.lines:
        if line != line.strip() or not line:
            raise AnnotationError(f"{path}: paragraph {len(starts)} is blank or has edge spaces")
        starts.append(pos)
        pos += len(line) + 1
    record = _to_record(ann, rid, text, starts, str(path))
    record.source = "authored"
    record.lang = ann.meta.get("lang", "kk")
    record.extra = {k: v for k, v in ann.meta.items() if k not in ("id", "source", "lang")}
    return record


def hydrate(annotation: dict, source: SourceArticle, name: str = "") -> Record:
    """Join a stored annotation with the source text read from ../shared."""
    url = annotation["url"]
    if text_sha1(source.text) != annotation["text_sha1"]:
        raise AnnotationError(
            f"{name or url}: the source text of {url} changed since it was annotated "
            "(hash differs); re-export and re-check this article"
        )
    spans = paragraph_spans(source.text)
    labels = annotation["paragraphs"]
    if len(spans) != len(labels):
        raise AnnotationError(
            f"{url}: {len(labels)} labelled paragraphs but the source has {len(spans)}"
        )
    paragraphs = [
        ParagraphLabel(s.start, s.end, bool(p["body"]), list(p["sectors"]))
        for s, p in zip(spans, labels, strict=True)
    ]
    quotes = [Quote(q["start"], q["end"], q.get("speaker")) for q in annotation["quotes"]]
    return Record(
        id=f"kazinform-{url_key(url)}",
        text=source.text,
        paragraphs=paragraphs,
        quotes=quotes,
        source="kazinform",
        lang="kk",
        extra={"url": url, "script": "latn", "subcategory": source.subcategory},
    )


def compile_real(path: Path, articles: dict[str, SourceArticle]) -> dict:
    """Check an edited .ann of a real article against its source; return the annotation."""
    ann = parse_ann(path.read_text(encoding="utf-8"), str(path))
    url = ann.meta.get("url")
    if not url or url not in articles:
        raise AnnotationError(f"{path}: '# url:' missing or not in the shared corpus: {url!r}")
    source = articles[url]
    spans = paragraph_spans(source.text)
    if len(spans) != len(ann.lines):
        raise AnnotationError(
            f"{path}: {len(ann.lines)} paragraphs but the source article has {len(spans)}"
        )
    for i, (span, line) in enumerate(zip(spans, ann.lines, strict=True)):
        if source.text[span.start : span.end] != line:
            raise AnnotationError(
                f"{path}: paragraph {i} differs from the source once quote marks are removed "
                "(edit only headers and {{q}} marks, never the text)"
            )
    record = _to_record(ann, url, source.text, [s.start for s in spans], str(path))
    return {
        "url": url,
        "text_sha1": text_sha1(source.text),
        "paragraphs": [{"body": p.body, "sectors": p.sectors} for p in record.paragraphs],
        "quotes": [{"start": q.start, "end": q.end, "speaker": q.speaker} for q in record.quotes],
    }


def render_ann(record: Record, meta: dict[str, str]) -> str:
    """The .ann view of a record (for export and for correction passes)."""
    marks: dict[int, list[str]] = {}
    for q in record.quotes:
        opener = f"{{{{q: {q.speaker}}}}}" if q.speaker else "{{q}}"
        marks.setdefault(q.start, []).append(opener)
        marks.setdefault(q.end, []).insert(0, "{{/q}}")
    out = [f"# {k}: {v}" for k, v in meta.items()]
    for i, p in enumerate(record.paragraphs):
        head = f"@{i} body: {' '.join(p.sectors) or '-'}" if p.body else f"@{i} chrome"
        pieces, pos = [], p.start
        for off in sorted(o for o in marks if p.start <= o <= p.end):
            pieces.append(record.text[pos:off] + "".join(marks[off]))
            pos = off
        pieces.append(record.text[pos : p.end])
        out += [head, "".join(pieces)]
    return "\n".join(out) + "\n"


def dump_annotation(annotation: dict) -> str:
    """JSON with one paragraph or quote per line, so label changes diff line by line."""
    head = {k: annotation[k] for k in ("url", "text_sha1")}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ","]
    for key in ("paragraphs", "quotes"):
        items = [json.dumps(x, ensure_ascii=False) for x in annotation[key]]
        comma = "," if key == "paragraphs" else ""
        if not items:
            lines.append(f' "{key}": []{comma}')
            continue
        lines.append(f' "{key}": [')
        lines += [f"  {x}," for x in items[:-1]] + [f"  {items[-1]}", f" ]{comma}"]
    return "\n".join(lines) + "\n}\n"


def _annotation_path(url: str, pass_name: str) -> Path:
    return ANNOTATIONS_DIR / pass_name / f"{url_key(url)}.json"


def export(urls: list[str], out_dir: Path, pass_name: str, blank: bool) -> int:
    articles = kazinform_articles()
    held = holdout_urls()
    out_dir.mkdir(parents=True, exist_ok=True)
    for url in urls:
        if url in held:
            raise AnnotationError(f"{url} is in the blind holdout: never annotate it")
        if url not in articles:
            raise AnnotationError(f"{url} is not in the shared corpus")
        source = articles[url]
        stored = _annotation_path(url, pass_name)
        if stored.exists() and not blank:
            record = hydrate(json.loads(stored.read_text(encoding="utf-8")), source, str(stored))
        else:
            spans = paragraph_spans(source.text)
            record = Record(url, source.text, [ParagraphLabel(s.start, s.end) for s in spans])
        meta = {
            "source": "kazinform",
            "url": url,
            "subcategory": source.subcategory,
        }
        (out_dir / f"{url_key(url)}.ann").write_text(render_ann(record, meta), encoding="utf-8")
    return len(urls)


def import_files(paths: list[Path], pass_name: str, dry_run: bool) -> int:
    articles = kazinform_articles()
    held = holdout_urls()
    for path in paths:
        annotation = compile_real(path, articles)
        if annotation["url"] in held:
            raise AnnotationError(f"{path}: holdout article; never annotate it")
        if not dry_run:
            target = _annotation_path(annotation["url"], pass_name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(dump_annotation(annotation), encoding="utf-8")
    return len(paths)


def _ann_files(items: list[str]) -> list[Path]:
    paths: list[Path] = []
    for item in items:
        p = Path(item)
        paths += sorted(p.rglob("*.ann")) if p.is_dir() else [p]
    return paths


def _run(args: argparse.Namespace) -> None:
    if args.command == "export":
        if args.urls:
            urls = [u.strip() for u in args.urls.read_text().splitlines() if u.strip()]
        else:
            urls = sorted(kazinform_articles())
        n = export(urls, args.out, args.pass_name, args.blank)
        print(f"exported {n} articles to {args.out}")
    elif args.command == "import":
        n = import_files(_ann_files(args.paths), args.pass_name, args.dry_run)
        verb = "checked" if args.dry_run else f"stored in {ANNOTATIONS_DIR / args.pass_name}"
        print(f"{n} articles {verb}")
    else:
        records = [compile_authored(p) for p in _ann_files(args.paths)]
        print(f"{len(records)} authored articles OK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m salatag.annotation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write .ann work files for real articles")
    ex.add_argument("--urls", type=Path, help="file with one url per line (default: all)")
    ex.add_argument("--out", type=Path, required=True)
    ex.add_argument("--pass", dest="pass_name", default="kazinform")
    ex.add_argument("--blank", action="store_true", help="ignore stored annotations")
    im = sub.add_parser("import", help="check edited .ann files and store their labels")
    im.add_argument("paths", nargs="+")
    im.add_argument("--pass", dest="pass_name", default="kazinform")
    im.add_argument("--dry-run", action="store_true", help="check only")
    ch = sub.add_parser("check", help="check authored .ann files")
    ch.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    return run_command(lambda: _run(args), (AnnotationError, CorpusError, OSError))


if __name__ == "__main__":
    sys.exit(main())
