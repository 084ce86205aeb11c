"""Batch tagging on Ray Data: the same tagging as `python -m infer`, on many workers.

    python -m infer --engine ray news/*.jsonl archive/ --out tags/ --num-workers 8
    RAY_ADDRESS=ray://head:10001 python -m infer --engine ray ... --device cuda

One implementation of tagging, two drivers: every batch goes through
`salatag.batch.tag_batch`, and items are built by the same helpers the local reader
uses, so ids, pass-through fields and the `error`/`skipped` records for bad input are
the same as in the local path. What Ray adds is the plan around them:

* The inputs are cut into shards (a .txt file or up to ROWS_PER_SHARD of a folder's
  files, JSONL and Parquet files in fixed row ranges). Each shard becomes one output
  file, written under a temporary name and renamed when complete, so a killed job
  leaves only whole shards behind and a rerun skips them.
* Ray Data reads the shards in tasks, tags them in `map_batches` on a fixed pool of
  actors that each load the model once, and streams the records back to the driver,
  which writes a shard as soon as its last record arrives. Workers need to see the
  inputs (shared storage on a multi-machine cluster); the output is written where
  the driver runs.

Ray is imported only inside these functions: the local engine never pays for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from salatag.batch import (
    MAX_CHARS,
    Item,
    jsonl_file_items,
    read_bytes,
    record_item,
    tag_batch,
    txt_files,
    write_parquet,
)

ROWS_PER_SHARD = 1000  # articles per output file: what a killed job can lose at most
ARTICLES_PER_BATCH = 16  # articles per `tag_batch` call: small enough to balance workers


# --- planning: which shards, under which names --------------------------------------


def _shard(label: str, source: Path, pos: int, kind: str, **fields: Any) -> dict:
    """A shard's description. Its name depends only on the input path and where the
    shard starts in it, so a rerun with the same inputs finds what a killed job wrote."""
    key = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:8]
    stem = re.sub(r"[^\w.-]+", "_", source.name or "input")[:40]
    name = f"{stem}-{key}-{pos:09d}"
    return {"name": name, "kind": kind, "label": label, **fields}


def _plan_jsonl(spec: str, path: Path, rows_per_shard: int) -> list[dict]:
    """Cut every `rows_per_shard` lines, at byte offsets: workers seek to their part.

    Lines are counted as the local reader counts them (one per newline), so lines
    without an id get the same `file:line` id on both engines.
    """
    shards, start, pos, first = [], 0, 0, 1
    where = {"path": str(path.resolve())}
    with open(path, "rb") as fh:
        for index, raw in enumerate(fh):
            if index and index % rows_per_shard == 0:
                part = {"start": start, "stop": pos, "first": first}
                shards.append(_shard(spec, path, first, "jsonl", **where, **part))
                start, first = pos, index + 1
            pos += len(raw)
    if pos > start or not shards:
        part = {"start": start, "stop": pos, "first": first}
        shards.append(_shard(spec, path, first, "jsonl", **where, **part))
    return shards


def _plan_parquet(spec: str, path: Path, rows_per_shard: int) -> list[dict]:
    """Cut at row-group boundaries: workers read whole row groups, nothing more."""
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
        meta, names = file.metadata, file.schema_arrow.names
    except Exception as err:  # not Parquet at all: one error record, like a missing file
        return [_shard(spec, path, 0, "error", error=f"not a Parquet file ({err})")]
    if "text" not in names:
        return [_shard(spec, path, 0, "error", error="a Parquet input needs a column 'text'")]
    shards, groups, first, row = [], [], 1, 1
    for g in range(meta.num_row_groups):
        groups.append(g)
        row += meta.row_group(g).num_rows
        if row - first >= rows_per_shard or g == meta.num_row_groups - 1:
            where = {"path": str(path.resolve()), "groups": groups, "first": first}
            shards.append(_shard(spec, path, first, "parquet", **where))
            groups, first = [], row
    return shards


def plan_shards(inputs: list[str], rows_per_shard: int = ROWS_PER_SHARD) -> list[dict]:
    """Shards in input order, for the same inputs `read_inputs` accepts (but stdin)."""
    shards: list[dict] = []
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            files = txt_files(path)
            for i in range(0, len(files), rows_per_shard):
                part = [[str(f), str(f.resolve())] for f in files[i : i + rows_per_shard]]
                shards.append(_shard(spec, path, i, "files", files=part))
        elif not path.exists():
            shards.append(_shard(spec, path, 0, "error", error="no such file or folder"))
        elif path.suffix == ".jsonl":
            shards += _plan_jsonl(spec, path, rows_per_shard)
        elif path.suffix == ".parquet":
            shards += _plan_parquet(spec, path, rows_per_shard)
        else:
            shards.append(_shard(spec, path, 0, "files", files=[[spec, str(path.resolve())]]))
    unique: dict[str, dict] = {}
    for s in shards:  # an input named twice is tagged once
        unique.setdefault(s["name"], s)
    return list(unique.values())


# --- on the workers ---------------------------------------------------------------------


def shard_items(shard: dict) -> list[Item]:
    """The items of one shard, built exactly as the local reader builds them."""
    kind = shard["kind"]
    if kind == "error":
        return [Item(shard["label"], error=shard["error"])]
    if kind == "files":
        items = []
        for rid, path in shard["files"]:
            try:
                items.append(read_bytes(Path(path).read_bytes(), rid))
            except OSError as err:  # gone or unreadable since planning: a record, not a crash
                items.append(Item(rid, error=f"cannot read the file ({err.strerror})"))
        return items
    if kind == "jsonl":
        part = {k: shard[k] for k in ("start", "stop", "first")}
        return list(jsonl_file_items(Path(shard["path"]), shard["label"], **part))
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(shard["path"]).read_row_groups(shard["groups"]).to_pylist()
    items = []
    for n, row in enumerate(rows, shard["first"]):
        if row.get("id") is None:  # a null in an id column means "no id", not "None"
            row.pop("id", None)
        items.append(record_item(row, f"{shard['label']}:{n}", "a Parquet input row"))
    return items


def _read_shard(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Ray Data `flat_map`: one shard description in, one row per item out.

    Each row carries its shard's item count, so the driver knows when a shard is
    complete; a shard without items (a file of blank lines) sends one placeholder
    (seq -1) so that its empty output is written too. Items travel as JSON strings:
    pass-through fields differ from record to record, which Arrow would not accept.
    """
    shard = json.loads(row["shard"])
    items = shard_items(shard)
    if not items:
        return [{"shard": shard["name"], "seq": -1, "total": 0, "item": ""}]
    return [
        {
            "shard": shard["name"],
            "seq": i,
            "total": len(items),
            "item": json.dumps(asdict(item), default=str),
        }
        for i, item in enumerate(items)
    ]


