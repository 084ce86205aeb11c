"""Which decoder settings turn tag probabilities into the best quotes, on dev.

    python scripts/decoding.py [--model models/default] [--data data/build/dev.jsonl]

Scores the dev articles once, then decodes the same probabilities with each variant of
`salatag.decoding.DecoderSettings` and prints the quote measures a reader cares about.
The shipped settings (stored in the model's meta) were chosen with this on dev, never
on test. The first row is the previous decoder: subword spans, no merging, no form
check, the tagger's speaker span as it stands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from salatag.article import Article
from salatag.corpus import REPO_ROOT
from salatag.decoding import DecoderSettings, decode_quotes
from salatag.metrics import quote_metrics
from salatag.records import read_records
from salatag.tagger import Tagger

VARIANTS: list[dict] = [
    {"pooling": "first", "merge_lines": False, "require_form": False, "speaker": "model"},
    {"merge_lines": False, "require_form": False, "speaker": "model"},
    {"require_form": False, "speaker": "model"},
    {"speeches": False, "speaker": "model"},
    {"speeches": False},
    {"speaker": "model"},
    {"speaker": "rule"},
    {"speaker": "model_then_rule"},
    {},  # the default
    {"pooling": "first"},
    {"method": "smooth"},
    {"method": "smooth", "switch_penalty": 4.0},
]


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
    print(
        "| settings (changes from the default) | token F1 | span F1 (≥ 50 %) | exact span F1 "
        "| pieces per quote | multi-line whole | speaker accuracy | false quotes / 100 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for changes in VARIANTS:
        settings = DecoderSettings(**changes)
        pred = [
            {**g, "quotes": decode_quotes(a, s.tag_probs, s.starts, s.ends, settings)}
            for g, a, s in zip(gold, articles, scores, strict=True)
        ]
        q = quote_metrics(gold, pred)
        name = ", ".join(f"{k}={v}" for k, v in changes.items()) or "default"
        print(
            f"| {name} | {q['token']['f1']:.3f} | {q['span_overlap']['f1']:.3f} | "
            f"{q['span_exact']['f1']:.3f} | {q['fragmentation']:.2f} | "
            f"{q['multi_line_whole']:.2f} of {q['multi_line_quotes']} | "
            f"{q['speaker_accuracy']:.3f} | {q['false_quotes_per_100']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
