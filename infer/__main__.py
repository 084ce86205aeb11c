"""Tag new articles: sectors per paragraph and direct quotes with speakers.

    python -m infer examples/ --out tags.jsonl
    python -m infer news.jsonl more/*.txt - --out tags.csv --device cpu
    cat article.txt | python -m infer - --out tags.jsonl

INPUT is any mix of:
  FILE.txt                one article (UTF-8, with or without BOM, any line ends)
  FOLDER                  every .txt file under it, recursively, in sorted order
  FILE.jsonl / .ndjson    JSON Lines, one record per line with a string field `text`
                          (`id` is kept, other fields are passed through); also any
                          file, not .txt, whose first line is a JSON object
  FILE.json               a JSON array of such records (or JSON Lines)
  FILE.parquet            rows with a `text` column
  -                       standard input: JSON Lines if it starts with `{`, else one article

Every input record gets exactly one output record, in input order; one that cannot be
read or tagged gets an `error` (or `skipped`) reason instead of tags. The output format
follows the extension of --out (.jsonl, .csv with one row per paragraph, .parquet)
unless --format says otherwise. Offsets always index the input text as given.

An existing output is never replaced by accident: a run whose --out exists stops
(exit 2) unless --resume continues it (input positions already in it are skipped) or
--overwrite replaces it (the old file stays until the new one is complete). Exit
codes: 0 every article tagged or skipped for a stated reason, 1 some articles failed,
2 usage, config or input-path error, 3 model or environment error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from salatag.driver import check_args, parse_thresholds, run_local
from salatag.errors import SalatagError, quiet, report

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO_ROOT / "models" / "default"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The description as written, and every option's default (where it has one)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, [], argparse.SUPPRESS) and action.option_strings:
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infer", description=__doc__, formatter_class=HelpFormatter
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="files, folders or - (see above)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output file (a folder for --engine ray)"
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model directory")
    parser.add_argument(
        "--format", choices=["jsonl", "csv", "parquet"], help="default: from --out's extension"
    )
    parser.add_argument("--batch-size", type=int, default=32, help="windows per forward pass")
    parser.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto: a GPU if any"
    )
    parser.add_argument(
        "--backend",
        choices=["auto", "torch", "onnx-fp32", "onnx-int8"],
        default="auto",
        help="forward pass: torch, or ONNX Runtime on the CPU (exported once, cached); auto: "
        "onnx-fp32 on a CPU-only machine (same tags as torch, faster start), else torch",
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
        "--resume",
        action="store_true",
        help="continue an existing output: skip the input positions already in it",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing output (kept until the new one is complete)",
    )
    parser.add_argument(
        "--max-chars", type=int, default=200_000, help="skip articles longer than this"
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
    parser.add_argument(
        "--verbose", action="store_true", help="show the libraries' progress bars and warnings"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet(args.verbose)
    try:
        check_args(args)
        thresholds = parse_thresholds(args.threshold)
        if args.engine == "ray":  # the only place Ray is imported
            from salatag.ray_engine import run_cli

            return run_cli(args, thresholds)
        return run_local(args, thresholds)
    except SalatagError as err:
        return report(err, args.debug)


if __name__ == "__main__":
    sys.exit(main())
