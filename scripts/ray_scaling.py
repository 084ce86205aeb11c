"""Throughput of the Ray engine with 1 and 2 local workers, as a Markdown table.

    python scripts/ray_scaling.py [--articles 300] [--workers 1 2] [--model DIR]

The articles are real Kazakh text: KazNERD test sentences joined three at a time,
one paragraph each (needs ../shared). Every run starts its own actor pool, so the
wall time includes loading the model once per worker; "tagging" is the rate from
the first record to the last, which is what more articles per run converge to.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from salatag.corpus import REPO_ROOT, kaznerd_sentences
from salatag.ray_engine import ARTICLES_PER_BATCH, run

CANDIDATES = [REPO_ROOT / "models" / "default", REPO_ROOT / "runs" / "cpu-small" / "model"]


def pick_model(given: Path | None) -> Path:
    if given:
        return given
    for path in CANDIDATES:
        if (path / "salatag.json").exists():
            return path
    sys.exit(f"no model in {' or '.join(map(str, CANDIDATES))}: pass --model DIR")


def write_articles(path: Path, n: int) -> int:
    sentences = kaznerd_sentences("test", limit=3 * n)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(0, len(sentences) - 2, 3):
            text = " ".join(sentences[i : i + 3])
            fh.write(json.dumps({"id": f"kaznerd-test-{i // 3}", "text": text}) + "\n")
    return len(sentences) // 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--cpus", type=int, help="CPUs for the local Ray cluster (default all)")
    args = parser.parse_args()

    import ray

    model = pick_model(args.model)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "kaznerd-test.jsonl"
        n = write_articles(feed, args.articles)
        ray.init(num_cpus=args.cpus, include_dashboard=False)
        try:
            for workers in args.workers:
                load = os.getloadavg()[0]
                began = time.time()
                summary = run(
                    [str(feed)],
                    Path(tmp) / f"out-{workers}",
                    model,
                    num_workers=workers,
                    device="cpu",
                )
                wall = time.time() - began
                counts = summary["counts"]
                done = counts["tagged"] + counts["skipped"] + counts["failed"]
                steady = summary["seconds"] - summary["first_record_s"]
                rate = (done - ARTICLES_PER_BATCH) / steady if steady > 0 else float("nan")
                rows.append((workers, done, counts["tagged"], wall, done / wall, rate, load))
        finally:
            ray.shutdown()

    cpus = os.cpu_count()
    print(f"model: {model}; data: {n} one-paragraph articles (3 KazNERD test sentences each)")
    print(f"machine: {cpus} CPUs; each worker 1 CPU, 1 torch thread\n")
    print("| workers | articles | tagged | wall s | articles/s (wall) | articles/s (tagging) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for workers, done, tagged, wall, per_s, rate, _ in rows:
        print(f"| {workers} | {done} | {tagged} | {wall:.1f} | {per_s:.2f} | {rate:.2f} |")
    print(
        "\nload average (1 min) at the start of each run: "
        + ", ".join(f"{r[-1]:.1f}" for r in rows)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
