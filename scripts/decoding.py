"""Which way of turning tag probabilities into quote spans works best, on dev.

    python scripts/decoding.py [--model models/default] [--data data/build/dev.jsonl]

Scores the dev articles once, decodes the same probabilities with each method of
`salatag.tagger.decode_tags` (and a few switch penalties for "smooth"), and prints quote
token F1, span F1 at ≥ 50 % overlap, exact span F1 and speaker accuracy for each. The
shipped default (`salatag.tagger.DECODING`, `SWITCH_PENALTY`) was chosen with this on
dev, never on test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from salatag import tagger as tagger_module
from salatag.article import Article
from salatag.corpus import REPO_ROOT
from salatag.metrics import quote_metrics
from salatag.records import read_records
from salatag.tagger import Tagger

VARIANTS = [("argmax", None), ("bio", None), ("smooth", 1.0), ("smooth", 2.0), ("smooth", 4.0)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "default")
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "data" / "build" / "dev.jsonl")
    args = parser.parse_args(argv)
    gold = [r.to_dict() for r in read_records(args.data)]
    articles = [Article.from_text(g["text"], g["id"]) for g in gold]
    tagger = Tagger.load(args.model, device="cpu")
    scores = tagger.score(articles)
    print("| decoding | token F1 | span F1 (≥ 50 %) | exact span F1 | speaker accuracy |")
    print("|---|---|---|---|---|")
    for method, penalty in VARIANTS:
        tagger.decoding = method
        if penalty is not None:
            tagger_module.SWITCH_PENALTY = penalty
        pred = [tagger.decode(a, s) for a, s in zip(articles, scores, strict=True)]
        q = quote_metrics(gold, pred)
        name = method if penalty is None else f"{method} (switch {penalty:g})"
        print(
            f"| {name} | {q['token']['f1']:.3f} | {q['span_overlap']['f1']:.3f} | "
            f"{q['span_exact']['f1']:.3f} | {q['speaker_accuracy']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
