"""Train salatag from a config file.

    python -m train configs/default.yaml [--set optim.epochs=3 ...] [--resume]
    accelerate launch -m train configs/default.yaml      # several GPUs / processes
    accelerate launch --multi_gpu --num_processes 2 -m train configs/cpu-small.yaml
                                                         # processes on CPU (gloo)

optim.batch_size is per process: the global batch is batch_size x processes.

Writes OUTPUT_DIR/model (the self-contained model directory inference loads),
OUTPUT_DIR/log.jsonl (one line of dev metrics per epoch), OUTPUT_DIR/config.yaml, and
OUTPUT_DIR/checkpoint (for --resume; at most `run.checkpoint_every` steps are lost).
Exit codes: 0 trained, 2 config or data error, 3 model or environment error.
The loop itself is salatag.training.fit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from salatag.errors import SalatagError, report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", type=Path, help="YAML config, e.g. configs/default.yaml")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (repeatable)",
    )
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from salatag.config import load_config
        from salatag.training import fit

        fit(load_config(args.config, args.overrides), resume=args.resume)
    except SalatagError as err:  # anything else is a bug and keeps its traceback
        return report(err, args.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
