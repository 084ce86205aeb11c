"""A tiny stand-in model for tests of the loss: the real heads on an embedding table."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from salatag.model import LossSettings, SalatagModel

HIDDEN = 8


class StubEncoder(nn.Module):
    """Stands in for the transformer: an embedding per token id."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, HIDDEN)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(last_hidden_state=self.embed(input_ids))


def stub_model(seed: int = 0, **loss: float | str) -> SalatagModel:
    """Seeded, so two calls with one seed give the same weights."""
    torch.manual_seed(seed)
    return SalatagModel(StubEncoder(), HIDDEN, loss=LossSettings(**loss))  # type: ignore[arg-type]
