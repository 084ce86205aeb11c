"""Tagging articles with a trained model: one implementation for every driver.

Training (dev metrics), evaluation, the batch tagger and the Ray engine all call
`Tagger.tag`, so they cannot disagree. Windows from many articles are sorted by
length and batched (less padding); overlapping windows are merged per token by
keeping the window where the token sits furthest from an edge.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from salatag.article import Article
from salatag.features import TAGS, Window, make_windows
from salatag.labels import SECTORS
from salatag.model import ModelMeta, SalatagModel, load_model

_EDGE = " \t\n,–—-:;«»\"“”'"
BACKENDS = ("torch", "onnx-int8", "onnx-fp32")
DECODING = "bio"  # chosen on dev against "argmax" and "smooth": see scripts/decoding.py
SWITCH_PENALTY = 2.0  # nats to leave or enter a span in "smooth" decoding


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but no CUDA GPU is available")
    return torch.device(name)


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
        model: SalatagModel,
        tokenizer: Any,
        meta: ModelMeta,
        device: str = "auto",
        batch_size: int = 32,
    ) -> None:
        self.device = pick_device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.meta = meta
        self.batch_size = batch_size
        self.thresholds = dict(meta.thresholds)
        self.decoding = DECODING

    @classmethod
    def load(
        cls,
        model_dir: Path | str,
        device: str = "auto",
        batch_size: int = 32,
        backend: str = "torch",
    ) -> Tagger:
        """`backend` picks the forward pass only: torch, or ONNX Runtime on the CPU
        (onnx-int8, onnx-fp32; exported once and cached, see salatag.onnx_backend)."""
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r}: one of {', '.join(BACKENDS)}")
        if backend == "torch":
            model, tokenizer, meta = load_model(model_dir)
        else:
            from salatag.onnx_backend import load_onnx

            model, tokenizer, meta = load_onnx(model_dir, backend.removeprefix("onnx-"))
            device = "cpu" if device == "auto" else device
        return cls(model, tokenizer, meta, device, batch_size)

    # --- model outputs -------------------------------------------------------------

    @torch.inference_mode()
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
            width = max(len(w.input_ids) for w in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            para = torch.full((len(batch), width), -1, dtype=torch.long)
            for r, w in enumerate(batch):
                n = len(w.input_ids)
                ids[r, :n] = torch.tensor(w.input_ids)
                mask[r, :n] = 1
                para[r, :n] = torch.tensor(_local_slots(w))
            out = self.model(ids.to(self.device), mask.to(self.device), para.to(self.device))
            tags = out.tag_logits.float().softmax(-1).cpu().numpy()
            sectors = out.sector_logits.float().sigmoid().cpu().numpy()
            chrome = out.chrome_logits.float().sigmoid().cpu().numpy()
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

    def tag(self, articles: list[Article], include_text: bool = True) -> list[dict[str, Any]]:
        return [
            self.decode(a, s, include_text)
            for a, s in zip(articles, self.score(articles), strict=True)
        ]

    def decode(self, article: Article, scores: ArticleScores, include_text: bool = True) -> dict:
        paragraphs = []
        for i, p in enumerate(article.paragraphs):
            body = bool(scores.chrome_probs[i] < self.meta.chrome_threshold)
            probs = {
                label: round(float(scores.sector_probs[i][j]), 4) for j, label in enumerate(SECTORS)
            }
            sectors = [lab for lab in SECTORS if body and probs[lab] >= self.thresholds[lab]]
            paragraphs.append(
                {"start": p.start, "end": p.end, "body": body, "sectors": sectors, "scores": probs}
            )
        labels = decode_tags(scores.tag_probs, self.decoding)
        quotes_view = _spans(labels, scores.tag_probs, 1)
        speakers_view = _spans(labels, scores.tag_probs, 3)
        quotes = []
        for a, b, conf in quotes_view:
            start, end = _trim(article.text, *article.to_source(scores.starts[a], scores.ends[b]))
            if end <= start:
                continue
            speaker, attribution = self._speaker(article, scores, speakers_view, start, end)
            quotes.append(
                {
                    "start": start,
                    "end": end,
                    "speaker": speaker,
                    "attribution": attribution,
                    "score": round(conf, 4),
                }
            )
        record: dict[str, Any] = {"id": article.id}
        if include_text:
            record["text"] = article.text
        record.update(
            lang=article.lang.lang,
            script=article.lang.script,
            paragraphs=paragraphs,
            quotes=quotes,
            summary=summarize(article.text, paragraphs, quotes),
        )
        return record

    def _speaker(
        self, article: Article, scores: ArticleScores, speakers: list, q_start: int, q_end: int
    ) -> tuple[str | None, list[int] | None]:
        """The speaker mention nearest the quote: after it first (`…, – деді X`), in the
        same or next paragraph, else before it (`X былай деді: «…»`)."""
        found = []
        for a, b, _ in speakers:
            s, e = _trim(article.text, *article.to_source(scores.starts[a], scores.ends[b]))
            if e > s:
                found.append((s, e))
        after = [(s, e) for s, e in found if s >= q_end and "\n\n" not in article.text[q_end:s]]
        after = [(s, e) for s, e in after if article.text.count("\n", q_end, s) <= 1]
        before = [
            (s, e) for s, e in found if e <= q_start and article.text.count("\n", e, q_start) == 0
        ]
        if after:
            s, e = min(after)
            a_start, a_end = _trim(article.text, q_end, e)
        elif before:
            s, e = max(before)
            a_start, a_end = _trim(article.text, s, q_start)
        else:
            return None, None
        return article.text[s:e], [a_start, a_end]


def _local_slots(w: Window) -> list[int]:
    present = sorted({p for p in w.paragraphs if p >= 0})
    slot = {p: j for j, p in enumerate(present)}
    return [slot.get(p, -1) for p in w.paragraphs]


def _allowed_transitions() -> np.ndarray:
    """BIO: an I tag follows only a B or I of its own type; anything else is free."""
    allowed = np.ones((len(TAGS), len(TAGS)), dtype=bool)
    for j, tag in enumerate(TAGS):
        if tag.startswith("I-"):
            allowed[:, j] = False
            allowed[TAGS.index("B-" + tag[2:]), j] = allowed[j, j] = True
    return allowed


ALLOWED = _allowed_transitions()


def viterbi(logp: np.ndarray, transition: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The best path through per-token log-probabilities (T, K) and transitions (K, K)."""
    score = start + logp[0]
    back = np.zeros(logp.shape, dtype=np.int64)
    for t in range(1, len(logp)):
        candidates = score[:, None] + transition  # (previous, current)
        back[t] = candidates.argmax(0)
        score = candidates.max(0) + logp[t]
    path = np.empty(len(logp), dtype=np.int64)
    path[-1] = int(score.argmax())
    for t in range(len(logp) - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def decode_tags(probs: np.ndarray, method: str = DECODING) -> np.ndarray:
    """Tag ids per token from the tag probabilities.

    argmax: per token; a long quote breaks wherever one token dips below 0.5.
    bio: the likeliest valid BIO sequence (an I follows a B or I of its type).
    smooth: spans are runs of the likeliest kind (outside, quote, speaker; B and I mass
    summed), found with a cost for every change of kind, so one doubtful token neither
    splits a quote nor makes one; a run is split again where a B is the likeliest tag.
    """
    if not len(probs):
        return np.zeros(0, dtype=np.int64)
    if method == "argmax":
        return probs.argmax(-1)
    logp = np.log(np.clip(probs, 1e-9, 1.0))
    if method == "bio":
        transition = np.where(ALLOWED, 0.0, -np.inf)
        start = np.array([0.0 if not t.startswith("I-") else -np.inf for t in TAGS])
        return viterbi(logp, transition, start)
    if method != "smooth":
        raise ValueError(f"decoding {method!r}: argmax, bio or smooth")
    kinds = np.stack([probs[:, 0], probs[:, 1] + probs[:, 2], probs[:, 3] + probs[:, 4]], 1)
    transition = -SWITCH_PENALTY * (1 - np.eye(3))
    kind = viterbi(np.log(np.clip(kinds, 1e-9, 1.0)), transition, np.zeros(3))
    labels = np.zeros(len(probs), dtype=np.int64)
    for t, k in enumerate(kind):
        if k == 0:
            continue
        b, i = 2 * k - 1, 2 * k
        new_run = t == 0 or kind[t - 1] != k
        labels[t] = b if new_run or probs[t, b] > probs[t, i] else i
    return labels


def _spans(labels: np.ndarray, probs: np.ndarray, begin: int) -> list[tuple[int, int, float]]:
    """BIO spans (first token, last token, mean probability) for one entity type.
    Lenient: an I tag after O starts a span too, as the tagger sometimes misses B."""
    spans, start = [], None
    for t, label in enumerate([*list(labels), 0]):
        inside = label in (begin, begin + 1)
        if start is not None and (not inside or label == begin):
            conf = float(probs[start:t, begin : begin + 2].sum(-1).mean())
            spans.append((start, t - 1, conf))
            start = None
        if inside and start is None:
            start = t
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    return start, end


def summarize(text: str, paragraphs: list[dict], quotes: list[dict]) -> dict[str, Any]:
    counts = Counter(label for p in paragraphs for label in p["sectors"])
    body_chars = sum(p["end"] - p["start"] for p in paragraphs if p["body"])
    quoted = sum(len(re.sub(r"\s", "", text[q["start"] : q["end"]])) for q in quotes)
    body_chars = (
        sum(len(re.sub(r"\s", "", text[p["start"] : p["end"]])) for p in paragraphs if p["body"])
        or body_chars
    )
    return {
        "sectors": {label: counts[label] for label in SECTORS if counts[label]},
        "quoted_share": round(quoted / body_chars, 4) if body_chars else 0.0,
    }
