"""Articles -> token windows for the two heads, and gold labels on those tokens.

The whole article's model view is tokenised once; windows of `max_length` tokens
step through it with `stride` tokens of overlap, so a quote that crosses a window
edge is seen whole in at least one window when it fits. Each token knows its
paragraph, which is what the sector head pools over.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from salatag.article import Article
from salatag.labels import SECTOR_INDEX, SECTORS

IGNORE = -100


@dataclass
class Window:
    """One encoder input: token ids, their view offsets, paragraph and tag per token."""

    input_ids: list[int]
    starts: list[int]  # view character offsets; -1 for special tokens
    ends: list[int]
    paragraphs: list[int]  # article paragraph index per token; -1 for special tokens
    positions: list[int]  # index into the article's token list; -1 for special tokens
    tags: list[int] = field(default_factory=list)


def tokenize_article(article: Article, tokenizer: Any) -> tuple[list[int], list[tuple[int, int]]]:
    """Through the `tokenizers` backend, which transformers' fast tokenizers and
    `salatag.encoder.FastTokenizer` share: the same ids and offsets either way."""
    enc = tokenizer.backend_tokenizer.encode(article.view.text, add_special_tokens=False)
    return enc.ids, enc.offsets


def make_windows(
    article: Article,
    tokenizer: Any,
    max_length: int,
    stride: int,
    context: str = "article",
) -> list[Window]:
    ids, offsets = tokenize_article(article, tokenizer)
    para_starts = [p.view_start for p in article.paragraphs]
    # by the token's last character: offsets include a leading space (Metaspace)
    token_para = [max(bisect.bisect_right(para_starts, max(e - 1, s)) - 1, 0) for s, e in offsets]
    size = max_length - 2
    ranges: list[tuple[int, int]] = []
    if context == "paragraph":
        for i in range(len(article.paragraphs)):
            members = [t for t, p in enumerate(token_para) if p == i]
            if members:
                lo, hi = members[0], members[-1] + 1
                ranges += [(a, min(a + size, hi)) for a in range(lo, hi, max(size - stride, 1))]
    else:
        step = max(size - stride, 1)
        start = 0
        while start < len(ids):
            ranges.append((start, min(start + size, len(ids))))
            if start + size >= len(ids):
                break
            start += step
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    windows = []
    for a, b in ranges:
        windows.append(
            Window(
                [cls, *ids[a:b], sep],
                [-1, *(s for s, _ in offsets[a:b]), -1],
                [-1, *(e for _, e in offsets[a:b]), -1],
                [-1, *token_para[a:b], -1],
                [-1, *range(a, b), -1],
            )
        )
    return windows


def speaker_span(
    text: str,
    quote_start: int,
    quote_end: int,
    speaker: str | None,
    paragraph_bounds: list[tuple[int, int]],
) -> tuple[int, int] | None:
    """Where the attribution names the speaker: after the quote in its paragraph, else
    before it, else the next or previous paragraph. None when the name isn't there."""
    if not speaker:
        return None
    low, name = text.lower(), speaker.lower()
    para = next((i for i, (s, e) in enumerate(paragraph_bounds) if s <= quote_end <= e), None)
    if para is None:
        return None
    s, e = paragraph_bounds[para]
    found = low.find(name, quote_end, e)
    if found < 0:
        found = low.rfind(name, s, quote_start)
    if found < 0 and para + 1 < len(paragraph_bounds):
        found = low.find(name, *paragraph_bounds[para + 1])
    if found < 0 and para > 0:
        found = low.rfind(name, *paragraph_bounds[para - 1])
    return (found, found + len(name)) if found >= 0 else None


def tag_windows(windows: list[Window], article: Article, record: dict) -> None:
    """Gold BIO tags per token from the record's quotes and speakers (view offsets)."""
    bounds = [(p["start"], p["end"]) for p in record["paragraphs"]]
    spans: list[tuple[int, int, int]] = []  # view start, end, B tag
    for q in record["quotes"]:
        spans.append((*article.view.from_source(q["start"], q["end"]), 1))
        where = speaker_span(record["text"], q["start"], q["end"], q.get("speaker"), bounds)
        if where is not None:
            spans.append((*article.view.from_source(*where), 3))
    for w in windows:
        w.tags = []
        previous = None
        for s, e in zip(w.starts, w.ends, strict=True):
            if s < 0:
                w.tags.append(IGNORE)
                continue
            hit = next(((a, b, t) for a, b, t in spans if a <= s < b or (s < a < e)), None)
            if hit is None:
                w.tags.append(0)
                previous = None
            else:
                first = previous != hit
                w.tags.append(hit[2] if first else hit[2] + 1)
                previous = hit


def sector_targets(record: dict) -> tuple[list[list[float]], list[float]]:
    sectors = []
    for p in record["paragraphs"]:
        row = [0.0] * len(SECTORS)
        for label in p["sectors"]:
            row[SECTOR_INDEX[label]] = 1.0
        sectors.append(row)
    chrome = [0.0 if p["body"] else 1.0 for p in record["paragraphs"]]
    return sectors, chrome


def featurize_batch(
    batch: dict[str, list], tokenizer: Any, max_length: int, stride: int, context: str
) -> dict[str, list]:
    """`datasets.map(batched=True)` function: records -> one row per window."""
    out: dict[str, list] = {
        k: [] for k in ("input_ids", "tags", "token_para", "para_sectors", "para_chrome", "article")
    }
    keys = list(batch)
    for i in range(len(batch["text"])):
        record = {k: batch[k][i] for k in keys}
        article = Article.from_text(record["text"], record["id"])
        if len(article.paragraphs) != len(record["paragraphs"]):
            raise ValueError(f"{record['id']}: paragraphs do not match the text")
        windows = make_windows(article, tokenizer, max_length, stride, context)
        tag_windows(windows, article, record)
        sectors, chrome = sector_targets(record)
        for w in windows:
            present = sorted({p for p in w.paragraphs if p >= 0})
            slot = {p: j for j, p in enumerate(present)}
            out["input_ids"].append(w.input_ids)
            out["tags"].append(w.tags)
            out["token_para"].append([slot.get(p, -1) for p in w.paragraphs])
            out["para_sectors"].append([sectors[p] for p in present])
            out["para_chrome"].append([chrome[p] for p in present])
            out["article"].append(record["id"])
    return out


def pad(
    rows: Sequence[Sequence[Any]],
    value: float,
    dtype: type | np.dtype = np.int64,
    min_width: int = 0,
    inner: tuple[int, ...] = (),
) -> np.ndarray:
    """Right-pad ragged rows into one (rows, width, *inner) array; `inner` is the shape
    of each element when the elements are lists (a paragraph's sector targets).

    Training batches and the tagger's batches are padded by this one function, so the
    model sees the same padding in both. numpy, so the tagger's ONNX path needs no torch."""
    width = max([min_width, *(len(r) for r in rows)])
    out = np.full((len(rows), width, *inner), value, dtype=dtype)
    for i, row in enumerate(rows):
        if len(row):
            out[i, : len(row)] = np.asarray(row, dtype=dtype)
    return out


def pad_windows(
    input_ids: Sequence[Sequence[int]], token_para: Sequence[Sequence[int]], pad_id: int
) -> dict[str, np.ndarray]:
    """The encoder inputs of a batch of windows: ids, attention mask and slot per token."""
    return {
        "input_ids": pad(input_ids, pad_id),
        "attention_mask": pad([[1] * len(r) for r in input_ids], 0),
        "token_para": pad(token_para, -1),
    }