class TagWorker:
    """A Ray actor's tagger: the model is loaded once per worker, not once per batch."""

    def __init__(
        self,
        model: str,
        device: str,
        batch_size: int,
        thresholds: dict[str, float],
        include_text: bool,
        max_chars: int,
        threads: int,
        backend: str = "torch",
    ) -> None:
        import torch

        from salatag.tagger import Tagger

        if threads:  # one worker per core scales; each using every core fights the others
            torch.set_num_threads(threads)
        extra = {} if backend == "torch" else {"backend": backend}  # --backend, as locally
        self.tagger = Tagger.load(model, device=device, batch_size=batch_size, **extra)
        self.tagger.thresholds.update(thresholds)
        self.include_text, self.max_chars = include_text, max_chars

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        rows = batch.to_pylist()
        real = [r for r in rows if r["seq"] >= 0]
        items = [Item(**json.loads(r["item"])) for r in real]
        records = tag_batch(
            self.tagger, items, include_text=self.include_text, max_chars=self.max_chars
        )
        tagged = iter(records)
        return pa.table(
            {
                "shard": [r["shard"] for r in rows],
                "seq": [r["seq"] for r in rows],
                "total": [r["total"] for r in rows],
                "record": [  # placeholders of empty shards pass through untagged
                    json.dumps(next(tagged), ensure_ascii=False, default=str)
                    if r["seq"] >= 0
                    else ""
                    for r in rows
                ],
            }
        )


# --- on the driver ----------------------------------------------------------------------


