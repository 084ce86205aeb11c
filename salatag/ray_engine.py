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
* Shards are read in parts of one batch (ARTICLES_PER_BATCH), one Ray Data task and
  one block each: a block goes to one worker whole, so parts are what spreads a big
  file over the workers. `map_batches` tags them on a fixed pool of actors that
  each load the model once, and the records stream back to the driver, which
  writes a shard as soon as its last record arrives. Workers need to see the
  inputs (shared storage on a multi-machine cluster); the output is written where
  the driver runs.

Ray is imported only inside these functions: the local engine never pays for it.
"""

from __future__ import annotations

import hashlib
import json
import math
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
    input_kind,
    json_array_items,
    jsonl_file_items,
    read_file,
    record_item,
    stat_error,
    tag_batch,
    tally,
    txt_files,
    write_parquet,
)
from salatag.driver import load_tagger, model_error, output_format, print_summary
from salatag.errors import SalatagError, UsageError, exit_code
from salatag.records import Record

ROWS_PER_SHARD = 1000  # articles per output file: what a killed job can lose at most
ARTICLES_PER_BATCH = 16  # articles per `tag_batch` call: small enough to balance workers


# --- planning: shards (output files) made of parts (read tasks) -------------------------


def _parts(label: str, source: Path, kind: str, cuts: list[tuple[int, dict]]) -> list[dict]:
    """Parts of one input from (where its shard starts, how to read it) pairs.

    A shard's name depends only on the input path and where the shard starts in it,
    so a rerun with the same inputs finds what a killed job wrote.
    """
    key = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:8]
    stem = re.sub(r"[^\w.-]+", "_", source.name or "input")[:40]
    parts = [
        {"shard": f"{stem}-{key}-{pos:09d}", "kind": kind, "label": label, **how}
        for pos, how in cuts
    ]
    total, seen = Counter(p["shard"] for p in parts), Counter[str]()
    for p in parts:
        p["part"], p["parts"] = seen[p["shard"]], total[p["shard"]]
        seen[p["shard"]] += 1
    return parts


def _plan_jsonl(spec: str, path: Path, rows_per_shard: int, rows_per_part: int) -> list[dict]:
    """Cut at line starts, by byte offset: a worker seeks to its part.

    Lines are counted as the local reader counts them (one per newline), so lines
    without an id get the same `file:line` id from both engines.
    """
    cuts, shard, start, pos, first = [], 1, 0, 0, 1
    whole = {"path": str(path.resolve())}
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            new_shard = n > 1 and (n - 1) % rows_per_shard == 0
            if new_shard or n - first == rows_per_part:
                cuts.append((shard, {**whole, "start": start, "stop": pos, "first": first}))
                start, first, shard = pos, n, n if new_shard else shard
            pos += len(raw)
    if pos > start or not cuts:
        cuts.append((shard, {**whole, "start": start, "stop": pos, "first": first}))
    return _parts(spec, path, "jsonl", cuts)


def _plan_parquet(spec: str, path: Path, rows_per_shard: int, rows_per_part: int) -> list[dict]:
    """Shards are whole row groups (as many as fit in `rows_per_shard`, at least one).

    A part is a slice of one row group, and reading it decodes the whole group, so a
    big group is cut into at most 8 parts: enough to spread it over workers.
    """
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
        meta, names = file.metadata, file.schema_arrow.names
    except Exception as err:  # not Parquet at all: one error record, like a missing file
        return _parts(spec, path, "error", [(0, {"error": f"not a Parquet file ({err})"})])
    if "text" not in names:
        return _parts(
            spec, path, "error", [(0, {"error": "a Parquet input needs a column 'text'"})]
        )
    cuts, shard, row = [], 1, 1
    for group in range(meta.num_row_groups):
        n = meta.row_group(group).num_rows
        if row - shard >= rows_per_shard:
            shard = row
        step = max(rows_per_part, math.ceil(n / 8))
        for offset in range(0, n, step):
            how = {"group": group, "offset": offset, "length": min(step, n - offset)}
            cuts.append((shard, {"path": str(path.resolve()), "first": row + offset, **how}))
        row += n
    return _parts(spec, path, "parquet", cuts) if cuts else _parts(spec, path, "empty", [(1, {})])


def _plan_folder(spec: str, path: Path, rows_per_shard: int, rows_per_part: int) -> list[dict]:
    """The folder's .txt files in shards, then one error part per unreadable sub-folder
    (the order in which the local reader yields them)."""
    errors: list[Item] = []
    files, cuts = txt_files(path, errors), []
    for i in range(0, len(files), rows_per_shard):
        for j in range(i, min(i + rows_per_shard, len(files)), rows_per_part):
            part = files[j : min(j + rows_per_part, i + rows_per_shard)]
            cuts.append((i, {"files": [[str(f), str(f.resolve())] for f in part]}))
    parts = _parts(spec, path, "files", cuts)
    for e in errors:
        parts += _parts(e.id, Path(e.id), "error", [(0, {"error": e.error})])
    return parts


def plan_parts(
    inputs: list[str],
    rows_per_shard: int = ROWS_PER_SHARD,
    rows_per_part: int = ARTICLES_PER_BATCH,
) -> list[dict]:
    """Parts in input order, for the inputs `read_inputs` accepts (but stdin).

    Shards (one output file each, up to `rows_per_shard` articles) are what a rerun
    skips; parts (up to `rows_per_part`) are what Ray reads and hands to a worker: a
    block goes to one worker whole, so small parts are what spreads a file over many.
    """
    parts: list[dict] = []
    for spec in inputs:
        path = Path(spec)
        missing = stat_error(spec)
        if missing is not None:
            parts += _parts(spec, path, "error", [(0, {"error": missing.error})])
        elif path.is_dir():
            parts += _plan_folder(spec, path, rows_per_shard, rows_per_part)
        elif (kind := input_kind(path)) == "jsonl":
            parts += _plan_jsonl(spec, path, rows_per_shard, rows_per_part)
        elif kind == "parquet":
            parts += _plan_parquet(spec, path, rows_per_shard, rows_per_part)
        elif kind == "json":  # one array: read whole, by one task
            parts += _parts(spec, path, "json", [(0, {"path": str(path.resolve())})])
        else:
            parts += _parts(spec, path, "files", [(0, {"files": [[spec, str(path.resolve())]]})])
    unique: dict[tuple[str, int], dict] = {}
    for p in parts:  # an input named twice is tagged once
        unique.setdefault((p["shard"], p["part"]), p)
    return list(unique.values())


# --- on the workers ---------------------------------------------------------------------


def part_items(part: dict) -> list[Item]:
    """The items of one part, built exactly as the local reader builds them."""
    kind = part["kind"]
    if kind == "error":
        return [Item(part["label"], error=part["error"])]
    if kind == "empty":
        return []
    if kind == "files":  # gone or unreadable since planning: a record, not a crash
        return [read_file(Path(path), rid) for rid, path in part["files"]]
    if kind == "json":
        try:
            return list(json_array_items(Path(part["path"]).read_bytes(), part["label"]))
        except OSError as err:
            return [Item(part["label"], error=f"cannot read the file ({err.strerror or err})")]
    if kind == "jsonl":
        where = {k: part[k] for k in ("start", "stop", "first")}
        return list(jsonl_file_items(Path(part["path"]), part["label"], **where))
    import pyarrow.parquet as pq

    table = pq.ParquetFile(part["path"]).read_row_group(part["group"])
    items = []
    for n, row in enumerate(table.slice(part["offset"], part["length"]).to_pylist(), part["first"]):
        items.append(record_item(row, f"{part['label']}:{n}", "a Parquet input row"))
    return items


def _read_part(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Ray Data `flat_map`: one part description in, one row per item out.

    Each row says where it belongs (shard, part, seq) and how many items its part
    has, so the driver knows when a shard is complete; a part without items (blank
    lines) sends one placeholder (seq -1). Items travel as JSON strings: pass-through
    fields differ from record to record, which Arrow columns would not accept.
    """
    part = json.loads(row["part"])
    items = part_items(part)
    where = {"shard": part["shard"], "part": part["part"], "parts": part["parts"]}
    if not items:
        return [{**where, "seq": -1, "total": 0, "item": ""}]
    return [
        {**where, "seq": i, "total": len(items), "item": json.dumps(asdict(item), default=str)}
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
        backend: str = "auto",
    ) -> None:
        import torch

        if threads:  # one worker per core scales; each using every core fights the others
            torch.set_num_threads(threads)
        self.tagger = load_tagger(model, thresholds, device, batch_size, backend)
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
        columns = {k: [r[k] for r in rows] for k in ("shard", "part", "parts", "seq", "total")}
        columns["record"] = [  # placeholders of empty parts pass through untagged
            _json(next(tagged).to_dict()) if r["seq"] >= 0 else "" for r in rows
        ]
        return pa.table(columns)


