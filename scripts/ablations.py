"""Design choices measured on dev: one setting changed at a time, the real training script.

    python scripts/ablations.py --group default [--seeds 13 14 15] [--out reports/ablations.md]
    python scripts/ablations.py --group default --variants 3 --seeds 13 14   # one row
    python scripts/ablations.py --group cpu-small

Each variant is the group's config, seed and data with the overrides listed below; a
variant whose run already has a model is not trained again. Every model is then
scored on the dev split by the same code as `salatag.evaluate`, Kazinform articles and
KazNERD sentences apart, with the thresholds it tuned on dev (so its F1 is optimistic in
absolute terms; PR-AUC needs no threshold). Test is never read here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from salatag.corpus import REPO_ROOT
from salatag.records import Record, read_records

FULL = ["finetune.method=full", "run.threads=2", "run.patience=5"]
GROUPS: dict[str, tuple[str, dict[str, list[str]]]] = {
    "cpu-small": (
        "configs/cpu-small.yaml",
        {
            "whole-article windows, pos_weight (cpu-small as it is)": [],
            "paragraph context only": ["window.context=paragraph"],
            "focal loss instead of pos_weight": ["loss.class_weighting=focal"],
            "no class weighting": ["loss.class_weighting=none"],
        },
    ),
    "default": (
        "configs/default.yaml",
        {
            # rows that start with @ score a model directory trained earlier: the first two
            # were trained before the 22 hard negatives au-hn-025 … 046 were written
            "LoRA r=16, lr 3e-4, 3 epochs, 24 hard negatives (shipped before)": [
                "@runs/ablations/default/lora-r16-before-hn2/model"
            ],
            "full fine-tuning, lr 8e-5, 5 epochs, 24 hard negatives": [
                "@runs/ablations/default/full-lr8e5-s13-before-hn2/model"
            ],
            "full fine-tuning, lr 8e-5, 5 epochs, 46 hard negatives": [
                *FULL,
                "optim.encoder_lr=8e-5",
                "optim.epochs=5",
            ],
            "the same, weights of epochs 3-5 averaged (kept when better on dev)": [
                *FULL,
                "optim.encoder_lr=8e-5",
                "optim.epochs=5",
                "run.average_last=3",
            ],
        },
    ),
    "student": (  # issue 16: a faster model must score within 0.01 of the full one
        "configs/student.yaml",
        {
            "12 layers: the shipped model (teacher)": ["@models/default"],
            "6 layers (0, 2, …, 10) distilled from it, 46 hard negatives": ["@runs/student/model"],
        },
    ),
}


def train(config: str, overrides: list[str], out_dir: Path, seed: int) -> Path:
    if overrides and overrides[0].startswith("@"):
        return REPO_ROOT / overrides[0][1:]
    model = out_dir / "model"
    if not (model / "metrics.json").exists():
        args = [sys.executable, "-m", "train", config, "--set", f"run.output_dir={out_dir}"]
        for item in [*overrides, f"run.seed={seed}"]:
            args += ["--set", item]
        subprocess.run(args, check=True, cwd=REPO_ROOT)
    return model


def dev_scores(model: Path, gold: list[Record]) -> dict[str, dict[str, float]]:
    """Per source: sector macro-F1 and PR-AUC, quote span F1 and speaker accuracy."""
    from salatag.article import Article
    from salatag.evaluate import score_parts
    from salatag.tagger import Tagger

    articles = [Article.from_text(g.text, g.id) for g in gold]
    pred = Tagger.load(model, device="cpu").tag(articles)
    out = {}
    for part, systems in score_parts(gold, {"model": pred}).items():
        m = systems["model"]
        aucs = [v["pr_auc"] for v in m["sectors"]["per_label"].values() if v["support"]]
        out[part] = {
            "macro_f1": m["sector_macro_f1"],
            "pr_auc": float(np.mean(aucs)) if aucs else float("nan"),
            "span_f1": m["quote_span_f1"],
            "speaker": m["speaker_accuracy"],
        }
    return out


def table(group: str, seeds: list[int], runs: Path, only: list[int] | None = None) -> str:
    config, variants = GROUPS[group]
    gold = list(read_records(REPO_ROOT / "data" / "build" / "dev.jsonl"))
    cols = [(p, k) for p in ("kazinform", "kaznerd") for k in ("macro_f1", "pr_auc")]
    cols += [("kazinform", "span_f1"), ("kazinform", "speaker")]
    rows = [
        "| variant | seeds | " + " | ".join(f"{p} {k}" for p, k in cols) + " |",
        "|---|---|" + "---|" * len(cols),
    ]
    for i, (name, overrides) in enumerate(variants.items()):
        if only is not None and i not in only:
            continue
        per_seed = [
            dev_scores(train(config, overrides, runs / group / f"v{i}-s{seed}", seed), gold)
            for seed in (seeds if not overrides or overrides[0][0] != "@" else seeds[:1])
        ]
        cells = []
        for p, k in cols:
            values = np.array([s[p][k] for s in per_seed])
            spread = f" ± {values.std():.3f}" if len(values) > 1 else ""
            cells.append(f"{values.mean():.3f}{spread}")
        rows.append(f"| {name} | {len(per_seed)} | " + " | ".join(cells) + " |")
    return (
        f"Dev split, `{config}` with one setting changed per row "
        f"(`python scripts/ablations.py --group {group}`); mean ± standard deviation over "
        "seeds where several were run.\n\n" + "\n".join(rows) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--group", choices=sorted(GROUPS), default="default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[13])
    parser.add_argument("--runs", type=Path, default=REPO_ROOT / "runs" / "ablations")
    parser.add_argument("--out", type=Path, default=None, help="write the table here too")
    parser.add_argument(
        "--variants", type=int, nargs="+", default=None, help="only these rows (0-based)"
    )
    args = parser.parse_args(argv)
    text = table(args.group, args.seeds, args.runs, args.variants)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    print(text)
    print(json.dumps({"group": args.group, "seeds": args.seeds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
