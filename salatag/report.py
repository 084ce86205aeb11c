"""Human-readable outputs of an evaluation: report.md, figures, model-card numbers.

Everything here is generated from metrics.json (and the predictions for the
figures), so the numbers users read are the numbers that were measured.

    python -m salatag.report card reports/test/metrics.json   # rewrite model_card.md
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from salatag.corpus import REPO_ROOT
from salatag.labels import SECTORS
from salatag.metrics import Records, sector_arrays

MODEL_CARD = REPO_ROOT / "model_card.md"
SYSTEM_NAMES = {"salatag": "salatag (this model)", "tfidf": "TF-IDF + logistic regression",
                "keywords": "keyword rules"}  # fmt: skip


def _ci(m: dict[str, Any], key: str) -> str:
    lo, hi = m.get("ci95", {}).get(key, (None, None))
    return f" [{lo:.3f}, {hi:.3f}]" if lo is not None else ""


def markdown_table(head: list[str], rows: Iterable[list[str]]) -> str:
    """A Markdown table: the header, the rule, one line per row of ready-made cells."""
    lines = ["| " + " | ".join(cells) + " |" for cells in (head, *rows)]
    return "\n".join([lines[0], "|" + "---|" * len(head), *lines[1:]])


def _name(system: str) -> str:
    return SYSTEM_NAMES.get(system, system)


def headline_table(metrics: dict[str, Any]) -> str:
    head = ["system", "sector macro-F1 [95 % CI]", "sector micro-F1", "quote token F1 [95 % CI]",
            "quote span F1 (≥ 50 %)", "speaker accuracy", "body/chrome accuracy"]  # fmt: skip
    return markdown_table(
        head,
        (
            [
                _name(name),
                f"{m['sector_macro_f1']:.3f}{_ci(m, 'sector_macro_f1')}",
                f"{m['sector_micro_f1']:.3f}",
                f"{m['quote_token_f1']:.3f}{_ci(m, 'quote_token_f1')}",
                f"{m['quote_span_f1']:.3f}",
                f"{m['quotes']['speaker_accuracy']:.3f}",
                f"{m['body_accuracy']:.3f}",
            ]
            for name, m in metrics["systems"].items()
        ),
    )


def label_table(metrics: dict[str, Any]) -> str:
    m = metrics["systems"]["salatag"]
    head = ["label", "precision", "recall", "F1 [95 % CI]", "PR-AUC", "support", "threshold"]
    return markdown_table(
        head,
        (
            [
                label,
                f"{x['precision']:.3f}",
                f"{x['recall']:.3f}",
                f"{x['f1']:.3f}{_ci(m, 'f1_' + label)}",
                f"{x['pr_auc']:.3f}",
                f"{x['support']}",
                f"{metrics['model']['thresholds'][label]:.3f}",
            ]
            for label in SECTORS
            for x in [m["sectors"]["per_label"][label]]
        ),
    )


def margins_table(metrics: dict[str, Any]) -> str:
    ours = metrics["systems"]["salatag"]
    return markdown_table(
        ["baseline", "Δ sector macro-F1", "Δ quote token F1"],
        (
            [
                _name(name),
                f"{ours['sector_macro_f1'] - m['sector_macro_f1']:+.3f}",
                f"{ours['quote_token_f1'] - m['quote_token_f1']:+.3f}",
            ]
            for name, m in metrics["systems"].items()
            if name != "salatag"
        ),
    )


def parts_table(metrics: dict[str, Any]) -> str:
    head = ["part", "articles", "system", "sector macro-F1", "sector micro-F1",
            "quote span F1 (≥ 50 %)", "false quotes / 100 quote-free paragraphs"]  # fmt: skip
    return markdown_table(
        head,
        (
            [
                part,
                f"{systems['articles']}",
                _name(name),
                f"{m['sector_macro_f1']:.3f}",
                f"{m['sector_micro_f1']:.3f}",
                f"{m['quote_span_f1']:.3f}",
                f"{m['quotes']['false_quotes_per_100']:.2f}",
            ]
            for part, systems in metrics.get("parts", {}).items()
            for name, m in systems.items()
            if name != "articles"
        ),
    )


def quote_table(metrics: dict[str, Any]) -> str:
    head = ["system", "exact span F1", "span F1 (≥ 50 %)", "pieces per found gold quote",
            "multi-line quotes whole", "speaker accuracy",
            "false quotes / 100 quote-free paragraphs", "span edges inside a word"]  # fmt: skip
    return markdown_table(
        head,
        (
            [
                _name(name),
                f"{q['span_exact']['f1']:.3f}",
                f"{q['span_overlap']['f1']:.3f}",
                f"{q['fragmentation']:.2f}",
                f"{q['multi_line_whole']:.2f} of {q['multi_line_quotes']}",
                f"{q['speaker_accuracy']:.3f}",
                f"{q['false_quotes_per_100']:.2f}",
                f"{q['edges_inside_word']}",
            ]
            for name, m in metrics["systems"].items()
            for q in [m["quotes"]]
        ),
    )


def write_report(metrics: dict[str, Any], out: Path) -> None:
    d, model = metrics["data"], metrics["model"]
    forms = metrics["quote_forms"]
    form_rows = "\n".join(
        f"| {form} | {v['found']} | {v['missed']} |" for form, v in sorted(forms.items())
    )
    text = f"""# Evaluation report