def _json(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, default=str)


# --- on the driver ----------------------------------------------------------------------


def shard_path(out_dir: Path, shard: str, fmt: str) -> Path:
    return out_dir / f"{shard}.{fmt}"


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


def _todo_parts(
    inputs: list[str], out_dir: Path, fmt: str, rows_per_shard: int, articles_per_batch: int
) -> tuple[list[str], list[str], list[dict]]:
    """All shards, those still to write (their half-written files removed), their parts."""
    parts = plan_parts(inputs, rows_per_shard, articles_per_batch)
    shards = list(dict.fromkeys(p["shard"] for p in parts))
    todo = [s for s in shards if not shard_path(out_dir, s, fmt).exists()]
    for s in todo:  # a killed job's half-written files: redone from the start
        for tmp in _temporary(shard_path(out_dir, s, fmt)):
            tmp.unlink(missing_ok=True)
    return shards, todo, [p for p in parts if p["shard"] in set(todo)]


def _gpus(device: str, num_workers: int, cpus_per_worker: float, local: bool) -> int:
    """1 if the workers run on GPUs; a local cluster too small for the pool is refused."""
    import ray

    have = ray.cluster_resources()
    gpus = 1 if device == "cuda" or (device == "auto" and have.get("GPU", 0) >= 1) else 0
    need, kind = (num_workers, "GPU") if gpus else (num_workers * cpus_per_worker, "CPU")
    if local and need > have.get(kind, 0):  # the pool would wait forever for its actors
        raise UsageError(
            f"--num-workers {num_workers} needs {need:g} {kind}s, this machine has "
            f"{have.get(kind, 0):g}"
        )
    return gpus