def shard_path(out_dir: Path, shard: dict, fmt: str) -> Path:
    return out_dir / f"{shard['name']}.{fmt}"


def _temporary(path: Path) -> list[Path]:
    return [path.with_name(path.name + ".tmp"), path.with_name(path.name + ".partial.jsonl")]


def write_shard(path: Path, lines: list[str], fmt: str) -> None:
    """Write beside, then rename: a shard file exists only once it is complete."""
    tmp = _temporary(path)[1 if fmt == "parquet" else 0]
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))
        fh.flush()
        os.fsync(fh.fileno())
    if fmt == "parquet":
        write_parquet(tmp, path)  # itself atomic (written to .tmp, then renamed)
        tmp.unlink()
    else:
        os.replace(tmp, path)


def run(
    inputs: list[str],
    out_dir: Path,
    model: Path,
    *,
    num_workers: int = 2,
    device: str = "auto",
    batch_size: int = 32,
    fmt: str = "jsonl",
    thresholds: dict[str, float] | None = None,
    include_text: bool = True,
    max_chars: int = MAX_CHARS,
    rows_per_shard: int = ROWS_PER_SHARD,
    articles_per_batch: int = ARTICLES_PER_BATCH,
    cpus_per_worker: float = 1.0,
    backend: str = "torch",
) -> dict[str, Any]:
    """Tag `inputs` into shard files in `out_dir`; returns counts for this run.

    Uses the Ray cluster already initialised, else connects to RAY_ADDRESS or starts
    a local one (and stops it again at the end).
    """
    import ray
    import ray.data

    from salatag.model import META_FILE, ModelError

    began = time.time()
    if not (Path(model) / META_FILE).exists():
        raise ModelError(f"{model} is not a salatag model directory (no {META_FILE})")
    out_dir.mkdir(parents=True, exist_ok=True)
    shards = plan_shards(inputs, rows_per_shard)
    todo = [s for s in shards if not shard_path(out_dir, s, fmt).exists()]
    for s in todo:  # a killed job's half-written files: redone from the start
        for tmp in _temporary(shard_path(out_dir, s, fmt)):
            tmp.unlink(missing_ok=True)
    summary: dict[str, Any] = {
        "shards": len(shards),
        "done_before": len(shards) - len(todo),
        "counts": Counter(),
        "reasons": Counter(),
        "first_record_s": None,  # after the start of the run: Ray and model loading
        "seconds": 0.0,
    }
    if not todo:
        return summary

    started = not ray.is_initialized()
    local = started and not os.environ.get("RAY_ADDRESS")  # a fixed, one-machine cluster
    if started:
        ray.init(**({"include_dashboard": False} if local else {}))
    try:
        have = ray.cluster_resources()
        gpus = 1 if device == "cuda" or (device == "auto" and have.get("GPU", 0) >= 1) else 0
        need, kind = (num_workers, "GPU") if gpus else (num_workers * cpus_per_worker, "CPU")
        if local and need > have.get(kind, 0):  # the pool would wait forever for its actors
            raise ValueError(
                f"--num-workers {num_workers} needs {need:g} {kind}s, this machine has "
                f"{have.get(kind, 0):g}"
            )
        specs = [{"shard": json.dumps(s)} for s in todo]
        try:  # one block per shard, so shards are read in parallel
            shard_list = ray.data.from_items(specs, override_num_blocks=len(todo))
        except TypeError:  # Ray before 2.10
            shard_list = ray.data.from_items(specs, parallelism=len(todo))
        # reading is light: no CPU reserved for it, or actors holding every core would
        # starve it; a few tasks at a time, so that it does not run far ahead
        items = shard_list.flat_map(
            _read_shard, num_cpus=0, compute=ray.data.TaskPoolStrategy(size=num_workers + 1)
        )
        # a shard is read as one block, and a block goes to one worker: cut it up
        # (Ray before streaming repartition raises TypeError: then one worker per shard)
        with contextlib.suppress(TypeError):
            items = items.repartition(target_num_rows_per_block=articles_per_batch)
        tagged = items.map_batches(
            TagWorker,
            fn_constructor_kwargs={
                "model": str(Path(model).resolve()),
                "device": "cuda" if gpus else "cpu",
                "batch_size": batch_size,
                "thresholds": thresholds or {},
                "include_text": include_text,
                "max_chars": max_chars,
                "threads": 0 if gpus else max(1, int(cpus_per_worker)),
                "backend": backend,
            },
            batch_size=articles_per_batch,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=num_workers),
            num_cpus=cpus_per_worker,
            num_gpus=gpus,
        )
        pending: dict[str, list[tuple[int, str]]] = {}
        written = 0
        for row in tagged.iter_rows():
            if summary["first_record_s"] is None:
                summary["first_record_s"] = time.time() - began
            buffer = pending.setdefault(row["shard"], [])
            if row["seq"] >= 0:
                buffer.append((row["seq"], row["record"]))
                _count(summary, json.loads(row["record"]))
            if len(buffer) == row["total"]:  # complete: in input order, then to disk
                lines = [line for _, line in sorted(buffer)]
                write_shard(shard_path(out_dir, {"name": row["shard"]}, fmt), lines, fmt)
                del pending[row["shard"]]
                written += 1
        if pending or written != len(todo):
            raise RuntimeError(f"{len(todo) - written} shard(s) incomplete: {sorted(pending)}")
    finally:
        if started:
            ray.shutdown()
    summary["seconds"] = time.time() - began
    return summary


