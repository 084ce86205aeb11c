"""The Python API for notebooks: `salatag.load()`, `tagger(text)`, `tagger.pipe(...)`.

As spaCy's `nlp(text)` / `nlp.pipe(texts)`: one call tags one text, `pipe` streams many
in input order. Records are typed (dataclasses) views of the tagger's JSON record, so
offsets are the same: Python indices into the text as given. torch is imported only by
`load`, so `import salatag` and the record classes stay cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from salatag.tagger import Tagger as _Tagger

_RECORD_KEYS = ("id", "text", "lang", "script", "paragraphs", "quotes", "summary")


@dataclass
class TaggedParagraph:
    """One non-blank line: chrome or body, its sectors and every sector's score."""

    start: int
    end: int
    body: bool = True
    sectors: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class TaggedQuote:
    """A direct quote; `attribution` is the span naming the speaker, when found."""

    start: int
    end: int
    speaker: str | None
    attribution: list[int] | None = None
    score: float | None = None


@dataclass
class TaggedArticle:
    """One tagged article; `skipped` or `error` says why an article has no tags."""

    id: str
    text: str = ""
    lang: str | None = None
    script: str | None = None
    paragraphs: list[TaggedParagraph] = field(default_factory=list)
    quotes: list[TaggedQuote] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def span(self, item: TaggedParagraph | TaggedQuote) -> str:
        """The text of a paragraph or quote."""
        return self.text[item.start : item.end]

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> TaggedArticle:
        """From a JSON record as `python -m infer` writes it (unknown keys go to extra)."""
        extra = {k: v for k, v in record.items() if k not in (*_RECORD_KEYS, "skipped", "error")}
        return cls(
            id=str(record["id"]),
            text=record.get("text", ""),
            lang=record.get("lang"),
            script=record.get("script"),
            paragraphs=[_pick(TaggedParagraph, p) for p in record.get("paragraphs", [])],
            quotes=[_pick(TaggedQuote, q) for q in record.get("quotes", [])],
            summary=record.get("summary", {}),
            skipped=record.get("skipped"),
            error=record.get("error"),
            extra=extra,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON record again (the format of `python -m infer`)."""
        out: dict[str, Any] = {"id": self.id}
        if self.skipped or self.error:
            out.update({k: v for k, v in (("skipped", self.skipped), ("error", self.error)) if v})
            out.update({k: v for k, v in (("lang", self.lang), ("script", self.script)) if v})
            return out | self.extra
        out.update(
            text=self.text,
            lang=self.lang,
            script=self.script,
            paragraphs=[asdict(p) for p in self.paragraphs],
            quotes=[asdict(q) for q in self.quotes],
            summary=self.summary,
        )
        return out | self.extra


def _pick(cls: type, obj: dict[str, Any]) -> Any:
    """The dataclass from the keys it knows (gold records lack scores; new keys are ok)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in obj.items() if k in names})


class SalatagPipeline:
    """A loaded model; call it on a text, or `pipe` many texts or dicts."""

    def __init__(self, tagger: _Tagger, max_chars: int | None = None) -> None:
        from salatag.batch import MAX_CHARS

        self.tagger = tagger
        self.max_chars = max_chars or MAX_CHARS

    def __call__(self, text: str, id: str = "text") -> TaggedArticle:
        return next(self.pipe([{"id": id, "text": text}]))

    def pipe(
        self, texts_or_dicts: Iterable[str | dict[str, Any]], batch_size: int = 32
    ) -> Iterator[TaggedArticle]:
        """Records in input order, `batch_size` articles tagged at a time.

        A string gets the id of its position (`"0"`, `"1"`, ...); a dict needs `text`
        and may carry `id` and other fields (kept in `extra`), as JSONL input to infer.
        """
        from salatag.batch import Item, record_item, tag_batch

        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        items = (
            Item(str(i), x) if isinstance(x, str) else record_item(dict(x), str(i), "an input")
            for i, x in enumerate(texts_or_dicts)
        )
        while chunk := list(islice(items, batch_size)):
            for record in tag_batch(self.tagger, chunk, max_chars=self.max_chars):
                yield TaggedArticle.from_dict(record)


def load(
    path: str | Path | None = None, device: str = "auto", backend: str = "torch"
) -> SalatagPipeline:
    """The shipped model (`models/default`), or the model directory at `path`."""
    from salatag.corpus import REPO_ROOT
    from salatag.tagger import Tagger

    model_dir = Path(path) if path is not None else REPO_ROOT / "models" / "default"
    return SalatagPipeline(Tagger.load(model_dir, device=device, backend=backend))


def to_dataframe(records: Iterable[TaggedArticle | dict[str, Any]]) -> pd.DataFrame:
    """One row per paragraph (articles without tags: one row with their status).

    Columns: id, paragraph, start, end, body, sectors (a list), score_<sector>,
    quotes (how many overlap the paragraph), speakers (theirs), status, text, and the
    articles' passed-through fields (source, date, url, ...).
    """
    import pandas as pd

    from salatag.labels import SECTORS

    rows: list[dict[str, Any]] = []
    for rec in records:
        art = rec if isinstance(rec, TaggedArticle) else TaggedArticle.from_dict(rec)
        status = art.error or art.skipped or "ok"
        if not art.paragraphs:
            rows.append({"id": art.id, "status": status, **art.extra})
        for i, p in enumerate(art.paragraphs):
            inside = [q for q in art.quotes if q.start < p.end and p.start < q.end]
            rows.append(
                {
                    "id": art.id,
                    "paragraph": i,
                    "start": p.start,
                    "end": p.end,
                    "body": p.body,
                    "sectors": list(p.sectors),
                    **{f"score_{s}": p.scores.get(s) for s in SECTORS},
                    "quotes": len(inside),
                    "speakers": [q.speaker for q in inside if q.speaker],
                    "status": status,
                    "text": art.span(p),
                    **art.extra,
                }
            )
    frame = pd.DataFrame(rows)
    ints = [c for c in ("paragraph", "start", "end", "quotes") if c in frame]
    return frame.astype(dict.fromkeys(ints, "Int64"))  # NaN-able: untagged rows have none
