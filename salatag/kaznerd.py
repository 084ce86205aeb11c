"""KazNERD validation sentences as real Cyrillic labelled records.

KazNERD (ISSAI, CC BY 4.0) is television news, one token per line. Each sentence we
label becomes a one-paragraph record: tokens detokenised (punctuation re-attached,
spoken fillers such as `( эээ )` dropped), near-duplicates that differ only in how
numbers are spelt removed. Labels are stored by sentence index with a hash of the
text, and the text is read from ../shared at build time (never committed).

Only the *validation* split may be labelled: the test split is reserved for blind
evaluation of the product, and every function here refuses it.

    python -m salatag.kaznerd export --out data/work/kaznerd --chunks 6
    python -m salatag.kaznerd check data/work/kaznerd/chunk-00.ann
    python -m salatag.kaznerd import data/work/kaznerd/*.ann
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from functools import cache
from pathlib import Path

from salatag.annotation import ANNOTATIONS_DIR, AnnotationError, parse_ann, render_ann
from salatag.corpus import CorpusError, corpus_dir, kaznerd_tokens, text_sha1
from salatag.errors import run_command
from salatag.records import ParagraphLabel, Quote, Record

SPLIT = "valid"
LABELS_FILE = ANNOTATIONS_DIR / "kaznerd" / "valid.jsonl"
SELECTION_SIZE = 3300
SEED = 13

_NO_SPACE_BEFORE = {".", ",", "!", "?", ":", ";", ")", "]", "»", "”", "%", "…"}
_NO_SPACE_AFTER = {"(", "[", "«", "“"}
_FILLER = re.compile(r"^(?:[аәеиіоөуұүыэ]{1,4}|[а-яәіңғүұқөһ]{1,3})$")
_NUMBER_WORDS = re.compile(
    r"^(?:бір|екі|үш|төрт|бес|алты|жеті|сегіз|тоғыз|он|жиырма|отыз|қырық|елу|алпыс|"
    r"жетпіс|сексен|тоқсан|жүз|мың|миллион|миллиард)\w*$"
)


def _refuse(split: str) -> None:
    if split != SPLIT:
        raise CorpusError(
            f"KazNERD {split!r} split: only the validation split may be labelled, trained or "
            "tuned on (the test split is reserved for blind evaluation of the product)"
        )


@cache
def read_tokens(split: str = SPLIT) -> tuple[tuple[str, ...], ...]:
    """Sentences as token tuples, in file order (the index is the position)."""
    _refuse(split)
    return _read(split)


@cache
def reserved_keys() -> frozenset[str]:
    """Dedupe keys of the reserved test split: read only to keep its sentences out of
    our data (the same formulaic sentence is in both splits sometimes)."""
    path = corpus_dir() / "kaznerd" / "IOB2_test.txt"
    if not path.exists():
        return frozenset()
    return frozenset(dedupe_key(detokenize(t)) for t in _read("test"))


def _read(split: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(t) for t in kaznerd_tokens(split))


def drop_fillers(tokens: tuple[str, ...] | list[str]) -> list[str]:
    """Remove `( эээ )`-style hesitations: one short lower-case token in parentheses."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if (
            tokens[i] == "("
            and i + 2 < len(tokens)
            and tokens[i + 2] == ")"
            and _FILLER.match(tokens[i + 1])
        ):
            i += 3
            continue
        out.append(tokens[i])
        i += 1
    return out


def detokenize(tokens: tuple[str, ...] | list[str]) -> str:
    """Join tokens as written text: no space before closing punctuation, none after
    opening brackets, `5 , 3` back to `5,3`."""
    words = drop_fillers(tokens)
    out = ""
    for i, tok in enumerate(words):
        prev = words[i - 1] if i else ""
        glue = (
            not out
            or tok in _NO_SPACE_BEFORE
            or tok.startswith("%")
            or prev in _NO_SPACE_AFTER
            or (prev == "," and tok.isdigit() and i >= 2 and words[i - 2].isdigit())
            or (tok == "," and prev.isdigit() and i + 1 < len(words) and words[i + 1].isdigit())
        )
        out += tok if glue else " " + tok
    return out


def dedupe_key(text: str) -> str:
    """The sentence without its numbers (digits with their suffixes, or number words)
    and punctuation: `2025-інші жылы` and `екі мың жиырма бесінші жылы` collide."""
    words = re.findall(r"\w+(?:-\w+)*", text.lower())
    return " ".join(w for w in words if not w[0].isdigit() and not _NUMBER_WORDS.match(w))


@cache
def sentences() -> dict[int, str]:
    """Index -> detokenised text, first of each near-duplicate group only, none that
    the reserved test split also has."""
    seen: set[str] = set(reserved_keys())
    out: dict[int, str] = {}
    for i, tokens in enumerate(read_tokens(SPLIT)):
        text = detokenize(tokens)
        key = dedupe_key(text)
        if not text or key in seen:
            continue
        seen.add(key)
        out[i] = text
    return out


def has_cue(text: str) -> bool:
    from salatag.baselines import KEYWORDS

    low = text.lower()
    return any(
        re.search(r"(?<!\w)" + re.escape(s), low) for stems in KEYWORDS.values() for s in stems
    )


def select(size: int = SELECTION_SIZE, seed: int = SEED) -> list[int]:
    """Every sentence with a sector cue stem, then a seeded random sample of the rest."""
    pool = sentences()
    cued = [i for i, t in pool.items() if has_cue(t)]
    rest = [i for i in pool if not has_cue(pool[i])]
    random.Random(seed).shuffle(rest)
    return sorted(cued + rest[: max(size - len(cued), 0)])


