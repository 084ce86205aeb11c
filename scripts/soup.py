"""Average fine-tuned runs into one model (a uniform model soup), thresholds tuned on dev.

    python scripts/soup.py --base models/default --out runs/soup/model \
        models/default runs/ablations/default/v3-s13/average_state.pt \
        runs/ablations/default/v3-s14/average_state.pt

Members are model directories or a run's state files (`average_state.pt`,
`best_state.pt`); `--base` gives the architecture, tokenizer and settings. The output
directory must be new. Prints the dev figures per source, as `scripts/ablations.py`
scores its rows; test is not read here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from salatag.errors import SalatagError
from salatag.soup import make_soup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("members", nargs="+", type=Path)
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dev", type=Path, default=Path("data/build/dev.jsonl"))
    args = parser.parse_args(argv)
    try:
        dev = make_soup(args.base, args.members, args.dev, args.out)
    except SalatagError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}  dev: {json.dumps(dev)}")
    from ablations import dev_scores  # this folder's scorer, the ablation table's columns

    from salatag.records import read_records

    gold = list(read_records(args.dev))
    print(json.dumps(dev_scores(args.out, gold), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
