"""Scores of predicted records against gold records (`Record`s, or their JSON form).

Sectors are scored per paragraph (all paragraphs: a chrome line tagged with a sector is
a false positive); quotes per whitespace token of the original text and per span.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
)

from salatag.labels import SECTOR_INDEX, SECTORS
from salatag.records import Quote, Record, overlaps, quote_tokens

Records = Sequence[Record | dict[str, Any]]


def pairs(gold: Records, pred: Records) -> list[tuple[Record, Record]]:
    """Gold and predicted records side by side (records or their JSON form)."""
    return [(Record.of(g), Record.of(p)) for g, p in zip(gold, pred, strict=True)]


def sector_arrays(gold: Records, pred: Records) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gold labels, predicted labels and predicted scores, one row per paragraph."""
    y, yhat, scores = [], [], []
    for g, p in pairs(gold, pred):
        if len(g.paragraphs) != len(p.paragraphs):
            raise ValueError(f"{g.id}: gold and predicted paragraphs differ in number")
        for gp, pp in zip(g.paragraphs, p.paragraphs, strict=True):
            y.append([label in gp.sectors for label in SECTORS])
            yhat.append([label in pp.sectors for label in SECTORS])
            s = pp.scores or {}
            scores.append([s.get(label, float(label in pp.sectors)) for label in SECTORS])
    return np.array(y, bool), np.array(yhat, bool), np.array(scores, float)


def sector_metrics(gold: Records, pred: Records) -> dict[str, Any]:
    y, yhat, scores = sector_arrays(gold, pred)
    p, r, f, support = precision_recall_fscore_support(y, yhat, zero_division=0)
    per_label = {}
    for j, label in enumerate(SECTORS):
        ap = average_precision_score(y[:, j], scores[:, j]) if y[:, j].any() else float("nan")
        per_label[label] = {
            "precision": float(p[j]),
            "recall": float(r[j]),
            "f1": float(f[j]),
            "support": int(support[j]),
            "pr_auc": float(ap),
        }
    return {
        "per_label": per_label,
        "micro_f1": float(f1_score(y, yhat, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y, yhat, average="macro", zero_division=0)),
        "exact_match": float((y == yhat).all(axis=1).mean()) if len(y) else 0.0,
        "hamming_loss": float(hamming_loss(y, yhat)) if len(y) else 0.0,
        "paragraphs": len(y),
    }


def body_accuracy(gold: Records, pred: Records) -> float:
    both = [
        (gp.body, pp.body)
        for g, p in pairs(gold, pred)
        for gp, pp in zip(g.paragraphs, p.paragraphs, strict=True)
    ]
    return sum(a == b for a, b in both) / max(len(both), 1)


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def half_overlap(a: Quote, b: Quote) -> bool:
    """The spans share at least half of each one's length."""
    inter = min(a.end, b.end) - max(a.start, b.start)
    return inter >= 0.5 * (a.end - a.start) and inter >= 0.5 * (b.end - b.start)


def match_quotes(gold: list[Quote], pred: list[Quote]) -> list[tuple[Quote, Quote]]:
    """(predicted, gold) pairs: each predicted quote in order takes the first unused
    gold quote it overlaps by half."""
    used: set[int] = set()
    out = []
    for q in pred:
        hit = next((i for i, g in enumerate(gold) if i not in used and half_overlap(q, g)), None)
        if hit is not None:
            used.add(hit)
            out.append((q, gold[hit]))
    return out


def normalize_speaker(name: str | None) -> str:
    if not name:
        return ""
    name = unicodedata.normalize("NFC", name).casefold()
    return " ".join(re.findall(r"\w+", name))


