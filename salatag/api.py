"""The Python API for notebooks: `salatag.load()`, `tagger(text)`, `tagger.pipe(...)`.

As spaCy's `nlp(text)` / `nlp.pipe(texts)`: one call tags one text, `pipe` streams many
in input order. Records are the one record schema (`salatag.records`), typed views of
the tagger's JSON record, so offsets are the same: Python indices into the text as
given. torch is imported only by `load`, so `import salatag` and the record classes
stay cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salatag.records import Paragraph, Quote, Record, overlaps

if TYPE_CHECKING:
    import pandas as pd

    from salatag.tagger import Tagger as _Tagger

# the API's names for the one record schema (salatag.records)
TaggedArticle = Record
TaggedParagraph = Paragraph
TaggedQuote = Quote


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
            yield from tag_batch(self.tagger, chunk, max_chars=self.max_chars)


def load(
    path: str | Path | None = None, device: str = "auto", backend: str = "auto"
) -> SalatagPipeline:
    """The shipped model (`models/default`), or the model directory at `path`."""
    from salatag.corpus import REPO_ROOT
    from salatag.tagger import Tagger

    model_dir = Path(path) if path is not None else REPO_ROOT / "models" / "default"
    return SalatagPipeline(Tagger.load(model_dir, device=device, backend=backend))


def to_dataframe(records: Iterable[Record | dict[str, Any]]) -> pd.DataFrame:
    """One row per paragraph (articles without tags: one row with their status).

    Columns: id, paragraph, start, end, body, sectors (a list), score_<sector>,
    quotes (how many overlap the paragraph), speakers (theirs), status, text, and the
    articles' passed-through fields (source, date, url, ...).
    """
    import pandas as pd

    from salatag.labels import SECTORS

    rows: list[dict[str, Any]] = []
    for rec in records:
        art = Record.of(rec)
        status = art.status
        if not art.paragraphs:
            rows.append({"id": art.id, "status": status, **art.extra})
        for i, p in enumerate(art.paragraphs):
            inside = [q for q in art.quotes if overlaps(q, p)]
            rows.append(
                {
                    "id": art.id,
                    "paragraph": i,
                    "start": p.start,
                    "end": p.end,
                    "body": p.body,
                    "sectors": list(p.sectors),
                    **{f"score_{s}": (p.scores or {}).get(s) for s in SECTORS},
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
