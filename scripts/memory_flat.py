"""Does batch tagging stream? Resident memory of `python -m infer` over a long input.

    python scripts/memory_flat.py [--n 100000] [--model models/default]

Writes N short articles (the authored example paragraphs, cycled, each with its own
id) to a JSONL file, tags it with the real entry point in a subprocess, and samples the
process's resident set size (VmRSS from /proc) as the output grows. Flat means the
RSS after 10 % of the input and at the end differ by little: memory must not grow with
the number of articles. Prints a Markdown table (Linux only).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from salatag.corpus import REPO_ROOT
from salatag.outputs import journal_path


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def lines_in(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "default")
    args = parser.parse_args(argv)
    paragraphs = [
        line.strip()
        for f in sorted((REPO_ROOT / "examples").glob("0[123]-*.txt"))
        for line in f.read_text(encoding="utf-8-sig").splitlines()
        if len(line.strip()) > 40
    ]
    with tempfile.TemporaryDirectory() as tmp:
        feed, out = Path(tmp) / "feed.jsonl", Path(tmp) / "tags.jsonl"
        with open(feed, "w", encoding="utf-8") as fh:
            for i in range(args.n):
                text = paragraphs[i % len(paragraphs)]
                fh.write(json.dumps({"id": f"a{i}", "text": text}, ensure_ascii=False) + "\n")
        cmd = [sys.executable, "-m", "infer", str(feed), "--out", str(out), "--no-text",
               "--model", str(args.model)]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stderr=subprocess.DEVNULL)
        samples: list[tuple[int, float]] = []
        start = time.time()
        while proc.poll() is None:
            samples.append((lines_in(journal_path(out)), rss_mb(proc.pid)))  # renamed at the end
            time.sleep(2)
        seconds = time.time() - start
        if proc.returncode != 0:
            print(f"infer exited with {proc.returncode}", file=sys.stderr)
            return 1
    print(f"{args.n} articles in {seconds:.0f} s ({args.n / seconds:.0f}/s), model {args.model}\n")
    print("| articles done | RSS (MB) |\n|---|---|")
    marks = [args.n * k // 10 for k in range(1, 11)]
    for mark in marks:
        at = [rss for done, rss in samples if done >= mark]
        if at:
            print(f"| {mark} | {at[0]:.0f} |")
    tagged = [rss for done, rss in samples if done >= args.n // 10]
    if tagged:
        print(f"\npeak RSS after the first 10 %: {max(tagged):.0f} MB; "
              f"growth from 10 % to the end: {tagged[-1] - tagged[0]:+.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
