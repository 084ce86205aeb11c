"""Throughput of the Ray engine with 1 and 2 local workers, as a Markdown table.

    python scripts/ray_scaling.py [--articles 300] [--workers 1 2] [--model DIR]
                                  [--out reports/ray/scaling.md]

The articles are real Kazakh text: KazNERD test sentences joined three at a time,
one paragraph each (needs ../shared). Every run starts its own actor pool, so the
wall time includes loading the model once per worker; "tagging" is the rate from
the first record to the last, which is what more articles per run converge to.
For comparison it also times the local engine (one process, every core) on the same
articles, and the driver's own work per record (parse, order, write): the ceiling of
one driver however many workers feed it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from salatag.batch import jsonl_file_items, tag_batch
from salatag.corpus import REPO_ROOT, kaznerd_sentences
from salatag.ray_engine import ARTICLES_PER_BATCH, run, write_shard

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
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "ray" / "scaling.md")
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
        local = local_rate(feed, model)
        driver = driver_rate(Path(tmp) / f"out-{args.workers[-1]}", Path(tmp) / "driver")

    cpus = os.cpu_count()
    lines = [
        f"Measured by `python scripts/ray_scaling.py` (model `{model.relative_to(REPO_ROOT)}`; "
        f"{n} one-paragraph articles, 3 KazNERD test sentences each) on a {cpus}-CPU machine. "
        "Each Ray worker: 1 CPU, 1 torch thread.",
        "",
        "| engine | articles | tagged | wall s | articles/s (wall) | articles/s (tagging) | "
        "load at start |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for workers, done, tagged, wall, per_s, rate, load in rows:
        lines.append(
            f"| ray, {workers} worker(s) | {done} | {tagged} | {wall:.1f} | {per_s:.2f} | "
            f"{rate:.2f} | {load:.1f} |"
        )
    done, wall, load = local
    lines.append(
        f"| local, 1 process, {cpus} threads | {done} | {done} | {wall:.1f} | {done / wall:.2f} "
        f"| {done / wall:.2f} | {load:.1f} |"
    )
    lines += ["", f"Driver work (parse, order, write a shard): {driver:,.0f} records/s."]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


def local_rate(feed: Path, model: Path) -> tuple[int, float, float]:
    """The local engine on the same articles: model loaded first, then timed."""
    import torch

    from salatag.tagger import Tagger

    torch.set_num_threads(os.cpu_count() or 1)
    tagger = Tagger.load(model, device="cpu")
    items = list(jsonl_file_items(feed, str(feed)))
    load = os.getloadavg()[0]
    began = time.time()
    for i in range(0, len(items), 64):
        tag_batch(tagger, items[i : i + 64])
    return len(items), time.time() - began, load


def driver_rate(shards: Path, out: Path) -> float:
    """What the driver does per record, timed on the records a run wrote."""
    lines = [line for p in sorted(shards.glob("*.jsonl")) for line in p.open(encoding="utf-8")]
    out.mkdir()
    began = time.time()
    rows = [json.loads(line) for line in lines]  # as the driver parses each for its counts
    ordered = [json.dumps(r, ensure_ascii=False) for r in rows]
    write_shard(out / "all.jsonl", ordered, "jsonl")
    return len(lines) / (time.time() - began)


if __name__ == "__main__":
    sys.exit(main())
