"""The loss lives in the model: forward with labels scores a batch, without labels it
does not (inference and the ONNX export call it so), and the training batches are
padded by the same helper as the tagger's."""

from __future__ import annotations

import pytest
import torch
from stubs import stub_model

from salatag.labels import SECTORS
from salatag.model import SalatagModel
from salatag.training import collate

ROWS = [
    {
        "input_ids": [0, 5, 6, 7, 2],
        "token_para": [-1, 0, 0, 1, -1],
        "tags": [-100, 1, 2, 0, -100],
        "para_sectors": [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]],
        "para_chrome": [0.0, 1.0],
    },
    {
        "input_ids": [0, 9, 2],
        "token_para": [-1, 0, -1],
        "tags": [-100, 0, -100],
        "para_sectors": [[0.0, 0.0, 0.0, 0.0, 1.0]],
        "para_chrome": [0.0],
    },
]


def model(**loss: float | str) -> SalatagModel:
    return stub_model(**loss).eval()


def test_collate_pads_like_the_tagger() -> None:
    batch = collate(ROWS, pad_id=1)
    assert batch["input_ids"].tolist() == [[0, 5, 6, 7, 2], [0, 9, 2, 1, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert batch["token_para"][1].tolist() == [-1, 0, -1, -1, -1]
    assert batch["tags"][1].tolist() == [-100, 0, -100, -100, -100]
    assert batch["sectors"].shape == (2, 2, len(SECTORS))
    assert batch["slot_mask"].tolist() == [[True, True], [True, False]]


def test_forward_with_labels_returns_the_loss_and_without_them_none() -> None:
    batch = collate(ROWS, pad_id=1)
    m = model()
    plain = m(batch["input_ids"], batch["attention_mask"], batch["token_para"])
    assert plain.loss is None
    scored = m(**batch)
    assert scored.loss is not None and scored.loss.ndim == 0 and scored.loss > 0
    assert torch.equal(plain.tag_logits, scored.tag_logits)
    with pytest.raises(ValueError, match="all four labels"):
        m(batch["input_ids"], batch["attention_mask"], batch["token_para"], tags=batch["tags"])


def test_a_head_weighing_nothing_adds_nothing() -> None:
    batch = collate(ROWS, pad_id=1)
    whole = model(chrome=0.0)(**batch).loss
    parts = (
        model(sectors=0.0, chrome=0.0)(**batch).loss + model(quotes=0.0, chrome=0.0)(**batch).loss
    )
    assert torch.allclose(whole, parts)
    assert (
        model(class_weighting="focal")(**batch).loss < model(class_weighting="none")(**batch).loss
    )
