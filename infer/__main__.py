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
import time
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from salatag.errors import SalatagError, SetupError, UsageError, exit_code, quiet, report

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO_ROOT / "models" / "default"
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
FORMATS[".parquet"] = "parquet"
CHUNK = 64  # articles read, length-sorted and tagged together: bounds memory


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The description as written, and every option's default (where it has one)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, [], argparse.SUPPRESS) and action.option_strings:
            text += " (default: %(default)s)"
        return text


def parse_thresholds(items: list[str]) -> dict[str, float]:
    from salatag.labels import SECTORS

    out = {}
    for item in items:
        label, _, value = item.partition("=")
        if label not in SECTORS:
            raise UsageError(
                f"--threshold {item!r}: unknown sector {label!r} ({', '.join(SECTORS)})"
            )
        try:
            out[label] = float(value)
        except ValueError:
            raise UsageError(
                f"--threshold {item!r}: expected LABEL=NUMBER, e.g. water=0.4"
            ) from None
        if not 0 <= out[label] <= 1:
            raise UsageError(f"--threshold {item!r}: must be between 0 and 1")
    return out


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


def check_args(args: argparse.Namespace) -> None:
    for name, least in (("batch_size", 1), ("max_chars", 1), ("num_workers", 1)):
        if getattr(args, name) < least:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {least}")


def output_format(args: argparse.Namespace) -> str:
    fmt = args.format or FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        raise UsageError(f"cannot tell the format of {args.out}; use --format")
    return fmt


def probe_output(out: Path) -> None:
    """Fail on an output folder that cannot be written before the model is loaded."""
    import tempfile

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out.parent):
            pass
    except OSError as err:
        raise SetupError(f"cannot write {out}: {err.strerror or err}") from err


def load_tagger(args: argparse.Namespace, thresholds: dict[str, float]) -> Any:
    """The tagger; whatever breaks while loading it is a model error (exit 3)."""
    from salatag.tagger import Tagger

    try:
        tagger = Tagger.load(
            args.model, device=args.device, batch_size=args.batch_size, backend=args.backend
        )
    except SalatagError:
        raise
    except Exception as err:  # truncated weights, malformed JSON, no GPU, ...
        raise SetupError(
            f"cannot load the model in {args.model}: {type(err).__name__}: {err}".rstrip(": ")
        ) from err
    tagger.thresholds.update(thresholds)
    return tagger


def pending(items: Iterator[Any], done: list[str], journal: Path) -> Iterator[Any]:
    """The items after the positions already done, checking those are the same inputs."""
    for pos, item in enumerate(items):
        if pos >= len(done):
            yield item
        elif item.id != done[pos]:
            raise UsageError(
                f"--resume: {journal} was made from other inputs (record {pos + 1} is "
                f"{done[pos]!r}, input {pos + 1} is {item.id!r}); use --overwrite to start again"
            )


def print_summary(counts: Counter, reasons: Counter, ids: Counter, seconds: float) -> None:
    total = counts["tagged"] + counts["skipped"] + counts["failed"]
    done = counts["already done"]
    print(
        f"{total} articles in {seconds:.1f}s ({total / max(seconds, 1e-9):.1f}/s): "
        f"{counts['tagged']} tagged ({counts['paragraphs']} paragraphs, {counts['quotes']} "
        f"quotes), {counts['skipped']} skipped, {counts['failed']} failed"
        + (f"; {done} already done" if done else ""),
        file=sys.stderr,
    )
    for reason, n in reasons.most_common(10):
        print(f"  {n:5d}  {reason}", file=sys.stderr)
    if len(reasons) > 10:
        print(f"  ... and {len(reasons) - 10} other reasons", file=sys.stderr)
    dupes = [(rid, n) for rid, n in ids.most_common() if n > 1]
    if dupes:
        shown = ", ".join(f"{rid!r} ×{n}" for rid, n in dupes[:3])
        print(
            f"  {len(dupes)} id(s) occur more than once, each record kept: {shown}",
            file=sys.stderr,
        )


def run_local(args: argparse.Namespace, thresholds: dict[str, float]) -> int:
    from salatag.outputs import Writer, check_output

    check_output(args.out, args.inputs, args.resume, args.overwrite)
    fmt = output_format(args)
    probe_output(args.out)
    tagger = load_tagger(args, thresholds)

    from salatag.batch import read_inputs, tag_batch, tally

    writer = Writer(args.out, fmt, include_text=not args.no_text, resume=args.resume)
    started = time.time()
    done = list(writer.done_ids)
    counts: Counter = Counter({"already done": len(done)})
    reasons: Counter = Counter()
    ids: Counter = Counter(done)
    items = pending(read_inputs(args.inputs), done, writer.path)
    bar = progress_bar()
    try:
        while chunk := list(islice(items, CHUNK)):
            records = tag_batch(
                tagger, chunk, include_text=not args.no_text, max_chars=args.max_chars
            )
            writer.write(records)
            for r in records:
                tally(r, counts, reasons)
                ids[r["id"]] += 1
            if bar is not None:
                bar.update(len(records))
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: {len(writer.done_ids)} articles kept in {writer.path}; "
            "rerun with --resume",
            file=sys.stderr,
        )
        return 130
    finally:
        if bar is not None:
            bar.close()
    writer.close()
    print_summary(counts, reasons, ids, time.time() - started)
    print(f"wrote {args.out}", file=sys.stderr)
    return exit_code(failed=counts["failed"])


def progress_bar() -> Any:
    """Our own bar, on a terminal only (logs and pipes get the summary alone)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(unit=" articles", desc="tagging")


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
