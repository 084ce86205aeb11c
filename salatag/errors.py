"""One error hierarchy and one mapping to exit codes, for every entry point.

Entry points catch `SalatagError` only: anything else is a bug and keeps its traceback.
Exit codes (documented in the README):

    0  every article tagged (or skipped for a stated reason)
    1  some articles failed (their records say why); the run itself finished
    2  usage, config or input-path error: fix the command line or the file named
    3  model or environment error: a damaged model, a missing package, no GPU,
       an output that cannot be written
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections.abc import Callable

OK, ARTICLES_FAILED, USAGE, ENVIRONMENT = 0, 1, 2, 3


class SalatagError(Exception):
    """Base of every error salatag reports to a user as one line."""

    exit_code = USAGE


class UsageError(SalatagError):
    """A wrong option or a refused command (an existing output, --out naming an input)."""


class InputError(SalatagError):
    """An input or config file that cannot be used as given (names the file and key)."""


class SetupError(SalatagError):
    """The model or the environment: damaged model directory, missing package, no GPU,
    an output that cannot be written."""

    exit_code = ENVIRONMENT


def exit_code(err: BaseException | None = None, *, failed: int = 0) -> int:
    """The process exit code for an error (None: a finished run with `failed` failures)."""
    if err is None:
        return ARTICLES_FAILED if failed else OK
    if isinstance(err, SalatagError):
        return err.exit_code
    if isinstance(err, KeyboardInterrupt):
        return 130
    return ENVIRONMENT


def run_command(work: Callable[[], object], expected: tuple[type[Exception], ...]) -> int:
    """A maintainer command line's body (data, annotation, kaznerd): 0 when `work` ends,
    exit 2 with the error as one line when it raises one of the `expected` errors."""
    try:
        work()
    except expected as err:
        print(f"error: {err}", file=sys.stderr)
        return USAGE
    return OK


def report(err: BaseException, debug: bool = False) -> int:
    """Print an error as one line (with the traceback under --debug); return its code."""
    if debug:
        traceback.print_exception(err, file=sys.stderr)
    print(f"error: {err}", file=sys.stderr)
    return exit_code(err)


def quiet(verbose: bool = False) -> None:
    """Silence library progress bars, warnings and advisory logs unless `verbose`.

    Set before transformers and huggingface_hub are imported: both read the
    environment once, at import.
    """
    if verbose:
        return
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.simplefilter("ignore")
    if "transformers" in sys.modules:  # imported already (tests, a library user)
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