def _count(summary: dict[str, Any], record: dict[str, Any]) -> None:
    counts, reasons = summary["counts"], summary["reasons"]
    if "error" in record:
        counts["failed"] += 1
        reasons[f"failed: {record['error']}"] += 1
    elif "skipped" in record:
        counts["skipped"] += 1
        reasons[f"skipped: {record['skipped'].split(' (')[0]}"] += 1
    else:
        counts["tagged"] += 1
        counts["paragraphs"] += len(record["paragraphs"])
        counts["quotes"] += len(record["quotes"])


def run_cli(args: Any, thresholds: dict[str, float]) -> int:
    """`python -m infer --engine ray`: usage errors exit 2 with one line, as locally."""
    try:
        import ray.data  # noqa: F401
    except ImportError:
        print('error: --engine ray needs Ray: pip install ".[ray]"', file=sys.stderr)
        return 2
    from salatag.encoder import EncoderError
    from salatag.model import ModelError

    fmt = args.format or "jsonl"
    if fmt not in ("jsonl", "parquet"):
        print("error: --engine ray writes jsonl or parquet shards (--format)", file=sys.stderr)
        return 2
    if args.out.exists() and not args.out.is_dir():
        print(f"error: --out {args.out}: the ray engine writes into a folder", file=sys.stderr)
        return 2
    if "-" in args.inputs:
        print("error: --engine ray reads files and folders, not stdin (-)", file=sys.stderr)
        return 2
    if args.num_workers < 1:
        print("error: --num-workers must be at least 1", file=sys.stderr)
        return 2
    began = time.time()
    try:
        summary = run(
            args.inputs,
            args.out,
            args.model,
            num_workers=args.num_workers,
            device=args.device,
            batch_size=args.batch_size,
            fmt=fmt,
            thresholds=thresholds,
            include_text=not args.no_text,
            max_chars=args.max_chars,
            rows_per_shard=ROWS_PER_SHARD,  # read at call time: tests make shards small
            backend=getattr(args, "backend", "torch"),
        )
    except (ModelError, EncoderError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    seconds = time.time() - began
    counts = summary["counts"]
    total = counts["tagged"] + counts["skipped"] + counts["failed"]
    print(
        f"{total} articles in {seconds:.1f}s ({total / max(seconds, 1e-9):.1f}/s) on "
        f"{args.num_workers} worker(s): {counts['tagged']} tagged ({counts['paragraphs']} "
        f"paragraphs, {counts['quotes']} quotes), {counts['skipped']} skipped, "
        f"{counts['failed']} failed; {summary['done_before']} of {summary['shards']} "
        "shards were already done and kept (empty the folder to redo them)",
        file=sys.stderr,
    )
    for reason, n in summary["reasons"].most_common():
        print(f"  {n:5d}  {reason}", file=sys.stderr)
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if counts["failed"] else 0
