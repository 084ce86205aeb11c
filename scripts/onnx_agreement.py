"""Do the ONNX backends tag like the torch model, and how fast are they?

    python scripts/onnx_agreement.py [--model models/default] [--sweep]

A faster path is used only if its tags agree with the torch model on >= 99 % of the
test split's paragraph-labels (paragraph x sector decisions) and quote tokens (whitespace
tokens inside or outside a predicted quote). Every backend tags the real test split
(data/build/test.jsonl) through `Tagger.tag`, so windows and decoding are shared; the
sector macro-F1 and quote token F1 against gold are reported for each. Speed: paragraphs
per second tagging ~64-token paragraphs (KazNERD test sentences joined three at a time,
one-paragraph articles) end to end after a warm-up, and of the forward pass alone (the
rest, windows and decoding, is the same Python for every backend). Without --sweep:
torch, onnx-fp32 and the default onnx-int8; with it, the int8 settings that matter too.
Prints a Markdown table and writes reports/onnx/agreement.json. Speed needs an idle
machine: each row records the load average after its speed test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from salatag.article import Article
from salatag.corpus import REPO_ROOT, kaznerd_sentences
from salatag.labels import SECTORS
from salatag.metrics import quote_metrics, sector_metrics
from salatag.onnx_backend import DEFAULT_OPTIONS, ExportOptions, load_onnx
from salatag.records import Record, quote_tokens
from salatag.tagger import Tagger

GATE = 0.99
INT8 = DEFAULT_OPTIONS["int8"]


@dataclass
class Config:
    backend: str  # torch, onnx-fp32, onnx-int8
    options: ExportOptions | None = None
    opt_level: str = "all"
    batch_size: int = 32

    @property
    def label(self) -> str:
        if self.options is None:
            return f"torch bs{self.batch_size}"
        return f"{self.options.name} {self.opt_level} bs{self.batch_size}"


@dataclass
class Row:
    config: Config
    paragraph_label_agreement: float = 1.0
    quote_token_agreement: float = 1.0
    body_agreement: float = 1.0
    sector_macro_f1: float = 0.0
    quote_token_f1: float = 0.0
    paragraphs_per_s: float = 0.0
    forward_paragraphs_per_s: float = 0.0
    paragraphs_per_cpu_s: float = 0.0
    test_seconds: float = 0.0
    export_seconds: float = 0.0
    load_average: float = 0.0  # 1-minute, after the speed test: others' load skews speed
    notes: list[str] = field(default_factory=list)

    @property
    def passes(self) -> bool:
        return min(self.paragraph_label_agreement, self.quote_token_agreement) >= GATE


def configs(sweep: bool) -> list[Config]:
    base = [
        Config("torch"),
        Config("onnx-fp32", DEFAULT_OPTIONS["fp32"]),
        Config("onnx-int8", INT8),
    ]
    if not sweep:
        return base
    variants = [  # each differs from the default (INT8) in one or two settings
        replace(INT8, fp32_ffn_out=()),
        replace(INT8, per_channel=False, fp32_ffn_out=()),
        replace(INT8, per_channel=False),
        replace(INT8, fp32_ffn_out=(4, 5)),
        replace(INT8, reduce_range=True),
        replace(INT8, op_types=("MatMul",)),
        replace(INT8, fuse=True),
        replace(INT8, exporter="torchscript", fuse=True),
    ]
    return [
        *base,
        *(Config("onnx-int8", v) for v in variants),
        Config("onnx-int8", INT8, opt_level="extended"),
        Config("onnx-int8", INT8, opt_level="basic"),
        Config("onnx-int8", INT8, batch_size=16),
        Config("onnx-int8", INT8, batch_size=64),
        Config("torch", batch_size=16),
        Config("torch", batch_size=64),
    ]


def paragraph_label_agreement(a: list[dict], b: list[dict]) -> tuple[float, float]:
    """Share of paragraph x sector decisions, and of body/chrome decisions, that agree."""
    labels = body = total = 0
    for ra, rb in zip(a, b, strict=True):
        for pa, pb in zip(ra["paragraphs"], rb["paragraphs"], strict=True):
            labels += sum((s in pa["sectors"]) == (s in pb["sectors"]) for s in SECTORS)
            body += pa["body"] == pb["body"]
            total += 1
    return labels / max(total * len(SECTORS), 1), body / max(total, 1)


def quote_token_agreement(a: list[dict], b: list[dict]) -> float:
    same = total = 0
    for ra, rb in zip(a, b, strict=True):
        ia = quote_tokens(ra["text"], Record.from_dict(ra).quotes)
        ib = quote_tokens(ra["text"], Record.from_dict(rb).quotes)
        same += sum(x == y for x, y in zip(ia, ib, strict=True))
        total += len(ia)
    return same / max(total, 1)


def speed_articles(n: int) -> list[Article]:
    sentences = kaznerd_sentences("test", limit=3 * n)
    paragraphs = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences) - 2, 3)]
    return [Article.from_text(p, f"p{i}") for i, p in enumerate(paragraphs[:n])]


class _Timed:
    """Wraps the forward pass to count its seconds apart from windowing and decoding."""

    def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
        self.model, self.seconds = model, 0.0

    def probabilities(self, *args):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        out = self.model.probabilities(*args)
        self.seconds += time.perf_counter() - start
        return out


def paragraphs_per_s(tagger: Tagger, articles: list[Article], repeats: int) -> list[float]:
    """End to end (tokenising, windows, forward, merging, decoding), forward pass only, and
    end to end per CPU-second of this process (with one thread, what others' load on the
    machine changes least)."""
    tagger.tag(articles[: 2 * tagger.batch_size])  # warm-up
    model, tagger.model = tagger.model, _Timed(tagger.model)
    best = forward = cpu = float("inf")
    try:
        for _ in range(repeats):
            tagger.model.seconds = 0.0
            start, start_cpu = time.perf_counter(), time.process_time()
            tagger.tag(articles)
            best = min(best, time.perf_counter() - start)
            cpu = min(cpu, time.process_time() - start_cpu)
            forward = min(forward, tagger.model.seconds)
    finally:
        tagger.model = model
    return [len(articles) / t for t in (best, forward, cpu)]


def evaluate(args: argparse.Namespace, config: Config, torch_tagger: Tagger, ref, gold, data):  # type: ignore[no-untyped-def]
    row = Row(config)
    if config.options is None:
        tagger = torch_tagger
        tagger.batch_size = config.batch_size
    else:
        start = time.perf_counter()
        model, _, _ = load_onnx(
            args.model, config.options, threads=args.threads, opt_level=config.opt_level
        )
        row.export_seconds = time.perf_counter() - start
        tagger = Tagger(model, torch_tagger.tokenizer, torch_tagger.meta, "cpu", config.batch_size)
    start = time.perf_counter()
    pred = [r.to_dict() for r in tagger.tag(data["test"])]
    row.test_seconds = time.perf_counter() - start
    if ref is not None:
        row.paragraph_label_agreement, row.body_agreement = paragraph_label_agreement(ref, pred)
        row.quote_token_agreement = quote_token_agreement(ref, pred)
    row.sector_macro_f1 = sector_metrics(gold, pred)["macro_f1"]
    row.quote_token_f1 = quote_metrics(gold, pred)["token"]["f1"]
    row.paragraphs_per_s, row.forward_paragraphs_per_s, row.paragraphs_per_cpu_s = paragraphs_per_s(
        tagger, data["speed"], args.repeats
    )
    row.load_average = os.getloadavg()[0]
    return row, pred


def table(rows: list[Row]) -> str:
    lines = [
        "| backend | settings | para-label agr. | quote-token agr. | sector macro-F1 "
        "| quote token F1 | paragraphs/s | forward only | per CPU-s | load | ≥ 99 % |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ok = "–" if r.config.options is None else ("yes" if r.passes else "no")
        lines.append(
            f"| {r.config.backend} | {r.config.label} | {r.paragraph_label_agreement:.2%} "
            f"| {r.quote_token_agreement:.2%} | {r.sector_macro_f1:.3f} | {r.quote_token_f1:.3f} "
            f"| {r.paragraphs_per_s:.1f} | {r.forward_paragraphs_per_s:.1f} "
            f"| {r.paragraphs_per_cpu_s:.1f} "
            f"| {r.load_average:.1f} | {ok} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "default")
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "data" / "build" / "test.jsonl")
    parser.add_argument("--n", type=int, default=600, help="paragraphs for the speed test")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes (best is kept)")
    parser.add_argument("--sweep", action="store_true", help="also the int8 settings")
    parser.add_argument("--threads", type=int, help="torch and ONNX Runtime threads")
    parser.add_argument(
        "--only", action="append", default=[], help="run the configs whose label has this"
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "onnx")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out}: a file; give the folder to write agreement.json in")

    if args.threads:
        torch.set_num_threads(args.threads)  # and load_onnx(threads=...) for ONNX Runtime
    gold = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()]
    data = {
        "test": [Article.from_text(r["text"], r["id"]) for r in gold],
        "speed": speed_articles(args.n),
    }
    torch_tagger = Tagger.load(args.model, device="cpu", backend="torch")
    rows: list[Row] = []
    ref = None
    chosen_configs = configs(args.sweep)
    if args.only:  # the first (torch, the reference) always runs
        chosen_configs[1:] = [c for c in chosen_configs[1:] if any(o in c.label for o in args.only)]
    for config in chosen_configs:
        row, pred = evaluate(args, config, torch_tagger, ref, gold, data)
        if ref is None:
            ref = pred  # the first config is torch at batch size 32
        rows.append(row)
        print(
            f"{config.label}: agreement {row.paragraph_label_agreement:.4f} / "
            f"{row.quote_token_agreement:.4f}, {row.paragraphs_per_s:.1f} paragraphs/s",
            file=sys.stderr,
            flush=True,
        )
    passing = [r for r in rows if r.config.options is not None and r.passes]
    chosen = max(passing, key=lambda r: r.paragraphs_per_s) if passing else None
    result = {
        "model": str(args.model),
        "data": str(args.data),
        "machine": f"{platform.processor() or platform.machine()}, torch threads "
        f"{torch.get_num_threads()}, torch {torch.__version__}",
        "test_articles": len(gold),
        "test_paragraphs": sum(len(r["paragraphs"]) for r in gold),
        "speed_paragraphs": len(data["speed"]),
        "gate": GATE,
        "rows": [
            {
                "label": r.config.label,
                "backend": r.config.backend,
                "options": asdict(r.config.options) if r.config.options else None,
                "opt_level": r.config.opt_level if r.config.options else None,
                "batch_size": r.config.batch_size,
                **{k: v for k, v in asdict(r).items() if k != "config"},
                "passes": r.passes,
            }
            for r in rows
        ],
        "chosen": chosen.config.label if chosen else None,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "agreement.json").write_text(json.dumps(result, indent=2) + "\n")
    print(table(rows))
    print(f"\nfastest ONNX setting with both agreements ≥ 99 %: {result['chosen']}")
    print(f"written to {args.out / 'agreement.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