def split_of(index: int) -> str:
    """Train/dev/test by a hash of the sentence index (60/20/20), stable as labels change."""
    h = int(hashlib.sha256(f"kaznerd-{index}".encode()).hexdigest()[:8], 16) % 5
    return "test" if h == 0 else "dev" if h == 1 else "train"


def record_of(index: int, text: str, label: dict | None = None) -> Record:
    label = label or {"sectors": [], "quotes": []}
    return Record(
        id=f"kaznerd-{SPLIT}-{index}",
        text=text,
        paragraphs=[ParagraphLabel(0, len(text), True, list(label["sectors"]))],
        quotes=[Quote(q["start"], q["end"], q.get("speaker")) for q in label["quotes"]],
        source="kaznerd",
        lang="kk",
        extra={"script": "cyrl", "kaznerd_index": index},
    )


def load_labels(path: Path = LABELS_FILE) -> list[Record]:
    """Hydrate the stored labels with their sentences from ../shared."""
    if not path.exists():
        return []
    pool = sentences()
    records = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            label = json.loads(line)
            index = label["index"]
            if label.get("split", SPLIT) != SPLIT:
                raise AnnotationError(f"{path}:{lineno}: only KazNERD {SPLIT} may be labelled")
            if index not in pool:
                raise AnnotationError(f"{path}:{lineno}: no kept KazNERD sentence {index}")
            if text_sha1(pool[index]) != label["text_sha1"]:
                raise AnnotationError(
                    f"{path}:{lineno}: sentence {index} changed since it was labelled"
                )
            records.append(record_of(index, pool[index], label))
    return records


def export(out_dir: Path, chunks: int, indices: list[int] | None = None) -> list[Path]:
    """Write .ann work files (git-ignored) plus the index list of each."""
    pool = sentences()
    indices = indices if indices is not None else select()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for c in range(chunks):
        part = indices[c::chunks]
        name = out_dir / f"chunk-{c:02d}"
        text = "\n".join(pool[i] for i in part)
        starts = [0]
        for i in part[:-1]:
            starts.append(starts[-1] + len(pool[i]) + 1)
        rec = Record(
            f"chunk-{c:02d}",
            text,
            [ParagraphLabel(s, s + len(pool[i])) for s, i in zip(starts, part, strict=True)],
        )
        name.with_suffix(".ann").write_text(
            render_ann(rec, {"source": "kaznerd", "chunk": f"{c:02d}"}), encoding="utf-8"
        )
        name.with_suffix(".idx.json").write_text(json.dumps(part) + "\n", encoding="utf-8")
        paths.append(name.with_suffix(".ann"))
    return paths


def import_ann(path: Path) -> list[dict]:
    """Check an edited chunk against the corpus; return one label per kept sentence
    (sentences found to be near-duplicates after export are left out)."""
    pool = sentences()
    index_file = path.with_name(path.stem + ".idx.json")  # written beside it by export()
    indices = json.loads(index_file.read_text(encoding="utf-8"))
    ann = parse_ann(path.read_text(encoding="utf-8"), str(path))
    if len(ann.lines) != len(indices):
        raise AnnotationError(f"{path}: {len(ann.lines)} sentences, expected {len(indices)}")
    by_row: dict[int, list[dict]] = {}
    for (l0, c0), (l1, c1), speaker in ann.quotes:
        if l0 != l1:
            raise AnnotationError(f"{path}: a quote crosses from sentence {l0} into the next")
        by_row.setdefault(l0, []).append({"start": c0, "end": c1, "speaker": speaker})
    labels = []
    tokens = read_tokens(SPLIT)
    for row, (index, line) in enumerate(zip(indices, ann.lines, strict=True)):
        if line != detokenize(tokens[index]):
            raise AnnotationError(f"{path}: sentence {row} (index {index}) differs from KazNERD")
        if index not in pool:  # a near-duplicate of an earlier sentence: not stored
            continue
        labels.append(
            {
                "index": index,
                "text_sha1": text_sha1(line),
                "sectors": ann.sectors[row],
                "quotes": by_row.get(row, []),
            }
        )
    return labels


def write_labels(labels: list[dict], path: Path = LABELS_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(labels, key=lambda x: x["index"])
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )


def _run(args: argparse.Namespace) -> None:
    if args.command == "export":
        paths = export(args.out, args.chunks)
        print(f"wrote {len(paths)} chunks to {args.out}")
    elif args.command == "check":
        for p in args.paths:
            labels = import_ann(p)
            tagged = sum(bool(x["sectors"]) for x in labels)
            quotes = sum(len(x["quotes"]) for x in labels)
            print(f"{p}: ok, {len(labels)} sentences, {tagged} with sectors, {quotes} quotes")
    else:
        labels = [lab for p in args.paths for lab in import_ann(p)]
        write_labels(labels, args.to)
        print(f"stored {len(labels)} sentence labels in {args.to}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m salatag.kaznerd", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write .ann chunks of the selected sentences")
    ex.add_argument("--out", type=Path, required=True)
    ex.add_argument("--chunks", type=int, default=6)
    im = sub.add_parser("import", help="check edited chunks and store their labels")
    im.add_argument("paths", nargs="+", type=Path)
    im.add_argument("--to", type=Path, default=LABELS_FILE, help="labels file to write")
    ch = sub.add_parser("check", help="check edited chunks without storing anything")
    ch.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    return run_command(lambda: _run(args), (AnnotationError, CorpusError, OSError))


if __name__ == "__main__":
    sys.exit(main())
