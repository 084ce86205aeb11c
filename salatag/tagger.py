"""Tagging articles with a trained model: one implementation for every driver.

Training (dev metrics), evaluation, the batch tagger and the Ray engine all call
`Tagger.tag`, so they cannot disagree. Windows from many articles are sorted by
length and batched (less padding); overlapping windows are merged per token by
keeping the window where the token sits furthest from an edge.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from salatag.article import Article
from salatag.decoding import TAGS, DecoderSettings, decode_quotes
from salatag.errors import UsageError
from salatag.features import Window, make_windows, pad_windows
from salatag.labels import SECTORS
from salatag.meta import ModelMeta
from salatag.records import Paragraph, Quote, Record

BACKENDS = ("auto", "torch", "onnx-fp32", "onnx-int8")


class Forward(Protocol):
    """What the tagger needs of a model: `SalatagModel` (torch) or `OnnxModel`."""

    @property
    def device_name(self) -> str: ...

    def on(self, device: str) -> Forward: ...

    def probabilities(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_para: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


def pick_backend(backend: str, device: str) -> str:
    """`auto`: ONNX Runtime in fp32 on a CPU (same numbers as torch, starts without
    importing torch), torch where a GPU may be used or onnxruntime is missing."""
    if backend != "auto":
        return backend
    gpu_possible = device == "cuda" or (device == "auto" and os.path.exists("/proc/driver/nvidia"))
    if gpu_possible:
        return "torch"
    try:
        import onnxruntime  # noqa: F401  (fast; a broken install falls back to torch)
    except ImportError:
        return "torch"
    return "onnx-fp32"


@dataclass
class ArticleScores:
    """Model outputs for one article, merged over its windows."""

    tag_probs: np.ndarray  # (tokens, tags)
    starts: list[int]  # view offsets per token
    ends: list[int]
    sector_probs: np.ndarray  # (paragraphs, sectors)
    chrome_probs: np.ndarray  # (paragraphs,)


class Tagger:
    def __init__(
        self,
        model: Forward,
        tokenizer: Any,
        meta: ModelMeta,
        device: str = "auto",
        batch_size: int = 32,
    ) -> None:
        self.model = model.on(device)
        self.device = self.model.device_name
        self.tokenizer = tokenizer
        self.meta = meta
        self.batch_size = batch_size
        self.thresholds = dict(meta.thresholds)
        self.decoder = DecoderSettings(**meta.decoder)

    @classmethod
    def load(
        cls,
        model_dir: Path | str,
        device: str = "auto",
        batch_size: int = 32,
        backend: str = "auto",
    ) -> Tagger:
        """`backend` picks the forward pass only: torch, or ONNX Runtime on the CPU
        (onnx-fp32, onnx-int8; exported once and cached, see salatag.onnx_backend);
        `auto` as `pick_backend` says."""
        if backend not in BACKENDS:
            raise UsageError(f"backend {backend!r}: one of {', '.join(BACKENDS)}")
        chosen = pick_backend(backend, device)
        model: Forward
        if chosen != "torch":
            from salatag.onnx_backend import OnnxUnavailable, load_onnx

            try:
                model, tokenizer, meta = load_onnx(model_dir, chosen.removeprefix("onnx-"))
                return cls(model, tokenizer, meta, device, batch_size)
            except OnnxUnavailable:
                if backend != "auto":
                    raise
        from salatag.model import load_model

        model, tokenizer, meta = load_model(model_dir)
        return cls(model, tokenizer, meta, device, batch_size)

    # --- model outputs -------------------------------------------------------------

    def score(self, articles: list[Article]) -> list[ArticleScores]:
        per_article = [
            make_windows(
                a, self.tokenizer, self.meta.max_length, self.meta.stride, self.meta.context
            )
            for a in articles
        ]
        flat = [(i, w) for i, ws in enumerate(per_article) for w in ws]
        order = sorted(range(len(flat)), key=lambda k: len(flat[k][1].input_ids))
        outputs: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        pad = self.tokenizer.pad_token_id
        for b in range(0, len(order), self.batch_size):
            batch = [flat[k][1] for k in order[b : b + self.batch_size]]
            inputs = pad_windows(
                [w.input_ids for w in batch], [_local_slots(w) for w in batch], pad
            )
            tags, sectors, chrome = self.model.probabilities(
                inputs["input_ids"], inputs["attention_mask"], inputs["token_para"]
            )
            for r, k in enumerate(order[b : b + self.batch_size]):
                outputs[k] = (tags[r], sectors[r], chrome[r])
        results, k = [], 0
        for article, windows in zip(articles, per_article, strict=True):
            results.append(
                self._merge(article, windows, [outputs[k + j] for j in range(len(windows))])
            )
            k += len(windows)
        return results

    def _merge(self, article: Article, windows: list[Window], outs: list) -> ArticleScores:
        n_tokens = max((p for w in windows for p in w.positions), default=-1) + 1
        n_para = len(article.paragraphs)
        tag_probs = np.zeros((n_tokens, len(TAGS)), dtype=np.float32)
        best = np.full(n_tokens, -1.0)
        starts, ends = [0] * n_tokens, [0] * n_tokens
        sector_sum = np.zeros((n_para, len(SECTORS)), dtype=np.float32)
        chrome_sum = np.zeros(n_para, dtype=np.float32)
        weight = np.zeros(n_para, dtype=np.float32)
        for w, (tags, sectors, chrome) in zip(windows, outs, strict=True):
            inner = len(w.input_ids) - 2
            present = sorted({p for p in w.paragraphs if p >= 0})
            counts = Counter(p for p in w.paragraphs if p >= 0)
            for j, p in enumerate(present):
                sector_sum[p] += counts[p] * sectors[j]
                chrome_sum[p] += counts[p] * chrome[j]
                weight[p] += counts[p]
            for t, pos in enumerate(w.positions):
                if pos < 0:
                    continue
                margin = min(t - 1, inner - t)  # distance to the nearer window edge
                if margin > best[pos]:
                    best[pos] = margin
                    tag_probs[pos] = tags[t]
                    starts[pos], ends[pos] = w.starts[t], w.ends[t]
        weight = np.maximum(weight, 1e-9)
        return ArticleScores(
            tag_probs, starts, ends, sector_sum / weight[:, None], chrome_sum / weight
        )

    # --- decoding ------------------------------------------------------------------

    def tag(self, articles: list[Article], include_text: bool = True) -> list[Record]:
        return [
            self.decode(a, s, include_text)
            for a, s in zip(articles, self.score(articles), strict=True)
        ]

    def decode(self, article: Article, scores: ArticleScores, include_text: bool = True) -> Record:
        paragraphs = []
        for i, p in enumerate(article.paragraphs):
            body = bool(scores.chrome_probs[i] < self.meta.chrome_threshold)
            probs = {
                label: round(float(scores.sector_probs[i][j]), 4) for j, label in enumerate(SECTORS)
            }
            sectors = [lab for lab in SECTORS if body and probs[lab] >= self.thresholds[lab]]
            paragraphs.append(Paragraph(p.start, p.end, body, sectors, probs))
        found = decode_quotes(article, scores.tag_probs, scores.starts, scores.ends, self.decoder)
        quotes = [Quote.from_dict(q) for q in found]
        return Record(
            article.id,
            article.text if include_text else "",
            paragraphs,
            quotes,
            source=None,
            lang=article.lang.lang,
            script=article.lang.script,
            summary=summarize(article.text, paragraphs, quotes),
        )


def _local_slots(w: Window) -> list[int]:
    present = sorted({p for p in w.paragraphs if p >= 0})
    slot = {p: j for j, p in enumerate(present)}
    return [slot.get(p, -1) for p in w.paragraphs]


def _letters(text: str) -> int:
    return len(re.sub(r"\s", "", text))


def summarize(text: str, paragraphs: list[Paragraph], quotes: list[Quote]) -> dict[str, Any]:
    """Sector counts over paragraphs, and the share of body characters inside quotes."""
    counts = Counter(label for p in paragraphs for label in p.sectors)
    body = [p for p in paragraphs if p.body]
    quoted = sum(_letters(text[q.start : q.end]) for q in quotes)
    body_chars = sum(_letters(text[p.start : p.end]) for p in body) or sum(
        p.end - p.start for p in body
    )
    return {
        "sectors": {label: counts[label] for label in SECTORS if counts[label]},
        "quoted_share": round(quoted / body_chars, 4) if body_chars else 0.0,
    }
