"""Kill a run five times at random points (SIGKILL, a real subprocess) and resume it:
every input position comes out exactly once, in order, for JSONL, CSV and Parquet."""

from __future__ import annotations

import csv
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from salatag.corpus import REPO_ROOT
from salatag.outputs import journal_path

MODEL = REPO_ROOT / "models" / "default"
N = 2000  # enough that five kills, each at most ~64 lines + 0.3 s in, cannot finish a fast run
WORDS = ["су", "көлік", "сауда", "энергетика", "қауіпсіздік", "ынтымақтастық", "келісім"]


def articles(seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [
        {"id": f"p{i}", "text": f"Қазақстан мен Өзбекстан {rng.choice(WORDS)} туралы келісті {i}."}
        for i in range(N)
    ]


def ids_in(out: Path, fmt: str) -> list[str]:
    if fmt == "jsonl":
        return [json.loads(line)["id"] for line in out.read_bytes().split(b"\n") if line]
    if fmt == "parquet":
        return pq.read_table(out, columns=["id"]).column("id").to_pylist()
    with out.open(encoding="utf-8", newline="") as fh:
        return [row["id"] for row in csv.DictReader(fh) if row["paragraph"] in ("0", "")]


def journal_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def killed_run(args: list[str], journal: Path, at_lines: int, rng: random.Random) -> None:
    """Start a run and SIGKILL it once the journal holds `at_lines` more lines (0: while
    it is still starting, before its first line), a random moment later."""
    start = journal_lines(journal)
    proc = subprocess.Popen(args, cwd=REPO_ROOT, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    starting_until = time.time() + rng.uniform(0.2, 3.0)
    while time.time() < deadline and proc.poll() is None:
        grown = journal_lines(journal) - start
        if at_lines and grown >= at_lines:
            break
        if not at_lines and (grown or time.time() > starting_until):
            break
        time.sleep(0.01)
    time.sleep(rng.uniform(0, 0.3))
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
@pytest.mark.skipif(not MODEL.exists(), reason="no shipped model")
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_killed_five_times_and_resumed(tmp_path: Path, fmt: str) -> None:
    rng = random.Random(fmt)
    src = tmp_path / "feed.jsonl"
    src.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles(7)))
    out = tmp_path / f"tags.{fmt}"
    args = [sys.executable, "-m", "infer", str(src), "--out", str(out), "--device", "cpu"]
    journal = journal_path(out)
    for kill in range(5):
        killed_run([*args, "--resume"], journal, rng.choice([0, 1, 40, 64]), rng)
        if kill == 2 and journal.exists():  # what a kill in the middle of a write leaves
            with open(journal, "ab") as fh:
                fh.write(b'{"id": "p9999", "text": "half a li')
    assert not out.exists() and journal_lines(journal) < N, "a run finished before its kill"
    result = subprocess.run([*args, "--resume"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert ids_in(out, fmt) == [f"p{i}" for i in range(N)]  # each position exactly once
    assert not journal.exists()
