"""The driver behind `python -m infer`, shared by its local and Ray engines.

Option checks, threshold parsing, the output format, loading the model (whatever
breaks there is a model error, exit 3), the local tagging loop and the end-of-run
summary live here once, so both engines check, name and count things the same way.
No module-level torch, pandas or pyarrow: start-up time matters.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salatag.errors import SalatagError, SetupError, UsageError, exit_code

if TYPE_CHECKING:
    from salatag.batch import Item
    from salatag.tagger import Tagger

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
FORMATS[".parquet"] = "parquet"
RAY_FORMATS = ("jsonl", "parquet")
# articles read, length-sorted and tagged together: the first chunk is small so the first
# output comes soon, later ones grow to MAX_CHUNK (less padding: a chunk of 512 KazNERD
# paragraphs tags 18 % faster than chunks of 64) while memory stays bounded
FIRST_CHUNK, MAX_CHUNK = 16, 512


def chunks(items: Iterator[Any]) -> Iterator[list[Any]]:
    size = FIRST_CHUNK
    while chunk := list(islice(items, size)):
        yield chunk
        size = min(2 * size, MAX_CHUNK)


def parse_thresholds(items: list[str]) -> dict[str, float]:
    """`--threshold LABEL=P` overrides, checked against the sectors and [0, 1]."""
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


def check_args(args: argparse.Namespace) -> None:
    """Refuse numbers that cannot work, before anything is read."""
    for name, least in (("batch_size", 1), ("max_chars", 1), ("num_workers", 1)):
        if getattr(args, name) < least:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {least}")


def output_format(args: argparse.Namespace) -> str:
    """The output format: --format, else --out's extension (the Ray engine: jsonl);
    the Ray engine's other limits are checked here too."""
    if args.engine != "ray":
        fmt = args.format or FORMATS.get(args.out.suffix.lower())
        if fmt is None:
            raise UsageError(f"cannot tell the format of {args.out}; use --format")
        return str(fmt)
    fmt = args.format or "jsonl"
    if fmt not in RAY_FORMATS:
        raise UsageError("--engine ray writes jsonl or parquet shards (--format)")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: the ray engine writes into a folder")
    if "-" in args.inputs:
        raise UsageError("--engine ray reads files and folders, not stdin (-)")
    return str(fmt)


def probe_output(out: Path) -> None:
    """Fail on an output folder that cannot be written before the model is loaded."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out.parent):
            pass
    except OSError as err:
        raise SetupError(f"cannot write {out}: {err.strerror or err}") from err


def model_error(model: Path | str, err: Exception) -> SetupError:
    """What breaks while a model is read (truncated weights, malformed JSON, no GPU)."""
    return SetupError(f"cannot load the model in {model}: {type(err).__name__}: {err}".rstrip(": "))


def load_tagger(
    model: Path | str,
    thresholds: dict[str, float],
    device: str = "auto",
    batch_size: int = 32,
    backend: str = "auto",
) -> Tagger:
    """The tagger with the threshold overrides; a failure to load it is a model error."""
    from salatag.tagger import Tagger

    try:
        tagger = Tagger.load(model, device=device, batch_size=batch_size, backend=backend)
    except SalatagError:
        raise
    except Exception as err:
        raise model_error(model, err) from err
    tagger.thresholds.update(thresholds)
    return tagger


def pending(items: Iterator[Item], done: list[str], journal: Path) -> Iterator[Item]:
    """The items after the positions already done, checking those are the same inputs."""
    for pos, item in enumerate(items):
        if pos >= len(done):
            yield item
        elif item.id != done[pos]:
            raise UsageError(
                f"--resume: {journal} was made from other inputs (record {pos + 1} is "
                f"{done[pos]!r}, input {pos + 1} is {item.id!r}); use --overwrite to start again"
            )


def print_summary(
    counts: Counter,
    reasons: Counter,
    seconds: float,
    ids: Counter | None = None,
    where: str = "",
    note: str = "",
) -> None:
    """The end-of-run lines on stderr: counts, the commonest reasons, repeated ids.

    `where` follows the rate (the Ray engine's workers); `note` ends the first line, as
    does the count of positions a resumed run found done (counts["already done"]).
    """
    total = counts["tagged"] + counts["skipped"] + counts["failed"]
    done = counts["already done"]
    note = (f"; {done} already done" if done else "") + note
    print(
        f"{total} articles in {seconds:.1f}s ({total / max(seconds, 1e-9):.1f}/s){where}: "
        f"{counts['tagged']} tagged ({counts['paragraphs']} paragraphs, {counts['quotes']} "
        f"quotes), {counts['skipped']} skipped, {counts['failed']} failed{note}",
        file=sys.stderr,
    )
    for reason, n in reasons.most_common(10):
        print(f"  {n:5d}  {reason}", file=sys.stderr)
    if len(reasons) > 10:
        print(f"  ... and {len(reasons) - 10} other reasons", file=sys.stderr)
    dupes = [(rid, n) for rid, n in (ids or Counter()).most_common() if n > 1]
    if dupes:
        shown = ", ".join(f"{rid!r} ×{n}" for rid, n in dupes[:3])
        print(
            f"  {len(dupes)} id(s) occur more than once, each record kept: {shown}",
            file=sys.stderr,
        )


def run_local(args: argparse.Namespace, thresholds: dict[str, float]) -> int:
    """Tag the inputs in this process into one output file (journaled, resumable)."""
    from salatag.outputs import Writer, check_output

    check_output(args.out, args.inputs, args.resume, args.overwrite)
    fmt = output_format(args)
    probe_output(args.out)
    tagger = load_tagger(args.model, thresholds, args.device, args.batch_size, args.backend)

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
        for chunk in chunks(items):
            records = tag_batch(
                tagger, chunk, include_text=not args.no_text, max_chars=args.max_chars
            )
            writer.write(records)
            for r in records:
                tally(r, counts, reasons)
                ids[r.id] += 1
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
    print_summary(counts, reasons, time.time() - started, ids)
    print(f"wrote {args.out}", file=sys.stderr)
    return exit_code(failed=counts["failed"])


def progress_bar() -> Any:
    """Our own bar, on a terminal only (logs and pipes get the summary alone)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(unit=" articles", desc="tagging")
