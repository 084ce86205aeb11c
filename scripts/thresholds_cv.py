"""Are per-source thresholds better than one set? Split-half cross-validation on dev.

    python scripts/thresholds_cv.py [--model models/default] [--repeats 10]

Dev articles are split in two halves at random; thresholds are tuned on one half (over
all of it, or on each source's records alone) and scored on the other half's
Kazinform and KazNERD parts; every split is used both ways. Prints the mean and
standard deviation of sector macro-F1 per part. Test is not read here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from salatag.article import Article
from salatag.labels import SECTORS
from salatag.metrics import sector_metrics, tune_thresholds
from salatag.records import Record, read_records
from salatag.tagger import Tagger

PARTS = ("kazinform", "kaznerd")


def with_thresholds(pred: list[Record], thresholds: dict[str, float]) -> list[Record]:
    out = []
    for record in pred:
        data = record.to_dict()
        for para in data["paragraphs"]:
            scores = para.get("scores") or {}
            para["sectors"] = [s for s in SECTORS if scores.get(s, 0.0) >= thresholds[s]]
        out.append(Record.from_dict(data))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--data", type=Path, default=Path("data/build/dev.jsonl"))
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    gold = list(read_records(args.data))
    tagger = Tagger.load(args.model, device="cpu")
    pred = tagger.tag([Article.from_text(g.text, g.id) for g in gold], include_text=False)
    rng = np.random.default_rng(0)
    scores: dict[str, dict[str, list[float]]] = {"one set": {}, "per source": {}}
    for _ in range(args.repeats):
        first = set(rng.permutation(len(gold))[: len(gold) // 2].tolist())
        for tune_on_first in (True, False):
            tune = [i for i in range(len(gold)) if (i in first) == tune_on_first]
            held = [i for i in range(len(gold)) if (i in first) != tune_on_first]
            overall = tune_thresholds([gold[i] for i in tune], [pred[i] for i in tune])
            for part in PARTS:
                mine = [i for i in tune if gold[i].source == part]
                own = tune_thresholds([gold[i] for i in mine], [pred[i] for i in mine])
                test = [i for i in held if gold[i].source == part]
                for name, thresholds in (("one set", overall), ("per source", own)):
                    tagged = with_thresholds([pred[i] for i in test], thresholds)
                    f1 = sector_metrics([gold[i] for i in test], tagged)["macro_f1"]
                    scores[name].setdefault(part, []).append(f1)
    print("| thresholds | " + " | ".join(f"{p} macro-F1" for p in PARTS) + " |")
    print("|---|" + "---|" * len(PARTS))
    for name, by_part in scores.items():
        cells = [f"{np.mean(by_part[p]):.3f} ± {np.std(by_part[p]):.3f}" for p in PARTS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