def quote_metrics(gold: Records, pred: Records) -> dict[str, Any]:
    """Quotes are scored on the gold text (a prediction may leave its text out)."""
    tp = n_pred = n_gold = 0
    exact = overlap = speakers_right = 0
    spans_pred = spans_gold = 0
    for g, p in pairs(gold, pred):
        gi, pi = quote_tokens(g.text, g.quotes), quote_tokens(g.text, p.quotes)
        tp += sum(a and b for a, b in zip(gi, pi, strict=True))
        n_gold += sum(gi)
        n_pred += sum(pi)
        spans_gold += len(g.quotes)
        spans_pred += len(p.quotes)
        gold_spans = {(q.start, q.end) for q in g.quotes}
        exact += sum((q.start, q.end) in gold_spans for q in p.quotes)
        matched = match_quotes(g.quotes, p.quotes)
        overlap += len(matched)
        speakers_right += sum(
            normalize_speaker(gq.speaker) == normalize_speaker(q.speaker) for q, gq in matched
        )
    return {
        "token": _prf(tp, n_pred, n_gold),
        "span_exact": _prf(exact, spans_pred, spans_gold),
        "span_overlap": _prf(overlap, spans_pred, spans_gold),
        "speaker_accuracy": speakers_right / overlap if overlap else 0.0,
        "matched_quotes": overlap,
        "gold_quotes": spans_gold,
        "predicted_quotes": spans_pred,
        **quote_shape_metrics(gold, pred),
    }


def quote_shape_metrics(gold: Records, pred: Records) -> dict[str, Any]:
    """What a reader sees beyond token overlap: quotes cut in pieces, multi-line quotes
    kept whole, quotes where the gold has none, span edges inside a word."""
    pieces = touched = multi = multi_whole = 0
    quiet_paragraphs = false_quotes = inside_word = 0
    for g, p in pairs(gold, pred):
        for gq in g.quotes:
            hits = [q for q in p.quotes if overlaps(q, gq)]
            if hits:
                touched += 1
                pieces += len(hits)
            if "\n" in g.span(gq):
                multi += 1
                multi_whole += any(half_overlap(q, gq) for q in p.quotes) and len(hits) == 1
        for para in g.paragraphs:
            if any(overlaps(q, para) for q in g.quotes):
                continue
            quiet_paragraphs += 1
            false_quotes += sum(overlaps(q, para) for q in p.quotes)
        inside_word += sum(edges_inside_word(g.text, q.start, q.end) for q in p.quotes)
    return {
        "fragmentation": pieces / touched if touched else 0.0,
        "multi_line_quotes": multi,
        "multi_line_whole": multi_whole / multi if multi else float("nan"),
        "false_quotes_per_100": 100 * false_quotes / quiet_paragraphs if quiet_paragraphs else 0.0,
        "edges_inside_word": inside_word,
    }


def edges_inside_word(text: str, start: int, end: int) -> int:
    """Span edges that fall between two letters or digits (0, 1 or 2)."""

    def cut(i: int) -> bool:
        return 0 < i < len(text) and text[i - 1].isalnum() and text[i].isalnum()

    return int(cut(start)) + int(cut(end))


def dev_score(gold: Records, pred: Records) -> float:
    """The single number early stopping watches: sector PR-AUC (macro; thresholds are
    tuned after training, so F1 at 0.5 would judge an epoch by its calibration), quote
    token and span F1 (token F1 alone lets one long speech decide) and speaker accuracy
    (without it, a checkpoint that finds no speakers can win)."""
    quotes = quote_metrics(gold, pred)
    per_label = sector_metrics(gold, pred)["per_label"].values()
    aucs = [v["pr_auc"] for v in per_label if v["support"]]
    return (
        0.4 * (float(np.mean(aucs)) if aucs else 0.0)
        + 0.2 * quotes["token"]["f1"]
        + 0.2 * quotes["span_overlap"]["f1"]
        + 0.2 * quotes["speaker_accuracy"]
    )


def tune_thresholds(gold: Records, pred: Records) -> dict[str, float]:
    """Per-label thresholds that maximise dev F1 (0.5 where a label has no positives)."""
    y, _, scores = sector_arrays(gold, pred)
    grid = np.round(np.arange(0.05, 0.96, 0.025), 3)
    out = {}
    for label in SECTORS:
        j = SECTOR_INDEX[label]
        if not y[:, j].any():
            out[label] = 0.5
            continue
        f1s = [f1_score(y[:, j], scores[:, j] >= t, zero_division=0) for t in grid]
        best = max(range(len(grid)), key=lambda i: (f1s[i], -abs(grid[i] - 0.5)))
        out[label] = float(grid[best])
    return out