Data: `{d["path"]}`: {d["articles"]} articles, {d["paragraphs"]} paragraphs, {d["quotes"]}
quotes (sha256 `{d["sha256"][:16]}…`). Model: `{model["path"]}` (base
`{model["base_model"]}`, sha256 `{model["sha256"][:16]}…`). Intervals are 95 % bootstrap
intervals over articles.

## Headline
{headline_table(metrics)}

The baselines share the rule quote splitter (dash-opened lines, guillemets before a
verb of saying, first-person lines ending in `, – деді …`).

## Quotes as a reader sees them
{quote_table(metrics)}

## Each source apart
{parts_table(metrics)}

## Margin of salatag over each baseline
{margins_table(metrics)}

## Sectors per label (salatag, thresholds tuned on dev)
{label_table(metrics)}

## Quotes by form (gold quotes found at ≥ 50 % overlap)
| form | found | missed |
|---|---|---|
{form_rows}

## Figures
- [Per-label F1 with intervals](f1_by_label.png)
- [Precision-recall curves](pr_curves.png)
- [Label co-occurrence (gold) and confusion](cooccurrence.png)
- [Reliability diagram](reliability.png)
- [Quote errors by form](quote_forms.png)

The worst false positives and negatives are in [errors.jsonl](errors.jsonl).
"""
    (out / "report.md").write_text(text, encoding="utf-8")


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_figures(gold: Records, systems: Mapping[str, Records], metrics: dict[str, Any],
                  out: Path) -> None:  # fmt: skip
    """F1 by label, PR curves, co-occurrence, reliability and quote forms, as PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    y, yhat, scores = sector_arrays(gold, systems["salatag"])
    _f1_figure(list(systems), metrics, out / "f1_by_label.png")
    _pr_figure(y, scores, out / "pr_curves.png")
    _cooccurrence_figure(y, yhat, out / "cooccurrence.png")
    _reliability_figure(y, scores, out / "reliability.png")
    _quote_forms_figure(metrics["quote_forms"], out / "quote_forms.png")


def _f1_figure(systems: list[str], metrics: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    x = np.arange(len(SECTORS))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(systems)
    for k, name in enumerate(systems):
        m = metrics["systems"][name]
        f1 = [m["sectors"]["per_label"][lab]["f1"] for lab in SECTORS]
        ci = m.get("ci95", {})
        err = None
        if ci:
            err = np.array([[f - ci[f"f1_{lab}"][0], ci[f"f1_{lab}"][1] - f]
                            for f, lab in zip(f1, SECTORS, strict=True)]).T.clip(min=0)  # fmt: skip
        ax.bar(x + k * width, f1, width, yerr=err, capsize=2, label=SYSTEM_NAMES.get(name, name))
    ax.set_xticks(x + width * (len(systems) - 1) / 2, SECTORS)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.legend(fontsize=7)
    _save(fig, path)


def _pr_figure(y: np.ndarray, scores: np.ndarray, path: Path) -> None:
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    fig, ax = plt.subplots(figsize=(5, 4))
    for j, label in enumerate(SECTORS):
        if y[:, j].any():
            p, r, _ = precision_recall_curve(y[:, j], scores[:, j])
            ax.plot(r, p, label=label)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(fontsize=7)
    _save(fig, path)


def _cooccurrence_figure(y: np.ndarray, yhat: np.ndarray, path: Path) -> None:
    import matplotlib.pyplot as plt

    x = np.arange(len(SECTORS))
    co = y.T.astype(int) @ y.astype(int)
    confusion = y.T.astype(int) @ yhat.astype(int)  # gold label (row) predicted as (column)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, mat, title in ((axes[0], co, "gold co-occurrence"),
                           (axes[1], confusion, "gold (rows) vs predicted (columns)")):  # fmt: skip
        ax.imshow(mat, cmap="Blues")
        ax.set_xticks(x, SECTORS, rotation=45)
        ax.set_yticks(x, SECTORS)
        ax.set_title(title, fontsize=9)
        for i in range(len(SECTORS)):
            for j in range(len(SECTORS)):
                ax.text(j, i, str(mat[i, j]), ha="center", va="center", fontsize=7)
    _save(fig, path)


