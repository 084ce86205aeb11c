"""Evaluate a model (and the baselines) on a gold set; write a report.

    python -m salatag.evaluate --model models/default --out reports/test
    python -m salatag.evaluate --model runs/x/model --data my-gold.jsonl --out reports/mine

Writes metrics.json (with 95 % bootstrap intervals, articles resampled), report.md,
PNG figures and errors.jsonl (the worst false positives and negatives). With
`--floors NAME`, exits 1 when a headline number is below the floor stored under NAME
in configs/floors.yaml, so CI stops a change that makes the model worse.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from salatag.article import Article
from salatag.cachedir import sha256_file
from salatag.corpus import REPO_ROOT
from salatag.data import quote_form
from salatag.errors import InputError, SalatagError, report
from salatag.labels import SECTORS
from salatag.metrics import (
    Records,
    body_accuracy,
    half_overlap,
    match_quotes,
    pairs,
    quote_metrics,
    sector_arrays,
    sector_metrics,
)
from salatag.records import Record, quote_tokens, read_records
from salatag.validate import validate_files

FLOORS = REPO_ROOT / "configs" / "floors.yaml"
HEADLINE = ("sector_macro_f1", "quote_token_f1")


def shown(path: Path) -> str:
    """Paths in reports relative to the repository, so reports do not name our machines."""
    try:
        return path.resolve().relative_to(REPO_ROOT.resolve()).as_posix()
    except ValueError:
        return str(path)


def model_hash(model_dir: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        h.update(f.relative_to(model_dir).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@dataclass
class Counts:
    """Per-article counts, so bootstrap resamples are sums, not re-scorings."""

    sector: np.ndarray  # (articles, labels, 3): tp, fp, fn
    token: np.ndarray  # (articles, 3): tp, predicted, gold
    span: np.ndarray  # (articles, 3): overlap-matched, predicted, gold


def article_counts(gold: Records, pred: Records) -> Counts:
    sector = np.zeros((len(gold), len(SECTORS), 3))
    token = np.zeros((len(gold), 3))
    span = np.zeros((len(gold), 3))
    for a, (g, p) in enumerate(pairs(gold, pred)):
        y, yhat, _ = sector_arrays([g], [p])
        if len(y):
            sector[a, :, 0] = (y & yhat).sum(0)
            sector[a, :, 1] = (~y & yhat).sum(0)
            sector[a, :, 2] = (y & ~yhat).sum(0)
        gi, pi = quote_tokens(g.text, g.quotes), quote_tokens(g.text, p.quotes)
        token[a] = [sum(x and z for x, z in zip(gi, pi, strict=True)), sum(pi), sum(gi)]
        span[a] = [len(match_quotes(g.quotes, p.quotes)), len(p.quotes), len(g.quotes)]
    return Counts(sector, token, span)


def _f1(tp: np.ndarray, fp_or_pred: np.ndarray, fn_or_gold: np.ndarray, kind: str) -> np.ndarray:
    if kind == "counts":  # tp, fp, fn
        denom = 2 * tp + fp_or_pred + fn_or_gold
        return np.divide(2 * tp, denom, out=np.zeros_like(tp, dtype=float), where=denom > 0)
    denom = fp_or_pred + fn_or_gold  # predicted + gold
    return np.divide(2 * tp, denom, out=np.zeros_like(tp, dtype=float), where=denom > 0)


def bootstrap(counts: Counts, n: int = 1000, seed: int = 13) -> dict[str, list[float]]:
    """95 % percentile intervals of the headline metrics, articles resampled."""
    rng = np.random.default_rng(seed)
    k = len(counts.token)
    idx = rng.integers(0, k, size=(n, k))
    sec = counts.sector[idx].sum(1)  # (n, labels, 3)
    per_label = _f1(sec[..., 0], sec[..., 1], sec[..., 2], "counts")
    tok = counts.token[idx].sum(1)
    spn = counts.span[idx].sum(1)
    series = {
        "sector_macro_f1": per_label.mean(1),
        "quote_token_f1": _f1(tok[:, 0], tok[:, 1], tok[:, 2], "pg"),
        "quote_span_f1": _f1(spn[:, 0], spn[:, 1], spn[:, 2], "pg"),
        **{f"f1_{label}": per_label[:, j] for j, label in enumerate(SECTORS)},
    }
    return {
        k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in series.items()
    }


def score(gold: Records, pred: Records, n_boot: int) -> dict[str, Any]:
    sectors = sector_metrics(gold, pred)
    quotes = quote_metrics(gold, pred)
    out = {
        "sector_macro_f1": sectors["macro_f1"],
        "sector_micro_f1": sectors["micro_f1"],
        "quote_token_f1": quotes["token"]["f1"],
        "quote_span_f1": quotes["span_overlap"]["f1"],
        "quote_exact_span_f1": quotes["span_exact"]["f1"],
        "speaker_accuracy": quotes["speaker_accuracy"],
        "sectors": sectors,
        "quotes": quotes,
        "body_accuracy": body_accuracy(gold, pred),
    }
    if n_boot:
        out["ci95"] = bootstrap(article_counts(gold, pred), n_boot)
    return out


def score_parts(gold: list[Record], systems: dict[str, list[Record]]) -> dict[str, Any]:
    """The same scores on each source apart (Kazinform Latin-script articles, KazNERD
    Cyrillic sentences), so one part cannot hide the other."""
    parts: dict[str, Any] = {}
    for source in sorted({g.source or "" for g in gold}):
        keep = [i for i, g in enumerate(gold) if (g.source or "") == source]
        parts[source] = {
            name: score([gold[i] for i in keep], [pred[i] for i in keep], 0)
            for name, pred in systems.items()
        } | {"articles": len(keep)}
    return parts


def quote_errors_by_form(gold: Records, pred: Records) -> dict[str, dict[str, int]]:
    """Gold quotes found (≥ 50 % overlap) or missed, by how they are marked."""
    out: dict[str, dict[str, int]] = {}
    for g, p in pairs(gold, pred):
        for q in g.quotes:
            form = quote_form(g.text, q.start, q.end)
            found = any(half_overlap(q, pq) for pq in p.quotes)
            row = out.setdefault(form, {"found": 0, "missed": 0})
            row["found" if found else "missed"] += 1
    return out


def worst_errors(gold: Records, pred: Records, k: int = 40) -> list[dict[str, Any]]:
    """The most confident false positives and negatives, for the next annotation pass."""
    rows: list[dict[str, Any]] = []
    for g, p in pairs(gold, pred):
        for i, (gp, pp) in enumerate(zip(g.paragraphs, p.paragraphs, strict=True)):
            for label in SECTORS:
                s = (pp.scores or {}).get(label, 0.0)
                gold_has, pred_has = label in gp.sectors, label in pp.sectors
                if gold_has != pred_has:
                    kind = "false_negative" if gold_has else "false_positive"
                    rows.append(
                        {
                            "kind": kind,
                            "label": label,
                            "score": s,
                            "id": g.id,
                            "paragraph": i,
                            "text": g.span(gp),
                            "margin": abs(s - 0.5),
                        }
                    )
    rows.sort(key=lambda r: -r["margin"])
    fps = [r for r in rows if r["kind"] == "false_positive"][:k]
    fns = [r for r in rows if r["kind"] == "false_negative"][:k]
    return fps + fns


def evaluate(
    model_dir: Path,
    data: Path,
    out: Path,
    train: Path | None,
    dev: Path | None,
    n_boot: int = 1000,
    device: str = "auto",
    baselines: bool = True,
) -> dict[str, Any]:
    from salatag.baselines import TfidfBaseline, keyword_predict
    from salatag.tagger import Tagger

    problems = validate_files([data])  # bad offsets or labels would skew the metrics silently
    if problems:
        listed = "\n  ".join(str(p) for p in problems[:10])
        raise InputError(f"--data {data}: {len(problems)} problem(s), fix them first:\n  {listed}")
    gold = list(read_records(data))
    articles = [Article.from_text(g.text, g.id) for g in gold]
    tagger = Tagger.load(model_dir, device=device)
    pred = tagger.tag(articles)
    systems = {"salatag": pred}
    if baselines:
        systems["keywords"] = keyword_predict(articles)
        if train and dev and train.exists() and dev.exists():
            tr, dv = list(read_records(train)), list(read_records(dev))
            tfidf = TfidfBaseline().fit(
                tr,
                [Article.from_text(r.text) for r in tr],
                dv,
                [Article.from_text(r.text) for r in dv],
            )
            systems["tfidf"] = tfidf.predict(articles)
    metrics: dict[str, Any] = {
        "data": {
            "path": shown(data),
            "sha256": sha256_file(data),
            "articles": len(gold),
            "paragraphs": sum(len(g.paragraphs) for g in gold),
            "quotes": sum(len(g.quotes) for g in gold),
        },
        "model": {
            "path": shown(model_dir),
            "sha256": model_hash(model_dir),
            "base_model": tagger.meta.base_model,
            "finetune": tagger.meta.finetune,
            "thresholds": tagger.thresholds,
        },
        "systems": {name: score(gold, p, n_boot) for name, p in systems.items()},
        "parts": score_parts(gold, systems),
        "quote_forms": quote_errors_by_form(gold, pred),
    }
    # the rule quote splitter is what both baselines use for quotes
    if "keywords" in metrics["systems"]:
        metrics["systems"]["keywords"]["quote_system"] = "rule splitter"
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    with open(out / "errors.jsonl", "w", encoding="utf-8") as fh:
        for row in worst_errors(gold, pred):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    from salatag.report import write_figures, write_report

    write_figures(gold, systems, metrics, out)
    write_report(metrics, out)
    return metrics


def check_floors(metrics: dict[str, Any], name: str, path: Path = FLOORS) -> list[str]:
    floors = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if name not in floors:
        raise KeyError(f"no floors named {name!r} in {path} (have: {', '.join(floors)})")
    ours = metrics["systems"]["salatag"]
    return [
        f"{key} {ours[key]:.3f} < floor {floor:.3f}"
        for key, floor in floors[name].items()
        if ours[key] < floor
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m salatag.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build = REPO_ROOT / "data" / "build"
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "default")
    parser.add_argument(
        "--data",
        type=Path,
        default=build / "test.jsonl",
        help="gold JSONL in the guidelines' format (default: the real test split)",
    )
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    parser.add_argument(
        "--train",
        type=Path,
        default=build / "train.jsonl",
        help="train split, for the TF-IDF baseline",
    )
    parser.add_argument(
        "--dev",
        type=Path,
        default=build / "dev.jsonl",
        help="dev split, to tune the TF-IDF baseline's thresholds",
    )
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--bootstrap", type=int, default=1000, help="resamples (0: none)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--floors", metavar="NAME", help="fail below these floors")
    args = parser.parse_args(argv)
    if not args.data.exists():
        hint = " (python -m salatag.data build)" if args.data.parent == build else ""
        print(f"error: --data {args.data} not found{hint}", file=sys.stderr)
        return 2
    try:
        metrics = evaluate(
            args.model,
            args.data,
            args.out,
            args.train,
            args.dev,
            args.bootstrap,
            args.device,
            not args.no_baselines,
        )
        failures = check_floors(metrics, args.floors) if args.floors else []
    except SalatagError as err:
        return report(err)
    except (KeyError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    ours = metrics["systems"]["salatag"]
    print(
        f"sector macro-F1 {ours['sector_macro_f1']:.3f}, quote token F1 "
        f"{ours['quote_token_f1']:.3f}; report in {args.out / 'report.md'}"
    )
    for failure in failures:
        print(f"below floor: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