def _tagged_rows(
    parts: list[dict], worker: dict[str, Any], num_workers: int, per_batch: int, cpus: float
) -> Any:
    """The Ray Data pipeline: parts read by a few tasks, tagged by a pool of actors."""
    import ray.data

    specs = [{"part": json.dumps(p)} for p in parts]
    try:  # one block per part: each is read by its own task
        part_list = ray.data.from_items(specs, override_num_blocks=len(specs))
    except TypeError:  # Ray before 2.10
        part_list = ray.data.from_items(specs, parallelism=len(specs))
    # reading is light: no CPU reserved for it, or actors holding every core would
    # starve it (a deadlock); a few tasks at a time, so that it does not run far ahead
    items = part_list.flat_map(
        _read_part, num_cpus=0, compute=ray.data.TaskPoolStrategy(size=num_workers + 1)
    )
    gpus = 1 if worker["device"] == "cuda" else 0
    return items.map_batches(
        TagWorker,
        fn_constructor_kwargs=worker,
        batch_size=per_batch,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=num_workers),
        num_cpus=cpus,
        num_gpus=gpus,
    )


def _write_shards(
    tagged: Any, out_dir: Path, fmt: str, summary: dict[str, Any], began: float
) -> int:
    """Records arrive in any order: kept per shard and part until the shard is whole,
    then written in input order. Returns how many shards were written."""
    pending: dict[str, dict[int, list[tuple[int, str]]]] = {}
    complete: dict[str, set[int]] = {}
    written = 0
    for row in tagged.iter_rows():
        if summary["first_record_s"] is None:
            summary["first_record_s"] = time.time() - began
        name = row["shard"]
        buffer = pending.setdefault(name, {}).setdefault(row["part"], [])
        if row["seq"] >= 0:
            buffer.append((row["seq"], row["record"]))
            record = Record.from_dict(json.loads(row["record"]))
            tally(record, summary["counts"], summary["reasons"])
        if len(buffer) == row["total"]:
            complete.setdefault(name, set()).add(row["part"])
        if len(complete.get(name, ())) == row["parts"]:  # in input order, then to disk
            by_part = pending.pop(name)
            lines = [line for p in sorted(by_part) for _, line in sorted(by_part[p])]
            write_shard(shard_path(out_dir, name, fmt), lines, fmt)
            del complete[name]
            written += 1
    if pending:
        raise RuntimeError(f"shard(s) incomplete: {sorted(pending)}")
    return written


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
    backend: str = "auto",
) -> dict[str, Any]:
    """Tag `inputs` into shard files in `out_dir`; returns counts for this run.

    Uses the Ray cluster already initialised, else connects to RAY_ADDRESS or starts
    a local one (and stops it again at the end).
    """
    import ray

    from salatag.model import read_meta

    began = time.time()
    try:  # a wrong --model fails here, before any cluster starts
        read_meta(Path(model))
    except SalatagError:
        raise
    except Exception as err:  # malformed salatag.json
        raise model_error(model, err) from err
    out_dir.mkdir(parents=True, exist_ok=True)
    shards, todo, parts = _todo_parts(inputs, out_dir, fmt, rows_per_shard, articles_per_batch)
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
        if local:
            ray.init(include_dashboard=False)
        else:
            ray.init()
    try:
        gpus = _gpus(device, num_workers, cpus_per_worker, local)
        worker = {
            "model": str(Path(model).resolve()),
            "device": "cuda" if gpus else "cpu",
            "batch_size": batch_size,
            "thresholds": thresholds or {},
            "include_text": include_text,
            "max_chars": max_chars,
            "threads": 0 if gpus else max(1, int(cpus_per_worker)),
            "backend": backend,
        }
        rows = _tagged_rows(parts, worker, num_workers, articles_per_batch, cpus_per_worker)
        written = _write_shards(rows, out_dir, fmt, summary, began)
        if written != len(todo):
            raise RuntimeError(f"{len(todo) - written} shard(s) incomplete")
    finally:
        if started:
            ray.shutdown()
    summary["seconds"] = time.time() - began
    return summary


def run_cli(args: Any, thresholds: dict[str, float]) -> int:
    """`python -m infer --engine ray`: options checked by the driver, as locally."""
    try:
        import ray.data  # noqa: F401
    except ImportError:
        raise UsageError('--engine ray needs Ray: pip install ".[ray]"') from None
    fmt = output_format(args)
    began = time.time()
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
        backend=args.backend,
    )
    counts = summary["counts"]
    print_summary(
        counts,
        summary["reasons"],
        time.time() - began,
        where=f" on {args.num_workers} worker(s)",
        note=f"; {summary['done_before']} of {summary['shards']} shards were already done "
        "and kept (empty the folder to redo them)",
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return exit_code(failed=counts["failed"])