def _reliability_figure(y: np.ndarray, scores: np.ndarray, path: Path) -> None:
    import matplotlib.pyplot as plt

    bins = np.linspace(0, 1, 11)
    flat_s, flat_y = scores.ravel(), y.ravel()
    which = np.clip(np.digitize(flat_s, bins) - 1, 0, 9)
    centers, freq = [], []
    for b in range(10):
        mask = which == b
        if mask.any():
            centers.append(flat_s[mask].mean())
            freq.append(flat_y[mask].mean())
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.plot(centers, freq, "o-")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title("reliability (all sectors)", fontsize=9)
    _save(fig, path)


def _quote_forms_figure(forms: dict[str, dict[str, int]], path: Path) -> None:
    import matplotlib.pyplot as plt

    names = sorted(forms)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(names, [forms[n]["found"] for n in names], label="found")
    ax.bar(names, [forms[n]["missed"] for n in names],
           bottom=[forms[n]["found"] for n in names], label="missed")  # fmt: skip
    ax.set_ylabel("gold quotes")
    ax.legend(fontsize=7)
    _save(fig, path)


# --- model card ------------------------------------------------------------------

BEGIN, END = "<!-- metrics:begin (python -m salatag.report card) -->", "<!-- metrics:end -->"


def card_front_matter(metrics: dict[str, Any]) -> dict[str, Any]:
    ours = metrics["systems"]["salatag"]

    def result(task: str, name: str, scores: dict[str, str]) -> dict[str, Any]:
        """One task of the model index: metric name -> key in salatag's metrics."""
        return {
            "task": {"type": task, "name": name},
            "dataset": {"name": "salatag real test split", "type": "salatag-test"},
            "metrics": [
                {"type": "f1", "name": label, "value": round(ours[key], 4)}
                for label, key in scores.items()
            ],
        }

    results = [
        result("text-classification", "cooperation sectors (multi-label)",
               {"sector macro-F1": "sector_macro_f1", "sector micro-F1": "sector_micro_f1"}),
        result("token-classification", "direct quotes",
               {"quote token F1": "quote_token_f1",
                "quote span F1 (50% overlap)": "quote_span_f1"}),
    ]  # fmt: skip
    return {
        "language": ["kk"],
        "license": "apache-2.0",
        "library_name": "salatag",
        "base_model": "intfloat/multilingual-e5-small",
        "datasets": ["salatag-labelled-corpus"],
        "metrics": ["f1"],
        "tags": [
            "kazakh",
            "news",
            "multi-label",
            "quotes",
            metrics["model"].get("finetune", "lora"),
        ],
        "model-index": [{"name": "salatag-default", "results": results}],
    }


def card_block(metrics: dict[str, Any]) -> str:
    d = metrics["data"]
    return (
        f"Real test split: {d['articles']} records (Kazinform articles and KazNERD "
        f"sentences), {d['paragraphs']} paragraphs, {d['quotes']} quotes (sha256 "
        f"`{d['sha256'][:16]}…`).\n\n"
        f"{headline_table(metrics)}\n\n{quote_table(metrics)}\n\n{parts_table(metrics)}\n\n"
        f"{margins_table(metrics)}\n\n{label_table(metrics)}"
    )


def render_card(template: str, metrics: dict[str, Any]) -> str:
    front = yaml.safe_dump(card_front_matter(metrics), sort_keys=False, allow_unicode=True)
    body = template.split("---\n", 2)[2] if template.startswith("---\n") else template
    if BEGIN not in body or END not in body:
        raise ValueError(f"{MODEL_CARD} lacks the markers {BEGIN} … {END}")
    head, rest = body.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"---\n{front}---\n{head}{BEGIN}\n{card_block(metrics)}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "card":
        print("usage: python -m salatag.report card METRICS_JSON", file=sys.stderr)
        return 2
    metrics = json.loads(Path(args[1]).read_text(encoding="utf-8"))
    MODEL_CARD.write_text(render_card(MODEL_CARD.read_text(encoding="utf-8"), metrics),
                          encoding="utf-8")  # fmt: skip
    print(f"updated {MODEL_CARD} from {args[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
