"""Tag new articles: sectors per paragraph and direct quotes with speakers.

    python -m infer examples/ --out tags.jsonl
    python -m infer news.jsonl more/*.txt - --out tags.csv --device cpu
    cat article.txt | python -m infer - --out tags.jsonl

INPUT is any mix of .txt files (one article each), folders of them (recursive),
JSONL files with a `text` field (other fields are passed through, `id` kept) and `-`
for standard input. The output format follows the extension of --out (.jsonl, .csv
with one row per paragraph, .parquet) unless --format says otherwise. Offsets always
index the input text as given. Exit code 0 when every article was tagged or skipped
for a stated reason, 1 when any failed, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from itertools import islice
from pathlib import Path

from salatag.corpus import REPO_ROOT

DEFAULT_MODEL = REPO_ROOT / "models" / "default"
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
CHUNK = 64  # articles read, length-sorted and tagged together: bounds memory


def parse_thresholds(items: list[str]) -> dict[str, float]:
    from salatag.labels import SECTORS

    out = {}
    for item in items:
        label, _, value = item.partition("=")
        if label not in SECTORS:
            raise ValueError(
                f"--threshold {item!r}: unknown sector {label!r} ({', '.join(SECTORS)})"
            )
        try:
            out[label] = float(value)
        except ValueError:
            raise ValueError(
                f"--threshold {item!r}: expected LABEL=NUMBER, e.g. water=0.4"
            ) from None
        if not 0 <= out[label] <= 1:
            raise ValueError(f"--threshold {item!r}: must be between 0 and 1")
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT")
    parser.add_argument(
        "--out", type=Path, required=True, help="output file (a folder for --engine ray)"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL,
        help="model directory (default: the shipped model)",
    )
    parser.add_argument("--format", choices=["jsonl", "csv", "parquet"])
    parser.add_argument("--batch-size", type=int, default=32, help="windows per forward pass")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument(
        "--backend",
        choices=["torch", "onnx-int8", "onnx-fp32"],
        default="torch",
        help="forward pass: torch, or ONNX Runtime on the CPU (needs .[onnx]; exported once)",
    )
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="LABEL=P",
        help="override a sector's tuned threshold (repeatable)",
    )
    parser.add_argument("--no-text", action="store_true", help="leave the text out of the output")
    parser.add_argument(
        "--resume", action="store_true", help="keep the output so far and skip ids already in it"
    )
    parser.add_argument(
        "--max-chars",
        type=int,
        default=200_000,
        help="skip articles longer than this (default 200000)",
    )
    parser.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this process; ray: Ray Data workers writing shards into --out "
        '(pip install ".[ray]"; a rerun skips finished shards)',
    )
    parser.add_argument(
        "--num-workers", type=int, default=2, help="Ray workers, each with its own model"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        thresholds = parse_thresholds(args.threshold)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.batch_size < 1:
        print("error: --batch-size must be at least 1", file=sys.stderr)
        return 2
    if args.engine == "ray":  # the only place Ray is imported
        from salatag.ray_engine import run_cli

        return run_cli(args, thresholds)
    fmt = args.format or FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        print(f"error: cannot tell the format of {args.out}; use --format", file=sys.stderr)
        return 2

    from tqdm.auto import tqdm

    from salatag.batch import Writer, read_inputs, tag_batch, tally
    from salatag.encoder import EncoderError
    from salatag.model import ModelError
    from salatag.tagger import Tagger

    try:
        tagger = Tagger.load(
            args.model, device=args.device, batch_size=args.batch_size, backend=args.backend
        )
    except (ModelError, EncoderError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tagger.thresholds.update(thresholds)
    writer = Writer(args.out, fmt, include_text=not args.no_text, resume=args.resume)
    started = time.time()
    counts: Counter = Counter()
    reasons: Counter = Counter()
    items = (i for i in read_inputs(args.inputs) if i.id not in writer.done)
    bar = tqdm(unit=" articles", desc="tagging", disable=None)
    try:
        while chunk := list(islice(items, CHUNK)):
            records = tag_batch(
                tagger, chunk, include_text=not args.no_text, max_chars=args.max_chars
            )
            writer.write(records)
            for r in records:
                tally(r, counts, reasons)
            bar.update(len(records))
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: {sum(counts[k] for k in ('tagged', 'skipped', 'failed'))} "
            f"articles written to {writer.path}; rerun with --resume",
            file=sys.stderr,
        )
        return 130
    finally:
        bar.close()
    writer.close()
    seconds = time.time() - started
    total = counts["tagged"] + counts["skipped"] + counts["failed"]
    print(
        f"{total} articles in {seconds:.1f}s ({total / max(seconds, 1e-9):.1f}/s): "
        f"{counts['tagged']} tagged ({counts['paragraphs']} paragraphs, {counts['quotes']} "
        f"quotes), {counts['skipped']} skipped, {counts['failed']} failed"
        + (f"; {len(writer.done) - total} already done" if args.resume else ""),
        file=sys.stderr,
    )
    for reason, n in reasons.most_common():
        print(f"  {n:5d}  {reason}", file=sys.stderr)
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
