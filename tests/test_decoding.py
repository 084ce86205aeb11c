"""Tag probabilities to spans: the decoders on hand-made probability sequences."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from salatag.tagger import _spans, decode_tags

OUT, BQ, IQ, BS, IS = np.eye(5)


def probs(*rows: np.ndarray, noise: float = 0.02) -> np.ndarray:
    p = np.array(rows) * (1 - 5 * noise) + noise
    return p / p.sum(1, keepdims=True)


def quote_spans(labels: np.ndarray, p: np.ndarray) -> list[tuple[int, int]]:
    return [(a, b) for a, b, _ in _spans(labels, p, 1)]


def test_one_doubtful_token_neither_splits_a_quote_nor_makes_one() -> None:
    dip = 0.55 * OUT + 0.45 * IQ
    p = probs(OUT, BQ, IQ, IQ, dip, IQ, IQ, OUT, OUT, dip, OUT, OUT)
    assert quote_spans(decode_tags(p, "argmax"), p) == [(1, 3), (5, 6)]
    assert quote_spans(decode_tags(p, "smooth"), p) == [(1, 6)]


def test_smooth_finds_a_quote_whose_start_lacks_a_confident_b() -> None:
    p = probs(OUT, OUT, 0.3 * BQ + 0.7 * IQ, IQ, IQ, IQ, OUT, BS, IS, OUT)
    labels = decode_tags(p, "smooth")
    assert quote_spans(labels, p) == [(2, 5)]
    assert [(a, b) for a, b, _ in _spans(labels, p, 3)] == [(7, 8)]


def test_adjacent_quotes_split_where_b_is_likeliest() -> None:
    p = probs(BQ, IQ, IQ, BQ, IQ, OUT)
    assert quote_spans(decode_tags(p, "smooth"), p) == [(0, 2), (3, 4)]
    assert quote_spans(decode_tags(p, "bio"), p) == [(0, 2), (3, 4)]


@pytest.mark.parametrize("method", ["argmax", "bio", "smooth"])
def test_every_decoder_handles_empty_and_single_tokens(method: str) -> None:
    assert decode_tags(np.zeros((0, 5)), method).shape == (0,)
    assert list(decode_tags(probs(BQ), method)) in ([1], [2])


def test_bio_never_starts_with_an_inside_tag() -> None:
    p = probs(IQ, IQ, OUT)
    labels = decode_tags(p, "bio")
    assert labels[0] != 2 and all(not (b == 2 and a not in (1, 2)) for a, b in pairwise(labels))
