"""Design choices measured on dev with a cheap config (cpu-small by default).

    python scripts/ablations.py [--config configs/cpu-small.yaml] [--out reports/ablations.md]

Each variant is the same config, seed and data with one setting changed: paragraph
context (the whole-article window vs the paragraph alone) and class imbalance handling
(positive weights from the train counts, focal loss, nothing). Runs the real training
script once per variant and tabulates the dev metrics it reports (thresholds tuned on
dev, so the sector numbers are optimistic in absolute terms; the comparison is the point).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from salatag.corpus import REPO_ROOT

VARIANTS: dict[str, list[str]] = {
    "whole-article windows, pos_weight (cpu-small as it is)": [],
    "paragraph context only": ["window.context=paragraph"],
    "focal loss instead of pos_weight": ["loss.class_weighting=focal"],
    "no class weighting": ["loss.class_weighting=none"],
}
COLUMNS = ["sector_macro_f1", "quote_token_f1", "quote_span_f1", "speaker_accuracy"]


def run(config: Path, overrides: list[str], out_dir: Path) -> dict:
    metrics_path = out_dir / "model" / "metrics.json"
    if not metrics_path.exists():
        args = [sys.executable, "-m", "train", str(config), "--set", f"run.output_dir={out_dir}"]
        for item in overrides:
            args += ["--set", item]
        subprocess.run(args, check=True, cwd=REPO_ROOT)
    return json.loads(metrics_path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "configs" / "cpu-small.yaml")
    parser.add_argument("--runs", type=Path, default=REPO_ROOT / "runs" / "ablations")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "ablations.md")
    args = parser.parse_args(argv)
    rows = [
        "| variant | " + " | ".join(COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for i, (name, overrides) in enumerate(VARIANTS.items()):
        dev = run(args.config, overrides, args.runs / f"v{i}")["dev"]
        rows.append(f"| {name} | " + " | ".join(f"{dev[c]:.3f}" for c in COLUMNS) + " |")
    text = (
        f"Dev metrics of `{args.config.relative_to(REPO_ROOT)}` variants, one setting changed "
        "each (`python scripts/ablations.py`).\n\n" + "\n".join(rows) + "\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
