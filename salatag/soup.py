"""A uniform model soup: the weights of several fine-tuned runs averaged into one model.

Runs fine-tuned from the same pre-trained encoder on the same task usually sit in one
basin of the loss, so their average tags better than each of them and costs nothing at
inference (Wortsman et al., "Model soups", ICML 2022). Thresholds are tuned again on
dev for the averaged weights, as training does for its best epoch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from salatag.errors import InputError


class SoupError(InputError, ValueError):
    """A member that is missing or does not fit the others."""


def member_state(path: Path) -> dict[str, torch.Tensor]:
    """The weights a member stores: a model directory, a run's `average_state.pt` (a sum
    over epochs) or its `best_state.pt`."""
    from salatag.model import load_model

    if path.is_dir():
        model, _, _ = load_model(path)
        return {k: v.float() for k, v in model.state_dict().items()}
    if not path.is_file():
        raise SoupError(f"soup member {path}: no such model directory or state file")
    state = torch.load(path, weights_only=False)
    if isinstance(state, dict) and "sum" in state and "epochs" in state:
        return {k: v.float() / len(state["epochs"]) for k, v in state["sum"].items()}
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SoupError(f"soup member {path}: not a state dict of tensors")
    return {k: v.float() for k, v in state.items()}


def average(states: list[dict[str, torch.Tensor]], names: list[str]) -> dict[str, torch.Tensor]:
    """The mean of the weights every member trained; the members must share their shapes."""
    trained = [set(s) for s in states]
    keys = set.intersection(*trained)
    for name, state in zip(names[1:], states[1:], strict=True):
        for k in keys:
            if state[k].shape != states[0][k].shape:
                raise SoupError(
                    f"soup member {name}: {k} is {tuple(state[k].shape)}, "
                    f"{names[0]} has {tuple(states[0][k].shape)}"
                )
    if not keys:
        raise SoupError("the soup members share no weights")
    return {k: torch.stack([s[k] for s in states]).mean(0) for k in sorted(keys)}


def make_soup(base: Path, members: list[Path], dev: Path, out: Path) -> dict[str, Any]:
    """Average `members` into the architecture of the model directory `base`, tune the
    thresholds on `dev` and write the model to `out`; returns the dev metrics."""
    from salatag.article import Article
    from salatag.metrics import tune_thresholds
    from salatag.model import load_model, save_model
    from salatag.records import read_records
    from salatag.training import evaluate_dev

    if out.exists() and any(out.iterdir()):
        raise SoupError(f"{out} is not empty: choose a new directory (nothing is overwritten)")
    if len(members) < 2:
        raise SoupError("a soup needs two members or more")
    model, tokenizer, meta = load_model(base)
    names = [str(m) for m in members]
    soup = average([member_state(m) for m in members], names)
    dtypes = {k: v.dtype for k, v in model.state_dict().items()}
    unknown = sorted(set(soup) - set(dtypes))
    if unknown:
        raise SoupError(f"the soup has weights {base} does not: {', '.join(unknown[:3])}")
    model.load_state_dict({k: v.to(dtypes[k]) for k, v in soup.items()}, strict=False)
    meta.finetune = "full"  # LoRA members come merged: the soup stores whole layers
    gold = list(read_records(dev))
    articles = [Article.from_text(g.text, g.id) for g in gold]
    _, preds = evaluate_dev(model, tokenizer, meta, gold, articles, torch.device("cpu"))
    meta.thresholds = tune_thresholds(gold, preds)
    tuned, _ = evaluate_dev(model, tokenizer, meta, gold, articles, torch.device("cpu"))
    files = {
        "metrics.json": json.dumps({"dev": tuned, "thresholds": meta.thresholds}, indent=2) + "\n",
        "soup.json": json.dumps({"members": names, "base": str(base)}, indent=2) + "\n",
    }
    for name in ("config.yaml", "data.json"):
        if (base / name).exists():
            files[name] = (base / name).read_text(encoding="utf-8")
    save_model(model, meta, out, files)
    return tuned
